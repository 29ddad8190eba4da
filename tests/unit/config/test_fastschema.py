"""The fast validity check never disagrees with jsonschema (it may only be faster).

`schema.check` trusts a "valid" from `fastschema` and skips jsonschema; a wrong "valid"
would hide configuration errors. So: every YAML document the repository holds (examples,
the malformed corpus, the benchmark generator's output), and many mutations of them, get
the same answer from both, against each of the three schemas.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml
from dataiku_iac.config.fastschema import compile_schema
from dataiku_iac.config.schema import check, load_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

REPO = Path(__file__).resolve().parents[3]
KINDS = ("project", "iac", "environment")


def _documents() -> list:
    docs = []
    for path in sorted(REPO.glob("examples/**/*.yml")) + sorted(REPO.glob("tests/fixtures/malformed/**/*.yml")):
        try:
            doc = yaml.safe_load(path.read_bytes().decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError):
            continue  # the malformed corpus holds broken YAML too: the reader's business
        if _small(doc):  # not the alias bombs of the malformed corpus (the reader refuses them)
            docs.append(doc)
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import generate

        for changes in (0, 3):
            spec = generate.make_project("GEN", 60, changes)
            docs.append(generate.project_document(spec, 0))
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return docs


def _small(doc, limit: int = 5000) -> bool:
    todo, seen = [doc], 0
    while todo:
        node = todo.pop()
        seen += 1
        if seen > limit:
            return False
        if isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return True


DOCUMENTS = _documents()


def _agree(doc) -> None:
    for kind in KINDS:
        expected = Draft202012Validator(load_schema(kind)).is_valid(doc)
        assert compile_schema(load_schema(kind))(doc) is expected, (kind, doc)


def test_every_schema_compiles():
    for kind in KINDS:
        assert compile_schema(load_schema(kind)) is not None, kind


def test_repository_documents_agree():
    assert len(DOCUMENTS) > 20
    for doc in DOCUMENTS:
        _agree(doc)


def test_unknown_keyword_refuses_to_compile():
    assert compile_schema({"type": "object", "dependentSchemas": {}}) is None
    assert compile_schema({"$ref": "http://example.com/other.json"}) is None


def test_an_invalid_document_is_still_explained():
    doc = {"project": {"key": "lower", "name": "x"}, "datasets": [{"name": "a", "type": "managed", "table": "t"}]}
    issues = check(doc, "project")
    assert issues, "the fast path must not swallow errors"


# -- mutations ----------------------------------------------------------------------------
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 100), st.floats(allow_nan=False, width=32), st.text(max_size=6),
    st.sampled_from(["managed", "sql_table", "python", "sync", "temporal", "build", "Daily", "inherit", "A_KEY", "x y"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["name", "type", "key", "x"]), inner, max_size=3)),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.data())
def test_mutated_documents_agree(data):
    doc = copy.deepcopy(data.draw(st.sampled_from([d for d in DOCUMENTS if isinstance(d, dict)])))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = data.draw(st.sampled_from(paths))
        if not path:
            continue
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        operation = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if operation == "replace":
            parent[path[-1]] = data.draw(values)
        elif operation == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "name", "type", "code", "table", "sql", "steps"]))] = data.draw(values)
    _agree(doc)


@pytest.mark.parametrize("value", [True, 1, 1.0, "1", None, [], {}, [1, 1.0], [True, 1]])
def test_scalar_corner_cases_agree(value):
    for doc in DOCUMENTS[:3]:
        if isinstance(doc, dict) and isinstance(doc.get("project"), dict):
            mutated = copy.deepcopy(doc)
            for key in ("name", "key", "tags", "variables", "owner"):
                mutated["project"][key] = value
                _agree(mutated)


@pytest.mark.parametrize(
    "value", [True, False, 0, 1, -3, 1.0, 1.5, float("nan"), 2**70, "", "1", None, [], [1], {}, {"a": 1}, b"x"]
)
def test_type_predicates_are_jsonschemas_type_checker(value):
    from dataiku_iac.config.fastschema import TYPE_PREDICATES

    checker = Draft202012Validator.TYPE_CHECKER
    for type_, predicate in TYPE_PREDICATES.items():
        assert predicate(value) == checker.is_type(value, type_), (type_, value)


@pytest.mark.parametrize("value", [0, 0.0, 1e-9, 0.5, 1, 1.0, 2, -1, True, False, "0.5", None])
def test_exclusive_bounds_agree(value):
    """An ML task's split ratio is in (0, 1), bounds excluded: a schema with exclusiveMinimum and
    exclusiveMaximum still compiles (else the whole project schema would fall back to jsonschema)."""
    schema = {"type": "object", "properties": {"ratio": {"exclusiveMinimum": 0, "exclusiveMaximum": 1}}}
    compiled = compile_schema(schema)
    assert compiled is not None
    assert compiled({"ratio": value}) is Draft202012Validator(schema).is_valid({"ratio": value}), value


@pytest.mark.parametrize("value", [{"insight": "a"}, {"text": "b"}, {"insight": "a", "text": "b"}, {}, {"x": 1}, [], "t"])
def test_one_of_agrees(value):
    """A dashboard tile shows an insight or a text, exactly one (oneOf): such a schema still compiles
    (else the whole project schema would fall back to jsonschema)."""
    schema = {"type": "object", "properties": {"tile": {"oneOf": [{"required": ["insight"]}, {"required": ["text"]}]}}}
    compiled = compile_schema(schema)
    assert compiled is not None
    assert compiled({"tile": value}) is Draft202012Validator(schema).is_valid({"tile": value}), value
