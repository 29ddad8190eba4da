"""Visual recipes (issue 12, item 1): each kind, end to end against the emulator.

One shared run (module fixture): a project SRC whose visual recipes are built only with dataikuapi
(its recipe creators, then settings saves, as a user's script would); `import project SRC` writes
the config, which plans `No changes.`; the same config applied to a second environment (key suffix
_COPY) creates every recipe from the config; a hand-written config (project HAND) says the same
recipes in the typed keys a person writes. Per kind, the tests compare what DSS reads back: the
config-made recipes (SRC_COPY, HAND) say what the creator-made one (SRC) says.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.recipe import _non_default
from dataiku_iac.resources.registry import handler_for
from dataiku_iac.resources.visual import kind_of

from tests.e2e.helpers import cli_env, run_cli, write_config

COPY_ENV = """\
dss:
  api_key_env: DKU_API_KEY
project_key:
  suffix: _COPY
"""
COLUMNS = {
    "orders": [("order_id", "bigint"), ("customer", "string"), ("country", "string"), ("amount", "double"),
               ("ordered_on", "date")],
    "customers": [("customer", "string"), ("segment", "string"), ("country", "string")],
    "orders_archive": [("order_id", "bigint"), ("customer", "string"), ("amount", "double")],
}


# -- each kind: made with dataikuapi, and said by hand ---------------------------------------------
def grouping_by_creator(project: Any) -> None:
    creator = project.new_recipe("grouping", "group_orders")
    creator.with_input("orders").with_existing_output("orders_by_customer").with_group_key("customer")
    settings = creator.create().get_settings()
    settings.add_grouping_key("country")
    settings.set_global_count_enabled(True)
    settings.set_column_aggregations("amount", sum=True, avg=True)
    settings.get_or_create_column_settings("ordered_on").update(last=True, orderColumn="order_id")
    settings.obj_payload["outputColumnNameOverrides"] = {"amount_sum": "total"}
    settings.save()


GROUPING_YAML = """\
  - name: group_orders
    type: grouping
    inputs: [orders]
    outputs: [orders_by_customer]
    keys: [customer, country]
    aggregations:
      amount: [sum, avg]
      ordered_on: {functions: [last], order_by: order_id}
    count: true
    rename: {amount_sum: total}
"""

def join_by_creator(project: Any) -> None:
    creator = project.new_recipe("join", "join_orders")
    creator.with_input("orders").with_input("customers").with_existing_output("orders_with_segment")
    settings = creator.create().get_settings()
    settings.raw_joins.clear()
    join = settings.add_join("LEFT", 0, 1)
    settings.add_condition_to_join(join, "EQ", "customer", "customer")
    settings.add_condition_to_join(join, "EQ", "country", "country")
    customers = settings.raw_virtual_inputs[1]
    customers["outputColumnsSelectionMode"] = "MANUAL"
    settings.obj_payload["selectedColumns"] = [
        {"name": "segment", "table": 1, "alias": "customer_segment"}]
    settings.raw_virtual_inputs[0]["preFilter"] = {
        "enabled": True, "distinct": False, "uiData": {"mode": "CUSTOM"}, "expression": "amount > 0"}
    settings.add_post_join_computed_column({"mode": "GREL", "name": "big", "type": "boolean", "expr": "amount > 100"})
    settings.save()


JOIN_YAML = """\
  - name: join_orders
    type: join
    inputs: [orders, customers]
    outputs: [orders_with_segment]
    joins:
      - with: customers
        type: left
        on: [[customer, customer], [country, country]]
    select:
      customers: {columns: [segment], rename: {segment: customer_segment}}
    pre_filters:
      orders: {expression: amount > 0}
    computed_columns:
      - {name: big, type: boolean, expression: amount > 100}
"""

def window_by_creator(project: Any) -> None:
    creator = project.new_recipe("window", "window_orders")
    creator.with_input("orders").with_existing_output("orders_windowed")
    settings = creator.create().get_settings()
    window = settings.obj_payload["windows"][0]
    window.update(enablePartitioning=True, partitioningColumns=["customer"], enableOrdering=True,
                  orders=[{"column": "ordered_on", "desc": True}], enableLimits=True, limitPreceding=True,
                  precedingRows=3, limitFollowing=False)
    settings.obj_payload["values"] = [{"column": "amount", "sum": True, "lag": True, "lagValues": "2"}]
    settings.obj_payload["rowNumber"] = True
    settings.save()


WINDOW_YAML = """\
  - name: window_orders
    type: window
    inputs: [orders]
    outputs: [orders_windowed]
    partition_by: [customer]
    order_by: [{column: ordered_on, desc: true}]
    frame: {preceding: 3}
    aggregations:
      amount: {functions: [sum, lag], lag_offsets: "2"}
    ranks: [row_number]
