"""Compliance rules (`compliance.rules` in iac.yml, merged per id with the environment file's).

A rule is data, never code: one of five kinds, each generic over the registered resource types
(what a rule reads is a logical attribute, and which types have it is the field policy of each
type's spec, resources/registry.py):

- `naming`: the object's name (a project's key) matches `pattern` (a regular expression, whole name);
- `required_tags`: each glob of `tags` matches one of the object's tags (types with a `tags` field);
- `required_attribute`: `attribute` (e.g. a project's `owner`) is set, and matches one of the
  globs of `values` when given;
- `forbidden_permission`: no row of `attribute` (default `permissions`) for a group matching
  `groups` or a user matching `users` grants one of `permissions`;
- `environment_policy`: the environment's `policies.<policy>` (require_saved_plan, allow_destroy,
  drift, require_approval: engine/policies.py enforces them; a rule only requires their value).

Every rule has an `id`, a `severity` (`error` blocks validate and plan, `warning` is reported,
`off` disables it) and `environments` (globs; default every environment). The checks are pure:
`check_subject` over anything with an address, a type, a name and logical attributes (a desired
resource, a state entry, a live DSS object), `check_policies` over the effective policies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol

from dataiku_iac import defaults
from dataiku_iac.config.documents import LoadedConfig, Located, position
from dataiku_iac.config.paths import MarkMap, YamlPath, nearest_mark, render_path
from dataiku_iac.errors import Diagnostic
from dataiku_iac.resources.registry import find_spec, specs, types

KINDS = ("naming", "required_tags", "required_attribute", "forbidden_permission", "environment_policy")
SEVERITIES = ("error", "warning", "off")
# What each kind needs besides id and kind (checked after the merge, located at the rule).
REQUIRED_KEYS = {
    "naming": ("pattern",),
    "required_tags": ("tags",),
    "required_attribute": ("attribute",),
    "forbidden_permission": ("permissions",),
    "environment_policy": ("policy", "value"),
}
# The keys each kind reads (others are refused: a `pattern` on a tag rule is a mistake).
KIND_KEYS = {
    "naming": ("types", "pattern"),
    "required_tags": ("types", "tags"),
    "required_attribute": ("types", "attribute", "values"),
    "forbidden_permission": ("types", "attribute", "groups", "users", "permissions"),
    "environment_policy": ("policy", "value"),
}
COMMON_KEYS = ("id", "kind", "description", "severity", "environments")


class Subject(Protocol):
    """What a rule checks: a desired resource, a state entry or a live object (duck-typed)."""

    type: str
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    severity: str
    description: str = ""
    environments: tuple[str, ...] = ()
    types: tuple[str, ...] = ()  # resolved: the types the rule checks
    pattern: str = ""
    tags: tuple[str, ...] = ()
    attribute: str = ""
    values: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    policy: str = ""
    value: Any = None
    # where the rule is written (file:line), for a report
    where: str = ""
    _regex: Optional[re.Pattern[str]] = field(default=None, compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.severity != "off"

    def applies_to(self, environment: str) -> bool:
        return self.active and (not self.environments or any(fnmatchcase(environment, g) for g in self.environments))

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "kind": self.kind, "severity": self.severity}
        if self.description:
            body["description"] = self.description
        for key in ("environments", "types", "tags", "values", "groups", "users", "permissions"):
            if getattr(self, key):
                body[key] = list(getattr(self, key))
        for key in ("pattern", "attribute", "policy"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.kind == "environment_policy":
            body["value"] = self.value
        return body


@dataclass(frozen=True)
class Violation:
    """One rule broken by one subject (its address) or by the environment's policies."""

    rule: Rule
    address: str  # the subject's address, or `environment.<ENV>` for an environment policy
    attribute: str  # the attribute at fault ("name" for naming), or policies.<name>
    message: str


