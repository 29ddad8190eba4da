"""Expanding module calls into ordinary resources of the calling project (docs/modules.md).

A project file's `modules:` entries each call a module:

    modules:
      - name: orders                  # the instance: addresses module.orders.<type>.<KEY>.<name>
        source: ../modules/ingest     # relative to this file (modules/sources.py)
        inputs: {table: ORDERS}
        name_prefix: orders_          # default: <name>_ (DSS names are flat per project)
      - name: ingest
        source: ../modules/ingest
        for_each: {customers: {table: CUSTOMERS}}   # instances ingest[customers], prefix ingest_customers_

Expansion runs in the loader, after the project file's variables are substituted and before the
environment's overrides (which may then patch a module's resources by their module address).
For each instance it checks the inputs at the call site (unknown, missing, wrong type, failed
validations), substitutes `${inputs.NAME}`, `${module.name}`, `${module.prefix}` and
`${module.key}` in the module's resource files, prefixes every item's name and appends the items
to the project's sections, their marks pointing into the module's files (so a schema error in a
module's resource names the module file and line, and the call site: documents.ModuleOrigin).
References from one of a module's resources to another (a recipe's input, a scenario's build
step, a zone) are written with the module's own names and resolved by the model builder, which
prefers the instance's own objects (builder.py, `_ItemContext.require`).

What is not expanded is left to the schema (a call with no `source`, a `for_each` that is not a
mapping…): expansion skips it silently and the project schema reports it with its line.
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, MutableMapping, Optional, Tuple

from dataiku_iac.address import CALL_NAME, INSTANCE, INSTANCE_KEY
from dataiku_iac.config.documents import ModuleOrigin, ProjectDocument
from dataiku_iac.config.paths import Mark, MarkMap, YamlPath, render_path
from dataiku_iac.config.suggest import did_you_mean
from dataiku_iac.errors import ConfigError, Diagnostic, redact_userinfo, remember_secret
from dataiku_iac.modules.definition import (
    ConditionError,
    ModuleDefinition,
    display_dir,
    evaluate,
    read_definition,
    read_yaml_file,
    unknown_input_hint,
    value_problems,
)
from dataiku_iac.modules.sources import ResolvedModule, check_lock_declarations, resolve_module
from dataiku_iac.resources.registry import child_specs

NAME_RE = re.compile(rf"^{CALL_NAME}$")  # the address grammar's (address.py): module.NAME[KEY]
FOR_EACH_KEY_RE = re.compile(rf"^{INSTANCE_KEY}$")
_MODULE_VARS = ("name", "prefix", "key")
# In a module's files: ${inputs.NAME}, ${module.name|prefix|key}; $${...} is a literal ${...}.
_LOCAL_REF = re.compile(r"\$(\$?)\{(inputs|module)\.([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_LOCAL = re.compile(r"^\$\{(inputs|module)\.([A-Za-z_][A-Za-z0-9_]*)\}$")
# In a project file: ${module.INSTANCE.OUTPUT}.
_OUTPUT_REF = re.compile(rf"\$\{{module\.({INSTANCE})\.([A-Za-z_][A-Za-z0-9_]*)\}}")
_WHOLE_OUTPUT = re.compile(rf"^\$\{{module\.({INSTANCE})\.([A-Za-z_][A-Za-z0-9_]*)\}}$")


@dataclass
class _ResourceFile:
    """One of a module's resource files, parsed once per run whatever the number of calls."""

    shown: str  # as diagnostics name it
    data: Dict[str, Any]
    # (section, index) -> the marks of that item, keyed by their path inside the item
    item_marks: Dict[Tuple[str, int], List[Tuple[YamlPath, Mark]]]
    # (section, index) -> paths inside the item already reported (an unknown reference): the
    # later stages skip them (no follow-on error about the unsubstituted text)
    reported: Dict[Tuple[str, int], List[YamlPath]] = field(default_factory=dict)


@dataclass
class _Module:
    definition: ModuleDefinition
    files: List[_ResourceFile]
    code_dir: Optional[str]  # the module directory relative to the config root (code files), None outside it


