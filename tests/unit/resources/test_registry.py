"""The resource registry: every layer's knowledge of a type comes from its spec, and the
hand-written parts of the project schema agree with the specs of the built-in types."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from dataiku_iac.address import (
    Address,
    AddressError,
    address_of,
    config_pattern,
    flat_address,
    in_instance,
    module_instance,
    module_of,
    project_address_of,
    project_of,
    syntax_problem,
    type_of,
)
from dataiku_iac.config.schema import SCHEMA_DIR, load_schema
from dataiku_iac.resources.registry import RegistryError, child_specs, project_spec, registered, specs, types
from dataiku_iac.resources.spec import ConfigSchema

from tests.support import throwaway_type


def hand_written_project_schema() -> dict:
    return json.loads((SCHEMA_DIR / "project.schema.json").read_text(encoding="utf-8"))


BUILT_IN = types()  # at import: the built-in types, before any test registers one


def test_the_built_in_types_in_dependency_order() -> None:
    assert BUILT_IN[0] == project_spec().type == "project"
    for spec in specs():
        assert all(types().index(t) <= types().index(spec.type) for t in spec.references), spec.type


def test_the_hand_written_project_schema_agrees_with_the_specs() -> None:
    """Only the types whose item schema stays in project.schema.json (`in_project_schema`) must
    agree with it; any other type brings its own fragment (the test below)."""
    schema = hand_written_project_schema()
    in_file = {spec.section: spec for spec in specs() if spec.schema.in_project_schema}
    assert set(schema["properties"]) == set(in_file), "a section of the schema without a spec, or the reverse"
    assert not project_spec().schema.in_project_schema  # the project brings its own fragment
    for spec in child_specs():
        if not spec.schema.in_project_schema:
            continue
        assert schema["properties"][spec.section] == {"type": "array", "items": {"$ref": f"#/$defs/{spec.type}"}}
        item = schema["$defs"][spec.type]
        branches = [item] + [schema["$defs"][b["$ref"].split("/")[-1]] for b in item.get("oneOf", [])]
        for branch in branches:  # each shape of an item (datasets and recipes have one per kind)
            required = branch.get("required") or schema["$defs"][branch["allOf"][0]["$ref"].split("/")[-1]]["required"]
            assert spec.id_key in required, (spec.type, branch)
        described = json.dumps({name: d for name, d in schema["$defs"].items() if name.startswith(spec.type)})
        for key in spec.file_keys:  # a key naming a file the loader reads is a key of the type's items
            assert f'"{key}"' in described, (spec.type, key)


def test_a_type_with_its_own_fragment_needs_no_line_of_the_hand_written_schema() -> None:
    with registered(throwaway_type.SPEC):
        test_the_built_in_types_in_dependency_order()
        test_the_hand_written_project_schema_agrees_with_the_specs()


def test_the_override_addresses_are_the_registered_types() -> None:
    pattern = re.compile(config_pattern())
    for good in ("project.DEMO", "dataset.DEMO.raw", "managed_folder.DEMO.f", "recipe.DEMO.r", "scenario.DEMO.nightly"):
        assert pattern.match(good), good
    for bad in ("project.DEMO.x", "dataset.DEMO", "no_such_type.DEMO.z", "dataset.demo.raw"):
        assert not pattern.match(bad), bad
    names = load_schema("environment")["properties"]["overrides"]["propertyNames"]
    assert names["pattern"] == config_pattern()
    assert "scenario.KEY.ID" in names["x-messages"]["pattern"]


def test_one_address_grammar() -> None:
    assert str(Address.parse("project.DEMO")) == "project.DEMO"
    assert Address.parse("dataset.DEMO.raw") == Address("dataset", "DEMO", "raw")
    assert Address.parse("managed_folder.DEMO.a.b").name == "a.b"  # a name may hold dots
    assert address_of("project", "DEMO", "ignored") == "project.DEMO"
    assert project_address_of("scenario.DEMO.nightly") == "project.DEMO"
    named = ", ".join(spec.type for spec in child_specs())  # every registered type, in registration order
    for bad in ("dataset.DEMO", "project.DEMO.x", "no_such_type.DEMO.z", "", " dataset.DEMO.x"):
        with pytest.raises(AddressError, match=re.escape(f"expected project.KEY or [module.NAME.]<type>.KEY.NAME with type one of {named}")):
            Address.parse(bad)


def test_module_addresses_are_of_the_same_grammar() -> None:
    parsed = Address.parse("module.orders.dataset.DEMO.orders_raw")
    assert parsed == Address("dataset", "DEMO", "orders_raw", "orders")
    assert str(parsed) == "module.orders.dataset.DEMO.orders_raw"
    assert str(Address.parse("module.ingest[eu-west].recipe.DEMO.a.b")) == "module.ingest[eu-west].recipe.DEMO.a.b"
    assert Address.parse("module.ingest[eu-west].recipe.DEMO.a.b").name == "a.b"
    assert address_of("dataset", "DEMO", "x", "orders") == "module.orders.dataset.DEMO.x"
    assert project_address_of("module.orders.scenario.DEMO.nightly") == "project.DEMO"
    assert (type_of("module.orders.scenario.DEMO.n"), project_of("module.orders.scenario.DEMO.n")) == ("scenario", "DEMO")
    assert flat_address("module.orders.dataset.DEMO.x") == "dataset.DEMO.x" and module_of("dataset.DEMO.x") == ""
    assert re.match(config_pattern(), "module.orders.dataset.DEMO.x")
    for bad in ("module.orders.project.DEMO", "module.orders", "module..dataset.DEMO.x", "module.a b.dataset.DEMO.x"):
        with pytest.raises(AddressError):
            Address.parse(bad)
    assert (module_instance("module.orders"), module_instance("module.a[eu]"), module_instance("module.a.dataset.D.x")) == ("orders", "a[eu]", None)
    assert in_instance("module.a[eu].dataset.D.x", "a") and in_instance("module.a[eu].dataset.D.x", "a[eu]")
    assert not in_instance("module.a[eu].dataset.D.x", "a[us]") and not in_instance("module.ab.dataset.D.x", "a")
    assert not in_instance("dataset.D.x", "a")
    assert syntax_problem("module.orders.project.DEMO") is not None
    assert syntax_problem("module.orders.dataset.DEMO.x") is None


def test_a_registered_type_adds_its_section_and_addresses_until_unregistered() -> None:
    with registered(throwaway_type.SPEC) as spec:
        assert types()[-1] == spec.type
        schema = load_schema("project")
        assert schema["properties"][spec.section] == {"type": "array", "items": {"$ref": f"#/$defs/{spec.type}"}}
        assert re.match(config_pattern(), "throwaway_notebook.DEMO.raw")
    assert spec.type not in types()
    assert spec.section not in load_schema("project")["properties"]


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"type": "dataset"}, "already registered"),
        ({"section": "datasets"}, "already dataset's"),
        ({"references": ("no_such_type",)}, "references no_such_type"),
        ({"named": False}, "only the first type"),
        ({"schema": ConfigSchema()}, "defines no item schema"),
        ({"to_config": None}, "only one of build"),
        ({"type": "Zone"}, "lowercase"),
    ],
)
def test_a_spec_that_cannot_be_registered_says_why(change: dict, problem: str) -> None:
    spec = replace(throwaway_type.SPEC, **change)
    with pytest.raises(RegistryError, match=problem), registered(spec):
        pass
    assert types() == BUILT_IN


def test_the_project_and_scenarios_bring_their_own_schema_fragments() -> None:
    """The project's mapping and the scenarios' items are described by their specs
    (resources/project.py, resources/scenario.py), not by the hand-written file."""
    written = hand_written_project_schema()
    schema = load_schema("project")
    for type_ in ("project", "scenario"):
        spec = next(s for s in specs() if s.type == type_)
        assert spec.type in spec.schema.defs and spec.type not in written["$defs"]
        assert spec.section not in written["properties"]
        assembled = dict(schema["$defs"][spec.type])
        assembled["properties"] = {k: v for k, v in assembled["properties"].items() if k != "ignore_changes"}
        assert assembled == spec.schema.defs[spec.type]  # (every item may say ignore_changes: added to all)
    assert schema["properties"]["project"] == {"$ref": "#/$defs/project"}
    assert next(iter(schema["properties"])) == "project" and schema["required"] == ["project"]
    assert "key" in schema["$defs"]["project"]["required"] and "id" in schema["$defs"]["scenario"]["required"]


def test_a_type_deleted_with_its_project_has_no_delete_of_its_own() -> None:
    """The executor never calls `delete` for one (its project's delete removes it): a handler's
    own `delete` would be dead code (resources/base.py keeps the default)."""
    from dataiku_iac.resources.base import ResourceHandler

    with_project = [s for s in specs() if s.deleted_with_project]
    assert {s.type for s in with_project} >= {"api_service", "webapp"}
    assert [s.type for s in with_project if type(s.handler).delete is not ResourceHandler.delete] == []
