"""A fast yes/no check of a document against our JSON Schemas, for the common case: valid.

jsonschema finds and explains every error, which the loader needs when a document is
invalid, but it pays for that on valid documents too: about 1.3 ms per resource, 1.3 s of
every command at 1,000 resources and 13 s at 10,000 (most of `plan`'s own CPU). This
module compiles a schema once into plain Python closures that only answer "valid or not",
about 20 times faster. `schema.check` asks it first and runs jsonschema only when it says
"not valid", so messages are unchanged.

It must never say "valid" where jsonschema would not. So it mirrors jsonschema's own rules
(its type checker, its `equal` and `uniq`), supports exactly the keywords our schemas use,
and refuses to compile a schema with any other keyword (`compile_schema` returns None and
the caller keeps using jsonschema alone). tests/unit/config/test_fastschema.py compares the
two on every document the test suite knows and on generated ones.
"""

from __future__ import annotations

import numbers
import re
from typing import Any, Callable, Optional

Check = Callable[[Any], bool]


# jsonschema is imported only when a check needs it: importing it (with referencing and attrs)
# is about a tenth of every command's start, and a valid configuration of strings, which the
# common case checks, never needs it.
def _equal(one: Any, two: Any) -> bool:
    """jsonschema's own equality (True != 1, 1 == 1.0, recursive). Its first two rules, which
    settle every enum and const of strings, without importing it."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    from jsonschema._utils import equal

    return bool(equal(one, two))


def _uniq(container: Any) -> bool:
    """jsonschema's own uniqueness."""
    from jsonschema._utils import uniq

    return bool(uniq(container))

# Keywords with no bearing on validity (annotations, and our own x-* messages).
_IGNORED = {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}


class _Unsupported(Exception):
    pass


def _is_number(instance: Any) -> bool:
    return not isinstance(instance, bool) and isinstance(instance, numbers.Number)


def _is_integer(instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


# jsonschema's Draft 2020-12 type checker, as plain functions: asking the checker costs a
# lookup in its persistent map per call (half a million calls to load 10,000 resources).
# tests/unit/config/test_fastschema.py holds them to the checker.
TYPE_PREDICATES: dict[str, Check] = {
    "object": lambda instance: isinstance(instance, dict),
    "array": lambda instance: isinstance(instance, list),
    "string": lambda instance: isinstance(instance, str),
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _type_predicate(type_: str) -> Check:
    predicate = TYPE_PREDICATES.get(type_)
    if predicate is None:
        from jsonschema import Draft202012Validator

        checker = Draft202012Validator.TYPE_CHECKER
        return lambda instance: bool(checker.is_type(instance, type_))
    return predicate


def compile_schema(root: dict[str, Any]) -> Optional[Check]:
    """A function telling whether an instance is valid against `root`; None if the schema
    uses a keyword this module does not implement."""
    refs: dict[str, Check] = {}

    def ref(pointer: str) -> Check:
        if not pointer.startswith("#/"):
            raise _Unsupported(pointer)
        if pointer not in refs:
            target: Any = root
            for part in pointer[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    raise _Unsupported(pointer)
                target = target[part]
            # Compile lazily, on first use: definitions may refer to themselves.
            slot: list[Check] = []
            refs[pointer] = lambda instance: slot[0](instance)
            slot.append(node(target))
        return refs[pointer]

    def node(schema: Any) -> Check:
        if schema is True:
            return lambda instance: True
        if schema is False:
            return lambda instance: False
        if not isinstance(schema, dict):
            raise _Unsupported(repr(schema))
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _IGNORED or keyword.startswith("x-") or keyword in ("then", "else"):
                continue
            checks.append(keyword_check(keyword, value, schema))
        if not checks:
            return lambda instance: True
        if len(checks) == 1:
            return checks[0]
        return lambda instance: all(check(instance) for check in checks)

    def keyword_check(keyword: str, value: Any, schema: dict[str, Any]) -> Check:

        if keyword == "$ref":
            return ref(value)
        if keyword == "type":
            predicates = [_type_predicate(t) for t in ([value] if isinstance(value, str) else value)]
            if len(predicates) == 1:
                return predicates[0]
            return lambda instance: any(p(instance) for p in predicates)
        if keyword == "enum":
            options = list(value)
            return lambda instance: any(_equal(each, instance) for each in options)
        if keyword == "const":
            return lambda instance: _equal(instance, value)
        if keyword == "required":
            names = list(value)
            return lambda instance: not isinstance(instance, dict) or all(n in instance for n in names)
        if keyword == "properties":
            props = {name: node(sub) for name, sub in value.items()}
            return lambda instance: not isinstance(instance, dict) or all(
                check(instance[name]) for name, check in props.items() if name in instance
            )
        if keyword == "additionalProperties":
            if "patternProperties" in schema:
                raise _Unsupported("patternProperties")
            known = set(schema.get("properties") or {})
            if value is False:
                return lambda instance: not isinstance(instance, dict) or all(k in known for k in instance)
            extra = node(value)
            return lambda instance: not isinstance(instance, dict) or all(
                extra(v) for k, v in instance.items() if k not in known
            )
        if keyword == "propertyNames":
            names_check = node(value)
            return lambda instance: not isinstance(instance, dict) or all(names_check(k) for k in instance)
        if keyword == "items":
            if "prefixItems" in schema or not isinstance(value, (dict, bool)):
                raise _Unsupported("items")
            item = node(value)
            return lambda instance: not isinstance(instance, list) or all(item(v) for v in instance)
        if keyword == "minProperties":
            return lambda instance: not isinstance(instance, dict) or len(instance) >= value
        if keyword == "minItems":
            return lambda instance: not isinstance(instance, list) or len(instance) >= value
        if keyword == "uniqueItems":
            if not value:
                return lambda instance: True
            return lambda instance: not isinstance(instance, list) or _uniq(instance)
        if keyword == "pattern":
            regex = re.compile(value)
            return lambda instance: not isinstance(instance, str) or regex.search(instance) is not None
        if keyword == "minLength":
            return lambda instance: not isinstance(instance, str) or len(instance) >= value
        if keyword == "maxLength":
            return lambda instance: not isinstance(instance, str) or len(instance) <= value
        if keyword == "minimum":
            return lambda instance: not _is_number(instance) or instance >= value
        if keyword == "maximum":
            return lambda instance: not _is_number(instance) or instance <= value
        if keyword == "exclusiveMinimum":
            return lambda instance: not _is_number(instance) or instance > value
        if keyword == "exclusiveMaximum":
            return lambda instance: not _is_number(instance) or instance < value
        if keyword == "allOf":
            subs = [node(s) for s in value]
            return lambda instance: all(s(instance) for s in subs)
        if keyword == "anyOf":
            subs = [node(s) for s in value]
            return lambda instance: any(s(instance) for s in subs)
        if keyword == "oneOf":
            subs = [node(s) for s in value]
            return lambda instance: sum(1 for s in subs if s(instance)) == 1
        if keyword == "not":
            sub = node(value)
            return lambda instance: not sub(instance)
        if keyword == "if":
            condition = node(value)
            then = node(schema["then"]) if "then" in schema else (lambda instance: True)
            otherwise = node(schema["else"]) if "else" in schema else (lambda instance: True)
            return lambda instance: then(instance) if condition(instance) else otherwise(instance)
        raise _Unsupported(keyword)

    try:
        return node(root)
    except _Unsupported:
        return None