# -- reading the rules --------------------------------------------------------------------------
class _Settings(Located):
    """iac.yml as a located document (the loader keeps its marks on the LoadedConfig)."""

    def __init__(self, marks: MarkMap) -> None:
        self.file = "iac.yml"
        self.marks = marks


@dataclass
class _Written:
    """One effective rule as written: its keys, and for each the document that set it."""

    data: dict[str, Any]
    origin: dict[str, tuple[Located, YamlPath]]  # key -> (document, path of the rule there)

    def diagnostic(self, key: str, message: str, hint: Optional[str] = None) -> Diagnostic:
        doc, path = self.origin.get(key) or self.origin["id"]
        return doc.diagnostic((*path, key), message, hint, where="value")

    def where(self) -> str:
        doc, path = self.origin["id"]
        mark, _ = nearest_mark(doc.marks, path)
        line, _column = position(mark, False, "entry")
        return f"{doc.file}:{line}" if line else doc.file


def load_rules(cfg: LoadedConfig) -> tuple[list[Rule], list[Diagnostic]]:
    """The effective rules of a loaded configuration and the problems of their definitions
    (an unknown type, a type without the rule's attribute, a pattern that does not compile…),
    each at the file and line that wrote it. Rules with problems are left out."""
    written = _merged_rules(cfg)
    rules: list[Rule] = []
    problems: list[Diagnostic] = []
    for entry in written:
        rule, found = _rule_of(entry)
        problems.extend(found)
        if rule is not None and not found:
            rules.append(rule)
    return rules, problems


def _merged_rules(cfg: LoadedConfig) -> list[_Written]:
    """iac.yml's rules, then the environment file's: an id already defined is merged key by key
    (the environment's keys win), a new id is a new rule. Entries the schema refused are skipped."""
    merged: dict[str, _Written] = {}
    sources: list[tuple[Located, Any]] = [(_Settings(cfg.settings_marks), cfg.settings.get("compliance"))]
    if cfg.environment is not None:
        sources.append((cfg.environment, cfg.environment.data.get("compliance")))
    for doc, section in sources:
        rules = section.get("rules") if isinstance(section, dict) else None
        for index, item in enumerate(rules if isinstance(rules, list) else []):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            path: YamlPath = ("compliance", "rules", index)
            entry = merged.setdefault(item["id"], _Written({}, {}))
            for key, value in item.items():
                entry.data[key] = value
                entry.origin[key] = (doc, path)
            entry.origin.setdefault("id", (doc, path))
    return list(merged.values())


def _rule_of(entry: _Written) -> tuple[Optional[Rule], list[Diagnostic]]:
    data = entry.data
    kind = data.get("kind")
    if kind not in KINDS:
        return None, [entry.diagnostic("id", f"compliance rule {data['id']!r} has no kind",
                                       f"add `kind:` ({', '.join(KINDS)}) where iac.yml or the environment file defines it")]
    problems = [entry.diagnostic(key, f"compliance rule {data['id']!r} ({kind}) needs `{key}`")
                for key in REQUIRED_KEYS[kind] if key not in data]
    problems += [entry.diagnostic(key, f"`{key}` is not a key of a {kind} rule",
                                  f"a {kind} rule takes {', '.join(KIND_KEYS[kind])}")
                 for key in data if key not in COMMON_KEYS and key not in KIND_KEYS[kind]]
    if problems:
        return None, problems
    resolved, problems = _resolved_types(entry, kind)
    regex = None
    if kind == "naming":
        try:
            regex = re.compile(str(data["pattern"]))
        except re.error as exc:
            problems.append(entry.diagnostic("pattern", f"not a regular expression: {exc}"))
    if kind == "environment_policy":
        problems += _policy_problems(entry)
    rule = Rule(
        id=data["id"], kind=kind, severity=str(data.get("severity", "error")), description=str(data.get("description", "")),
        environments=tuple(data.get("environments") or ()), types=resolved, pattern=str(data.get("pattern", "")),
        tags=tuple(data.get("tags") or ()), attribute=_attribute(kind, data), values=tuple(data.get("values") or ()),
        groups=tuple(data.get("groups") or ()), users=tuple(data.get("users") or ()),
        permissions=tuple(data.get("permissions") or ()), policy=str(data.get("policy", "")), value=data.get("value"),
        where=entry.where(), _regex=regex,
    )
    return rule, problems


