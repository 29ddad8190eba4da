"""Acceptance point 1: the roadmap's POC demo through the CLI, and applies killed or interrupted
half-way, completed by the next apply with nothing duplicated and nothing missing.

Kills use the emulator's request counter: with a per-request latency, an apply of ~36 resources
takes a few seconds; the test polls `/__emulator__/stats` (or the request log) and SIGKILLs the CLI
when the apply has reached a chosen request. "started N" kills while request N is in flight (DSS
still carries it out: the CLI dies right after a create or update it never hears about);
"finished N" kills just after the CLI received response N (while it journals the outcome and
starts the next call).
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

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
LATENCY_MS = 150
BULK = "BULK"


def test_roadmap_demo(dss: Any, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    init = run_cli(dss, tmp_path, "init", str(root))
    assert (root / "iac.yml").is_file() and (root / "environments" / "dev.yml").is_file()
    assert "Initialized" in init.stdout
    (root / "projects" / "demo.yml").write_text(DEMO_YAML, encoding="utf-8")
    before = request_count(dss)
    run_cli(dss, root, "validate", "-e", "dev")
    assert request_count(dss) == before, "validate must not contact DSS"

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


def _reached(dss: Any, mode: str, point: int) -> bool:
    if mode == "started":
        return request_count(dss) >= point
    return len(dss.admin.requests()) >= point


def _kill_apply_at(dss: Any, root: Path, mode: str, point: int) -> int:
    """Start an apply, SIGKILL it at request `point`; return the requests DSS received by then."""
    dss.admin.set_latency(LATENCY_MS)
    base = request_count(dss)
    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    try:
        wait_for(lambda: _reached(dss, mode, base + point) or proc.poll() is not None, timeout=60, what=f"request {point}")
        kill_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            kill_group(proc, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the apply finished before request {point}: {(root / 'cli.log').read_text()}"
    dss.admin.set_latency(0)
    # Let DSS finish what it was given (in-flight requests complete server-side).
    wait_for(lambda: len(dss.admin.requests()) == request_count(dss), what="in-flight requests to finish")
    return request_count(dss) - base


def _unlock_stale(dss: Any, root: Path) -> None:
    """A killed run leaves its lock; the next apply names it as stale and shows the unlock command."""
    refused = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1)
    assert "looks stale" in refused.stderr and "is no longer running" in refused.stderr, str(refused)
    lock_id = re.search(r"dataiku-iac state unlock (\S+) -e dev", refused.stderr)
    assert lock_id, str(refused)
    run_cli(dss, root, "state", "unlock", lock_id.group(1), "-e", "dev")
    assert not (state_dir(root) / "lock.json").exists()


def _assert_complete(dss: Any, root: Path) -> None:
    """Every declared object exists in DSS exactly once, the state owns each, and the plan is empty."""
    names = list_names(dss.client(), BULK)
    expected = big_project_names()
    for type_, wanted in expected.items():
        assert names[type_] == sorted(wanted), f"{type_}: DSS holds {names[type_]}, expected each of {sorted(wanted)} once"
    listed = [line.split()[0] for line in run_cli(dss, root, "state", "list", "-e", "dev").stdout.splitlines() if line.strip()]
    addresses = {f"{t}.{BULK}.{n}" for t, ns in expected.items() for n in ns} | {f"project.{BULK}"}
    assert set(listed) == addresses
    assert_no_changes(dss, root)
    assert not (state_dir(root) / "journal.jsonl").exists()
    assert not (state_dir(root) / "lock.json").exists()


# Request numbers of a fresh apply of the bulk project (36 resources, ~97 requests): 1 observe;
# 3-15 the project (create, documents, variables); 16-52 datasets; 53-65 folders; 66-91
# recipes; 92-97 scenarios. The parallel part's order varies run to run, which is the point.
FAST_KILL_POINTS = [("started", 4), ("finished", 10), ("started", 53), ("finished", 67), ("started", 92)]
SLOW_KILL_POINTS = [(mode, n) for n in range(2, 98, 3) for mode in ("started", "finished")]


@pytest.mark.parametrize(("mode", "point"), FAST_KILL_POINTS, ids=[f"{m}-{n}" for m, n in FAST_KILL_POINTS])
def test_apply_killed_midway_is_completed_by_the_next_apply(dss: Any, tmp_path: Path, mode: str, point: int) -> None:
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, mode, point)
    _unlock_stale(dss, root)
    resumed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--resume")
    assert "Apply complete!" in resumed.stdout or resumed.last_line().startswith("No changes."), str(resumed)
    _assert_complete(dss, root)


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "point"), SLOW_KILL_POINTS, ids=[f"{m}-{n}" for m, n in SLOW_KILL_POINTS])
def test_apply_killed_at_every_third_request(dss: Any, tmp_path: Path, mode: str, point: int) -> None:
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, mode, point)
    _unlock_stale(dss, root)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root)


def test_apply_killed_twice_then_completed(dss: Any, tmp_path: Path) -> None:
    """A resume that is itself killed leaves a journal the third run still completes."""
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, "started", 30)
    _unlock_stale(dss, root)
    _kill_apply_at(dss, root, "started", 25)
    _unlock_stale(dss, root)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _assert_complete(dss, root)


def test_plan_after_a_kill_reads_the_journal_without_writing(dss: Any, tmp_path: Path) -> None:
    root = _bulk_config(tmp_path)
    _kill_apply_at(dss, root, "started", 54)  # a folder create in flight: its id is server-assigned
    journal = (state_dir(root) / "journal.jsonl").read_bytes()
    before = request_count(dss)
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json")
    assert not [e for e in dss.admin.requests(since=before) if e["method"] != "GET"]
    assert (state_dir(root) / "journal.jsonl").read_bytes() == journal, "plan must not touch the journal"
    body = plan.json()
    created = {c["address"] for c in body["resource_changes"] if c["change"]["actions"] == ["create"]}
    live = list_names(dss.client(), BULK)
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
