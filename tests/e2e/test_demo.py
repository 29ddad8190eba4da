"""Acceptance point 1: the roadmap's POC demo through the CLI, and applies killed or interrupted
half-way, completed by the next apply with nothing duplicated and nothing missing.

Kills are driven by the emulator: with a per-request latency, an apply of 36 resources takes a
few seconds; the test polls the emulator's admin API (fault counters, request log, request
counter) and SIGKILLs the CLI at a chosen request (see `KillPoint`): while a create is in flight
(DSS still carries it out), just after a response (the CLI is journaling), or at the Nth request
of the apply (the slow sweep, every ~3rd request from the first to the last)."""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.e2e.helpers import (
    DEMO_YAML,
    assert_no_changes,
    big_project_names,
    big_project_yaml,
    kill_group,
    list_names,
    request_count,
    run_cli,
    spawn_cli,
    state_dir,
    wait_for,
    write_config,
)

MORE_YAML = """\
  - name: MORE_DATA
    type: managed
    format: csv
"""
LATENCY_MS = 100
BULK = "BULK"


def test_roadmap_demo(dss: Any, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    init = run_cli(dss, tmp_path, "init", str(root))
    assert (root / "iac.yml").is_file() and (root / "environments" / "dev.yml").is_file()
    assert "Initialized" in init.stdout
    (root / "projects" / "demo.yml").write_text(DEMO_YAML, encoding="utf-8")
    before = request_count(dss)
    run_cli(dss, root, "validate", "-e", "dev", "--offline")
    assert request_count(dss) == before, "validate --offline must not contact DSS"
    run_cli(dss, root, "validate", "-e", "dev")
    assert {e["method"] for e in dss.admin.requests(since=before)} <= {"GET"}, "validate must only read"

    plan = run_cli(dss, root, "plan", "-e", "dev")
    assert plan.last_line() == "Plan: 2 to add, 0 to change, 0 to destroy.", str(plan)
    assert "project.DEMO_PROJECT" in plan.stdout and "dataset.DEMO_PROJECT.TEST_DATA" in plan.stdout
    assert not [e for e in dss.admin.requests(since=before) if e["method"] != "GET"], "plan must only read"

    apply = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in apply.stdout

    client = dss.client()
    assert client.list_project_keys() == ["DEMO_PROJECT"]
    project = client.get_project("DEMO_PROJECT")
    assert project.get_metadata()["label"] == "Demo Project"
    datasets = {d["name"]: d for d in project.list_datasets()}
    assert list(datasets) == ["TEST_DATA"]
    raw = project.get_dataset("TEST_DATA").get_settings().get_raw()
    assert raw["formatType"] == "parquet" and raw["managed"] is True
    assert raw["params"]["connection"] == "filesystem_managed"

    (root / "projects" / "demo.yml").write_text(DEMO_YAML + MORE_YAML, encoding="utf-8")
    plan = run_cli(dss, root, "plan", "-e", "dev")
    assert plan.last_line() == "Plan: 1 to add, 0 to change, 0 to destroy.", str(plan)
    assert "dataset.DEMO_PROJECT.MORE_DATA" in plan.stdout
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert sorted(d["name"] for d in project.list_datasets()) == ["MORE_DATA", "TEST_DATA"]
    assert project.get_dataset("MORE_DATA").get_settings().get_raw()["formatType"] == "csv"
    assert_no_changes(dss, root)
    drift = run_cli(dss, root, "drift", "-e", "dev")
    assert drift.stdout.startswith("No drift.")


# -- kills ---------------------------------------------------------------------------------
def _bulk_config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "cfg", {"bulk.yml": big_project_yaml(BULK)})


@dataclass(frozen=True)
class KillPoint:
    """Where to SIGKILL an apply.

    sent: the `nth` request matching METHOD PATH has reached DSS (an injected 0.6 s latency holds
    it there, before DSS handles it); DSS still carries it out after the CLI is dead, so the
    CLI dies right after a call whose outcome it never learns.
    answered: the `nth` matching response has been sent back; the CLI is journaling its
    outcome or starting the next call.
    count: the apply's `nth` request, whatever it is, has reached DSS.
    """

    mode: str
    nth: int
    method: str = "*"
    path: str = ".*"

    @property
    def id(self) -> str:
        what = "" if self.mode == "count" else f"-{self.method}-{self.path.strip('^$/').replace('/', '_')}"
        return f"{self.mode}-{self.nth}{what}"


def _matching(dss: Any, point: KillPoint, since: int) -> int:
    return sum(1 for e in dss.admin.requests(since=since) if point.method in ("*", e["method"]) and re.search(point.path, e["path"]))