@dataclass
class Expander:
    """Expands the module calls of every project file of one load; a module read once per run."""

    root: Path
    errors: List[Diagnostic]
    modules: Dict[Path, Optional[_Module]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    # (directory of the calling file, source, version) -> the module it resolved to, this run:
    # fifty calls of one module are resolved (and hashed) once
    resolved: Dict[Tuple[str, str, Optional[str]], ResolvedModule] = field(default_factory=dict)
    # Every module file read in this run, for the configuration digest: shown path -> content hash.
    hashes: Dict[str, str] = field(default_factory=dict)

    def expand(self, doc: ProjectDocument) -> None:
        calls = doc.data.get("modules")
        if not isinstance(calls, list) or not calls:
            return
        doc.marks = StackedMarks(doc.marks)
        outputs: Dict[str, Dict[str, Any]] = {}
        names: Dict[str, int] = {}
        self.failed = set()  # calls and instances not expanded (reported): their outputs are unknown, not missing
        for i, call in enumerate(calls):
            if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not isinstance(call.get("source"), str):
                continue  # the schema says what is missing
            if "${" in call["source"]:  # the loader reports it (a source is never built from variables)
                self.failed.add(call["name"])
                continue
            name = call["name"]
            if name in names:
                line, _ = doc.locate(("modules", names[name], "name"))
                self._error(doc, ("modules", i, "name"), f"duplicate module call name '{name}' (first at line {line})",
                            "each call's name is the start of its resources' addresses: make it unique")
                continue
            names[name] = i
            if not self._call(doc, i, call, outputs):
                self.failed.add(name)
        self._substitute_outputs(doc, outputs)

    # -- one call ---------------------------------------------------------------------------
    def _call(self, doc: ProjectDocument, i: int, call: Dict[str, Any], outputs: Dict[str, Dict[str, Any]]) -> bool:
        """Expand one call; False when its module could not be read (reported)."""
        if not NAME_RE.match(call["name"]):
            return False  # the schema reports it
        line, _ = doc.locate(("modules", i))
        version = call.get("version")
        memo = (posixpath.dirname(doc.file), call["source"], version if isinstance(version, str) else None)
        resolved = self.resolved.get(memo)
        if resolved is None:
            value = doc.marks.get(("modules", i, "source"))  # errors point at the source's value
            try:
                resolved = resolve_module(self.root, call["source"], version, call_file=doc.file,
                                          call_line=value.line if value is not None else line,
                                          call_column=value.column if value is not None else 0,
                                          call_path=f"modules[{i}].source")
            except ConfigError as exc:
                self.errors.extend(exc.diagnostics)
                return False
            if version is None or isinstance(version, str):
                self.resolved[memo] = resolved
        module = self._module(resolved.directory, resolved.content_hash, redact_userinfo(resolved.source))
        if module is None:
            self._error(doc, ("modules", i, "source"), f"module '{call['source']}' cannot be used: see the errors of its files")
            return False
        for instance, written, path, key in _instances(call, i):
            prefix = _prefix(call, key)
            written = self._with_outputs(doc, path, written, outputs)
            values = self._input_values(doc, path if written else ("modules", i), module.definition, written, call["name"])
            if values is None:
                self.failed.add(instance)
                continue
            doc.sensitive_values.update(sensitive_values(module.definition, values))
            context = {"inputs": values, "module": {"name": instance, "prefix": prefix, "key": key}}
            origin_line = doc.locate(("modules", i, "for_each", key) if key is not None else ("modules", i))[0] or line
            self._add_items(doc, module, context, instance, prefix, origin_line)
            outputs[instance] = {k: _substitute(v, context) for k, v in module.definition.outputs.items()}
        return True

    def _module(self, directory: Path, content_hash: str, source: str) -> Optional[_Module]:
        """The module in `directory`, read and checked once per run (its problems reported once).
        Its files are named relative to the config root when it is inside, else after `source`
        (std/ingest_sql/resources.yml), never by the cache directory they are read from."""
        key = directory.resolve()
        if key in self.modules:
            return self.modules[key]
        inside = display_dir(directory, self.root)
        base = inside if not Path(inside).is_absolute() else source.rstrip("/")
        definition, problems = read_definition(directory, self.root, base)
        module = None
        if definition is not None:
            self.hashes[definition.file] = content_hash
            files = [f for f in (self._resource_file(definition, base, rel, problems) for rel in definition.resource_files) if f]
            usable = len(files) == len(definition.resource_files)
            code_dir = inside if not Path(inside).is_absolute() else None
            module = _Module(definition, files, code_dir) if usable else None
        self.errors.extend(problems)
        self.modules[key] = module
        return module

    def _resource_file(self, definition: ModuleDefinition, base: str, rel: str, problems: List[Diagnostic]) -> Optional[_ResourceFile]:
        shown = f"{base}/{rel}" if base else rel
        data, marks, found = read_yaml_file(definition.directory, rel, shown)
        problems.extend(found)
        if found:
            return None
        if data is None:
            return _ResourceFile(shown, {}, {})
        if not isinstance(data, dict):
            problems.append(Diagnostic(shown, 1, 1, "", "a module's resource file must be a YAML mapping of sections "
                                                        "(datasets:, recipes:, …)"))
            return None
        sections = {spec.section for spec in child_specs()}
        for key in list(data):
            if key not in sections:
                data.pop(key)
                mark = marks.get((key,))
                where = mark.entry_position() if mark is not None else (0, 0)
                hint = (did_you_mean(str(key), sorted(sections)) or
                        f"a module's resource file holds only resource sections: {', '.join(sorted(sections))}")
                problems.append(Diagnostic(shown, where[0], where[1], str(key), f"'{key}' cannot be declared in a module", hint))
            elif not isinstance(data[key], list):
                problems.append(_at(shown, marks, (key,), f"'{key}' must be a list"))
                data.pop(key)
        unknown = _unknown_references(shown, data, marks, definition)
        problems.extend(diagnostic for _, diagnostic in unknown)
        item_marks: Dict[Tuple[str, int], List[Tuple[YamlPath, Mark]]] = {}
        for path, mark in marks.items():
            if len(path) >= 2 and isinstance(path[1], int):
                item_marks.setdefault((str(path[0]), path[1]), []).append((tuple(path[2:]), mark))
        reported: Dict[Tuple[str, int], List[YamlPath]] = {}
        for path, _ in unknown:
            if len(path) >= 2 and isinstance(path[1], int):
                reported.setdefault((str(path[0]), path[1]), []).append(tuple(path[2:]))
        return _ResourceFile(shown, data, item_marks, reported)

    # -- inputs -----------------------------------------------------------------------------
    def _input_values(self, doc: ProjectDocument, path: YamlPath, definition: ModuleDefinition,
                      written: Dict[str, Any], call_name: str) -> Optional[Dict[str, Any]]:
        """The inputs of one instance, defaults filled in; None (reported) when they are wrong."""
        ok = True
        for name in written:
            if name not in definition.inputs:
                self._error(doc, (*path, name), f"module {definition.name} has no input '{name}' ({definition.file})",
                            unknown_input_hint(name, definition), where="key")
                ok = False
        for name, spec in definition.inputs.items():
            declared = f"{definition.file}:{definition.line_of(('inputs', name))}"
            if name in written:
                for problem in value_problems(spec, written[name]):
                    self._error(doc, (*path, name), f"input '{name}' of module {definition.name} {problem} (declared at {declared})")
                    ok = False
            elif spec.required:
                description = spec.definition.get("description")
                self._error(doc, path, f"module call '{call_name}' misses the required input '{name}' (declared at {declared})",
                            f"{name}: {description}" if description else None)
                ok = False
        if not ok:
            return None
        values = {name: copy.deepcopy(written[name]) if name in written else spec.default
                  for name, spec in definition.inputs.items()}
        for validation in definition.validations:
            try:
                holds = evaluate(validation.condition, values)
            except ConditionError as exc:
                holds, message = False, f"{validation.error_message} (the condition could not be evaluated: {exc})"
            else:
                message = validation.error_message
            if not holds:
                self._error(doc, path, f"{message} (validation of module {definition.name} at {definition.file}:{validation.line})")
                ok = False
        return values if ok else None

    def _with_outputs(self, doc: ProjectDocument, path: YamlPath, written: Dict[str, Any],
                      outputs: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
        """A call's inputs with the outputs of the calls before it substituted."""
        return {k: self._outputs_in(doc, (*path, k), v, outputs) for k, v in written.items()}

    # -- resources --------------------------------------------------------------------------
    def _add_items(self, doc: ProjectDocument, module: _Module, context: Dict[str, Any], instance: str,
                   prefix: str, call_line: int) -> None:
        specs = {spec.section: spec for spec in child_specs()}
        local: Dict[str, Dict[str, str]] = {}
        origin = ModuleOrigin(instance, doc.file, call_line, local)
        marks = doc.marks.added if isinstance(doc.marks, StackedMarks) else doc.marks
        for resource_file in module.files:
            for section, items in resource_file.data.items():
                spec = specs.get(section)
                target = doc.data.setdefault(section, [])
                if spec is None or not isinstance(items, list) or not isinstance(target, list):
                    continue
                for j, written in enumerate(items):
                    item = _substitute(written, context)
                    if isinstance(item, dict) and isinstance(item.get(spec.id_key), str):
                        local.setdefault(spec.type, {})[item[spec.id_key]] = prefix + item[spec.id_key]
                        item[spec.id_key] = prefix + item[spec.id_key]
                    if isinstance(item, dict) and spec.file_keys:
                        self._code_files(doc, module, item, spec.file_keys, resource_file.shown, (section, j))
                    index = len(target)
                    target.append(item)
                    for inner, mark in resource_file.item_marks.get((section, j), ()):
                        marks[(section, index, *inner)] = mark
                    for inner in resource_file.reported.get((section, j), ()):
                        doc.flagged.add((section, index, *inner))
                    doc.module_items[(section, index)] = origin

    def _code_files(self, doc: ProjectDocument, module: _Module, item: Dict[str, Any], file_keys: Tuple[str, ...],
                    shown: str, path: YamlPath) -> None:
        """A module's code files are relative to the module directory, the loader reads them
        relative to the config root: rebased. A module read from elsewhere (Git, a registry, the
        standard library) cannot have any yet: refused rather than read from the configuration."""
        if module.code_dir is not None:
            _rebase_code_files(item, file_keys, module.code_dir)
            return
        named = [where for key in file_keys for where in _file_paths(item, key.split("."), ())]
        if named:
            self.errors.append(Diagnostic(shown, 0, 0, render_path((*path, *named[0])),
                                          "code files are supported in local modules only (./ or ../) for now",
                                          "write the code inline (`code:`), or vendor the module into the configuration"))

    # -- outputs in the project's own values ------------------------------------------------
    def _substitute_outputs(self, doc: ProjectDocument, outputs: Dict[str, Dict[str, Any]]) -> None:
        for key, value in list(doc.data.items()):
            if key == "modules":
                continue
            if isinstance(value, list):
                for index, item in enumerate(value):
                    if (key, index) not in doc.module_items:
                        value[index] = self._outputs_in(doc, (key, index), item, outputs)
            else:
                doc.data[key] = self._outputs_in(doc, (key,), value, outputs)

    def _outputs_in(self, doc: ProjectDocument, path: YamlPath, value: Any, outputs: Dict[str, Dict[str, Any]]) -> Any:
        if isinstance(value, str):
            if "${module." not in value:
                return value
            return self._output_string(doc, path, value, outputs)
        if isinstance(value, dict):
            return {k: self._outputs_in(doc, (*path, k), v, outputs) for k, v in value.items()}
        if isinstance(value, list):
            return [self._outputs_in(doc, (*path, i), v, outputs) for i, v in enumerate(value)]
        return value

    def _output_string(self, doc: ProjectDocument, path: YamlPath, text: str, outputs: Dict[str, Dict[str, Any]]) -> Any:
        def lookup(instance: str, name: str) -> Tuple[bool, Any]:
            if instance in outputs and name in outputs[instance]:
                return True, outputs[instance][name]
            if instance in self.failed:
                return False, None  # that call's own errors are reported
            if instance not in outputs:
                keyed = sorted(o for o in outputs if o.startswith(f"{instance}["))
                hint = (f"a for_each call's outputs are read per key: ${{module.{keyed[0]}.{name}}}" if keyed else
                        did_you_mean(instance, sorted(outputs)) or "a value may use the outputs of the module calls listed before it")
                self._error(doc, path, f"'${{module.{instance}.{name}}}': no module call '{instance}' before this value", hint)
            else:
                self._error(doc, path, f"'${{module.{instance}.{name}}}': module call '{instance}' has no output '{name}'",
                            did_you_mean(name, sorted(outputs[instance])) or f"its outputs: {', '.join(sorted(outputs[instance])) or 'none'}")
            return False, None

        whole = _WHOLE_OUTPUT.match(text)
        if whole:
            found, value = lookup(whole.group(1), whole.group(2))
            return copy.deepcopy(value) if found else text

        def replace(match: re.Match[str]) -> str:
            found, value = lookup(match.group(1), match.group(2))
            return _render(value) if found else match.group(0)

        return _OUTPUT_REF.sub(replace, text)

    def _error(self, doc: ProjectDocument, path: YamlPath, message: str, hint: Optional[str] = None, where: str = "entry") -> None:
        self.errors.append(doc.diagnostic(path, message, hint, where=where))


# -- helpers ------------------------------------------------------------------------------------
def _instances(call: Dict[str, Any], i: int) -> Iterator[Tuple[str, Dict[str, Any], YamlPath, Optional[str]]]:
    """(instance name, inputs as written, their path, for_each key) of each instance of a call."""
    written = call.get("inputs")
    inputs: Dict[str, Any] = written if isinstance(written, dict) else {}
    for_each = call.get("for_each")
    if for_each is None:
        yield call["name"], inputs, ("modules", i, "inputs"), None
        return
    if not isinstance(for_each, dict):
        return  # the schema reports it
    for key, per_key in for_each.items():
        if not isinstance(key, str) or not FOR_EACH_KEY_RE.match(key):
            continue  # the schema reports it
        merged = {**inputs, **(per_key if isinstance(per_key, dict) else {})}
        path: YamlPath = ("modules", i, "for_each", key) if per_key else ("modules", i, "inputs")
        yield f"{call['name']}[{key}]", merged, path, key


def _prefix(call: Dict[str, Any], key: Optional[str]) -> str:
    written = call.get("name_prefix")
    prefix = written if isinstance(written, str) else f"{call['name']}_"
    return f"{prefix}{key}_" if key is not None else prefix


def _substitute(value: Any, context: Dict[str, Any]) -> Any:
    """A copy of `value` with ${inputs.X} and ${module.X} replaced (a whole-string reference keeps
    the value's type); references checked beforehand (`_unknown_references`)."""
    if isinstance(value, str):
        if "${" not in value:
            return value
        whole = _WHOLE_LOCAL.match(value)
        if whole and whole.group(2) in context[whole.group(1)]:
            return copy.deepcopy(context[whole.group(1)][whole.group(2)])

        def replace(match: re.Match[str]) -> str:
            if match.group(1):
                return match.group(0)[1:]
            scope = context[match.group(2)]
            return _render(scope[match.group(3)]) if match.group(3) in scope else match.group(0)

        return _LOCAL_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, context) for v in value]
    return value


