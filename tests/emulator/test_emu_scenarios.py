"""Scenarios: CRUD, ids, step/trigger defaults, payload, light status."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("SC", "Scenarios", "admin")


def test_create_step_based_defaults(project):
    scenario = project.create_scenario("Build game analysis", "step_based")
    assert scenario.id == "BUILDGAMEANALYSIS"
    raw = scenario.get_settings().get_raw()
    assert raw["type"] == "step_based" and raw["name"] == "Build game analysis" and raw["active"] is False
    assert raw["params"] == {"steps": []} and raw["triggers"] == [] and raw["reporters"] == []
    assert raw["delayedTriggersBehavior"]["delayWhileRunning"] is True
    assert raw["projectKey"] == "SC" and raw["id"] == "BUILDGAMEANALYSIS"
    assert raw["versionTag"]["versionNumber"] == 0


def test_explicit_id_duplicates_and_invalid(project):
    scenario = project.create_scenario("Drift", "step_based", definition={"id": "drift_check", "params": {}})
    assert scenario.id == "drift_check"
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_scenario("Drift!", "step_based", definition={"id": "drift_check"}),
        "already exists",
    )
    project.create_scenario("same name", "step_based")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_scenario("Same Name", "step_based"), "already exists")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_scenario("x", "weird_type"))


def test_behaviour_switch_scenario_create_id(dss, project):
    assert dss.admin.behaviour() == {"scenario_create_id": "body"}
    assert dss.admin.set_behaviour(scenario_create_id="from_name") == {"scenario_create_id": "from_name"}
    scenario = project.create_scenario("Nightly build", "step_based", definition={"id": "nightly_build"})
    assert scenario.id == "NIGHTLYBUILD"  # the body's id is ignored: derived from the name
    assert [s["id"] for s in project.list_scenarios()] == ["NIGHTLYBUILD"]
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_scenario("nightly-build", "step_based", definition={"id": "other"}),
        "NIGHTLYBUILD already exists",
    )
    with pytest.raises(RuntimeError, match="400"):
        dss.admin.set_behaviour(scenario_create_id="sometimes")
    with pytest.raises(RuntimeError, match="400"):
        dss.admin.set_behaviour(no_such_switch="body")
    assert dss.admin.behaviour() == {"scenario_create_id": "from_name"}
    dss.admin.reset()  # a partial reset keeps the switches
    assert dss.admin.behaviour() == {"scenario_create_id": "from_name"}
    dss.admin.reset(full=True)
    assert dss.admin.behaviour() == {"scenario_create_id": "body"}
    again = dss.client().create_project("SC", "Scenarios", "admin")
    assert again.create_scenario("Nightly build", "step_based", definition={"id": "nightly_build"}).id == "nightly_build"


def test_list_is_light(project):
    project.create_scenario("A", "step_based")
    items = project.list_scenarios()
    assert items == [
        {
            "id": "A",
            "projectKey": "SC",
            "name": "A",
            "type": "step_based",
            "active": False,
            "tags": [],
            "markedAsTest": False,
            "running": False,
            "nextRun": 0,
        }
    ]
    assert project.list_scenarios(as_type="objects")[0].id == "A"


def test_save_fills_step_and_trigger_defaults(project):
    scenario = project.create_scenario("Nightly", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append(
        {
            "type": "build_flowitem",
            "name": "build",
            "params": {"builds": [{"type": "DATASET", "itemId": "x"}]},
        }
    )
    settings.add_daily_trigger(hour=6, minute=30)
    settings.active = True
    settings.save()
    raw = scenario.get_settings().get_raw()
    step = raw["params"]["steps"][0]
    assert step["runConditionType"] == "RUN_IF_STATUS_MATCH" and step["maxRetriesOnFail"] == 0
    assert step["id"] and step["params"]["jobType"]
    trigger = raw["triggers"][0]
    assert len(trigger["id"]) == 8 and trigger["params"]["hour"] == 6 and trigger["delay"] == 15
    assert raw["active"] is True and raw["versionTag"]["versionNumber"] == 1
    assert scenario.get_status().running is False


def test_custom_python_payload(project):
    scenario = project.create_scenario("Script", "custom_python")
    settings = scenario.get_settings()
    assert settings.code == ""
    settings.code = "print(1)"
    settings.save()
    assert scenario.get_settings().code == "print(1)"


def test_delete_and_missing(project):
    scenario = project.create_scenario("Gone", "step_based")
    scenario.delete()
    assert project.list_scenarios() == []
    raises_dss(NOT_FOUND, scenario.get_settings)
    raises_dss(NOT_FOUND, project.get_scenario("NOPE").run)
