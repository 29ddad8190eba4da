"""Jobs compute the other visual recipes on DuckDB: stack, sort, split, window, prepare (real
dataikuapi over HTTP; payloads as DSS stores them)."""

from __future__ import annotations

import datetime

import pytest
from emu_helpers import dataset_with_rows, sorted_rows

SALES = b"id,shop,amount,day\n1,north,10,2024-01\n2,south,5,2024-02\n3,north,7,2024-03\n4,,1,2024-04\n"
MORE = b"id,shop,extra\n5,east,x\n"


@pytest.fixture(scope="module")
def project(dss_emulator):
    dss_emulator.reset_all()
    p = dss_emulator.client().create_project("VIS", "Visual", "admin")
    dataset_with_rows(p, "sales", SALES)
    dataset_with_rows(p, "more", MORE)
    return p


def _recipe(project, kind, name, inputs, outputs, payload):
    creator = project.new_recipe(kind, name)
    for ref in inputs:
        creator = creator.with_input(ref)
    for ref in outputs:
        creator = creator.with_new_output(ref, "filesystem_managed")
    recipe = creator.create()
    settings = recipe.get_settings()
    current = settings.get_json_payload() if settings.get_payload() else {}
    current.update(payload)
    settings.set_json_payload(current)
    settings.save()
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD")
    for ref in outputs:
        job.with_output(ref)
    state = job.start_and_wait(no_fail=True)
    assert state.get_status()["baseStatus"]["state"] == "DONE", state.get_log()
    return recipe


def _columns(project, name):
    return [c["name"] for c in project.get_dataset(name).get_schema()["columns"]]


