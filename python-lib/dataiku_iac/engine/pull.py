"""`pull`: write the changes made in DSS behind the tool's back into the configuration.

What `drift` reports as `changed` is translated into the configuration's own vocabulary by the
resource specs' `to_config` (the translation `import` uses): the item as the last apply recorded
it and the item with DSS's values, compared, give the config keys that changed and their new
values. Each is then found in the project file by the item's key (name, id) and written with
`config/patch.py` (comments, key order, quoting kept). A value is *reported* and left for the user,
never written, when:

- it came from a `${variable}` of the environment (the file says `${OWNER}`) or from an
  environment override (`overrides:` in environments/<env>.yml): the place to change is not the
  project file, and the same file serves other environments;
- the configuration says something else there than what was applied (a change not applied yet,
  or the value written in another form), or the value cannot be found in a YAML project file;
- it is a secret (a `{secret_env: NAME}` reference, a sensitive field): secrets live in the secret
  source, never in YAML;
- the object was renamed, deleted or created in DSS: `state mv`, `state rm` or apply, `import`.

The patched configuration is built again before anything is written: each resource must now
describe what DSS has (the planner's comparison), and no other resource may change; a patch
that does not is dropped and reported. Then, under the state lock, the files are written and the
state records the pulled values as applied (as Terraform's refresh does), with the object's
version when nothing of it still differs: `plan` then says `No changes.` and `drift` is clean.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from dataiku_iac.address import Address, address_of, project_of
from dataiku_iac.builder import check_config
from dataiku_iac.commands import command_line
from dataiku_iac.compliance.rules import is_rule_finding
from dataiku_iac.config import overrides as ov
from dataiku_iac.config.files import FileEdits
from dataiku_iac.config.patch import APPEND, INSERT, REMOVE, SET, Edit, PatchError, patch_text
from dataiku_iac.config.paths import YamlPath, nearest_mark, render_path
from dataiku_iac.config.yamlsafe import parse_yaml
from dataiku_iac.defaults import LOCAL_STATE_PATH
from dataiku_iac.engine.drift import DriftItem
from dataiku_iac.errors import ConfigError, IacError, remember_secret
from dataiku_iac.resources.registry import handler_for, spec_for
from dataiku_iac.secrets import assume_recorded

_MISSING = object()
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_REFERENCE = re.compile(r"(?<!\$)\$\{([^}]*)\}")  # any `${…}`: a module's output, a variable
_YAML_SUFFIXES = (".yml", ".yaml")
_KEYS = ("name", "id")  # the key of a list of items: patched by it, not by position


@dataclass(frozen=True)
class _Key:
    """A path element naming a list item by its key (`columns[name=amount]`)."""

    field: str
    value: Any

    def __str__(self) -> str:
        return f"[{self.field}={self.value}]"


@dataclass(frozen=True)
class _Change:
    """One config key of an item that DSS changed: `path` inside the item."""

    path: tuple[Any, ...]
    old: Any  # _MISSING: the key was not written
    new: Any  # _MISSING: DSS's value is written by leaving the key out
    op: str = SET


@dataclass
class PullResult:
    environment: str
    dry_run: bool
    patched: list[dict[str, Any]] = field(default_factory=list)  # {address, file, line, path, value}
    reported: list[dict[str, Any]] = field(default_factory=list)  # {address, kind, path, reason, where, dss_value, hint}
    files: dict[str, tuple[str, str]] = field(default_factory=dict)  # rel -> (before, after)
    state_serial: Optional[int] = None  # the state written (None: not written)
    checked: int = 0

    @property
    def diff(self) -> str:
        chunks: list[str] = []
        for rel, (before, after) in sorted(self.files.items()):
            chunks.extend(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                               fromfile=f"a/{rel}", tofile=f"b/{rel}"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "environment": self.environment,
            "dry_run": self.dry_run,
            "checked": self.checked,
            "patched": self.patched,
            "reported": self.reported,
            "files": sorted(self.files),
            "state_serial": self.state_serial,
        }


# -- the importer's context, for `to_config` ------------------------------------------------------
class _ConfigWriter:
    """What a spec's `to_config` asks while it writes an item (engine/importer.py's context, without
    any file written): code files are kept, secrets replaced by a marked reference never written."""

    def __init__(self, key: str, env: dict[str, Any], declared: dict[tuple[str, str], dict[str, Any]]):
        self.key = key
        self._declared = declared  # (type, name) -> the logical attributes the configuration declares
        self.files: dict[str, str] = {}
        self.reasons: list[str] = []
        self._connections = {v: k for k, v in (env.get("connections") or {}).items()}
        self._code_envs = {v: k for k, v in (env.get("code_envs") or {}).items()}
        self._containers = {v: k for k, v in (env.get("containers") or {}).items()}

    def write(self, rel: str, text: str) -> None:
        self.files[rel] = text

    def config_connection(self, name: Optional[str]) -> Optional[str]:
        return self._connections.get(name, name) if name is not None else None

    def config_code_env(self, name: str) -> str:
        return self._code_envs.get(name, name)

    def config_container(self, name: str) -> str:
        return self._containers.get(name, name)

    def not_expressed(self, reason: str) -> None:
        self.reasons.append(reason)

    def declared(self, type_: str, name: str) -> Optional[dict[str, Any]]:
        return self._declared.get((type_, name))

    def exists(self, type_: str, name: str) -> bool:
        return True

    def secret(self, env_name: str, value: str, what: str) -> dict[str, Any]:
        remember_secret(value)  # never in a message
        return {"secret_env": env_name}


def _item(spec: Any, name: str, attributes: dict[str, Any], env: dict[str, Any], key: str,
          declared: dict[tuple[str, str], dict[str, Any]]) -> tuple[Optional[dict], _ConfigWriter]:
    writer = _ConfigWriter(key, env, declared)
    item = spec.to_config(name, copy.deepcopy(attributes), writer) if spec.to_config is not None else None
    return item, writer


# -- config-space differences ---------------------------------------------------------------------
def _list_key(items: list[Any]) -> Optional[str]:
    """The key the items of a list are known by (every item a mapping with a distinct one)."""
    for key in _KEYS:
        values = [i.get(key) for i in items if isinstance(i, dict)]
        if items and len(values) == len(items) and all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            return key
    return None


def diff_items(old: Any, new: Any, path: tuple[Any, ...] = ()) -> list[_Change]:
    """The changes that turn config value `old` into `new`: mapping keys one by one, lists of keyed
    items by key (items added appended, items removed removed), other lists and scalars whole."""
    if _same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[_Change] = []
        for key in [*new, *(k for k in old if k not in new)]:
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            if b is _MISSING:
                changes.append(_Change((*path, key), a, _MISSING, REMOVE))
            else:
                changes.extend(diff_items(a, b, (*path, key)))
        return changes
    if isinstance(old, list) and isinstance(new, list):
        keyed = _keyed_diff(old, new, path)
        if keyed is not None:
            return keyed
        if len(old) == len(new):  # item by item: the others keep their layout
            return [c for i, (a, b) in enumerate(zip(old, new)) for c in diff_items(a, b, (*path, i))]
        if _scalars(old) and _scalars(new) and set(old) <= set(new):
            # items added to a list of names (tags): the new ones at the end, the list's order kept
            return [_Change(path, _MISSING, v, APPEND) for v in new if v not in old]
    return [_Change(path, old, new)]


def _scalars(items: list[Any]) -> bool:
    return all(isinstance(v, (str, int, float, bool)) for v in items) and len(set(items)) == len(items)


def _keyed_diff(old: list[Any], new: list[Any], path: tuple[Any, ...]) -> Optional[list[_Change]]:
    key = _list_key(old)
    if key is None or _list_key(new) != key:
        return None
    before, after = [i[key] for i in old], [i[key] for i in new]
    kept = [k for k in after if k in before]
    if [k for k in before if k in after] != kept:
        return None  # reordered: the list is written whole
    changes: list[_Change] = []
    by_key = {i[key]: i for i in old}
    last_kept = max((i for i, k in enumerate(after) if k in before), default=-1)
    for index, item in enumerate(new):
        if item[key] in by_key:
            changes.extend(diff_items(by_key[item[key]], item, (*path, _Key(key, item[key]))))
        elif index < last_kept:  # between old items: inserted at its place, the others' comments kept
            changes.append(_Change((*path, index), _MISSING, item, INSERT))
        else:
            changes.append(_Change(path, _MISSING, item, APPEND))
    changes.extend(_Change((*path, _Key(key, k)), by_key[k], _MISSING, REMOVE) for k in before if k not in after)
    return changes


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _holds_secret(value: Any) -> bool:
    if isinstance(value, dict):
        return "secret_env" in value or any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _shown(value: Any) -> Any:
    """A DSS value as a report shows it: never a secret."""
    if value is _MISSING:
        return None
    return "(sensitive value)" if _holds_secret(value) else value


# -- the run --------------------------------------------------------------------------------------
class _Pull:
    def __init__(self, session: Any, observed: Any, dry_run: bool):
        self.session = session
        self.observed = observed
        self.cfg = session.config
        self.env = self.cfg.environment.data if self.cfg.environment is not None else {}
        self.result = PullResult(session.environment, dry_run, checked=observed.report.checked)
        self.texts: dict[str, str] = {}  # rel -> the file as read
        self.edits: dict[str, dict[str, list[Edit]]] = {}  # address -> rel -> edits
        self.code: dict[str, dict[str, str]] = {}  # address -> rel -> new text of a code file
        self.patched: dict[str, list[dict[str, Any]]] = {}  # address -> what its edits write

    # reports
    def report(self, item: DriftItem, kind: str, reason: str, *, path: str = "", where: str = "", dss_value: Any = None,
               hint: str = "") -> None:
        self.result.reported.append({"address": item.address, "kind": kind, "path": path, "reason": reason,
                                     "where": where, "dss_value": _shown(dss_value), "hint": hint})

    def run(self, items: list[DriftItem]) -> None:
        env = self.session.environment
        for item in items:
            if item.kind == "deleted":
                self.report(item, "deleted", "deleted in DSS",
                            hint=f"run `{command_line('apply', environment=env)}` to create it again, or remove it from the "
                                 f"configuration and run `{command_line('state rm', item.address, environment=env)}`")
            elif item.kind == "unmanaged":
                self.report(item, "unmanaged", "created in DSS; the configuration does not declare it",
                            hint=f"adopt it with `{command_line('import', item.address, environment=env)}"
                                 f"{' ID' if spec_for(item.type).identity.duplicates_possible else ''}`, "
                                 f"or delete it in DSS")
            else:
                self.pull_resource(item)

    def pull_resource(self, item: DriftItem) -> None:
        entry = self.observed.state.resources[item.address]
        spec = spec_for(item.type)
        policy = handler_for(item.type).policy
        pullable = []
        for f in item.fields:
            if f.name == "name" and f.name not in entry.attributes:  # drift's rename of an object found by id
                self.report(item, "renamed", f"renamed in DSS to {f.live!r}", path="name", dss_value=f.live,
                            hint=f"rename it in the configuration, then `{command_line('state mv', item.address, address_of(item.type, project_of(item.address), str(f.live)), environment=self.session.environment)}`")
            elif f.sensitive or policy.get(f.name).sensitive:
                self.report(item, "secret", "is a secret, changed in DSS: secrets are never written to the configuration",
                            path=f.name, dss_value="(sensitive value)", hint="set the new value in the secret source")
            else:
                pullable.append(f)
        if not pullable:
            return
        address = Address.parse(item.address)
        key = project_of(item.address)
        name = key if not spec.named else address.name
        live = copy.deepcopy(entry.attributes)
        for f in pullable:
            if f.live is None:
                live.pop(f.name, None)
            else:
                live[f.name] = copy.deepcopy(f.live)
        declared = {(r.type, r.name): r.attributes for r in self.observed.desired.resources.values() if r.config_project == key}
        old_item, old = _item(spec, name, entry.attributes, self.env, key, declared)
        new_item, new = _item(spec, name, live, self.env, key, declared)
        if old_item is None or new_item is None:
            why = "; ".join(dict.fromkeys(old.reasons + new.reasons)) or "it has no configuration form"
            self.report(item, "not_expressible", f"cannot be written: the configuration cannot express this object as DSS now has it: {why}",
                        path=", ".join(f.name for f in pullable))
            return
        written = self.declared_item(item)
        if spec.written_form is not None and isinstance(written, dict):  # the item's own words (`cron:`)
            old_item, new_item = spec.written_form(written, old_item), spec.written_form(written, new_item)
        changes = diff_items(old_item, new_item)
        self.locate(item, key, changes, old.files, new.files, new_item)

    def declared_item(self, item: DriftItem) -> Any:
        """The configuration's item for `item` as its project file has it (_MISSING if none)."""
        doc = self.cfg.project(project_of(item.address))
        target = ov.find_target(doc.data, Address.parse(item.address)) if doc is not None else None
        return _get(doc.data, target) if doc is not None and target is not None else _MISSING

    # finding each change in the project file
    def locate(self, item: DriftItem, key: str, changes: list[_Change], old_files: dict[str, str],
               new_files: dict[str, str], new_item: dict[str, Any]) -> None:
        doc = self.cfg.project(key)
        address = Address.parse(item.address)
        target = ov.find_target(doc.data, address) if doc is not None else None
        module = _module_call(doc, address) if doc is not None and target is None else None
        if module is not None:
            self.report(item, "module", f"comes from {module.where()}: not overwritten (a module's value is changed "
                        f"through its inputs or in the module itself)", where=f"{module.call_file}:{module.call_line}",
                        path=", ".join(f.name for f in item.fields))
            return
        if item.address not in self.observed.desired.resources:
            self.report(item, "not_declared", "the configuration does not declare it any more: the next apply deletes it",
                        hint="to keep it, declare it again (then pull), or `dataiku-iac state rm` it to leave it unmanaged")
            return
        if doc is None or target is None:
            self.report(item, "not_located", "the configuration's item for it was not found (not in a YAML project file?)")
            return
        if not doc.file.endswith(_YAML_SUFFIXES):
            self.report_python(item, doc, target, changes, sorted(set(old_files) | set(new_files)))
            return
        for change in changes:
            self.locate_one(item, doc, target, change)
        for rel in sorted(set(old_files) | set(new_files)):
            if old_files.get(rel) != new_files.get(rel):
                self.locate_code(item, doc, target, rel, old_files.get(rel), new_files.get(rel), new_item)

    def report_python(self, item: DriftItem, doc: Any, target: YamlPath, changes: list[_Change], code: list[str]) -> None:
        """Each change of an object a Python project file declares, reported with its config path,
        the .py file and line of the constructor that wrote it (the DSL records them) and DSS's value:
        pull does not write Python."""
        reason = f"declared in {doc.file}, which is not a YAML file: pull does not write Python; change it there by hand"
        for change in changes:
            path = _resolve(doc.data, (*target, *change.path)) or tuple(target)
            secret = _holds_secret(change.old) or _holds_secret(change.new) or change.path[-1:] == ("fingerprint",)
            self.report(item, "not_located", reason, path=render_path(path), where=_python_where(doc, path),
                        dss_value="(sensitive value)" if secret else change.new, hint="change the Python code that builds it")
        if code:  # a code file or inline code the object holds
            self.report(item, "not_located", f"its code changed in DSS; {reason}", path=render_path(tuple(target)),
                        where=_python_where(doc, tuple(target)), hint="copy the code from DSS by hand")

    def locate_one(self, item: DriftItem, doc: Any, target: YamlPath, change: _Change) -> None:
        shown = render_path(tuple(str(p) if isinstance(p, _Key) else p for p in change.path))
        if _holds_secret(change.old) or _holds_secret(change.new) or (change.path and change.path[-1] == "fingerprint"):
            self.report(item, "secret", "is a secret, changed in DSS: secrets are never written to the configuration",
                        path=shown, dss_value="(sensitive value)", hint="set the new value in the secret source")
            return
        path = _resolve(doc.data, (*target, *change.path)) if change.op != INSERT else \
            _inserted_at(doc.data, (*target, *change.path))
        if path is None:
            self.report(item, "not_located", "not found in the configuration's item", path=shown, dss_value=change.new)
            return
        shown = render_path(path)
        current = _get(doc.data, path)
        if change.op not in (APPEND, INSERT) and current is not _MISSING and not _same(current, change.old):
            self.report(item, "conflict", "differs in the configuration from what was last applied "
                        "(a change not applied yet, or the value written in another form)",
                        path=shown, where=self.where(doc, path), dss_value=change.new,
                        hint="decide which value is right, then apply or change the file")
            return
        if change.op == SET and current is _MISSING and change.old is not _MISSING:
            # applied, yet not written in the item: a default (iac.yml's `defaults:`, the tool's)
            self.report(item, "not_located", "comes from a default (iac.yml's `defaults:`, or the tool's), not from the "
                        "item: not written", path=shown, where=self.where(doc, path), dss_value=change.new,
                        hint="write the key in the item (or change the default), if DSS's value is right")
            return
        if change.op == REMOVE and current is _MISSING:
            self.report(item, "not_located", "DSS dropped a value the item does not write (it comes from a default)",
                        path=shown, where=self.where(doc, path), dss_value=None)
            return
        origin = self.origin(doc, path if change.op != INSERT else path[:-1])
        if origin is not None:
            kind, where, reason = origin
            self.report(item, kind, reason, path=shown, where=where, dss_value=change.new,
                        hint="change it where it is defined, if DSS's value is right for every environment that uses it")
            return
        edit = Edit(path, None if change.new is _MISSING else change.new, change.op)
        self.add(item.address, doc.file, edit, {"address": item.address, "file": doc.file,
                                                 "line": doc.locate(path if change.op != INSERT else path[:-1])[0],
                                                 "path": render_path(path), "value": _shown(change.new),
                                                 "removed": change.op == REMOVE})

    def locate_code(self, item: DriftItem, doc: Any, target: YamlPath, rel: str, old: Optional[str], new: Optional[str],
                    new_item: dict[str, Any]) -> None:
        """A code file `to_config` writes (a recipe's code, a step's script) whose text DSS changed:
        the item's key naming it says which file of the configuration holds it."""
        inner = _path_of_value(new_item, rel)
        path = _resolve(doc.data, (*target, *inner)) if inner is not None else None
        current = _get(doc.data, path) if path is not None else _MISSING
        if path is not None and current is _MISSING and old is not None and new is not None:
            self.locate_inline_code(item, doc, path[:-1], old, new)
            return
        if not isinstance(current, str) or new is None:
            self.report(item, "not_located", "its code changed in DSS, and the item does not name a code file "
                        "(inline code?)", path=rel, dss_value=None, hint="copy the code from DSS by hand")
            return
        origin = self.origin(doc, path) if path is not None else None
        if origin is not None:
            self.report(item, origin[0], origin[2], path=render_path(path or ()), where=origin[1])
            return
        file = (self.session.root / current)
        text = file.read_text(encoding="utf-8") if file.is_file() else None
        if text != old:
            self.report(item, "conflict", f"its code changed in DSS, and {current} differs from what was last applied",
                        path=render_path(path or ()), where=current, hint="merge the code from DSS by hand")
            return
        self.texts.setdefault(current, text or "")
        self.code.setdefault(item.address, {})[current] = new
        self.patched.setdefault(item.address, []).append({"address": item.address, "file": current, "line": 0,
                                                          "path": "(code)", "value": None, "removed": False})

    def locate_inline_code(self, item: DriftItem, doc: Any, parent: YamlPath, old: str, new: str) -> None:
        """Code the item writes inline (`code: |`) where `to_config` names a file: the key of the
        item holding the code as last applied takes DSS's code, in its block style."""
        holder = _get(doc.data, parent)
        keys = [k for k, v in holder.items() if v == old] if isinstance(holder, dict) else []
        if len(keys) != 1:
            self.report(item, "conflict", "its code changed in DSS, and the item's code (written inline, not in a file) "
                        "differs from what was last applied", path=render_path(parent), where=self.where(doc, parent),
                        hint="merge the code from DSS by hand")
            return
        path = (*parent, keys[0])
        origin = self.origin(doc, path)
        if origin is not None:
            self.report(item, origin[0], origin[2], path=render_path(path), where=origin[1], hint="copy the code from DSS by hand")
            return
        self.add(item.address, doc.file, Edit(path, new), {"address": item.address, "file": doc.file,
                                                           "line": doc.locate(path)[0], "path": render_path(path),
                                                           "value": "(code)", "removed": False})

    def origin(self, doc: Any, path: YamlPath) -> Optional[tuple[str, str, str]]:
        """(kind, file:line, reason) when the value at `path` is not the project file's own: an item
        a module call brought, an environment override, or a `${variable}`; None when it is."""
        module = doc.module_origin(path)
        if module is not None:
            return ("module", f"{module.call_file}:{module.call_line}",
                    f"comes from {module.where()}: not overwritten (a module's value is changed through its inputs or "
                    f"in the module itself)")
        mark, _found = nearest_mark(doc.marks, path)
        if mark is not None and mark.file != doc.file:
            return ("override", f"{mark.file}:{mark.line}",
                    f"set by an override of environment {self.session.environment!r}: not overwritten")
        raw = _get(self.raw(doc.file), path)
        if raw is _MISSING:
            raw = self.raw_ancestor(doc.file, path)
        names = sorted(set(_references(raw)))
        if names:
            # a `${VARIABLE}` of the environment, or any other reference (`${module.NAME.OUTPUT}`):
            # the value is computed, and the reference is never overwritten
            kind = "variable" if all(_VARIABLE.fullmatch("${" + n + "}") for n in names) else "reference"
            return (kind, self.where(doc, path),
                    f"comes from {', '.join('${' + n + '}' for n in names)}: not overwritten")
        return None

    def raw_ancestor(self, rel: str, path: YamlPath) -> Any:
        for end in range(len(path) - 1, -1, -1):
            found = _get(self.raw(rel), path[:end])
            if found is not _MISSING:
                return found if isinstance(found, str) else _MISSING
        return _MISSING

    def raw(self, rel: str) -> Any:
        text = self.text(rel)
        return parse_yaml(text, rel).data

    def text(self, rel: str) -> str:
        if rel not in self.texts:
            self.texts[rel] = (self.session.root / rel).read_text(encoding="utf-8")
        return self.texts[rel]

    def where(self, doc: Any, path: YamlPath) -> str:
        line, _column = doc.locate(path)
        return f"{doc.file}:{line}"

    def add(self, address: str, rel: str, edit: Edit, record: dict[str, Any]) -> None:
        self.text(rel)
        self.edits.setdefault(address, {}).setdefault(rel, []).append(edit)
        self.patched.setdefault(address, []).append(record)

    # writing
    def patch(self, addresses: list[str]) -> dict[str, str]:
        """The files with the edits of `addresses` made; a resource whose edits cannot be written is
        reported and dropped."""
        out: dict[str, str] = {}
        for address in addresses:
            attempt = dict(out)
            try:
                for rel, edits in self.edits.get(address, {}).items():
                    attempt[rel] = patch_text(attempt.get(rel, self.texts[rel]), edits)
            except PatchError as exc:
                self.drop(address, "cannot_write", f"not written: {exc}")
                continue
            attempt.update(self.code.get(address, {}))
            out = attempt
        return out

    def drop(self, address: str, kind: str, reason: str, hint: str = "change it by hand") -> None:
        for record in self.patched.pop(address, []):
            self.result.reported.append({"address": address, "kind": kind, "path": record["path"], "reason": reason,
                                         "where": f"{record['file']}:{record['line']}", "dss_value": record["value"],
                                         "hint": hint})
        self.edits.pop(address, None)
        self.code.pop(address, None)


