"""Scenario ids DSS assigns itself (derived from the name): the pure parts.

`run_scenario` steps are translated between configured ids and DSS ids through the project
context, and an interrupted create is never reconciled onto a scenario another address owns.
The end-to-end behaviour, against the emulator under both behaviours, is in
tests/e2e/test_scenario_ids.py.
"""

from __future__ import annotations

from dataiku_iac.engine.observe import contexts_from_state, requested_ids_of
from dataiku_iac.engine.reconcile import adopt_pending
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.resources.base import Observed, ProjectContext
from dataiku_iac.resources.scenario import step_to_dss, step_to_logical
from dataiku_iac.state import ResourceState, StateDocument


def _ctx(**ids: str) -> ProjectContext:
    return ProjectContext("P", scenario_ids=dict(ids))


def _call(scenario: str, project: str | None = None) -> dict:
    step = {"type": "run_scenario", "scenario": scenario, "enabled": True, "run_condition": "on_success"}
    if project is not None:
        step["project"] = project
    return step


def test_run_scenario_steps_name_the_dss_id_and_read_back_as_the_configured_id() -> None:
    ctx = _ctx(nightly_build="NIGHTLYBUILD")
    dss = step_to_dss(_call("nightly_build"), 0, ctx)
    assert dss["params"] == {"scenarioId": "NIGHTLYBUILD"}
    assert step_to_logical(dss, ctx)["scenario"] == "nightly_build"
    # Same project named explicitly: translated too.
    assert step_to_dss(_call("nightly_build", "P"), 0, ctx)["params"] == {"scenarioId": "NIGHTLYBUILD", "projectKey": "P"}


def test_unknown_ids_and_other_projects_are_left_as_written() -> None:
    ctx = _ctx(nightly_build="NIGHTLYBUILD")
    assert step_to_dss(_call("HANDMADE"), 0, ctx)["params"] == {"scenarioId": "HANDMADE"}
    assert step_to_logical({"type": "run_scenario", "params": {"scenarioId": "HANDMADE"}}, ctx)["scenario"] == "HANDMADE"
    other = step_to_dss(_call("nightly_build", "OTHER"), 0, ctx)
    assert other["params"] == {"scenarioId": "nightly_build", "projectKey": "OTHER"}
    assert step_to_logical(other, ctx)["scenario"] == "nightly_build"
    # Body honoured (identity mapping): nothing changes.
    same = _ctx(nightly_build="nightly_build")
    assert step_to_dss(_call("nightly_build"), 0, same)["params"] == {"scenarioId": "nightly_build"}
    assert step_to_logical(step_to_dss(_call("nightly_build"), 0, same), same)["scenario"] == "nightly_build"


def test_a_step_naming_the_configured_id_dss_does_not_know_is_not_in_sync() -> None:
    ctx = _ctx(nightly_build="NIGHTLYBUILD")
    written_before = {"type": "run_scenario", "params": {"scenarioId": "nightly_build"}}
    assert step_to_logical(written_before, ctx)["scenario"] == "DSS id nightly_build"


def _entry(address: str, dss_id: str) -> ResourceState:
    _type, project, name = address.split(".")
    return ResourceState(address, "scenario", project, name, dss_id, {"name": name}, None, [])


def test_state_mapping_reaches_the_project_contexts() -> None:
    state = StateDocument.new("dev")
    state.put(_entry("scenario.P.nightly_build", "NIGHTLYBUILD"))
    assert requested_ids_of(state) == {"P": {"scenario": {"nightly_build": "NIGHTLYBUILD"}}}
    assert contexts_from_state(state)["P"].scenario_id("nightly_build") == "NIGHTLYBUILD"


def test_an_interrupted_create_is_not_reconciled_onto_another_addresss_scenario() -> None:
    state = StateDocument.new("dev")
    state.put(_entry("scenario.P.a_b", "AB"))  # DSS derived AB from the name "A b"
    live = Observed("scenario", "P", "AB", "AB", {"name": "A b"})
    observation = Observation(projects={"P": ProjectObservation("P", True, objects={"scenario": [live]})})
    pending = [{"seq": 1, "kind": "intent", "action": "create", "address": "scenario.P.AB", "resource": _entry("scenario.P.AB", "AB").to_json()}]
    result, notes = adopt_pending(state, pending, observation)
    assert set(result.resources) == {"scenario.P.a_b"}
    assert notes == ["scenario.P.AB: the interrupted create did not reach DSS"]
