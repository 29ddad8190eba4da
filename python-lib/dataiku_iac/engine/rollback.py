"""Rollback: make DSS match the configuration recorded at an earlier state serial.

Each state serial records, per resource, the *logical attributes* last applied (the canonical
form of the YAML, after remapping). So a serial is a complete desired configuration: this
module turns it back into a `DesiredState` and plans against the *current* state and live DSS,
exactly like `apply` does for the YAML:

- resources of the old serial are created or updated back to their recorded attributes;
- resources owned now but absent at that serial are deleted, under every safety check
  (protection markers, unmanaged objects, `--drop-data`, the `allow_destroy` policy);
- secret variables recorded as `{secret_env, fingerprint}` read their value from the process
  environment (or the DSS-side secret source), as a normal plan does, and are fingerprinted anew
  under the state's key; a saved rollback plan is stale when one of them changed value.

Data is never rolled back: a dataset re-created by a rollback is empty, and rows written since
are kept. A rollback is a goal of the apply pipeline (`RollbackGoal`, engine/pipeline.py): it is
planned, checked, confirmed and applied exactly like `apply`. Its plan is bound to the state
serial it was computed from and to a digest of the rolled-back configuration (its
`config_digest`), so a saved rollback plan (`--out`) applies exactly or is refused as stale
under the same rule as a saved `apply` plan (engine/saved_plans.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional

from dataiku_iac.address import Address
from dataiku_iac.engine.executor import ApplyResult, EventSink
from dataiku_iac.engine.pipeline import Pipeline, PipelineSession, PlanResult
from dataiku_iac.engine.policies import Policies
from dataiku_iac.errors import ConfigError, Diagnostic, StateConflictError, UnsafeOperationError
from dataiku_iac.model import DesiredState, Resource, SourceRef
from dataiku_iac.planner.plan import Plan, PlanOptions
from dataiku_iac.secrets import SecretsLike, SecretSource, secret_source
from dataiku_iac.state import StateDocument, StateReader

DATA_NOTE = (
    "Data is not rolled back: datasets and folders keep their current contents; objects re-created "
    "by the rollback start empty; deleted ones keep their data unless --drop-data."
)


@dataclass
class RollbackTarget:
    serial: int
    snapshot: StateDocument
    desired: DesiredState


def desired_from_snapshot(
    snapshot: StateDocument, serial: int, *, current: Optional[DesiredState], secrets: SecretsLike
) -> DesiredState:
    """The configuration recorded at `serial`, as a DesiredState the planner can use."""
    desired = DesiredState(environment=snapshot.environment)
    problems: list[Diagnostic] = []
    for address, entry in sorted(snapshot.resources.items()):
        declared = current.get(address) if current is not None else None
        source = declared.source if declared is not None else SourceRef(f"state serial {serial}")
        attributes = copy.deepcopy(entry.attributes)
        values = _recorded_secrets(address, attributes, secret_source(secrets), problems, source)
        desired.add(
            Resource(
                address=address,
                type=entry.type,
                config_project=Address.parse(address).project,
                project_key=entry.project_key,
                name=entry.name,
                attributes=attributes,
                depends_on=tuple(sorted(entry.depends_on)),
                protect=entry.protect,
                source=source,
                secrets=values,
            )
        )
    if problems:
        raise ConfigError(problems)
    desired.config_digest = rollback_digest(desired, snapshot, serial)
    return desired


def _recorded_secrets(address: str, attributes: dict, secrets: SecretSource, problems: list, source: SourceRef) -> dict:
    """Secret variables were recorded as {secret_env, fingerprint}: take the value from the
    session's secret source (as a plan does). The recorded fingerprint is dropped: the value
    written is fingerprinted once the state's key is known (Session.keyed), like a configuration's."""
    found: dict[str, str] = {}
    for section, values in (attributes.get("variables") or {}).items():
        for name, value in (values or {}).items():
            if not (isinstance(value, dict) and "secret_env" in value):
                continue
            secret = secrets.get(value["secret_env"])
            if secret is None:
                problems.append(
                    Diagnostic(source.file, source.line, source.column, address,
                               f"secret variable {name!r} reads {secrets.missing(value['secret_env'])}")
                )
                continue
            found[f"variables.{section}.{name}"] = secret
            values[name] = {"secret_env": value["secret_env"]}
    return found


def rollback_digest(desired: DesiredState, snapshot: StateDocument, serial: int) -> str:
    """What a saved rollback plan is bound to, like a config digest for a normal plan."""
    body = {
        "rollback_of": {"lineage": snapshot.lineage, "serial": serial},
        "resources": {a: [r.project_key, r.name, r.attributes, list(r.depends_on)] for a, r in sorted(desired.resources.items())},
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def rollback_source(serial: int, snapshot: StateDocument) -> dict:
    return {"kind": "rollback", "serial": serial, "written_at": snapshot.written_at, "operation": snapshot.operation}


def load_target(session: PipelineSession, reader: StateReader, serial: int, current_lineage: str) -> RollbackTarget:
    snapshot = reader.read_serial(serial)
    if snapshot.lineage != current_lineage:
        raise StateConflictError(
            f"history serial {serial} has lineage {snapshot.lineage}, the current state {current_lineage}: "
            f"it is another state's history"
        )
    current = _current_desired(session)
    desired = desired_from_snapshot(snapshot, serial, current=current, secrets=session.secrets)
    return RollbackTarget(serial, snapshot, desired)


def _current_desired(session: PipelineSession) -> Optional[DesiredState]:
    """The current configuration, only to locate resources in messages: a rollback must work
    even when today's YAML does not load (that may be why one rolls back)."""
    try:
        return session.desired
    except ConfigError:
        return None