def _python_where(doc: Any, path: YamlPath) -> str:
    """file:line of the DSL constructor (or mapping) that wrote `path` in a Python project file."""
    mark, _found = nearest_mark(doc.marks, path)
    return f"{mark.file}:{mark.line}" if mark is not None else doc.file


def _module_call(doc: Any, address: Address) -> Any:
    """The module call that made the object at `address` (a `module.NAME.` address), if any."""
    instance = getattr(address, "module", None)
    if not instance:
        return None
    return next((o for o in doc.module_items.values() if o.instance == instance), None)


def _references(value: Any) -> list[str]:
    """What each `${…}` of `value` names (its strings, at any depth)."""
    if isinstance(value, str):
        return _REFERENCE.findall(value)
    if isinstance(value, dict):
        return [n for v in value.values() for n in _references(v)]
    if isinstance(value, list):
        return [n for v in value for n in _references(v)]
    return []


def _resolve(data: Any, path: tuple[Any, ...]) -> Optional[YamlPath]:
    """`path` with each keyed element as the index of its item in `data`; None if one is not there."""
    out: list[Any] = []
    node = data
    for elem in path:
        if isinstance(elem, _Key):
            if not isinstance(node, list):
                return None
            index = next((i for i, x in enumerate(node) if isinstance(x, dict) and x.get(elem.field) == elem.value), None)
            if index is None:
                return None
            out.append(index)
            node = node[index]
            continue
        out.append(elem)
        if isinstance(node, dict):
            node = node.get(elem, _MISSING)
        elif isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node):
            node = node[elem]
        else:
            node = _MISSING
        if node is _MISSING and elem is not path[-1]:
            return None
    return tuple(out)


