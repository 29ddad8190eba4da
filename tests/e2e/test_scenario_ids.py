"""Scenario ids that DSS assigns itself.

The engine sends the configured scenario id in the create body. Whether DSS honours it is
UNVERIFIED (docs/emulator.md, "scenario id"): DSS may ignore it and derive the id from the
scenario's *name* (`Nightly build` -> `Nightly_build`). The emulator does either, switched by
`POST /__emulator__/behaviour {"scenario_create_id": "body" | "from_name"}`, and the tool must be
correct under both: the state records the server's id, plans and drift are clean, updates and
deletes hit that scenario, `run_scenario` steps point at it, and import round-trips.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.helpers import assert_no_changes, run_cli, unmark_project, write_config, writes_since

BEHAVIOURS = ["body", "from_name"]
KEY = "SCIDS"

PROJECT = """\
project:
  key: SCIDS
  name: Scenario ids

datasets:
  - name: raw
    type: managed
    format: csv
  - name: clean
    type: managed
    format: parquet

scenarios:
  - id: nightly_build
    name: {nightly_name}
    triggers:
      - type: dataset_change
        datasets: [raw]
        grace_delay_seconds: {grace}
    steps:
      - type: build
        datasets: [{built}]
{weekly}"""

WEEKLY = """\
  - id: weekly_report
    name: Weekly report
    steps:
      - type: run_scenario
        scenario: nightly_build
