"""The executor: interprets a Plan against DSS, checkpointing every action.

For each action it journals the intent (with the resource record it will write), makes
the DSS calls, then journals the outcome. The journal is append-only, so checkpointing
costs O(1) per action whatever the state size; the state document itself is written once
at the end (compaction). If the process dies, the next run replays the outcomes and
reconciles the intents that have none against live DSS (see `reconcile.py`).

Actions run in parallel along the dependency graph, bounded by `parallelism`. A failed
action stops its dependents (they are reported as skipped) but not unrelated work. A
stop request (Ctrl-C) lets in-flight calls finish, starts nothing new, and still
compacts the journal into the state. If writing the journal fails, nothing further is
sent to DSS: a DSS change the state cannot record must not happen.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import heapq
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from dataiku_iac.dssclient import DssConnection, RetryPolicy, classify, may_still_run, refused, with_retries
from dataiku_iac.engine.observe import IN_SYNC
from dataiku_iac.errors import DssError, IacError, StateError, UnsafeOperationError
from dataiku_iac.model import DesiredState, Resource, StateHome, clone_json
from dataiku_iac.planner.plan import REDACTED, Action, Plan, PlanOptions, ResourceChange
from dataiku_iac.resources.base import Observed, ProjectContext, version_tag_of
from dataiku_iac.resources.policy import RECORDED, TRAIN
from dataiku_iac.resources.project import ProjectHandler
from dataiku_iac.resources.registry import handler_for, spec_for
from dataiku_iac.state import ResourceState, StateDocument

EventSink = Callable[[str, ResourceChange, str], None]



@dataclass
class ApplyResult:
    state: StateDocument
    done: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    stopped: bool = False
    # Replaces that failed after their delete went through: the old object is gone, the new one
    # was not made (an apply summary counts them as destroyed, and says so).
    deleted_only: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.stopped

    def counts(self) -> dict[str, int]:
        return {"done": len(self.done), "failed": len(self.failed), "skipped": len(self.skipped)}


@dataclass(frozen=True)
class _Written:
    address: str
    project_key: str
    type: str
    dss_id: str
    expected_version: int
    read_tag: Optional[dict]  # the versionTag read after the object's last save, if it was not saved since


class JournalFailure(StateError):
    """The journal could not be written: no further DSS call may be made."""


class _NothingCreated(DssError):
    """A create DSS refused (a client error, every attempt) and whose object is not in DSS: its intent
    is closed as failed, so the next run does not look for an object that was never made (and cannot
    take someone else's object for it)."""


class Executor:
    def __init__(
        self,
        connection: DssConnection,
        writer: Any,
        desired: DesiredState,
        contexts: dict[str, ProjectContext],
        *,
        parallelism: int = 4,
        drop_data: bool = False,
        on_event: Optional[EventSink] = None,
        stop: Optional[threading.Event] = None,
        retry: RetryPolicy = RetryPolicy(),
        learn_version_tags: bool = False,
        markers: Optional[dict[str, Optional[str]]] = None,
        state_home: Optional[StateHome] = None,
        operation: Optional[str] = None,
    ):
        self.connection = connection
        # What the journal and the serial the run writes say it is ("rollback to serial 3");
        # None: "destroy" for a destroy plan, else "apply".
        self.operation = operation
        self.learn_version_tags = learn_version_tags
        self.writer = writer
        self.desired = desired
        self.contexts = contexts
        self.parallelism = max(1, parallelism)
        self.drop_data = drop_data
        self.on_event = on_event or (lambda kind, change, detail: None)
        self.stop = stop or threading.Event()
        self.retry = retry
        self._seq = 0
        self._lock = threading.Lock()  # the state document and the project contexts
        self._journal_lock = threading.Lock()  # journal appends, in sequence order
        self._journal_broken: Optional[BaseException] = None
        self._written: list[_Written] = []  # recipes and scenarios written, for _learn_version_tags
        # Project markers as just observed (project key -> lineage or None); a project delete
        # whose project is not in here (a saved plan: nothing observed) reads its marker first.
        self.markers = dict(markers or {})
        self.state_home = state_home
        self._lineage = ""
        self._options = PlanOptions()
        self._operation = "apply"
        self._to_mark: set[str] = set()
        self._marked: set[str] = set()
        self._mark_lock = threading.Lock()
        self._replace_deleted: set[str] = set()  # replaces whose delete half is done
        # Deletes of deleted_with_project objects, by project key: done by the project's delete.
        self._with_project: dict[str, list[ResourceChange]] = {}

    # -- orchestration -------------------------------------------------------------------
    def apply(self, plan: Plan, state: StateDocument) -> ApplyResult:
        if plan.options.refresh_only:  # the pipeline writes those (engine/refresh.py): nothing for DSS
            raise IacError("a refresh-only plan changes nothing in DSS: it is not executed, its records are written")
        doc = state.copy()
        result = ApplyResult(state=doc)
        actions = plan.actionable()
        if not actions:
            return result
        self._lineage, self._options, self._to_mark = state.lineage, plan.options, set(plan.mark_projects)
        self._operation = self.operation or ("destroy" if plan.options.destroy else "apply")  # what the state history shows
        # The key goes into the journal too: a state that stores none yet (before its first
        # write, or format 1) gets it back from there if this run is interrupted.
        self.writer.journal_begin(
            base_serial=state.serial, lineage=state.lineage, operation=self._operation, fingerprint_key=state.fingerprint_key
        )
        try:
            self._run_graph(actions, doc, result)
            self._learn_version_tags(doc)
        finally:
            result.stopped = result.stopped or self.stop.is_set()
            result.deleted_only = sorted(a for a in self._replace_deleted if a not in result.done)
            result.state = self._compact(doc, state)
        if self._journal_broken is not None:
            raise JournalFailure(f"could not write the apply journal: {self._journal_broken}") from None
        return result

    def _run_graph(self, actions: list[ResourceChange], doc: StateDocument, result: ApplyResult) -> None:
        """Kahn's algorithm: each action counts its unfinished prerequisites and finishing one
        decrements its dependents, so scheduling costs O(edges) in all, not O(N) per step
        (O(N^2) at 10,000 resources). In parallel, the ready action heading the longest chain
        of dependents starts first (then the lowest address): a chain started last would end
        the run with the other workers idle. At parallelism 1, where the order cannot change
        the time, ready actions start lowest address first, as the planner orders them."""
        by_address = {c.address: c for c in actions}
        waits_on = dependency_graph(actions, recorded_dependencies(doc, actions))
        remaining = {address: len(deps) for address, deps in waits_on.items()}
        dependents: dict[str, list[str]] = {address: [] for address in by_address}
        for address, deps in waits_on.items():
            for dep in deps:
                dependents[dep].append(address)
        priority = _priorities(dependents) if self.parallelism > 1 else dict.fromkeys(by_address, 0)
        ready = [(priority[address], address) for address, count in remaining.items() if count == 0]
        heapq.heapify(ready)
        unsettled = set(by_address)  # neither done, failed nor skipped
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            while unsettled:
                if not self._halted():
                    while ready and len(running) < self.parallelism:
                        _priority, address = heapq.heappop(ready)
                        running[pool.submit(self._run_one, by_address[address], doc)] = address
                if not running:
                    # Halted (stop request, broken journal), or nothing can ever become ready
                    # (a cycle the builder let through): what is left does not run.
                    result.skipped.extend(sorted(unsettled))
                    unsettled.clear()
                    break
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    address = running.pop(future)
                    unsettled.discard(address)
                    error = future.exception()
                    if error is None:
                        result.done.append(address)
                        for dependent in dependents[address]:
                            remaining[dependent] -= 1
                            if remaining[dependent] == 0 and dependent in unsettled:
                                heapq.heappush(ready, (priority[dependent], dependent))
                    else:
                        result.failed[address] = _message(error)
                        self._skip_dependents(address, dependents, unsettled, result)

    def _halted(self) -> bool:
        return self.stop.is_set() or self._journal_broken is not None

    @staticmethod
    def _skip_dependents(failed: str, dependents: dict[str, list[str]], unsettled: set[str], result: ApplyResult) -> None:
        """Everything that (transitively) waits on a failed action is skipped."""
        todo = list(dependents[failed])
        while todo:
            address = todo.pop()
            if address not in unsettled:
                continue
            unsettled.discard(address)
            result.skipped.append(address)
            todo.extend(dependents[address])

    # -- one action ----------------------------------------------------------------------
    def _run_one(self, change: ResourceChange, doc: StateDocument) -> None:
        self.on_event("start", change, "")
        try:
            if change.action == Action.FORGET:
                self._journal("outcome", change, "forget", ok=True)
                self._remove(doc, change.address)
            elif change.action == Action.DELETE:
                self._check_before_delete(change)
                self._delete(change, doc)
            elif change.action == Action.REPLACE:
                self._check_before_delete(change)
                self._mark_before_write(change)
                lingering = self._delete(change, doc)
                self._replace_deleted.add(change.address)
                if lingering and not spec_for(change.type).identity.duplicates_possible:
                    # DSS may still carry out the delete whose answer was lost; landing after
                    # the re-create, it would delete the new object of the same name.
                    raise DssError(
                        f"the delete of the old {change.type} {change.name!r} may still be running in DSS "
                        f"(its answer was lost), so the replacement is not created in this run: the next "
                        f"apply creates it",
                        transient=True,
                    )
                self._create(change, doc)
            elif change.action == Action.CREATE:
                self._mark_before_write(change)
                self._create(change, doc)
            elif change.action == Action.UPDATE:
                self._mark_before_write(change)
                self._update(change, doc)
            elif change.importing:
                self._mark_before_write(change)
                self._import(change, doc)
        except BaseException as exc:
            self.on_event("error", change, _message(exc))
            raise
        self.on_event("done", change, "")

    # -- project markers (see resources/project.py) ---------------------------------------
    def _mark_before_write(self, change: ResourceChange) -> None:
        """Mark an existing, unmarked project the plan writes in, once, before the first write."""
        key = change.project_key
        if key not in self._to_mark:
            return
        with self._mark_lock:
            if key in self._marked:
                return
            client = self.connection.client
            with_retries(lambda: ProjectHandler().mark(client(), key, self._lineage), policy=self.retry)
            self._marked.add(key)

    def _check_before_delete(self, change: ResourceChange) -> None:
        """The planner refuses these deletes; a saved plan is applied without planning again (its
        digest is no signature), so they are checked here too: the state's own folder and project,
        and anything in a project not marked as this state's. The markers come from the
        observation; only a saved plan's apply reads them (one metadata GET per project)."""
        home = self.state_home
        if home is not None and change.project_key == home.project_key and (
            change.type == "project" or (change.type == "managed_folder" and change.dss_id == home.folder_id)
        ):
            raise UnsafeOperationError(f"refusing to delete {change.address}: it holds the state of this environment ({home.where})")
        if self._options.forces_delete(change.address):
            return
        marker = self._marker(change.project_key)
        if marker != self._lineage:
            raise UnsafeOperationError(
                f"refusing to delete {change.address}: project {change.project_key} is not marked as managed by this "
                f"state (lineage {self._lineage}; its marker: {marker or 'none'}); if that is intended, plan again "
                f"with `--force-delete {change.address}`"
            )

    def _marker(self, project_key: str) -> Optional[str]:
        with self._mark_lock:
            if project_key not in self.markers:
                client = self.connection.client
                self.markers[project_key] = with_retries(
                    lambda: ProjectHandler().read_marker(client(), project_key), policy=self.retry
                )
            return self.markers[project_key]

    def _create(self, change: ResourceChange, doc: StateDocument) -> None:
        resource = self._resource(change)
        handler = handler_for(change.type)
        ctx = self._ctx(resource.project_key)
        if change.type == "project":
            ctx.marker = self._lineage  # written with the new project's metadata
        planned = self._record(resource, None, doc)
        seq = self._journal("intent", change, "create", resource=planned)
        try:
            observed = self._create_call(handler, resource, ctx, doc)
        except _NothingCreated:
            self._journal("outcome", change, "create", ok=False, seq=seq)
            raise
        record = self._record(resource, observed, doc)
        self._note_written(handler, record, observed)
        self._journal("outcome", change, "create", ok=True, seq=seq, resource=record)
        self._put(doc, record)

    def _create_call(self, handler: Any, resource: Resource, ctx: ProjectContext, doc: StateDocument) -> Observed:
        """Create, and survive an ambiguous failure: the object may exist after all.

        A create is retried only when the object is not found afterwards, and, for types whose
        DSS id is server-assigned (their names are not unique), only when DSS certainly did not
        receive it or already answered: a create that may still be running in DSS (the client
        timed out, a gateway answered 502/504) would otherwise make a second object. That
        action fails instead, its intent stays in the journal, and the next run adopts the
        object if it appeared. An object the state records for another address is never
        adopted (DSS may have given it the id this resource is configured with: scenario ids
        derived from names). Once an attempt's answer was lost (anything but a client error), the
        lookup may also find the object under the id DSS would derive itself (handler.find_created);
        when DSS refused every attempt and nothing is found, the create is closed as failed.
        """
        client = self.connection.client
        delays = self.retry.delays()
        answer_lost = False
        for attempt in range(self.retry.attempts):
            try:
                return handler.create(client(), resource, ctx)
            except IacError:
                raise
            except Exception as exc:
                error = classify(exc)
                in_flight = may_still_run(exc)
                answer_lost = answer_lost or not refused(exc)  # read before the lookup's own requests
                existing, looked_up = self._find(handler, resource, ctx, answer_lost=answer_lost)
                if existing is not None:
                    owner = self._owner(doc, existing, resource.address)
                    if owner is not None:
                        raise DssError(
                            f"{error}; the {resource.type} DSS holds as {existing.dss_id!r} belongs to {owner}, "
                            f"so it is not adopted for {resource.address}",
                            error_type=error.error_type,
                        ) from None
                    return self._adopt(handler, resource, existing, ctx)


                if not error.transient or attempt == self.retry.attempts - 1 or self.stop.is_set():
                    if looked_up and not answer_lost:
                        raise _NothingCreated(str(error), error_type=error.error_type) from None
                    raise error from None
                if in_flight and spec_for(resource.type).identity.duplicates_possible:
                    raise DssError(
                        f"{error}; the create may still complete in DSS, so it is not retried "
                        f"(a retry could make a second {resource.type} named {resource.name!r}): "
                        f"the next apply looks for it and adopts it",
                        error_type=error.error_type,
                        transient=True,
                    ) from None
                time.sleep(delays[attempt])
        raise AssertionError("unreachable")

    def _adopt(self, handler: Any, resource: Resource, found: Observed, ctx: ProjectContext) -> Observed:
        """The create went through (or half-way): adopt the object and finish its settings."""
        client = self.connection.client
        return with_retries(lambda: handler.update(client(), resource, found, ctx), policy=self.retry)

    def _find(self, handler: Any, resource: Resource, ctx: ProjectContext, *, answer_lost: bool) -> tuple[Optional[Observed], bool]:
        """(the object a failed create may have made, whether the lookup itself succeeded)."""

        def lookup() -> Optional[Observed]:
            client = self.connection.client()
            if resource.type == "project":
                return _find_project(client, resource.project_key)
            return handler.find_created(client, resource, ctx, answer_lost=answer_lost)

        try:
            return with_retries(lookup, policy=self.retry), True
        except DssError:
            return None, False

    def _owner(self, doc: StateDocument, found: Observed, address: str) -> Optional[str]:
        """The other address the state records `found` for, if any."""
        if found.type == "project":
            return None
        with self._lock:
            for entry in doc.resources.values():
                if (entry.type, entry.project_key, entry.dss_id) == (found.type, found.project_key, found.dss_id) and entry.address != address:
                    return entry.address
        return None

    def _update(self, change: ResourceChange, doc: StateDocument) -> None:
        resource = self._resource(change)
        handler = handler_for(change.type)
        ctx = self._ctx(resource.project_key)
        current = Observed(change.type, resource.project_key, resource.name, change.dss_id or resource.name, change.before or {})
        seq = self._journal("intent", change, "update", resource=self._record(resource, None, doc))
        observed = with_retries(lambda: handler.update(self.connection.client(), resource, current, ctx), policy=self.retry)
        record = self._record(resource, observed, doc)
        if change.importing:  # an `import:` entry whose object differed from the config
            record = dataclasses.replace(record, origin="imported")
        self._note_written(handler, record, observed)
        self._journal("outcome", change, "update", ok=True, seq=seq, resource=record)
        self._put(doc, record)

    def _import(self, change: ResourceChange, doc: StateDocument) -> None:
        """An `import:` entry whose object already is as the config says: recorded, no DSS call."""
        resource = self._resource(change)
        live = Observed(change.type, resource.project_key, resource.name, change.dss_id or resource.name, change.before or {})
        record = dataclasses.replace(self._record(resource, live, doc), origin="imported")
        seq = self._journal("intent", change, "import", resource=record)
        self._journal("outcome", change, "import", ok=True, seq=seq, resource=record)
        self._put(doc, record)

    def _delete(self, change: ResourceChange, doc: StateDocument) -> bool:
        """Delete; True if an attempt's answer was lost (DSS may still carry that request out)."""
        handler = handler_for(change.type)
        dss_id = change.dss_id or change.name
        lingering = False
        if spec_for(change.type).deleted_with_project:
            # No delete of its own: the plan deletes its project too, after it (planner checks it).
            # It stays in the state until that delete succeeds (see _delete_with_project): if the
            # project's delete is refused or fails, the object still is in DSS.
            with self._lock:
                self._with_project.setdefault(change.project_key, []).append(change)
            return False

        with self._lock:
            entry = doc.resources.get(change.address)
        origin = entry.origin if entry is not None else "created"

        def call() -> None:
            nonlocal lingering
            try:
                handler.delete_recorded(self.connection.client(), change.project_key, dss_id, drop_data=self.drop_data, origin=origin)
            except Exception as exc:
                if _gone(exc):  # a retried delete whose first attempt went through
                    return
                lingering = lingering or may_still_run(exc)
                raise

        seq = self._journal("intent", change, "delete")
        with_retries(call, policy=self.retry)
        self._journal("outcome", change, "delete", ok=True, seq=seq)
        self._remove(doc, change.address)
        if change.type == "project":
            self._delete_with_project(change.project_key, doc)
        return lingering

    def _delete_with_project(self, project_key: str, doc: StateDocument) -> None:
        """After a project's delete: its deleted_with_project objects are gone with it; what they
        made outside the project (a published API service) goes now, if it is ours."""
        with self._lock:
            changes = self._with_project.pop(project_key, [])
        for change in changes:
            seq = self._journal("intent", change, "delete")
            with_retries(functools.partial(self._delete_outside, change), policy=self.retry)
            self._journal("outcome", change, "delete", ok=True, seq=seq)
            self._remove(doc, change.address)

    def _delete_outside(self, change: ResourceChange) -> None:
        handler_for(change.type).delete_with_project(self.connection.client(), change.project_key, change.dss_id or change.name)

    # -- helpers ---------------------------------------------------------------------------
    def _resource(self, change: ResourceChange) -> Resource:
        """The desired resource, with the plan's effective attributes (resets included)."""
        declared = self.desired.get(change.address)
        if declared is None:
            raise IacError(f"{change.address} is in the plan but not in the configuration")
        return Resource(
            address=declared.address,
            type=declared.type,
            config_project=declared.config_project,
            project_key=declared.project_key,
            name=declared.name,
            attributes=_unhidden(change, declared),
            depends_on=declared.depends_on,
            protect=declared.protect,
            source=declared.source,
            secrets=declared.secrets,
        )

    def _record(self, resource: Resource, observed: Optional[Observed], doc: StateDocument) -> ResourceState:
        declared = self.desired.get(resource.address)
        prior = doc.get(resource.address)
        return ResourceState(
            address=resource.address,
            type=resource.type,
            project_key=resource.project_key,
            name=resource.name,
            dss_id=observed.dss_id if observed is not None else (prior.dss_id if prior else resource.name),
            attributes=with_recorded(resource.type, dict(declared.attributes if declared else resource.attributes), observed, prior),
            version_tag=observed.version_tag if observed is not None else None,
            depends_on=list(resource.depends_on),
            protect=resource.protect or bool(prior and prior.protect),
            origin=prior.origin if prior else "created",
        )

    def _note_written(self, handler: Any, record: ResourceState, observed: Observed) -> None:
        if self.learn_version_tags and handler.per_object_read and observed.expected_version is not None:
            written = _Written(record.address, record.project_key, record.type, record.dss_id, observed.expected_version, observed.version_tag)
            with self._lock:
                self._written.append(written)

    def _learn_version_tags(self, doc: StateDocument) -> None:
        """Record the versionTag of the recipes and scenarios this apply wrote, when provably ours.

        An object read and found as declared (no save) has the versionTag of that read: recorded at
        no cost. A save leaves the new versionTag unknown, so the next observation would read every
        written recipe and scenario again. It is looked up (one list per project for recipes, whose
        list items carry versionTags; one read per saved scenario, whose list items do not) and
        recorded, marked in sync, only if its versionNumber is the one our writes produced (the
        number read before saving, +1 per save): anyone else's save in between gives another
        number, and nothing is recorded. The observation then skips reading these objects while
        their listed version stays the same (observe.recorded_stand_ins). Best effort: a failed
        lookup records nothing.
        """
        if not self._written or self._halted():
            return
        unknown: list[_Written] = []
        for written in self._written:
            if written.read_tag and written.read_tag.get("versionNumber") == written.expected_version:
                self._mark_in_sync(doc, written, written.read_tag)
            else:
                unknown.append(written)
        lookups = self._version_lookups(unknown)
        if not lookups:
            return
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            found = list(pool.map(lambda lookup: lookup[0](), lookups))
        for (_call, items), tags in zip(lookups, found):
            for written in items:
                tag = tags.get(written.dss_id)
                if tag and tag.get("versionNumber") == written.expected_version:
                    self._mark_in_sync(doc, written, tag)

    def _version_lookups(self, unknown: list[_Written]) -> list[tuple[Callable[[], dict], list[_Written]]]:
        """(call returning {dss_id: versionTag}, the objects it tells about): a list per project and
        type where list items carry versionTags, a read per object elsewhere."""
        groups: dict[tuple[str, str], list[_Written]] = {}
        for written in unknown:
            groups.setdefault((written.project_key, written.type), []).append(written)
        lookups: list[tuple[Callable[[], dict], list[_Written]]] = []
        for (key, type_), items in groups.items():
            handler = handler_for(type_)
            if handler.list_has_version_numbers:
                lookups.append((functools.partial(self._listed_versions, handler, key), items))
            else:
                lookups += [(functools.partial(self._read_version, handler, key, w.dss_id), [w]) for w in items]
        return lookups

    def _listed_versions(self, handler: Any, project_key: str) -> dict:
        try:
            items = with_retries(lambda: handler.list_items(self.connection.client(), project_key), policy=self.retry)
        except IacError:
            return {}
        return {handler.item_id(item): version_tag_of(item) for item in items}

    def _read_version(self, handler: Any, project_key: str, dss_id: str) -> dict:
        try:
            return {dss_id: with_retries(lambda: handler.read_version(self.connection.client(), project_key, dss_id), policy=self.retry)}
        except IacError:
            return {}

    @staticmethod
    def _mark_in_sync(doc: StateDocument, written: _Written, tag: dict) -> None:
        record = doc.get(written.address)
        if record is not None:
            record.version_tag = {**tag, IN_SYNC: True}

    def _ctx(self, project_key: str) -> ProjectContext:
        with self._lock:
            return self.contexts.setdefault(project_key, ProjectContext(project_key))

    def _journal(self, kind: str, change: ResourceChange, action: str, *, ok: Optional[bool] = None, seq: Optional[int] = None, resource: Optional[ResourceState] = None) -> int:
        record = resource.to_json() if resource is not None else None  # outside the lock
        # Its own lock, held to write the entry (in sequence order) but not to make it durable:
        # an intent is durable when this returns, but the fsync happens outside the lock, where
        # the writer can cover the entries of several workers with one (group commit). A worker
        # thus never waits for another's fsync to write its own entry. An outcome is not synced
        # on its own: the next intent's sync covers it, before the next DSS call, and so does the
        # state write that ends the run. Every DSS call thus still starts with the whole journal
        # before it durable; a crash can only lose outcomes written after the last call started,
        # whose intents the next run reconciles like those of a call cut short.
        with self._journal_lock:
            if self._journal_broken is not None:
                raise JournalFailure("the journal is broken: stopping before the next DSS call")
            if seq is None:
                self._seq += 1
                seq = self._seq
            entry: dict[str, Any] = {"seq": seq, "kind": kind, "action": action, "address": change.address, "time": _now()}
            if ok is not None:
                entry["ok"] = ok
            if record is not None:
                entry["resource"] = record
            try:
                self.writer.journal_append(entry, sync=False)
            except BaseException as exc:
                self._journal_broken = exc
                raise JournalFailure(f"could not write the apply journal: {exc}") from exc
        if kind == "outcome":
            return seq
        try:
            self.writer.journal_sync()
        except BaseException as exc:
            with self._journal_lock:
                self._journal_broken = self._journal_broken or exc
            raise JournalFailure(f"could not write the apply journal: {exc}") from exc
        return seq

    def _put(self, doc: StateDocument, record: ResourceState) -> None:
        with self._lock:
            doc.put(record)

    def _remove(self, doc: StateDocument, address: str) -> None:
        with self._lock:
            doc.remove(address)

    def _compact(self, doc: StateDocument, base: StateDocument) -> StateDocument:
        """Write the final state as one new serial, then compact the journal.

        Intents that never got an outcome (an action that failed part-way: a create whose POST
        went through before a later call failed, a create or delete whose answer was lost) are
        not dropped: `compact_journal` keeps them in a journal on the new serial, and the next
        run looks them up in DSS like those of a killed run (a half-made object is adopted, not
        left in DSS unowned). Everything else is cleared.
        """
        if self._journal_broken is not None:
            return doc  # the journal on disk is what the next run must replay
        written = base
        if doc.resources != base.resources:
            written = self.writer.write(doc, expected_serial=base.serial, operation=self._operation)
        self.writer.compact_journal(operation=self._operation)
        return written


def _priorities(dependents: dict[str, list[str]]) -> dict[str, int]:
    """Heap key of each action: minus the length of the longest chain of actions waiting on it
    (itself included). An action on a cycle (nothing on it ever runs) counts as a chain of one."""
    height: dict[str, int] = {}
    on_path: set[str] = set()
    for root in dependents:
        stack = [(root, False)]
        while stack:
            address, expanded = stack.pop()
            if address in height:
                continue
            if expanded:
                on_path.discard(address)
                height[address] = 1 + max((height.get(d, 0) for d in dependents[address]), default=0)
                continue
            if address in on_path:
                continue  # a cycle
            on_path.add(address)
            stack.append((address, True))
            stack.extend((d, False) for d in dependents[address] if d not in height)
    return {address: -h for address, h in height.items()}


def dependency_graph(actions: list[ResourceChange], recorded: Optional[dict[str, tuple[str, ...]]] = None) -> dict[str, set[str]]:
    """address -> addresses of actions that must finish first.

    Creates and updates wait for the creates/updates of what they depend on. Deletes wait
    for the deletes of what depends on them (children before parents), and for the updates
    of resources that stop using them: `recorded` holds the dependencies the state recorded
    for each address (a change's `depends_on` are the desired ones). DSS deletes the recipes
    that use a managed folder with the folder, so a recipe that stops writing a folder the
    plan deletes must be saved first.
    """
    by_address = {c.address: c for c in actions}
    waits: dict[str, set[str]] = {c.address: set() for c in actions}
    writes = (Action.CREATE, Action.UPDATE, Action.REPLACE)
    removals = (Action.DELETE, Action.FORGET)
    for change in actions:
        for dep in change.depends_on:
            other = by_address.get(dep)
            if other is None:
                continue
            if change.action in writes and other.action in writes:
                waits[change.address].add(dep)
            elif change.action in removals and other.action in (*removals, Action.REPLACE):
                waits[dep].add(change.address)
    for change in actions:
        if change.action in (Action.UPDATE, Action.REPLACE):
            for dropped in sorted(set((recorded or {}).get(change.address, ())) - set(change.depends_on)):
                other = by_address.get(dropped)
                # Only where it closes no loop: an update that itself waits (through a replace)
                # for the delete would otherwise wait forever, and nothing would run.
                if other is not None and other.action in removals and not _waits_for(waits, change.address, dropped):
                    waits[dropped].add(change.address)
    return waits


def _waits_for(waits: dict[str, set[str]], start: str, target: str) -> bool:
    """Whether `start` (transitively) waits for `target` in `waits`."""
    seen, stack = {start}, [start]
    while stack:
        for before in waits[stack.pop()]:
            if before == target:
                return True
            if before not in seen:
                seen.add(before)
                stack.append(before)
    return False


def recorded_dependencies(state: StateDocument, actions: list[ResourceChange]) -> dict[str, tuple[str, ...]]:
    """The dependencies the state recorded for the resources the actions update or replace."""
    recorded: dict[str, tuple[str, ...]] = {}
    for change in actions:
        entry = state.get(change.address) if change.action in (Action.UPDATE, Action.REPLACE) else None
        if entry is not None:
            recorded[change.address] = tuple(entry.depends_on)
    return recorded


def _find_project(client: Any, project_key: str) -> Optional[Observed]:
    summaries = {p["projectKey"]: p for p in client.list_projects()}
    if project_key not in summaries:
        return None
    return ProjectHandler().observe_project(client, project_key, summaries[project_key])


def with_recorded(type_: str, attributes: dict[str, Any], observed: Optional[Observed], prior: Optional[ResourceState]) -> dict[str, Any]:
    """The attributes the state records: the declared ones, and the type's recorded ones (DSS's data,
    such as a saved model's versions: compare mode RECORDED) as DSS had them after the write."""
    attributes.pop(TRAIN, None)  # a plan's instruction (--train), never a recorded value
    for recorded in handler_for(type_).policy.fields:
        name = recorded.name
        if recorded.compare != RECORDED:
            continue
        if observed is not None and name in observed.attributes:
            attributes[name] = clone_json(observed.attributes[name])
        elif prior is not None and name in prior.attributes:
            attributes[name] = clone_json(prior.attributes[name])
    return attributes


def _unhidden(change: ResourceChange, declared: Resource) -> dict[str, Any]:
    """The attributes to write: the plan's, but a saved plan's sensitive values (a module's
    sensitive input, shown "(sensitive value)" in the file) from the configuration, which the
    saved plan's digest check has found unchanged since (engine/saved_plans.py)."""
    attributes = dict(change.after or declared.attributes)
    for name in change.sensitive_fields:
        if attributes.get(name) == REDACTED and name in declared.attributes:
            attributes[name] = declared.attributes[name]
    return attributes


def _gone(exc: BaseException) -> bool:
    text = str(exc)
    return "NotFoundException" in text or "does not exist" in text


def _message(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 600 else text[:600] + "…"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
