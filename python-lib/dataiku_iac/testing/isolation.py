"""Ephemeral environments: the configuration applied under suffixed project keys, with its own
state, for one test run; destroyed at the end, and found again by a later run if the process
died (kill -9, a lost CI runner).

Everything of a run lives in `<config>/.dataiku-iac/test-runs/<run id>/`:

- `run.json`: the run id, the environment it derives from, the host and pid that own it;
- `config/`: a copy of the configuration with one more environment file,
  `environments/<env>-test-<run id>.yml`: the user's environment, plus the project key suffix
  `_T<RUN ID>`, a local state inside the copy, destroy allowed, and every dataset made a
  managed dataset (so a test never reads or writes data outside its own projects: a
  `sql_table` of the real warehouse becomes a table of the test project), and every scenario
  inactive (no trigger of a test project runs a build or sends a report).

Each project the run creates is marked in its custom metadata (`dataiku-iac.test-run`, and
`dataiku-iac.test-owner`, a digest of the environment name and the configuration's project
keys) besides the state's own lineage marker. A later run of the same configuration destroys
what a dead run's state owns (the state is the authority: nothing else is deleted), and then
deletes projects whose marks name its owner digest, whose run directory is gone and whose run
is dead (same host, pid gone) or old (another host, `STALE_AFTER_HOURS`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from .. import defaults
from ..config.files import check_relative_path

RUNS_DIR = ".dataiku-iac/test-runs"
RUN_MARK = "dataiku-iac.test-run"
OWNER_MARK = "dataiku-iac.test-owner"
STARTED_MARK = "dataiku-iac.test-started"
HOST_MARK = "dataiku-iac.test-host"
PID_MARK = "dataiku-iac.test-pid"
STALE_AFTER_HOURS = 6.0
_RUN_ID = re.compile(r"^[0-9a-f]{8}$")
# Keys of a dataset item a managed dataset keeps; the others (table, path, connection, format...)
# belong to where the data lives outside the test projects and are removed by the override.
_MANAGED_KEEPS = {"name", "type", "description", "tags", "schema", "zone", "protect", "ignore_changes",
                  "partitioning", "metadata"}


def new_run_id() -> str:
    return uuid.uuid4().hex[:8]


def key_suffix(run_id: str) -> str:
    return f"_T{run_id.upper()}"


def owner_digest(environment: str, project_keys: list[str]) -> str:
    text = json.dumps({"environment": environment, "projects": sorted(project_keys)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class RunDir:
    """One run's directory and what its run.json says."""

    path: Path
    run_id: str
    environment: str  # the user's environment it derives from
    test_environment: str  # the generated environment's name
    host: str
    pid: int
    started: float
    keep: bool = False

    @property
    def config(self) -> Path:
        return self.path / "config"

    def alive(self) -> bool:
        """Whether the process owning the run still runs (only knowable on the same host; on
        another host, a run younger than STALE_AFTER_HOURS counts as alive)."""
        if self.host != socket.gethostname():
            return time.time() - self.started < STALE_AFTER_HOURS * 3600
        if self.pid == os.getpid():
            return True
        if self.pid <= 0:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def runs_dir(root: Path) -> Path:
    return Path(root) / RUNS_DIR


