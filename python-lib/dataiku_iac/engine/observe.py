"""Observation: read the live DSS objects the plan needs, with the fewest requests.

One `GET /projects/` tells which projects exist. For each existing project: its four
documents and one list per object type (full documents for datasets and folders), then
one read per recipe (its code) and per scenario (its triggers and steps), which DSS lists
without, unless the list shows the version an apply recorded (`recorded_stand_ins`). Against DSS the cost is round trips, so every request of every project goes
through one pool of `parallelism` threads, in two rounds (the documents and lists, then
the per-object reads the lists call for): the time is about
``latency * (1 + requests / parallelism)`` whatever the number of projects, instead of
one project's sequence of requests per thread.

A project the state holds but the project list does not show is either deleted or unreadable
to the key's user: DSS lists only the projects a user may read, and answers every request on
any other project, existing or not, with the same "Failed to read project permissions". Only
then is the user asked for (`get_auth_info`): an administrator sees every project, so for
one the project is gone; for anyone else the tool cannot tell, and stops with a permission
error naming the projects and the user (`UnreadableProjects`) rather than plan to re-create
them or report them deleted.

`BackgroundObservation` runs this on a thread while the caller loads the configuration
(CPU-bound, about as long as the observation at 1,000 resources), starting with the
projects the state names and adding the configuration's own once it is known.

Secret project variables are replaced by `{secret_env, fingerprint}` references, fingerprinted
under the state's key (secrets.py), before the observation is handed over, so no
secret value ever reaches the planner, a plan or a log. Only logical
attributes are kept: DSS documents are dropped as soon as they are translated.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Optional, TypeVar

from dataiku_iac.dssclient import DssConnection, hold_slots, holding_slots, with_retries
from dataiku_iac.errors import DssPermissionError, IacError
from dataiku_iac.model import DesiredState, clone_json
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.resources.base import Observed, ProjectContext
from dataiku_iac.resources.project import ProjectHandler, marker_of
from dataiku_iac.resources.registry import child_specs, find_spec, handler_for
from dataiku_iac.resources.spec import Identity
from dataiku_iac.secrets import secret_ref_paths

T = TypeVar("T")
# (project key, type, list item) -> the object as recorded in state, when that can stand for
# a per-object read (see `recorded_stand_ins`), else None.
Reuse = Callable[[str, str, dict], Optional[Observed]]
# A secret value -> its fingerprint under the state's key (a secrets.Fingerprinter).
Fingerprint = Callable[[str], str]
# Set to 0 to always read recipes and scenarios one by one (see `recorded_stand_ins`).
TRUST_ENV = "DATAIKU_IAC_TRUST_LIST_VERSION_TAGS"
IN_SYNC = "inSync"  # marks a recorded version tag at which DSS matched the recorded attributes


class ObservationCancelled(IacError):
    """The caller gave up on the observation (its configuration did not load)."""


class UnreadableProjects(DssPermissionError):
    """Projects the state holds that DSS does not show to the key's user (not an administrator)."""

    def __init__(self, keys: list[str], user: str):
        self.keys, self.user = keys, user
        names = ", ".join(keys)
        one = len(keys) == 1
        super().__init__(
            f"the state holds project{'' if one else 's'} {names}, but DSS does not show "
            f"{'it' if one else 'them'} to {user!r}, the user of this API key. DSS answers the same for a "
            f"project that does not exist and for one its user may not read, so the tool cannot tell "
            f"whether {'it was' if one else 'they were'} deleted, and plans nothing for "
            f"{'it' if one else 'them'}. Use a key whose user may read {names}, or a DSS administrator's "
            f"key (an administrator sees every project: a deleted one is then planned for creation again); "
            f"to stop managing {'it' if one else 'them'}, remove {'its' if one else 'their'} resources "
            f"from the state with `dataiku-iac state rm`."
        )


def project_keys_of(desired: DesiredState, state: Any) -> list[str]:
    keys = {r.project_key for r in desired.resources.values()}
    keys |= state_project_keys(state)
    return sorted(keys)


def state_project_keys(state: Any) -> set[str]:
    return {e.project_key for e in state.resources.values()}