def _kill_apply_at(dss: Any, root: Path, point: KillPoint) -> None:
    """Start an apply and SIGKILL it at `point`; then let DSS finish what it was sent."""
    dss.admin.set_latency(LATENCY_MS)
    base = request_count(dss)
    if point.mode == "sent":
        dss.admin.add_fault(method=point.method, path=point.path, nth=point.nth, times=1, mode="latency", latency_ms=600)

    def reached() -> bool:
        if point.mode == "sent":
            return dss.admin.faults()[0]["fired"] == 1
        if point.mode == "answered":
            return _matching(dss, point, base) >= point.nth
        return request_count(dss) >= base + point.nth

    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    try:
        wait_for(lambda: reached() or proc.poll() is not None, timeout=60, what=point.id)
        kill_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the apply finished before {point.id}: {(root / 'cli.log').read_text()}"
    dss.admin.set_latency(0)
    wait_for(lambda: len(dss.admin.requests()) == request_count(dss), what="in-flight requests to finish")
    dss.admin.clear_faults()


def _assert_complete(dss: Any, root: Path, expected: Optional[dict] = None) -> None:
    """Every declared object exists in DSS exactly once, the state owns each, and the plan is empty."""
    names = list_names(dss.client(), BULK)
    expected = expected or big_project_names()
    for type_, wanted in expected.items():
        assert names[type_] == sorted(wanted), f"{type_}: DSS holds {names[type_]}, expected each of {sorted(wanted)} once"
    state = json.loads((state_dir(root) / "state.json").read_text(encoding="utf-8"))
    addresses = {f"{t}.{BULK}.{n}" for t, ns in expected.items() for n in ns} | {f"project.{BULK}"}
    assert sorted(state["resources"]) == sorted(addresses)
    assert_no_changes(dss, root)
    assert not (state_dir(root) / "journal.jsonl").exists()
    assert not (state_dir(root) / "lock.json").exists()


FAST_KILL_POINTS = [
    KillPoint("sent", 1, "POST", r"^/projects/$"),  # the project itself
    KillPoint("sent", 3, "POST", r"/datasets/managed$"),
    KillPoint("sent", 2, "POST", r"/managedfolders/$"),  # a server-assigned id the CLI never saw
    KillPoint("answered", 4, "POST", r"/recipes/$"),
    KillPoint("sent", 2, "POST", r"/scenarios/$"),
]


@pytest.mark.parametrize("point", FAST_KILL_POINTS, ids=lambda p: p.id)
def test_apply_killed_midway_is_completed_by_the_next_apply(dss: Any, tmp_path: Path, point: KillPoint) -> None:
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, point)
    # The killed run's lock.json stays, but its kernel lock died with it: the next apply takes
    # it over by itself (no `state unlock` needed, unlike a lock held by a live run).
    assert (state_dir(root) / "lock.json").exists(), "a run killed while applying leaves its lock file"
    resumed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--resume")
    assert "Apply complete!" in resumed.stdout, str(resumed)
    _assert_complete(dss, root)