def _attribute(kind: str, data: Mapping[str, Any]) -> str:
    if kind == "required_tags":
        return "tags"
    if kind == "forbidden_permission":
        return str(data.get("attribute") or "permissions")
    return str(data.get("attribute", ""))


def _resolved_types(entry: _Written, kind: str) -> tuple[tuple[str, ...], list[Diagnostic]]:
    """The types a rule checks: those it names (each registered, each with the attribute the rule
    reads), or by default every registered type that has that attribute (any type for naming)."""
    if kind == "environment_policy":
        return (), []
    attribute = _attribute(kind, entry.data)
    named = entry.data.get("types")
    if not named:
        return tuple(s.type for s in specs() if not attribute or attribute in s.handler.policy.names()), []
    problems = []
    for written in named:
        spec = find_spec(written)
        if spec is None:
            problems.append(entry.diagnostic("types", f"unknown resource type {written!r}", f"known types: {', '.join(types())}"))
        elif attribute and attribute not in spec.handler.policy.names():
            problems.append(entry.diagnostic("types", f"a {spec.label} has no attribute {attribute!r}",
                                             f"its attributes: {', '.join(spec.handler.policy.names())}"))
    return tuple(named), problems


def _policy_problems(entry: _Written) -> list[Diagnostic]:
    name, value = entry.data["policy"], entry.data["value"]
    if name not in defaults.POLICIES:
        return [entry.diagnostic("policy", f"unknown environment policy {name!r}", f"policies: {', '.join(defaults.POLICIES)}")]
    expected = type(defaults.POLICIES[name])
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        return [entry.diagnostic("value", f"policies.{name} is a {expected.__name__}, not {value!r}")]
    return []


def rule_from_params(params: Mapping[str, Any]) -> tuple[Optional[Rule], list[str]]:
    """A rule from flat parameters (a DSS Project Standards check's: lists as lists or
    comma-separated text), with the problems that make it unusable. `environment_policy` has no
    meaning inside one project and is refused."""
    kind = str(params.get("kind") or "")
    if kind not in KINDS or kind == "environment_policy":
        return None, [f"kind must be one of {', '.join(k for k in KINDS if k != 'environment_policy')}, not {kind!r}"]
    listed = {key: _listed(params.get(key)) for key in ("types", "tags", "values", "groups", "users", "permissions")}
    data: dict[str, Any] = {"id": str(params.get("id") or kind), "kind": kind, **{k: v for k, v in listed.items() if v}}
    for key in ("pattern", "attribute"):
        if params.get(key):
            data[key] = str(params[key])
    problems = [f"a {kind} rule needs {key}" for key in REQUIRED_KEYS[kind] if key not in data]
    if problems:
        return None, problems
    attribute = _attribute(kind, data)
    types_ = tuple(data.get("types") or (s.type for s in specs() if not attribute or attribute in s.handler.policy.names()))
    problems += [problem for problem in (_type_problem(t, attribute) for t in types_) if problem]
    regex = None
    if kind == "naming":
        try:
            regex = re.compile(data["pattern"])
        except re.error as exc:
            problems.append(f"pattern: not a regular expression: {exc}")
    rule = Rule(id=data["id"], kind=kind, severity="error", types=types_, pattern=data.get("pattern", ""),
                tags=tuple(data.get("tags") or ()), attribute=attribute, values=tuple(data.get("values") or ()),
                groups=tuple(data.get("groups") or ()), users=tuple(data.get("users") or ()),
                permissions=tuple(data.get("permissions") or ()), _regex=regex)
    return (None if problems else rule), problems