class Observer:
    """Observes projects through one pool of threads (each with its own client, see
    `DssConnection.client`); `observe` may be called again to add projects."""

    def __init__(
        self,
        connection: DssConnection,
        *,
        parallelism: int = 4,
        cancel: Optional[threading.Event] = None,
        reuse: Optional[Reuse] = None,
        requested_ids: Optional[dict[str, dict[str, dict[str, str]]]] = None,
        recorded: Iterable[str] = (),
    ):
        self.connection = connection
        self.recorded = set(recorded)  # the project keys the state holds
        self.reuse = reuse
        self.requested_ids = requested_ids or {}  # key -> type -> {configured id: DSS id}
        self.parallelism = max(1, parallelism)
        self.cancel = cancel or threading.Event()
        self.observation = Observation()
        self.contexts: dict[str, ProjectContext] = {}
        self._summaries: Optional[dict[str, dict]] = None
        self._before = connection.requests.count
        # `parallelism` requests in flight, the pool's and those of another thread holding the
        # same slots (dssclient.holding_slots: the remapped connections' check, beside the
        # observation's first requests). Twice as many threads, so that one decodes an answer
        # while another's request is in flight, measured no faster on the 2-CPU machine and
        # spent more CPU: not done.
        self.slots = threading.BoundedSemaphore(self.parallelism)
        self._pool = ThreadPoolExecutor(
            max_workers=self.parallelism, thread_name_prefix="observe", initializer=hold_slots, initargs=(self.slots,)
        )

    @property
    def keys(self) -> set[str]:
        return set(self.observation.projects)

    def observe(self, project_keys: Iterable[str]) -> None:
        keys = sorted(set(project_keys) - self.keys)
        if self._summaries is None:
            projects = self._call(lambda: self.connection.client().list_projects())
            self._summaries = {p["projectKey"]: p for p in projects}
        summaries = self._summaries
        self._check_unlisted([k for k in keys if k in self.recorded and k not in summaries])
        existing = [k for k in keys if k in summaries]
        for key in keys:
            known = self.requested_ids.get(key) or {}
            self.contexts[key] = ProjectContext(key, ids={type_: dict(ids) for type_, ids in known.items()})
            self.observation.projects[key] = ProjectObservation(project_key=key, exists=key in summaries)
        if existing:
            self._observe_existing(existing, summaries)

    def _check_unlisted(self, keys: list[str]) -> None:
        """Projects the state holds and the list does not show: deleted, or unreadable to this
        user. One request, only then: an administrator sees every project (they are deleted);
        anyone else cannot tell, and UnreadableProjects stops the command."""
        if not keys:
            return
        info = self._call(lambda: self.connection.client().get_auth_info())
        if info.get("admin"):
            return
        raise UnreadableProjects(keys, str(info.get("associatedDSSUser") or info.get("authIdentifier") or "?"))

    def _observe_existing(self, keys: list[str], summaries: dict[str, dict]) -> None:
        project_handler = handler_for("project")
        assert isinstance(project_handler, ProjectHandler)
        client = self.connection.client

        # Round 1: every project's documents and lists, all independent of each other.
        def document(key: str, name: str) -> Any:
            return self._call(lambda: project_handler.read_document(client(), key, name))

        def listing(key: str, type_: str) -> tuple[list[Observed], list[dict]]:
            handler = handler_for(type_)
            items = self._call(lambda: handler.list_items(client(), key))
            if handler.per_object_read:
                return [], items  # read (and translated) in round 2
            # Translate now, so full documents do not pile up: folders teach ctx their ids.
            return [handler.observed_from(key, item, self.contexts[key]) for item in items], []

        child_types = [spec.type for spec in child_specs()]  # in registration order: folders first
        documents = {(k, n): self._pool.submit(document, k, n) for k in keys for n in ProjectHandler.DOCUMENTS}
        listings = {(k, t): self._pool.submit(listing, k, t) for k in keys for t in child_types}
        # Each listed recipe or scenario: what the state recorded, when that stands for its read
        # (None: read in round 2). Settled as each project's lists arrive, while the other
        # projects' requests are in flight, not after the last one.
        to_read: list[tuple[str, str, dict, Optional[Observed]]] = []
        for key in keys:
            docs = {name: documents[(key, name)].result() for name in ProjectHandler.DOCUMENTS}
            project = self.observation.projects[key]
            project.project = project_handler.observed_from_documents(key, docs, summaries[key])
            project.marker = marker_of(docs["metadata"])  # read anyway: the marker costs no request
            for type_ in child_types:
                observed, items = listings[(key, type_)].result()
                project.objects[type_] = observed
                to_read.extend((key, type_, item, self._recorded(key, type_, item)) for item in items)

        # Round 2: the per-object reads, once every project's folders are known (recipes and
        # scenarios name folders by id; the translation gives their names).
        def read(key: str, type_: str, item: dict) -> Observed:
            handler = handler_for(type_)
            doc = self._call(lambda: handler.read_item(client(), key, item))
            return handler.observed_from(key, doc, self.contexts[key])

        slots: list[Any] = []
        for key, type_, item, recorded in to_read:
            slots.append(recorded if recorded is not None else self._pool.submit(read, key, type_, item))
        for (key, type_, _item, _recorded), slot in zip(to_read, slots):
            read_back = slot if isinstance(slot, Observed) else slot.result()
            self.observation.projects[key].objects[type_].append(read_back)
        # What one type's list told of other types' objects (a zone list: every object's zone).
        for key in keys:
            objects = self.observation.projects[key].objects
            for type_ in child_types:
                handler_for(type_).complete_observation(objects, self.contexts[key])

    def _recorded(self, key: str, type_: str, item: dict) -> Optional[Observed]:
        return self.reuse(key, type_, item) if self.reuse is not None else None

    def _call(self, fn: Callable[[], T]) -> T:
        if self.cancel.is_set():
            raise ObservationCancelled("observation cancelled")
        return with_retries(fn, should_stop=self.cancel.is_set)

    def finish(
        self, secret_paths: Optional[dict[str, dict[tuple, str]]] = None, fingerprint: Optional[Fingerprint] = None
    ) -> tuple[Observation, dict[str, ProjectContext]]:
        self.close()
        _mask_secrets(self.observation, secret_paths or {}, fingerprint)
        self.observation.request_count = self.connection.requests.count - self._before
        return self.observation, self.contexts

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _identity_of(entry: Any) -> Any:
    spec = find_spec(entry.type)
    return spec.identity if spec is not None else None


