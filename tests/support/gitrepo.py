"""A local bare Git repository for tests (no network): commit files to it through a scratch clone."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Mapping, Optional

_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


class BareRepo:
    """`path` is the bare repository (what DSS's Git reference points at); `commit` adds to `branch`."""

    def __init__(self, root: Path, branch: str = "main"):
        self.path = root / "upstream.git"
        self.work = root / "work"
        self.branch = branch
        self.path.mkdir(parents=True)
        git(self.path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
        self.work.mkdir()
        git(self.work, "init", "--quiet", f"--initial-branch={branch}")

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def commit(self, files: Mapping[str, Optional[str]], message: str = "change") -> str:
        """Write `files` (path -> text; None deletes), commit and push; returns the commit."""
        for rel, text in files.items():
            target = self.work / rel
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "-m", message)
        git(self.work, "push", "--quiet", str(self.path), f"HEAD:refs/heads/{self.branch}")
        return git(self.work, "rev-parse", "HEAD")

    def tag(self, name: str) -> None:
        """Tag the last commit `name` and push the tag."""
        git(self.work, "tag", name)
        git(self.work, "push", "--quiet", str(self.path), f"refs/tags/{name}")
