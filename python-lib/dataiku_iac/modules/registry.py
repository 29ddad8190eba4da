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
from typing import Any, Optional

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
    try:
        raw = read_confined(STD_ROOT, INDEX_FILE)
    except ConfinedReadError as exc:  # a broken installation
        return Index(problems=[Diagnostic(f"std/{INDEX_FILE}", 0, 0, "", exc.problem.message)])
    return parse_index(raw, f"std/{INDEX_FILE}")


def module_tag_version(tag: str, name: str) -> Optional[str]:
    """"1.2.0" for the tag "NAME/v1.2.0" (or "NAME/1.2.0"); None for another module's tag."""
    prefix = f"{name}/"
    return tag[len(prefix):] if tag.startswith(prefix) else None
