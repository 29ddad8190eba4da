"""The resource-handler protocol and the context handlers share.

One handler per resource type, with a small fixed protocol:

- `observe(client, project_key, ctx)`: read every live object of this type in a project,
  with the fewest requests DSS allows (list endpoints that return full documents; per
  object reads only where DSS has no bulk read), returning `Observed` records. It is
  composed of three steps the engine also calls separately, to run the requests of every
  project in one pool: `list_items` (one list request), `read_item` (the per-object read,
  for types whose `per_object_read` is set) and `observed_from` (a pure translation);
- `to_logical(doc, ctx)`: a pure translation of a DSS document into logical attributes;
- `create`, `update`, `delete`: the mutating calls. Updates are read-modify-write: GET
  the full document, change only the managed keys, PUT it back. Nothing is ever created
  with ``overwrite=True`` (it drops data).

Handlers never print, never decide what to do (the planner does), and never read
secrets from anywhere but `Resource.secrets`.
"""

from __future__ import annotations

import threading
from dataclasses import InitVar, dataclass, field
from typing import Any, Callable, Optional, TypeVar

from dataiku_iac.model import Resource
from dataiku_iac.resources.policy import FieldPolicy

T = TypeVar("T")


@dataclass
class Observed:
    """A live DSS object, as the planner sees it."""

    type: str
    project_key: str
    name: str  # logical name: dataset/recipe/folder name, scenario id, project key
    dss_id: str
    attributes: dict[str, Any]
    version_tag: Optional[dict[str, Any]] = None
    # After a create or update: the versionNumber DSS gives the object for our writes (the
    # number read before saving, +1 if saved; DSS bumps it on every save). None: unknown.
    expected_version: Optional[int] = None


@dataclass
class ProjectContext:
    """What handlers need to know about one project while observing or applying.

    DSS documents name some objects by an id the configuration does not know: recipes and
    scenarios name managed folders by the id DSS assigned them, `run_scenario` steps name a
    scenario by its DSS id, which DSS may have chosen itself (derived from the name) when it
    created it. The context holds, per type, the configured name -> DSS id of such objects. It is
    learned from observation (folders list their ids), from the state (address -> dss_id: the
    only place that knows which configured scenario DSS gave which id) and from the creates of
    the running apply (guarded by a lock: the executor runs actions in parallel).
    """

    project_key: str
    ids: dict[str, dict[str, str]] = field(default_factory=dict)  # type -> {name: DSS id}
    folder_ids: InitVar[Optional[dict[str, str]]] = None  # shorthands for ids["managed_folder"]
    scenario_ids: InitVar[Optional[dict[str, str]]] = None  # and ids["scenario"]
    connection_types: dict[str, str] = field(default_factory=dict)  # name -> DSS type
    # The state lineage a project create writes as the project's marker (see project.MARKER_KEY).
    marker: Optional[str] = None
    # What one type's list tells of other types' objects, by kind (`learn`): a zone list gives
    # the zone of every object of the project.
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self, folder_ids: Optional[dict[str, str]], scenario_ids: Optional[dict[str, str]]) -> None:
        for type_, known in (("managed_folder", folder_ids), ("scenario", scenario_ids)):
            for name, dss_id in (known or {}).items():
                self.remember(type_, name, dss_id)

    # -- any type ------------------------------------------------------------------------
    def remember(self, type_: str, name: str, dss_id: str) -> None:
        with self._lock:
            self.ids.setdefault(type_, {})[name] = dss_id

    def dss_id_of(self, type_: str, name: str) -> Optional[str]:
        """The DSS id of the object of `type_` configured as `name`, if known."""
        with self._lock:
            return self.ids.get(type_, {}).get(name)

    def name_of(self, type_: str, dss_id: str) -> Optional[str]:
        """The configured name of the object of `type_` DSS knows as `dss_id`, if known."""
        with self._lock:
            for name, known in self.ids.get(type_, {}).items():
                if known == dss_id:
                    return name
        return None

    def learn(self, kind: str, key: str, value: Any) -> None:
        """Record what a list told of another object (`kind` names what is recorded)."""
        with self._lock:
            self.facts.setdefault(kind, {})[key] = value

    def learned(self, kind: str) -> dict[str, Any]:
        with self._lock:
            return dict(self.facts.get(kind, {}))

    # -- shorthands for the handlers -----------------------------------------------------------
    def folder_name(self, odb_id: str) -> Optional[str]:
        return self.name_of("managed_folder", odb_id)

    def folder_id(self, name: str) -> Optional[str]:
        return self.dss_id_of("managed_folder", name)

    def remember_folder(self, name: str, odb_id: str) -> None:
        self.remember("managed_folder", name, odb_id)

    def scenario_id(self, name: str) -> str:
        """The DSS id of the scenario configured as `name` (`name` itself when not known)."""
        return self.dss_id_of("scenario", name) or name

    def scenario_name(self, dss_id: str) -> Optional[str]:
        """The configured id of the scenario DSS knows as `dss_id`, if known."""
        return self.name_of("scenario", dss_id)

    def remember_scenario(self, name: str, dss_id: str) -> None:
        self.remember("scenario", name, dss_id)


