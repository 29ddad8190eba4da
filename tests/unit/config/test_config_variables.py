"""The ${NAME} rule, including property tests."""

from __future__ import annotations

import string

from dataiku_iac.config.variables import (
    escape,
    project_variable_names,
    substitute,
    substitute_string,
    unknown_reference_message,
)
from hypothesis import given
from hypothesis import strategies as st

VARS = {"BUCKET": "b1", "ROWS": 100, "ON": True, "NOTHING": None, "RATE": 0.5}


def test_known_variables_are_replaced():
    assert substitute_string("s3://${BUCKET}/x", VARS) == ("s3://b1/x", [])


def test_a_whole_string_reference_keeps_the_variable_type():
    assert substitute_string("${ROWS}", VARS)[0] == 100
    assert substitute_string("${ON}", VARS)[0] is True
    assert substitute_string("${NOTHING}", VARS)[0] is None


def test_embedded_non_strings_use_yaml_spelling():
    assert substitute_string("n=${ROWS} on=${ON} r=${RATE} x=${NOTHING}.", VARS)[0] == "n=100 on=true r=0.5 x=."


def test_unknown_names_are_left_for_dss_and_reported():
    assert substitute_string("${projectKey}/${odbId}/${BUCKET}", VARS) == (
        "${projectKey}/${odbId}/b1",
        ["projectKey", "odbId"],
    )


def test_escape_yields_a_literal_reference_even_for_environment_variables():
    assert substitute_string("$${BUCKET}", VARS) == ("${BUCKET}", [])
    assert substitute_string("$${projectKey}", VARS) == ("${projectKey}", [])
    assert substitute_string("$$${BUCKET}", VARS) == ("$${BUCKET}", [])


def test_things_that_are_not_references_are_untouched():
    for text in ["$BUCKET", "${ BUCKET }", "${1X}", "${a.b}", "$ {BUCKET}", "${}", "price: $5", "{BUCKET}"]:
        assert substitute_string(text, VARS) == (text, [])


def test_keys_are_never_substituted_and_paths_are_reported():
    data = {"${BUCKET}": {"k": ["${X}", "${BUCKET}"]}}
    result, untouched = substitute(data, VARS)
    assert result == {"${BUCKET}": {"k": ["${X}", "b1"]}}
    assert [(u.path, u.name) for u in untouched] == [(("${BUCKET}", "k", 0), "X")]


def test_project_variables_and_set_variables_steps_are_known_names():
    data = {
        "project": {"variables": {"standard": {"a": 1}, "local": {"b": 2}}},
        "scenarios": [{"steps": [{"type": "set_variables", "variables": {"c": 3}}, {"type": "build"}]}],
    }
    assert project_variable_names(data) == {"a", "b", "c"}


def test_warning_suggests_a_close_environment_variable():
    message, hint = unknown_reference_message("BUCKT", ["BUCKET"], [])
    assert "left as is for DSS" in message
    assert hint == "did you mean '${BUCKET}'?"
    _, hint = unknown_reference_message("totally_unrelated", ["BUCKET"], [])
    assert "$${totally_unrelated}" in hint


names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
texts = st.lists(
    st.one_of(st.text(alphabet=string.ascii_letters + "${}. _-", max_size=6), names.map(lambda n: "${" + n + "}")),
    max_size=6,
).map("".join)
values = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none())
json_like = st.recursive(
    st.one_of(texts, st.integers(), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=10,
)


def _keys(value):
    if isinstance(value, dict):
        return [(k, _keys(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_keys(v) for v in value]
    return None


@given(json_like, st.dictionaries(names, values, max_size=4))
def test_substitution_never_touches_keys_or_shape(data, variables):
    result, _ = substitute(data, variables)
    assert _keys(result) == _keys(data)


@given(texts, st.dictionaries(names, values, max_size=4))
def test_escape_round_trip(text, variables):
    """$${X} escapes: escaping any string and substituting gives the string back, whatever the variables."""
    assert substitute_string(escape(text), variables) == (text, [])


@given(texts)
def test_without_variables_nothing_changes_but_escapes(text):
    if "$${" not in text:
        assert substitute_string(text, {})[0] == text
