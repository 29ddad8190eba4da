"""Module registries: a Git repository of modules with an index file at its root.

``index.yml`` (docs/modules.md, "Registries")::

    registry: 1
    modules:
      ingest_sql:                       # the module's name: [a-z][a-z0-9_]*
        path: ingest_sql                # its directory in the repository
        description: One line shown by `modules search`
        keywords: [ingestion, sql]      # optional, searched too

A module's versions are the repository's tags ``NAME/vX.Y.Z`` (Go's convention for several
modules in one repository): ``REGISTRY/NAME`` with ``version: "~> 1.2"`` picks the newest
matching tag, then reads ``path`` from the index *at that tag*. Registries are named in
iac.yml (``module_registries: {acme: git+https://git.example/acme/iac-modules.git}``); the
name ``std`` is the standard library shipped with dataiku-iac (``modules/std/`` in the package,
same index format; a module's version is the ``version:`` of its module.yml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from dataiku_iac.config.files import ConfinedReadError, check_relative_path, read_confined
from dataiku_iac.config.yamlsafe import decode_utf8, parse_yaml
from dataiku_iac.errors import Diagnostic

INDEX_FILE = "index.yml"
STD = "std"
STD_ROOT = Path(__file__).resolve().parent / "std"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
REGISTRY_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class IndexEntry:
    name: str
    path: str
    description: str = ""
    keywords: tuple[str, ...] = ()


@dataclass
class Index:
    modules: dict[str, IndexEntry] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)

    def search(self, text: str) -> list[IndexEntry]:
        """The modules whose name, description or keywords hold every word of `text` (any case)."""
        words = text.lower().split()
        found = []
        for entry in self.modules.values():
            haystack = " ".join((entry.name, entry.description, *entry.keywords)).lower()
            if all(word in haystack for word in words):
                found.append(entry)
        return sorted(found, key=lambda e: e.name)


def parse_index(raw: bytes, file: str) -> Index:
    """The index in `raw`; what is wrong with it goes to `problems` (the rest is still read)."""
    index = Index()
    text, problem = decode_utf8(raw, file)
    if problem is not None or text is None:
        index.problems.append(problem or Diagnostic(file, 0, 0, "", "unreadable"))
        return index
    parsed = parse_yaml(text, file)
    if not parsed.usable:
        index.problems.extend(parsed.diagnostics)
        return index
    data = parsed.data

    def problem_at(path: tuple, key: str, message: str) -> None:
        mark = parsed.marks.get(path)
        line = mark.line if mark is not None else 0
        index.problems.append(Diagnostic(file, line, 0, key, message))

    if not isinstance(data, dict) or data.get("registry") != 1:
        problem_at((), "registry", "a registry index starts with 'registry: 1'")
        return index
    modules = data.get("modules")
    if not isinstance(modules, dict):
        problem_at(("modules",), "modules", "'modules' must map each module name to its path and description")
        return index
    for name, body in modules.items():
        entry = _entry(name, body, lambda key, msg, n=name: problem_at(("modules", n), f"modules.{n}{key}", msg))
        if entry is not None:
            index.modules[name] = entry
    return index


def _entry(name: str, body: Any, problem: Any) -> Optional[IndexEntry]:
    if not NAME.match(name):
        problem("", "a module name is lowercase letters, digits and '_', starting with a letter")
        return None
    if not isinstance(body, dict) or not isinstance(body.get("path"), str):
        problem(".path", "each module needs a 'path' (its directory in the repository)")
        return None
    path = body["path"].strip().strip("/")
    bad = check_relative_path(path)
    if bad is not None:
        problem(".path", bad.message)
        return None
    keywords = body.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        problem(".keywords", "'keywords' must be a list of strings")
        keywords = []
    description = body.get("description")
    return IndexEntry(name, path, description if isinstance(description, str) else "", tuple(keywords))


def std_index() -> Index:
    """The standard library's index (read once per process: it is package data)."""
    global _std_index
    if _std_index is None:
        _std_index = _read_std_index()
    return _std_index


_std_index: Optional[Index] = None


def _read_std_index() -> Index:
    try:
        raw = read_confined(STD_ROOT, INDEX_FILE)
    except ConfinedReadError as exc:  # a broken installation
        return Index(problems=[Diagnostic(f"std/{INDEX_FILE}", 0, 0, "", exc.problem.message)])
    return parse_index(raw, f"std/{INDEX_FILE}")


def configured_registries(config_root: Path) -> dict[str, str]:
    """iac.yml's `module_registries`, name -> Git URL (without the git+ prefix). The schema
    (iac.schema.json) checks the shape; what it would refuse is left out here."""
    try:
        raw = read_confined(config_root, "iac.yml")
    except ConfinedReadError:
        return {}
    found = yaml_mapping(raw, "iac.yml").get("module_registries")
    if not isinstance(found, dict):
        return {}
    return {k: v[len("git+"):] for k, v in found.items() if isinstance(v, str) and v.startswith("git+") and k != STD}


