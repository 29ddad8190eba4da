"""Reverting drift: the drift policy `revert` (engine/policies.py), from `drift --revert` and the
plugin's drift scenario step.

A revert is an apply of the configuration through the one pipeline (engine/pipeline.py: the
state lock, an interrupted apply folded in, the journal, one new serial named "revert drift"),
targeted at the drifted resources whose policy is `revert`. It only ever puts back what the last
apply recorded: under the lock, its plan is checked to hold nothing but reverts of drift
(planner.reverts_drift: the configuration asks for the values the state recorded, so DSS
changed, not the configuration); a configuration change not yet applied (which nobody reviewed
for this run) refuses the whole revert. So does a plan deleting or replacing more objects than
`policies.drift_revert_max_deletions` (default 0: a drifted attribute that forces a replacement
is never re-created unattended), the environment's `allow_destroy: false`, and
`require_approval: govern` (only approved saved plans are applied there). A refused revert
changes nothing; the drift is then reported and fails the check.

`require_saved_plan` does not stop a revert: what it writes is what a reviewed plan wrote before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from dataiku_iac.engine.drift import DriftReport
from dataiku_iac.engine.pipeline import ConfigGoal, Pipeline, PlanResult
from dataiku_iac.engine.policies import Policies
from dataiku_iac.errors import ConfigError, IacError
from dataiku_iac.planner.plan import Action, Plan, PlanOptions
from dataiku_iac.planner.planner import reverts_drift

REVERT_OPERATION = "revert drift"


class RevertRefused(IacError):
    """The revert would do more than undo the drift, or more than the policy allows."""


@dataclass
class RevertGoal(ConfigGoal):
    """The configuration, for the drifted resources only, and nothing but reverts."""

    lock_label = REVERT_OPERATION

    @property
    def state_operation(self) -> Optional[str]:
        return REVERT_OPERATION

    def refuse_unsaved(self, policies: Policies) -> None:
        return None  # checked instead: the plan only puts back what the state recorded (check_revert_only)


def check_revert_only(plan: Plan, state: Any, policies: Policies) -> None:
    """RevertRefused unless every change of `plan` reverts drift and it deletes or replaces at
    most `drift_revert_max_deletions` objects."""
    actionable = plan.actionable()
    other = [c.address for c in actionable if not reverts_drift(c, state.resources.get(c.address))]
    if other:
        raise RevertRefused(
            f"the revert would also apply configuration changes not yet applied ({', '.join(sorted(other)[:10])}"
            f"{' …' if len(other) > 10 else ''}): review them with `dataiku-iac plan -e {policies.environment}` "
            f"and apply them first"
        )
    removed = [c.address for c in actionable if c.action in (Action.DELETE, Action.REPLACE)]
    limit = policies.drift_revert_max_deletions
    if len(removed) > limit:
        raise RevertRefused(
            f"the revert would delete or replace {len(removed)} DSS object(s) ({', '.join(sorted(removed)[:10])}), "
            f"more than {policies.where('drift_revert_max_deletions')} allows ({limit}): revert by hand with "
            f"`dataiku-iac plan -e {policies.environment}` and `apply`"
        )


def revert_drift(session: Any, report: DriftReport, *, operation: str = REVERT_OPERATION) -> DriftReport:
    """Revert the drift of `report` whose policy is `revert` (DriftReport.to_revert); records in
    the report what was reverted, or why the revert was refused or failed. Never raises for a
    refusal (the drift check reports it); a configuration error still raises."""
    targets = tuple(sorted({i.address for i in report.to_revert}))
    if not targets:
        return report
    missing = session.desired.unresolved_secrets
    if missing:  # the drift check loads the configuration without requiring them
        report.revert_refused = (f"secret values are not set here ({'; '.join(d.message for d in missing[:3])}): "
                                 f"a revert would not write them")
        return report
    policies = session.policies
    planned: dict[str, PlanResult] = {}

    def confirm(plan: Plan) -> bool:
        check_revert_only(plan, planned["result"].state, policies)
        return True

    try:
        _result, applied = Pipeline(session).apply(
            RevertGoal(PlanOptions(targets=targets)), confirm=confirm,
            on_plan=lambda result: planned.__setitem__("result", result), operation=operation,
        )
    except ConfigError:
        raise
    except IacError as exc:  # refused: RevertRefused, allow_destroy, govern, a held lock, DSS errors
        report.revert_refused = str(exc)
        return report
    if applied is None:  # nothing left to revert (undone meanwhile)
        report.reverted = list(targets)
        return report
    report.reverted = [a for a in targets if a in applied.done]
    if not applied.ok:
        failed = "; ".join(f"{a}: {why}" for a, why in sorted(applied.failed.items())) or "stopped"
        report.revert_refused = f"the revert did not complete ({failed})"
    elif report.reverts and "result" in planned:
        report.reverts = _left_to_revert(report.reverts, planned["result"].plan.summary())
    return report


def _left_to_revert(reverts: dict[str, int], done: dict[str, int]) -> dict[str, int]:
    """What an apply would still revert once the revert `done` counts is applied (the report's
    counts were taken before it: they must not announce, as still to do, what was just reverted)."""
    return {kind: max(0, count - done.get(kind, 0)) for kind, count in reverts.items()}
