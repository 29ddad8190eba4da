"""The one staleness rule of saved plans, whatever run made them (apply, destroy, rollback).

A saved plan is applied exactly as it was reviewed, or refused. It is refused, in this order, when:

1. its file was modified after it was written (its digest: it catches edits and damage, it
   is no signature);
2. it is not a plan of the run it is given to: a rollback plan given to `apply`, a plan of the
   configuration or of another serial given to `state rollback SERIAL` (`PlanKind.foreign`);
3. it is for another environment;
4. the state is another lineage (when a state had been written both then and now);
5. the state moved since: another serial, unless all that was written since folds in the
   interrupted apply the plan was made on top of, with exactly the content the plan expected
   (`Plan.reconciled_digest`);
6. what it was planned from changed: the configuration's digest for apply and destroy, the
   configuration recorded at the serial for a rollback (`DesiredState.config_digest` of the run);
7. a secret it writes or keeps changed value: its fingerprint under the state's key differs
   (secrets.py; names the variables, never a value).

Each message says what to run to make a new plan (`PlanKind.remake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Protocol

from dataiku_iac.errors import StalePlanError
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.plan import Plan, digest_of
from dataiku_iac.secrets import stale_secrets
from dataiku_iac.state import StateDocument, StateReader

# The operations of the serials an apply writes before planning, to fold in an interrupted
# apply: writing them does not make a plan made on top of that apply stale (rule 5).
REPLAY_OPERATION = "replay journal"
RECONCILE_OPERATION = "reconcile interrupted apply"


class PlanKind(Protocol):
    """What a run says about the saved plans it applies."""

    @property
    def what(self) -> str:
        """How its saved plans are called in messages: "saved plan", "saved rollback plan"."""
        ...

    @property
    def source_changed(self) -> str:
        """Why rule 6 refused one: "the configuration changed since it was made"."""
        ...

    def remake(self, environment: str) -> str:
        """The command that makes a new plan, as the end of a message."""
        ...

    def foreign(self, plan: Plan, environment: str) -> Optional[str]:
        """Why `plan` is not a plan this run applies (rule 2), or None."""
        ...


@dataclass(frozen=True)
class _Check:
    plan: Plan
    kind: PlanKind
    environment: str
    state: StateDocument
    reader: StateReader
    desired: DesiredState  # the run's, keyed under the state's key

    @property
    def remake(self) -> str:
        return self.kind.remake(self.environment)


def check_saved_plan(
    saved: dict, kind: PlanKind, *, environment: str, state: StateDocument, reader: StateReader, desired: DesiredState
) -> Plan:
    """The saved plan `saved` (its JSON) if it may be applied on `state` now; StalePlanError otherwise."""
    check_unmodified(saved)
    check = _Check(Plan.from_json(saved), kind, environment, state, reader, desired)
    for rule in RULES:
        reason = rule(check)
        if reason is not None:
            raise StalePlanError(reason)
    return check.plan


def check_unmodified(saved: dict, what: str = "the saved plan file") -> None:
    """Rule 1 alone, which needs neither DSS nor the state (`show`, `comment`): StalePlanError when
    the file's content no longer matches its digest."""
    if saved.get("digest") != digest_of(saved):
        raise StalePlanError(f"{what} was modified after it was written; make a new plan")


def _other_kind(check: _Check) -> Optional[str]:
    return check.kind.foreign(check.plan, check.environment)


def _other_environment(check: _Check) -> Optional[str]:
    if check.plan.environment == check.environment:
        return None
    return f"the saved plan is for environment {check.plan.environment!r}, not {check.environment!r}"


def _other_lineage(check: _Check) -> Optional[str]:
    # A plan made before any state was written (serial 0) binds to no lineage yet: if a state
    # appeared since, the plan is stale (the serial moved), not of another lineage.
    plan, state = check.plan, check.state
    if plan.lineage == state.lineage or state.serial == 0 or plan.serial == 0:
        return None
    return f"{check.kind.what} does not match the state (different lineage); {check.remake}"


def _state_moved(check: _Check) -> Optional[str]:
    plan, state = check.plan, check.state
    if plan.serial == state.serial and plan.reconciled_digest in (None, state.content_digest()):
        return None
    if plan.serial != state.serial and _reconciled_as_planned(plan, state, check.reader):
        return None
    if plan.serial == state.serial:
        return (f"{check.kind.what} is stale: it was made on top of an interrupted apply, which was reconciled "
                f"differently since (DSS changed); {check.remake}")
    return (f"{check.kind.what} is stale: it was made against state serial {plan.serial}, "
            f"the state is now at serial {state.serial}; {check.remake}")


def _reconciled_as_planned(plan: Plan, state: StateDocument, reader: StateReader) -> bool:
    """Whether every serial written since the plan only folded in the interrupted apply it was
    made on top of, and the state now holds exactly what the plan expected."""
    if plan.reconciled_digest is None or plan.lineage != state.lineage or not plan.serial < state.serial:
        return False
    for serial in range(plan.serial + 1, state.serial + 1):
        operation = reader.history_entry(serial).operation or ""
        if not (operation.startswith(f"{REPLAY_OPERATION} of interrupted ") or operation == RECONCILE_OPERATION):
            return False  # another run wrote the state meanwhile
    return state.content_digest() == plan.reconciled_digest


def _source_changed(check: _Check) -> Optional[str]:
    if check.plan.config_digest == check.desired.config_digest:
        return None
    return f"{check.kind.what} is stale: {check.kind.source_changed}; {check.remake}"


def _secrets_changed(check: _Check) -> Optional[str]:
    changed = stale_secrets(check.plan, check.desired, check.state.fingerprint_key_id)
    if not changed:
        return None
    return (f"{check.kind.what} is stale: the value of secret variable(s) changed since it was made: "
            + ", ".join(changed) + f"; restore the previous values, or {check.remake}")


RULES: tuple[Callable[[_Check], Optional[str]], ...] = (
    _other_kind, _other_environment, _other_lineage, _state_moved, _source_changed, _secrets_changed,
)
