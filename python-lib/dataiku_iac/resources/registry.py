"""The registry of resource types: every layer reads what it knows of a type from here.

The built-in types are registered below, one line each, in dependency order: a type comes
after the types it references (a recipe after the datasets and folders it reads and writes).
That order is also the order of observation (folders first: recipes and scenarios name them
by id), of the project file's sections, of plans and of imported files.

`register` adds a type at run time, `registered` for the length of a `with` block (tests):
nothing a configuration says can register a type, a configuration never runs code.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from typing import Iterator, Optional

from dataiku_iac.resources.api_deployment import SPEC as API_DEPLOYMENT
from dataiku_iac.resources.api_service import SPEC as API_SERVICE
from dataiku_iac.resources.base import ResourceHandler
from dataiku_iac.resources.dashboard import SPEC as DASHBOARD
from dataiku_iac.resources.dataset import SPEC as DATASET
from dataiku_iac.resources.flow_zone import SPEC as FLOW_ZONE
from dataiku_iac.resources.insight import SPEC as INSIGHT
from dataiku_iac.resources.managed_folder import SPEC as MANAGED_FOLDER
from dataiku_iac.resources.ml_task import SPEC as ML_TASK
from dataiku_iac.resources.model_evaluation_store import SPEC as MODEL_EVALUATION_STORE
from dataiku_iac.resources.project import SPEC as PROJECT
from dataiku_iac.resources.recipe import SPEC as RECIPE
from dataiku_iac.resources.saved_model import SPEC as SAVED_MODEL
from dataiku_iac.resources.scenario import SPEC as SCENARIO
from dataiku_iac.resources.spec import ResourceSpec
from dataiku_iac.resources.webapp import SPEC as WEBAPP
from dataiku_iac.resources.wiki_article import SPEC as WIKI_ARTICLE

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RegistryError(ValueError):
    """A spec that cannot be registered (a programming error, never a user's)."""


class Registry:
    """Resource specs by type, in registration (dependency) order."""

    def __init__(self) -> None:
        self._specs: dict[str, ResourceSpec] = {}
        self._lock = threading.Lock()
        # Bumped on every change, so that what is derived from the specs (the project file's
        # schema) is derived again.
        self.generation = 0

    def register(self, spec: ResourceSpec) -> None:
        with self._lock:
            problem = self._problem(spec)
            if problem:
                raise RegistryError(f"cannot register resource type {spec.type!r}: {problem}")
            self._specs[spec.type] = spec
            self.generation += 1

    def _problem(self, spec: ResourceSpec) -> Optional[str]:
        if not _TYPE_NAME.match(spec.type):
            return "a type is lowercase letters, digits and '_', starting with a letter"
        if spec.type in self._specs:
            return "it is already registered"
        if spec.handler.type != spec.type:
            return f"its handler is for type {spec.handler.type!r}"
        if not spec.section:
            return "it names no section of the project file"
        taken = next((s.type for s in self._specs.values() if s.section == spec.section), None)
        if taken:
            return f"section {spec.section!r} is already {taken}'s"
        if not spec.named and self._specs:
            return "only the first type registered (the project, container of the others) has no name part"
        if spec.named and not self._specs:
            return "the first type registered is the project (its addresses have no name part)"
        if spec.build is not None and spec.type not in spec.schema.defs and not spec.schema.in_project_schema:
            return f"its schema fragment defines no item schema {spec.type!r} (ConfigSchema.defs)"
        if (spec.build is None) != (spec.to_config is None):
            return "it has only one of build (config -> logical) and to_config (logical -> config)"
        unknown = [t for t in spec.references if t not in self._specs and t != spec.type]
        if unknown:
            return f"it references {', '.join(unknown)}, not registered before it"
        return None

    def unregister(self, type_: str) -> None:
        with self._lock:
            dependents = [s.type for s in self._specs.values() if type_ in s.references and s.type != type_]
            if dependents:
                raise RegistryError(f"cannot unregister {type_!r}: {', '.join(dependents)} reference it")
            del self._specs[type_]
            self.generation += 1

    def get(self, type_: str) -> ResourceSpec:
        found = self._specs.get(type_)
        if found is None:
            raise KeyError(f"unknown resource type {type_!r} (known: {', '.join(self._specs)})")
        return found

    def find(self, type_: str) -> Optional[ResourceSpec]:
        return self._specs.get(type_)

    def specs(self) -> tuple[ResourceSpec, ...]:
        return tuple(self._specs.values())


REGISTRY = Registry()

# The built-in types, one line each, in dependency order.
REGISTRY.register(PROJECT)
REGISTRY.register(FLOW_ZONE)
REGISTRY.register(MANAGED_FOLDER)
REGISTRY.register(DATASET)
REGISTRY.register(ML_TASK)
REGISTRY.register(SAVED_MODEL)
REGISTRY.register(MODEL_EVALUATION_STORE)
REGISTRY.register(RECIPE)
REGISTRY.register(SCENARIO)
REGISTRY.register(API_SERVICE)
REGISTRY.register(API_DEPLOYMENT)
REGISTRY.register(INSIGHT)
REGISTRY.register(DASHBOARD)
REGISTRY.register(WEBAPP)
REGISTRY.register(WIKI_ARTICLE)


def register(spec: ResourceSpec) -> None:
    """Add a resource type (after every type registered so far)."""
    REGISTRY.register(spec)


def unregister(type_: str) -> None:
    REGISTRY.unregister(type_)


@contextmanager
def registered(spec: ResourceSpec) -> Iterator[ResourceSpec]:
    """The type `spec` is registered for the length of the block (tests)."""
    register(spec)
    try:
        yield spec
    finally:
        unregister(spec.type)


def spec_for(type_: str) -> ResourceSpec:
    return REGISTRY.get(type_)


def handler_for(type_: str) -> ResourceHandler:
    return REGISTRY.get(type_).handler


def find_spec(type_: str) -> Optional[ResourceSpec]:
    return REGISTRY.find(type_)


def specs() -> tuple[ResourceSpec, ...]:
    """Every spec, in dependency order (the project first)."""
    return REGISTRY.specs()


def project_spec() -> ResourceSpec:
    """The project's spec: the container of every other type (its addresses have no name part)."""
    return REGISTRY.specs()[0]


def types() -> tuple[str, ...]:
    return tuple(s.type for s in REGISTRY.specs())


def child_specs() -> tuple[ResourceSpec, ...]:
    """The types of the objects inside a project, in observation order."""
    return tuple(s for s in REGISTRY.specs() if s.named)


def generation() -> int:
    return REGISTRY.generation
