"""One pipeline for every run that changes DSS: apply, destroy and rollback.

A `Goal` says what DSS should become and how its plan is made: from the configuration
(`ConfigGoal`: apply, and destroy with `PlanOptions(destroy=True)`) or from the configuration
recorded at a state serial (`engine/rollback.RollbackGoal`). Everything else is done the same
way for every goal, by `Pipeline.apply`:

    lock → fold in an interrupted apply (replay its journal, reconcile its unknown outcomes)
         → plan, or check a saved plan (engine/saved_plans.py: one staleness rule)
         → policies (with `require_approval: govern`, the saved plan's Govern approval:
           engine/govern.py) → on_plan → confirm → execute (journaled) → one new state serial
         → (approved plans) the outcome written back to the Govern change request

with one set of events: `on_plan(PlanResult)`, `confirm(Plan)` and the executor's
`on_event(kind, change, detail)`. `Pipeline.plan` is the read-only half (no lock, no write).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, NamedTuple, Optional, Protocol, TypeVar

from dataiku_iac.dssclient import DssConnection, holding_slots
from dataiku_iac.engine.executor import ApplyResult, EventSink, Executor
from dataiku_iac.engine.govern import ChangeRequest, Govern
from dataiku_iac.engine.observe import (
    BackgroundObservation,
    contexts_from_state,
    project_keys_of,
    remember_requested_ids,
    secret_paths_of,
)
from dataiku_iac.engine.policies import Policies, check_approvable, check_plan, check_unsaved_apply
from dataiku_iac.engine.reconcile import adopt_pending
from dataiku_iac.engine.refresh import apply_refresh
from dataiku_iac.engine.saved_plans import RECONCILE_OPERATION, REPLAY_OPERATION, PlanKind, check_saved_plan
from dataiku_iac.errors import IacError
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.observed import Observation
from dataiku_iac.planner.plan import Plan, PlanOptions
from dataiku_iac.planner.planner import plan as compute_plan
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.secrets import Fingerprinter, SecretSource, settle_unknown
from dataiku_iac.state import StateDocument, StateReader, StateWriter, replay

T = TypeVar("T")
REKEY_OPERATION = "re-key secret fingerprints"  # the serial an apply writes just to migrate them
MOVE_OPERATION = "move"  # the serial an apply writes when its plan only moves objects in the state
INTERRUPTED_NOTE = "an earlier apply was interrupted; the next apply records this reconciliation"


@dataclass
class PlanResult:
    plan: Plan
    state: StateDocument
    observation: Observation
    contexts: dict[str, ProjectContext]
    notes: list[str] = field(default_factory=list)
    # `require_approval: govern`: the approved change request of the saved plan, and why its
    # outcome could not be written back to it (the apply itself is done: said, not raised)
    approval: Optional[ChangeRequest] = None
    approval_record_error: Optional[str] = None
    # What Govern says of this plan (`Session.approval_status`), for callers that show it (the
    # plugin's plan, apply macro and console); None: not asked, or no approval required
    approval_status: Optional[dict] = None


class PipelineSession(Protocol):
    """What the pipeline asks of a session (engine/session.Session)."""

    environment: str
    source: dict
    parallelism: int
    trust_list_version_tags: bool
    secrets: SecretSource

    @property
    def desired(self) -> DesiredState: ...
    @property
    def policies(self) -> Policies: ...
    def state_writer(self) -> StateWriter: ...
    def state_reader(self) -> StateReader: ...
    def connection(self) -> DssConnection: ...
    def config_errors_first(self, step: Callable[[], T]) -> T: ...
    def check_targets_once(self, desired: DesiredState) -> None: ...
    def start_observing(self, state: StateDocument, desired: DesiredState) -> BackgroundObservation: ...
    def observe(self, desired: DesiredState, state: StateDocument) -> tuple[Observation, dict[str, ProjectContext]]: ...
    def keyed(self, desired: DesiredState, state: StateDocument) -> DesiredState: ...
    def migrated(self, state: StateDocument, notes: list[str]) -> tuple[StateDocument, bool]: ...
    def moved(self, state: StateDocument) -> tuple[StateDocument, tuple[tuple[str, str], ...]]: ...
    def fingerprinter(self, state: StateDocument) -> Fingerprinter: ...
    def refuse_no_projects(self, state: StateDocument, destroy: bool) -> None: ...
    def approval_gate(self) -> Govern:
        """The Govern change requests of `require_approval: govern` (an error if not configured)."""
        ...
    def applied_by(self) -> str:
        """Who applies, as the audit trail names them."""
        ...


class Goal(PlanKind, Protocol):
    """What a run makes DSS match, how its plan is made, and how its saved plans are told apart
    (PlanKind)."""

    options: PlanOptions

    @property
    def reads_config(self) -> bool:
        """Made from the configuration files: their errors come first, they must load."""
        ...

    @property
    def lock_label(self) -> str:
        """What the lock says the holder does (unless the caller names it)."""
        ...

    @property
    def state_operation(self) -> Optional[str]:
        """The operation its journal and the serial its apply writes name (`state history`);
        None: the executor's, after the plan ("apply" or "destroy")."""
        ...

    def refuse_unsaved(self, policies: Policies) -> None:
        """`require_saved_plan`: refuse to plan on the spot, saying how to make a saved plan."""
        ...

    def desired(self, session: PipelineSession, reader: StateReader, state: StateDocument) -> DesiredState:
        """The desired model to plan (secret references not fingerprinted yet); called once per run."""
        ...

    def source(self, session: PipelineSession) -> dict:
        """What the plan records as its source (after `desired`)."""
        ...

    def notes(self) -> list[str]:
        """Said with every plan of this goal."""
        ...


