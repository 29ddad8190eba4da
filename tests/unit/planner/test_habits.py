"""Terraform's planning habits (issue 15 §7): `--exclude` (1.12's `-exclude`), `--replace`
(`-replace`) and `--refresh-only`, planned by the pure planner over the golden cases."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from dataiku_iac.engine.drift import detect_drift
from dataiku_iac.engine.refresh import refreshed_state
from dataiku_iac.errors import PlanError, UnsafeOperationError
from dataiku_iac.output.text import render_apply_summary, render_plan
from dataiku_iac.planner.plan import Action, Plan, PlanOptions
from dataiku_iac.planner.planner import plan, split_reverts

from .golden_support import load_case

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
KEY = "DEMO_PROJECT"
DATASET = f"dataset.{KEY}.TEST_DATA"
PROJECT = f"project.{KEY}"


def _actions(planned: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in planned.changes}


# -- --exclude ---------------------------------------------------------------------------------
def test_exclude_leaves_out_the_resource_and_what_depends_on_it() -> None:
    desired, state, observed = load_case(GOLDEN / "full_project_create")
    everything = _actions(plan(desired, state, observed))
    planned = plan(desired, state, observed, PlanOptions(excludes=(f"dataset.{KEY}.orders_clean",)))
    left_out = set(everything) - set(_actions(planned))
    # orders_clean, the recipe writing it, the recipe reading it, the scenario building it
    assert left_out == {
        f"dataset.{KEY}.orders_clean", f"recipe.{KEY}.clean_orders", f"recipe.{KEY}.train", f"scenario.{KEY}.NIGHTLY",
    }
    # what the excluded depend on stays (unlike a destroy): the project, the raw dataset, the folder
    assert {PROJECT, f"dataset.{KEY}.orders_raw", f"managed_folder.{KEY}.models"} <= set(_actions(planned))


def test_exclude_is_recorded_in_the_plan_and_read_back() -> None:
    desired, state, observed = load_case(GOLDEN / "full_project_create")
    planned = plan(desired, state, observed, PlanOptions(excludes=(f"scenario.{KEY}.NIGHTLY",)))
    body = planned.to_json()
    assert body["options"]["excludes"] == [f"scenario.{KEY}.NIGHTLY"]
    assert Plan.from_json(body).options.excludes == (f"scenario.{KEY}.NIGHTLY",)
    assert "excludes" not in plan(desired, state, observed).to_json()["options"]  # other plans keep their shape


def test_exclude_of_a_project_leaves_out_everything_in_it() -> None:
    desired, state, observed = load_case(GOLDEN / "full_project_create")
    assert plan(desired, state, observed, PlanOptions(excludes=(PROJECT,))).changes == ()


def test_exclude_on_destroy_keeps_what_the_excluded_depends_on() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    planned = plan(desired, state, observed, PlanOptions(destroy=True, excludes=(DATASET,)))
    # deleting the project would delete the dataset with it: it is kept too
    assert planned.actionable() == []


def test_exclude_on_destroy_still_deletes_what_depends_on_the_excluded() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    planned = plan(desired, state, observed, PlanOptions(destroy=True, excludes=(PROJECT,)))
    assert planned.actionable() == []  # everything in the project depends on it
    planned = plan(desired, state, observed, PlanOptions(destroy=True))
    assert _actions(planned) == {PROJECT: "delete", DATASET: "delete"}


def test_exclude_leaves_a_delete_of_a_dependent_out() -> None:
    desired, state, observed = load_case(GOLDEN / "dataset_removed_from_config")
    removed = [c.address for c in plan(desired, state, observed).changes if c.action == Action.DELETE]
    assert removed, "the case deletes a dataset"
    planned = plan(desired, state, observed, PlanOptions(excludes=(PROJECT,)))
    assert planned.actionable() == []


def test_target_and_exclude_cannot_go_together() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    with pytest.raises(PlanError, match="--target and --exclude cannot be used together"):
        plan(desired, state, observed, PlanOptions(targets=(DATASET,), excludes=(PROJECT,)))


# -- --replace ---------------------------------------------------------------------------------
def test_replace_recreates_an_object_in_sync() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    assert plan(desired, state, observed).actionable() == []
    planned = plan(desired, state, observed, PlanOptions(replace=(DATASET,)))
    change = next(c for c in planned.changes if c.address == DATASET)
    assert change.action == Action.REPLACE
    assert change.reason == "replacement requested with --replace"
    assert change.after == desired.resources[DATASET].attributes
    assert planned.summary() == {"add": 1, "change": 0, "destroy": 1, "forget": 0}
    body = planned.to_json()
    assert body["options"]["replace"] == [DATASET]
    assert next(c for c in body["resource_changes"] if c["address"] == DATASET)["change"]["actions"] == ["delete", "create"]
    assert Plan.from_json(body).options.replace == (DATASET,)
    assert f"# {DATASET} must be replaced" in render_plan(planned)


def test_replace_of_an_updated_object_keeps_its_field_changes() -> None:
    desired, state, observed = load_case(GOLDEN / "dataset_format_changed")
    planned = plan(desired, state, observed, PlanOptions(replace=(DATASET,)))
    change = next(c for c in planned.changes if c.address == DATASET)
    assert change.action == Action.REPLACE
    assert [f.name for f in change.field_changes] == ["format"]


def test_replace_is_refused_for_a_protected_resource() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    state.resources[DATASET].protect = True
    with pytest.raises(UnsafeOperationError, match=f"{DATASET} is protected and would be replaced"):
        plan(desired, state, observed, PlanOptions(replace=(DATASET,)))


def test_replace_of_a_project_is_refused() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    with pytest.raises(PlanError, match="replacing a project would delete every object in it"):
        plan(desired, state, observed, PlanOptions(replace=(PROJECT,)))


def test_replace_of_an_undeclared_or_excluded_resource_is_refused() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    with pytest.raises(PlanError, match="not in the configuration"):
        plan(desired, state, observed, PlanOptions(replace=(f"dataset.{KEY}.NOPE",)))
    with pytest.raises(PlanError, match="left out by --target/--exclude"):
        plan(desired, state, observed, PlanOptions(replace=(DATASET,), excludes=(DATASET,)))


def test_replace_of_an_object_absent_from_dss_creates_it_with_a_note() -> None:
    desired, state, observed = load_case(GOLDEN / "dataset_deleted_outside")
    planned = plan(desired, state, observed, PlanOptions(replace=(DATASET,)))
    assert _actions(planned)[DATASET] == "create"
    assert any("it is not in DSS, so it is created" in w for w in planned.warnings)


def test_replace_is_not_a_destroy_or_refresh_option() -> None:
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    with pytest.raises(PlanError, match="--replace is not a destroy option"):
        plan(desired, state, observed, PlanOptions(destroy=True, replace=(DATASET,)))
    with pytest.raises(PlanError, match="--refresh-only changes nothing in DSS"):
        plan(desired, state, observed, PlanOptions(refresh_only=True, replace=(DATASET,)))


# -- --refresh-only -------------------------------------------------------------------------
def _drifted_format():
    """demo_in_sync, with the dataset's format changed in DSS (parquet -> csv) behind the tool's back."""
    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    live = observed.find("dataset", KEY, name="TEST_DATA")
    assert live is not None
    live.attributes["format"] = "csv"
    return desired, state, observed


def test_refresh_only_records_what_changed_in_dss_and_plans_no_dss_change() -> None:
    desired, state, observed = _drifted_format()
    assert _actions(plan(desired, state, observed))[DATASET] == "update"  # a normal plan reverts it
    planned = plan(desired, state, observed, PlanOptions(refresh_only=True))
    change = next(c for c in planned.changes if c.address == DATASET)
    assert change.action == Action.REFRESH
    assert [(f.name, f.before, f.after) for f in change.field_changes] == [("format", "parquet", "csv")]
    assert change.after == {**state.resources[DATASET].attributes, "format": "csv"}
    assert {c.action for c in planned.changes} == {Action.REFRESH, Action.NOOP}
    assert planned.summary() == {"add": 0, "change": 0, "destroy": 0, "forget": 0, "refresh": 1}
    body = planned.to_json()
    assert body["options"]["refresh_only"] is True
    assert next(c for c in body["resource_changes"] if c["address"] == DATASET)["change"]["actions"] == ["no-op"]
    text = render_plan(planned)
    assert "This is a refresh-only plan" in text
    assert "Refresh: 1 to record, 0 to forget (state only; DSS is not changed)." in text


def test_after_a_refresh_the_state_holds_dss_values_so_nothing_is_drift() -> None:
    desired, state, observed = _drifted_format()
    assert detect_drift(state, observed).has_drift
    refreshed = refreshed_state(plan(desired, state, observed, PlanOptions(refresh_only=True)), state)
    assert refreshed.resources[DATASET].attributes["format"] == "csv"
    assert not detect_drift(refreshed, observed).has_drift
    assert plan(desired, refreshed, observed, PlanOptions(refresh_only=True)).actionable() == []
    # The configuration still says parquet: a plan proposes it, as a change of the configuration
    # now (the state says DSS has csv), no longer as a revert of drift.
    config, reverts = split_reverts(plan(desired, refreshed, observed), refreshed)
    assert (config["change"], reverts["change"]) == (1, 0)
    before = split_reverts(plan(desired, state, observed), state)
    assert (before[0]["change"], before[1]["change"]) == (0, 1)


def test_refresh_only_forgets_what_dss_no_longer_has() -> None:
    desired, state, observed = load_case(GOLDEN / "dataset_deleted_outside")
    planned = plan(desired, state, observed, PlanOptions(refresh_only=True))
    change = next(c for c in planned.changes if c.address == DATASET)
    assert change.action == Action.FORGET
    assert "deleted outside dataiku-iac" in change.reason
    refreshed = refreshed_state(planned, state)
    assert DATASET not in refreshed.resources
    assert _actions(plan(desired, refreshed, observed))[DATASET] == "create"


def test_refresh_only_ignores_the_configuration_but_its_ignore_changes() -> None:
    desired, state, observed = load_case(GOLDEN / "dataset_format_changed")  # the config changed, not DSS
    assert _actions(plan(desired, state, observed))[DATASET] == "update"
    assert plan(desired, state, observed, PlanOptions(refresh_only=True)).actionable() == []
    desired, state, observed = _drifted_format()
    desired.resources[DATASET] = dataclasses.replace(desired.resources[DATASET], ignore_changes=("format",))
    assert plan(desired, state, observed, PlanOptions(refresh_only=True)).actionable() == []


def test_refresh_only_with_targets_scopes_the_records() -> None:
    desired, state, observed = _drifted_format()
    observed.project(KEY).project.attributes["name"] = "Renamed in DSS"
    planned = plan(desired, state, observed, PlanOptions(refresh_only=True, targets=(PROJECT,)))
    assert _actions(planned) == {PROJECT: "refresh"}
    planned = plan(desired, state, observed, PlanOptions(refresh_only=True, excludes=(DATASET,)))
    assert _actions(planned) == {PROJECT: "refresh"}


def test_the_apply_summary_of_a_refresh() -> None:
    desired, state, observed = _drifted_format()
    planned = plan(desired, state, observed, PlanOptions(refresh_only=True))

    class Applied:
        done = [DATASET]
        failed: dict = {}
        skipped: list = []
        stopped = False
        ok = True

    assert "Refresh complete! The state records DSS's values: 1 recorded, 0 forgotten" in render_apply_summary(Applied(), planned)


def test_refreshed_state_refuses_a_plan_that_changes_dss() -> None:
    desired, state, observed = _drifted_format()
    with pytest.raises(PlanError, match="not a refresh-only plan"):
        refreshed_state(plan(desired, state, observed), state)


def test_a_replacement_is_a_deletion_for_allow_destroy_false() -> None:
    from dataiku_iac.engine.policies import Policies, check_plan

    desired, state, observed = load_case(GOLDEN / "demo_in_sync")
    strict = Policies(require_saved_plan=False, allow_destroy=False, drift="fail", environment="prod", sources={})
    with pytest.raises(UnsafeOperationError, match=rf"would delete or replace 1 DSS object\(s\): {DATASET} \(replaced\)"):
        check_plan(plan(desired, state, observed, PlanOptions(replace=(DATASET,))), strict)
    check_plan(plan(desired, state, observed, PlanOptions(replace=(DATASET,), allow_destroy=True)), strict)
    desired, state, observed = load_case(GOLDEN / "dataset_deleted_outside")
    check_plan(plan(desired, state, observed, PlanOptions(refresh_only=True)), strict)  # a forget is no deletion


def test_the_executor_never_runs_a_refresh_only_plan() -> None:
    from dataiku_iac.engine.executor import Executor
    from dataiku_iac.errors import IacError

    desired, state, observed = _drifted_format()
    refresh = plan(desired, state, observed, PlanOptions(refresh_only=True))
    with pytest.raises(IacError, match="a refresh-only plan changes nothing in DSS"):
        Executor(None, None, desired, {}).apply(refresh, state)  # type: ignore[arg-type]
