"""JSON Schema validation with human messages.

The schemas (draft 2020-12) live in ``schemas/``. jsonschema finds every error; this
module turns each into an `Issue`: a YAML path, a plain-English message, an optional
hint, and which part of the node to point at (the key or the value).

The schemas carry a few annotations of our own, which validators ignore:

- ``x-messages``: ``{validator keyword: message}``, the message for that failure here;
- ``x-context``: e.g. "a dataset of type sql_table", woven into required/unknown-key messages;
- ``x-kind`` / ``x-type``: which per-type definition this is (to say "'table' is only
  valid for a dataset of type sql_table");
- ``x-locate``: for "not both" errors, the key to point at;
- ``x-hint``: a hint to attach.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional

from ..address import config_pattern, override_shapes
from ..resources.registry import child_specs, generation, specs
from .fastschema import compile_schema
from .paths import YamlPath
from .suggest import did_you_mean

if TYPE_CHECKING:  # jsonschema is imported when a document is invalid (see fastschema)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).with_name("schemas")

_JSON_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


@dataclass(frozen=True)
class Issue:
    """A problem at a YAML path. `where` is "key" (point at the key), "value" or "entry"."""

    path: YamlPath
    message: str
    hint: Optional[str] = None
    where: str = "value"
    # The node the problem is about, when it is not `path`: a missing required key is reported
    # at its parent mapping, but only the key itself is wrong (its siblings can still be checked).
    about: Optional[YamlPath] = None

    @property
    def subject(self) -> YamlPath:
        return self.about if self.about is not None else self.path


def load_schema(kind: str) -> dict[str, Any]:
    """The schema `kind` (project | iac | environment), with what the registered resource types
    add to it (see `_assemble`)."""
    return _schema(kind, generation())


@cache
def _schema(kind: str, _generation: int) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8"))
    return _assemble(kind, schema)


def _assemble(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """What the registered resource types add: a project file's section for each type the file
    does not describe itself (its items' schema is the spec's fragment; datasets, managed folders
    and recipes are still written in project.schema.json, and tests/unit/resources/test_registry.py
    holds the two to agree), and the environment's `overrides` keyed by the addresses of every type."""
    if kind == "project":
        written = schema["properties"]
        for spec in specs():
            # A built-in type written in the file may bring definitions too (the visual recipe kinds).
            clash = sorted(set(spec.schema.defs) & set(schema["$defs"]))
            if clash:
                raise ValueError(f"resource type {spec.type!r} redefines the schema definitions {', '.join(clash)}")
            schema["$defs"].update(json.loads(json.dumps(spec.schema.defs)))  # a copy, JSON only
            if spec.section not in written:
                item = {"$ref": f"#/$defs/{spec.type}"}
                # the project is one mapping (the container of the others), every other type a list
                written[spec.section] = {"type": "array", "items": item} if spec.named else item
        first = specs()[0].section  # the project's mapping, before every list
        schema["properties"] = {first: written.pop(first), **written} if first in written else written
        _add_ignore_changes(schema)
        _add_unmanaged(schema)
        schema["$defs"]["import_entry"] = IMPORT_ENTRY
        schema["properties"]["import"] = {"type": "array", "items": {"$ref": "#/$defs/import_entry"}}
        schema["$defs"]["module_call"] = MODULE_CALL
        schema["properties"]["modules"] = {"type": "array", "items": {"$ref": "#/$defs/module_call"}}
        schema["$defs"]["moved_entry"] = _moved_entry()
        schema["properties"]["moved"] = {"type": "array", "items": {"$ref": "#/$defs/moved_entry"}}
    if kind == "environment":
        names = schema["properties"]["overrides"]["propertyNames"]
        names["pattern"] = config_pattern()
        names["x-messages"] = {"pattern": f"an override is keyed by an address: {override_shapes()}"}
    return schema


IGNORE_CHANGES = {
    "description": "attribute paths whose differences plans and drift ignore, or `all`",
    "anyOf": [
        {"const": "all", "x-messages": {"const": "expected `all` or a list of attribute paths"}},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
    ],
}


