"""Insights and dashboards without DSS: the chart vocabulary against real DSS chart definitions
(dss-samples/insight/), names completed after observation, tiles keeping DSS's display settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataiku_iac.resources import dashboard, insight
from dataiku_iac.resources.base import Observed, ProjectContext
from dataiku_iac.resources.project import dashboard_authorizations_of, write_dashboard_authorizations

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "dss-samples"


def _sample(kind: str, name: str) -> Any:
    return json.loads((SAMPLES / kind / name).read_text(encoding="utf-8"))


def test_a_real_chart_reads_as_the_vocabulary_and_writes_back_unchanged() -> None:
    params = _sample("insight", "export_chart_dss1355.json")["params"]
    chart = insight.chart_of(params["def"])
    assert chart == {"type": "bar", "dimensions": ["80_Churn"],
                     "measures": [{"column": "80_Total day minutes", "aggregation": "avg"}], "filters": []}
    # Writing what was read changes nothing: DSS's display settings of a kept entry stay.
    assert insight.write_chart(chart, params["def"]) == params["def"]


def test_a_changed_measure_is_written_fresh_and_read_back_as_written() -> None:
    definition = _sample("insight", "export_chart_dss1355.json")["params"]["def"]
    wanted = {"type": "line", "dimensions": ["80_Churn", "state"],
              "measures": [{"aggregation": "count"}], "filters": [{"column": "state", "exclude": ["NY"]},
                                                                    {"column": "calls", "min": 1, "max": 9}]}
    written = insight.write_chart(wanted, definition)
    assert written["type"] == "lines" and written["genericDimension1"] == [{"column": "state", "isA": "dimension"}]
    assert written["genericDimension0"] == definition["genericDimension0"]  # the same column keeps its settings
    assert insight.chart_of(written) == wanted


def test_a_model_report_names_its_saved_model_once_all_are_observed() -> None:
    ctx = ProjectContext("P")
    doc = {"id": "abc1234", "name": "report", "type": "saved-model_report", "params": {"savedModelSmartId": "SM123456"}}
    observed = insight.InsightHandler().observed_from("P", doc, ctx)
    assert observed.attributes["type"] == "model_report" and observed.attributes["saved_model"] == "SM123456"
    ctx.remember("saved_model", "churn_model", "SM123456")  # observed side by side, later
    insight.InsightHandler().complete_observation({"insight": [observed]}, ctx)
    assert observed.attributes["saved_model"] == "churn_model"


def test_tiles_read_as_insight_names_and_texts_and_other_kinds_are_marked() -> None:
    doc = _sample("dashboard", "git_mixed_tiles_2022.json")
    ctx = ProjectContext("P")
    pages = dashboard.DashboardHandler().to_logical({"id": "d", **doc}, ctx)["pages"]
    kinds = {next(iter(t)) for page in pages for t in page["tiles"]}
    assert {"text", "tile_type"} <= kinds, kinds
    tiles = [t for page in pages for t in page["tiles"]]
    assert all({"x", "y", "width", "height"} <= set(t) for t in tiles)


def test_a_moved_tile_keeps_dss_settings_and_a_new_insight_gets_a_fresh_tile() -> None:
    doc = _sample("dashboard", "git_text_and_chart_tiles_2022.json")
    ctx = ProjectContext("P")
    ctx.remember("insight", "plans", "XYvWppM")
    ctx.remember("insight", "other", "ZZZZZZZ")
    current = doc["pages"]
    wanted = [{"tiles": [{"insight": "plans", "x": 2, "y": 1, "width": 4, "height": 3},
                         {"insight": "other", "x": 0, "y": 0, "width": 4, "height": 1}]}]
    [page] = dashboard.write_pages(wanted, current, ctx, "dashboard.P.d")
    moved, fresh = page["grid"]["tiles"]
    old = current[0]["grid"]["tiles"][0]
    assert moved == {**old, "box": {"top": 1, "left": 2, "width": 4, "height": 3}}
    assert fresh == {"tileType": "INSIGHT", "insightId": "ZZZZZZZ", "box": {"left": 0, "top": 0, "width": 4, "height": 1}}
    assert page["id"] == current[0]["id"]


def test_dashboard_authorizations_keep_other_objects() -> None:
    params = _sample("project", "params_2026_dashboard_authorizations.json")
    params = params.get("document", params)
    current = params["dashboardAuthorizations"]
    current = {**current, "authorizations": [*current["authorizations"],
                                             {"objectRef": {"objectId": "SM1", "objectType": "SAVED_MODEL"}, "modes": ["READ"]}]}
    assert dashboard_authorizations_of(current)["datasets"] == ["positions_avions"]
    written = write_dashboard_authorizations({"all": False, "datasets": ["flights"]}, current)
    assert dashboard_authorizations_of(written) == {"all": False, "datasets": ["flights"]}
    assert {"objectRef": {"objectId": "SM1", "objectType": "SAVED_MODEL"}, "modes": ["READ"]} in written["authorizations"]


def test_observed_objects_are_observed_records() -> None:
    doc = {"id": "abc1234", "name": "n", "type": "metrics", "params": {"objectSmartId": "d", "metricId": "m"}}
    observed = insight.InsightHandler().observed_from("P", doc, ProjectContext("P"))
    assert isinstance(observed, Observed) and observed.dss_id == "abc1234"
    assert (observed.attributes["dataset"], observed.attributes["metric"]) == ("d", "m")


def test_a_chart_tells_impact_analysis_the_columns_it_names() -> None:
    chart = {"type": "bar", "dimensions": ["plan"], "measures": [{"column": "spend", "aggregation": "avg"},
                                                               {"aggregation": "count"}],
             "filters": [{"column": "region", "exclude": ["x"]}]}
    [link] = insight.flow_links({"type": "chart", "dataset": "customers", "chart": chart})
    assert (link.name, link.columns) == ("customers", frozenset({"plan", "spend", "region"}))
    [raw] = insight.flow_links({"type": "chart", "dataset": "customers", "chart": chart, "params": {"def": {}}})
    assert raw.columns is None
    [metric] = insight.flow_links({"type": "metric", "dataset": "customers", "metric": "records:COUNT_RECORDS"})
    assert metric.columns is None
