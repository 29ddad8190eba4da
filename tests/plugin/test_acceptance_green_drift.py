"""Acceptance (issue 12): an imported real-looking project has a green scheduled drift check; a
change made in the UI turns it red, with the change named.

Everything is done as its users do it, in one run: a data team builds the project in DSS (here
with dataikuapi, as the UI does: CSV datasets, flow zones, join, grouping and prepare recipes from
DSS's recipe creators, a Python recipe, a scenario with a custom Python step, a build step, a mail
reporter and a time trigger, and a Spark recipe the configuration cannot express); an engineer runs
`dataiku-iac import project`, writes the `unmanaged:` policy for what the team keeps out (the
Spark recipe, scratch datasets), puts the configuration into the project library where the plugin
reads it, and runs the plugin's set-up macro, which creates the scheduled drift scenario with a
mail alert. That scenario is green; someone changes the join type in the UI; it is red, and what
the user sees (the run's error, which DSS's mail reporter sends, the step log, the report in the
folder) names the recipe and the field; the mail reporter alerts on the red run only (the
emulator keeps the mails it would send: docs/emulator.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from plugin_helpers import STATE_FOLDER, STATE_PROJECT, run_macro, upload_library

from tests.e2e.helpers import run_cli, write_config

KEY = "SHOP"
OPS = STATE_PROJECT  # the team's operations project: the state folder, the library, the drift scenario
IAC_YML = f"""\
version: 1
defaults:
  dataset: {{connection: filesystem_managed}}
  managed_folder: {{connection: filesystem_folders}}
state:
  backend: managed_folder
  project_key: {OPS}
  folder: {STATE_FOLDER}
