"""What the loader hands to the model builder: located documents and the loaded config."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

from ..errors import Diagnostic
from .paths import Mark, MarkMap, YamlPath, nearest_mark, render_path, source_path_for


def position(mark: Optional[Mark], exact: bool, where: str) -> Tuple[int, int]:
    """(line, column) to report: the key or the value of the node, or its entry start."""
    if mark is None:
        return 0, 0
    if not exact or where == "entry":
        return mark.entry_position()
    if where == "key" and mark.key_line:
        return mark.key_line, mark.key_column
    return mark.line, mark.column


class Located:
    """A document plus the marks of its nodes (which may come from several files)."""

    file: str
    marks: MarkMap

    def locate(self, path: YamlPath) -> Tuple[int, int]:
        """(line, column) of the node at `path`, or of its nearest marked ancestor.

        For a mapping entry this is where its key starts; for a list item, where the item starts.
        """
        mark, _ = nearest_mark(self.marks, tuple(path))
        return position(mark, False, "entry")

    def diagnostic(self, path: YamlPath, message: str, hint: Optional[str] = None,
                   severity: str = "error", where: str = "entry") -> Diagnostic:
        """A diagnostic at `path`, in the file the node came from (an override lives in the env file)."""
        path = tuple(path)
        mark, shown = source_path_for(self.marks, path)
        exact = mark is not None and self.marks.get(path) is mark
        line, column = position(mark, exact, where)
        file = mark.file if mark is not None else self.file
        return Diagnostic(file, line, column, render_path(shown), message, hint, severity)


@dataclass(frozen=True)
class ModuleOrigin:
    """Where an item that a module call brought into a project document comes from: the module
    instance (`orders`, `ingest[customers]`), the call site, and the instance's own objects
    (type -> name in the module -> DSS name), which its references resolve to first."""

    instance: str
    call_file: str
    call_line: int
    local: Dict[str, Dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def where(self) -> str:
        return f"module.{self.instance}, called at {self.call_file}:{self.call_line}"


@dataclass
class ProjectDocument(Located):
    """One project file, effective: variables substituted and overrides applied."""

    file: str
    data: Dict[str, Any]
    files: Dict[str, str] = field(default_factory=dict)
    marks: MarkMap = field(default_factory=dict, repr=False, compare=False)
    # Paths of the nodes the loader found wrong (schema, duplicates, unreadable code files): the
    # model builder skips them and reports nothing under them (no follow-on errors).
    flagged: Set[YamlPath] = field(default_factory=set, repr=False, compare=False)
    # The environment's overrides applied to this document: (target path, address as written).
    overridden: List[Tuple[YamlPath, str]] = field(default_factory=list, repr=False, compare=False)
    # The items module calls added: (section, index) -> where they come from (modules/expand.py).
    module_items: Dict[YamlPath, ModuleOrigin] = field(default_factory=dict, repr=False, compare=False)
    # The values of the sensitive inputs of the module calls expanded here (modules/expand.py).
    sensitive_values: Set[str] = field(default_factory=set, repr=False, compare=False)

    def module_origin(self, path: YamlPath) -> Optional[ModuleOrigin]:
        """The module call that brought the item holding `path`, if one did."""
        return self.module_items.get(tuple(path[:2])) if self.module_items and len(path) >= 2 else None

    def diagnostic(self, path: YamlPath, message: str, hint: Optional[str] = None,
                   severity: str = "error", where: str = "entry") -> Diagnostic:
        """As `Located.diagnostic`; for an item of a module, the message also names the call site
        (the file and line are the module file's)."""
        diagnostic = super().diagnostic(path, message, hint, severity, where)
        origin = self.module_origin(path)
        if origin is None:
            return diagnostic
        return replace(diagnostic, message=f"{diagnostic.message} (in {origin.where()})")

    def file_of(self, path: YamlPath) -> str:
        """The file the node at `path` was read from (a module's file for a module's item)."""
        mark, _ = nearest_mark(self.marks, tuple(path))
        return mark.file if mark is not None else self.file

    def is_flagged(self, path: YamlPath) -> bool:
        """Whether the node at `path`, or one of its ancestors, was found wrong by the loader."""
        path = tuple(path)
        return bool(self.flagged) and any(path[:i] in self.flagged for i in range(len(path) + 1))

    @property
    def key(self) -> Optional[str]:
        """The project key as written, or None when it is missing or not a string (a schema error)."""
        project = self.data.get("project")
        key = project.get("key") if isinstance(project, dict) else None
        return key if isinstance(key, str) else None


def blame_override(doc: ProjectDocument, env: Located, path: YamlPath, message: str,
                   hint: Optional[str] = None) -> Diagnostic:
    """A problem at `path` of `doc` that only the environment's overrides brought in, located in
    the environment file: at the override entry (or the key it changed, such as a `null` that
    removed a required key) whose target holds `path`, else at the first override of `doc`."""
    path = tuple(path)
    holding = [(target, text) for target, text in doc.overridden if path[: len(target)] == tuple(target)]
    target, text = max(holding, key=lambda t: len(t[0])) if holding else doc.overridden[0]
    inside = path[len(target):] if holding else ()
    where = f"{render_path(path)} of {doc.file}" if path else doc.file
    return env.diagnostic(("overrides", text, *inside), f"{message} (at {where}, once this override is applied)",
                          hint, where="key")


@dataclass
class EnvironmentConfig(Located):
    name: str
    file: str
    data: Dict[str, Any]
    marks: MarkMap = field(default_factory=dict, repr=False, compare=False)


@dataclass
class LoadedConfig:
    root: Path
    settings: Dict[str, Any]
    environment: Optional[EnvironmentConfig]
    projects: List[ProjectDocument]
    warnings: List[Diagnostic]
    digest: str
    # Errors found while loading, when loaded with strict=False (else load_config raises them).
    errors: List[Diagnostic] = field(default_factory=list)
    # Where iac.yml's nodes are, for diagnostics about settings checked after loading.
    settings_marks: MarkMap = field(default_factory=dict, repr=False, compare=False)

    @property
    def policies(self) -> Dict[str, Any]:
        """iac.yml policies with the environment's on top."""
        return _merged(self.settings.get("policies", {}), self._env_section("policies"))

    @property
    def state(self) -> Dict[str, Any]:
        """iac.yml state backend settings with the environment's on top. An environment that
        picks another backend starts afresh: iac.yml's options (a local `path`) are not its own."""
        base, top = self.settings.get("state") or {}, self._env_section("state")
        if top.get("backend", base.get("backend", "local")) != base.get("backend", "local"):
            base = {}
        spec = _merged(base, top)
        spec.setdefault("backend", "local")
        return spec

    def project(self, key: str) -> Optional[ProjectDocument]:
        return next((p for p in self.projects if p.key == key), None)

    def state_diagnostic(self, key: str, message: str, hint: Optional[str] = None) -> Diagnostic:
        """A diagnostic at `state.<key>` of the file that sets it: the environment file when its
        `state:` section does (it wins over iac.yml), else iac.yml."""
        if self.environment is not None and key in self._env_section("state"):
            return self.environment.diagnostic(("state", key), message, hint, where="value")
        mark, _ = nearest_mark(self.settings_marks, ("state", key))
        line, column = position(mark, mark is not None and self.settings_marks.get(("state", key)) is mark, "value")
        return Diagnostic("iac.yml", line, column, f"state.{key}", message, hint)

    def _env_section(self, name: str) -> Dict[str, Any]:
        return self.environment.data.get(name, {}) if self.environment else {}


def _merged(base: Dict[str, Any], top: Dict[str, Any]) -> Dict[str, Any]:
    result = copy.deepcopy(base)
    result.update(copy.deepcopy(top))
    return result
