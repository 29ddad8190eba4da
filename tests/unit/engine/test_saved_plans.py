"""The one staleness rule of saved plans (engine/saved_plans.py), for every kind of run.

A saved `apply` (or destroy) plan and a saved `state rollback` plan are refused by the same rules,
in the same order, with the same message: only what the plan is called ("saved plan", "saved
rollback plan"), why its source changed and the command that makes a new one differ.
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import Any, Optional

import pytest
from dataiku_iac.engine.pipeline import ConfigGoal
from dataiku_iac.engine.rollback import RollbackGoal
from dataiku_iac.engine.saved_plans import REPLAY_OPERATION, check_saved_plan
from dataiku_iac.errors import StalePlanError
from dataiku_iac.model import DesiredState, Resource
from dataiku_iac.planner.plan import Action, Plan, ResourceChange
from dataiku_iac.state import StateDocument

LINEAGE = "11111111-1111-4111-8111-111111111111"
OTHER_LINEAGE = "22222222-2222-4222-8222-222222222222"
KINDS = {
    "apply": (ConfigGoal(), {"kind": "directory", "path": "cfg"}),
    "rollback": (RollbackGoal(1), {"kind": "rollback", "serial": 1}),
}
REMAKE = {
    "apply": "make a new plan with `dataiku-iac plan -e dev --out FILE` and apply that file",
    "rollback": "make a new one with `dataiku-iac state rollback 1 -e dev --out FILE`",
}
WHAT = {"apply": "saved plan", "rollback": "saved rollback plan"}
SOURCE_CHANGED = {
    "apply": "the configuration changed since it was made",
    "rollback": "the configuration recorded at serial 1 is not the one it was made from",
}


class _History:
    """A state reader's history: the operation that wrote each serial."""

    def __init__(self, operations: Optional[dict[int, str]] = None):
        self.operations = operations or {}

    def history_entry(self, serial: int) -> Any:
        return SimpleNamespace(operation=self.operations.get(serial, "apply"))


def _state(serial: int = 2) -> StateDocument:
    state = StateDocument.new("dev", lineage=LINEAGE)
    state.serial, state.fingerprint_key_stored = serial, True  # as read from a written state
    return state


def _secret_ref(fingerprint: str) -> dict:
    return {"variables": {"standard": {"token": {"secret_env": "TOKEN", "fingerprint": fingerprint}}}}


def _desired(digest: str = "cfg", fingerprint: str = "fp-1") -> DesiredState:
    desired = DesiredState(environment="dev", config_digest=digest)
    desired.add(Resource("project.P", "project", "P", "P", "P", _secret_ref(fingerprint)))
    return desired


def _plan(kind: str, state: StateDocument, **fields: Any) -> Plan:
    change = ResourceChange("project.P", "project", "P", "P", Action.UPDATE, "update", after=_secret_ref("fp-1"))
    plan = Plan(
        environment="dev", lineage=LINEAGE, serial=state.serial, config_digest="cfg", changes=(change,),
        source=KINDS[kind][1], fingerprint_key_id=state.fingerprint_key_id,
    )
    return replace(plan, **fields)