"""
CHECK_STEP = "from dataiku.scenario import Scenario\n\nScenario().set_scenario_variables(checked='yes')\n"
SCORES = "import dataiku\n\norders = dataiku.Dataset('orders_enriched').get_dataframe()\n"
SPARK = "from pyspark.sql import SparkSession\n"
DRIFT_SCENARIO = "IaC drift check (dev)"


def _csv(project: Any, name: str, separator: str = ",") -> None:
    project.new_managed_dataset(name).with_store_into("filesystem_managed", format_option_id="CSV_EXCEL_GZIP").create()
    settings = project.get_dataset(name).get_settings()
    settings.get_raw()["formatParams"]["separator"] = separator
    settings.save()


def _recipes(project: Any) -> None:
    join = project.new_recipe("join", "join_orders")
    join.with_input("orders").with_input("customers").with_existing_output("orders_enriched")
    settings = join.create().get_settings()
    settings.raw_joins.clear()
    settings.add_condition_to_join(settings.add_join("LEFT", 0, 1), "EQ", "customer", "customer")
    settings.save()

    grouping = project.new_recipe("grouping", "revenue_by_segment")
    grouping.with_input("orders_enriched").with_existing_output("revenue").with_group_key("segment")
    settings = grouping.create().get_settings()
    settings.set_column_aggregations("amount", sum=True)
    settings.save()

    prepare = project.new_recipe("prepare", "clean_customers")
    prepare.with_input("customers").with_existing_output("customers_clean")
    settings = prepare.create().get_settings()
    settings.add_processor_step("ColumnRenamer", {"renamings": [{"from": "segment", "to": "customer_segment"}]})
    settings.save()

    code = project.new_recipe("python", "compute_scores")
    code.with_input("orders_enriched").with_output("scores").with_script(SCORES)
    code.create()

    spark = {"type": "pyspark", "name": "spark_scores", "inputs": {"main": {"items": [{"ref": "scores", "deps": []}]}},
             "outputs": {"main": {"items": [{"ref": "scores_spark", "appendMode": False}]}}}
    project.create_recipe(spark, {"rawCreation": True, "rawPayload": SPARK})


def _zones(project: Any) -> None:
    flow = project.get_flow()
    ingestion = flow.create_zone("ingestion", color="#31439c")
    reporting = flow.create_zone("reporting")
    for name in ("orders", "customers"):
        project.get_dataset(name).move_to_zone(ingestion)
    project.get_recipe("revenue_by_segment").move_to_zone(reporting)


def _scenario(project: Any) -> None:
    scenario = project.create_scenario("Nightly refresh", "step_based", definition={"id": "NIGHTLY"})
    settings = scenario.get_settings()
    settings.raw_steps.extend([
        {"type": "build_flowitem", "name": "Build revenue", "params": {
            "builds": [{"type": "DATASET", "itemId": "revenue", "partitionsSpec": ""}], "jobType": "RECURSIVE_BUILD"}},
        {"type": "custom_python", "name": "Check the totals", "params": {"script": CHECK_STEP, "envSelection": {"envMode": "INHERIT"}}},
    ])
    settings.add_daily_trigger(hour=3, minute=30)
    settings.raw_reporters.append({
        "name": "Mail the team", "active": True, "phase": "END", "runConditionEnabled": True,
        "runCondition": "outcome != 'SUCCESS'",
        "messaging": {"type": "mail-scenario", "configuration": {
            "channelId": "smtp_main", "recipient": "data-team@example.com",
            "subject": "DSS scenario ${scenarioName}: ${outcome}", "messageSource": "INLINE", "sendAsHTML": False}}})
    settings.active = True
    settings.save()


def _build_in_dss(client: Any) -> None:
    """The project as a data team builds it in the DSS UI."""
    project = client.create_project(KEY, "Shop analytics", "admin")
    _csv(project, "orders", separator=";")
    for name in ("customers", "orders_enriched", "revenue", "customers_clean", "scores", "scores_spark"):
        _csv(project, name)
    _recipes(project)
    _zones(project)
    _scenario(project)


def _ops_project(client: Any) -> None:
    project = client.create_project(OPS, "IaC operations", "admin")
    project.create_managed_folder(STATE_FOLDER)
    project.create_managed_folder("iac_reports")


def _import(dss: Any, root: Path) -> Path:
    """`dataiku-iac import project`, then the policy the team writes for what it keeps out."""
    result = run_cli(dss, root, "import", "project", KEY, "-e", "dev")
    assert "Check: plan after import -> No changes." in result.stdout, str(result)
    assert "recipe.SHOP.spark_scores" in result.stdout, "the import lists what it cannot express"
    project_file = root / "projects" / f"{KEY.lower()}.yml"
    document = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    assert {z["name"] for z in document["flow_zones"]} == {"ingestion", "reporting"}
    assert {r["name"]: r["type"] for r in document["recipes"]} == {
        "join_orders": "join", "revenue_by_segment": "grouping", "clean_customers": "prepare", "compute_scores": "python"}
    [orders] = [d for d in document["datasets"] if d["name"] == "orders"]
    assert orders["format_params"]["separator"] == ";" and orders["zone"] == "ingestion"
    [nightly] = document["scenarios"]
    assert [s["type"] for s in nightly["steps"]] == ["build", "python"] and nightly["reporters"][0]["type"] == "mail"
    with project_file.open("a", encoding="utf-8") as fh:
        fh.write("unmanaged:\n  policy: fail\n  ignore:\n    datasets: ['scratch_*']\n    recipes: [spark_scores]\n")
    return project_file


def _to_library(client: Any, root: Path) -> None:
    """The configuration goes where the plugin reads it: the OPS project's library, folder iac."""
    files = {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}
    upload_library(client, OPS, "iac", files)


def _drift_scenario(client: Any) -> Any:
    params = {"source_kind": "library", "library_path": "iac", "environment": "dev", "policy": "fail",
              "report_folder": "iac_reports", "frequency": "Daily", "hour": 6,
              "mail_recipients": "ops@example.com", "mail_channel": "smtp_main"}
    run_macro(client, OPS, "setup-drift-check", params)
    project = client.get_project(OPS)
    [item] = [s for s in project.list_scenarios() if s["name"] == DRIFT_SCENARIO]
    return project.get_scenario(item["id"])