class ResourceHandler:
    """Base class: subclasses set `type` and `policy` and implement the protocol."""

    type: str = ""
    policy: FieldPolicy
    # Whether the list lacks what the logical attributes need (one GET per object then).
    per_object_read: bool = False
    # For a type DSS gives an id of its own (Identity.SERVER_ID): whether `update` renames the object
    # when the configured name differs from DSS's (after `state mv`, or a rename made in DSS). Without
    # it a new name can only be had by replacing the object.
    renames_in_place: bool = False

    def observe(self, client: Any, project_key: str, ctx: ProjectContext) -> list[Observed]:
        items = self.list_items(client, project_key)
        return [self.observed_from(project_key, self.read_item(client, project_key, item), ctx) for item in items]

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """The type's list endpoint for one project: one request."""
        raise NotImplementedError

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        """The DSS id of a listed object (its name, but for server-assigned ids)."""
        return item.get("name")

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        """The full document of a listed object (no request when the list carries it)."""
        return item

    # Whether list items carry the object's versionTag (versionNumber included), so that one list
    # tells the versions an apply produced (Executor._learn_version_tags); else one read per object.
    list_has_version_numbers: bool = True

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        """What a list item tells of the object's current version, compared with the version an apply
        recorded to skip the per-object read (observe.recorded_stand_ins); None: nothing usable."""
        tag = version_tag_of(item)
        number = (tag or {}).get("versionNumber")
        return tag if isinstance(number, int) and not isinstance(number, bool) else None

    def listed_agrees(self, item: dict[str, Any], attributes: dict[str, Any]) -> bool:
        """Whether the attributes a list item shows itself equal recorded ones (True where it shows none)."""
        return True

    def read_version(self, client: Any, project_key: str, dss_id: str) -> Optional[dict[str, Any]]:
        """The versionTag of one object, read from its document (one request)."""
        raise NotImplementedError

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        """Translate a full document (pure, but for folders, which teach `ctx` their ids)."""
        raise NotImplementedError

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        raise NotImplementedError

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """Once every type of a project is observed (`objects`: type -> its objects): add to other
        types' objects what this type's list told of them (`ctx.learned`), such as the zone of each
        member (resources/flow_zone.py). Nothing by default."""

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        raise NotImplementedError

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        raise NotImplementedError

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # A deleted_with_project type keeps this: the executor never calls it for one (the
        # project's delete removes it, then delete_with_project runs).
        raise NotImplementedError

    def delete_recorded(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool, origin: str) -> None:
        """The delete the executor calls, with the state's `origin` of the object ("created" by the
        tool or "imported"): a type whose delete also removes a container the tool made for it
        (an ML task's visual analysis) overrides it to leave an imported object's container alone."""
        self.delete(client, project_key, dss_id, drop_data=drop_data)

    def delete_with_project(self, client: Any, project_key: str, dss_id: str) -> None:
        """For a type deleted with its project (spec.deleted_with_project), called once the plan
        deleted its project: removes what the object made outside the project (an API service's
        published service), if anything."""

    def find(self, client: Any, project_key: str, name: str, ctx: ProjectContext) -> Optional[Observed]:
        """Look up one object by logical name (used to reconcile an interrupted create)."""
        for item in self.observe(client, project_key, ctx):
            if item.name == name:
                return item
        return None

    def may_have_created(self, name: str, attributes: dict[str, Any], live: Observed) -> bool:
        """Whether `live` may be the object that an interrupted create of `name` (with `attributes`)
        made (reconcile.py): the object of that name, unless DSS may give it another id."""
        return live.name == name

    def find_created(self, client: Any, resource: Resource, ctx: ProjectContext, *, answer_lost: bool = False) -> Optional[Observed]:
        """After a create failed: the object our create may have made, if it exists (adopted).
        `answer_lost`: DSS may have carried out the create without us seeing its answer."""
        return self.find(client, resource.project_key, resource.name, ctx)


_OBJECT_LOCKS: dict[tuple[str, ...], threading.Lock] = {}
_OBJECT_LOCKS_GUARD = threading.Lock()


def object_lock(*key: str) -> threading.Lock:
    """One lock per DSS object named by `key` (e.g. ("wiki", project key)), for the writes of sibling
    actions that the executor runs in parallel and that DSS would refuse or mix when they overlap on
    one object: a project's wiki settings, an ML task's training session. Per process: concurrent
    applies are already excluded by the state lock."""
    with _OBJECT_LOCKS_GUARD:
        return _OBJECT_LOCKS.setdefault(tuple(key), threading.Lock())


