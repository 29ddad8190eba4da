"""The field comparators (resources/policy.py): what planning and drift count as a difference.

Each compare mode on its own, on hand-written cases that pin the rule docs/architecture.md states
for it, then properties over generated JSON values: every mode is reflexive, what DSS adds on
its own is never a difference under the subset modes, and a changed declared value always is.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from dataiku_iac.resources.policy import ABSENT, Field, FieldPolicy, is_subset, normalize, project_observed
from hypothesis import assume, given, settings
from hypothesis import strategies as st


def equal(compare: str, desired: Any, observed: Any, **options: Any) -> bool:
    return FieldPolicy(fields=(Field("f", compare=compare, **options),)).equal("f", desired, observed)


# -- normalisation ---------------------------------------------------------------------------
def test_normalize_makes_integral_floats_ints_and_crlf_lf_at_every_depth() -> None:
    value = {"a": 1.0, "b": [2.0, 2.5, "x\r\ny"], "c": {"d": (3.0,)}, 4: "k"}
    assert normalize(value) == {"a": 1, "b": [2, 2.5, "x\ny"], "c": {"d": [3]}, "4": "k"}
    assert type(normalize(1.0)) is int and type(normalize(2.5)) is float
    assert normalize(True) is True and normalize(None) is None


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                    max_leaves=12))
def test_normalize_is_idempotent(value: Any) -> None:
    once = normalize(value)
    assert normalize(once) == once


def _normalised_equal(a: Any, b: Any) -> bool:
    """same_json's definition: equal once both sides are normalised."""
    from dataiku_iac.resources.policy import _json_equal

    return _json_equal(normalize(a), normalize(b))


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.sampled_from([0, 1, 2, 0.0, 1.0, 2.5, -1]) | st.sampled_from(["", "a", "a\r\nb", "a\nb", "\r"]),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.sampled_from(["a", "b", 1, "1"]), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=400)
@given(_JSONISH, _JSONISH)
def test_same_json_compares_in_place_as_the_normalised_copies_do(a: Any, b: Any) -> None:
    from dataiku_iac.resources.policy import same_json

    assert same_json(a, b) == _normalised_equal(a, b)
    assert same_json(a, copy.deepcopy(a)) == _normalised_equal(a, copy.deepcopy(a))


@settings(max_examples=300)
@given(st.lists(st.sampled_from(["a", "b", "a\r\nb", "a\nb", 1, 1.0, True])), st.lists(st.sampled_from(["a", "b", "a\nb", "a\r\nb", 1])))
def test_set_compares_strings_as_their_json_texts_would(desired: list, observed: list) -> None:
    from dataiku_iac.resources.policy import _canon

    defined = sorted(map(_canon, desired)) == sorted(map(_canon, observed))
    assert equal("set", desired, observed) == defined


# -- exact -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("desired", "observed"), [
    (1, 1.0),
    ({"n": [1, 2]}, {"n": [1.0, 2.0]}),
    ("line one\nline two\n", "line one\r\nline two\r\n"),
    ({"code": "a\r\nb"}, {"code": "a\nb"}),
    (None, None),
])
def test_exact_is_equality_after_normalisation(desired: Any, observed: Any) -> None:
    assert equal("exact", desired, observed) and equal("exact", observed, desired)


@pytest.mark.parametrize(("desired", "observed"), [
    (1, 1.5),
    ("a", "a "),
    ("a\nb", "a\rb"),  # only CRLF is a line ending to normalise
    ({"a": 1}, {"a": 1, "b": 2}),  # exact: a key DSS added is a difference
    ([1, 2], [2, 1]),
    (None, ""),
])
def test_exact_sees_real_differences(desired: Any, observed: Any) -> None:
    assert not equal("exact", desired, observed)


@pytest.mark.parametrize("compare", ["exact", "subset", "items", "map"])
@pytest.mark.parametrize(("desired", "observed"), [
    (True, 1), (False, 0), (1, True), (0.0, False), ("1", 1), (None, False),
])
def test_json_types_are_kept_a_boolean_is_not_a_number(compare: str, desired: Any, observed: Any) -> None:
    """YAML `true` and a DSS `1` are different JSON values (the set and keyed modes always said so)."""
    wrap = {"exact": lambda v: v, "subset": lambda v: {"k": v}, "items": lambda v: [{"k": v}], "map": lambda v: {"k": v}}[compare]
    assert not equal(compare, wrap(desired), wrap(observed))
    assert not equal("set", [desired], [observed])


