"""The state document: round trips, validation rules, and agreement with the published schema."""

from __future__ import annotations

import json
import uuid

import jsonschema
import pytest
from dataiku_iac.errors import StateCorruptError, StateError
from dataiku_iac.state import FORMAT_VERSION, ResourceState, StateDocument, parse_state
from dataiku_iac.state.model import address_problem, make_address
from dataiku_iac.state.schema import (
    JOURNAL_ENTRY_SCHEMA,
    JOURNAL_HEADER_SCHEMA,
    LOCK_SCHEMA,
    RESOURCE_SCHEMA,
    STATE_SCHEMA,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from statetest_helpers import doc_with, resource


def test_new_document():
    doc = StateDocument.new("dev")
    assert doc.format_version == FORMAT_VERSION == 2
    assert doc.serial == 0 and doc.resources == {} and doc.environment == "dev"
    assert str(uuid.UUID(doc.lineage)) == doc.lineage
    assert StateDocument.new("dev").lineage != doc.lineage
    # A lineage starts with its own random secret fingerprint key.
    assert len(doc.fingerprint_key) == 64 and StateDocument.new("dev").fingerprint_key != doc.fingerprint_key


def test_addresses():
    assert make_address("project", "DEMO") == "project.DEMO"
    assert make_address("dataset", "DEMO", "TEST_DATA") == "dataset.DEMO.TEST_DATA"
    for good in ["project.DEMO", "dataset.DEMO.TEST_DATA", "managed_folder.DEMO.models", "scenario.DEMO.BUILD",
                 "managed_folder.DEMO.my.folder"]:
        assert address_problem(good) is None, good
    for bad in ["", "project", "Project.DEMO", "dataset.DE MO.X", "dataset.DEMO.", " dataset.DEMO.X", 3, None]:
        assert address_problem(bad), bad


def test_environment_prefixed_project_keys_are_valid():
    """Addresses carry the config key; project_key is the effective DSS key of the environment."""
    doc = StateDocument.new("feature-x")
    doc.put(resource("project", "DEMO", effective="DEMO_FEATURE_X"))
    doc.put(resource("dataset", "DEMO", "TEST_DATA", effective="DEMO_FEATURE_X"))
    again = StateDocument.from_json(json.loads(doc.to_bytes()), "x")
    assert again.get("project.DEMO").project_key == "DEMO_FEATURE_X"
    assert again.get("project.DEMO").name == "DEMO_FEATURE_X"
    assert again == doc


def test_put_validates_and_remove_get():
    doc = doc_with()
    with pytest.raises(StateError, match="does not match its name"):
        doc.put(ResourceState("dataset.DEMO.A", "dataset", "DEMO", "B", "B", {}, None, []))
    rs = resource(name="S")
    doc.put(rs)
    assert doc.get(rs.address) is rs and rs.address in doc
    assert doc.remove(rs.address) is rs and doc.remove(rs.address) is None and doc.get(rs.address) is None


def _secret_project(reference: dict) -> ResourceState:
    return resource("project", "SEC", attributes={"name": "S", "variables": {"local": {"token": reference}}})


def test_a_secret_reference_holds_a_fingerprint_or_nothing():
    """The guard that keeps a secret value out of the state, wherever a reference sits."""
    doc = StateDocument.new("dev")
    doc.put(_secret_project({"secret_env": "IAC_SECRET_T", "fingerprint": "scrypt-v1:" + "ab" * 16}))
    doc.put(_secret_project({"secret_env": "IAC_SECRET_T"}))  # fingerprint unknown
    for bad in ({"secret_env": "IAC_SECRET_T", "fingerprint": "hunter2"},
                {"secret_env": "IAC_SECRET_T", "value": "hunter2"},
                {"secret_env": 3}):
        with pytest.raises(StateError, match=r"value not shown") as caught:
            doc.put(_secret_project(bad))
        assert "hunter2" not in str(caught.value)


def test_copy_is_deep():
    doc = doc_with()
    copy = doc.copy()
    copy.get("dataset.DEMO.DS_0").attributes["format"] = "csv"
    copy.get("dataset.DEMO.DS_0").depends_on.append("project.OTHER")
    assert doc.get("dataset.DEMO.DS_0").attributes["format"] == "parquet"
    assert doc.get("dataset.DEMO.DS_0").depends_on == ["project.DEMO"]
    assert copy != doc


def test_optional_resource_fields_default():
    data = resource().to_json()
    for key in ("protect", "origin"):
        del data[key]
    rs = ResourceState.from_json(data, "x")
    assert rs.protect is False and rs.origin == "created"
    # Format 1 wrote an always-empty `secret_fingerprints`: still read, no longer written.
    assert "secret_fingerprints" not in rs.to_json()
    assert ResourceState.from_json({**data, "secret_fingerprints": {}}, "x") == rs


def test_parse_errors_name_the_source():
    with pytest.raises(StateCorruptError, match=r"^somewhere/state\.json: the file is empty"):
        parse_state(b"", "somewhere/state.json")


# -- property: round trip ----------------------------------------------------------------------

_names = st.from_regex(r"[A-Za-z0-9_]{1,12}", fullmatch=True)
_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=20))
_json = st.recursive(_json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


@st.composite
def documents(draw):
    doc = StateDocument.new(draw(st.sampled_from(["dev", "prod", "feature-1"])))
    keys = draw(st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True), min_size=1, max_size=3, unique=True))
    for key in keys:
        effective = key + draw(st.sampled_from(["", "_DEV"]))
        doc.put(resource("project", key, effective=effective))
        for name in draw(st.lists(_names, max_size=5, unique=True)):
            type_ = draw(st.sampled_from(["dataset", "managed_folder", "recipe", "scenario"]))
            doc.put(resource(
                type_, key, name, effective=effective, dss_id=f"{type_}-{name}",
                attributes=draw(st.dictionaries(st.text(max_size=8), _json, max_size=4)),
                version_tag=draw(st.one_of(st.none(), st.fixed_dictionaries({"versionNumber": st.integers(0, 99)}))),
                protect=draw(st.booleans()), origin=draw(st.sampled_from(["created", "imported"])),
            ))
    doc.serial = draw(st.integers(0, 10**6))
    return doc