def contexts_from_state(state: Any) -> dict[str, ProjectContext]:
    """Project contexts as the state knows them (name -> DSS id of every object found by its id:
    folders, scenarios), without asking DSS."""
    contexts: dict[str, ProjectContext] = {}
    for entry in state.resources.values():
        ctx = contexts.setdefault(entry.project_key, ProjectContext(entry.project_key))
        identity = _identity_of(entry)
        if identity is not None and identity.found_by_id:
            ctx.remember(entry.type, entry.name, entry.dss_id)
    return contexts


def remember_requested_ids(contexts: dict[str, ProjectContext], state: Any) -> None:
    """Teach the contexts the ids a reconciliation adopted (configured id -> DSS id)."""
    for entry in state.resources.values():
        if _identity_of(entry) is Identity.REQUESTED_ID and entry.project_key in contexts:
            contexts[entry.project_key].remember(entry.type, entry.name, entry.dss_id)


def requested_ids_of(state: Any) -> dict[str, dict[str, dict[str, str]]]:
    """Project key -> type -> {configured id: DSS id}, as the state records them, for the types
    whose create asks for an id DSS may not give (scenarios).

    DSS may give a created scenario an id of its own (derived from its name), and only the
    state knows which configured scenario it is: run_scenario steps need it to be translated.
    (The ids DSS assigns itself, of folders, are learned from observation.)
    """
    ids: dict[str, dict[str, dict[str, str]]] = {}
    for entry in state.resources.values():
        if _identity_of(entry) is Identity.REQUESTED_ID:
            ids.setdefault(entry.project_key, {}).setdefault(entry.type, {})[entry.name] = entry.dss_id
    return ids