def sensitive_values(definition: ModuleDefinition, values: Dict[str, Any]) -> List[str]:
    """The values of the sensitive inputs among `values`, as they may appear in a resource: each
    string, number and its rendering, and each of those inside a list or mapping. Each is
    remembered, never to be shown in a message (errors.remember_secret)."""
    found: List[str] = []

    def leaves(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                leaves(item)
        elif isinstance(value, list):
            for item in value:
                leaves(item)
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool) and value != "":
            found.append(value if isinstance(value, str) else json.dumps(value))

    for name, spec in definition.inputs.items():
        if spec.sensitive and values.get(name) is not None:
            leaves(values[name])
            if not isinstance(values[name], str):
                found.append(_render(values[name]))  # ${inputs.X} of a list or mapping writes its JSON
    for value in found:
        remember_secret(value)
    return found


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value)


def _unknown_references(shown: str, data: Any, marks: MarkMap, definition: ModuleDefinition) -> List[Tuple[YamlPath, Diagnostic]]:
    """${inputs.X} of an undeclared input and ${module.X} other than name/prefix/key, once per file."""
    problems: List[Tuple[YamlPath, Diagnostic]] = []
    for path, text in _strings(data, ()):
        for match in _LOCAL_REF.finditer(text):
            if match.group(1):
                continue
            scope, name = match.group(2), match.group(3)
            known = sorted(definition.inputs) if scope == "inputs" else list(_MODULE_VARS)
            if name not in known:
                what = f"input '{name}' is not declared in {definition.file}" if scope == "inputs" else \
                    f"'${{module.{name}}}' is not defined (module.name, module.prefix and module.key are)"
                hint = did_you_mean(name, known) if scope == "inputs" else None
                problems.append((path, _at(shown, marks, path, f"unknown reference '{match.group(0)}': {what}", hint)))
    return problems


