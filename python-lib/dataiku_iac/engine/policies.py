"""Environment policies (`policies:` in iac.yml, overridden per key by the environment file).

- `require_saved_plan: true`: `apply`/`destroy` without a saved plan file are refused, so only a
  plan someone reviewed (`plan --out FILE`) reaches this environment.
- `allow_destroy: false`: a plan that deletes or replaces DSS objects is refused unless it was
  made with `--allow-destroy`. The override is recorded in the plan's options (and so in a saved
  plan and its digest): the reviewer sees it, and `apply FILE` needs no second flag. Forgetting
  (dropping from state an object already gone from DSS) is not a deletion.
- `drift: fail|alert|revert` (`warn`: alert's older name), and per resource `drift_resources`
  (address glob -> policy; the strictest match wins): what a drifted resource makes of the drift
  check. `fail`: it exits 2 (the drift scenario step fails); `alert`: it is reported, exit 0;
  `revert`: `drift --revert` and the drift step re-apply the configuration to undo it
  (engine/revert.py), refused when the plan would delete or replace more than
  `drift_revert_max_deletions` objects, or would also apply configuration changes (then it fails).
- `require_approval: govern`: only saved plans whose Dataiku Govern change request was approved,
  for exactly that plan digest, by someone other than its submitter, are applied
  (engine/govern.py; `none`, the default: no approval asked).

The engine enforces the first two and the last (the CLI and the DSS plugin call the same Session); the CLI
maps the third to an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from dataiku_iac import defaults
from dataiku_iac.engine.govern import EXIT_REFUSED, ApprovalError
from dataiku_iac.errors import UnsafeOperationError
from dataiku_iac.planner.plan import Action, Plan


@dataclass(frozen=True)
class Policies:
    require_saved_plan: bool
    allow_destroy: bool
    drift: str
    environment: str
    sources: dict  # policy name -> file that sets it ("environments/prod.yml", "iac.yml", "default")
    require_approval: str = "none"
    drift_resources: dict = field(default_factory=dict)  # address glob -> fail | alert | revert
    drift_revert_max_deletions: int = 0

    @property
    def requires_govern(self) -> bool:
        return self.require_approval == "govern"

    def where(self, name: str) -> str:
        """`policies.drift in environments/prod.yml`, or for a policy nobody sets, that its value
        is the tool's default (`sources` says "default", which is no file)."""
        source = self.sources.get(name, "the configuration")
        if source == "default":
            return f"policies.{name} (not set in iac.yml nor in the file of environment {self.environment!r}: the default)"
        return f"policies.{name} in {source}"


def policies_of(settings: Any, environment: str) -> Policies:
    """The effective policies of a LoadedConfig (iac.yml, then the environment file on top)."""
    env_data = settings.environment.data if settings.environment is not None else {}
    env_policies = env_data.get("policies") or {}
    iac_policies = (settings.settings or {}).get("policies") or {}
    sources = {}
    for name in defaults.POLICIES:
        if name in env_policies:
            sources[name] = settings.environment.file
        elif name in iac_policies and _written_in_iac(settings, name):
            sources[name] = "iac.yml"
        else:
            sources[name] = "default"
    merged = {**defaults.POLICIES, **iac_policies, **env_policies}
    return Policies(
        require_saved_plan=bool(merged["require_saved_plan"]),
        allow_destroy=bool(merged["allow_destroy"]),
        drift=str(merged["drift"]),
        environment=environment,
        sources=sources,
        require_approval=str(merged["require_approval"]),
        drift_resources=dict(merged["drift_resources"] or {}),
        drift_revert_max_deletions=int(merged["drift_revert_max_deletions"]),
    )


def _written_in_iac(settings: Any, name: str) -> bool:
    """Whether iac.yml itself sets `policies.<name>` (its loaded settings also hold the defaults)."""
    marks = getattr(settings, "settings_marks", None)
    return marks is None or ("policies", name) in marks


def check_unsaved_apply(policies: Policies, *, destroy: bool) -> None:
    """`require_saved_plan`: refuse an apply/destroy that plans on the spot."""
    if not policies.require_saved_plan:
        return
    env = policies.environment
    flags = " --destroy" if destroy else ""
    raise UnsafeOperationError(
        f"environment {env!r} only applies saved plans ({policies.where('require_saved_plan')}): run "
        f"`dataiku-iac plan -e {env}{flags} --out {env}.plan`, have it reviewed, then "
        f"`dataiku-iac apply -e {env} {env}.plan`"
    )


def check_approvable(policies: Policies) -> None:
    """`require_approval: govern`: refuse a run that plans on the spot (only a saved plan has a
    digest that a Govern change request can approve)."""
    if not policies.requires_govern:
        return
    env = policies.environment
    raise ApprovalError(
        f"environment {env!r} applies only plans approved in Dataiku Govern ({policies.where('require_approval')}): "
        f"run `dataiku-iac plan -e {env} --out {env}.plan`, `dataiku-iac govern submit {env}.plan`, have it "
        f"approved by someone else, then `dataiku-iac apply -e {env} {env}.plan`",
        EXIT_REFUSED,
    )


def deletions(plan: Plan) -> list:
    return [c for c in plan.changes if c.action in (Action.DELETE, Action.REPLACE)]


def check_plan(plan: Plan, policies: Policies) -> None:
    """`allow_destroy: false`: refuse a plan that deletes or replaces DSS objects, unless it
    was made with --allow-destroy."""
    removed = deletions(plan)
    if policies.allow_destroy or not removed or plan.options.allow_destroy:
        return
    listed = ", ".join(
        f"{c.address} ({'replaced' if c.action == Action.REPLACE else 'deleted'})" for c in removed[:10]
    ) + (" …" if len(removed) > 10 else "")
    raise UnsafeOperationError(
        f"environment {policies.environment!r} does not allow deletions ({policies.where('allow_destroy')}), "
        f"and this plan would delete or replace {len(removed)} DSS object(s): {listed}. If that is intended, "
        f"plan again with --allow-destroy (it is recorded in the plan for the reviewer)"
    )


DRIFT_STRICTNESS = ("fail", "revert", "alert")  # where several patterns match, the first of these wins


def drift_policy(policies: Policies, address: str) -> str:
    """`fail`, `alert` or `revert` for a drifted resource: the strictest `drift_resources` pattern
    matching its address, else the environment's `drift` (`warn` read as `alert`)."""
    matched = {policy for glob, policy in policies.drift_resources.items() if fnmatchcase(address, glob)}
    found = next((p for p in DRIFT_STRICTNESS if p in matched), None)
    if found is not None:
        return found
    return "alert" if policies.drift in ("warn", "alert") else policies.drift


def drift_exit_code(policies: Policies, has_drift: bool, *, changes_code: int = 2) -> int:
    return changes_code if has_drift and policies.drift == "fail" else 0