def trust_list_version_tags(environ: Optional[dict] = None) -> bool:
    value = (environ if environ is not None else os.environ).get(TRUST_ENV, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def recorded_stand_ins(state: Any, desired: Optional[DesiredState]) -> Reuse:
    """Skip the per-object read of a recipe or scenario that provably did not change.

    A recipe's code and a scenario's steps are not in their lists, so each is read once per
    observation: most of a no-op plan's requests. But DSS bumps an object's versionTag on
    every save (dss-samples: 787 of 853 recipe modifications changed versionTag, the 295
    code-only edits included). So when the list item shows the object's version and it equals
    the one the state recorded *with the mark that DSS matched the recorded attributes at that
    version* (only written after an apply verified it, see Executor._learn_version_tags), the
    recorded attributes are what a read would find, and the object is not read. Only if the
    configuration still declares exactly those attributes (otherwise the plan needs the live
    values) or no longer declares the object.

    What "the version" is depends on the list (handler.listed_version):
    - recipes: list items carry the versionTag (Dataiku's own monitoring plugins read it from
      them); versionNumber and lastModifiedOn must both match;
    - scenarios: DSS lists them without versionTag, with `lastModifiedOn` only. It is taken
      as the versionTag's time, which moves on every save; it must match to the millisecond,
      and what the item shows itself (name, active, run-as user, tags) must equal the recorded
      attributes (handler.listed_agrees). docs/performance.md says why that is safe enough.
    When an item shows no usable version, the object is read as before: this only ever saves
    requests. Set DATAIKU_IAC_TRUST_LIST_VERSION_TAGS=0 to read every object regardless.
    """
    recorded: dict[tuple[str, str, str], Any] = {}
    for entry in state.resources.values():
        tag = entry.version_tag
        if isinstance(tag, dict) and tag.get(IN_SYNC) is True:
            recorded[(entry.project_key, entry.type, entry.dss_id)] = entry

    def reuse(project_key: str, type_: str, item: dict) -> Optional[Observed]:
        if not recorded:
            return None
        handler = handler_for(type_)
        dss_id = handler.item_id(item)
        entry = recorded.get((project_key, type_, dss_id)) if dss_id is not None else None
        if entry is None or not _same_version(handler.listed_version(item), entry.version_tag):
            return None
        if not handler.listed_agrees(item, entry.attributes):
            return None
        declared = desired.get(entry.address) if desired is not None else None
        if declared is not None and declared.attributes != entry.attributes:
            return None
        tag = {k: v for k, v in entry.version_tag.items() if k != IN_SYNC}
        # As a read would give it: an observed object's name is its DSS id (a scenario's may differ
        # from the configured id the state calls it by).
        return Observed(type_, project_key, entry.dss_id, entry.dss_id, clone_json(entry.attributes), version_tag=tag)

    return reuse


def _same_version(listed: Optional[dict], recorded: Optional[dict]) -> bool:
    """Every version key the list shows equals the recorded one (and it shows at least one)."""
    if not listed or not recorded:
        return False
    return all(recorded.get(k) == v for k, v in listed.items())


def observe(
    connection: DssConnection,
    project_keys: Iterable[str],
    *,
    secret_paths: Optional[dict[str, dict[tuple, str]]] = None,
    fingerprint: Optional[Fingerprint] = None,
    parallelism: int = 4,
    reuse: Optional[Reuse] = None,
    requested_ids: Optional[dict[str, dict[str, dict[str, str]]]] = None,
    recorded: Iterable[str] = (),
) -> tuple[Observation, dict[str, ProjectContext]]:
    """Observe the given projects (`recorded`: those the state holds). Returns the observation
    and per-project contexts; the secret variables at `secret_paths` come fingerprinted by
    `fingerprint` (without it, unknown)."""
    observer = Observer(connection, parallelism=parallelism, reuse=reuse, requested_ids=requested_ids, recorded=recorded)
    try:
        observer.observe(project_keys)
    finally:
        observer.close()
    return observer.finish(secret_paths, fingerprint)


class BackgroundObservation:
    """Observes some projects on a thread while the caller works (loads the configuration).

    `finish` adds the projects learned meanwhile and returns what `observe` would have;
    `cancel` stops at the next request (the requests in flight complete).
    """

    def __init__(
        self,
        connection: DssConnection,
        project_keys: Iterable[str],
        *,
        parallelism: int = 4,
        reuse: Optional[Reuse] = None,
        requested_ids: Optional[dict[str, dict[str, dict[str, str]]]] = None,
        recorded: Iterable[str] = (),
    ):
        self._cancel = threading.Event()
        self._observer = Observer(
            connection, parallelism=parallelism, cancel=self._cancel, reuse=reuse, requested_ids=requested_ids, recorded=recorded
        )
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, args=(sorted(set(project_keys)),), name="observe-background", daemon=True)
        self._thread.start()

    @property
    def slots(self) -> threading.Semaphore:
        """What the observation's requests hold while in flight: a request of another thread
        holding one too (`dssclient.holding_slots`) counts among the observation's parallelism."""
        return self._observer.slots

    def _run(self, keys: list[str]) -> None:
        try:
            with holding_slots(self._observer.slots):
                self._observer.observe(keys)
        except BaseException as exc:  # re-raised in the caller's thread by finish()
            self._error = exc

    def finish(
        self,
        project_keys: Iterable[str],
        secret_paths: Optional[dict[str, dict[tuple, str]]] = None,
        fingerprint: Optional[Fingerprint] = None,
    ) -> tuple[Observation, dict[str, ProjectContext]]:
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
            self._observer.observe(project_keys)  # only those not observed yet
        finally:
            self._observer.close()
        return self._observer.finish(secret_paths, fingerprint)

    def cancel(self) -> None:
        self._cancel.set()
        self._thread.join()
        self._observer.close()


