"""Insights and dashboards (resources/insight.py, resources/dashboard.py), run as a user does (the CLI
in a subprocess) against the emulator: validate errors at file:line, plan/apply/no changes, drift (a
tile moved in DSS), import back to `No changes.`, and promotion to an environment that remaps the
datasets' connection (insights name datasets, never connections).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "DB"
PROJECT = f"""\
project:
  key: {KEY}
  name: Dashboards
  permissions:
    - {{group: readers, role: dashboard_reader}}
  dashboard_authorizations:
    datasets: [customers]

datasets:
  - name: customers
    type: managed
    connection: filesystem_managed

insights:
  - name: spend_by_plan
    type: chart
    dataset: customers
    chart:
      type: bar
      dimensions: [plan]
      measures:
        - {{column: spend, aggregation: avg}}
        - {{aggregation: count}}
      filters:
        - {{column: plan, exclude: [bronze]}}
  - name: row_count
    type: metric
    dataset: customers
    metric: "records:COUNT_RECORDS"
    listed: true

dashboards:
  - name: overview
    listed: true
    description: What customers spend
    pages:
      - title: Spend
        tiles:
          - {{text: "# Customers", x: 0, y: 0, width: 12, height: 1}}
          - {{insight: spend_by_plan, x: 0, y: 1, width: 6, height: 4}}
          - {{insight: row_count, x: 6, y: 1, width: 3, height: 2}}
"""
PROD_ENV = "dss:\n  api_key_env: DKU_API_KEY\nproject_key:\n  suffix: _PROD\nconnections: {filesystem_managed: fs_dashboards_prod}\n"


def no_changes(dss: Any, root: Path, env: str = "dev") -> bool:
    return run_cli(root, "plan", "-e", env, "--detailed-exitcode", env=cli_env(dss)).last_line().startswith("No changes.")


def configured_dashboards(project: Any) -> list[Any]:
    """The project's dashboards but the default one DSS makes with every project."""
    return [d for d in project.list_dashboards() if not d.name.endswith("'s default dashboard")]


def dashboard_doc(dss: Any, key: str = KEY) -> dict[str, Any]:
    project = dss.client().get_project(key)
    [item] = configured_dashboards(project)
    return project.get_dashboard(item.id).get_settings().get_raw()


