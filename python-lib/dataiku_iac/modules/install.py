"""`modules get` and `modules update`: resolve every module call of the configuration and
write iac.lock.yml (docs/modules.md, "The lock file").

The calls are the `modules:` entries of the project files (projects/*.yml, and projects/*.py
run as the loader runs them). Every call is
resolved (a local one too, so that its mistakes show now); the non-local ones are locked.
`get` honours the entries already in the lock and adds the missing ones; `update` resolves
anew the calls it names (all without names) and keeps the others. Entries no call uses any
more are dropped. Nothing is written when a call fails: all problems are reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from dataiku_iac.config.files import list_yaml_files
from dataiku_iac.config.paths import render_path
from dataiku_iac.config.pyconfig import is_python_file, list_python_files, load_python_project
from dataiku_iac.config.variables import MODULE_SOURCE_WITH_VARIABLE, MODULE_SOURCE_WITH_VARIABLE_HINT
from dataiku_iac.errors import ConfigError, Diagnostic, IacError
from dataiku_iac.modules.definition import read_yaml_file
from dataiku_iac.modules.lock import Key, LockEntry, declarations_hash, key_of, load_lock
from dataiku_iac.modules.sources import ResolvedModule, is_local, resolve_module


@dataclass(frozen=True)
class ModuleCall:
    name: str
    source: str
    version: Optional[str]
    file: str
    line: int
    path: str  # YAML path of its `source`, e.g. modules[1].source
    column: int = 0  # of its `source` value

    @property
    def key(self) -> Key:
        return key_of(self.source, self.version)

    @property
    def locked(self) -> bool:
        return not is_local(self.source.strip())


@dataclass
class LockReport:
    """What a get/update did: each call with what it resolved to, and the lock's changes."""

    calls: list[tuple[ModuleCall, ResolvedModule]] = field(default_factory=list)
    added: list[LockEntry] = field(default_factory=list)
    updated: list[tuple[LockEntry, LockEntry]] = field(default_factory=list)  # (before, after)
    dropped: list[LockEntry] = field(default_factory=list)
    written: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "modules": [
                {"call": c.name, "file": c.file, "line": c.line, "source": c.source, "version": c.version,
                 "kind": r.kind, "resolved": r.version, "commit": r.commit, "content_hash": r.content_hash,
                 "locked": c.locked}
                for c, r in self.calls
            ],
            "added": [e.to_yaml() for e in self.added],
            "updated": [{"before": b.to_yaml(), "after": a.to_yaml()} for b, a in self.updated],
            "dropped": [e.to_yaml() for e in self.dropped],
            "lock_written": self.written,
        }


def collect_calls(config_root: Path) -> list[ModuleCall]:
    """The module calls of every project file, in file order; ConfigError if one is unreadable
    or a call is malformed where the lock needs it (name, source, version)."""
    calls: list[ModuleCall] = []
    problems: list[Diagnostic] = []
    for rel in sorted(list_yaml_files(config_root, "projects") + list_python_files(config_root, "projects")):
        data, marks = _read_python(config_root, rel, problems) if is_python_file(rel) else _read(config_root, rel, problems)
        entries = data.get("modules") if isinstance(data, dict) else None
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(_at(rel, marks, ("modules",), "'modules' must be a list of module calls"))
            continue
        for i, entry in enumerate(entries):
            call = _call(rel, marks, i, entry, problems)
            if call is not None:
                calls.append(call)
    if problems:
        raise ConfigError(problems)
    return calls


def _read(root: Path, rel: str, problems: list[Diagnostic]) -> tuple[Any, Any]:
    data, marks, found = read_yaml_file(root, rel, rel)
    problems.extend(d for d in found if d.severity == "error")
    return data, marks


def _read_python(root: Path, rel: str, problems: list[Diagnostic]) -> tuple[Any, Any]:
    """A Python project file, run as the loader runs it (config/pyconfig.py)."""
    loaded = load_python_project(root, rel)
    problems.extend(d for d in loaded.diagnostics if d.severity == "error")
    return loaded.data, loaded.marks


