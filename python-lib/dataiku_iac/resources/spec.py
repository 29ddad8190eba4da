"""What the tool knows about one DSS object type, in one record: the resource spec.

Every layer asks the registry (`resources/registry.py`) for a type's spec instead of keeping
a table of its own: the loader (the config section, its JSON Schema fragment, the identity
key, the code files it names), the model builder (config -> logical attributes), the planner
and the executor (identity, field policy), observation (the handler, in registration order),
import (logical attributes -> config), drift and the state commands (identity, addresses).

A spec says only what is specific to its type. The shared machinery stays shared: variables,
overrides, the environment's remapping of connections, code envs and containers, project key
prefix/suffix, secrets, reference and cycle checks, diagnostics with file, line and field.
docs/architecture.md, "Adding a resource type", shows how to write one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol

from dataiku_iac.resources.base import ResourceHandler


class Identity(Enum):
    """How DSS identifies the objects of a type, and so how the tool finds one again."""

    # The configured name is the DSS id (datasets, recipes, projects): found by name.
    NAME = "name"
    # The create asks for the configured id, but DSS may give another one (it may derive it from
    # the name: scenarios). The state records the id DSS gave; the object is found by it.
    REQUESTED_ID = "requested_id"
    # DSS assigns the id and accepts two objects with the same name (managed folders). The state
    # records the id; the object is found by it, and its create is never retried blindly.
    SERVER_ID = "server_id"

    @property
    def found_by_id(self) -> bool:
        """Once the state records the object's DSS id, it is looked up by that id, never guessed
        by name (another object may have taken the name)."""
        return self is not Identity.NAME

    @property
    def duplicates_possible(self) -> bool:
        """DSS accepts two objects with the same name: a create that may still be running in DSS
        is not retried (it could make a second one), and a replacement does not wait for a delete
        whose answer was lost (it cannot hit the new object)."""
        return self is Identity.SERVER_ID

    @property
    def name_is_identity(self) -> bool:
        """DSS knows the object by its configured name (or an id asked for with it): a new name in
        an address (`state mv`) would point the state at an object DSS does not have."""
        return self is not Identity.SERVER_ID


class BuildContext(Protocol):
    """What a spec's `build` may ask of the model builder while it translates one config item.

    Paths are relative to the item (``("color",)``); the builder reports a problem at the item's
    file and line, and skips nodes the loader already reported."""

    key: str  # the project key as written in the configuration
    effective_key: str  # the DSS key (with the environment's prefix or suffix)

    def error(self, path: tuple[Any, ...], message: str, hint: Optional[str] = None) -> None: ...

    def require(self, type_: str, name: str, path: tuple[Any, ...], what: str) -> None:
        """`name` must be an object of `type_` of this project: the item then depends on it
        (created before it, deleted after it); else an error at `path`."""
        ...

    def require_any(self, types: tuple[str, ...], name: str, path: tuple[Any, ...], message: str) -> None:
        """`name` must be an object of one of `types` (the first that has it): the item then depends on
        it; else `message` at `path`, with a "did you mean" among the objects of those types."""
        ...

    def defaults(self, type_: str) -> Mapping[str, Any]:
        """iac.yml's `defaults.<type_>` (empty when it has none)."""
        ...

    def did_you_mean(self, word: str, candidates: Iterable[str]) -> Optional[str]:
        """The hint "did you mean 'close'?" for a misspelled name among `candidates` (the one helper
        every message uses), or None."""
        ...

    def declared(self, type_: str, name: str) -> Optional[Mapping[str, Any]]:
        """The logical attributes of the object of `type_` named `name` in this project, when the
        configuration declares it and it built already (types registered before this one): what a
        recipe reads of its inputs' declared schema. None otherwise."""
        ...

    def setting(self, name: str) -> Any:
        """iac.yml's `defaults.<name>` (a scalar such as `sql_connection`), or None."""
        ...

    def remap_connection(self, attribute: str, written: Optional[str]) -> Optional[str]:
        """A connection name as the environment remaps it; the plan shows the name as written."""
        ...

    def remap_code_env(self, attribute: str, written: str) -> str:
        """A code env name as the environment remaps it (`inherit` and `builtin` stay)."""
        ...

    def remap_container(self, attribute: str, written: str) -> str:
        """A container configuration name as the environment remaps it (`inherit` and `none` stay)."""
        ...

    def file_text(self, rel: str) -> str:
        """The text of a file the item names (one of the spec's `file_keys`), read by the loader."""
        ...

    def rejected(self, path: tuple[Any, ...]) -> bool:
        """Whether the loader already reported the node at `path` (or one above it): the item is
        then built without it, and nothing under it is reported again."""
        ...

    def each(self, path: tuple[Any, ...], entries: Any, build: Callable[[tuple[Any, ...], dict[str, Any]], Any]) -> list[Any]:
        """`build(path + (i,), entry)` for each entry of the list at `path` the loader did not reject
        (steps, triggers, rows), in order; None results are left out. With loader errors around,
        an entry of an unexpected shape is skipped (it was reported) rather than failing the build."""
        ...

    def declares_project(self, key: str) -> bool:
        """Whether the configuration declares project `key` (as written)."""
        ...

    def project_key(self, written: str) -> str:
        """The DSS key of project `written`: with the environment's prefix or suffix when the
        configuration declares that project, as written when it does not (another team's)."""
        ...

    def calls(self, name: str, path: tuple[Any, ...], what: str, project: Optional[str] = None) -> None:
        """The item starts object `name` of its own type (in `project`, written as in the
        configuration; None: this project) when it runs. Calls may cross projects, so the builder
        checks them over the whole configuration: an object that starts itself, directly or
        through others, is an error at the call (`path`) that closes the loop. Calls to projects
        the configuration does not declare are not followed."""
        ...

    def secret(self, path: tuple[Any, ...], env_name: str, attribute: str, what: str) -> Optional[dict[str, Any]]:
        """A `{secret_env: NAME}` reference at `path`: its value is read from the session's secret
        source and kept beside the resource (never in its attributes) for `attribute`, the
        dotted path of the reference in the attributes ("variables.local.token"); `what` names
        it in messages ("secret variable 'token'"). Returns the
        reference to put there, or None when it must be left out (its value is not set: an error
        at `path`, or, when only references are checked, listed as unresolved and kept)."""
        ...