# -- set -------------------------------------------------------------------------------------
def test_set_ignores_order_but_not_membership() -> None:
    assert equal("set", ["b", "a"], ["a", "b"])
    assert equal("set", [], None) and equal("set", None, [])
    assert not equal("set", ["a"], ["a", "b"])
    assert not equal("set", ["a", "b"], ["a"])
    assert equal("set", [{"x": 1.0}], [{"x": 1}])  # normalised too


# -- subset ----------------------------------------------------------------------------------
def test_subset_ignores_what_dss_adds_at_any_depth() -> None:
    desired = {"separator": ",", "nested": {"a": 1}}
    observed = {"separator": ",", "style": "excel", "nested": {"a": 1.0, "added": [1]}}
    assert equal("subset", desired, observed)
    assert equal("subset", {}, None)  # nothing declared: nothing to differ


def test_subset_sees_a_declared_value_changed_or_missing() -> None:
    assert not equal("subset", {"separator": ","}, {"separator": ";"})
    assert not equal("subset", {"nested": {"a": 1}}, {"nested": {"a": 2}})
    assert not equal("subset", {"separator": ","}, {})  # declared, absent in DSS
    assert not equal("subset", {"separator": ","}, None)


def test_is_subset_absent_values() -> None:
    """A declared key DSS does not have is a difference, whatever its declared value, even null,
    an empty mapping or an empty list: absent is not a value the config can declare."""
    for declared in (None, {}, [], "", 0, False):
        assert not is_subset({"k": declared}, {}), declared
        assert is_subset({"k": declared}, {"k": copy.deepcopy(declared)}), declared


def test_is_subset_lists_are_positional_and_of_the_same_length() -> None:
    assert is_subset([{"name": "a"}, {"name": "b"}], [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}])
    assert not is_subset([{"name": "a"}, {"name": "b"}], [{"name": "b"}, {"name": "a"}])
    assert not is_subset([{"name": "a"}], [{"name": "a"}, {"name": "b"}])  # DSS has one more item
    assert not is_subset([{"name": "a"}, {"name": "b"}], [{"name": "a"}])
    assert not is_subset({"a": 1}, [1]) and not is_subset([1], {"a": 1})


# -- items -----------------------------------------------------------------------------------
def test_items_compares_position_by_position_each_as_a_subset() -> None:
    triggers = [{"type": "temporal", "hour": 3}, {"type": "periodic", "every_minutes": 5}]
    live = [{"type": "temporal", "hour": 3.0, "id": "aZ9"}, {"type": "periodic", "every_minutes": 5, "delay": 0}]
    assert equal("items", triggers, live)
    assert not equal("items", triggers, list(reversed(live)))
    assert not equal("items", triggers, live[:1])
    assert not equal("items", triggers[:1], live)  # a trigger only DSS has is a difference
    assert equal("items", [], None) and not equal("items", None, [{"type": "x"}])


# -- keyed -----------------------------------------------------------------------------------
def _by_who(row: dict) -> str:
    return f"group:{row['group']}" if "group" in row else f"user:{row['user']}"


def test_keyed_is_a_set_of_rows_each_a_subset() -> None:
    rows = [{"group": "a", "permissions": ["read"]}, {"user": "u", "permissions": ["admin"]}]
    live = [{"user": "u", "permissions": ["admin"], "extra": True}, {"group": "a", "permissions": ["read"]}]
    assert equal("keyed", rows, live, key=_by_who)
    assert not equal("keyed", rows, [*live, {"group": "b", "permissions": []}], key=_by_who)  # a row only DSS has
    assert not equal("keyed", rows, live[:1], key=_by_who)
    changed = [{"group": "a", "permissions": ["write"]}, live[0]]
    assert not equal("keyed", rows, changed, key=_by_who)


def test_keyed_without_a_key_function_keys_by_the_whole_row() -> None:
    assert equal("keyed", [{"a": 1}, {"b": 2}], [{"b": 2.0}, {"a": 1}])
    assert not equal("keyed", [{"a": 1}], [{"a": 1, "c": 3}])


# -- map -------------------------------------------------------------------------------------
def test_map_compares_declared_keys_and_requires_removed_ones_absent() -> None:
    desired = {"standard": {"env": "dev", "gone": ABSENT}, "local": {}}
    assert equal("map", desired, {"standard": {"env": "dev", "other": 1}, "local": {"x": 1}})
    assert not equal("map", desired, {"standard": {"env": "dev", "gone": "still here"}})
    assert not equal("map", desired, {"standard": {"env": "prod"}})
    assert not equal("map", desired, {"standard": {}})
    assert not equal("map", {"standard": {"n": 1}}, None)