@dataclass
class RollbackGoal:
    """DSS as the configuration recorded at state `serial` (engine/pipeline.Goal)."""

    serial: int
    options: PlanOptions = field(default_factory=PlanOptions)
    reads_config = False  # today's YAML need not load: that may be why one rolls back
    what = "saved rollback plan"
    _target: Optional[RollbackTarget] = field(default=None, init=False, repr=False)  # loaded by `desired`

    @property
    def lock_label(self) -> str:
        return f"rollback to serial {self.serial}"

    @property
    def state_operation(self) -> str:
        return f"rollback to serial {self.serial}"

    @property
    def source_changed(self) -> str:
        return f"the configuration recorded at serial {self.serial} is not the one it was made from"

    def refuse_unsaved(self, policies: Policies) -> None:
        if not policies.require_saved_plan:
            return
        env, serial = policies.environment, self.serial
        raise UnsafeOperationError(
            f"environment {env!r} only applies saved plans ({policies.where('require_saved_plan')}): run "
            f"`dataiku-iac state rollback {serial} -e {env} --out rollback.plan`, have it reviewed, then "
            f"`dataiku-iac state rollback {serial} -e {env} --plan rollback.plan`"
        )

    def desired(self, session: PipelineSession, reader: StateReader, state: StateDocument) -> DesiredState:
        self._target = load_target(session, reader, self.serial, state.lineage)
        return self._target.desired

    def source(self, session: PipelineSession) -> dict:
        assert self._target is not None, "RollbackGoal.desired comes first"
        return rollback_source(self.serial, self._target.snapshot)

    def notes(self) -> list[str]:
        return [DATA_NOTE]

    def remake(self, environment: str) -> str:
        return f"make a new one with `dataiku-iac state rollback {self.serial} -e {environment} --out FILE`"

    def foreign(self, plan: Plan, environment: str) -> Optional[str]:
        source = plan.source or {}
        if source.get("kind") == "rollback" and source.get("serial") == self.serial:
            return None
        return f"the saved plan is not a rollback to serial {self.serial}"


def plan_rollback(session: PipelineSession, serial: int, options: PlanOptions = PlanOptions()) -> PlanResult:
    """A read-only rollback plan (writes nothing), like `Session.plan`."""
    return Pipeline(session).plan(RollbackGoal(serial, options))


def apply_rollback(
    session: PipelineSession,
    serial: int,
    options: PlanOptions = PlanOptions(),
    *,
    saved_plan: Optional[dict] = None,
    confirm: Callable[[Plan], bool] = lambda plan: True,
    on_plan: Callable[[PlanResult], None] = lambda result: None,
    on_event: Optional[EventSink] = None,
    stop: Optional[threading.Event] = None,
    lock_ttl: int = 3600,
    operation: Optional[str] = None,
) -> tuple[PlanResult, Optional[ApplyResult]]:
    """Roll back through the apply pipeline (Pipeline.apply): lock, fold in an interrupted apply,
    plan the rollback or check a saved one, apply. `operation` is what the lock says the holder
    is doing (default `rollback to serial N`; the plugin names the DSS user)."""
    return Pipeline(session).apply(
        RollbackGoal(serial, options), saved_plan=saved_plan, confirm=confirm, on_plan=on_plan, on_event=on_event,
        stop=stop, lock_ttl=lock_ttl, operation=operation,
    )