"""


def prepare_by_creator(project: Any) -> None:
    creator = project.new_recipe("prepare", "prepare_customers")
    creator.with_input("customers").with_existing_output("customers_prepared")
    settings = creator.create().get_settings()
    settings.add_processor_step("ColumnRenamer", {"renamings": [{"from": "segment", "to": "customer_segment"}]})
    settings.add_processor_step("FilterOnValue", {"columns": ["country"], "values": ["FR"], "action": "KEEP_ROW",
                                                  "appliesTo": "SINGLE_COLUMN", "matchingMode": "FULL_STRING"})
    settings.save()


PREPARE_YAML = """\
  - name: prepare_customers
    type: prepare
    inputs: [customers]
    outputs: [customers_prepared]
    steps:
      - type: ColumnRenamer
        params:
          renamings: [{from: segment, to: customer_segment}]
      - type: FilterOnValue
        params: {columns: [country], values: [FR], action: KEEP_ROW, appliesTo: SINGLE_COLUMN, matchingMode: FULL_STRING}
"""

def split_by_creator(project: Any) -> None:
    creator = project.new_recipe("split", "split_customers")
    creator.with_input("customers").with_existing_output("customers_sample").with_existing_output("customers_rest")
    settings = creator.create().get_settings()
    settings.set_split_on_random_ratio([{"output": {"mode": "dataset", "value": "customers_sample"}, "share": 30}],
                                       seed=42, default_output="customers_rest")
    settings.save()


SPLIT_YAML = """\
  - name: split_customers
    type: split
    inputs: [customers]
    outputs: [customers_sample, customers_rest]
    mode: random
    seed: 42
    splits:
      - {output: customers_sample, share: 30}
    default_output: customers_rest
"""


def sort_by_creator(project: Any) -> None:
    creator = project.new_recipe("sort", "sort_orders")
    creator.with_input("orders").with_existing_output("orders_sorted")
    settings = creator.create().get_settings()
    settings.add_sorting_key("amount", ascending=False)
    settings.add_sorting_key("order_id")
    settings.row_number_column_enabled = True
    settings.save()


SORT_YAML = """\
  - name: sort_orders
    type: sort
    inputs: [orders]
    outputs: [orders_sorted]
    order_by: [{column: amount, desc: true}, order_id]
    ranks: [row_number]
"""


def stack_by_creator(project: Any) -> None:
    creator = project.new_recipe("vstack", "stack_orders")
    creator.with_input("orders").with_input("orders_archive").with_existing_output("all_orders")
    settings = creator.create().get_settings()
    settings.set_intersection_input_schema_mode()
    settings.add_origin_column("source", {1: "archive"})
    settings.save()


STACK_YAML = """\
  - name: stack_orders
    type: stack
    inputs: [orders, orders_archive]
    outputs: [all_orders]
    columns: intersect
    origin_column: source
    origin_labels: {orders_archive: archive}
"""


def pivot_by_creator(project: Any) -> None:
    creator = project.new_recipe("pivot", "pivot_orders")
    creator.with_input("orders").with_existing_output("orders_by_country")
    settings = creator.create().get_settings()
    payload = settings.obj_payload  # PivotRecipeSettings has no helpers: the payload, as DSS's editor writes it
    payload["explicitIdentifiers"] = ["customer"]
    payload["pivots"][0].update(
        keyColumns=["country"], valueLimit="EXPLICIT", explicitValues=[["FR"], ["DE"]], globalCount=False,
        valueColumns=[{"column": "amount", "type": "double", "sum": True},
                      {"column": "amount", "type": "double", "avg": True}])
    payload["otherColumns"] = [{"column": "ordered_on", "type": "date", "last": True, "orderColumn": "order_id"}]
    settings.save()


PIVOT_YAML = """\
  - name: pivot_orders
    type: pivot
    inputs: [orders]
    outputs: [orders_by_country]
    keys: [customer]
    pivot_columns: [country]
    pivot_values: [FR, DE]
    aggregations:
      amount: [sum, avg]
    count: false
    other_columns:
      ordered_on: {functions: [last], order_by: order_id}