class ImportContext(Protocol):
    """What a spec's `to_config` may ask of the importer while it writes one object's item."""

    @property
    def key(self) -> str:
        """The project key as the configuration writes it."""
        ...

    def write(self, rel: str, text: str) -> None:
        """Write a file under the configuration root (code the item then names by path)."""
        ...

    def config_connection(self, name: Optional[str]) -> Optional[str]:
        """A DSS connection name as the configuration writes it (the environment's mapping reversed)."""
        ...

    def config_code_env(self, name: str) -> str:
        """A DSS code env name as the configuration writes it (the environment's mapping reversed)."""
        ...

    def config_container(self, name: str) -> str:
        """A DSS container configuration name as the configuration writes it (the mapping reversed)."""
        ...

    def not_expressed(self, reason: str) -> None:
        """What the configuration cannot express of this object, and why: the whole object when
        `to_config` then returns None (it stays unmanaged), else a setting the item leaves out
        (DSS keeps it as it is). `import` lists each one by object, with the reason."""
        ...

    def declared(self, type_: str, name: str) -> Optional[Mapping[str, Any]]:
        """The item already written for the object of `type_` named `name` (types registered before
        this one), or None: what a recipe reads of its inputs' schema."""
        ...

    def exists(self, type_: str, name: str) -> bool:
        """Whether DSS's project has an object of `type_` named `name` (of this type too, written
        later or not): what a reference between objects of one type can be checked against."""
        ...

    def secret(self, env_name: str, value: str, what: str) -> dict[str, Any]:
        """A secret value read from DSS, as the configuration writes it: the reference
        `{secret_env: env_name}`. The value is never written to a file; it is kept for the
        adoption's check, and `what` ("local.api_token") is listed among the secrets to set."""
        ...


@dataclass(frozen=True)
class BuiltItem:
    """One item of a project's section that `build` translated, for the checks across items."""

    index: int  # its position in the section: paths given to CheckContext.error start with it
    item: dict[str, Any]  # as written (variables substituted, overrides applied)
    attributes: dict[str, Any]  # what `build` returned


class CheckContext(Protocol):
    """What a spec's `check_items` may ask of the model builder, for one project's section."""

    key: str  # the project key as written in the configuration
    effective_key: str  # the DSS key (with the environment's prefix or suffix)

    def error(self, path: tuple[Any, ...], message: str, hint: Optional[str] = None) -> None:
        """A problem at `path`, relative to the section (``(index, "datasets", 0)``): reported at
        that node's file and line."""
        ...


# config item -> logical attributes (None: nothing to build, every problem reported through ctx)
Build = Callable[[dict[str, Any], BuildContext], Optional[dict[str, Any]]]
# (name, logical attributes) -> config item (None: the configuration cannot express the object:
# it is left out of the imported file, reported, and stays unmanaged)
ToConfig = Callable[[str, dict[str, Any], ImportContext], Optional[dict[str, Any]]]
# the items of one project's section that built -> None; every problem across them (the same
# dataset in two zones) reported through ctx. Called once per project file with a section.
CheckItems = Callable[[list[BuiltItem], CheckContext], None]