def test_stack_union_with_origin_column(project):
    _recipe(
        project,
        "vstack",
        "st",
        ["sales", "more"],
        ["stacked"],
        {
            "mode": "UNION",
            "addOriginColumn": True,
            "originColumnName": "src",
            "virtualInputs": [{"index": 0, "originLabel": "S"}, {"index": 1, "originLabel": "M"}],
        },
    )
    assert _columns(project, "stacked") == ["id", "shop", "amount", "day", "extra", "src"]
    rows = sorted_rows(project, "stacked")
    assert len(rows) == 5 and [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[4][1] == "east" and rows[4][5] == "M" and rows[0][5] == "S"


def test_sort_orders_rows_and_adds_row_numbers(project):
    _recipe(
        project,
        "sort",
        "so",
        ["sales"],
        ["sorted"],
        {"orders": [{"column": "amount", "desc": True}], "rowNumber": True},
    )
    rows = list(project.get_dataset("sorted").iter_rows())
    assert [r[2] for r in rows] == [10, 7, 5, 1] and [r[-1] for r in rows] == [1, 2, 3, 4]


def test_split_by_filter_then_default_output(project):
    _recipe(
        project,
        "split",
        "sp",
        ["sales"],
        ["big", "small"],
        {
            "mode": "FILTERS",
            "defaultOutputIndex": 1,
            "filterSplits": [
                {
                    "outputIndex": 0,
                    "filter": {
                        "enabled": True,
                        "uiData": {
                            "mode": "&&",
                            "conditions": [{"input": "amount", "operator": ">= [number]", "num": 7}],
                        },
                    },
                }
            ],
        },
    )
    assert [r[0] for r in sorted_rows(project, "big")] == [1, 3]
    assert [r[0] for r in sorted_rows(project, "small")] == [2, 4]


def test_split_by_values(project):
    _recipe(
        project,
        "split",
        "sv",
        ["sales"],
        ["north", "rest"],
        {
            "mode": "VALUES",
            "column": "shop",
            "defaultOutputIndex": 1,
            "valueSplits": [{"outputIndex": 0, "value": "NORTH", "caseSensitive": False}],
        },
    )
    assert [r[0] for r in sorted_rows(project, "north")] == [1, 3]
    assert [r[0] for r in sorted_rows(project, "rest")] == [2, 4]


def test_window_partitioned_running_sum_lag_and_rank(project):
    _recipe(
        project,
        "window",
        "wi",
        ["sales"],
        ["windowed"],
        {
            "windows": [
                {
                    "enablePartitioning": True,
                    "partitioningColumns": ["shop"],
                    "enableOrdering": True,
                    "orders": [{"column": "id", "desc": False}],
                    "enableLimits": False,
                }
            ],
            "values": [{"column": "amount", "sum": True, "lag": True, "lagValues": "1"}],
            "rank": True,
            "retrievedColumnsSelectionMode": "ALL",
        },
    )
    assert _columns(project, "windowed") == [
        "id",
        "shop",
        "amount",
        "day",
        "amount_sum",
        "amount_lag1",
        "rank",
    ]
    by_id = {r[0]: r for r in project.get_dataset("windowed").iter_rows()}
    assert by_id[3][4:] == [17, 10, 2]  # north: 10 then 7
    assert by_id[1][4:] == [10, None, 1]


def test_prepare_common_processors(project):
    steps = [
        {
            "metaType": "PROCESSOR",
            "type": "FillEmptyWithValue",
            "params": {"appliesTo": "SINGLE_COLUMN", "columns": ["shop"], "value": "none"},
        },
        {
            "metaType": "PROCESSOR",
            "type": "StringTransformer",
            "params": {"appliesTo": "SINGLE_COLUMN", "columns": ["shop"], "mode": "TO_UPPER"},
        },
        {
            "metaType": "PROCESSOR",
            "type": "FilterOnValue",
            "params": {
                "appliesTo": "SINGLE_COLUMN",
                "columns": ["shop"],
                "values": ["SOUTH"],
                "matchingMode": "FULL_STRING",
                "normalizationMode": "EXACT",
                "action": "REMOVE_ROW",
            },
        },
        {
            "metaType": "GROUP",
            "steps": [
                {
                    "metaType": "PROCESSOR",
                    "type": "CreateColumnWithGREL",
                    "params": {"column": "double", "expression": "amount * 2"},
                },
                {
                    "metaType": "PROCESSOR",
                    "type": "ColumnRenamer",
                    "params": {"renamings": [{"from": "amount", "to": "qty"}]},
                },
            ],
        },
        {
            "metaType": "PROCESSOR",
            "type": "DateParser",
            "params": {
                "appliesTo": "SINGLE_COLUMN",
                "columns": ["day"],
                "formats": ["yyyy-MM"],
                "outCol": "",
                "outType": {"type": "dateonly"},
            },
        },
        {
            "metaType": "PROCESSOR",
            "type": "FindReplace",
            "params": {
                "appliesTo": "SINGLE_COLUMN",
                "columns": ["shop"],
                "matching": "SUBSTRING",
                "mapping": [{"from": "NOR", "to": "N"}],
                "output": "",
            },
        },
        {
            "metaType": "PROCESSOR",
            "type": "ColumnsSelector",
            "params": {"appliesTo": "SINGLE_COLUMN", "columns": ["id"], "keep": False},
        },
        {
            "metaType": "PROCESSOR",
            "type": "ColumnRenamer",
            "disabled": True,
            "params": {"renamings": [{"from": "qty", "to": "nope"}]},
        },
    ]
    _recipe(project, "shaker", "prep", ["sales"], ["prepared"], {"steps": steps})
    assert _columns(project, "prepared") == ["shop", "qty", "day", "double"]
    rows = sorted_rows(project, "prepared")
    assert rows == [
        ["NONE", 1, datetime.datetime(2024, 4, 1), 2],
        ["NTH", 10, datetime.datetime(2024, 1, 1), 20],
        ["NTH", 7, datetime.datetime(2024, 3, 1), 14],
    ]


def test_an_unknown_processor_fails_the_job_naming_it(project):
    recipe = (
        project.new_recipe("shaker", "bad_prep")
        .with_input("sales")
        .with_new_output("bad_prepared", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    settings.set_json_payload({"steps": [{"metaType": "PROCESSOR", "type": "GeoIPResolver", "params": {}}]})
    settings.save()
    job = project.new_job().with_output("bad_prepared").start_and_wait(no_fail=True)
    assert job.get_status()["baseStatus"]["state"] == "FAILED"
    assert "does not run the prepare processor GeoIPResolver" in job.get_log()


def test_distinct_on_keys_with_count(project):
    _recipe(
        project,
        "distinct",
        "di",
        ["sales"],
        ["shops"],
        {
            "keys": [{"column": "shop"}],
            "selectAllColumns": False,
            "globalCount": True,
        },
    )
    assert _columns(project, "shops") == ["shop", "count"]
    assert sorted_rows(project, "shops") == [["", 1], ["north", 2], ["south", 1]]


def test_sampling_head_after_its_filter(project):
    recipe = (
        project.new_recipe("sampling", "sa")
        .with_input("sales")
        .with_new_output("sampled", "filesystem_managed")
        .create()
    )
    settings = recipe.get_settings()
    settings.get_recipe_params()["selection"] = {"samplingMethod": "HEAD_SEQUENTIAL", "maxRecords": 1}
    settings.set_json_payload(
        {
            "enabled": True,
            "uiData": {
                "mode": "&&",
                "conditions": [{"input": "shop", "operator": "== [string]", "string": "north"}],
            },
        }
    )
    settings.save()
    project.new_job().with_output("sampled").start_and_wait()
    assert [r[0] for r in project.get_dataset("sampled").iter_rows()] == [1]


def test_pivot_values_become_columns(project):
    _recipe(
        project,
        "pivot",
        "pv",
        ["sales"],
        ["pivoted"],
        {
            "identifierColumnsSelection": "EXPLICIT",
            "explicitIdentifiers": [],
            "pivots": [
                {
                    "keyColumns": ["shop"],
                    "valueLimit": "NO_LIMIT",
                    "globalCount": True,
                    "valueColumns": [{"column": "amount", "sum": True}],
                }
            ],
        },
    )
    assert _columns(project, "pivoted") == [
        "_amount_sum",
        "_count",
        "north_amount_sum",
        "north_count",
        "south_amount_sum",
        "south_count",
    ]
    assert list(project.get_dataset("pivoted").iter_rows()) == [[1, 1, 17, 2, 5, 1]]


def test_topn_per_group_first_and_last_rows(project):
    project.new_managed_dataset("top_sales").with_store_into("filesystem_managed").create()
    recipe = project.new_recipe("topn", "tn").with_input("sales").with_output("top_sales").create()
    settings = recipe.get_settings()
    payload = settings.get_json_payload()
    payload.update(
        keys=["shop"], orders=[{"column": "amount", "desc": True}], firstRows=1, lastRows=0, rowNumber=True
    )
    settings.set_json_payload(payload)
    settings.save()
    project.new_job().with_output("top_sales").start_and_wait()
    assert _columns(project, "top_sales") == ["id", "shop", "amount", "day", "rowNumber"]
    assert [r[0] for r in sorted_rows(project, "top_sales")] == [1, 2, 4]  # the largest amount of each shop