def _inserted_at(data: Any, path: tuple[Any, ...]) -> Optional[YamlPath]:
    """The path of an item inserted at index `path[-1]` of the list at `path[:-1]`."""
    where = _resolve(data, path[:-1])
    return (*where, path[-1]) if where is not None and isinstance(_get(data, where), list) else None


def _get(data: Any, path: Optional[YamlPath]) -> Any:
    if path is None:
        return _MISSING
    node = data
    for elem in path:
        in_mapping = isinstance(node, dict) and elem in node
        if not in_mapping and not (isinstance(node, list) and isinstance(elem, int) and 0 <= elem < len(node)):
            return _MISSING
        node = node[elem]
    return node


def _path_of_value(item: Any, value: str, path: tuple[Any, ...] = ()) -> Optional[tuple[Any, ...]]:
    if item == value:
        return path
    if isinstance(item, dict):
        for k, v in item.items():
            found = _path_of_value(v, value, (*path, k))
            if found is not None:
                return found
    if isinstance(item, list):
        key = _list_key(item)
        for i, v in enumerate(item):
            found = _path_of_value(v, value, (*path, _Key(key, v[key]) if key else i))
            if found is not None:
                return found
    return None


# -- checking the patched configuration -------------------------------------------------------------
def _rebuilt(session: Any, state: Any, texts: dict[str, str]) -> Any:
    """The desired model (keyed under `state`) of the configuration with `texts` written, built
    from a copy: nothing is written where the configuration is until it is checked."""
    with tempfile.TemporaryDirectory(prefix="dataiku-iac-pull-") as tmp:
        root = Path(tmp) / "config"
        state_dir = LOCAL_STATE_PATH.split("/")[0]
        shutil.copytree(session.root, root, ignore=shutil.ignore_patterns(".git", state_dir), symlinks=True)
        for rel, text in texts.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text, encoding="utf-8")
        try:
            _cfg, desired = check_config(root, session.environment, session.secrets, secret_values=False)
        except ConfigError as exc:
            raise _Invalid(exc.diagnostics) from None
    desired = session.keyed(desired, state)
    if desired.unresolved_secrets:
        desired, _assumed = assume_recorded(desired, state)
    return desired