@dataclass(frozen=True)
class FlowLink:
    """An object's link to a data object (dataset, managed folder) of the Flow, or to a scenario it
    runs: what impact analysis walks to find what sits downstream of a change (planner/impact.py)."""

    # "reads" (a recipe's input), "writes" (its output), "builds", "checks", "computes metrics of"
    # (a scenario's steps), "is triggered by" (a scenario's dataset trigger), "runs" (a scenario's
    # run_scenario step: the object is then a scenario)
    relation: str
    name: str  # the data object's name
    types: tuple[str, ...] = ("dataset",)  # the types it may be (a recipe's ref: dataset or folder)
    project: Optional[str] = None  # another project's key (`KEY.name` references); None: its own
    # The columns of it the object names (a visual recipe's keys, aggregations…); None: unknown
    # (code reads whatever it reads).
    columns: Optional[frozenset[str]] = None


WRITES = "writes"  # the relation that leads further down the Flow (to a recipe's outputs)
READS = "reads"  # uses the object's contents (a recipe's input; `report footprint` counts these as use)


def split_ref(ref: str) -> tuple[Optional[str], str]:
    """A reference to a data object as configurations and recipes write it: `name` of the same
    project, or `KEY.name` of project KEY -> (KEY or None, name)."""
    key, dot, name = ref.partition(".")
    return (key, name) if dot else (None, ref)

# logical attributes -> the object's links to the Flow's data objects
FlowLinks = Callable[[Mapping[str, Any]], list[FlowLink]]


@dataclass(frozen=True)
class TargetProblem:
    """What a type's `check_target` found missing on the target DSS, for one resource."""

    resource: Any  # the desired Resource
    field: str  # the item key naming what is missing ("infra"), where the problem is reported
    message: str  # may say "{where}": the target DSS, as the other target checks name it
    hint: Optional[str] = None


@dataclass(frozen=True)
class ConfigSchema:
    """A type's part of the project file's JSON Schema (draft 2020-12).

    `defs` are added to the schema's `$defs` and must include one named after the type: the
    schema of one item (of the project mapping, for the project). References to the shared
    definitions of config/schemas/project.schema.json (`name`, `text`, `nonempty`, `tags`,
    `protect`, `passthrough`, `relpath`, `ref`, `ref_list`, `project_key`, `code_env_name`…)
    are written `{"$ref": "#/$defs/NAME"}`. A definition name used by two types is an error.
    """

    defs: Mapping[str, Any] = field(default_factory=dict)
    # Datasets', managed folders' and recipes' item schemas are still written in
    # config/schemas/project.schema.json (with the shared definitions);
    # tests/unit/resources/test_registry.py holds it to their specs.
    in_project_schema: bool = False


