"""An example's README as a script: the commands of its `sh` blocks after '## Walk-through', run
in order as written, in a copy of the example, against the emulator (examples/day-two,
examples/ml-pipeline). A comment after a command gives its exit code (`exit N`, else 0) and, in
double quotes, text it prints; the tests check both."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.helpers import CliResult, cli_env, run_cli


@dataclass(frozen=True)
class Step:
    line: int  # in the README
    command: str
    exit_code: int
    prints: tuple[str, ...]

    def where(self, result: CliResult) -> str:
        return f"README.md:{self.line}: {self.command}\n{result}"


def walkthrough_steps(text: str) -> list[Step]:
    """The commands of the `sh` blocks after '## Walk-through', with their promised exit code and output."""
    steps, started, in_block = [], False, False
    for number, raw in enumerate(text.splitlines(), start=1):
        started = started or raw == "## Walk-through"
        if raw.startswith("```"):
            in_block = not in_block and started and raw.strip() == "```sh"
            continue
        if not in_block or not raw.strip() or raw.lstrip().startswith("#"):
            continue
        comment_at = re.search(r"\s{2,}#\s", raw)
        command = (raw[:comment_at.start()] if comment_at else raw).strip()
        comment = raw[comment_at.end():].strip() if comment_at else ""
        code = re.match(r"exit (\d+)", comment)
        steps.append(Step(number, command, int(code.group(1)) if code else 0, tuple(re.findall(r'"([^"]*)"', comment))))
    return steps


def shell_env(dss: Any, **extra: str) -> dict[str, str]:
    """The user's shell: this interpreter's environment first on PATH (its `python` has dataikuapi,
    its `dataiku-iac` is this checkout's), an identity for `git commit`, the emulator's URL and key."""
    env = cli_env(dss, **extra)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(GIT_AUTHOR_NAME="Day Two", GIT_AUTHOR_EMAIL="day2@example.com", GIT_COMMITTER_NAME="Day Two",
               GIT_COMMITTER_EMAIL="day2@example.com", GIT_CONFIG_NOSYSTEM="1", GIT_PAGER="cat")
    return env


def run_step(dss: Any, root: Path, step: Step, env: dict[str, str]) -> CliResult:
    """One command as the user would type it: the CLI as the suite runs it (same argv) when it is a
    plain `dataiku-iac` call, else through bash."""
    words = shlex.split(step.command)
    if words[0] == "dataiku-iac" and not re.search(r"[|&;<>$`]", step.command):
        return run_cli(dss, root, *words[1:], expect=None, env=env)
    done = subprocess.run(["bash", "-c", step.command], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    return CliResult(["bash", "-c", step.command], done.returncode, done.stdout, done.stderr)