def _type_problem(type_: str, attribute: str) -> Optional[str]:
    spec = find_spec(type_)
    if spec is None:
        return f"unknown resource type {type_!r}"
    if attribute and attribute not in spec.handler.policy.names():
        return f"a {spec.label} has no attribute {attribute!r}"
    return None


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


# -- checking -----------------------------------------------------------------------------------
def check_subject(rule: Rule, address: str, subject: Subject) -> list[Violation]:
    """The violations of `rule` by one object (nothing when the rule does not cover its type)."""
    if rule.kind == "environment_policy" or subject.type not in rule.types:
        return []
    checker = _CHECKS[rule.kind]
    return [Violation(rule, address, attribute, message) for attribute, message in checker(rule, subject)]


def _naming(rule: Rule, subject: Subject) -> Iterable[tuple[str, str]]:
    regex = rule._regex or re.compile(rule.pattern)
    if regex.fullmatch(subject.name) is None:
        yield "name", f"name {subject.name!r} does not match {rule.pattern!r}"


def _required_tags(rule: Rule, subject: Subject) -> Iterable[tuple[str, str]]:
    tags = [str(t) for t in subject.attributes.get("tags") or []]
    for wanted in rule.tags:
        if not any(fnmatchcase(tag, wanted) for tag in tags):
            yield "tags", f"no tag matches {wanted!r}"


def _required_attribute(rule: Rule, subject: Subject) -> Iterable[tuple[str, str]]:
    value = subject.attributes.get(rule.attribute)
    if value in (None, "", [], {}):
        yield rule.attribute, f"{rule.attribute} is not set"
    elif rule.values and not (isinstance(value, str) and any(fnmatchcase(value, glob) for glob in rule.values)):
        yield rule.attribute, f"{rule.attribute} {_shown(subject.type, rule.attribute, value)}is not one of {', '.join(rule.values)}"


def _shown(type_: str, attribute: str, value: Any) -> str:
    """The value in a message, when it is a plain string the type does not mark sensitive (a
    mapping may hold secret references; a sensitive field is never shown)."""
    spec = find_spec(type_)
    if not isinstance(value, str) or spec is None or spec.handler.policy.get(attribute).sensitive:
        return ""
    return f"{value!r} "


def _forbidden_permission(rule: Rule, subject: Subject) -> Iterable[tuple[str, str]]:
    for row in subject.attributes.get(rule.attribute) or []:
        if not isinstance(row, dict):
            continue
        who = _who(rule, row)
        if who is None:
            continue
        granted = sorted(set(row.get("permissions") or []) & set(rule.permissions))
        if granted:
            yield rule.attribute, f"{who} has {', '.join(granted)}"


def _who(rule: Rule, row: Mapping[str, Any]) -> Optional[str]:
    """'group X' / 'user Y' when the row is one the rule forbids (no groups nor users: everyone)."""
    everyone = not rule.groups and not rule.users
    if row.get("group") is not None and (everyone or any(fnmatchcase(str(row["group"]), g) for g in rule.groups)):
        return f"group {row['group']!r}"
    if row.get("user") is not None and (everyone or any(fnmatchcase(str(row["user"]), u) for u in rule.users)):
        return f"user {row['user']!r}"
    return None


_CHECKS: dict[str, Callable[[Rule, Subject], Iterable[tuple[str, str]]]] = {
    "naming": _naming,
    "required_tags": _required_tags,
    "required_attribute": _required_attribute,
    "forbidden_permission": _forbidden_permission,
}