@dataclass
class ConfigGoal:
    """DSS as the configuration says (apply), or with nothing the state owns (destroy)."""

    options: PlanOptions = field(default_factory=PlanOptions)
    saved_destroy: bool = False  # the saved plan it applies is a destroy plan
    reads_config = True
    what = "saved plan"
    source_changed = "the configuration changed since it was made"
    lock_label = "apply"

    @property
    def state_operation(self) -> Optional[str]:
        return None  # the executor's: "apply", or "destroy" for a destroy plan (saved or not)

    def refuse_unsaved(self, policies: Policies) -> None:
        check_unsaved_apply(policies, destroy=self.options.destroy)

    def desired(self, session: PipelineSession, reader: StateReader, state: StateDocument) -> DesiredState:
        # With no project file, only a destroy goes on (it deletes what the state holds).
        session.refuse_no_projects(state, self.options.destroy or self.saved_destroy)
        return session.desired

    def source(self, session: PipelineSession) -> dict:
        return session.source

    def notes(self) -> list[str]:
        return []

    def remake(self, environment: str) -> str:
        flag = " --destroy" if self.options.destroy or self.saved_destroy else ""
        return f"make a new plan with `dataiku-iac plan -e {environment}{flag} --out FILE` and apply that file"

    def foreign(self, plan: Plan, environment: str) -> Optional[str]:
        source = plan.source or {}
        if source.get("kind") != "rollback":
            return None
        serial = source.get("serial")
        return (f"the saved plan is a rollback plan to serial {serial}: apply it with "
                f"`dataiku-iac state rollback {serial} -e {environment} --plan FILE`")


class _Loaded(NamedTuple):
    desired: DesiredState  # the goal's, secret references not fingerprinted
    keyed: DesiredState  # the same, fingerprinted under the key of the state it was loaded with
    observing: Optional[BackgroundObservation]


class _Reconciled(NamedTuple):
    state: StateDocument
    keyed: DesiredState  # the goal's desired model, fingerprinted under the key of the state as locked
    observation: Observation
    contexts: dict[str, ProjectContext]
    notes: list[str]
    rekeyed: bool  # legacy secret fingerprints were re-keyed: worth a serial of their own
    moves: tuple[tuple[str, str], ...] = ()  # `moved:` entries applied to the state (session.moved)