class _Invalid(IacError):
    """The patched configuration does not validate: its problems (Diagnostics). Caught where the
    patch is checked (the resources at fault are dropped); raised on only if the patches that each
    validate alone do not validate together."""

    def __init__(self, diagnostics: list[Any]):
        super().__init__("the patches pull made each validate, but not together (please report this); nothing was "
                         "written: " + "; ".join(f"{d.file}:{d.line}: {d.message}" for d in diagnostics[:5]))
        self.diagnostics = diagnostics


def _refused(diagnostics: list[Any]) -> tuple[str, str, str]:
    """(kind, reason, hint) of a resource whose patch alone makes the configuration invalid: a
    compliance rule DSS's value breaks, or a value the file cannot take as written."""
    shown = "; ".join(f"{d.file}:{d.line}: {d.message}" for d in diagnostics[:3])
    if diagnostics and all(is_rule_finding(d) for d in diagnostics):
        return ("compliance", f"DSS's value breaks a compliance rule: not written ({shown})",
                "`apply` puts the configuration's value back in DSS; or change the rule if DSS is right")
    return ("cannot_write", f"not written: the patched file would not validate ({shown})", "change it by hand")


def _converged(resource: Any, live: Any) -> tuple[set[str], set[str]]:
    """(fields of `resource` that equal DSS's, fields that differ), by the planner's comparison."""
    policy = handler_for(resource.type).policy
    same, differ = set(), set()
    for name in set(resource.attributes) | set(live.attributes if live is not None else {}):
        desired_value = resource.attributes.get(name)
        if live is not None and policy.equal(name, desired_value, live.attributes.get(name)):
            same.add(name)
        else:
            differ.add(name)
    return same, differ