def test_validate_reports_an_unknown_insight_and_dataset_at_their_lines(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("insight: row_count", "insight: row_cont").replace(
        "    type: metric\n    dataset: customers\n", "    type: metric\n    dataset: custmers\n")
    root = write_config(tmp_path / "cfg", {"db.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/db\.yml:28:\d+\b.*unknown dataset 'custmers'.*did you mean 'customers'", out), out
    assert re.search(r"projects/db\.yml:41:\d+\b.*tile \d+( of page \d+)? names an unknown insight 'row_cont'.*did you mean 'row_count'", out), out
    wrong = PROJECT.replace("    metric: \"records:COUNT_RECORDS\"\n", "    metric: \"records:COUNT_RECORDS\"\n    saved_model: m\n")
    out = run_cli(write_config(tmp_path / "wrong", {"db.yml": wrong}), "validate", "-e", "dev", "--offline",
                  env=cli_env(dss), expect=1).output
    assert re.search(r"projects/db\.yml:\d+:\d+\b.*'saved_model' is not a setting of a 'metric' insight", out), out
    run_cli(write_config(tmp_path / "good", {"db.yml": PROJECT}), "validate", "-e", "dev", "--offline", env=cli_env(dss))


def test_plan_apply_drift_and_import(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"db.yml": PROJECT})
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "insight.DB.spend_by_plan" in plan and "dashboard.DB.overview" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    project = dss.client().get_project(KEY)
    insights = {i.name: i for i in project.list_insights()}
    chart = project.get_insight(insights["spend_by_plan"].id).get_settings().get_raw()["params"]
    assert chart["datasetSmartName"] == "customers" and chart["def"]["type"] == "grouped_columns"
    assert [(m["column"], m["function"]) for m in chart["def"]["genericMeasures"]] == [("spend", "AVG"), (None, "COUNT")]
    assert chart["def"]["filters"][0]["excludedValues"] == {"bronze": True}
    doc = dashboard_doc(dss)
    assert doc["listed"] is True and doc["description"] == "What customers spend"
    tiles = doc["pages"][0]["grid"]["tiles"]
    assert [t.get("insightId") for t in tiles] == [None, insights["spend_by_plan"].id, insights["row_count"].id]
    assert tiles[1]["box"] == {"left": 0, "top": 1, "width": 6, "height": 4} and tiles[2]["insightType"] == "metrics"
    # Dashboard-only readers: the readDashboards flag alone, and the dataset they may see through the insights.
    permissions = project.get_permissions()
    [row] = [r for r in permissions["permissions"] if r.get("group") == "readers"]
    assert row["readDashboards"] and not row["readProjectContent"], row
    assert permissions["dashboardAuthorizations"]["authorizations"] == [
        {"objectRef": {"objectId": "customers", "objectType": "DATASET"}, "modes": ["READ"]}]
    assert no_changes(dss, root)

    # Drift: a tile moved in DSS; the plan puts it back.
    dashboard = project.get_dashboard(doc["id"])
    settings = dashboard.get_settings()
    settings.get_raw()["pages"][0]["grid"]["tiles"][1]["box"]["left"] = 3
    settings.save()
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "dashboard.DB.overview" in drift, drift
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "dashboard.DB.overview" in plan and "pages" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert dashboard_doc(dss)["pages"][0]["grid"]["tiles"][1]["box"]["left"] == 0
    assert no_changes(dss, root)

    # An insight replaced (its type changes: DSS cannot change it in place) gets a new id: the
    # dashboard showing it is updated in the same apply, so the next plan has nothing to do. The
    # tile's display settings set in DSS (its title) stay: the tile shows the same insight.
    settings = dashboard.get_settings()
    settings.get_raw()["pages"][0]["grid"]["tiles"][2].update(title="Rows counted", showTitle="YES")
    settings.save()
    assert no_changes(dss, root)  # display settings are DSS's
    replaced = PROJECT.replace('    type: metric\n    dataset: customers\n    metric: "records:COUNT_RECORDS"\n',
                               '    type: dataset_table\n    params: {datasetSmartName: customers}\n')
    (root / "projects" / "db.yml").write_text(replaced, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", env=cli_env(dss)).stdout
    assert re.search(r"dashboard\.DB\.overview.*\n.*names by id what the plan replaces: insight\.DB\.row_count", plan), plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    table = next(i.id for i in project.list_insights() if i.name == "row_count")
    assert table != insights["row_count"].id
    tile = dashboard_doc(dss)["pages"][0]["grid"]["tiles"][2]
    assert tile["insightId"] == table and (tile.get("title"), tile.get("showTitle")) == ("Rows counted", "YES"), tile
    assert tile.get("insightType") != "metrics", tile  # the old insight's type is not kept
    assert no_changes(dss, root)
    (root / "projects" / "db.yml").write_text(PROJECT, encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert no_changes(dss, root)

    # Import into an empty configuration (this state gone for good: the project's marker removed as
    # the import's message says): the same items, and no changes.
    metadata = project.get_metadata()
    del metadata["custom"]["kv"]["dataiku-iac.lineage"]
    project.set_metadata(metadata)
    imported = write_config(tmp_path / "imported", {})
    out = run_cli(imported, "import", "project", KEY, "-e", "dev", env=cli_env(dss)).output
    assert "Check: plan after import -> No changes." in out, out
    written = yaml.safe_load((imported / "projects" / "db.yml").read_text(encoding="utf-8"))
    declared = yaml.safe_load(PROJECT)
    assert written["dashboards"] == declared["dashboards"], written["dashboards"]
    assert written["project"]["dashboard_authorizations"] == {"datasets": ["customers"]}, written["project"]
    assert {"group": "readers", "role": "dashboard_reader"} in written["project"]["permissions"], written["project"]
    by_name = {i["name"]: i for i in written["insights"]}
    assert by_name["spend_by_plan"]["chart"] == declared["insights"][0]["chart"], by_name
    assert by_name["row_count"] == declared["insights"][1], by_name

    # A removed dashboard goes (now managed by the imported configuration); its insights stay.
    del written["dashboards"]
    (imported / "projects" / "db.yml").write_text(yaml.safe_dump(written, sort_keys=False), encoding="utf-8")
    run_cli(imported, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert configured_dashboards(project) == [] and len(project.list_insights()) == 2
    assert no_changes(dss, imported)


def test_promotion_to_an_environment_with_another_connection(dss: Any, tmp_path: Path) -> None:
    config = PROJECT.replace(f"key: {KEY}", "key: DP")
    root = write_config(tmp_path / "cfg", {"dp.yml": config}, files={"environments/prod.yml": PROD_ENV})
    if "fs_dashboards_prod" not in dss.client().list_connections():  # prod's own filesystem connection
        dss.client().create_connection("fs_dashboards_prod", "Filesystem", params={"root": "/data/prod"})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    run_cli(root, "apply", "-e", "prod", "--auto-approve", env=cli_env(dss))
    prod = dss.client().get_project("DP_PROD")
    assert prod.get_dataset("customers").get_settings().get_raw()["params"]["connection"] == "fs_dashboards_prod"
    insights = {i.name: i.id for i in prod.list_insights()}
    chart = prod.get_insight(insights["spend_by_plan"]).get_settings().get_raw()["params"]
    assert chart["datasetSmartName"] == "customers"
    tiles = dashboard_doc(dss, "DP_PROD")["pages"][0]["grid"]["tiles"]
    assert [t.get("insightId") for t in tiles[1:]] == [insights["spend_by_plan"], insights["row_count"]]
    assert no_changes(dss, root, "prod") and no_changes(dss, root, "dev")


FREE_TEXT_NAMES = """\
project:
  key: FT
  name: Churn

datasets:
  - name: sales
    type: managed
    connection: filesystem_managed

insights:
  - name: Sales by region (bar)
    type: chart
    dataset: sales
    chart:
      type: bar
      dimensions: [region]
      measures: [{aggregation: count}]

dashboards:
  - name: Churn overview
    listed: true
    pages:
      - tiles:
          - {insight: Sales by region (bar), x: 0, y: 0, width: 6, height: 4}
"""


def test_free_text_names_validate_apply_address_and_import(dss: Any, tmp_path: Path) -> None:
    """DSS names dashboards and insights in free text ("Churn overview"): the configuration writes
    them as DSS does, addresses name them with their blanks, and an import writes them back."""
    root = write_config(tmp_path / "cfg", {"ft.yml": FREE_TEXT_NAMES})
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    project = dss.client().get_project("FT")
    [insight] = [i for i in project.list_insights() if i.name == "Sales by region (bar)"]
    [dashboard] = [d for d in project.list_dashboards() if d.name == "Churn overview"]
    tiles = project.get_dashboard(dashboard.id).get_settings().get_raw()["pages"][0]["grid"]["tiles"]
    assert [t["insightId"] for t in tiles] == [insight.id]
    shown = run_cli(root, "state", "show", "dashboard.FT.Churn overview", "-e", "dev", env=cli_env(dss)).stdout
    assert dashboard.id in shown, shown
    assert no_changes(dss, root)

    metadata = project.get_metadata()
    del metadata["custom"]["kv"]["dataiku-iac.lineage"]
    project.set_metadata(metadata)
    imported = write_config(tmp_path / "imported", {})
    out = run_cli(imported, "import", "project", "FT", "-e", "dev", env=cli_env(dss)).output
    assert "Check: plan after import -> No changes." in out, out
    written = yaml.safe_load((imported / "projects" / "ft.yml").read_text(encoding="utf-8"))
    declared = yaml.safe_load(FREE_TEXT_NAMES)
    assert written["dashboards"] == declared["dashboards"], written  # not DSS's untouched default one
    assert [i["name"] for i in written["insights"]] == ["Sales by region (bar)"], written
    assert no_changes(dss, imported)


def test_the_default_dashboard_dss_makes_is_left_to_dss_until_a_user_edits_it(dss: Any, tmp_path: Path) -> None:
    """DSS makes "<project name>'s default dashboard" with every project: as DSS made it (one empty
    page) it is DSS's own, neither drift nor imported; with a tile a user put on it, an ordinary
    dashboard (unmanaged, never deleted; imported)."""
    root = write_config(tmp_path / "cfg", {"ft.yml": FREE_TEXT_NAMES})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    project = dss.client().get_project("FT")
    [default] = [d for d in project.list_dashboards() if d.name == "Churn's default dashboard"]
    run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=0)
    declaring = FREE_TEXT_NAMES + "  - name: Churn's default dashboard\n    listed: true\n"
    out = run_cli(write_config(tmp_path / "declaring", {"ft.yml": declaring}), "validate", "-e", "dev", "--offline",
                  env=cli_env(dss), expect=1).output
    assert re.search(r"projects/ft\.yml:\d+:\d+\b.*what DSS makes with every project", out), out

    settings = project.get_dashboard(default.id).get_settings()
    settings.get_raw()["pages"][0]["grid"]["tiles"] = [
        {"tileType": "TEXT", "tileParams": {"text": "Hello"}, "box": {"left": 0, "top": 0, "width": 2, "height": 1}}]
    settings.save()
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "dashboard.FT.Churn's default dashboard" in drift, drift
    assert no_changes(dss, root)  # unmanaged: never deleted
    metadata = project.get_metadata()
    del metadata["custom"]["kv"]["dataiku-iac.lineage"]
    project.set_metadata(metadata)
    imported = write_config(tmp_path / "imported", {})
    out = run_cli(imported, "import", "project", "FT", "-e", "dev", env=cli_env(dss)).output
    assert "Check: plan after import -> No changes." in out, out
    written = yaml.safe_load((imported / "projects" / "ft.yml").read_text(encoding="utf-8"))
    assert {"name": "Churn's default dashboard", "listed": True,
            "pages": [{"tiles": [{"text": "Hello", "x": 0, "y": 0, "width": 2, "height": 1}]}]} in written["dashboards"]


def test_validate_a_tile_with_both_or_neither_content(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace('{text: "# Customers", x: 0', '{text: "# Customers", insight: row_count, x: 0').replace(
        "{insight: row_count, x: 6", "{x: 6")
    root = write_config(tmp_path / "cfg", {"db.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/db\.yml:39:\d+\b.*a tile has exactly one of insight: or text:", out), out
    assert re.search(r"projects/db\.yml:41:\d+\b.*a tile has exactly one of insight: or text:", out), out
    assert "allowed shapes" not in out, out


def test_validate_refuses_tiles_past_the_grid_or_over_each_other(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("{insight: row_count, x: 6, y: 1, width: 3", "{insight: row_count, x: 5, y: 1, width: 3").replace(
        '{text: "# Customers", x: 0, y: 0, width: 12', '{text: "# Customers", x: 4, y: 0, width: 12')
    root = write_config(tmp_path / "cfg", {"db.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/db\.yml:39:\d+\b.*ends at column 16 .*grid of 12 columns", out), out
    assert re.search(r"projects/db\.yml:41:\d+\b.*overlaps tiles\[1\] \(insight 'spend_by_plan'\)", out), out
    # DSS 13's dashboards are 36 columns wide: declared, the same tiles fit
    wide = bad.replace("    listed: true\n    description: What", "    listed: true\n    columns: 36\n    description: What")
    wide = wide.replace("{insight: row_count, x: 5,", "{insight: row_count, x: 6,")
    root = write_config(tmp_path / "wide", {"db.yml": wide})
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))


def test_validate_checks_a_charts_columns_against_the_declared_schema(dss: Any, tmp_path: Path) -> None:
    declared = PROJECT.replace("    connection: filesystem_managed\n", "    connection: filesystem_managed\n    schema:\n"
                               "      columns:\n        - {name: plan, type: string}\n        - {name: spend, type: double}\n"
                               "        - {name: region, type: string}\n")
    bad = declared.replace("dimensions: [plan]", "dimensions: [regoin]").replace("{column: spend, aggregation", "{column: spnd, aggregation")
    lines = bad.splitlines()

    def line_of(text: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if text in line)

    root = write_config(tmp_path / "cfg", {"db.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(rf"projects/db\.yml:{line_of('[regoin]')}:\d+\b.*column 'regoin' is not in the schema of dataset "
                     r"'customers'.*did you mean 'region'", out), out
    assert re.search(rf"projects/db\.yml:{line_of('spnd')}:\d+\b.*column 'spnd' is not in the schema.*did you mean 'spend'", out), out
    run_cli(write_config(tmp_path / "good", {"db.yml": declared}), "validate", "-e", "dev", "--offline", env=cli_env(dss))
