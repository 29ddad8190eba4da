"""The DSS emulator's request log, read through its admin API (`dss.admin`), and polling."""

from __future__ import annotations

import time
from typing import Any, Callable

WRITE_METHODS = ("POST", "PUT", "DELETE")


def request_count(dss: Any) -> int:
    """How many DSS public-API requests the emulator has received."""
    return int(dss.admin.stats()["requests"])


def writes_since(dss: Any, since: int = 0) -> list[tuple[str, str]]:
    """(method, path) of every DSS public-API write after request number `since`."""
    return [(e["method"], e["path"]) for e in dss.admin.requests(since=since) if e["method"] in WRITE_METHODS]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 30, interval: float = 0.005, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy (no blind sleeps); its value is returned."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def ensure_state_folder(dss: Any, project_key: str = "IAC_STATE", folder: str = "iac_state") -> str:
    """The managed folder a `managed_folder` state backend writes to, created if missing; its id."""
    client = dss.client()
    if project_key not in client.list_project_keys():
        client.create_project(project_key, "IaC state", "admin")
    project = client.get_project(project_key)
    found = next((f for f in project.list_managed_folders() if f["name"] == folder), None)
    return str(found["id"]) if found else str(project.create_managed_folder(folder).id)
