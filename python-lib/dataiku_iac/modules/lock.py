"""`iac.lock.yml`: what every non-local module call resolved to, so that a plan reads the same
files on every machine and at every run (docs/modules.md, "The lock file").

    # Written by dataiku-iac modules get / modules update: do not edit.
    version: 1
    declarations_hash: sha256:…     # of the (source, version) pairs of every call: edit ⇒ re-lock
    modules:
      - source: git+https://git.example/iac-modules.git//ingest
        version: "~> 1.2"            # the constraint as written (absent when none)
        kind: git                    # git | registry | std
        resolved: 1.2.3              # the version chosen, when the source has versions
        commit: 9f1c…                # the Git commit (absent for std)
        content_hash: h1:…           # modules/hashing.py
        calls: [orders]              # the names of the calls using it (for `modules update NAME`)

An entry is keyed by (source, version) as written in the call: calls that write them the same
share it. Local modules (./, ../) are not locked: they are files of the configuration itself,
versioned with it; their content hash still enters the configuration's digest.

Modes: `verify` (plan, validate: an entry must exist and match; nothing written), `record`
(`modules get`: an existing entry is honoured, a missing one resolved and added; with
`refresh`, those keys are resolved anew: `modules update`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from dataiku_iac.config.files import replace_text
from dataiku_iac.config.paths import render_path
from dataiku_iac.errors import ConfigError, Diagnostic
from dataiku_iac.modules.definition import read_yaml_file

LOCK_FILE = "iac.lock.yml"
LOCK_VERSION = 1
HEADER = "# Written by dataiku-iac modules get / modules update: do not edit by hand.\n"
Key = tuple[str, str]  # (source, version constraint or "")
_KINDS = ("git", "registry", "std")
_FETCHED = ("git", "registry")  # kinds read from a Git repository: pinned by a commit
_COMMIT = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")  # a full SHA-1 or SHA-256 commit id


@dataclass(frozen=True)
class LockEntry:
    source: str
    version: Optional[str]
    kind: str
    content_hash: str
    commit: Optional[str] = None
    resolved: Optional[str] = None
    calls: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        return key_of(self.source, self.version)

    def to_yaml(self) -> dict[str, Any]:
        body: dict[str, Any] = {"source": self.source}
        if self.version:
            body["version"] = self.version
        body["kind"] = self.kind
        if self.resolved:
            body["resolved"] = self.resolved
        if self.commit:
            body["commit"] = self.commit
        body["content_hash"] = self.content_hash
        if self.calls:
            body["calls"] = sorted(self.calls)
        return body


def key_of(source: str, version: Optional[str]) -> Key:
    return (source.strip(), (version or "").strip())


def declarations_hash(keys: Iterable[Key]) -> str:
    """The hash of the set of (source, version) pairs the calls declare (local ones excluded)."""
    text = json.dumps(sorted(set(keys)), separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class ModuleLock:
    path: Path
    entries: dict[Key, LockEntry] = field(default_factory=dict)
    declarations: Optional[str] = None  # declarations_hash as read
    declarations_line: int = 0  # its line in the file (0: not written there)
    exists: bool = False
    mode: str = "verify"
    refresh: Optional[set[Key]] = None  # record mode: keys to resolve anew (None: none)
    changed: bool = False

    @property
    def file(self) -> str:
        return LOCK_FILE

    def pinned(self, key: Key) -> Optional[LockEntry]:
        """The entry to honour for `key` (None: resolve it, or in verify mode fail)."""
        if self.mode == "record" and self.refresh is not None and key in self.refresh:
            return None
        return self.entries.get(key)

    def record(self, entry: LockEntry) -> None:
        old = self.entries.get(entry.key)
        if old is not None:
            entry = replace(entry, calls=tuple(sorted(set(old.calls) | set(entry.calls))))
        if old != entry:
            self.entries[entry.key] = entry
            self.changed = True

    def set_calls(self, key: Key, calls: Iterable[str]) -> None:
        entry = self.entries.get(key)
        if entry is not None and set(entry.calls) != set(calls):
            self.entries[key] = replace(entry, calls=tuple(sorted(set(calls))))
            self.changed = True

    def keep_only(self, keys: Iterable[Key]) -> list[LockEntry]:
        """Drop the entries no call uses any more; the dropped ones."""
        wanted = set(keys)
        dropped = [e for k, e in self.entries.items() if k not in wanted]
        for entry in dropped:
            del self.entries[entry.key]
            self.changed = True
        return dropped

    def check_declarations(self, keys: Iterable[Key]) -> list[Diagnostic]:
        """Warnings when the calls' declarations no longer match what the lock was written for
        but every call still has its entry (the missing ones are errors of resolve_module)."""
        keys = set(keys)
        if not self.exists or self.declarations == declarations_hash(keys):
            return []
        stale = sorted(k for k in self.entries if k not in keys)
        if not stale:  # calls added or changed: their missing entries are the errors to show
            return []
        return [Diagnostic(LOCK_FILE, self.declarations_line, 0, "declarations_hash",
                           f"{LOCK_FILE} was written for other module calls "
                           f"({', '.join(_label(k) for k in stale)} no longer called)",
                           "run `dataiku-iac modules get` to tidy the lock file", severity="warning")]

    def write(self, keys: Iterable[Key]) -> None:
        """Write the lock (atomically), its declarations hash over `keys`."""
        keys = list(keys)
        body = {
            "version": LOCK_VERSION,
            "declarations_hash": declarations_hash(keys),
            "modules": [self.entries[k].to_yaml() for k in sorted(self.entries)],
        }
        text = HEADER + yaml.safe_dump(body, sort_keys=False, default_flow_style=False, allow_unicode=True)
        replace_text(self.path, text)
        self.declarations = declarations_hash(keys)
        self.exists = True
        self.changed = False


def _label(key: Key) -> str:
    return f"{key[0]} ({key[1]})" if key[1] else key[0]


def load_lock(config_root: Path) -> ModuleLock:
    """The lock of the configuration (empty when there is none); ConfigError if unreadable."""
    path = Path(config_root) / LOCK_FILE
    lock = ModuleLock(path)
    if not path.exists() and not path.is_symlink():
        return lock
    data, marks, found = read_yaml_file(Path(config_root), LOCK_FILE, LOCK_FILE)
    errors = [d for d in found if d.severity == "error"]
    if errors:
        raise ConfigError(errors)
    lock.exists = True
    problems = _read_body(data, marks, lock)
    if problems:
        raise ConfigError(problems)
    return lock


_HINT = "the lock file is written by `dataiku-iac modules get`; remove it and run that command again"


def _read_body(data: Any, marks: Any, lock: ModuleLock) -> list[Diagnostic]:
    def problem(path: tuple, message: str) -> Diagnostic:
        mark = marks.get(path)
        return Diagnostic(LOCK_FILE, mark.line if mark else 0, mark.column if mark else 0,
                          render_path(path), message, _HINT)

    if data is None:
        return []
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        return [problem(("version",), f"unsupported lock file (expected 'version: {LOCK_VERSION}')")]
    declared = data.get("declarations_hash")
    lock.declarations = declared if isinstance(declared, str) else None
    mark = marks.get(("declarations_hash",))
    lock.declarations_line = mark.line if mark else 0
    items = data.get("modules")
    if items is None:
        items = []
    if not isinstance(items, list):
        return [problem(("modules",), "'modules' must be a list")]
    problems = []
    for i, item in enumerate(items):
        entry = _entry(item)
        if isinstance(entry, str):
            problems.append(problem(("modules", i), entry))
        elif entry.key in lock.entries:
            problems.append(problem(("modules", i), f"a second entry for {_label(entry.key)}"))
        else:
            lock.entries[entry.key] = entry
    return problems


def _entry(item: Any) -> LockEntry | str:
    if not isinstance(item, dict):
        return "an entry must be a mapping"
    strings = ("source", "version", "kind", "resolved", "commit", "content_hash")
    for name in strings:
        if item.get(name) is not None and not isinstance(item[name], str):
            return f"'{name}' must be a string"
    if not item.get("source") or not str(item.get("content_hash", "")).startswith("h1:"):
        return "an entry needs a 'source' and a 'content_hash' (h1:…)"
    if item.get("kind") not in _KINDS:
        return f"'kind' must be one of {', '.join(_KINDS)}"
    if item["kind"] in _FETCHED and not _COMMIT.match(item.get("commit") or ""):
        # without it a run would read whatever a branch name points at, or look for commit ''
        return f"a {item['kind']} entry needs its 'commit' (the full hexadecimal commit id)"
    calls = item.get("calls") or []
    if not isinstance(calls, list) or not all(isinstance(c, str) for c in calls):
        return "'calls' must be a list of call names"
    return LockEntry(
        source=item["source"], version=item.get("version"), kind=item["kind"], content_hash=item["content_hash"],
        commit=item.get("commit"), resolved=item.get("resolved"), calls=tuple(calls),
    )