"""


def sampling_by_creator(project: Any) -> None:
    creator = project.new_recipe("sampling", "sample_orders")
    creator.with_input("orders").with_existing_output("orders_sample")
    settings = creator.create().get_settings()
    # SamplingRecipeSettings has no helpers: the sampling is the params' selection, the payload the filter
    settings.get_recipe_params()["selection"].update(
        samplingMethod="STRATIFIED_TARGET_RATIO_EXACT", targetRatio=0.25, column="country", seed=7)
    settings.obj_payload.update(enabled=True, uiData={"mode": "CUSTOM"}, expression="amount > 10")
    settings.save()


SAMPLING_YAML = """\
  - name: sample_orders
    type: sampling
    inputs: [orders]
    outputs: [orders_sample]
    method: stratified_ratio
    ratio: 0.25
    column: country
    seed: 7
    filter: {expression: amount > 10}
"""


def distinct_by_creator(project: Any) -> None:
    creator = project.new_recipe("distinct", "distinct_orders")
    creator.with_input("orders").with_existing_output("customer_countries")
    settings = creator.create().get_settings()  # DistinctRecipeSettings has no helpers: the payload
    settings.obj_payload.update(selectAllColumns=False, keys=[{"column": "customer"}, {"column": "country"}],
                                globalCount=True)
    settings.obj_payload["postFilter"] = {
        "enabled": True, "distinct": False, "uiData": {"mode": "CUSTOM"}, "expression": "count > 1"}
    settings.save()


DISTINCT_YAML = """\
  - name: distinct_orders
    type: distinct
    inputs: [orders]
    outputs: [customer_countries]
    keys: [customer, country]
    count: true
    post_filter: {expression: count > 1}
"""

def topn_by_creator(project: Any) -> None:
    creator = project.new_recipe("topn", "top_orders")  # a plain DSSRecipeCreator: with_output
    creator.with_input("orders").with_output("top_orders_per_customer")
    settings = creator.create().get_settings()  # TopNRecipeSettings has no helpers: the payload
    settings.obj_payload.update(firstRows=3, lastRows=1, keys=["customer"], orders=[{"column": "amount", "desc": True}],
                                retrievedColumnsSelectionMode="EXPLICIT", retrievedColumns=["order_id", "customer", "amount"],
                                rank=True, duplicateCount=True)
    settings.obj_payload["preFilter"] = {
        "enabled": True, "distinct": False, "uiData": {"mode": "CUSTOM"}, "expression": "amount > 0"}
    settings.save()


TOPN_YAML = """\
  - name: top_orders
    type: topn
    inputs: [orders]
    outputs: [top_orders_per_customer]
    top: 3
    bottom: 1
    order_by: [{column: amount, desc: true}]
    group_by: [customer]
    columns: [order_id, customer, amount]
    ranks: [rank]
    duplicate_count: true
    pre_filter: {expression: amount > 0}