@settings(max_examples=60, deadline=None)
@given(documents())
def test_round_trip_and_schema_agree(doc):
    raw = doc.to_bytes()
    again = parse_state(raw, "x")
    assert again == doc
    assert again.to_bytes() == raw, "serialization is canonical"
    jsonschema.validate(json.loads(raw), STATE_SCHEMA)


# -- the published schemas ---------------------------------------------------------------------


def test_schemas_are_valid_json_schema():
    for schema in (STATE_SCHEMA, RESOURCE_SCHEMA, JOURNAL_HEADER_SCHEMA, JOURNAL_ENTRY_SCHEMA, LOCK_SCHEMA):
        jsonschema.Draft202012Validator.check_schema(schema)


SCHEMA_REJECTS = {
    "serial_string": lambda d: d.update(serial="1"),
    "missing_lineage": lambda d: d.pop("lineage"),
    "bad_lineage": lambda d: d.update(lineage="x"),
    "unknown_field": lambda d: d.update(extra=1),
    "future_version": lambda d: d.update(format_version=3),
    "missing_key": lambda d: d.pop("fingerprint_key"),
    "bad_key": lambda d: d.update(fingerprint_key="hunter2"),
    "bad_origin": lambda d: d["resources"]["project.DEMO"].update(origin="x"),
    "bad_fingerprint": lambda d: d["resources"]["project.DEMO"].update(secret_fingerprints={"p": "secret"}),
    "bad_dependency": lambda d: d["resources"]["project.DEMO"].update(depends_on=["no"]),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_REJECTS))
def test_schema_and_validator_reject_the_same_damage(case):
    data = doc_with().to_json()
    SCHEMA_REJECTS[case](data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, STATE_SCHEMA)
    with pytest.raises(StateError):
        StateDocument.from_json(data, "x")


def test_journal_and_lock_records_match_their_schemas(writer):
    from dataiku_iac.state.journal import header_line

    jsonschema.validate(json.loads(header_line(lineage="l", base_serial=0, operation="apply", started_at="t")),
                        JOURNAL_HEADER_SCHEMA)
    jsonschema.validate({"seq": 1, "kind": "outcome", "action": "create", "address": "dataset.DEMO.X",
                         "ok": True, "time": "t", "resource": resource(name="X").to_json()}, JOURNAL_ENTRY_SCHEMA)
    jsonschema.validate(writer.lock("apply").to_json(), LOCK_SCHEMA)