def module_tag_version(tag: str, name: str) -> Optional[str]:
    """"1.2.0" for the tag "NAME/v1.2.0" (or "NAME/1.2.0"); None for another module's tag."""
    prefix = f"{name}/"
    return tag[len(prefix):] if tag.startswith(prefix) else None


# -- browsing: `modules search` and `modules show` ----------------------------------------------


@dataclass
class ModuleInfo:
    """One module of a registry as `modules show` presents it."""

    registry: str
    entry: IndexEntry
    versions: list[str]  # newest first
    definition: Optional[dict[str, Any]] = None  # its module.yml at the newest version, as parsed
    readme: bool = False

    @property
    def source(self) -> str:
        return f"{self.registry}/{self.entry.name}"


@dataclass
class RegistryView:
    """A registry's index with its modules' versions, and a way to read a module's files."""

    name: str
    index: Index
    versions: dict[str, list[str]]
    read: Callable[[str, str], Optional[bytes]]  # (module name, path in its directory) -> bytes

    def info(self, module: str, with_definition: bool = False) -> Optional[ModuleInfo]:
        entry = self.index.modules.get(module)
        if entry is None:
            return None
        info = ModuleInfo(self.name, entry, self.versions.get(module, []))
        if with_definition:
            raw = self.read(module, "module.yml")
            if raw is not None:
                info.definition = yaml_mapping(raw, "module.yml") or None
            info.readme = self.read(module, "README.md") is not None
        return info


def open_registry(config_root: Path, name: str, *, offline: bool = False) -> RegistryView:
    """The registry `name` (std, or one of iac.yml's module_registries); SourceError when it
    cannot be read, KeyError when no registry has that name."""
    if name == STD:
        return _std_view()
    url = configured_registries(config_root).get(name)
    if url is None:
        raise KeyError(name)
    return _git_view(name, url, offline)


def registry_names(config_root: Path) -> list[str]:
    return [STD, *sorted(configured_registries(config_root))]


def _std_view() -> RegistryView:
    index = std_index()
    versions = {}
    for name, entry in index.modules.items():
        version = version_in(_std_read(entry, "module.yml"))
        versions[name] = [version] if version else []

    def read(module: str, rel: str) -> Optional[bytes]:
        entry = index.modules.get(module)
        return _std_read(entry, rel) if entry else None

    return RegistryView(STD, index, versions, read)


def _std_read(entry: IndexEntry, rel: str) -> Optional[bytes]:
    try:
        return read_confined(STD_ROOT, f"{entry.path}/{rel}")
    except ConfinedReadError:
        return None


def version_in(raw: Optional[bytes]) -> Optional[str]:
    """The `version:` a module.yml's bytes declare (None when it declares none or is unreadable)."""
    value = yaml_mapping(raw, "module.yml").get("version") if raw is not None else None
    return str(value) if value is not None else None


def yaml_mapping(raw: bytes, file: str) -> dict[str, Any]:
    """The top-level mapping of a YAML file's bytes; {} when they are not one. For browsing and
    look-ups only: what is wrong with the file is reported by whatever reads it in earnest (the
    loader, the module's resolution)."""
    text, _ = decode_utf8(raw, file)
    parsed = parse_yaml(text or "", file)
    return parsed.data if parsed.usable and isinstance(parsed.data, dict) else {}


def _git_view(name: str, url: str, offline: bool) -> RegistryView:
    from dataiku_iac.modules.cache import cache_root, git_cache
    from dataiku_iac.modules.versions import Version
    from dataiku_iac.sources.common import SourceError
    from dataiku_iac.sources.git import open_repository

    files: dict[tuple[str, str], Optional[bytes]] = {}
    with open_repository(url, git_cache(cache_root()), fetch=not offline) as repo:
        head = repo.resolve("HEAD")
        raw = repo.show(head, INDEX_FILE)
        if raw is None:
            raise SourceError(f"registry '{name}' has no {INDEX_FILE} at the head of its default branch")
        index = parse_index(raw, f"{name}:{INDEX_FILE}")
        tags = repo.tags()
        versions: dict[str, list[str]] = {}
        for module, entry in index.modules.items():
            found = [(v, t) for t in tags if (v := Version.of_tag(module_tag_version(t, module) or "")) is not None]
            found.sort(reverse=True)
            versions[module] = [str(v) for v, _ in found]
            commit = repo.resolve(found[0][1]) if found else head
            for rel in ("module.yml", "README.md"):
                files[(module, rel)] = repo.show(commit, f"{entry.path}/{rel}")
    return RegistryView(name, index, versions, lambda module, rel: files.get((module, rel)))
