"""`ignore_changes` (issue 12, item 6), without DSS: every registered type's items take it (the
schema gives it to each item schema; the builder checks each path against the type's field
policy), and the planner and drift compare everything but the paths it names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from dataiku_iac.config.schema import load_schema
from dataiku_iac.engine.drift import detect_drift
from dataiku_iac.planner.plan import Action
from dataiku_iac.planner.planner import plan
from dataiku_iac.resources.policy import with_live_ignored, without_ignored
from dataiku_iac.resources.registry import child_specs, registered

from tests.support.throwaway_type import SPEC as THROWAWAY

from .golden_support import load_case

CASE = Path(__file__).resolve().parents[2] / "golden" / "demo_in_sync"
ADDRESS = "dataset.DEMO_PROJECT.TEST_DATA"


def _item_properties(schema: dict, type_: str) -> list[dict]:
    """The `properties` of every shape of one item of `type_` (datasets have one per kind)."""
    found, todo = [], [schema["$defs"][type_]]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "$ref" in node and node["$ref"].startswith("#/$defs/") and node["$ref"] != "#/$defs/ignore_changes":
                todo.append(schema["$defs"][node["$ref"].split("/")[-1]])
            if isinstance(node.get("properties"), dict) and "protect" in node["properties"]:
                found.append(node["properties"])
            todo.extend(v for k, v in node.items() if k in ("allOf", "anyOf", "oneOf", "then", "else", "if"))
        elif isinstance(node, list):
            todo.extend(node)
    return found


def test_every_registered_type_takes_ignore_changes_even_one_registered_later() -> None:
    with registered(THROWAWAY):
        schema = load_schema("project")
        assert "ignore_changes" in schema["$defs"]["project"]["properties"]
        for spec in child_specs():
            shapes = _item_properties(schema, spec.type)
            assert shapes and all("ignore_changes" in p for p in shapes), spec.type


def test_nested_paths_are_masked_for_comparison_and_kept_from_dss_for_writing() -> None:
    paths = ("params.separator", "description")
    declared = {"separator": ",", "quoteChar": '"'}
    assert without_ignored(paths, "params", declared) == {"quoteChar": '"'}
    assert with_live_ignored(paths, "params", declared, {"separator": ";", "x": 1}) == {"separator": ";", "quoteChar": '"'}
    assert with_live_ignored(paths, "params", declared, {}) == {"quoteChar": '"'}
    assert without_ignored(paths, "tags", ["a"]) == ["a"]


def _drifted(attribute: str, value: object, ignore: tuple[str, ...]):
    desired, state, observed = load_case(CASE)
    desired.resources[ADDRESS] = replace(desired.resources[ADDRESS], ignore_changes=ignore)
    live = next(o for o in observed.projects["DEMO_PROJECT"].objects["dataset"] if o.name == "TEST_DATA")
    live.attributes[attribute] = value
    state.resources[ADDRESS].attributes[attribute] = "applied"
    return desired, state, observed


def test_an_ignored_attribute_changed_in_dss_is_neither_a_change_nor_drift() -> None:
    desired, state, observed = _drifted("description", "from the UI", ("description",))
    change = next(c for c in plan(desired, state, observed).changes if c.address == ADDRESS)
    assert change.action == Action.NOOP
    assert detect_drift(state, observed, ignored={ADDRESS: ("description",)}).items == []
    assert [i.address for i in detect_drift(state, observed).items] == [ADDRESS], "without it, drift"


def test_ignore_all_ignores_every_attribute() -> None:
    desired, state, observed = _drifted("description", "from the UI", ("all",))
    assert next(c for c in plan(desired, state, observed).changes if c.address == ADDRESS).action == Action.NOOP


def test_an_update_for_another_attribute_writes_the_ignored_ones_as_dss_has_them() -> None:
    desired, state, observed = _drifted("description", "from the UI", ("format_params.parquetBlockSizeMB", "tags"))
    live = next(o for o in observed.projects["DEMO_PROJECT"].objects["dataset"] if o.name == "TEST_DATA")
    live.attributes["format_params"] = {**live.attributes["format_params"], "parquetBlockSizeMB": 256}
    live.attributes["tags"] = ["ui"]
    desired.resources[ADDRESS].attributes.update(tags=["iac"], format_params={"parquetBlockSizeMB": 64})
    change = next(c for c in plan(desired, state, observed).changes if c.address == ADDRESS)
    assert change.action == Action.UPDATE and [f.name for f in change.field_changes] == ["description"]
    assert change.after["tags"] == ["ui"] and change.after["format_params"] == {"parquetBlockSizeMB": 256}