"""

KINDS: dict[str, tuple[str, Callable[[Any], None], tuple[str, ...], str]] = {
    # kind: (recipe name, made with dataikuapi, its output, the hand-written item)
    "grouping": ("group_orders", grouping_by_creator, ("orders_by_customer",), GROUPING_YAML),
    "join": ("join_orders", join_by_creator, ("orders_with_segment",), JOIN_YAML),
    "window": ("window_orders", window_by_creator, ("orders_windowed",), WINDOW_YAML),
    "shaker": ("prepare_customers", prepare_by_creator, ("customers_prepared",), PREPARE_YAML),
    "split": ("split_customers", split_by_creator, ("customers_sample", "customers_rest"), SPLIT_YAML),
    "sort": ("sort_orders", sort_by_creator, ("orders_sorted",), SORT_YAML),
    "vstack": ("stack_orders", stack_by_creator, ("all_orders",), STACK_YAML),
    "pivot": ("pivot_orders", pivot_by_creator, ("orders_by_country",), PIVOT_YAML),
    "sampling": ("sample_orders", sampling_by_creator, ("orders_sample",), SAMPLING_YAML),
    "distinct": ("distinct_orders", distinct_by_creator, ("customer_countries",), DISTINCT_YAML),
    "topn": ("top_orders", topn_by_creator, ("top_orders_per_customer",), TOPN_YAML),
}


# -- the shared run --------------------------------------------------------------------------------
def _dataset(project: Any, name: str) -> None:
    project.new_managed_dataset(name).with_store_into("filesystem_managed").create()
    if name in COLUMNS:
        settings = project.get_dataset(name).get_settings()
        settings.get_raw()["schema"]["columns"] = [{"name": n, "type": t} for n, t in COLUMNS[name]]
        settings.save()


def _hand_written_project() -> str:
    datasets = "".join(
        f"  - name: {name}\n    type: managed\n    connection: filesystem_managed\n"
        + ("    schema:\n      columns:\n" + "".join(f"        - {{name: {n}, type: {t}}}\n" for n, t in COLUMNS[name])
           if name in COLUMNS else "")
        for name in [*COLUMNS, *(output for _, _, outputs, _ in KINDS.values() for output in outputs)]
    )
    recipes = "".join(item for _, _, _, item in KINDS.values())
    return f"project:\n  key: HAND\n  name: Hand written\n\ndatasets:\n{datasets}\nrecipes:\n{recipes}"


class Run:
    def __init__(self, dss: Any, root: Path):
        self.dss, self.root, self.client = dss, root, dss.client()
        self.imported = root / "imported"
        self.hand = root / "hand"

    def recipe(self, project_key: str, name: str) -> dict[str, Any]:
        """What the tool reads of a recipe: its logical attributes (typed settings and raw payload)."""
        data = self.client.get_project(project_key).get_recipe(name).get_settings().data
        return handler_for("recipe").to_logical(data, ProjectContext(project_key))


@pytest.fixture(scope="module")
def run(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    dss_emulator.reset_all()
    done = Run(dss_emulator, tmp_path_factory.mktemp("visual"))
    client = done.client
    client.create_project("SRC", "Made with dataikuapi", "admin")
    project = client.get_project("SRC")
    for name in [*COLUMNS, *(output for _, _, outputs, _ in KINDS.values() for output in outputs)]:
        _dataset(project, name)
    for _, by_creator, _, _ in KINDS.values():
        by_creator(project)

    env = cli_env(dss_emulator)
    write_config(done.imported, {}, files={"environments/copy.yml": COPY_ENV})
    done.import_run = run_cli(dss_emulator, done.imported, "import", "project", "SRC", "-e", "dev", env=env)
    done.plan_after_import = run_cli(dss_emulator, done.imported, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    done.copy_apply = run_cli(dss_emulator, done.imported, "apply", "-e", "copy", "--auto-approve", env=env)
    done.copy_plan = run_cli(dss_emulator, done.imported, "plan", "-e", "copy", "--detailed-exitcode", env=env)

    write_config(done.hand, {"hand.yml": _hand_written_project()})
    done.hand_apply = run_cli(dss_emulator, done.hand, "apply", "-e", "dev", "--auto-approve", env=env)
    done.hand_plan = run_cli(dss_emulator, done.hand, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    yield done


def _said(attrs: dict[str, Any]) -> dict[str, Any]:
    """What a recipe says, without what differs by construction (the payload DSS's creator
    formats, compared through the typed settings and the raw keys import would write)."""
    return {k: v for k, v in attrs.items() if k != "payload"}


def test_the_imported_config_plans_no_changes_and_applies_elsewhere(run: Run) -> None:
    assert "not imported" not in run.import_run.stdout, str(run.import_run)
    assert run.plan_after_import.last_line().startswith("No changes."), str(run.plan_after_import)
    assert run.copy_plan.last_line().startswith("No changes."), str(run.copy_plan)
    assert run.hand_plan.last_line().startswith("No changes."), str(run.hand_plan)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_creator_made_recipe_imports_and_reads_back_equal_elsewhere(run: Run, kind: str) -> None:
    name = KINDS[kind][0]
    document = yaml.safe_load((run.imported / "projects" / "src.yml").read_text(encoding="utf-8"))
    item = next(r for r in document["recipes"] if r["name"] == name)
    assert item["type"] == {"shaker": "prepare", "vstack": "stack"}.get(kind, kind)
    assert "payload" not in item, f"import wrote DSS's defaults as raw payload keys: {item['payload']}"
    source, copy = run.recipe("SRC", name), run.recipe("SRC_COPY", name)
    assert _said(copy) == _said(source)
    assert _non_default_payload(copy) == _non_default_payload(source)


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_config_made_recipe_reads_back_like_a_creator_made_one(run: Run, kind: str) -> None:
    name = KINDS[kind][0]
    assert _said(run.recipe("HAND", name)) == _said(run.recipe("SRC", name))


def _non_default_payload(attrs: dict[str, Any]) -> str:
    """The raw payload keys import would write for the recipe (what differs from DSS's defaults)."""
    kind = kind_of(attrs["kind"])
    assert kind is not None
    return json.dumps(_non_default(attrs["payload"], kind.payload_defaults, kind.ui_state), sort_keys=True)