# A project file's `import:` entries (as Terraform's import blocks): the builder checks that `to`
# is the address of an item of the file, and that types DSS gives ids to have an `id`.
IMPORT_ENTRY = {
    "type": "object",
    "properties": {
        "to": {"type": "string", "minLength": 1, "description": "the address of an item of this file: dataset.KEY.name"},
        "id": {"type": "string", "minLength": 1, "description": "the object's DSS id (required for managed folders)"},
    },
    "additionalProperties": False,
    "required": ["to"],
    "x-context": "an import entry",
}


# A project file's `modules:` entries (docs/modules.md): modules/expand.py expands them.
MODULE_CALL = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_]+$",
                 "x-messages": {"pattern": "a module call's name is letters, digits and _ (it is part of addresses)"},
                 "description": "the instance: its resources' addresses are module.NAME.<type>.<KEY>.<name>"},
        "source": {"type": "string", "minLength": 1, "description": "./path or ../path (relative to this file), git+https://…, std/NAME, REGISTRY/NAME"},
        "version": {"type": "string", "minLength": 1, "description": "a version constraint (Git, registry and standard-library modules)"},
        "inputs": {"type": "object", "description": "the module's inputs (module.yml declares them)"},
        "name_prefix": {"type": "string", "pattern": "^[A-Za-z0-9_]*$",
                        "x-messages": {"pattern": "a name prefix is letters, digits and _"},
                        "description": "prefixed to the name of every object of the module (default: NAME_)"},
        "for_each": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[A-Za-z0-9_-]+$",
                              "x-messages": {"pattern": "a for_each key is letters, digits, _ and -"}},
            "additionalProperties": {"type": ["object", "null"]},
            "description": "one instance per key (NAME[KEY]), each with these inputs on top of `inputs`",
        },
    },
    "additionalProperties": False,
    "required": ["name", "source"],
    "x-context": "a module call",
}


def _moved_entry() -> dict[str, Any]:
    """A project file's `moved:` entries (as Terraform's moved blocks): the builder checks them."""
    address = {"type": "string", "pattern": config_pattern(),
               "x-messages": {"pattern": f"expected an address: {override_shapes()}, optionally after module.NAME."}}
    return {
        "type": "object",
        "properties": {"from": address, "to": address},
        "additionalProperties": False,
        "required": ["from", "to"],
        "x-context": "a moved entry",
    }


def _add_ignore_changes(schema: dict[str, Any]) -> None:
    """Every item of every registered type may say `ignore_changes` (as it may say `protect`,
    which is how an item schema is recognised, whichever type brought it); the builder checks
    each path against the type's field policy."""
    schema["$defs"]["ignore_changes"] = IGNORE_CHANGES
    todo: list[Any] = [schema["$defs"]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict) and "protect" in properties:
                properties.setdefault("ignore_changes", {"$ref": "#/$defs/ignore_changes"})
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)


def _add_unmanaged(schema: dict[str, Any]) -> None:
    """A project file's `unmanaged:` policy: `report | ignore | fail`, or a mapping of the policy
    and, per policy, glob patterns of names keyed by the sections of the registered types."""
    policies = ["report", "ignore", "fail"]
    sections = {spec.section: {"type": "array", "items": {"type": "string", "minLength": 1}} for spec in child_specs()}
    schema["$defs"]["unmanaged_patterns"] = {
        "type": "object", "properties": sections, "additionalProperties": False,
        "x-context": "the patterns of an unmanaged policy (section: [glob, ...])",
    }
    schema["$defs"]["unmanaged"] = {
        "description": "what drift and plans make of objects the state does not own",
        "anyOf": [
            {"type": "string", "enum": policies},
            {
                "type": "object",
                "properties": {"policy": {"enum": policies}, **{p: {"$ref": "#/$defs/unmanaged_patterns"} for p in policies}},
                "additionalProperties": False,
                "x-context": "unmanaged (policy, report, ignore, fail)",
            },
        ],
    }
    schema["properties"]["unmanaged"] = {"$ref": "#/$defs/unmanaged"}