def _check(kind: str, saved: dict, state: StateDocument, history: Optional[_History] = None, **desired: str) -> Plan:
    goal = KINDS[kind][0]
    return check_saved_plan(
        saved, goal, environment="dev", state=state, reader=history or _History(), desired=_desired(**desired)  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_unchanged_saved_plan_is_applied_as_it_was_saved(kind: str) -> None:
    state = _state()
    plan = _plan(kind, state)
    assert _check(kind, plan.to_json(), state) == plan


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_modified_plan_file_is_refused_first(kind: str) -> None:
    state = _state()
    saved = _plan(kind, state, environment="prod").to_json()
    saved["resource_changes"] = []
    with pytest.raises(StalePlanError) as refused:
        _check(kind, saved, state)
    assert str(refused.value) == "the saved plan file was modified after it was written; make a new plan"


# Each case: (what changed since the plan was saved, the message with {what}, {remake}, {source_changed}).
STALE = {
    "environment": "the saved plan is for environment 'prod', not 'dev'",
    "lineage": "{what} does not match the state (different lineage); {remake}",
    "serial": "{what} is stale: it was made against state serial 1, the state is now at serial 2; {remake}",
    "reconciled": (
        "{what} is stale: it was made on top of an interrupted apply, which was reconciled differently since "
        "(DSS changed); {remake}"
    ),
    "source": "{what} is stale: {source_changed}; {remake}",
    "secret": (
        "{what} is stale: the value of secret variable(s) changed since it was made: project.P "
        "variables.standard.token (from $TOKEN); restore the previous values, or {remake}"
    ),
}


def _stale_case(case: str, kind: str) -> tuple[dict, StateDocument, dict]:
    """The saved plan, the state now, and what the run's desired model is now, for `case`."""
    state = _state()
    fields: dict[str, Any] = {
        "environment": {"environment": "prod"},
        "lineage": {"lineage": OTHER_LINEAGE},
        "serial": {"serial": 1},
        "reconciled": {"reconciled_digest": "not-what-was-reconciled"},
    }.get(case, {})
    desired = {"source": {"digest": "another"}, "secret": {"fingerprint": "fp-2"}}.get(case, {})
    return _plan(kind, state, **fields).to_json(), state, desired


@pytest.mark.parametrize("case", sorted(STALE))
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_apply_and_rollback_refuse_a_stale_plan_by_the_same_rule_and_message(kind: str, case: str) -> None:
    saved, state, desired = _stale_case(case, kind)
    with pytest.raises(StalePlanError) as refused:
        _check(kind, saved, state, **desired)
    expected = STALE[case].format(what=WHAT[kind], remake=REMAKE[kind], source_changed=SOURCE_CHANGED[kind])
    assert str(refused.value) == expected


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_plan_made_on_an_interrupted_apply_survives_its_fold_in(kind: str) -> None:
    """Only the serials that fold in the interrupted apply were written since, with the content the
    plan expected: the plan still holds. Another run's serial in between makes it stale."""
    state = _state(serial=3)
    saved = _plan(kind, state, serial=1, reconciled_digest=state.content_digest()).to_json()
    folded = _History({2: f"{REPLAY_OPERATION} of interrupted apply", 3: "reconcile interrupted apply"})
    assert _check(kind, saved, state, folded).serial == 1
    another_run = _History({2: f"{REPLAY_OPERATION} of interrupted apply", 3: "apply"})
    with pytest.raises(StalePlanError, match="made against state serial 1, the state is now at serial 3"):
        _check(kind, saved, state, another_run)


def test_a_rollback_plan_is_not_applied_by_apply() -> None:
    state = _state()
    with pytest.raises(StalePlanError) as refused:
        _check("apply", _plan("rollback", state).to_json(), state)
    assert str(refused.value) == (
        "the saved plan is a rollback plan to serial 1: apply it with `dataiku-iac state rollback 1 -e dev --plan FILE`"
    )


@pytest.mark.parametrize("source", [{"kind": "directory", "path": "cfg"}, {"kind": "rollback", "serial": 2}])
def test_a_rollback_applies_only_its_own_rollback_plans(source: dict) -> None:
    state = _state()
    with pytest.raises(StalePlanError) as refused:
        _check("rollback", _plan("rollback", state, source=source).to_json(), state)
    assert str(refused.value) == "the saved plan is not a rollback to serial 1"


def test_a_stale_destroy_plan_says_how_to_remake_a_destroy_plan() -> None:
    """A stale saved destroy plan is remade with `plan --destroy`, not a plain `plan` that would
    propose the configuration instead."""
    state = _state()
    saved = _plan("apply", state, serial=1).to_json()
    with pytest.raises(StalePlanError) as refused:
        check_saved_plan(
            saved, ConfigGoal(saved_destroy=True), environment="dev", state=state, reader=_History(),  # type: ignore[arg-type]
            desired=_desired(),
        )
    assert str(refused.value).endswith(
        "make a new plan with `dataiku-iac plan -e dev --destroy --out FILE` and apply that file"
    )
