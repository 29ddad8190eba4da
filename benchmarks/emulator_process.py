"""The DSS emulator as a subprocess, and its admin API (request counter and log); timing a CLI run."""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

API_KEY = "bench-admin-key"
BIN = Path(sys.executable).parent


def cli(root: Path, env: dict, *args: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one CLI run (a new process; CPU: user + system of the child). A
    failure (exit other than 0 or 2) ends the benchmark with the command's output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "dataiku-iac"), "--no-color", "-C", str(root), *args], env=env,
                          capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"dataiku-iac {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """`with Emulator(latency_ms=20) as dss:` — an in-memory emulator on a free port."""

    def __init__(self, latency_ms: int = 0, log: Optional[Path] = None):
        self.latency_ms = latency_ms
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = API_KEY
        self._log = log
        self._out: Any = None
        self.proc: Optional[subprocess.Popen] = None

    def __enter__(self) -> Emulator:
        cmd = [str(BIN / "dss-emulator"), "--port", str(self.port), "--api-key", API_KEY, "--latency-ms", str(self.latency_ms)]
        self._out = open(self._log, "w") if self._log else None
        self.proc = subprocess.Popen(cmd, stdout=self._out or subprocess.DEVNULL, stderr=subprocess.STDOUT)
        self._wait_ready()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._out is not None:
            self._out.close()

    def _wait_ready(self) -> None:
        auth = base64.b64encode(f"{API_KEY}:".encode()).decode()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the emulator exited with status {self.proc.returncode}")
            try:
                request = urllib.request.Request(self.url + "/dip/publicapi/projects/", headers={"Authorization": "Basic " + auth})
                urllib.request.urlopen(request, timeout=2).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the emulator did not answer within 30 s")

    # -- admin API ------------------------------------------------------------------------
    def _admin(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/__emulator__" + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read().decode() or "null")

    def cpu_seconds(self) -> Optional[float]:
        """CPU time the emulator process used so far (Linux /proc; None elsewhere)."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def clear_requests(self) -> None:
        self._admin("DELETE", "/requests")

    def stats(self) -> dict:
        return self._admin("GET", "/stats")

    def requests(self) -> list[dict]:
        return self._admin("GET", "/requests?since=0")


_PROJECT_DOCS = re.compile(r"^/projects/[^/]+/(metadata|permissions|variables/|settings)$")
_LISTS = re.compile(r"^/projects/([^/]+/(datasets|recipes|managedfolders|scenarios)/)?$")


def classify(entry: dict) -> str:
    """A request's category: list, project_document, object_read, auth, environment_check,
    or its write verb."""
    method, path = entry["method"], entry["path"]
    if method != "GET":
        return method
    if _LISTS.match(path):
        return "list"
    if _PROJECT_DOCS.match(path):
        return "project_document"
    if path.startswith("/auth/"):
        return "auth"
    if path.startswith(("/admin/connections", "/admin/code-envs", "/connections/")):
        return "environment_check"  # remapped connections and code envs exist (not an object read)
    return "object_read"


def summarize(entries: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in entries:
        kind = classify(entry)
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
