"""Running the `dataiku-iac` CLI as a new process against a DSS emulator, and writing the
configuration directories it reads. Nothing is mocked: the CLI is this venv's `dataiku-iac`,
talking to the emulator through the real `dataikuapi` client.

`run_cli` forks each run from a server that has imported the CLI once (cli_forkserver.py): a new
process per run, without ~0.6 s of start-up each. DATAIKU_IAC_TEST_CLI=subprocess (or
`run_cli(..., via="subprocess")`) starts the installed script instead, as `spawn_cli` always does.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import locale
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CLI = str(Path(sys.executable).parent / "dataiku-iac")
# How run_cli starts the CLI unless told: "forkserver" (default) or "subprocess".
CLI_RUNNER_VARIABLE = "DATAIKU_IAC_TEST_CLI"


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
    """This process's environment without DKU_* / DATAIKU_IAC* variables, pointed at emulator `dss`
    (the session's module cache is kept: a run must never fill the user's ~/.cache)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DKU_", "DATAIKU_IAC")) or k == "DATAIKU_IAC_MODULE_CACHE"}
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
    via: Optional[str] = None,
) -> CliResult:
    """Run `dataiku-iac --no-color -C root ARGS` in `root`; assert its exit code unless `expect`
    is None, and that none of `forbid` shows in its output (the message is the whole run).
    `via`: "forkserver" or "subprocess" (default: $DATAIKU_IAC_TEST_CLI, else "forkserver", but
    "subprocess" for an `env` whose PYTHON*/locale variables differ from the fork server's)."""
    argv = ["--no-color", "-C", str(root), *args]
    started = time.monotonic()
    how = via or os.environ.get(CLI_RUNNER_VARIABLE) or "forkserver"
    if how == "forkserver" and via is None and not _forkable(env):
        how = "subprocess"  # the run changes what Python reads at start-up: only a new interpreter has it
    if how == "subprocess":
        done = subprocess.run(
            [CLI, *argv],
            cwd=str(root),
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
        )
        returncode, stdout, stderr = done.returncode, done.stdout, done.stderr
    elif how == "forkserver":
        returncode, stdout, stderr = _forkserver().run(argv, cwd=str(root), env=env, stdin=stdin, timeout=timeout)
    else:
        raise ValueError(f"unknown CLI runner {how!r}: forkserver or subprocess")
    result = CliResult(list(args), returncode, stdout, stderr, time.monotonic() - started)
    if expect is not None:
        assert result.returncode == expect, str(result)
    assert not any(word in result.output for word in forbid), str(result)
    return result


def _startup_variables(env: dict) -> dict:
    """The variables Python reads when it starts (PYTHON*, the locale's), as `env` sets them."""
    return {k: v for k, v in env.items() if k.startswith("PYTHON") or k in ("LANG", "LANGUAGE") or k.startswith("LC_")}


def _forkable(env: dict) -> bool:
    """Whether a forked run has the start-up `env` asks for: that of the fork server."""
    return _startup_variables(env) == _startup_variables(_server_environment())


@functools.lru_cache(maxsize=1)
def _server_environment() -> dict[str, str]:
    """The fork server's environment: this process's when the first run asked for it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1")  # as cli_env: Python reads these at start-up
    return env


class _ForkServerClient:
    """This test process's cli_forkserver.py (one per pytest process, i.e. per xdist worker)."""

    def __init__(self) -> None:
        self.directory = tempfile.mkdtemp(prefix="iac-cli-forkserver-")
        self.socket_path = os.path.join(self.directory, "socket")
        self.log_path = os.path.join(self.directory, "server.log")
        self.last_cpu_seconds = 0.0  # of the last run (diagnostics)
        env = dict(_server_environment())
        server = str(Path(__file__).resolve().parent / "cli_forkserver.py")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, server, self.socket_path, CLI],
                cwd=self.directory, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not os.path.exists(self.socket_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the CLI fork server did not start: {self._log()}")
            time.sleep(0.01)

    def _log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def run(self, argv: list[str], *, cwd: str, env: dict, stdin: Optional[str], timeout: float) -> tuple[int, str, str]:
        """One CLI run: (returncode, stdout, stderr) as `subprocess.run(..., text=True)` gives
        them; subprocess.TimeoutExpired after `timeout` seconds, once the process is killed."""
        from tests.support.cli_forkserver import receive_message, send_message

        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, self._stdin(stdin) as inp:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(60)
                conn.connect(self.socket_path)
                send_message(conn, {"args": argv, "cwd": cwd, "env": dict(env)}, (inp.fileno(), out.fileno(), err.fileno()))
                pid = receive_message(conn)[0]["pid"]
                conn.settimeout(timeout)
                try:
                    status = receive_message(conn)[0]
                    returncode, self.last_cpu_seconds = status["returncode"], status["cpu_seconds"]
                except socket.timeout:
                    os.kill(pid, signal.SIGKILL)  # then wait for it, as subprocess.run does
                    conn.settimeout(60)
                    receive_message(conn)
                    expired = subprocess.TimeoutExpired([CLI, *argv], timeout)
                    expired.pid = pid  # type: ignore[attr-defined]  # for the runner's own test
                    raise expired from None
                except EOFError:
                    raise RuntimeError(f"the CLI fork server lost run {argv}: {self._log()}") from None
            return returncode, _text(out), _text(err)

    @staticmethod
    def _stdin(text: Optional[str]) -> Any:
        if text is None:
            return open(os.devnull, "rb")
        handle = tempfile.TemporaryFile()  # noqa: SIM115
        handle.write(text.encode(locale.getpreferredencoding(False)))
        handle.seek(0)
        return handle


def _text(handle: Any) -> str:
    """What `subprocess.run(text=True)` reads: the locale's encoding, universal newlines."""
    handle.seek(0)
    return io.TextIOWrapper(io.BytesIO(handle.read()), encoding=locale.getpreferredencoding(False)).read()


_server: Optional[_ForkServerClient] = None
_server_lock = threading.Lock()


def _forkserver() -> _ForkServerClient:
    global _server
    with _server_lock:
        if _server is None or _server.process.poll() is not None:
            _server = _ForkServerClient()
            atexit.register(_server.stop)
        return _server


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
    person running it sets them: the examples' reporters take their webhook URL from one. One
    value for all, so that the references `import` writes under other names get the value DSS has."""
    names = set()
    for path in sorted(root.rglob("*.y*ml")):
        names.update(re.findall(r"secret_env:\s*(IAC_SECRET_\w+)", path.read_text(encoding="utf-8")))
    return {name: EXAMPLE_SECRET for name in sorted(names)}


EXAMPLE_SECRET = "https://hooks.example.com/services/T0/B0/example-token"


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