def _live(observation: Any, entry: Any) -> Any:
    if entry.type == "project":
        project = observation.project(entry.project_key)
        return project.project if project is not None and project.exists else None
    return observation.find(entry.type, entry.project_key, dss_id=entry.dss_id, name=entry.name)


def _check(run: _Pull, texts: dict[str, str]) -> tuple[Any, list[str]]:
    """The rebuilt desired model, and the patched addresses whose patch did not make any of their
    drifted fields equal DSS's, or changed one of their other fields."""
    observed = run.observed
    desired = _rebuilt(run.session, observed.state, texts)
    failed = []
    for address in list(run.patched):
        before, after = observed.desired.resources.get(address), desired.resources.get(address)
        entry = observed.state.resources.get(address)
        if before is None or after is None or entry is None:
            failed.append(address)
            continue
        drifted = {f.name for f in _item_of(observed, address).fields}
        others = (set(before.attributes) | set(after.attributes)) - drifted
        moved = [n for n in others if not _same(before.attributes.get(n), after.attributes.get(n))]
        # a patch must change a drifted field (toward DSS: it equals DSS's, or only what was
        # reported still differs) and nothing else of the resource
        if moved or all(_same(before.attributes.get(n), after.attributes.get(n)) for n in drifted):
            failed.append(address)
    for address, resource in observed.desired.resources.items():
        after = desired.resources.get(address)
        if address not in run.patched and (after is None or not _same(after.attributes, resource.attributes)):
            raise IacError(f"pull would also change {address} (please report this); nothing was written")
    return desired, failed


