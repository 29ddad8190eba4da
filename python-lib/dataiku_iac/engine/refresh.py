"""Applying a refresh-only plan (`plan --refresh-only`, `apply --refresh-only`): the state takes
DSS's values for the objects it records, and DSS is not touched (Terraform's `-refresh-only`).

The plan says what the state will record (planner.refresh_changes): a REFRESH change carries the
whole new record of an object, a FORGET the removal of an object DSS no longer has. Writing them
is one new serial through the state writer, under the lock the pipeline holds; no DSS call, so no
journal is needed (the write is atomic: all of it or nothing).
"""

from __future__ import annotations

from dataclasses import replace

from dataiku_iac.engine.executor import ApplyResult
from dataiku_iac.engine.observe import IN_SYNC
from dataiku_iac.errors import PlanError
from dataiku_iac.planner.plan import REDACTED, Action, Plan
from dataiku_iac.state import StateDocument, StateWriter

REFRESH_OPERATION = "refresh-only"  # the operation of the serial it writes (`state history`)


def refreshed_state(plan: Plan, state: StateDocument) -> StateDocument:
    """`state` with the refresh-only `plan`'s records: pure."""
    if not plan.options.refresh_only:
        raise PlanError("not a refresh-only plan: it changes DSS, the executor applies it")
    doc = state.copy()
    for change in plan.actionable():
        if change.action == Action.FORGET:
            doc.resources.pop(change.address, None)
        elif change.action == Action.REFRESH:
            entry = doc.resources.get(change.address)
            if entry is None:  # the state was checked as the plan's (serial); never expected
                raise PlanError(f"{change.address}: the refresh-only plan records an object the state does not hold")
            hidden = [name for name in change.sensitive_fields if (change.after or {}).get(name) == REDACTED]
            if hidden:  # a saved plan shows a sensitive value, never holds it: nothing true to record
                raise PlanError(f"{change.address}: the saved refresh-only plan hides the sensitive value(s) of "
                                f"{', '.join(hidden)}: apply --refresh-only without a saved plan")
            # DSS's values, no longer what an apply verified at a version: observed again next time
            tag = {k: v for k, v in entry.version_tag.items() if k != IN_SYNC} if entry.version_tag else entry.version_tag
            doc.resources[change.address] = replace(entry, attributes=dict(change.after or {}), version_tag=tag)
        else:
            raise PlanError(f"{change.address}: a refresh-only plan cannot {change.action.value} (it changes nothing in DSS)")
    return doc


def apply_refresh(plan: Plan, state: StateDocument, writer: StateWriter) -> ApplyResult:
    """Write the refresh-only `plan` on `state` (as locked) as one new serial."""
    doc = refreshed_state(plan, state)
    written = writer.write(doc, expected_serial=state.serial, operation=REFRESH_OPERATION)
    return ApplyResult(state=written, done=[c.address for c in plan.actionable()])