@dataclass(frozen=True)
class ResourceSpec:
    """One DSS object type: everything the layers need to know about it."""

    type: str  # in addresses, the state, plans: "dataset"
    label: str  # in messages: "managed folder"
    handler: ResourceHandler
    identity: Identity = Identity.NAME
    # Whether addresses have a name part (`type.KEY.NAME`): all types but the project
    # (`project.KEY`), the container of the others.
    named: bool = True
    color: str = ""  # in pictures of the dependency graph (output/graph.py, the console); grey when empty
    # -- the configuration --------------------------------------------------------------------
    # The key of the project file holding the type's items: a list ("datasets"), or for the
    # project itself its one mapping ("project").
    section: str = ""
    id_key: str = "name"  # the item key holding its identity ("id" for scenarios, "key" for projects)
    schema: ConfigSchema = ConfigSchema()
    # Item keys naming a file under the configuration root that the loader reads (code_file…); a
    # key of the entries of one of the item's lists is written `steps.*.code_file`.
    file_keys: tuple[str, ...] = ()
    # The types an item may reference (and so depend on): registered before this one, or itself.
    references: tuple[str, ...] = ()
    # -- behaviour ----------------------------------------------------------------------------
    # Deleting the object can delete stored data (kept unless --drop-data): the plan warns.
    holds_data: bool = False
    # What --drop-data deletes with it, in the impact analysis's reason (planner/impact.py).
    data_held: str = "its stored data"
    # Data DSS deletes with the object whatever --drop-data says (a saved model's trained versions):
    # its attributes (state or live) -> what is lost ("3 trained versions: initial, 1733…"), None
    # when nothing is. Such a delete or replace is destructive, and needs --drop-data as consent.
    data_always_deleted: Optional[Callable[[Mapping[str, Any]], Optional[str]]] = None
    # config item -> logical attributes, and back (a type without them cannot be configured: its
    # objects are only observed).
    build: Optional[Build] = None
    to_config: Optional[ToConfig] = None
    # Optional: (the configuration's item, an item `to_config` wrote) -> that item in the words the
    # configuration's item uses where the schema offers two (a trigger's `cron:`), so that `pull`
    # edits the item in its own vocabulary.
    written_form: Optional[Callable[[Mapping[str, Any], dict[str, Any]], dict[str, Any]]] = None
    # Optional: the checks across the items of one project's section, after each was built.
    check_items: Optional[CheckItems] = None
    # -- impact analysis (planner/impact.py, docs/impact-analysis.md) -------------------------
    # What the object reads, writes or builds of the Flow's datasets and folders (None: nothing).
    flow_links: Optional[FlowLinks] = None
    # Whether deleting (or replacing) an object of the type is a breaking change: something may
    # read it or run it. False where nothing depends on it (a zone: its members go to the default).
    removal_breaks: bool = True
    # -- what a plan checks and says beyond the fields ----------------------------------------
    # Optional: (the desired resource, the live object or None, find) -> what the configuration asks
    # that DSS cannot do with that object (a saved model's pin of a version it does not have, an ML
    # task's target that is no column of its dataset): plan errors, each a text or (attribute, text),
    # at the attribute's file and line. `find(type, name)` -> (the configured resource or None, the
    # live object or None) of another object of the project.
    check_live: Optional[Callable[[Any, Any, Any], list[Any]]] = None
    # (resource, planned replace) -> what the replace would break that the configuration asks
    # (a pinned version the replace deletes): plan errors, each a text or (attribute, text).
    check_replace: Optional[Callable[[Any, Any], list[Any]]] = None
    # What creating one does beyond the object itself, said in the create's reason in the plan
    # ("creating it trains its ML task once…"): nothing a plan does is silent.
    create_note: str = ""
    # The same for an in-place update ("if its backend is running, the apply restarts it").
    update_note: str = ""
    # Whether `apply --train` (`plan --train`) retrains its objects: the plan then updates each one in
    # scope with the attribute `policy.TRAIN`, which its handler's `update` reads (saved models).
    trainable: bool = False
    # Optional, with `trainable`: (the desired resource, the live object's attributes, every desired
    # resource by address) -> what its training source declares otherwise than what the object was
    # last trained from (a saved model deployed from settings its ML task no longer has: the names
    # of those settings). Non-empty: `--train` trains it from the source again (the plan says so),
    # and a plan without `--train` warns that it is stale. Empty: up to date, or not known.
    stale_training: Optional[Callable[[Any, Mapping[str, Any], Mapping[str, Any]], list[str]]] = None
    # With `stale_training`: the fields whose change is made by training from the source again, with
    # or without `--train` (a saved model's `algorithm`: the model of the new one is redeployed into
    # it, its versions kept); the plan says so in the update's reason.
    trains_when_changed: tuple[str, ...] = ()
    # The referenced types whose replacement replaces this object too, in the same plan (a saved model
    # deployed from an ML task the plan replaces: it is deployed again from the new one).
    replaced_with: tuple[str, ...] = ()
    # The referenced types whose replacement (a new DSS id for the same name) makes this object an
    # update in the same plan, whose write names the new object by its new id (a dashboard's tiles,
    # an insight's saved model): the object itself is kept.
    rewritten_with: tuple[str, ...] = ()
    # Optional: (a DSS client, the type's desired resources) -> what they name that the target DSS
    # lacks, checked by `validate -e ENV`, `plan` and `apply` before anything else, with the
    # connections and code envs (engine/remote_checks.py): TargetProblem(resource, field, message,
    # hint), reported at that field's file and line. Read-only calls; "{where}" in a message names
    # the target DSS. (An API deployment's infrastructure.)
    check_target: Optional[Callable[[Any, list[Any]], list[TargetProblem]]] = None
    # DSS's public API cannot delete the object alone (dataikuapi has no call: API services); it goes
    # with its project. A plan refuses to remove one unless its project is deleted too, and the
    # apply makes no call for it (the project's delete, which comes after, removes it).
    deleted_with_project: bool = False

    @property
    def policy(self) -> Any:
        return self.handler.policy

    def what(self) -> str:
        """How one item's identity is called in messages: "dataset name", "scenario id"."""
        return f"{self.label} {self.id_key}"
