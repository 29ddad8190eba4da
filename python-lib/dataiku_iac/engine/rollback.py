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
are kept. The plan is bound to the state serial it was computed from and to a digest of the
rolled-back configuration, so a saved rollback plan (`--out`) applies exactly or is refused.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from dataiku_iac.address import Address
from dataiku_iac.engine.executor import ApplyResult, EventSink, Executor
from dataiku_iac.engine.policies import check_plan
from dataiku_iac.errors import (
    ConfigError,
    Diagnostic,
    StalePlanError,
    StateConflictError,
    UnsafeOperationError,
)
from dataiku_iac.model import DesiredState, Resource, SourceRef
from dataiku_iac.planner.plan import Plan, PlanOptions, digest_of
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.secret_sources import SecretsLike, SecretSource, secret_source
from dataiku_iac.state import StateDocument

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


class _RollbackExecutor(Executor):
    """The executor, labelling the serial it writes as a rollback in `state history`."""

    label = "rollback"

    def _compact(self, doc: StateDocument, base: StateDocument) -> StateDocument:
        if self._journal_broken is not None or doc.resources == base.resources:
            return super()._compact(doc, base)
        written = self.writer.write(doc, expected_serial=base.serial, operation=self.label)
        self.writer.journal_clear()
        return written


def rollback_source(serial: int, snapshot: StateDocument) -> dict:
    return {"kind": "rollback", "serial": serial, "written_at": snapshot.written_at, "operation": snapshot.operation}


def load_target(session: Any, reader: Any, serial: int, current_lineage: str) -> RollbackTarget:
    snapshot = reader.read_serial(serial)
    if snapshot.lineage != current_lineage:
        raise StateConflictError(
            f"history serial {serial} has lineage {snapshot.lineage}, the current state {current_lineage}: "
            f"it is another state's history"
        )
    current = _current_desired(session)
    desired = desired_from_snapshot(snapshot, serial, current=current, secrets=session.secrets)
    return RollbackTarget(serial, snapshot, desired)


def _current_desired(session: Any) -> Optional[DesiredState]:
    """The current configuration, only to locate resources in messages: a rollback must work
    even when today's YAML does not load (that may be why one rolls back)."""
    try:
        return session.desired
    except ConfigError:
        return None


def plan_rollback(session: Any, serial: int, options: PlanOptions = PlanOptions()) -> Any:
    """A read-only rollback plan (writes nothing): a PlanResult like `Session.plan`."""
    from dataiku_iac.engine.reconcile import adopt_pending
    from dataiku_iac.engine.session import PlanResult, state_with_journal

    reader = session.state_reader()
    state, pending, interrupted = state_with_journal(reader)
    target = load_target(session, reader, serial, state.lineage)
    session.check_targets(target.desired)
    desired = session.keyed(target.desired, state)
    observation, contexts = session.observe(desired, state)
    notes = [DATA_NOTE]
    state, _rekeyed = session.migrated(state, notes)
    if pending:
        state, more = adopt_pending(state, pending, observation)
        notes += more
    planned = compute_plan(
        desired, state, observation, options, source=rollback_source(serial, target.snapshot), state_home=reader.home()
    )
    if interrupted:
        planned = replace(planned, reconciled_digest=state.content_digest())
    check_plan(planned, session.policies)
    return PlanResult(planned, state, observation, contexts, notes)


def apply_rollback(
    session: Any,
    serial: int,
    options: PlanOptions = PlanOptions(),
    *,
    saved_plan: Optional[dict] = None,
    confirm: Callable[[Plan], bool] = lambda plan: True,
    on_plan: Callable[[Any], None] = lambda result: None,
    on_event: Optional[EventSink] = None,
    stop: Optional[threading.Event] = None,
    lock_ttl: int = 3600,
    operation: Optional[str] = None,
) -> tuple[Any, Optional[ApplyResult]]:
    """Lock, reconcile an interrupted apply, plan the rollback (or check a saved one), apply.
    `operation` is what the lock says the holder is doing (the plugin names the DSS user)."""
    from dataiku_iac.engine.session import PlanResult, _Heartbeat

    policies = session.policies
    if saved_plan is None and policies.require_saved_plan:
        env = session.environment
        raise UnsafeOperationError(
            f"environment {env!r} only applies saved plans ({policies.where('require_saved_plan')}): run "
            f"`dataiku-iac state rollback {serial} -e {env} --out rollback.plan`, have it reviewed, then "
            f"`dataiku-iac state rollback {serial} -e {env} --plan rollback.plan`"
        )
    writer = session.state_writer()
    lock = writer.lock(operation or f"rollback to serial {serial}", ttl_seconds=lock_ttl)
    heartbeat = _Heartbeat(writer, lock.id, lock_ttl)
    try:
        target = load_target(session, writer, serial, writer.read().lineage)
        session.check_targets(target.desired)
        state, observation, contexts, notes, _rekeyed = session._reconciled(writer, target.desired)
        desired = session.keyed(target.desired, state)
        if saved_plan is not None:
            planned = _check_saved(saved_plan, session.environment, state, target, writer, desired)
        else:
            planned = compute_plan(
                desired, state, observation, options, source=rollback_source(serial, target.snapshot), state_home=writer.home()
            )
        check_plan(planned, policies)
        result = PlanResult(planned, state, observation, contexts, [DATA_NOTE, *notes])
        on_plan(result)
        if not planned.has_changes or not confirm(planned):
            return result, None
        executor = _RollbackExecutor(
            session.connection(), writer, desired, contexts,
            parallelism=session.parallelism, drop_data=planned.options.drop_data, on_event=on_event, stop=stop,
            markers=observation.markers(),
            state_home=writer.home(),
        )
        executor.label = f"rollback to serial {serial}"
        return result, executor.apply(planned, state)
    finally:
        heartbeat.stop()
        writer.unlock(lock.id)


def _check_saved(
    saved: dict, environment: str, state: StateDocument, target: RollbackTarget, reader: Any, desired: DesiredState
) -> Plan:
    from dataiku_iac.engine.session import check_saved_serial, check_secrets_unchanged

    if saved.get("digest") != digest_of(saved):
        raise StalePlanError("the saved plan file was modified after it was written; make a new plan")
    plan = Plan.from_json(saved)
    source = plan.source or {}
    if source.get("kind") != "rollback" or source.get("serial") != target.serial:
        raise StalePlanError(f"the saved plan is not a rollback to serial {target.serial}")
    if plan.environment != environment:
        raise StalePlanError(f"the saved plan is for environment {plan.environment!r}, not {environment!r}")
    remake = f"make a new one with `dataiku-iac state rollback {target.serial} -e {environment} --out FILE`"
    if plan.lineage != state.lineage:
        raise StalePlanError(f"saved rollback plan does not match the state (different lineage); {remake}")
    check_saved_serial(plan, state, reader, remake, what="saved rollback plan")
    if plan.config_digest != target.desired.config_digest:
        raise StalePlanError(f"saved rollback plan is stale: the configuration recorded at serial {target.serial} is not the one "
            f"it was made from; make a new one")
    check_secrets_unchanged(plan, desired, state)
    return plan