def _drop_invalid(run: _Pull) -> None:
    """Each resource whose patch alone makes the configuration invalid is reported and dropped
    (tried one by one: only when the whole patch does not validate)."""
    for address in list(run.patched):
        texts = run.patch([address])
        if not texts:
            continue
        try:
            _rebuilt(run.session, run.observed.state, texts)
        except _Invalid as exc:
            run.drop(address, *_refused(exc.diagnostics))


def _item_of(observed: Any, address: str) -> DriftItem:
    return next(i for i in observed.report.items if i.address == address)


def pull(session: Any, addresses: tuple[str, ...] = (), *, dry_run: bool = False) -> PullResult:
    observed = session.observe_drift()
    if observed.interrupted:
        raise IacError("an apply was interrupted: finish it first (`dataiku-iac apply --resume`), then pull")
    items = observed.report.items
    if addresses:
        known = {i.address for i in items} | set(observed.state.resources) | set(observed.desired.resources)
        unknown = [a for a in addresses if a not in known]
        if unknown:
            raise IacError(f"no such resource in the configuration, the state or DSS's drift: {', '.join(unknown)}")
        items = [i for i in items if i.address in addresses]
    run = _Pull(session, observed, dry_run)
    run.run(items)
    texts = run.patch(list(run.patched))
    desired = None
    if texts:
        try:
            desired, failed = _check(run, texts)
        except _Invalid:
            _drop_invalid(run)  # one object that cannot be patched never stops the others
            texts = run.patch(list(run.patched))
            desired, failed = _check(run, texts) if texts else (None, [])
        for address in failed:
            run.drop(address, "not_reproduced", "the patched item would not describe DSS's value; not written")
        if failed:
            texts = run.patch(list(run.patched))
            desired, failed = _check(run, texts) if texts else (None, [])
            if failed:
                raise IacError(f"pull could not write {', '.join(failed)} faithfully (please report this); nothing was written")
    run.result.files = {rel: (run.texts[rel], text) for rel, text in texts.items() if text != run.texts[rel]}
    for records in run.patched.values():
        run.result.patched.extend(r for r in records)
    if not dry_run and run.result.files and desired is not None:
        run.result.state_serial = _write(session, run, desired)
    return run.result