def _latest_report(client: Any) -> dict:
    project = client.get_project(OPS)
    folder = project.get_managed_folder(next(f["id"] for f in project.list_managed_folders() if f["name"] == "iac_reports"))
    return json.loads(folder.get_file("/drift/dev/latest.json").content)


def test_an_imported_project_has_a_green_drift_check_that_a_ui_change_turns_red(dss: Any, tmp_path: Path) -> None:
    client = dss.client()
    _build_in_dss(client)
    _ops_project(client)
    root = write_config(tmp_path / "cfg", {}, iac=IAC_YML)
    _import(dss, root)
    client.get_project(KEY).new_managed_dataset("scratch_margins").with_store_into("filesystem_managed").create()
    _to_library(client, root)

    scenario = _drift_scenario(client)
    settings = scenario.get_settings()
    assert settings.raw_triggers[0]["type"] == "temporal" and settings.active
    [mail] = settings.raw_reporters
    assert mail["messaging"]["type"] == "mail-scenario" and mail["runCondition"] == "outcome != 'SUCCESS'"

    dss.admin.clear_messages()
    green = scenario.run_and_wait(no_fail=True)
    assert green.outcome == "SUCCESS", green.get_details()["stepRuns"][-1]["result"]
    assert dss.admin.messages() == [], "a green check sends no alert"
    report = _latest_report(client)
    assert report["drift"] is False and report["summary"]["unmanaged"] == 0, report
    assert report["ignored_unmanaged"] == ["dataset.SHOP.scratch_margins", "recipe.SHOP.spark_scores"]
    log = green.get_log("iac_check_drift")  # the step's log, as DSS shows it in the run
    assert "No drift. DSS matches the recorded state" in log and "2 unmanaged objects ignored by policy" in log, log

    # Someone changes the join type in the UI.
    join = client.get_project(KEY).get_recipe("join_orders").get_settings()
    join.raw_joins[0]["type"] = "INNER"
    join.save()

    red = scenario.run_and_wait(no_fail=True)
    assert red.outcome == "FAILED"
    [alert] = dss.admin.messages()  # the mail the set-up macro's reporter sends
    assert (alert["type"], alert["channelId"], alert["recipients"]) == ("mail-scenario", "smtp_main", ["ops@example.com"])
    assert alert["subject"] == f"DSS scenario {DRIFT_SCENARIO}: FAILED" and alert["runId"] == red.id
    step = red.get_details()["stepRuns"][-1]
    message = step["result"]["thrown"]["message"]
    assert "drift in environment dev: 1 changed, 0 deleted, 0 unmanaged" in message, message
    assert "(recipe.SHOP.join_orders [joins])" in message, message
    log = red.get_log(step["stepId"])
    assert "~ recipe.SHOP.join_orders changed outside dataiku-iac" in log, log
    assert "~ joins, applied -> in DSS:" in log and '~ joins[left="orders"].type = "left" -> "inner"' in log, log
    report = _latest_report(client)
    [drifted] = report["resources"]
    assert drifted["address"] == "recipe.SHOP.join_orders" and [f["name"] for f in drifted["fields"]] == ["joins"], drifted
    [joins] = drifted["fields"]
    assert joins["recorded"][0]["type"] == "left" and joins["live"][0]["type"] == "inner", joins

    # And someone edits the code of the scenario's custom Python step in the UI.
    nightly = client.get_project(KEY).get_scenario("NIGHTLY").get_settings()
    nightly.raw_steps[1]["params"]["script"] = CHECK_STEP.replace("'yes'", "'no'")
    nightly.save()
    again = scenario.run_and_wait(no_fail=True)
    message = again.get_details()["stepRuns"][-1]["result"]["thrown"]["message"]
    assert "2 changed, 0 deleted, 0 unmanaged (recipe.SHOP.join_orders [joins], scenario.SHOP.NIGHTLY [steps])" in message, message
    assert "checked='no'" in again.get_log("iac_check_drift")
