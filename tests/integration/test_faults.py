"""Acceptance point 8: DSS failures injected by the emulator, through the engine's Session.

- a transient 503 on a create or an update is retried and the apply succeeds;
- an ambiguous success (the change is made, the response is an error) on a create is adopted,
  never duplicated;
- a non-transient error fails that action, its dependents are skipped, the state records what
  succeeded, and the next apply (fault cleared) finishes, with `No changes.` after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.engine.session import Session

from tests.e2e.helpers import list_names, request_count, state_dir, write_config, writes_since

PROJECT = """\
project:
  key: FAULTS
  name: Fault injection
  variables:
    standard: {stage: one}
managed_folders:
  - name: drop
datasets:
  - name: raw
    type: managed
    format: csv
  - name: clean
    type: managed
    format: parquet
  - name: side
    type: managed
    description: side table
recipes:
  - name: cleanup
    type: python
    inputs: [raw]
    outputs: [clean]
    code: "print('clean')\\n"
  - name: to_drop
    type: python
    inputs: [clean]
    outputs: [drop]
    code: "print('drop')\\n"
scenarios:
  - id: DAILY
    name: Daily
    triggers:
      - {type: dataset_change, datasets: [raw]}
    steps:
      - {type: build, datasets: [clean]}
"""
KEY = "FAULTS"
EXPECTED = {
    "dataset": ["clean", "raw", "side"],
    "managed_folder": ["drop"],
    "recipe": ["cleanup", "to_drop"],
    "scenario": ["DAILY"],
}


def _session(dss: Any, root: Path) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}, parallelism=2)


def _apply(dss: Any, root: Path) -> Any:
    _, applied = _session(dss, root).apply()
    return applied


def _assert_converged(dss: Any, root: Path) -> None:
    assert list_names(dss.client(), KEY) == EXPECTED
    plan = _session(dss, root).plan().plan
    assert not plan.has_changes, [c.address for c in plan.actionable()]
    before = request_count(dss)
    _, applied = _session(dss, root).apply()
    assert applied is None and writes_since(dss, before) == []


def _statuses(dss: Any, method: str, pattern: str) -> list[int]:
    import re

    return [e["status"] for e in dss.admin.requests() if e["method"] == method and re.search(pattern, e["path"])]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_config(tmp_path / "cfg", {"faults.yml": PROJECT})


# -- transient errors are retried ----------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", r"^/projects/$"),
        ("POST", r"/datasets/managed$"),
        # The read-modify-write right after a create, which reads the dataset when DSS answers the
        # create with its name only (emulator switch create_answer: identity).
        ("GET", r"/datasets/side$"),
        ("PUT", r"/datasets/side$"),
        ("POST", r"/managedfolders/$"),
        ("POST", r"/recipes/$"),
        ("POST", r"/scenarios/$"),
    ],
    ids=lambda v: v.strip("^$/").replace("/", "_") if "/" in v else v,
)
def test_a_transient_503_on_a_create_is_retried(dss: Any, root: Path, method: str, path: str) -> None:
    if method == "GET":
        dss.admin.set_behaviour(create_answer="identity")
    dss.admin.add_fault(method=method, path=path, status=503, nth=1, times=2)
    applied = _apply(dss, root)
    assert applied.ok, applied.failed
    assert _statuses(dss, method, path)[:3] == [503, 503, 200]
    _assert_converged(dss, root)


def test_a_transient_503_on_an_update_is_retried(dss: Any, root: Path) -> None:
    assert _apply(dss, root).ok
    (root / "projects" / "faults.yml").write_text(
        PROJECT.replace("{stage: one}", "{stage: two}").replace("description: side table", "description: now described"),
        encoding="utf-8",
    )
    dss.admin.add_fault(method="PUT", path=r"/datasets/side$", status=503, nth=1, times=1)
    dss.admin.add_fault(method="PUT", path=r"/variables/$", status=503, nth=1, times=2)
    applied = _apply(dss, root)
    assert applied.ok and sorted(applied.done) == ["dataset.FAULTS.side", "project.FAULTS"]
    assert _statuses(dss, "PUT", r"/variables/$") == [200, 503, 503, 200]  # the first PUT is the first apply's
    project = dss.client().get_project(KEY)
    assert project.get_variables()["standard"] == {"stage": "two"}
    assert project.get_dataset("side").get_settings().get_raw()["description"] == "now described"
    _assert_converged(dss, root)


def test_transient_errors_past_the_retry_budget_fail_the_action(dss: Any, root: Path) -> None:
    dss.admin.add_fault(method="POST", path=r"/datasets/managed$", status=503, nth=1, times=0)  # forever
    applied = _apply(dss, root)
    assert set(applied.failed) == {"dataset.FAULTS.raw", "dataset.FAULTS.clean", "dataset.FAULTS.side"}
    assert "503" in " ".join(applied.failed.values()) or "Injected" in " ".join(applied.failed.values())
    dss.admin.clear_faults()
    assert _apply(dss, root).ok
    _assert_converged(dss, root)


# -- ambiguous successes are adopted, never duplicated ---------------------------------------
@pytest.mark.parametrize("status", [500, 502])
@pytest.mark.parametrize(
    "path",
    [r"^/projects/$", r"/datasets/managed$", r"/managedfolders/$", r"/recipes/$", r"/scenarios/$"],
    ids=["project", "dataset", "folder", "recipe", "scenario"],
)
def test_an_ambiguous_create_is_adopted_not_duplicated(dss: Any, root: Path, path: str, status: int) -> None:
    dss.admin.add_fault(method="POST", path=path, status=status, nth=1, times=1, mode="after")
    applied = _apply(dss, root)
    assert applied.ok, applied.failed
    assert _statuses(dss, "POST", path)[0] == status
    _assert_converged(dss, root)
    state = json.loads((state_dir(root) / "state.json").read_text())
    folder = state["resources"]["managed_folder.FAULTS.drop"]
    assert folder["dss_id"] == dss.client().get_project(KEY).list_managed_folders()[0]["id"]


def test_an_ambiguous_update_is_harmless(dss: Any, root: Path) -> None:
    assert _apply(dss, root).ok
    (root / "projects" / "faults.yml").write_text(PROJECT.replace("{stage: one}", "{stage: two}"), encoding="utf-8")
    dss.admin.add_fault(method="PUT", path=r"/variables/$", status=502, nth=1, times=1, mode="after")
    _apply(dss, root)  # whatever it reports, DSS holds the value and the next apply converges
    assert dss.client().get_project(KEY).get_variables()["standard"] == {"stage": "two"}
    _assert_converged(dss, root)


# -- a hard failure stops that branch only ------------------------------------------------------
def test_a_non_transient_error_fails_the_action_and_skips_its_dependents(dss: Any, root: Path) -> None:
    dss.admin.add_fault(
        method="POST",
        path=r"/datasets/managed$",
        status=400,
        nth=2,
        times=1,
        body={"errorType": "java.lang.IllegalArgumentException", "message": "Invalid dataset settings"},
    )
    applied = _apply(dss, root)
    failed = set(applied.failed)
    assert len(failed) == 1 and failed <= {"dataset.FAULTS.clean", "dataset.FAULTS.raw", "dataset.FAULTS.side"}
    assert "Invalid dataset settings" in next(iter(applied.failed.values()))
    assert _statuses(dss, "POST", r"/datasets/managed$").count(400) == 1, "a non-transient error was retried"
    failed_name = next(iter(failed)).rsplit(".", 1)[1]
    dependents = {
        "raw": {"recipe.FAULTS.cleanup", "scenario.FAULTS.DAILY"},
        "clean": {"recipe.FAULTS.cleanup", "recipe.FAULTS.to_drop", "scenario.FAULTS.DAILY"},
        "side": set(),
    }[failed_name]
    assert set(applied.skipped) == dependents
    assert not applied.ok

    state = json.loads((state_dir(root) / "state.json").read_text())
    assert set(state["resources"]) == set(applied.done), "the state must record exactly what succeeded"
    assert not (state_dir(root) / "lock.json").exists()
    # DSS refused the create (a client error) and holds nothing of it: the journal keeps nothing for
    # the next run to look up (an intent left open would be reconciled against DSS).
    journal = state_dir(root) / "journal.jsonl"
    assert not journal.exists() or journal.read_text().splitlines()[1:] == []
    live = list_names(dss.client(), KEY)
    assert failed_name not in live["dataset"]
    assert {f"recipe.FAULTS.{n}" for n in live["recipe"]} == {a for a in applied.done if a.startswith("recipe.")}

    dss.admin.clear_faults()
    again = _apply(dss, root)
    assert again.ok and set(again.done) == failed | dependents
    _assert_converged(dss, root)


def test_a_failed_update_keeps_the_previous_record(dss: Any, root: Path) -> None:
    assert _apply(dss, root).ok
    before = json.loads((state_dir(root) / "state.json").read_text())
    (root / "projects" / "faults.yml").write_text(PROJECT.replace("{stage: one}", "{stage: two}"), encoding="utf-8")
    dss.admin.add_fault(method="PUT", path=r"/variables/$", status=500, nth=1, times=1)
    applied = _apply(dss, root)
    assert set(applied.failed) == {"project.FAULTS"}
    after = json.loads((state_dir(root) / "state.json").read_text())
    assert after["resources"]["project.FAULTS"]["attributes"] == before["resources"]["project.FAULTS"]["attributes"]
    assert dss.client().get_project(KEY).get_variables()["standard"] == {"stage": "one"}
    dss.admin.clear_faults()
    assert _apply(dss, root).ok
    assert dss.client().get_project(KEY).get_variables()["standard"] == {"stage": "two"}
    _assert_converged(dss, root)


# -- scenario ids DSS derives from names -----------------------------------------------------------
# When DSS ignores the configured id (switch `scenario_create_id: from_name`), the scenario "Daily"
# configured as DAILY is created as `Daily`: a create whose answer is lost must find it there.
def _scenarios(dss: Any) -> list[tuple[str, str, str]]:
    project = dss.client().get_project(KEY)
    return [
        (s["id"], s["name"], project.get_scenario(s["id"]).get_settings().get_raw().get("description", ""))
        for s in project.list_scenarios()
    ]


def _state_ids(root: Path) -> dict:
    state = json.loads((state_dir(root) / "state.json").read_text())
    return {a: r["dss_id"] for a, r in state["resources"].items() if a.startswith("scenario.")}


def _assert_scenario_converged(dss: Any, root: Path) -> None:
    plan = _session(dss, root).plan().plan
    assert not plan.has_changes, [c.address for c in plan.actionable()]
    assert [s[0] for s in _scenarios(dss)] == ["Daily"]  # one scenario, never two
    assert _state_ids(root) == {"scenario.FAULTS.DAILY": "Daily"}


@pytest.mark.parametrize("status", [500, 502, 504])
def test_a_lost_scenario_create_is_found_under_the_id_dss_derived(dss: Any, root: Path, status: int) -> None:
    dss.admin.set_behaviour(scenario_create_id="from_name")
    dss.admin.add_fault(method="POST", path=r"/scenarios/$", status=status, nth=1, times=1, mode="after")
    applied = _apply(dss, root)
    assert applied.ok, applied.failed
    assert _statuses(dss, "POST", r"/scenarios/$") == [status]  # adopted, not created again
    _assert_scenario_converged(dss, root)


def test_a_lost_scenario_create_is_adopted_by_the_next_apply(dss: Any, root: Path) -> None:
    dss.admin.set_behaviour(scenario_create_id="from_name")
    dss.admin.add_fault(method="POST", path=r"/scenarios/$", status=500, nth=1, times=1, mode="after")
    # The lookup after the failure fails too: this apply cannot know, the intent stays open.
    dss.admin.add_fault(method="GET", path=r"^/projects/FAULTS/scenarios/$", status=500, nth=1, times=0)
    applied = _apply(dss, root)
    assert set(applied.failed) == {"scenario.FAULTS.DAILY"}
    dss.admin.clear_faults()
    assert [s[0] for s in _scenarios(dss)] == ["Daily"]
    notes = _session(dss, root).plan().notes
    assert "scenario.FAULTS.DAILY: created by the interrupted apply; adopted" in notes, notes
    # The adoption is recorded; the scenario was created whole (the POST carried its definition): done.
    assert _apply(dss, root) is None
    assert _statuses(dss, "POST", r"/scenarios/$") == [500]  # never created twice
    _assert_scenario_converged(dss, root)


def test_a_refused_scenario_create_never_takes_a_scenario_made_by_someone_else(dss: Any, root: Path) -> None:
    """Someone made "Daily" through the API (id `Daily`, the id DSS derives for ours too): our create is
    refused, and neither this apply nor the next takes their scenario for ours."""
    dss.admin.set_behaviour(scenario_create_id="from_name")
    without = PROJECT[: PROJECT.index("scenarios:")]
    (root / "projects" / "faults.yml").write_text(without, encoding="utf-8")
    assert _apply(dss, root).ok
    theirs = dss.client().get_project(KEY).create_scenario("Daily", "step_based", definition={"description": "theirs"})
    assert theirs.id == "Daily"
    (root / "projects" / "faults.yml").write_text(PROJECT, encoding="utf-8")
    for _ in range(2):
        applied = _apply(dss, root)
        assert set(applied.failed) == {"scenario.FAULTS.DAILY"}
        assert "Scenario Daily already exists" in applied.failed["scenario.FAULTS.DAILY"]
        assert _scenarios(dss) == [("Daily", "Daily", "theirs")]
        assert _state_ids(root) == {}
        assert _session(dss, root).plan().notes == []  # nothing left open to reconcile
