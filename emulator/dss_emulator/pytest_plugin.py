"""pytest fixtures: one emulator subprocess per session, reset before each test.

Enable with ``pytest_plugins = ["dss_emulator.pytest_plugin"]``. Fixtures:
  dss_emulator (session)  handle with .url, .api_key, .admin, .client(), .client_for(key), .proc, .data_dir
  dss (function)          same handle; before each test: faults cleared, full reset (projects,
                          instance config and behaviour switches back to the start-up seed),
                          request log cleared, latency 0
  dss_client (function)   dss.client(), a fresh dataikuapi.DSSClient with the admin key
  govern_emulator (session)  a Govern node (in-process thread): .url, .api_key, .admin, .client_for(key)
  govern (function)       same handle, reset before each test (artifacts, audit, faults, request log)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ADMIN_KEY = "emulator-admin-key"
START_TIMEOUT = 30.0


class AdminClient:
    """Calls the emulator's own admin API (``/__emulator__``)."""

    def __init__(self, url: str) -> None:
        self.base = url + "/__emulator__"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base + path, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return json.loads(resp.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as err:
            raise RuntimeError(
                "emulator admin {} {} failed: {} {}".format(
                    method, path, err.code, err.read().decode("utf-8", "replace")
                )
            ) from None

    def reset(self, full: bool = False) -> Any:
        return self._call("POST", "/reset", {"full": full})

    def add_fault(self, **rule: Any) -> Dict[str, Any]:
        return self._call("POST", "/faults", rule)[0]

    def faults(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/faults")

    def clear_faults(self) -> Any:
        return self._call("DELETE", "/faults")

    def requests(self, since: int = 0) -> List[Dict[str, Any]]:
        return self._call("GET", f"/requests?since={since}")

    def clear_requests(self) -> Any:
        return self._call("DELETE", "/requests")

    def stats(self) -> Dict[str, Any]:
        return self._call("GET", "/stats")

    def seed(self, **config: Any) -> Any:
        return self._call("POST", "/seed", config)

    def set_latency(self, ms: int) -> Any:
        return self._call("POST", "/latency", {"latency_ms": ms})

    def register_plugin(self, path: Any) -> Any:
        return self._call("POST", "/plugins", {"path": str(path)})

    def info(self) -> Dict[str, Any]:
        return self._call("GET", "/info")

    def behaviour(self) -> Dict[str, str]:
        return self._call("GET", "/behaviour")

    def messages(self) -> List[Dict[str, Any]]:
        """What scenario reporters sent (mails, webhooks), oldest first; see reporters.py."""
        return self._call("GET", "/messages")

    def clear_messages(self) -> Any:
        return self._call("DELETE", "/messages")

    def set_behaviour(self, **switches: str) -> Dict[str, str]:
        """E.g. ``set_behaviour(scenario_create_id="from_name")``; a full reset restores the defaults."""
        return self._call("POST", "/behaviour", switches)


class EmulatorHandle:
    def __init__(
        self, url: str, api_key: str, proc: Optional[subprocess.Popen] = None, data_dir: Optional[Path] = None
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.admin = AdminClient(url)
        self.proc = proc
        self.data_dir = data_dir

    def client(self) -> Any:
        return self.client_for(self.api_key)

    def client_for(self, api_key: str) -> Any:
        import dataikuapi

        return dataikuapi.DSSClient(self.url, api_key=api_key)

    def reset_all(self) -> None:
        self.admin.clear_faults()  # first: releases hanging requests
        self.admin.reset(full=True)  # instance config back to the start-up seed too
        self.admin.clear_requests()
        self.admin.set_latency(0)


def wait_until_ready(
    url: str, api_key: str, timeout: float = START_TIMEOUT, proc: Optional[subprocess.Popen] = None
) -> None:
    """Ready when GET /dip/publicapi/projects/ answers 200."""
    import base64

    auth = base64.b64encode((api_key + ":").encode()).decode()
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"dss-emulator exited with status {proc.returncode}")
        req = urllib.request.Request(
            url + "/dip/publicapi/projects/", headers={"Authorization": "Basic " + auth}
        )
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dss-emulator did not answer within {timeout}s")


def start_subprocess(
    data_dir: Path,
    api_key: str = ADMIN_KEY,
    extra_args: Optional[List[str]] = None,
    log_path: Optional[Path] = None,
) -> EmulatorHandle:
    """Start ``dss-emulator --port 0`` and wait for it; the chosen URL is read from its first output line."""
    log_path = log_path or data_dir.parent / (f"{data_dir.name}.log")
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the process lifetime
    cmd = [
        sys.executable,
        "-m",
        "dss_emulator.cli",
        "--port",
        "0",
        "--api-key",
        api_key,
        "--data-dir",
        str(data_dir),
    ] + list(extra_args or [])
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = None
    deadline = time.time() + START_TIMEOUT
    while url is None and time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dss-emulator exited: {log_path.read_text()}")
        for line in log_path.read_text().splitlines():
            if "listening on " in line:
                url = line.split("listening on ", 1)[1].split(" ", 1)[0]
        time.sleep(0.02)
    if url is None:
        proc.kill()
        raise RuntimeError(f"dss-emulator did not start: {log_path.read_text()}")
    wait_until_ready(url, api_key, proc=proc)
    return EmulatorHandle(url, api_key, proc, data_dir)


def stop_subprocess(handle: EmulatorHandle) -> None:
    if handle.proc is not None and handle.proc.poll() is None:
        handle.proc.terminate()
        try:
            handle.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            handle.proc.kill()


def _extra_args(rootpath: Path) -> List[str]:
    """The repo's dataiku stand-in and the repo itself as a plugin, when they exist."""
    args: List[str] = []
    stand_in = rootpath / "tests" / "stand_in"
    if (stand_in / "dataiku").is_dir():
        args += ["--dataiku-stand-in", str(stand_in)]
    if (rootpath / "plugin.json").is_file():
        args += ["--plugin-dir", str(rootpath)]
    return args


@pytest.fixture(scope="session")
def dss_emulator(request: pytest.FixtureRequest) -> Iterator[EmulatorHandle]:
    tmp = Path(tempfile.mkdtemp(prefix="dss-emulator-"))
    try:
        handle = start_subprocess(tmp / "data", extra_args=_extra_args(Path(str(request.config.rootpath))))
        try:
            yield handle
        finally:
            stop_subprocess(handle)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # one per session (per xdist worker): never left behind



@pytest.fixture
def dss(dss_emulator: EmulatorHandle) -> Iterator[EmulatorHandle]:
    dss_emulator.reset_all()
    yield dss_emulator


@pytest.fixture
def dss_client(dss: EmulatorHandle) -> Any:
    return dss.client()


class GovernHandle:
    """A Govern node (dss_emulator.govern) and its admin API."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url
        self.api_key = api_key
        self.admin = AdminClient(url)

    def client_for(self, api_key: str) -> Any:
        import dataikuapi

        return dataikuapi.GovernClient(self.url, api_key=api_key)

    def client(self) -> Any:
        return self.client_for(self.api_key)

    def timeline(self, artifact_id: str) -> List[Dict[str, Any]]:
        return self.admin._call("GET", f"/timeline/{artifact_id}")

    def audit(self) -> List[Dict[str, Any]]:
        return self.admin._call("GET", "/audit")

    def reset_all(self) -> None:
        self.admin._call("POST", "/reset", {})


@pytest.fixture(scope="session")
def govern_emulator() -> Iterator[GovernHandle]:
    from dss_emulator.govern import DEFAULT_GOVERN_ADMIN_KEY, GovernServer

    server = GovernServer(port=0).start()
    try:
        yield GovernHandle(server.url, DEFAULT_GOVERN_ADMIN_KEY)
    finally:
        server.stop()


@pytest.fixture
def govern(govern_emulator: GovernHandle) -> Iterator[GovernHandle]:
    govern_emulator.reset_all()
    yield govern_emulator