"""


def _project(*, nightly_name: str = "Nightly build", grace: int = 0, built: str = "clean", weekly: bool = True) -> str:
    return PROJECT.format(nightly_name=nightly_name, grace=grace, built=built, weekly=WEEKLY if weekly else "")


def _expected_ids(behaviour: str) -> dict[str, str]:
    """Configured id -> the id DSS gives the scenario."""
    if behaviour == "body":
        return {"nightly_build": "nightly_build", "weekly_report": "weekly_report"}
    return {"nightly_build": "Nightly_build", "weekly_report": "Weekly_report"}


def _state(dss: Any, root: Path) -> dict[str, str]:
    rows = run_cli(dss, root, "state", "list", "-e", "dev", "--json").json()["resources"]
    return {r["address"]: r["dss_id"] for r in rows if r["address"].startswith("scenario.")}


def _scenario_ids(client: Any) -> list[str]:
    return sorted(s["id"] for s in client.get_project(KEY).list_scenarios())


def _drift(dss: Any, root: Path) -> dict:
    return run_cli(dss, root, "drift", "-e", "dev", "--json").json()


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_scenarios_converge_whatever_id_dss_assigns(dss: Any, tmp_path: Path, behaviour: str) -> None:
    dss.admin.set_behaviour(scenario_create_id=behaviour)
    client = dss.client()
    ids = _expected_ids(behaviour)
    root = write_config(tmp_path / "cfg", {"scids.yml": _project()})

    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert _scenario_ids(client) == sorted(ids.values())
    assert _state(dss, root) == {f"scenario.{KEY}.{c}": d for c, d in ids.items()}
    assert_no_changes(dss, root)
    report = _drift(dss, root)
    assert report["drift"] is False and report["resources"] == [], report

    # The run_scenario step calls the scenario DSS knows, whatever its id.
    project = client.get_project(KEY)
    step = project.get_scenario(ids["weekly_report"]).get_settings().get_raw()["params"]["steps"][0]
    assert step["params"]["scenarioId"] == ids["nightly_build"], step
    assert project.get_scenario(ids["weekly_report"]).run_and_wait(no_fail=True).outcome == "SUCCESS"

    # Rename, change a step and a trigger: the same DSS scenario is updated in place.
    write_config(root, {"scids.yml": _project(nightly_name="Nightly build v2", grace=30, built="raw")})
    before = dss.admin.stats()["requests"]
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    writes = writes_since(dss, before)
    assert writes == [("PUT", f"/projects/{KEY}/scenarios/{ids['nightly_build']}")], writes
    assert _scenario_ids(client) == sorted(ids.values())
    raw = project.get_scenario(ids["nightly_build"]).get_settings().get_raw()
    assert raw["name"] == "Nightly build v2"
    assert raw["triggers"][0]["graceDelaySettings"]["delay"] == 30
    assert raw["params"]["steps"][0]["params"]["builds"][0]["itemId"] == "raw"
    assert _state(dss, root) == {f"scenario.{KEY}.{c}": d for c, d in ids.items()}
    assert_no_changes(dss, root)

    # Removing a scenario from the config deletes exactly it; an unmanaged one is left alone.
    project.create_scenario("Made by hand", "step_based")
    write_config(root, {"scids.yml": _project(nightly_name="Nightly build v2", grace=30, built="raw", weekly=False)})
    before = dss.admin.stats()["requests"]
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert writes_since(dss, before) == [("DELETE", f"/projects/{KEY}/scenarios/{ids['weekly_report']}")]
    assert _scenario_ids(client) == sorted([ids["nightly_build"], "Made_by_hand"])
    assert _state(dss, root) == {f"scenario.{KEY}.nightly_build": ids["nightly_build"]}
    assert_no_changes(dss, root)
    report = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2).json()
    assert [(r["kind"], r["name"]) for r in report["resources"]] == [("unmanaged", "Made_by_hand")], json.dumps(report)


def test_saved_plan_and_steps_written_with_configured_ids(dss: Any, tmp_path: Path) -> None:
    """A saved plan (no observation: the project contexts come from the state) calls the id DSS
    gave; a step that names the configured id instead (as the tool wrote them before it knew DSS
    may pick the id) is a difference, shown by plan and drift, and the next apply repairs it."""
    dss.admin.set_behaviour(scenario_create_id="from_name")
    client = dss.client()
    root = write_config(tmp_path / "cfg", {"scids.yml": _project()})
    plan_file = tmp_path / "plan.json"
    run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    project = client.get_project(KEY)
    weekly = project.get_scenario("Weekly_report")
    assert weekly.get_settings().get_raw()["params"]["steps"][0]["params"]["scenarioId"] == "Nightly_build"
    assert_no_changes(dss, root)

    settings = weekly.get_settings()
    settings.raw_steps[0]["params"]["scenarioId"] = "nightly_build"  # no such scenario in DSS
    settings.save()
    assert weekly.run_and_wait(no_fail=True).outcome == "FAILED"
    report = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], r["kind"], [f["name"] for f in r["fields"]]) for r in report["resources"]] == [
        (f"scenario.{KEY}.weekly_report", "changed", ["steps"])
    ], json.dumps(report)
    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "DSS id nightly_build" in plan.stdout and "scenario.SCIDS.weekly_report will be updated" in plan.stdout, str(plan)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert weekly.get_settings().get_raw()["params"]["steps"][0]["params"]["scenarioId"] == "Nightly_build"
    assert weekly.run_and_wait(no_fail=True).outcome == "SUCCESS"
    assert_no_changes(dss, root)


CLASH = """\
project:
  key: CLASH
  name: Clash

scenarios:
  - id: a_b
    name: {first}
    description: from a_b
  - id: A_b
    name: A_b
    description: from A_b
    steps:
      - type: run_scenario
        scenario: a_b