def _validator(kind: str) -> Draft202012Validator:
    return _validator_of(kind, generation())


@cache
def _validator_of(kind: str, generation_: int) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema(kind, generation_))


def _fast_check(kind: str) -> Optional[Callable[[Any], bool]]:
    return _fast_check_of(kind, generation())


@cache
def _fast_check_of(kind: str, generation_: int) -> Optional[Callable[[Any], bool]]:
    return compile_schema(_schema(kind, generation_))


def check(data: Any, kind: str) -> List[Issue]:
    """Every schema problem of `data` against schema `kind` (project | iac | environment)."""
    fast = _fast_check(kind)
    try:
        if fast is not None and fast(data):
            return []  # valid: nothing for jsonschema to find (and explaining is what costs)
    except Exception:  # odd values (a YAML date...): let jsonschema decide and explain
        pass
    root = load_schema(kind)
    issues: List[Issue] = []
    seen = set()
    for error in _validator(kind).iter_errors(data):
        for issue in explain(error, root):
            if (issue.path, issue.message) not in seen:
                seen.add((issue.path, issue.message))
                issues.append(issue)
    return issues


def describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def describe_types(types: Iterable[str]) -> str:
    words = [_JSON_TYPE_WORDS.get(t, t) for t in types]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _custom(error: ValidationError, keyword: Optional[str] = None) -> Optional[str]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    message: Optional[str] = schema.get("x-messages", {}).get(keyword or error.validator)
    return message



def _hint(error: ValidationError) -> Optional[str]:
    return error.schema.get("x-hint") if isinstance(error.schema, dict) else None


def explain(error: ValidationError, root: dict[str, Any]) -> List[Issue]:
    """The issues one jsonschema error stands for (an unknown-keys error may name several keys)."""
    path: YamlPath = tuple(error.absolute_path)
    if "propertyNames" in error.schema_path:
        return [_bad_key(error, path)]
    handler = _HANDLERS.get(error.validator or "false", _generic)
    return handler(error, path, root)


def _bad_key(error: ValidationError, path: YamlPath) -> Issue:
    key = error.instance
    message = _custom(error) or f"invalid key '{key}'"
    return Issue((*path, key), f"{message} (got '{key}')", _hint(error), "key")