def read_run(path: Path) -> Optional[RunDir]:
    try:
        data = json.loads((path / "run.json").read_text(encoding="utf-8"))
        return RunDir(path, data["run_id"], data["environment"], data["test_environment"], data["host"],
                      int(data["pid"]), float(data["started"]), bool(data.get("keep", False)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_runs(root: Path) -> list[RunDir]:
    base = runs_dir(root)
    if not base.is_dir():
        return []
    found = []
    for entry in sorted(base.iterdir()):
        if entry.is_dir() and _RUN_ID.match(entry.name):
            run = read_run(entry)
            if run is not None:
                found.append(run)
    return found


def environment_file(root: Path, environment: str) -> Path:
    for ext in ("yml", "yaml"):
        candidate = Path(root) / "environments" / f"{environment}.{ext}"
        if candidate.is_file():
            return candidate
    return Path(root) / "environments" / f"{environment}.yml"  # the loader reports it missing


def test_environment_name(environment: str, run_id: str) -> str:
    return f"{environment[:40]}-test-{run_id}"


def ephemeral_environment(data: Any, run_id: str, datasets: dict[str, list[dict[str, Any]]],
                          scenarios: Optional[dict[str, list[str]]] = None) -> dict[str, Any]:
    """The test environment made from the user's environment file `data` (as written: its
    `${VAR}` references are resolved by the loader, as for the original). `datasets`: project key
    as written -> its dataset items, each made a managed dataset by an override; `scenarios`:
    project key -> scenario ids, each made inactive (no trigger fires in a test project)."""
    env: dict[str, Any] = copy.deepcopy(data) if isinstance(data, dict) else {}
    keys = _mapping(env.get("project_key"))
    env["project_key"] = {**keys, "suffix": f"{keys.get('suffix') or ''}{key_suffix(run_id)}"}
    env["state"] = {"backend": "local", "path": defaults.LOCAL_STATE_PATH}  # inside the run's copy
    policies = _mapping(env.get("policies"))
    env["policies"] = {**policies, "require_saved_plan": False, "allow_destroy": True}
    overrides = _mapping(env.get("overrides"))
    env["overrides"] = overrides
    for project, items in datasets.items():
        for item in items:
            if item.get("type", "managed") == "managed" and "connection" not in item:
                continue
            address = f"dataset.{project}.{item['name']}"
            patch: dict[str, Any] = {k: None for k in item if k not in _MANAGED_KEEPS}
            patch.update({k: v for k, v in _mapping(overrides.get(address)).items() if k in _MANAGED_KEEPS})
            patch["type"] = "managed"
            overrides[address] = patch
    for project, ids in (scenarios or {}).items():
        for scenario in ids:
            address = f"scenario.{project}.{scenario}"
            overrides[address] = {**_mapping(overrides.get(address)), "active": False}
    return env


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _copy_ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in (".dataiku-iac", ".git")}


def prepare_run(root: Path, environment: str, datasets: dict[str, list[dict[str, Any]]], *, keep: bool,
                run_id: Optional[str] = None, scenarios: Optional[dict[str, list[str]]] = None) -> RunDir:
    """Create the run's directory: run.json first (so a kill right after still leaves a run a
    later one can find), then the configuration's copy and the test environment file."""
    problem = check_relative_path(environment)
    if problem is not None or "/" in environment:
        raise ValueError(f"invalid environment name {environment!r}")
    run_id = run_id or new_run_id()
    path = runs_dir(root) / run_id
    path.mkdir(parents=True, exist_ok=False)
    run = RunDir(path, run_id, environment, test_environment_name(environment, run_id), socket.gethostname(),
                 os.getpid(), time.time(), keep)
    write_run(run)
    shutil.copytree(root, run.config, ignore=_copy_ignore, symlinks=True)
    source = environment_file(root, environment)
    data = yaml.safe_load(source.read_text(encoding="utf-8")) if source.is_file() else {}
    env = ephemeral_environment(data, run_id, datasets, scenarios)
    target = run.config / "environments" / f"{run.test_environment}.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    header = f"# generated by `dataiku-iac test` for run {run_id} from {source.name}; removed with the run\n"
    target.write_text(header + yaml.safe_dump(env, sort_keys=False), encoding="utf-8")
    return run


def write_run(run: RunDir) -> None:
    body = {"run_id": run.run_id, "environment": run.environment, "test_environment": run.test_environment,
            "host": run.host, "pid": run.pid, "started": run.started, "keep": run.keep}
    tmp = run.path / "run.json.tmp"
    tmp.write_text(json.dumps(body, indent=2), encoding="utf-8")
    os.replace(tmp, run.path / "run.json")


def remove_run_dir(run: RunDir) -> None:
    shutil.rmtree(run.path, ignore_errors=True)


def mark_project(client: Any, project_key: str, run: RunDir, owner: str) -> None:
    """The run's marks in the project's custom metadata (read-modify-write: the state's own
    lineage marker and every other key stay)."""
    project = client.get_project(project_key)
    metadata = project.get_metadata()
    custom = _mapping(metadata.get("custom"))
    kv = {**_mapping(custom.get("kv")), RUN_MARK: run.run_id, OWNER_MARK: owner, STARTED_MARK: str(run.started), HOST_MARK: run.host,
          PID_MARK: str(run.pid)}
    metadata["custom"] = {**custom, "kv": kv}
    project.set_metadata(metadata)


def marks_of(client: Any, project_key: str) -> dict[str, str]:
    metadata = client.get_project(project_key).get_metadata()
    custom = metadata.get("custom") if isinstance(metadata, dict) else None
    kv = custom.get("kv") if isinstance(custom, dict) else None
    return {k: str(v) for k, v in kv.items()} if isinstance(kv, dict) else {}


_TEST_KEY = re.compile(r"_T([0-9A-F]{8})$")


def orphan_projects(client: Any, owner: str, live_runs: set[str], on_note: Callable[[str], None]) -> list[str]:
    """Keys of DSS projects a dead run of this owner left behind without a run directory: the key
    has a run suffix and the project's marks name this owner and a run that is not alive."""
    found = []
    for item in client.list_projects():
        key = item.get("projectKey", "")
        match = _TEST_KEY.search(key)
        if match is None or match.group(1).lower() in live_runs:
            continue
        try:
            marks = marks_of(client, key)
        except Exception as exc:  # unreadable: never delete what we cannot prove is ours
            on_note(f"project {key}: its marks cannot be read ({exc}); left alone")
            continue
        if marks.get(OWNER_MARK) != owner or marks.get(RUN_MARK, "").upper() != match.group(1):
            continue
        if _marked_alive(marks):
            continue
        found.append(key)
    return found


def _marked_alive(marks: dict[str, str]) -> bool:
    try:
        started = float(marks.get(STARTED_MARK, "0"))
    except ValueError:
        started = 0.0
    try:
        pid = int(marks.get(PID_MARK, "0"))
    except ValueError:
        pid = 0
    run = RunDir(Path("."), "", "", "", marks.get(HOST_MARK, ""), pid, started)
    return run.alive()