def _mask_secrets(observation: Observation, secret_paths: dict[str, dict[tuple, str]], fingerprint: Optional[Fingerprint]) -> None:
    """Replace secret values by {secret_env, fingerprint}: nothing secret survives (secret project
    variables, scenario reporters' secret values…).

    The values are fingerprinted together first (in parallel, see Fingerprinter.precompute):
    most equal the configuration's, already fingerprinted, so they cost nothing."""
    found: dict[tuple[int, Any], tuple[Any, Any, str]] = {}  # each value once: (container, key or index, env name)
    for key, paths in secret_paths.items():
        project = observation.projects.get(key)
        if project is None or project.project is None:
            continue
        for (type_, name, dss_id, path), env_name in paths.items():
            live = project.project if type_ == "project" else (
                project.find(type_, name=name) or (project.find(type_, dss_id=dss_id) if dss_id else None))
            spot = _container_of(live.attributes, path) if live is not None and path else None
            if spot is not None and not isinstance(spot[0][spot[1]], dict):
                # the configuration and the state name the same value: masked once
                found.setdefault((id(spot[0]), spot[1]), (spot[0], spot[1], env_name))
    precompute = getattr(fingerprint, "precompute", None)
    if precompute is not None:
        precompute(str(container[at]) for container, at, _env in found.values())
    for container, at, env_name in found.values():
        reference = {"secret_env": env_name}
        if fingerprint is not None:
            reference["fingerprint"] = fingerprint(str(container[at]))
        container[at] = reference


def _container_of(attributes: Any, path: tuple) -> Optional[tuple[Any, Any]]:
    """(the mapping or list holding the value at `path`, its key or index), None if DSS has no value there."""
    node = attributes
    for step in path[:-1]:
        if not _holds(node, step):
            return None
        node = node[step]
    last = path[-1]
    return (node, last) if _holds(node, last) and node[last] is not None else None


def _holds(node: Any, step: Any) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def secret_paths_of(desired: DesiredState, state: Any) -> dict[str, dict[tuple, str]]:
    """Project key -> {(type, name, DSS id or None, path in the attributes): env var name} for every
    secret reference the configuration or the state holds (project variables, reporters' values…)."""
    paths: dict[str, dict[tuple, str]] = {}
    sources = [(r.project_key, r.type, r.name, None, r.attributes) for r in desired.resources.values()]
    sources += [(e.project_key, e.type, e.name, e.dss_id, e.attributes) for e in state.resources.values()]
    for key, type_, name, dss_id, attributes in sources:
        for path, ref in secret_ref_paths(attributes):
            paths.setdefault(key, {})[(type_, name, dss_id, path)] = ref["secret_env"]
    return paths
