"""Declarative field policies: how each logical attribute of a resource type is compared.

Planning and drift detection both go through `FieldPolicy.compare`, so they cannot
disagree about what counts as a change. DSS fills in many defaults and adds keys after
upgrades (see dss-samples/SOURCES.md, "What DSS adds or changes on its own"), so most
comparisons are *subset* comparisons: what the config declares must be true in DSS;
what DSS adds on its own is not a difference.

Compare modes:
- ``exact``: equal after JSON normalisation (1 == 1.0, CRLF == LF in strings; but true is not
  1: JSON's types are kept, where Python's ``True == 1`` would not keep them).
- ``set``: lists compared as sets (tags).
- ``subset``: every declared key (recursively) equals DSS's value; extra DSS keys ignored.
- ``items``: lists compared position by position, each item as a subset (schema columns,
  triggers, steps): order matters, server-filled keys inside items do not.
- ``keyed``: lists of mappings compared as sets keyed by `key` (permission rows).
- ``map``: a mapping whose declared keys are compared exactly; a key removed from the
  config (present in prior state) must be absent in DSS (project variables).
- ``known``: ``exact`` when DSS tells the value; None (DSS's document names an object that is gone,
  so the value cannot be told: a saved model whose ML task was deleted) is no difference.
- ``recorded``: never a difference. DSS's data that the state records as DSS had it after each
  apply and import (a saved model's trained versions): `state show` tells it, no plan and no drift report
  ever compares it, and the configuration never declares it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Optional

RECORDED = "recorded"  # the compare mode of what the state records of DSS's data (see above)
KNOWN = "known"  # exact, but a value DSS can no longer tell (None) is no difference (see above)
# The attribute a plan made with `--train` adds to the change of a trainable type's object (a saved
# model): its update trains it (spec.trainable). Never in the configuration nor in the state.
TRAIN = "train"
# Its value when the object is trained from its source's current settings rather than its own
# (a saved model whose ML task changed since it was deployed: trained in the lab, redeployed).
TRAIN_FROM_SOURCE = "from_source"
UNSET: Any = object()  # "no reset value": a field dropped from config simply stops being managed
ABSENT: Any = "\x00<absent>"  # marks a map key that must not exist in DSS


class Impact(str, Enum):
    """What a planned change can do to what reads the object (docs/impact-analysis.md), mildest
    first: `plan --fail-on breaking` fails on breaking and destructive changes."""

    NON_BREAKING = "non-breaking"
    BREAKING = "breaking"  # what reads the object (recipes, scenarios, the Flow below) may fail or read other data
    DESTRUCTIVE = "destructive"  # stored data is deleted, or left where the object no longer reads it

    @property
    def rank(self) -> int:
        return _IMPACT_ORDER.index(self)


_IMPACT_ORDER = (Impact.NON_BREAKING, Impact.BREAKING, Impact.DESTRUCTIVE)


@dataclass(frozen=True)
class Effect:
    """One consequence of a field's change, for the plan's impact analysis (planner/impact.py)."""

    impact: Impact
    reason: str  # "schema: column 'amount' removed"
    # The columns it concerns: the recipes reading the object are told whether they name them.
    columns: tuple[str, ...] = ()
    # The objects of the project whose downstream is affected, by name (a recipe's removed
    # outputs); None: the changed object itself.
    starts: Optional[tuple[str, ...]] = None


# A field's impact rule: (value before, value after, the resource's attributes before, after) ->
# its effects; none: the change breaks nothing. Attributes are logical (kind, connection…).
ImpactRule = Callable[[Any, Any, Mapping[str, Any], Mapping[str, Any]], "list[Effect]"]


def breaking_when_changed(what: str) -> ImpactRule:
    """The rule of a field whose every change is breaking (a dataset's partitioning)."""

    def rule(before: Any, after: Any, _old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
        return [Effect(Impact.BREAKING, f"{what} changes from {_short(before)} to {_short(after)}")]

    return rule


def _short(value: Any) -> str:
    import json

    text = json.dumps(normalize(value), sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


@dataclass(frozen=True)
class Field:
    """The policy for one logical attribute."""

    name: str
    compare: str = "exact"
    replace: bool = False  # a change can only be made by deleting and re-creating the object
    reset: Any = UNSET  # value DSS should go back to when the attribute leaves the config
    sensitive: bool = False  # never shown in plans, never stored in state
    key: Optional[Callable[[dict[str, Any]], str]] = None  # for "keyed" lists
    # What a change of the field does to what reads the object (impact analysis); None: nothing.
    impact: Optional[ImpactRule] = None


@dataclass(frozen=True)
class FieldPolicy:
    """The fields a resource type manages, and how."""

    fields: tuple[Field, ...]
    # DSS keys that are bookkeeping, never configuration (documented; drift ignores them).
    server_owned: tuple[str, ...] = ("versionTag", "creationTag")
    _index: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({f.name: f for f in self.fields})

    def get(self, name: str) -> Field:
        found = self._index.get(name)
        return found if found is not None else Field(name)

    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def equal(self, name: str, desired: Any, observed: Any) -> bool:
        return self.field_equal(self.get(name), desired, observed)

    @staticmethod
    def field_equal(policy: Field, desired: Any, observed: Any) -> bool:
        """`equal` for a field already looked up (`get`)."""
        return _COMPARATORS[policy.compare](desired, observed, policy)


def normalize(value: Any) -> Any:
    """Canonical JSON-ish form: ints for integral floats, LF line endings, tuples as lists."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


_NUMBERS = (int, float)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON values after normalisation: 1 == 1.0, but true != 1 and false != 0.

    The common cases (plain JSON values, string keys) are compared in place, without the
    normalised copies: a no-op plan compares every declared attribute of every resource.
    Anything else goes through `normalize`, whose result is the definition."""
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return a == b or (("\r" in a or "\r" in b) and a.replace("\r\n", "\n") == b.replace("\r\n", "\n"))
    if ta is dict and tb is dict:
        if a.keys() != b.keys() or not all(type(k) is str for k in a):
            return _json_equal(normalize(a), normalize(b))  # keys that normalise to the same str
        return all(same_json(a[k], b[k]) for k in a)
    if (ta is list or ta is tuple) and (tb is list or tb is tuple):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if ta in _NUMBERS and tb in _NUMBERS:
        return bool(a == b)
    if (ta is bool and tb is bool) or (a is None and b is None):
        return a is b
    return _json_equal(normalize(a), normalize(b))


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def _exact(desired: Any, observed: Any, _policy: Field) -> bool:
    return same_json(desired, observed)


def _set(desired: Any, observed: Any, _policy: Field) -> bool:
    desired, observed = desired or [], observed or []
    if all(type(item) is str for item in desired) and all(type(item) is str for item in observed):
        # Tags: the same multiset of strings (LF endings), without a JSON text per string.
        return sorted(_lf(item) for item in desired) == sorted(_lf(item) for item in observed)
    return sorted(map(_canon, desired)) == sorted(map(_canon, observed))


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def is_subset(desired: Any, observed: Any) -> bool:
    """True when every key declared in `desired` has the same value in `observed`."""
    if isinstance(desired, dict):
        if not isinstance(observed, dict):
            return False
        for key, value in desired.items():
            found = observed.get(key, ABSENT)
            if type(value) is str and type(found) is str and value == found:
                continue  # most leaves of a no-op plan: same_json's first answer, without the call
            if not is_subset(value, found):
                return False
        return True
    if isinstance(desired, list):
        if not isinstance(observed, list) or len(desired) != len(observed):
            return False
        for wanted, found in zip(desired, observed):
            if type(wanted) is str and type(found) is str and wanted == found:
                continue  # as above
            if not is_subset(wanted, found):
                return False
        return True
    return same_json(desired, observed)


def _subset(desired: Any, observed: Any, _policy: Field) -> bool:
    return is_subset(desired, observed if observed is not None else {})


def _items(desired: Any, observed: Any, _policy: Field) -> bool:
    return is_subset(list(desired or []), list(observed or []))


def _keyed(desired: Any, observed: Any, policy: Field) -> bool:
    key = policy.key or (lambda item: _canon(item))
    want = {key(item): item for item in desired or []}
    have = {key(item): item for item in observed or []}
    return want.keys() == have.keys() and all(is_subset(want[k], have[k]) for k in want)


def _map(desired: Any, observed: Any, _policy: Field) -> bool:
    observed = observed or {}
    for key, value in (desired or {}).items():
        if isinstance(value, dict) and not is_secret_ref(value):
            if not _map(value, observed.get(key), _policy):
                return False
        elif value == ABSENT:
            if key in observed:
                return False
        elif is_secret_ref(value) and "fingerprint" not in value:
            # A recorded secret whose fingerprint is unknown (made under a key the state no longer
            # has, or by an older version for a value no longer at hand): nothing to compare.
            # Desired references always carry one (the planner checks), so this is drift-only.
            if key not in observed:
                return False
        elif not same_json(value, observed.get(key, ABSENT)):
            return False
    return True


def is_secret_ref(value: Any) -> bool:
    """A secret variable's reference: `{secret_env: NAME}`, with the value's `fingerprint` once
    fingerprinted under the state's key (secrets.py)."""
    return isinstance(value, dict) and "secret_env" in value


def _canon(value: Any) -> str:
    import json

    return json.dumps(normalize(value), sort_keys=True)


_COMPARATORS: dict[str, Callable[[Any, Any, Field], bool]] = {
    "exact": _exact,
    "set": _set,
    "subset": _subset,
    "items": _items,
    "keyed": _keyed,
    "map": _map,
    RECORDED: lambda _desired, _observed, _policy: True,
    KNOWN: lambda desired, observed, policy: observed is None or _exact(desired, observed, policy),
}


def project_observed(desired: Any, observed: Any, compare: str) -> Any:
    """The part of an observed value that a diff should show next to `desired`.

    For subset-style comparisons, DSS's extra keys are noise in a plan: show only the
    keys the config declares.
    """
    if compare in ("subset", "items", "map") and isinstance(desired, dict) and isinstance(observed, dict):
        return {k: project_observed(v, observed.get(k), compare) for k, v in desired.items() if k in observed}
    if compare == "items" and isinstance(desired, list) and isinstance(observed, list):
        shown = [project_observed(d, o, "subset") for d, o in zip(desired, observed)]
        return shown + observed[len(desired) :]
    return observed


# -- ignore_changes: attribute paths whose differences are not changes -----------------------------
IGNORE_ALL = "all"  # `ignore_changes: all`, as Terraform's lifecycle: every attribute
NESTABLE = ("subset", "map")  # compare modes of mappings, whose keys a path may name


def ignores_whole(paths: tuple[str, ...], name: str) -> bool:
    """Whether `ignore_changes` covers the whole attribute `name`."""
    return IGNORE_ALL in paths or name in paths


def _nested(paths: tuple[str, ...], name: str) -> list[list[str]]:
    """The key paths under attribute `name` that `ignore_changes` names (`params.separator`)."""
    prefix = name + "."
    return [p[len(prefix):].split(".") for p in paths if p.startswith(prefix)]


def without_ignored(paths: tuple[str, ...], name: str, value: Any) -> Any:
    """`value` of attribute `name` without the nested keys `ignore_changes` names: what is
    left to compare (a subset or map comparison compares only the keys it is given)."""
    for keys in _nested(paths, name):
        value = _drop(value, keys)
    return value


def with_live_ignored(paths: tuple[str, ...], name: str, value: Any, live: Any) -> Any:
    """`value` with the nested keys `ignore_changes` names taken from `live` (dropped where DSS
    has none): what an update writes, so that it never reverts an ignored key."""
    for keys in _nested(paths, name):
        found = _get(live, keys)
        value = _drop(value, keys) if found is ABSENT else _put(value, keys, found)
    return value


def _get(value: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return ABSENT
        value = value[key]
    return value


def _drop(value: Any, keys: list[str]) -> Any:
    if not isinstance(value, dict) or keys[0] not in value:
        return value
    copy = dict(value)
    if len(keys) == 1:
        del copy[keys[0]]
    else:
        copy[keys[0]] = _drop(copy[keys[0]], keys[1:])
    return copy


def _put(value: Any, keys: list[str], new: Any) -> Any:
    copy = dict(value) if isinstance(value, dict) else {}
    copy[keys[0]] = new if len(keys) == 1 else _put(copy.get(keys[0]), keys[1:], new)
    return copy


def ignore_path_problem(policy: FieldPolicy, path: str, label: str) -> Optional[tuple[str, Optional[str]]]:
    """Why `path` is not an attribute path `ignore_changes` may name for a type of `policy`
    (message, hint), or None. The field policy is the vocabulary: every registered type has one."""
    from dataiku_iac.config.suggest import did_you_mean

    name, _, rest = path.partition(".")
    names = policy.names()
    if name not in names:
        if path == IGNORE_ALL:
            return f"{IGNORE_ALL!r} stands alone", f"write `ignore_changes: {IGNORE_ALL}` (not in a list) to ignore every attribute"
        hint = did_you_mean(name, names) or f"the attributes are: {', '.join(names)}"
        return f"unknown attribute {name!r} of a {label}", hint
    compare = policy.get(name).compare
    if rest and (compare not in NESTABLE or "" in rest.split(".")):
        if compare not in NESTABLE:
            return f"a {label}'s {name!r} is compared as a whole, not key by key", f"ignore {name!r} itself"
        return f"{path!r} is not an attribute path", "write keys separated by single dots: params.separator"
    return None