def _yes(plan: Plan) -> bool:
    return True


def _ignore(result: PlanResult) -> None:
    return None


class Pipeline:
    """Plans and applies goals for one session."""

    def __init__(self, session: PipelineSession):
        self.session = session

    # -- the read-only plan ---------------------------------------------------------------
    def plan(self, goal: Goal) -> PlanResult:
        """A read-only plan: an interrupted apply's journal is replayed and reconciled in memory,
        nothing is written."""
        guard = self._guard(goal)
        reader = guard(self.session.state_reader)
        state, pending, interrupted = guard(lambda: state_with_journal(reader))
        loaded = self._load(goal, reader, state, observe=True)
        assert loaded.observing is not None
        observation, contexts = loaded.observing.finish(
            project_keys_of(loaded.keyed, state), secret_paths_of(loaded.keyed, state), self.session.fingerprinter(state)
        )
        notes = goal.notes()
        state, _rekeyed = self.session.migrated(state, notes)
        if pending:
            state = _adopt(state, pending, observation, contexts, notes)
            notes.append(INTERRUPTED_NOTE)
        state, moves = self._moved(goal, state)
        planned = compute_plan(loaded.keyed, state, observation, goal.options, source=goal.source(self.session), state_home=reader.home())
        planned = replace(planned, moved=moves) if moves else planned
        if interrupted:
            planned = replace(planned, reconciled_digest=state.content_digest())
        check_plan(planned, self.session.policies)
        return PlanResult(planned, state, observation, contexts, notes)

    def check_saved(self, goal: Goal, saved_plan: dict) -> Plan:
        """Whether `saved_plan` could be applied now, read-only: the saved-plan rules against the
        state as it is (an interrupted apply's journal replayed in memory) and the goal's desired
        model. No lock, no write, no DSS object read."""
        guard = self._guard(goal)
        reader = guard(self.session.state_reader)
        state, _pending, _interrupted = guard(lambda: state_with_journal(reader))
        desired = goal.desired(self.session, reader, state)
        return check_saved_plan(saved_plan, goal, environment=self.session.environment, state=state, reader=reader,
                                desired=self.session.keyed(desired, state))

    # -- apply ------------------------------------------------------------------------------
    def apply(
        self,
        goal: Goal,
        *,
        saved_plan: Optional[dict] = None,
        confirm: Callable[[Plan], bool] = _yes,
        on_plan: Callable[[PlanResult], None] = _ignore,
        on_event: Optional[EventSink] = None,
        stop: Optional[threading.Event] = None,
        lock_ttl: int = 3600,
        operation: Optional[str] = None,
    ) -> tuple[PlanResult, Optional[ApplyResult]]:
        """Lock, fold in any interrupted apply, plan (or check `saved_plan`), apply.

        `operation` labels the lock (and so the error a concurrent run sees; default: the
        goal's): callers that run on behalf of someone else, like the DSS webapp backend, name
        that person in it. Returns the plan and what the executor did (None: nothing to do, or
        not confirmed)."""
        guard = self._guard(goal)
        if saved_plan is None:
            guard(lambda: goal.refuse_unsaved(self.session.policies))
            guard(lambda: check_approvable(self.session.policies))
        writer = guard(self.session.state_writer)
        # Observe while the lock is taken, for the state as read before it. Once locked, the
        # observation is kept only if the state is still the one it was made for.
        early_state = guard(writer.read)
        loaded = self._load(goal, writer, early_state, observe=saved_plan is None)
        lock = self._lock(writer, operation or goal.lock_label, lock_ttl, loaded.observing)
        heartbeat = _Heartbeat(writer, lock.id, lock_ttl)
        try:
            result, keyed, rekeyed = self._plan_locked(goal, writer, loaded, early_state, saved_plan)
            on_plan(result)
            if not result.plan.has_changes and rekeyed:
                result.state = writer.write(result.state, expected_serial=result.state.serial, operation=REKEY_OPERATION)
            if not result.plan.has_changes or not confirm(result.plan):
                return result, None
            if not result.plan.actionable():  # only `moved:` entries: the state alone changes
                result.state = writer.write(result.state, expected_serial=result.state.serial, operation=MOVE_OPERATION)
                return result, None
            if result.approval is not None:
                return result, self._execute_approved(goal, writer, keyed, result, on_event, stop)
            return result, self._execute(goal, writer, keyed, result, on_event, stop)
        finally:
            heartbeat.stop()
            writer.unlock(lock.id)

    def _plan_locked(
        self, goal: Goal, writer: StateWriter, loaded: _Loaded, early_state: StateDocument, saved_plan: Optional[dict]
    ) -> tuple[PlanResult, DesiredState, bool]:
        """Under the lock: fold in an interrupted apply, then plan or check the saved plan, and
        the policies. Returns the plan, the desired model it writes and whether to re-key."""
        reconciled = self._reconcile(goal, writer, loaded, early_state, saved=saved_plan is not None)
        state, keyed = reconciled.state, reconciled.keyed
        if saved_plan is not None:
            planned = check_saved_plan(
                saved_plan, goal, environment=self.session.environment, state=state, reader=writer, desired=keyed
            )
        else:
            planned = compute_plan(keyed, state, reconciled.observation, goal.options,
                                   source=goal.source(self.session), state_home=writer.home())
            planned = replace(planned, moved=reconciled.moves) if reconciled.moves else planned
        check_plan(planned, self.session.policies)
        approval = self._approval(saved_plan)
        state, settled = settle_unknown(state, planned, keyed)
        notes = [*goal.notes(), *_takeover_notes(writer), *reconciled.notes]
        if approval is not None:
            notes.append(f"Govern: change request {approval.artifact_id} approved by {approval.approver}")
        result = PlanResult(planned, state, reconciled.observation, reconciled.contexts, notes, approval=approval)
        return result, keyed, reconciled.rekeyed or settled > 0

    def _approval(self, saved_plan: Optional[dict]) -> Optional[ChangeRequest]:
        """`require_approval: govern`: the approved change request of exactly this saved plan's
        digest (checked after the saved-plan rules: a stale or edited plan is refused as such
        first); ApprovalError if there is none, GovernUnavailable if Govern cannot say (fail closed)."""
        if not self.session.policies.requires_govern:
            return None
        if saved_plan is None:  # refused before the lock already; kept for callers of _plan_locked
            check_approvable(self.session.policies)
            return None
        return self.session.approval_gate().check(saved_plan)

    def _execute_approved(
        self, goal: Goal, writer: StateWriter, keyed: DesiredState, result: PlanResult,
        on_event: Optional[EventSink], stop: Optional[threading.Event],
    ) -> ApplyResult:
        """Execute an approved plan and write its outcome back to its change request: marked
        IN_PROGRESS before the first change (refused if Govern cannot be written: nothing
        applied), then APPLIED or FAILED with the serial, the resources changed, who and when."""
        gate, request = self.session.approval_gate(), result.approval
        assert request is not None
        applied_by = self.session.applied_by()
        gate.started(request, applied_by=applied_by)
        try:
            applied = self._execute(goal, writer, keyed, result, on_event, stop)
        except BaseException as exc:
            self._record(gate, request, result, {"ok": False, "applied_by": applied_by, "error": str(exc)[:300]})
            raise
        self._record(gate, request, result, {
            "ok": applied.ok, "applied_by": applied_by, "serial": applied.state.serial, "done": applied.done,
            "failed": sorted(applied.failed), "skipped": applied.skipped,
        })
        return applied

    @staticmethod
    def _record(gate: Govern, request: ChangeRequest, result: PlanResult, outcome: dict) -> None:
        try:
            gate.record(request, outcome)
        except IacError as exc:
            result.approval_record_error = str(exc)

    def _execute(
        self, goal: Goal, writer: StateWriter, keyed: DesiredState, result: PlanResult,
        on_event: Optional[EventSink], stop: Optional[threading.Event],
    ) -> ApplyResult:
        if result.plan.options.refresh_only:  # the state takes DSS's values: one write, no DSS call
            return apply_refresh(result.plan, result.state, writer)
        executor = Executor(
            self.session.connection(),
            writer,
            keyed,
            result.contexts,
            parallelism=self.session.parallelism,
            drop_data=result.plan.options.drop_data,
            on_event=on_event,
            stop=stop,
            learn_version_tags=self.session.trust_list_version_tags,
            markers=result.observation.markers(),
            state_home=writer.home(),
            operation=goal.state_operation,
        )
        return executor.apply(result.plan, result.state)

    # -- steps shared by both ------------------------------------------------------------------
    def _guard(self, goal: Goal) -> Callable[[Callable[[], T]], T]:
        """How to run the state steps that come before the configuration is loaded: for a goal
        made from the configuration, its errors are reported first (session.config_errors_first);
        a rollback does not need today's configuration to load (that may be why one rolls back)."""
        if goal.reads_config:
            return self.session.config_errors_first
        return _run

    def _load(self, goal: Goal, reader: StateReader, state: StateDocument, *, observe: bool) -> _Loaded:
        """The goal's desired model; then (if `observe`) DSS observed on a thread for the
        projects `state` names, while its connections and code envs are checked in DSS, the
        secrets are fingerprinted, the lock is taken and the journal replayed; the caller
        finishes it. A failed check cancels the observation (which only reads).

        The desired model is loaded *before* the first DSS request, not beside it: a bad
        configuration must fail with no DSS call at all (the bad-input contract), even a read.
        The check's two lists go beside the observation's first requests, not before them (two
        round trips less before the observation's), and count among its parallelism.
        """
        desired = goal.desired(self.session, reader, state)
        observing = self.session.start_observing(state, desired) if observe else None
        try:
            with holding_slots(observing.slots if observing is not None else None):
                self.session.check_targets_once(desired)
            return _Loaded(desired, self.session.keyed(desired, state), observing)
        except BaseException:
            _cancel(observing)
            raise

    def _lock(self, writer: StateWriter, operation: str, ttl: int, observing: Optional[BackgroundObservation]) -> Any:
        try:
            return writer.lock(operation, ttl_seconds=ttl)
        except BaseException:
            _cancel(observing)
            raise

    def _reconcile(self, goal: Goal, writer: StateWriter, loaded: _Loaded, early_state: StateDocument, *, saved: bool) -> _Reconciled:
        """Under the lock: fold a leftover journal in, observe (or keep the early observation),
        re-key legacy fingerprints, adopt what an interrupted apply created."""
        state, pending = _fold_journal(writer, loaded.observing)
        observation, contexts = self._observation(loaded, early_state, state, pending, saved=saved)
        notes: list[str] = []
        # With a saved plan nothing is observed: legacy records of values the configuration
        # holds are still re-keyed (the desired model fingerprints them), the others become unknown.
        keyed = self.session.keyed(loaded.desired, state)
        state, rekeyed = self.session.migrated(state, notes)
        if pending:
            state = _record_reconciliation(writer, state, pending, observation, contexts, notes)
        state, moves = self._moved(goal, state)
        return _Reconciled(state, keyed, observation, contexts, notes, rekeyed, moves)

    def _moved(self, goal: Goal, state: StateDocument) -> tuple[StateDocument, tuple[tuple[str, str], ...]]:
        """The configuration's `moved:` entries applied to `state` (a goal that does not read the
        configuration, a rollback, has none)."""
        if not goal.reads_config:
            return state, ()
        return self.session.moved(state)

    def _observation(
        self, loaded: _Loaded, early_state: StateDocument, state: StateDocument, pending: list[dict], *, saved: bool
    ) -> tuple[Observation, dict[str, ProjectContext]]:
        observing = loaded.observing
        if saved and not pending:
            # A saved plan is applied exactly, as reviewed: nothing is planned from DSS, so it is
            # not observed again (as Terraform applies a saved plan without refreshing). DSS is
            # still read where safety needs it: an update re-reads the document it saves, a
            # create fails on an object in the way, a delete of a gone object is a no-op, a
            # delete reads its project's marker, and an interrupted apply's journal (pending) is
            # reconciled against a fresh observation. Folder ids come from the state.
            _cancel(observing)
            return Observation(), contexts_from_state(state)
        if observing is not None and not pending and _same_serial(early_state, state):
            # No run wrote the state between the early read and the lock: the observation holds.
            return observing.finish(
                project_keys_of(loaded.desired, state), secret_paths_of(loaded.desired, state),
                self.session.fingerprinter(state),
            )
        _cancel(observing)  # another run (or a journal replay) moved the state: observe afresh
        return self.session.observe(loaded.desired, state)