"""


@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("A b", "Scenario A_b already exists"),  # DSS's A_b is named "A b": not what A_b's create made
        ("A_b", "belongs to scenario.CLASH.a_b"),  # same name too: the state says whose it is
    ],
    ids=["other-name", "same-name"],
)
def test_configured_id_taken_by_another_scenarios_derived_id(dss: Any, tmp_path: Path, first: str, message: str) -> None:
    """`a_b` is created first (A_b's step calls it) and DSS gives it the id A_b, the id `A_b` is
    configured with. A_b's create fails; the scenario DSS holds as A_b stays a_b's (not adopted,
    not overwritten), in this apply and in the next plans."""
    dss.admin.set_behaviour(scenario_create_id="from_name")
    project = dss.client().get_project  # the project exists only after the apply
    root = write_config(tmp_path / "cfg", {"clash.yml": CLASH.format(first=first)})

    failed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1)
    assert "scenario.CLASH.A_b: failed: DSS error: " in failed.stdout and "Scenario A_b already exists" in failed.stdout, str(failed)
    assert message in failed.output, str(failed)
    assert _only_scenario(project("CLASH")) == ("A_b", first, "from a_b", [])
    rows = run_cli(dss, root, "state", "list", "-e", "dev", "--json").json()["resources"]
    assert {r["address"]: r["dss_id"] for r in rows if r["address"].startswith("scenario.")} == {"scenario.CLASH.a_b": "A_b"}

    for _ in range(2):  # plan and apply refuse, naming the owner; DSS is left alone
        for command in (["plan"], ["apply", "--auto-approve"]):
            refused = run_cli(dss, root, *command, "-e", "dev", expect=1)
            assert "scenario.CLASH.A_b: the scenario DSS holds as 'A_b' in project CLASH is managed as scenario.CLASH.a_b" in refused.output, str(refused)
    assert _only_scenario(project("CLASH")) == ("A_b", first, "from a_b", [])
    report = _drift(dss, root)
    assert report["resources"] == [], report


def test_names_deriving_the_same_id_fail_the_second_create(dss: Any, tmp_path: Path) -> None:
    """Two scenarios named alike (ids x and y, both "Nightly"): the second create fails with
    DSS's error, every apply, and never touches the first's scenario."""
    dss.admin.set_behaviour(scenario_create_id="from_name")
    config = "project:\n  key: CLASH\n  name: Clash\nscenarios:\n"
    config += "".join(f"  - id: {sid}\n    name: Nightly\n    description: from {sid}\n" for sid in ("x", "y"))
    root = write_config(tmp_path / "cfg", {"clash.yml": config})
    for _ in range(2):
        failed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--parallelism", "1", expect=1)
        assert "scenario.CLASH.y: failed: DSS error: " in failed.stdout and "Scenario Nightly already exists" in failed.stdout, str(failed)
        assert _only_scenario(dss.client().get_project("CLASH")) == ("Nightly", "Nightly", "from x", [])
        rows = run_cli(dss, root, "state", "list", "-e", "dev", "--json").json()["resources"]
        assert {r["address"]: r["dss_id"] for r in rows if r["address"].startswith("scenario.")} == {"scenario.CLASH.x": "Nightly"}


def _only_scenario(project: Any) -> tuple:
    (item,) = project.list_scenarios()
    raw = project.get_scenario(item["id"]).get_settings().get_raw()
    return item["id"], raw["name"], raw.get("description"), raw["params"].get("steps")


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_import_of_a_project_whose_scenario_ids_dss_chose(dss: Any, tmp_path: Path, behaviour: str) -> None:
    dss.admin.set_behaviour(scenario_create_id=behaviour)
    ids = _expected_ids(behaviour)
    built = write_config(tmp_path / "built", {"scids.yml": _project()})
    run_cli(dss, built, "apply", "-e", "dev", "--auto-approve")
    unmark_project(dss.client(), KEY)  # the built state is given up: import into a new one

    root = write_config(tmp_path / "imported", {})
    imported = run_cli(dss, root, "import", "project", KEY, "-e", "dev")
    assert "Check: plan after import -> No changes." in imported.stdout, str(imported)
    document = yaml.safe_load((root / "projects" / "scids.yml").read_text(encoding="utf-8"))
    scenarios = {s["id"]: s for s in document["scenarios"]}
    assert sorted(scenarios) == sorted(ids.values())
    assert scenarios[ids["weekly_report"]]["steps"][0]["scenario"] == ids["nightly_build"]
    assert _state(dss, root) == {f"scenario.{KEY}.{d}": d for d in ids.values()}
    assert_no_changes(dss, root)
    assert _drift(dss, root)["resources"] == []

    # The imported config manages the scenarios: a change updates the same DSS scenario.
    text = (root / "projects" / "scids.yml").read_text(encoding="utf-8")
    (root / "projects" / "scids.yml").write_text(text.replace("name: Weekly report", "name: Weekly summary"), encoding="utf-8")
    before = dss.admin.stats()["requests"]
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert writes_since(dss, before) == [("PUT", f"/projects/{KEY}/scenarios/{ids['weekly_report']}")]
    assert_no_changes(dss, root)