class DocumentByIdHandler(ResourceHandler):
    """A type whose list carries neither the settings nor a versionTag (dashboards, insights): each
    object is read whole by its DSS id, `read_document` says how."""

    per_object_read = True
    list_has_version_numbers = False

    def read_document(self, client: Any, project_key: str, dss_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        return self.read_document(client, project_key, item["id"])

    def read_version(self, client: Any, project_key: str, dss_id: str) -> Optional[dict[str, Any]]:
        return version_tag_of(self.read_document(client, project_key, dss_id))


def create_answer(client: Any, create: Callable[[], T]) -> tuple[T, Any]:
    """Run a dataikuapi create on `client`; return its result and what DSS answered the create with.

    dataikuapi returns handles and drops the answer of a create request (the last POST `create`
    makes). Where that answer is the created object's document (`created_document`), the
    read-modify-write finishing the create starts from it instead of reading the object again
    (docs/performance.md, "Assumptions about DSS"). Clients are per thread (DssConnection), so the
    capture sees only this call's requests.
    """
    perform = client._perform_json
    shadowed = "_perform_json" in vars(client)
    answers: list[Any] = []

    def capture(method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        answer = perform(method, path, *args, **kwargs)
        if method == "POST":
            answers.append(answer)
        return answer

    client._perform_json = capture
    try:
        result = create()
    finally:
        if shadowed:
            client._perform_json = perform
        else:
            del client._perform_json
    return result, answers[-1] if answers else None


def created_document(answer: Any, identity: dict[str, Any], keys: tuple[str, ...]) -> Optional[dict[str, Any]]:
    """`answer` if it is the stored document of the object just created, else None (read it then).

    It must name the object (`identity`: its name or id and project key), hold `keys`, and carry
    a creationTag, which only DSS writes: an echo of the request, or an answer that only names the
    object (all dataikuapi reads of it), is not taken for the document.
    """
    if not isinstance(answer, dict) or not isinstance(answer.get("creationTag"), dict):
        return None
    if any(answer.get(k) != v for k, v in identity.items()) or any(k not in answer for k in keys):
        return None
    return answer


def save_if_changed(settings: Any, raw: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Save a settings object only if `raw` differs from its state as read.

    DSS bumps versionTag on every save, even a no-op one, so saving unchanged documents
    would show as churn to everyone watching the project. After a save the document's
    versionTag is stale (DSS assigned a new one), so it is dropped from the result: the
    next observation reads the object again.
    """
    if raw == before:
        return raw
    settings.save()
    saved = dict(raw)
    saved.pop("versionTag", None)
    return saved


def version_after_save(doc_before: dict[str, Any], saved: bool) -> Optional[int]:
    """The versionNumber a document read as `doc_before` has once saved (or not)."""
    tag = doc_before.get("versionTag")
    number = tag.get("versionNumber") if isinstance(tag, dict) else None
    if not isinstance(number, int) or isinstance(number, bool):
        return None
    return number + 1 if saved else number


def version_tag_of(doc: dict[str, Any]) -> Optional[dict[str, Any]]:
    tag = doc.get("versionTag")
    if not isinstance(tag, dict):
        return None
    return {k: tag.get(k) for k in ("versionNumber", "lastModifiedOn") if k in tag}


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Merge `patch` into a copy of `base`: mappings merge, anything else replaces."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Code-env selections look the same in project settings (key "mode") and in recipe params
# (key "envMode"); the config says "inherit", "builtin" or an env name.
_ENV_MODES = {"inherit": "INHERIT", "builtin": "USE_BUILTIN_MODE"}


def env_selection_to_logical(selection: Optional[dict[str, Any]], mode_key: str) -> str:
    selection = selection or {}
    mode = selection.get(mode_key, "INHERIT")
    if mode == "EXPLICIT_ENV":
        return selection.get("envName") or ""
    return "builtin" if mode == "USE_BUILTIN_MODE" else "inherit"


def env_selection_to_dss(value: str, current: dict[str, Any], mode_key: str) -> dict[str, Any]:
    patched = {k: v for k, v in current.items() if k != "envName"}
    if value in _ENV_MODES:
        patched[mode_key] = _ENV_MODES[value]
    else:
        patched.update({mode_key: "EXPLICIT_ENV", "envName": value})
    return patched


def container_to_logical(selection: Optional[dict[str, Any]]) -> str:
    """A container selection (project settings, code recipe params) -> `inherit`, `none` or a name."""
    selection = selection or {}
    mode = selection.get("containerMode", "INHERIT")
    if mode == "NONE":
        return "none"
    if mode == "EXPLICIT_CONTAINER":
        return selection.get("containerConf") or ""
    return "inherit"


def container_to_dss(value: str) -> dict[str, Any]:
    if value == "inherit":
        return {"containerMode": "INHERIT"}
    if value == "none":
        return {"containerMode": "NONE"}
    return {"containerMode": "EXPLICIT_CONTAINER", "containerConf": value}


def copy_keys(item: dict[str, Any], attrs: dict[str, Any], *keys: str) -> None:
    """Copy the keys `item` has into `attrs` (a mapping copied one level deep): a spec's `build`."""
    for key in keys:
        if key in item:
            value = item[key]
            attrs[key] = dict(value) if isinstance(value, dict) else value


def described(item: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """`item` with the description and tags `attrs` has, when not empty: a spec's `to_config`."""
    if attrs.get("description"):
        item["description"] = attrs["description"]
    if attrs.get("tags"):
        item["tags"] = list(attrs["tags"])
    return item