def _run(step: Callable[[], T]) -> T:
    return step()


def _cancel(observing: Optional[BackgroundObservation]) -> None:
    if observing is not None:
        observing.cancel()


def _fold_journal(writer: StateWriter, observing: Optional[BackgroundObservation]) -> tuple[StateDocument, list[dict]]:
    """Write an interrupted apply's recorded outcomes as a serial; its intents still to reconcile."""
    try:
        writer.compact_journal(operation=REPLAY_OPERATION)
        return writer.read(), writer.read_journal().pending_intents()
    except BaseException:
        _cancel(observing)
        raise


def _adopt(
    state: StateDocument, pending: list[dict], observation: Observation, contexts: dict[str, ProjectContext], notes: list[str]
) -> StateDocument:
    """`state` with what an interrupted apply did, as found in DSS, folded in."""
    reconciled, adopted = adopt_pending(state, pending, observation)
    notes += adopted
    remember_requested_ids(contexts, reconciled)
    return reconciled


def _record_reconciliation(
    writer: StateWriter, state: StateDocument, pending: list[dict], observation: Observation,
    contexts: dict[str, ProjectContext], notes: list[str],
) -> StateDocument:
    reconciled = _adopt(state, pending, observation, contexts, notes)
    if reconciled.resources != state.resources:
        state = writer.write(reconciled, expected_serial=state.serial, operation=RECONCILE_OPERATION)
    writer.journal_clear()
    return state