def check_policies(rule: Rule, environment: str, policies: Mapping[str, Any]) -> list[Violation]:
    """An `environment_policy` rule against the environment's effective policies."""
    if rule.kind != "environment_policy":
        return []
    actual = policies.get(rule.policy, defaults.POLICIES.get(rule.policy))
    if actual == rule.value:
        return []
    return [Violation(rule, f"environment.{environment}", f"policies.{rule.policy}",
                      f"policies.{rule.policy} is {json.dumps(actual)}, the rule requires {json.dumps(rule.value)}")]


# -- validate and plan --------------------------------------------------------------------------
def rule_problems(cfg: LoadedConfig) -> list[Diagnostic]:
    """The problems of the rules' definitions only (`report compliance` checks the rest itself)."""
    return load_rules(cfg)[1]


def config_diagnostics(cfg: LoadedConfig, desired: Any) -> list[Diagnostic]:
    """Every rule's definition problems, then its violations by the desired model, as located
    diagnostics: errors (severity error) block validate and plan, warnings are reported."""
    rules, problems = load_rules(cfg)
    environment = cfg.environment.name if cfg.environment is not None else ""
    found = list(problems)
    documents = {doc.file: doc for doc in cfg.projects}
    for rule in rules:
        if not rule.applies_to(environment):
            continue
        for address, resource in sorted(desired.resources.items()):
            found += [_at_resource(v, resource, documents) for v in check_subject(rule, address, resource)]
        found += [_at_policy(v, cfg) for v in check_policies(rule, environment, cfg.policies)]
    return found


_RULE_MARK = " (compliance rule "  # how a violation's diagnostic message names its rule


def describe(violation: Violation) -> str:
    rule = violation.rule
    return f"{violation.address}: {violation.message}{_RULE_MARK}{rule.id!r}, {rule.kind})"


def is_rule_finding(diagnostic: Diagnostic) -> bool:
    """Whether `diagnostic` is a rule's violation (as `config_diagnostics` makes them)."""
    return _RULE_MARK in diagnostic.message


def _at_resource(violation: Violation, resource: Any, documents: Mapping[str, Any]) -> Diagnostic:
    """At the attribute's key in the item (its `tags:` line; the item's line when it is not
    written), a module item's message naming the call site as other module errors do."""
    source = resource.source
    doc = documents.get(source.document)
    if doc is not None and source.path:
        located: Diagnostic = doc.diagnostic((*source.path, violation.attribute), describe(violation),
                                 violation.rule.description or None, violation.rule.severity, where="key")
        return replace(located, path=violation.attribute)
    return Diagnostic(source.file or "projects/", source.line, source.column, violation.attribute, describe(violation),
                      violation.rule.description or None, violation.rule.severity)


def locate_violation(violation: Violation, resource: Any, documents: Mapping[str, Any]) -> str:
    """`file:line` of a violation by a configured resource, with a module item's call site
    (`modules/landing/resources.yml:9 (in module.orders, called at projects/landing.yml:7)`)."""
    located = _at_resource(violation, resource, documents)
    suffix = located.message[len(describe(violation)):].strip()
    return (f"{located.file}:{located.line}" if located.line else located.file) + (f" {suffix}" if suffix else "")


def _at_policy(violation: Violation, cfg: LoadedConfig) -> Diagnostic:
    """At the policy in the environment file, or iac.yml's, or the environment file's start."""
    rule = violation.rule
    key: YamlPath = ("policies", rule.policy)
    env = cfg.environment
    if env is not None and rule.policy in (env.data.get("policies") or {}):
        return env.diagnostic(key, describe(violation), rule.description or None, rule.severity, where="value")
    if key in cfg.settings_marks:  # written in iac.yml (its loaded settings also hold the defaults)
        return _Settings(cfg.settings_marks).diagnostic(key, describe(violation), rule.description or None,
                                                        rule.severity, where="value")
    file = env.file if env is not None else "iac.yml"
    return Diagnostic(file, 0, 0, render_path(key), describe(violation),
                      rule.description or f"set policies.{rule.policy}: {json.dumps(rule.value)} in {file}", rule.severity)
