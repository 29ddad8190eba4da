"""Running the `dataiku-iac` CLI as a subprocess against a DSS emulator, and writing the
configuration directories it reads. Nothing is mocked: the CLI is the installed entry point of
this venv, talking to the emulator through the real `dataikuapi` client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLI = str(Path(sys.executable).parent / "dataiku-iac")


@dataclass
class CliResult:
    """One finished CLI run; `str()` shows the command, exit code and both streams."""

    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def last_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"$ dataiku-iac {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def cli_env(dss: Any, **extra: str) -> dict[str, str]:
    """This process's environment without DKU_* / DATAIKU_IAC* variables, pointed at emulator `dss`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    env.update(DKU_DSS_URL=dss.url, DKU_API_KEY=dss.api_key, NO_COLOR="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(
    root: Path,
    *args: str,
    env: dict,
    expect: Optional[int] = 0,
    timeout: float = 120,
    stdin: Optional[str] = None,
    forbid: Sequence[str] = ("Traceback",),
) -> CliResult:
    """Run `dataiku-iac --no-color -C root ARGS` in `root`; assert its exit code unless `expect`
    is None, and that none of `forbid` shows in its output (the message is the whole run)."""
    started = time.monotonic()
    done = subprocess.run(
        [CLI, "--no-color", "-C", str(root), *args],
        cwd=str(root),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    result = CliResult(list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started)
    if expect is not None:
        assert result.returncode == expect, str(result)
    assert not any(word in result.output for word in forbid), str(result)
    return result


def spawn_cli(
    root: Path, *args: str, env: dict, log: Optional[Path] = None, append: bool = False, new_session: bool = False
) -> subprocess.Popen:
    """Start `dataiku-iac --no-color -C root ARGS` without waiting (kill/interrupt tests); stdout
    and stderr go to `log` (default root/cli.log), truncated unless `append`."""
    with open(log or (root / "cli.log"), "ab" if append else "wb") as out:  # the child keeps its copy
        return subprocess.Popen(
            [CLI, "--no-color", "-C", str(root), *args],
            cwd=str(root),
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
        )


def example_secrets(root: Path) -> dict[str, str]:
    """A value for every secret a configuration references (`secret_env: IAC_SECRET_…`), as the
    person running it sets them: the examples' reporters take their webhook URL from one."""
    names = set()
    for path in sorted(root.rglob("*.y*ml")):
        names.update(re.findall(r"secret_env:\s*(IAC_SECRET_\w+)", path.read_text(encoding="utf-8")))
    return {name: f"https://hooks.example.com/services/T0/B0/{name.lower()}" for name in sorted(names)}


def write_config(root: Path, projects: dict[str, str], *, iac: Optional[str] = None, env: str = "", files: Optional[dict[str, str]] = None) -> Path:
    """A config directory: `dataiku-iac init`'s iac.yml unless given, environments/dev.yml, projects."""
    from dataiku_iac.cli import scaffold

    root.mkdir(parents=True, exist_ok=True)
    (root / "projects").mkdir(exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    (root / "iac.yml").write_text(iac if iac is not None else scaffold.IAC_YML, encoding="utf-8")
    (root / "environments" / "dev.yml").write_text(env or scaffold.DEV_YML, encoding="utf-8")
    for name, text in projects.items():
        (root / "projects" / name).write_text(text, encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def state_dir(root: Path, env: str = "dev") -> Path:
    """Where the local state backend keeps `env`'s state, lock and journal."""
    return root / ".dataiku-iac" / "state" / env
