"""Scenarios: CRUD, ids, step/trigger defaults, payload, light status."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("SC", "Scenarios", "admin")


def test_create_step_based_defaults(project):
    scenario = project.create_scenario("Build game analysis", "step_based")
    assert scenario.id == "Build_game_analysis"
    raw = scenario.get_settings().get_raw()
    assert raw["type"] == "step_based" and raw["name"] == "Build game analysis" and raw["active"] is False
    assert raw["params"] == {"steps": []} and raw["triggers"] == [] and raw["reporters"] == []
    assert raw["delayedTriggersBehavior"]["delayWhileRunning"] is True
    assert raw["projectKey"] == "SC" and raw["id"] == "Build_game_analysis"
    assert raw["versionTag"]["versionNumber"] == 0


@pytest.mark.parametrize(
    ("name", "derived"),
    [
        ("Nightly build", "Nightly_build"),  # the case is kept (findings section 2)
        ("24319 - remove quotes", "24319___remove_quotes"),
        ("already_an_id", "already_an_id"),
        ("Ünïcode & co.", "_n_code___co_"),
        ("weekly-report", "weekly_report"),
    ],
)
def test_id_derived_from_the_name(project, name, derived):
    assert project.create_scenario(name, "step_based").id == derived
    assert [s["id"] for s in project.list_scenarios()] == [derived]


def test_explicit_id_duplicates_and_invalid(project):
    scenario = project.create_scenario("Drift", "step_based", definition={"id": "drift_check", "params": {}})
    assert scenario.id == "drift_check"
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_scenario("Drift!", "step_based", definition={"id": "drift_check"}),
        "already exists",
    )
    project.create_scenario("same name", "step_based")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_scenario("same-name", "step_based"), "already exists")
    assert project.create_scenario("Same Name", "step_based").id == "Same_Name"  # case kept: another id
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_scenario("x", "weird_type"))


def test_behaviour_switch_scenario_create_id(dss, project):
    assert dss.admin.behaviour()["scenario_create_id"] == "body"
    assert dss.admin.set_behaviour(scenario_create_id="from_name")["scenario_create_id"] == "from_name"
    scenario = project.create_scenario("Nightly build", "step_based", definition={"id": "nightly_build"})
    assert scenario.id == "Nightly_build"  # the body's id is ignored: derived from the name
    assert [s["id"] for s in project.list_scenarios()] == ["Nightly_build"]
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.create_scenario("Nightly-build", "step_based", definition={"id": "other"}),
        "Nightly_build already exists",
    )
    with pytest.raises(RuntimeError, match="400"):
        dss.admin.set_behaviour(scenario_create_id="sometimes")
    with pytest.raises(RuntimeError, match="400"):
        dss.admin.set_behaviour(no_such_switch="body")
    assert dss.admin.behaviour()["scenario_create_id"] == "from_name"
    dss.admin.reset()  # a partial reset keeps the switches
    assert dss.admin.behaviour()["scenario_create_id"] == "from_name"
    dss.admin.reset(full=True)
    assert dss.admin.behaviour()["scenario_create_id"] == "body"
    again = dss.client().create_project("SC", "Scenarios", "admin")
    assert (
        again.create_scenario("Nightly build", "step_based", definition={"id": "nightly_build"}).id
        == "nightly_build"
    )


def test_list_items_have_the_dss_shape_without_version_tag(project):
    """Exactly the keys Dataiku's monitoring plugin reads from scenario list items (findings section 1),
    with projectKey and tags: no versionTag, no triggers or steps."""
    created = project.create_scenario("A", "step_based")
    raw = created.get_settings().get_raw()
    (item,) = project.list_scenarios()
    assert item == {
        "id": "A",
        "projectKey": "SC",
        "name": "A",
        "type": "step_based",
        "active": False,
        "tags": [],
        "markedAsTest": False,
        "unavailable": False,
        "running": False,
        "createdOn": raw["creationTag"]["lastModifiedOn"],
        "lastModifiedOn": raw["versionTag"]["lastModifiedOn"],
        "start": 0,
        "nextRun": 0,
    }
    assert project.list_scenarios(as_type="objects")[0].id == "A"

    settings = created.get_settings()
    settings.run_as = "admin"
    settings.save()
    (item,) = project.list_scenarios()
    assert item["runAsUser"] == "admin"
    assert item["lastModifiedOn"] == created.get_settings().get_raw()["versionTag"]["lastModifiedOn"]
    assert item["lastModifiedOn"] > item["createdOn"]  # every save moves it


def test_scenario_tags_come_back_sorted(project):
    scenario = project.create_scenario("T", "step_based", definition={"tags": ["zulu", "alpha"]})
    assert scenario.get_settings().get_raw()["tags"] == ["alpha", "zulu"]
    settings = scenario.get_settings()
    settings.get_raw()["tags"] = ["smoke-test", "terraform", "smoke-test"]
    settings.save()
    assert project.list_scenarios()[0]["tags"] == ["smoke-test", "terraform"]
    light = scenario.get_definition(with_status=True)
    light["tags"] = ["b", "a"]
    scenario.set_definition(light, with_status=True)
    assert scenario.get_settings().get_raw()["tags"] == ["a", "b"]


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