def _at(file: str, marks: Any, path: tuple, message: str, hint: Optional[str] = None, *, value: bool = False) -> Diagnostic:
    """A diagnostic at the entry `path` (its key), or at its value (`value`), as the loader places them."""
    mark = marks.get(path)
    line, column = ((mark.line, mark.column) if value else mark.entry_position()) if mark is not None else (0, 0)
    return Diagnostic(file, line, column, render_path(path), message, hint)


def _call(rel: str, marks: Any, i: int, entry: Any, problems: list[Diagnostic]) -> Optional[ModuleCall]:
    here = ("modules", i)
    if not isinstance(entry, dict):
        problems.append(_at(rel, marks, here, "a module call is a mapping with name, source, version and inputs"))
        return None
    name, source, version = entry.get("name"), entry.get("source"), entry.get("version")
    bad = [(k, m) for k, v, m in (("name", name, "a call needs a 'name'"), ("source", source, "a call needs a 'source'"))
           if not isinstance(v, str) or not v.strip()]
    if version is not None and not isinstance(version, str):
        bad.append(("version", "'version' must be a string such as \"~> 1.2\""))
    if isinstance(source, str) and "${" in source:
        problems.append(_at(rel, marks, (*here, "source"), MODULE_SOURCE_WITH_VARIABLE, MODULE_SOURCE_WITH_VARIABLE_HINT, value=True))
        return None
    for key, message in bad:
        problems.append(_at(rel, marks, (*here, key) if key in entry else here, message))
    if bad:
        return None
    value = marks.get((*here, "source"))
    mark = value or marks.get(here)
    line = mark.line if mark is not None else 0
    return ModuleCall(str(name), str(source), version, rel, line, render_path((*here, "source")),
                      value.column if value is not None else 0)


def lock_modules(config_root: Path, *, update: Optional[Iterable[str]] = None, offline: bool = False) -> LockReport:
    """`modules get` (update None) or `modules update` (update: call names or sources; empty:
    all). Raises ConfigError with every problem; writes the lock only when all calls resolved."""
    calls = collect_calls(config_root)
    lock = load_lock(config_root)
    before = dict(lock.entries)
    lock.mode = "record"
    lock.refresh = _refresh(calls, update) if update is not None else None
    report, problems = LockReport(), []
    for call in calls:
        try:
            found = resolve_module(config_root, call.source, call.version, call_file=call.file, call_line=call.line, call_column=call.column,
                                   lock=lock, offline=offline, call_path=call.path)
        except ConfigError as exc:
            problems.extend(exc.diagnostics)
            continue
        report.calls.append((call, found))
    if problems:
        raise ConfigError(problems)
    keys = [c.key for c in calls if c.locked]
    for key in set(keys):
        lock.set_calls(key, sorted({c.name for c in calls if c.key == key}))
    report.dropped = lock.keep_only(keys)
    for key, entry in sorted(lock.entries.items()):
        old = before.get(key)
        if old is None:
            report.added.append(entry)
        elif (old.commit, old.content_hash) != (entry.commit, entry.content_hash):
            report.updated.append((old, entry))
    if lock.changed or (lock.exists and lock.declarations != declarations_hash(keys)) or (keys and not lock.exists):
        lock.write(keys)
        report.written = True
    return report


def _refresh(calls: list[ModuleCall], names: Iterable[str]) -> set[Key]:
    """The lock keys of the calls `names` names (by call name or source); all when empty."""
    wanted = list(names)
    if not wanted:
        return {c.key for c in calls}
    keys, unknown = set(), []
    for name in wanted:
        matched = {c.key for c in calls if name in (c.name, c.source)}
        if not matched:
            unknown.append(name)
        keys |= matched
    if unknown:
        known = ", ".join(sorted({c.name for c in calls})) or "none"
        raise IacError(f"no module call named {', '.join(repr(u) for u in unknown)} (calls: {known})")
    return keys
