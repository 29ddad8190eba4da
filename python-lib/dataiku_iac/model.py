"""The desired model: what the configuration says DSS should contain.

A `Resource` is one DSS object the tool manages, identified by an address such as
``dataset.DEMO.TEST_DATA``. Its `attributes` are *logical*: the canonical form of the
YAML (snake_case keys, shortcuts expanded, environment remapping applied), not DSS's
JSON. Each resource handler translates between the two (`to_logical` reads a DSS
document, `patch_document` writes one), so the planner, drift and import all work on
the same small, declared vocabulary and never on DSS's server-filled documents.

Addresses (`address.py`) use the project key *as written in the config*: the same address
names the same resource in every environment, even when the environment adds a key prefix
or suffix (``DEMO`` in prod, ``DEMO_FEATURE_X`` for a branch). `Resource.project_key` is
the effective DSS key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Iterable, Optional, TypeVar

from dataiku_iac.errors import Diagnostic


@dataclass(frozen=True)
class SourceRef:
    """Where a resource is declared, for diagnostics."""

    file: str
    line: int = 0
    column: int = 0
    # The project document holding the item (its file) and the item's path there: a check of one
    # attribute (compliance rules) locates it at its own key, with a module item's call site.
    document: str = field(default="", compare=False)
    path: tuple = field(default=(), compare=False)
    # The item's keys an environment override set: (key, file, line) in the environment file, so a
    # problem with such a value is reported where it is written.
    overridden: tuple = field(default=(), compare=False)

    def of(self, key: str) -> tuple[str, int]:
        """(file, line) where the item's `key` is written: the override's, else the item's."""
        for name, file, line in self.overridden:
            if name == key:
                return file, line
        return self.file, self.line


@dataclass(frozen=True)
class Resource:
    """One desired DSS object."""

    address: str
    type: str
    config_project: str  # the project key as written in config (used in addresses)
    project_key: str  # the effective DSS project key in this environment
    name: str  # dataset/recipe/folder name, scenario id, or project key
    attributes: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    protect: bool = False
    source: SourceRef = SourceRef("")
    # `ignore_changes`: logical attribute paths (`description`, `params.separator`) or ("all",)
    # whose differences plans and drift ignore; created with the declared value, never updated.
    ignore_changes: tuple[str, ...] = ()
    # Values that must reach DSS but never a plan, a log or the state: path -> value.
    secrets: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class StateHome:
    """Where the state itself lives in DSS (the managed_folder backend): that folder and its
    project are never deleted by a plan, whatever the configuration or the state says."""

    project_key: str  # the effective DSS key of the project holding the folder
    folder_id: str
    where: str  # for messages: "managed folder 'iac_state' of project OPS, path /"


UNMANAGED_POLICIES = ("report", "ignore", "fail")  # a project's `unmanaged:` (docs/config-reference.md)


@dataclass(frozen=True)
class UnmanagedPolicy:
    """What drift and plans make of the objects of a project that the state does not own: its
    `unmanaged:` policy (`report`, `ignore` or `fail`), with glob patterns of names per type that
    take another one. Where patterns of several policies match a name, the strictest wins."""

    default: str = "report"
    patterns: tuple[tuple[str, str, str], ...] = ()  # (policy, type, glob of the name)

    def of(self, type_: str, name: str) -> str:
        matched = {policy for policy, t, glob in self.patterns if t == type_ and fnmatchcase(name, glob)}
        return next((p for p in ("fail", "report", "ignore") if p in matched), self.default)


@dataclass
class DesiredState:
    """Every resource the configuration declares, keyed by address."""

    resources: dict[str, Resource] = field(default_factory=dict)
    environment: str = ""
    config_digest: str = ""
    # (address, attribute) -> the connection / code-env name written in the config, where the
    # environment remapped it (so a bad target is reported at the remapping entry that made it).
    remapped_from: dict[tuple[str, str], str] = field(default_factory=dict)
    # Secret variables whose value is not set where the tool runs, each a located problem. Built
    # without their values (`check_config(..., secret_values=False)`): what validates and drift
    # need; a plan or an apply, which write or compare the values, refuses them (Session).
    unresolved_secrets: list[Diagnostic] = field(default_factory=list)
    # The config's `import:` entries not yet done: address -> the DSS id to adopt (None: by name).
    imports: dict[str, Optional[str]] = field(default_factory=dict)
    # Effective project key -> its `unmanaged:` policy (a project without one: report).
    unmanaged: dict[str, UnmanagedPolicy] = field(default_factory=dict)
    # The config's `moved:` entries, checked: (from, to) addresses of one DSS object, applied to
    # the state before planning (docs/modules.md, "Moving resources").
    moves: list[tuple[str, str]] = field(default_factory=list)
    # The values of module inputs declared `sensitive: true` (docs/modules.md): an attribute that
    # holds one, whole or inside a string, is shown as "(sensitive value)" by plans and drift
    # (planner/plan.py, `holds_sensitive`). Never in a repr.
    sensitive_values: frozenset[str] = field(default_factory=frozenset, repr=False, compare=False)

    def unmanaged_policy(self, project_key: str) -> UnmanagedPolicy:
        return self.unmanaged.get(project_key) or UnmanagedPolicy()

    def add(self, resource: Resource) -> None:
        self.resources[resource.address] = resource

    def get(self, address: str) -> Optional[Resource]:
        return self.resources.get(address)

    def addresses(self) -> list[str]:
        return sorted(self.resources)

    def by_type(self, type_: str) -> Iterable[Resource]:
        return (r for r in self.resources.values() if r.type == type_)

    def project_keys(self) -> dict[str, str]:
        """Config key -> effective DSS key, for every declared project."""
        return {r.config_project: r.project_key for r in self.by_type("project")}


_T = TypeVar("_T")
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def clone_json(value: _T) -> _T:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), several times faster than
    `copy.deepcopy`, whose memo and dispatch tables JSON does not need (a dataset's DSS document:
    305 µs against 46). Documents are copied on every read-modify-write and every attribute set the
    observation reuses from the state. Anything else is copied by `copy.deepcopy`; a dict or list
    held twice gets two copies."""
    kind = type(value)
    if kind is dict:
        return {key: clone_json(item) for key, item in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [clone_json(item) for item in value]  # type: ignore[attr-defined,return-value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)