def _strings(value: Any, path: YamlPath) -> Iterator[Tuple[YamlPath, str]]:
    if isinstance(value, str):
        if "${" in value:
            yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))


def _at(shown: str, marks: MarkMap, path: YamlPath, message: str, hint: Optional[str] = None) -> Diagnostic:
    probe = tuple(path)
    while probe and probe not in marks:
        probe = probe[:-1]
    mark = marks.get(probe)
    line, column = (mark.line, mark.column) if mark is not None else (0, 0)
    return Diagnostic(shown, line, column, render_path(tuple(path)), message, hint)


def _rebase_code_files(item: Dict[str, Any], file_keys: Tuple[str, ...], base: str) -> None:
    """A module's code files are relative to the module directory; the loader reads them from
    the config root."""
    for file_key in file_keys:
        _rebase(item, file_key.split("."), base)


def _file_paths(node: Any, keys: List[str], path: YamlPath) -> List[YamlPath]:
    """The paths, inside an item, of the files a spec's file key (`code_file`, `steps.*.code_file`) names."""
    if not keys:
        return [path] if isinstance(node, str) else []
    head, rest = keys[0], keys[1:]
    if head == "*":
        return [p for i, entry in enumerate(node if isinstance(node, list) else []) for p in _file_paths(entry, rest, (*path, i))]
    if not isinstance(node, dict) or head not in node:
        return []
    return _file_paths(node[head], rest, (*path, head))