def test_map_secret_references() -> None:
    ref = {"secret_env": "IAC_SECRET_TOKEN", "fingerprint": "fp1"}
    assert equal("map", {"local": {"token": ref}}, {"local": {"token": dict(ref)}})
    assert not equal("map", {"local": {"token": ref}}, {"local": {"token": {**ref, "fingerprint": "fp2"}}})
    # A recorded reference whose fingerprint is unknown can only say whether the key exists.
    unknown = {"secret_env": "IAC_SECRET_TOKEN"}
    assert equal("map", {"local": {"token": unknown}}, {"local": {"token": {**ref, "fingerprint": "anything"}}})
    assert not equal("map", {"local": {"token": unknown}}, {"local": {}})


# -- the policy and the plan's view ----------------------------------------------------------
def test_an_undeclared_field_is_compared_exactly() -> None:
    policy = FieldPolicy(fields=(Field("tags", compare="set"),))
    assert policy.get("unknown").compare == "exact" and policy.names() == ["tags"]
    assert not policy.equal("unknown", {"a": 1}, {"a": 1, "b": 2})


def test_project_observed_shows_only_the_declared_keys() -> None:
    assert project_observed({"a": {"b": 1}}, {"a": {"b": 2, "c": 3}, "d": 4}, "subset") == {"a": {"b": 2}}
    assert project_observed([{"a": 1}], [{"a": 2, "id": "x"}, {"a": 3}], "items") == [{"a": 2}, {"a": 3}]
    assert project_observed({"a": 1}, {"a": 1, "b": 2}, "exact") == {"a": 1, "b": 2}


# -- properties ------------------------------------------------------------------------------
SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from([0.5, 2.0, -1.0]) | st.text(max_size=4)
KEYS = st.text("abcdef", min_size=1, max_size=3)
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                    max_leaves=15)
DOCS = st.dictionaries(KEYS, JSON, max_size=4)


@settings(max_examples=200)
@given(value=JSON)
def test_every_mode_is_reflexive(value: Any) -> None:
    assert equal("exact", value, copy.deepcopy(value))
    assert is_subset(value, copy.deepcopy(value))
    if isinstance(value, dict):
        assert equal("subset", value, copy.deepcopy(value)) and equal("map", value, copy.deepcopy(value))
    if isinstance(value, list):
        assert equal("set", value, list(reversed(value))) and equal("items", value, copy.deepcopy(value))
        assert equal("keyed", value, list(reversed(value)))


def normalize_key(value: Any) -> str:
    import json

    return json.dumps(normalize(value), sort_keys=True)


def _with_additions(doc: Any, extra: Any, draw_key: Any) -> Any:
    """`doc` with a key DSS might add in every mapping (keys not declared in that mapping)."""
    if isinstance(doc, dict):
        grown = {k: _with_additions(v, extra, draw_key) for k, v in doc.items()}
        key = draw_key()
        if key not in grown:
            grown[key] = extra
        return grown
    if isinstance(doc, list):
        return [_with_additions(v, extra, draw_key) for v in doc]
    if isinstance(doc, int) and not isinstance(doc, bool):
        return float(doc)  # DSS may write an integral number as a float
    return doc


@settings(max_examples=200)
@given(doc=DOCS, extra=JSON, data=st.data())
def test_what_dss_adds_is_never_a_difference_under_subset(doc: dict, extra: Any, data: st.DataObject) -> None:
    live = _with_additions(doc, extra, lambda: data.draw(st.text("uvwxyz", min_size=4, max_size=6)))
    assert equal("subset", doc, live)
    assert equal("items", [doc], [live])


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [path]


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    changed = copy.copy(value)
    changed[path[0]] = _replaced(value[path[0]], path[1:], new)
    return changed


def _get(value: Any, path: tuple) -> Any:
    for part in path:
        value = value[part]
    return value


@settings(max_examples=200)
@given(doc=DOCS, new=SCALARS, data=st.data())
def test_a_changed_declared_value_is_always_a_difference(doc: dict, new: Any, data: st.DataObject) -> None:
    leaves = [p for p in _leaves(doc) if p]
    assume(leaves)
    path = data.draw(st.sampled_from(leaves))
    old = _get(doc, path)
    assume(normalize_key(old) != normalize_key(new))
    live = _replaced(doc, path, new)
    assert not equal("subset", doc, live)
    assert not equal("exact", doc, live)
    assert not equal("items", [doc], [live])
    if len(path) == 1:
        assert not equal("map", doc, live)