def _additional(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    schema = error.schema
    allowed = list(schema.get("properties", {}))
    context = schema.get("x-context")
    issues = []
    for key in error.instance:
        if key in schema.get("properties", {}):
            continue
        message = f"unknown key '{key}'" + (f" for {context}" if context else "")
        hint = did_you_mean(key, allowed) or _valid_for_other_types(root, schema, key)
        issues.append(Issue((*path, key), message, hint, "key"))
    return issues


def _valid_for_other_types(root: dict[str, Any], schema: dict[str, Any], key: str) -> Optional[str]:
    """'table' on a managed dataset: say which dataset types take it."""
    kind = schema.get("x-kind")
    if not kind or not schema.get("x-type"):
        return None
    types = [d["x-type"] for d in root.get("$defs", {}).values()
             if d.get("x-kind") == kind and d.get("x-type") and key in d.get("properties", {})]
    if not types:
        return None
    return f"'{key}' is only valid for a {kind} of type {' or '.join(types)}"


def _required(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    context = error.schema.get("x-context") if isinstance(error.schema, dict) else None
    issues = []
    for key in error.validator_value:
        if isinstance(error.instance, dict) and key not in error.instance:
            message = f"'{key}' is required for {context}" if context else f"missing required key '{key}'"
            issues.append(Issue(path, message, _hint(error), "entry", about=(*path, key)))
    return issues


def _type(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
    got = describe_value(error.instance)
    message = _custom(error) or f"expected {describe_types(expected)}"
    return [Issue(path, f"{message}, got {got}", _hint(error))]


def _enum(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    options = [str(o) for o in error.validator_value]
    got = error.instance
    message = _custom(error) or f"must be one of: {', '.join(options)}"
    shown = f"'{got}'" if isinstance(got, str) else json.dumps(got)
    hint = did_you_mean(got, options) if isinstance(got, str) else None
    return [Issue(path, f"{message} (got {shown})", hint or _hint(error))]


def _anyof(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    """Descend into the one branch whose type fits the value; else summarize."""
    branches: Dict[int, List[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [i for i in range(len(error.validator_value)) if not _type_mismatch(branches.get(i, []))]
    if len(fitting) == 1 and branches.get(fitting[0]):
        return [issue for sub in branches[fitting[0]] for issue in explain(sub, root)]
    custom = _custom(error)
    if not fitting:
        expected = [e.validator_value for errs in branches.values() for e in errs
                    if e.validator == "type" and not e.relative_path]
        flat = [t for v in expected for t in (v if isinstance(v, list) else [v])]
        message = custom or f"expected {describe_types(dict.fromkeys(flat))}"
        return [Issue(path, f"{message}, got {describe_value(error.instance)}", _hint(error))]
    return [Issue(path, custom or "does not match any of the allowed shapes", _hint(error), "entry")]


def _type_mismatch(errors: List[ValidationError]) -> bool:
    return any(e.validator == "type" and not e.relative_path for e in errors)


def _not(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    message = _custom(error) or "this value is not allowed here"
    locate = error.schema.get("x-locate") if isinstance(error.schema, dict) else None
    if locate and isinstance(error.instance, dict) and locate in error.instance:
        return [Issue((*path, locate), message, _hint(error), "key")]
    where = "key" if path and isinstance(path[-1], str) else "entry"
    return [Issue(path, message, _hint(error), where)]


def _bounds(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    words = {
        "minimum": "must be at least {}", "maximum": "must be at most {}",
        "exclusiveMinimum": "must be greater than {}", "exclusiveMaximum": "must be less than {}",
        "minLength": "must be at least {} characters long", "maxLength": "must be at most {} characters long",
        "minItems": "must have at least {} item(s)", "maxItems": "must have at most {} item(s)",
    }
    if error.validator == "minLength" and error.validator_value == 1:
        default = "must not be empty"
    else:
        default = words[error.validator].format(error.validator_value)
    message = _custom(error) or default
    return [Issue(path, f"{message} (got {_show(error.instance)})", _hint(error))]


def _pattern(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    message = _custom(error) or f"must match the pattern {error.validator_value}"
    return [Issue(path, f"{message} (got {_show(error.instance)})", _rename_hint(error) or _hint(error))]


def _rename_hint(error: ValidationError) -> Optional[str]:
    """`x-rename-prefix`: the name a value should take (DB_PASSWORD -> IAC_SECRET_DB_PASSWORD)."""
    prefix = error.schema.get("x-rename-prefix") if isinstance(error.schema, dict) else None
    if not prefix or not isinstance(error.instance, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", error.instance):
        return None
    return f"rename the variable to {prefix}{error.instance} (here and where it is set)"


def _const(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    message = _custom(error) or f"must be {json.dumps(error.validator_value)}"
    return [Issue(path, f"{message} (got {_show(error.instance)})", _hint(error))]


def _unique(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    return [Issue(path, _custom(error) or "the list contains the same item twice", _hint(error))]


def _generic(error: ValidationError, path: YamlPath, root: dict[str, Any]) -> List[Issue]:
    if error.validator is None or error.validator == "false":
        where = "key" if path and isinstance(path[-1], str) else "entry"
        return [Issue(path, "this key is not allowed here", None, where)]
    return [Issue(path, _custom(error) or error.message, _hint(error))]


def _show(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, (list, dict)):
        return describe_value(value)
    return json.dumps(value)


_HANDLERS = {
    "additionalProperties": _additional,
    "required": _required,
    "type": _type,
    "enum": _enum,
    "anyOf": _anyof,
    "oneOf": _anyof,
    "not": _not,
    "minimum": _bounds,
    "maximum": _bounds,
    "exclusiveMinimum": _bounds,
    "exclusiveMaximum": _bounds,
    "minLength": _bounds,
    "maxLength": _bounds,
    "minItems": _bounds,
    "maxItems": _bounds,
    "pattern": _pattern,
    "const": _const,
    "uniqueItems": _unique,
}