def _rebase(node: Any, keys: List[str], base: str) -> None:
    head, rest = keys[0], keys[1:]
    if head == "*":
        for entry in node if isinstance(node, list) else []:
            _rebase(entry, rest, base)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _rebase(node[head], rest, base)
    elif isinstance(node[head], str) and base:
        node[head] = f"{base}/{node[head]}"


class StackedMarks(MutableMapping[YamlPath, Mark]):
    """The marks of a project file with those of the module items added on top, without loading
    every mark of a cached file (cache.LazyMarks) just to add some."""

    def __init__(self, base: MarkMap):
        self.base = base
        self.added: Dict[YamlPath, Mark] = {}

    def __getitem__(self, path: YamlPath) -> Mark:
        if path in self.added:
            return self.added[path]
        return self.base[path]

    def __setitem__(self, path: YamlPath, mark: Mark) -> None:
        self.added[path] = mark

    def __delitem__(self, path: YamlPath) -> None:
        found = self.added.pop(path, None) is not None
        if path in self.base:
            del self.base[path]
            found = True
        if not found:
            raise KeyError(path)

    def __contains__(self, path: object) -> bool:
        return path in self.added or path in self.base

    def __iter__(self) -> Iterator[YamlPath]:
        yield from self.added
        yield from (p for p in self.base if p not in self.added)

    def __len__(self) -> int:
        return len(self.added) + sum(1 for p in self.base if p not in self.added)


def expand_modules(root: Path, docs: List[ProjectDocument], errors: List[Diagnostic],
                   warnings: List[Diagnostic]) -> Dict[str, str]:
    """Expand the module calls of every document in place; the content hash of every module read
    (module.yml as shown -> hash), which the configuration digest covers. Then whether
    iac.lock.yml was written for these calls (modules/sources.py: a warning when not)."""
    expander = Expander(root, errors)
    for doc in docs:
        expander.expand(doc)
    calls = [(c["source"], c.get("version")) for doc in docs for c in doc.data.get("modules") or []
             if isinstance(c, dict) and isinstance(c.get("source"), str)]
    for diagnostic in check_lock_declarations(root, calls):
        (warnings if diagnostic.severity == "warning" else errors).append(diagnostic)
    return dict(sorted(expander.hashes.items()))