def _takeover_notes(writer: StateWriter) -> list[str]:
    taken_over = getattr(writer.locker, "taken_over", None)
    if taken_over is None:
        return []
    return [f"took over the state lock {taken_over.id} left by {taken_over.who} "
            f"(process {taken_over.pid}, no longer running) for {taken_over.operation}"]


def _same_serial(before: Optional[StateDocument], after: StateDocument) -> bool:
    if before is None:
        return False
    if before.serial == 0 and after.serial == 0:
        return True  # no state written yet: each read of an absent state makes up a new lineage
    return (before.lineage, before.serial) == (after.lineage, after.serial)


def state_with_journal(reader: StateReader) -> tuple[StateDocument, list[dict], bool]:
    """The state with an interrupted apply's journal replayed in memory; its intents still to
    reconcile; and whether there was such a journal (the next apply writes its replay first)."""
    state = reader.read()
    journal = reader.read_journal()
    journal.raise_for_status()
    if state.serial == 0 and journal.lineage:
        state.lineage = journal.lineage  # the first apply was interrupted: its lineage, as compaction writes
    if journal.status == "ok":
        state = replay(state, journal.entries)
    pending = journal.pending_intents() if journal.header else []
    return state, pending, journal.status == "ok" or bool(pending)


class _Heartbeat:
    """Keeps the state lock's expiry ahead of a long apply."""

    def __init__(self, writer: StateWriter, lock_id: str, ttl: int):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(writer, lock_id, ttl), daemon=True)
        self._thread.start()

    def _run(self, writer: StateWriter, lock_id: str, ttl: int) -> None:
        while not self._stop.wait(max(1.0, ttl / 3)):
            try:
                writer.refresh_lock(lock_id)
            except IacError:
                return  # the write path re-checks ownership and refuses if the lock was lost

    def stop(self) -> None:
        self._stop.set()

