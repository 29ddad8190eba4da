"""Impact analysis (issue 15, item 4): each planned change classified non-breaking, breaking or
destructive, and what sits downstream of the breaking ones, without DSS.

Each test applies a configuration on paper (state and observation made from its desired model, as
an apply would leave them), changes the configuration, and plans.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any, Optional

import pytest
from dataiku_iac.builder import build_desired
from dataiku_iac.config import load_config
from dataiku_iac.output.markdown import render_markdown
from dataiku_iac.output.text import render_plan
from dataiku_iac.planner.impact import FlowGraph, effects_of
from dataiku_iac.planner.impact import _node as flow_node
from dataiku_iac.planner.observed import Observation, ProjectObservation
from dataiku_iac.planner.plan import Action, FieldChange, Plan, PlanOptions, ResourceChange
from dataiku_iac.planner.planner import plan
from dataiku_iac.resources.base import Observed
from dataiku_iac.resources.policy import Effect, Impact
from dataiku_iac.resources.registry import registered
from dataiku_iac.resources.spec import READS, WRITES, FlowLink
from dataiku_iac.state import ResourceState, StateDocument

from tests.support.throwaway_type import SPEC as NOTEBOOK

KEY = "SALES"
LINEAGE = "00000000-0000-4000-8000-000000000000"

ORDERS = {"name": "orders", "type": "managed", "format": "parquet",
          "schema": {"columns": [{"name": "id", "type": "bigint"}, {"name": "customer", "type": "string"},
                                 {"name": "amount", "type": "double"}]}}
PROJECT: dict[str, Any] = {
    "project": {"key": KEY, "name": "Sales"},
    "managed_folders": [{"name": "reports"}],
    "datasets": [
        ORDERS,
        {"name": "totals", "type": "managed", "format": "parquet"},
        {"name": "by_customer", "type": "managed", "format": "parquet"},
        {"name": "unrelated", "type": "managed", "format": "parquet"},
    ],
    "recipes": [
        {"name": "compute_totals", "type": "grouping", "inputs": ["orders"], "outputs": ["by_customer"],
         "keys": ["customer"], "aggregations": {"amount": ["sum"]}},
        {"name": "export", "type": "python", "inputs": ["by_customer"], "outputs": ["totals", "reports"],
         "code": "print('export')\n"},
    ],
    "scenarios": [
        {"id": "NIGHTLY", "name": "Nightly", "steps": [{"type": "build", "datasets": ["totals"]}]},
        {"id": "ON_ORDERS", "name": "On orders", "triggers": [{"type": "dataset_change", "datasets": ["orders"]}],
         "steps": [{"type": "build", "datasets": ["unrelated"]}]},
    ],
}


# Another project's recipe reads the orders (`SALES.orders`).
REPORTING: dict[str, Any] = {
    "project": {"key": "REPORTING", "name": "Reporting"},
    "datasets": [{"name": "kpis", "type": "managed", "format": "parquet"}],
    "recipes": [{"name": "kpis_from_orders", "type": "python", "inputs": [f"{KEY}.orders"], "outputs": ["kpis"],
                 "code": "print('kpis')\n"}],
}


def _desired(root: Path, project: dict[str, Any], *others: dict[str, Any]) -> Any:
    (root / "projects").mkdir(parents=True, exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    (root / "iac.yml").write_text("version: 1\n")
    (root / "environments" / "dev.yml").write_text("dss: {}\n")
    for doc in (project, *others):
        (root / "projects" / f"{doc['project']['key'].lower()}.yml").write_text(json.dumps(doc))
    return build_desired(load_config(root, "dev"), {})


def _applied(desired: Any) -> tuple[StateDocument, Observation]:
    """The state and the observation an apply of `desired` leaves."""
    state = StateDocument.new("dev")
    state.lineage = LINEAGE
    observation = Observation()
    for resource in desired.resources.values():
        dss_id = resource.name
        project = observation.projects.setdefault(
            resource.project_key, ProjectObservation(resource.project_key, True, marker=LINEAGE))
        state.put(ResourceState(address=resource.address, type=resource.type, project_key=resource.project_key, name=resource.name,
                                dss_id=dss_id, attributes=copy.deepcopy(resource.attributes), version_tag=None,
                                depends_on=list(resource.depends_on)))
        observed = Observed(resource.type, resource.project_key, resource.name, dss_id, copy.deepcopy(resource.attributes))
        if resource.type == "project":
            project.project = observed
        else:
            project.objects.setdefault(resource.type, []).append(observed)
    return state, observation


def _plan(tmp_path: Path, change, options: PlanOptions = PlanOptions(), unmanaged: Optional[list[Observed]] = None,
          base: dict[str, Any] = PROJECT) -> Plan:
    """Apply `base` on paper, change a copy of it with `change`, plan that."""
    state, observation = _applied(_desired(tmp_path / "before", base))
    for obj in unmanaged or []:
        observation.projects[KEY].objects.setdefault(obj.type, []).append(obj)
    after = copy.deepcopy(base)
    change(after)
    return plan(_desired(tmp_path / "after", after), state, observation, options)


def _change(result: Plan, address: str) -> ResourceChange:
    return next(c for c in result.changes if c.address == address)


def _downstream(change: ResourceChange) -> list[str]:
    assert change.impact is not None
    return [f"{d.address} {d.relation} {d.via}" for d in change.impact.downstream]


def _datasets(project: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in project["datasets"]}


# -- the categories ------------------------------------------------------------------------------


def test_a_plan_without_changes_classifies_nothing(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: None)
    assert not result.has_changes and all(c.impact is None for c in result.changes)
    assert result.highest_impact() is None
    assert result.to_json()["impact"] == {"highest": None, "non-breaking": 0, "breaking": 0, "destructive": 0}


def test_non_breaking_changes(tmp_path: Path) -> None:
    def change(p: dict[str, Any]) -> None:
        _datasets(p)["orders"]["description"] = "the orders"
        _datasets(p)["orders"]["schema"]["columns"].append({"name": "channel", "type": "string"})  # a column added
        p["datasets"].append({"name": "new_one", "type": "managed", "format": "csv"})  # a create
        p["recipes"][1]["code"] = "print('export v2')\n"  # what a recipe computes is not judged
    result = _plan(tmp_path, change)
    changed = {c.address: c for c in result.actionable()}
    assert set(changed) == {f"dataset.{KEY}.orders", f"dataset.{KEY}.new_one", f"recipe.{KEY}.export"}
    for c in changed.values():
        assert c.impact is not None and c.impact.category is Impact.NON_BREAKING
        assert c.impact.reasons == () and c.impact.downstream == ()
    assert result.highest_impact() is Impact.NON_BREAKING
    assert "Impact" not in render_plan(result)  # the section lists breaking and destructive changes only


def test_a_column_removed_is_breaking_with_the_recipes_and_scenarios_below(tmp_path: Path) -> None:
    def change(p: dict[str, Any]) -> None:
        _datasets(p)["orders"]["schema"]["columns"] = [c for c in ORDERS["schema"]["columns"] if c["name"] != "amount"]
        p["recipes"][0]["aggregations"] = {"id": ["count"]}  # the grouping stops naming it (the builder checks)
    result = _plan(tmp_path, change)
    orders = _change(result, f"dataset.{KEY}.orders")
    assert orders.impact is not None and orders.impact.category is Impact.BREAKING
    assert orders.impact.reasons == ("schema: column 'amount' removed",)
    assert _downstream(orders) == [
        f"recipe.{KEY}.compute_totals reads dataset.{KEY}.orders",
        f"scenario.{KEY}.ON_ORDERS is triggered by dataset.{KEY}.orders",
        f"dataset.{KEY}.by_customer is written by recipe.{KEY}.compute_totals",
        f"recipe.{KEY}.export reads dataset.{KEY}.by_customer",
        f"managed_folder.{KEY}.reports is written by recipe.{KEY}.export",
        f"dataset.{KEY}.totals is written by recipe.{KEY}.export",
        f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.totals",
    ]
    assert [d.depth for d in orders.impact.downstream] == [1, 1, 2, 3, 4, 4, 5]
    assert f"dataset.{KEY}.unrelated" not in " ".join(_downstream(orders))


def test_a_recipe_naming_the_removed_column_says_so(tmp_path: Path) -> None:
    def change(p: dict[str, Any]) -> None:
        _datasets(p)["orders"]["schema"]["columns"][1]["type"] = "bigint"  # customer retyped
    result = _plan(tmp_path, change)
    orders = _change(result, f"dataset.{KEY}.orders")
    assert orders.impact is not None
    assert orders.impact.reasons == ("schema: column 'customer' retyped from string to bigint",)
    reader = orders.impact.downstream[0]
    assert (reader.address, reader.columns) == (f"recipe.{KEY}.compute_totals", ("customer",))  # a grouping key
    assert f"recipe.{KEY}.compute_totals reads dataset.{KEY}.orders (uses column 'customer')" in render_plan(result)


@pytest.mark.parametrize("field, value, reason", [
    ("partitioning", {"dimensions": [{"name": "day", "type": "time", "period": "DAY"}]}, "partitioning changes from"),
    ("format", "csv", "format changes from 'parquet' to 'csv': the stored data stays in the old format"),
])
def test_partitioning_and_format_changes_are_breaking(tmp_path: Path, field: str, value: Any, reason: str) -> None:
    result = _plan(tmp_path, lambda p: _datasets(p)["totals"].update({field: value}))
    totals = _change(result, f"dataset.{KEY}.totals")
    assert totals.impact is not None and totals.impact.category is Impact.BREAKING
    assert totals.impact.reasons[0].startswith(reason)
    assert _downstream(totals) == [f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.totals"]


def test_a_managed_dataset_s_connection_change_is_destructive(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: _datasets(p)["totals"].update(connection="other_fs"))
    totals = _change(result, f"dataset.{KEY}.totals")
    assert totals.action == Action.REPLACE
    assert totals.impact is not None and totals.impact.category is Impact.DESTRUCTIVE
    assert "the dataset starts empty" in totals.impact.reasons[0]
    assert "replaced (connection cannot change in place)" in totals.impact.reasons[1]
    assert result.to_json()["impact"]["highest"] == "destructive"


def test_a_managed_folder_moved_is_destructive(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: p["managed_folders"][0].update(connection="other_folders"))
    folder = _change(result, f"managed_folder.{KEY}.reports")
    assert folder.action == Action.UPDATE and folder.impact is not None
    assert folder.impact.category is Impact.DESTRUCTIVE
    assert "the folder no longer reads them" in folder.impact.reasons[0]


def test_a_recipe_output_removed_is_breaking_for_what_reads_or_builds_it(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: p["recipes"][1].update(outputs=["reports"]))
    export = _change(result, f"recipe.{KEY}.export")
    assert export.impact is not None and export.impact.category is Impact.BREAKING
    assert export.impact.reasons == ("output 'totals' no longer written by this recipe",)
    assert _downstream(export) == [
        f"dataset.{KEY}.totals is no longer written by recipe.{KEY}.export",
        f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.totals",
    ]  # not the folder it still writes


def test_a_delete_is_breaking_and_destructive_with_drop_data(tmp_path: Path) -> None:
    def change(p: dict[str, Any]) -> None:
        p["recipes"] = [r for r in p["recipes"] if r["name"] != "export"]
        p["scenarios"] = [s for s in p["scenarios"] if s["id"] != "NIGHTLY"]
        p["datasets"] = [d for d in p["datasets"] if d["name"] != "totals"]
    kept = _plan(tmp_path / "kept", change, PlanOptions(force_delete=()))
    dropped = _plan(tmp_path / "dropped", change, PlanOptions(drop_data=True))
    for result, dataset_category in ((kept, Impact.BREAKING), (dropped, Impact.DESTRUCTIVE)):
        totals = _change(result, f"dataset.{KEY}.totals")
        assert totals.impact is not None and totals.impact.category is dataset_category
        assert totals.impact.downstream == ()  # what read or built it is deleted with it
        export = _change(result, f"recipe.{KEY}.export")
        assert export.impact is not None and export.impact.category is Impact.BREAKING  # a recipe holds no data
        # What the deleted recipe wrote and stays: its folder (the dataset is deleted too).
        assert _downstream(export) == [f"managed_folder.{KEY}.reports is written by recipe.{KEY}.export"]
    assert _change(dropped, f"dataset.{KEY}.totals").impact.reasons == (  # type: ignore[union-attr]
        "the dataset is deleted", "--drop-data: DSS deletes its stored data")


def test_an_unmanaged_recipe_is_listed_downstream(tmp_path: Path) -> None:
    stranger = Observed("recipe", KEY, "adhoc", "adhoc", {"kind": "python", "inputs": {"main": ["totals"]},
                                                           "outputs": {"main": ["scratch"]}})
    result = _plan(tmp_path, lambda p: _datasets(p)["totals"].update(format="csv"), unmanaged=[stranger])
    totals = _change(result, f"dataset.{KEY}.totals")
    assert totals.impact is not None
    adhoc = next(d for d in totals.impact.downstream if d.address == f"recipe.{KEY}.adhoc")
    assert (adhoc.relation, adhoc.managed) == ("reads", False)
    assert f"dataset.{KEY}.scratch is written by recipe.{KEY}.adhoc" in _downstream(totals)
    assert f"recipe.{KEY}.adhoc (not managed by dataiku-iac) reads dataset.{KEY}.totals" in render_plan(result)


def test_a_flow_zone_deleted_breaks_nothing() -> None:
    change = ResourceChange(address=f"flow_zone.{KEY}.raw", type="flow_zone", project_key=KEY, name="raw",
                            action=Action.DELETE, reason="removed from config", before={"color": "#2ab1ac"})
    assert effects_of(change, PlanOptions(drop_data=True)) == []


def test_a_sensitive_field_s_values_never_reach_a_reason() -> None:
    change = ResourceChange(
        address=f"dataset.{KEY}.d", type="dataset", project_key=KEY, name="d", action=Action.UPDATE, reason="",
        before={"kind": "sql_table"}, after={"kind": "sql_table"},
        field_changes=(FieldChange("table", "secret_a", "secret_b", sensitive=True),),
    )
    assert effects_of(change, PlanOptions()) == []


# -- the plan carries it: JSON, saved plans, text, Markdown ----------------------------------------


def test_the_impact_round_trips_through_a_saved_plan(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: _datasets(p)["totals"].update(format="csv"))
    body = result.to_json()
    assert body["impact"] == {"highest": "breaking", "non-breaking": 0, "breaking": 1, "destructive": 0}
    totals = next(c for c in body["resource_changes"] if c["address"] == f"dataset.{KEY}.totals")
    assert totals["impact"]["category"] == "breaking"
    assert totals["impact"]["downstream"] == [{"address": f"scenario.{KEY}.NIGHTLY", "relation": "builds",
                                               "via": f"dataset.{KEY}.totals", "depth": 1, "managed": True, "columns": []}]
    assert "impact" not in next(c for c in body["resource_changes"] if c["action"] == "no-op")
    again = Plan.from_json(json.loads(json.dumps(body)))
    assert again.to_json() == body and render_plan(again) == render_plan(result)


def test_a_plan_saved_before_impact_analysis_reads_and_shows_as_before(tmp_path: Path) -> None:
    body = _plan(tmp_path, lambda p: _datasets(p)["totals"].update(format="csv")).to_json()
    del body["impact"]
    for change in body["resource_changes"]:
        change.pop("impact", None)
    old = Plan.from_json(body)
    assert not old.impact_analysed and old.highest_impact() is None
    assert "impact" not in old.to_json() and "Impact" not in render_plan(old)


def test_text_and_markdown_show_the_impact(tmp_path: Path) -> None:
    def change(p: dict[str, Any]) -> None:
        _datasets(p)["orders"]["schema"]["columns"] = ORDERS["schema"]["columns"][:2]
        p["recipes"][0]["aggregations"] = {"id": ["count"]}
    result = _plan(tmp_path, change)
    text = render_plan(result)
    assert "Impact: 1 breaking, 1 non-breaking.\n" in text
    assert f"  ! dataset.{KEY}.orders: breaking\n      schema: column 'amount' removed\n      downstream (7):\n" in text
    assert f"\n          dataset.{KEY}.by_customer is written by recipe.{KEY}.compute_totals\n" in text  # indented by depth
    markdown = render_markdown(result, digest=result.to_json()["digest"])
    assert "> 💥 **Impact: 1 breaking, 1 non-breaking.**" in markdown
    assert f"> - `dataset.{KEY}.orders` **breaking**: schema: column 'amount' removed — 7 objects downstream" in markdown
    assert f"- recipe.{KEY}.compute_totals reads dataset.{KEY}.orders" in markdown


def test_a_replacement_asked_for_with_replace_is_breaking(tmp_path: Path) -> None:
    result = _plan(tmp_path, lambda p: None, PlanOptions(replace=(f"dataset.{KEY}.totals",)))
    totals = _change(result, f"dataset.{KEY}.totals")
    assert totals.action == Action.REPLACE and totals.impact is not None
    assert totals.impact.category is Impact.BREAKING
    assert totals.impact.reasons == ("replaced (asked for with --replace): DSS deletes the dataset and creates it again",)
    assert _downstream(totals) == [f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.totals"]


def test_a_refresh_only_plan_is_not_classified(tmp_path: Path) -> None:
    state, observation = _applied(_desired(tmp_path / "before", PROJECT))
    observation.projects[KEY].objects["dataset"][0].attributes["format"] = "csv"  # changed in DSS
    result = plan(_desired(tmp_path / "after", PROJECT), state, observation, PlanOptions(refresh_only=True))
    assert result.has_changes and all(c.impact is None for c in result.changes)
    assert "impact" not in result.to_json() and "Impact" not in render_plan(result)


def test_a_recipe_of_another_project_reading_the_dataset_is_downstream(tmp_path: Path) -> None:
    state, observation = _applied(_desired(tmp_path / "before", PROJECT, REPORTING))
    after = copy.deepcopy(PROJECT)
    _datasets(after)["orders"]["partitioning"] = {"dimensions": [{"name": "day", "type": "time", "period": "DAY"}]}
    result = plan(_desired(tmp_path / "after", after, REPORTING), state, observation)
    downstream = _downstream(_change(result, f"dataset.{KEY}.orders"))
    assert "recipe.REPORTING.kpis_from_orders reads dataset.SALES.orders" in downstream
    assert "dataset.REPORTING.kpis is written by recipe.REPORTING.kpis_from_orders" in downstream


def test_a_scenario_replaced_lists_the_scenarios_that_run_it(tmp_path: Path) -> None:
    base = copy.deepcopy(PROJECT)
    base["scenarios"].append({"id": "WEEKLY", "name": "Weekly", "steps": [{"type": "run_scenario", "scenario": "NIGHTLY"}]})
    replaced = _plan(tmp_path / "replaced", lambda p: None, PlanOptions(replace=(f"scenario.{KEY}.NIGHTLY",)), base=base)
    nightly = _change(replaced, f"scenario.{KEY}.NIGHTLY")
    assert nightly.impact is not None and nightly.impact.category is Impact.BREAKING
    assert _downstream(nightly) == [f"scenario.{KEY}.WEEKLY runs scenario.{KEY}.NIGHTLY"]
    # ...and what runs a scenario that builds a changed dataset sits below that dataset.
    changed = _plan(tmp_path / "changed", lambda p: _datasets(p)["totals"].update(format="csv"), base=base)
    assert _downstream(_change(changed, f"dataset.{KEY}.totals")) == [
        f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.totals", f"scenario.{KEY}.WEEKLY runs scenario.{KEY}.NIGHTLY"]


def test_a_module_call_removed_has_nothing_downstream(tmp_path: Path) -> None:
    """The objects of a module call are deleted together: the recipe's output, deleted too, is not
    downstream of it (found by its module address, which its name alone does not give)."""
    module = {"modules/sync/module.yml": "module: sync\nresources: [r.yml]\n",
              "modules/sync/r.yml": "datasets:\n  - {name: raw, type: managed}\n  - {name: clean, type: managed}\n"
                                    "recipes:\n  - {name: sync, type: sync, inputs: [raw], outputs: [clean]}\n"}
    for root in (tmp_path / "before", tmp_path / "after"):
        for rel, text in module.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    calling = {"project": {"key": KEY, "name": "Sales"}, "modules": [{"name": "customers", "source": "../modules/sync"}]}
    state, observation = _applied(_desired(tmp_path / "before", calling))
    result = plan(_desired(tmp_path / "after", {"project": {"key": KEY, "name": "Sales"}}), state, observation, PlanOptions())
    sync = _change(result, f"module.customers.recipe.{KEY}.customers_sync")
    assert sync.action is Action.DELETE and sync.impact is not None
    assert sync.impact.downstream == ()
    assert "is written by" not in render_plan(result)


def test_an_output_of_another_type_no_longer_written_is_found_by_the_types_its_spec_names() -> None:
    """The outputs a changed object stops writing are looked up among the types its own
    `flow_links` gave them before the change, not among datasets and folders only: an evaluation
    recipe's model evaluation store, say. Here a test type writes an object of its own type, which
    another object of that type reads."""
    def links(attrs: dict[str, Any]) -> list[FlowLink]:
        if "writes" in attrs:
            return [FlowLink(WRITES, attrs["writes"], (NOTEBOOK.type,))]
        return [FlowLink(READS, attrs["reads"], (NOTEBOOK.type,))] if "reads" in attrs else []

    def node(name: str, **attrs: Any) -> Any:
        return flow_node(f"{NOTEBOOK.type}.{KEY}.{name}", NOTEBOOK.type, KEY, name, True, attrs)

    with registered(dataclasses.replace(NOTEBOOK, flow_links=links)):
        graph = FlowGraph([node("writer", writes="store"), node("store"), node("reader", reads="store")])
        change = ResourceChange(f"{NOTEBOOK.type}.{KEY}.writer", NOTEBOOK.type, KEY, "writer", Action.UPDATE, "",
                                before={"writes": "store"}, after={})
        effect = Effect(Impact.BREAKING, "output 'store' no longer written", starts=("store",))
        found = [f"{d.address} {d.relation} {d.via}" for d in graph.downstream(change, [effect])]
    assert found == [
        f"{NOTEBOOK.type}.{KEY}.store is no longer written by {NOTEBOOK.type}.{KEY}.writer",
        f"{NOTEBOOK.type}.{KEY}.reader reads {NOTEBOOK.type}.{KEY}.store",
    ]


def test_a_saved_model_change_lists_its_model_report_and_the_dashboard_showing_it() -> None:
    """A model report reads its saved model (no dataset): it, and the dashboard with its tile, sit
    below a change of the model's active version."""
    def node(type_: str, name: str, **attrs: Any) -> Any:
        return flow_node(f"{type_}.{KEY}.{name}", type_, KEY, name, True, attrs)

    graph = FlowGraph([
        node("saved_model", "churn_model"),
        node("insight", "churn_report", type="model_report", saved_model="churn_model"),
        node("dashboard", "ml", pages=[{"tiles": [{"insight": "churn_report"}, {"text": "# ML"}]}]),
    ])
    change = ResourceChange(f"saved_model.{KEY}.churn_model", "saved_model", KEY, "churn_model", Action.UPDATE, "",
                            before={"active_version": "a"}, after={"active_version": "b"})
    found = [f"{d.address} {d.relation} {d.via}" for d in graph.downstream(change, [Effect(Impact.BREAKING, "pin")])]
    assert found == [
        f"insight.{KEY}.churn_report reads saved_model.{KEY}.churn_model",
        f"dashboard.{KEY}.ml reads insight.{KEY}.churn_report",
    ]