def _write(session: Any, run: _Pull, desired: Any) -> int:
    """Under the state lock: the files (undone if the state cannot be written), then the state with
    the pulled values recorded as applied."""
    observed = run.observed
    writer = session.state_writer()
    lock = writer.lock(f"pull -e {session.environment}")
    try:
        state = writer.read()
        if state.serial != observed.state.serial:
            raise IacError("the state changed while pull read DSS (another run applied): run pull again")
        for rel, (before, _after) in run.result.files.items():
            path = session.root / rel
            if path.read_text(encoding="utf-8") != before:
                raise IacError(f"{rel} changed while pull ran: run pull again")
        updated = _refreshed(state, run, desired)
        edits = FileEdits(session.root, {rel: after for rel, (_before, after) in run.result.files.items()})
        try:
            edits.write()
            doc = writer.write(updated, expected_serial=state.serial, operation=f"pull -e {session.environment}")
        except BaseException:
            edits.undo()
            raise
        return int(doc.serial)
    finally:
        writer.unlock(lock.id)


def _refreshed(state: Any, run: _Pull, desired: Any) -> Any:
    """`state` with each pulled field recorded as the patched configuration builds it: a field that
    now equals DSS's, or that the pull changed and had no change pending in the configuration
    (what still differs in it was reported). The object's DSS version is recorded too when nothing
    of it still differs (else the next observation must read it again)."""
    updated = state.copy()
    for address in run.patched:
        entry, resource = state.resources.get(address), desired.resources.get(address)
        before = run.observed.desired.resources.get(address)
        live = _live(run.observed.observation, entry) if entry is not None else None
        if entry is None or resource is None or before is None or live is None:
            continue
        same, differ = _converged(resource, live)
        attributes = copy.deepcopy(entry.attributes)
        for f in _item_of(run.observed, address).fields:
            now, was = resource.attributes.get(f.name, _MISSING), before.attributes.get(f.name, _MISSING)
            pulled = not _same(now, was) and _same(was, entry.attributes.get(f.name, _MISSING))
            if f.name not in same and not pulled:
                continue
            if now is _MISSING:
                attributes.pop(f.name, None)
            else:
                attributes[f.name] = copy.deepcopy(now)
        settled = not any(f.name in differ for f in _item_of(run.observed, address).fields)
        updated.put(_replace(entry, attributes=attributes, version_tag=live.version_tag if settled else entry.version_tag))
    return updated


def _replace(entry: Any, **changes: Any) -> Any:
    return dataclasses.replace(entry, **changes)