@pytest.fixture(scope="module")
def bulk_apply_requests(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many requests a fresh apply of the bulk project makes (measured once)."""
    dss_emulator.reset_all()
    root = _bulk_config(tmp_path_factory.mktemp("calibrate"))
    run_cli(dss_emulator, root, "apply", "-e", "dev", "--auto-approve")
    total = request_count(dss_emulator)
    dss_emulator.reset_all()
    return total


SWEEP = [(mode, i) for i in range(32) for mode in ("count", "answered")]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "step"), SWEEP, ids=[f"{m}-{i}of32" for m, i in SWEEP])
def test_apply_killed_all_along_the_apply(dss: Any, tmp_path: Path, bulk_apply_requests: int, mode: str, step: int) -> None:
    """Kill points spread evenly over the whole apply (every ~3rd request), in both modes."""
    nth = 1 + step * (bulk_apply_requests - 2) // 32
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, KillPoint(mode, nth))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root)


EDIT_KILL_POINTS = [
    KillPoint("sent", 1, "DELETE", r"/recipes/"),  # removed from the config
    KillPoint("sent", 1, "POST", r"/datasets/$"),  # raw_0's replacement: deleted, not yet re-created
    KillPoint("answered", 2, "PUT", r"/managedfolders/"),
]


@pytest.mark.parametrize("point", EDIT_KILL_POINTS, ids=lambda p: p.id)
def test_apply_of_edits_killed_midway_is_completed(dss: Any, tmp_path: Path, point: KillPoint) -> None:
    """Deletes, a replacement and updates, killed half-way: the next apply finishes all of it."""
    root = _bulk_config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    smaller = {"pairs": 6, "folders": 3, "scenarios": 2}
    (root / "projects" / "bulk.yml").write_text(big_project_yaml(BULK, version=2, **smaller), encoding="utf-8")
    _kill_apply_at(dss, root, point)
    resumed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert "Apply complete!" in resumed.stdout, str(resumed)
    _assert_complete(dss, root, big_project_names(**smaller))
    project = dss.client().get_project(BULK)
    assert project.get_dataset("raw_0").get_settings().get_raw()["type"] == "Filesystem"
    assert project.get_variables()["standard"]["version"] == 2
    assert {f["description"] for f in project.list_managed_folders()} == {f"folder {k} v2" for k in range(3)}


@pytest.fixture(scope="module")
def edit_apply_requests(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> int:
    """How many requests the apply of the edits makes (measured once)."""
    dss_emulator.reset_all()
    root = _bulk_config(tmp_path_factory.mktemp("calibrate-edits"))
    run_cli(dss_emulator, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "bulk.yml").write_text(big_project_yaml(BULK, version=2, pairs=6, folders=3, scenarios=2), encoding="utf-8")
    before = request_count(dss_emulator)
    run_cli(dss_emulator, root, "apply", "-e", "dev", "--auto-approve")
    total = request_count(dss_emulator) - before
    dss_emulator.reset_all()
    return total


EDIT_SWEEP = [(mode, i) for i in range(16) for mode in ("count", "answered")]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "step"), EDIT_SWEEP, ids=[f"{m}-{i}of16" for m, i in EDIT_SWEEP])
def test_apply_of_edits_killed_all_along(dss: Any, tmp_path: Path, edit_apply_requests: int, mode: str, step: int) -> None:
    smaller = {"pairs": 6, "folders": 3, "scenarios": 2}
    root = _bulk_config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "bulk.yml").write_text(big_project_yaml(BULK, version=2, **smaller), encoding="utf-8")
    _kill_apply_at(dss, root, KillPoint(mode, 1 + step * (edit_apply_requests - 2) // 16))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root, big_project_names(**smaller))


def test_apply_killed_twice_then_completed(dss: Any, tmp_path: Path) -> None:
    """A resume that is itself killed leaves a journal the third run still completes."""
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, KillPoint("sent", 5, "POST", r"/datasets/managed$"))
    _kill_apply_at(dss, root, KillPoint("sent", 1, "POST", r"/managedfolders/$"))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root)


def test_plan_after_a_kill_reads_the_journal_without_writing(dss: Any, tmp_path: Path) -> None:
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, KillPoint("sent", 2, "POST", r"/managedfolders/$"))
    journal = (state_dir(root) / "journal.jsonl").read_bytes()
    before = request_count(dss)
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json")
    assert not [e for e in dss.admin.requests(since=before) if e["method"] != "GET"]
    assert (state_dir(root) / "journal.jsonl").read_bytes() == journal, "plan must not touch the journal"
    body = plan.json()
    created = {c["address"] for c in body["resource_changes"] if c["change"]["actions"] == ["create"]}
    live = list_names(dss.client(), BULK)
    assert live["managed_folder"], "the folder create sent before the kill did not reach DSS"
    for type_, names in live.items():
        for name in names:
            assert f"{type_}.{BULK}.{name}" not in created, f"{type_} {name} exists in DSS yet the plan creates it"


# -- Ctrl-C --------------------------------------------------------------------------------
def test_ctrl_c_stops_cleanly_and_the_next_apply_finishes(dss: Any, tmp_path: Path) -> None:
    root = _bulk_config(tmp_path)
    dss.admin.set_latency(LATENCY_MS)
    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    try:
        wait_for(lambda: request_count(dss) >= 40 or proc.poll() is not None, timeout=60, what="mid-apply")
        assert proc.poll() is None, "the apply finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait()
    output = (root / "cli.log").read_text()
    assert proc.returncode not in (0, -signal.SIGINT), output
    assert "interrupted" in output.lower(), output
    assert "Traceback" not in output, output
    assert not (state_dir(root) / "lock.json").exists(), "the lock must be released"
    assert not (state_dir(root) / "journal.jsonl").exists(), "the journal must be compacted into the state"
    state = json.loads((state_dir(root) / "state.json").read_text())
    assert state["serial"] >= 1 and f"project.{BULK}" in state["resources"]
    # What the state records exists in DSS; nothing the state lacks was created.
    live = list_names(dss.client(), BULK)
    recorded = {a for a in state["resources"] if a != f"project.{BULK}"}
    assert recorded == {f"{t}.{BULK}.{n}" for t, names in live.items() for n in names}
    assert len(recorded) < sum(len(v) for v in big_project_names().values()), "the interrupt stopped nothing"
    dss.admin.set_latency(0)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root)
