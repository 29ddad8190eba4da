"""Insights and dashboards, as dataikuapi calls them (dss/insight.py, dss/dashboard.py, project.py)."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, UNAUTHORIZED, dataset_with_rows, raises_dss

ROWS = b"age,plan,churned\n" + b"".join(f"{20 + i},{['gold', 'silver'][i % 2]},{['left', 'stayed'][i % 3 == 0]}\n".encode()
                                         for i in range(20))


@pytest.fixture
def project(dss_client):
    """A project without the dashboard DSS makes with it (the tests below count the ones they make)."""
    project = dss_client.create_project("DASH", "Dashboards", "admin")
    for default in project.list_dashboards():
        project.get_dashboard(default.id).delete()
    dataset_with_rows(project, "customers", ROWS)
    return project


def test_a_new_project_has_its_default_dashboard_as_dss_makes_it(dss, dss_client):
    """git_default_dashboard_as_created_2023.json: "<project name>'s default dashboard", listed,
    owned by the creator, one empty page, versionTag == creationTag."""
    dss.admin.seed(api_keys=[{"key": "maker-key", "login": "maker", "admin": True}])
    project = dss.client_for("maker-key").create_project("CHURN", "Churn analysis", "admin")
    [item] = project.list_dashboards()
    assert (item.name, item.listed, item.owner, item.num_pages, item.num_tiles) == (
        "Churn analysis's default dashboard", True, "maker", 1, 0)
    raw = project.get_dashboard(item.id).get_settings().get_raw()
    [page] = raw["pages"]
    assert len(item.id) == 7 and len(page["id"]) == 7 and page["grid"] == {"tiles": []} and page["showTitle"] is False
    assert raw["showGrid"] is True and raw["tags"] == [] and raw["checklists"] == {"checklists": []}
    assert raw["versionTag"] == raw["creationTag"] and raw["versionTag"]["versionNumber"] == 0
    project.get_dashboard(item.id).delete()  # an ordinary dashboard: it may go
    assert project.list_dashboards() == []


def chart(project, dataset="customers", **extra):
    return project.create_insight({"type": "chart", "name": "Plans", "params": {
        "datasetSmartName": dataset, "def": {"type": "grouped_columns", "genericDimension0": [{"column": "plan"}]}},
        **extra})


def test_a_chart_insight_is_created_with_dss_defaults_and_listed(project):
    insight = chart(project)
    assert len(insight.insight_id) == 7
    settings = insight.get_settings()
    raw = settings.get_raw()
    assert (settings.id, settings.name, settings.type, settings.listed, settings.owner) == (
        insight.insight_id, "Plans", "chart", False, "admin")
    assert raw["projectKey"] == "DASH" and raw["tags"] == [] and raw["versionTag"]["versionNumber"] == 0
    params = raw["params"]
    assert params["engineType"] == "LINO" and params["refreshableSelection"]["selection"]["samplingMethod"]
    assert params["def"]["genericDimension0"] == [{"column": "plan"}] and params["def"]["variant"] == "normal"
    [item] = project.list_insights()
    assert (item.id, item.name, item.type, item.listed, item.owner) == (insight.insight_id, "Plans", "chart", False, "admin")
    assert item.to_insight().insight_id == insight.insight_id


def test_default_names_and_the_other_types(project):
    metric = project.create_insight({"type": "metrics", "params": {
        "objectSmartId": "customers", "objectType": "DATASET", "metricId": "records:COUNT_RECORDS"}})
    assert metric.get_settings().name == "Custom Metric"
    text = project.create_insight({"type": "static_file", "name": "Logo", "params": {"filetype": "image"}})
    assert text.get_settings().type == "static_file"
    assert sorted(i.type for i in project.list_insights()) == ["metrics", "static_file"]


def test_an_insight_on_a_missing_object_or_of_an_unknown_type_is_refused(project):
    raises_dss(NOT_FOUND, lambda: chart(project, dataset="nope"), "Dataset DASH.nope")
    raises_dss(NOT_FOUND, lambda: project.create_insight(
        {"type": "saved-model_report", "params": {"savedModelSmartId": "abcdefgh"}}), "Saved model")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_insight({"type": "pie", "params": {}}), "Unknown insight type")
    assert project.list_insights() == []


def test_insight_settings_save_keeps_identity_and_bumps_the_version(project):
    insight = chart(project)
    settings = insight.get_settings()
    raw = settings.get_raw()
    raw["name"], raw["type"], raw["listed"] = "Renamed", "metrics", True
    raw["params"]["def"]["type"] = "pie"
    settings.save()
    again = insight.get_settings().get_raw()
    assert (again["name"], again["type"], again["listed"], again["params"]["def"]["type"]) == ("Renamed", "chart", True, "pie")
    assert again["versionTag"]["versionNumber"] == 1 and again["id"] == insight.insight_id
    insight.delete()
    raises_dss(NOT_FOUND, insight.get_settings)


def test_a_dashboard_is_created_with_one_empty_page_and_listed_with_counts(project):
    dashboard = project.create_dashboard("Overview")
    settings = dashboard.get_settings()
    raw = settings.get_raw()
    assert (settings.name, settings.listed, settings.owner, raw["projectKey"]) == ("Overview", False, "admin", "DASH")
    [page] = raw["pages"]
    assert len(page["id"]) == 7 and page["grid"] == {"tiles": []} and page["showTitle"] is False
    [item] = project.list_dashboards()
    assert (item.id, item.name, item.num_pages, item.num_tiles, item.listed) == (dashboard.dashboard_id, "Overview", 1, 0, False)


def test_tiles_get_dss_defaults_and_an_insight_tile_its_insight_type(project):
    insight = chart(project)
    dashboard = project.create_dashboard("Overview", {"listed": True, "pages": [{"title": "Main", "grid": {"tiles": [
        {"tileType": "INSIGHT", "insightId": insight.insight_id, "box": {"left": 0, "top": 1, "width": 6, "height": 4}},
        {"tileType": "TEXT", "tileParams": {"text": "# Hello"}, "box": {"left": 0, "top": 0, "width": 12, "height": 1}},
    ]}}]})
    [page] = dashboard.get_settings().get_raw()["pages"]
    insight_tile, text_tile = page["grid"]["tiles"]
    assert insight_tile["insightType"] == "chart" and insight_tile["clickAction"] == "OPEN_INSIGHT"
    assert insight_tile["showTitle"] == "YES" and insight_tile["autoLoad"] is True
    assert text_tile["tileParams"] == {"text": "# Hello", "textAlign": "LEFT", "isTransparent": False}
    assert text_tile["showTitle"] == "NO" and text_tile["clickAction"] == "DO_NOTHING"
    assert page["title"] == "Main" and project.list_dashboards()[0].num_tiles == 2


def test_a_tile_naming_an_unknown_insight_or_without_box_is_refused(project):
    raises_dss(NOT_FOUND, lambda: project.create_dashboard("Bad", {"pages": [{"grid": {"tiles": [
        {"tileType": "INSIGHT", "insightId": "nope123", "box": {"left": 0, "top": 0, "width": 1, "height": 1}}]}}]}),
        "Insight DASH.nope123")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_dashboard("Bad", {"pages": [{"grid": {"tiles": [
        {"tileType": "TEXT"}]}}]}), "box")
    assert project.list_dashboards() == []


def test_dashboard_save_moves_a_tile_and_delete_keeps_the_insights(project):
    insight = chart(project)
    dashboard = project.create_dashboard("Overview", {"pages": [{"grid": {"tiles": [
        {"tileType": "INSIGHT", "insightId": insight.insight_id, "box": {"left": 0, "top": 0, "width": 6, "height": 4}}]}}]})
    settings = dashboard.get_settings()
    settings.get_raw()["pages"][0]["grid"]["tiles"][0]["box"]["left"] = 6
    assert settings.save() == {}
    again = dashboard.get_settings().get_raw()
    assert again["pages"][0]["grid"]["tiles"][0]["box"]["left"] == 6 and again["id"] == dashboard.dashboard_id
    assert again["versionTag"]["versionNumber"] == 1
    dashboard.delete()
    assert project.list_dashboards() == [] and [i.id for i in project.list_insights()] == [insight.insight_id]
    raises_dss(NOT_FOUND, dashboard.get_settings)


def test_a_dashboard_only_reader_sees_promoted_dashboards_and_their_insights_only(dss, project):
    """`readDashboards` alone: the listed dashboards and the insights they show, nothing else."""
    dss.admin.seed(api_keys=[{"key": "exec-key", "login": "exec", "admin": False, "groups": ["executives"]}])
    shown, hidden = chart(project), chart(project)
    box = {"left": 0, "top": 0, "width": 1, "height": 1}
    promoted = project.create_dashboard("Promoted", {"listed": True, "pages": [{"grid": {"tiles": [
        {"tileType": "INSIGHT", "insightId": shown.insight_id, "box": box}]}}]})
    private = project.create_dashboard("Private", {"pages": [{"grid": {"tiles": [
        {"tileType": "INSIGHT", "insightId": hidden.insight_id, "box": box}]}}]})
    permissions = project.get_permissions()
    permissions["permissions"] = [{"group": "executives", "readDashboards": True}]
    project.set_permissions(permissions)
    as_exec = dss.client_for("exec-key").get_project("DASH")
    assert [d.id for d in as_exec.list_dashboards()] == [promoted.dashboard_id]
    assert [i.id for i in as_exec.list_insights()] == [shown.insight_id]
    assert as_exec.get_insight(shown.insight_id).get_settings().name == "Plans"
    raises_dss(UNAUTHORIZED, as_exec.get_dashboard(private.dashboard_id).get_settings, "not promoted")
    raises_dss(UNAUTHORIZED, as_exec.get_insight(hidden.insight_id).get_settings, "no dashboard you may see")
    raises_dss(UNAUTHORIZED, as_exec.get_dataset("customers").get_settings, "Failed to read project permissions")
    raises_dss(UNAUTHORIZED, lambda: as_exec.create_dashboard("Mine"))
