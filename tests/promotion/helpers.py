"""Running the CLI as a user or a CI pipeline does (a subprocess), and reading the emulator's
request log. Kept here so the promotion tests depend on nothing but the product and the emulator."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLI = str(Path(sys.executable).parent / "dataiku-iac")
WRITE_METHODS = ("POST", "PUT", "DELETE")


@dataclass
class CliResult:
    args: list
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def last_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def __str__(self) -> str:
        return f"$ dataiku-iac {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def cli_env(handle: Any, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    env.update(DKU_DSS_URL=handle.url, DKU_API_KEY=handle.api_key, NO_COLOR="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(root: Path, *args: str, env: dict, expect: Optional[int] = 0, stdin: Optional[str] = None, timeout: float = 120) -> CliResult:
    """`dataiku-iac -C root ARGS`; asserts the exit code unless `expect` is None, and never a traceback."""
    done = subprocess.run(
        [CLI, "--no-color", "-C", str(root), *args],
        cwd=str(root), env=env, capture_output=True, text=True, timeout=timeout,
        input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    result = CliResult(list(args), done.returncode, done.stdout, done.stderr)
    if expect is not None:
        assert result.returncode == expect, str(result)
    assert "Traceback" not in result.output and "Internal error" not in result.output, str(result)
    return result


def writes(handle: Any) -> list:
    """(method, path) of every public-API write since the request log was last cleared."""
    return [(e["method"], e["path"]) for e in handle.admin.requests() if e["method"] in WRITE_METHODS]
