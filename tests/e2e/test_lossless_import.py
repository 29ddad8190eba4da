"""Lossless import (issue 12, item 4): every setting a person chose in DSS reaches the YAML.

A project is built only through dataikuapi, with the settings the DSS UI offers (a managed CSV
dataset's separator, quoting and compression, a parquet compression, descriptions, short
descriptions, tags, schema comments and meanings, partitioning with its pattern and flags, a
custom path, a managed SQL dataset's table and creation statement, a folder's file selection, a
code recipe's code env and container). `import project` writes YAML that plans `No changes.`;
applied to a second project key (an environment with a key suffix), DSS reads back the same
settings there. What the configuration cannot express is listed by object, with the reason.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.helpers import cli_env, run_cli, unmark_project, write_config

KEY = "LOSSLESS"
COPY_ENV = """\
dss:
  api_key_env: DKU_API_KEY
project_key:
  suffix: _COPY
"""
CODE = "import dataiku\n"


def _build(client: Any) -> None:
    project = client.create_project(KEY, "Lossless", "admin")
    orders = project.new_managed_dataset("orders")
    orders.with_store_into("filesystem_managed", format_option_id="CSV_EXCEL_GZIP").create()
    settings = project.get_dataset("orders").get_settings()
    raw = settings.get_raw()
    raw["formatParams"].update(separator=";", quoteChar="'", compress="", style="unix", parseHeaderRow=True)
    raw["params"]["path"] = "${projectKey}/archive/orders"
    raw["params"]["notReadyIfEmpty"] = True
    raw.update(description="Orders, one row per line", shortDesc="orders", tags=["sales", "raw"])
    raw["schema"] = {"columns": [
        {"name": "id", "type": "bigint", "comment": "order id"},
        {"name": "country", "type": "string", "meaning": "CountryName"},
        {"name": "day", "type": "date"},
    ], "userModified": True}
    raw["partitioning"].update(
        dimensions=[{"name": "day", "type": "time", "params": {"period": "DAY"}}, {"name": "country", "type": "value", "params": {}}],
        filePathPattern="%Y/%M/%D/%{country}/.*",
        ignoreNonMatchingFile=True,
    )
    settings.save()

    project.new_managed_dataset("scores").with_store_into("filesystem_managed", format_option_id="PARQUET_HIVE").create()
    settings = project.get_dataset("scores").get_settings()
    settings.get_raw()["formatParams"]["parquetCompressionMethod"] = "GZIP"
    settings.save()

    project.new_managed_dataset("warehouse").with_store_into("postgres_dw").create()
    settings = project.get_dataset("warehouse").get_settings()
    settings.get_raw()["params"].update(table="wh_orders", tableCreationMode="custom", customCreateStatement="CREATE TABLE wh_orders (id bigint)")
    settings.save()

    folder = project.create_managed_folder("reports", connection_name="filesystem_folders")
    settings = folder.get_settings()
    raw = settings.get_raw()
    raw["params"]["filesSelectionRules"] = {"mode": "INCLUDE", "includeRules": [{"expr": "*.pdf"}], "excludeRules": [], "explicitFiles": []}
    raw.update(description="Monthly reports", tags=["reports"])
    settings.save()

    prototype = {
        "type": "python",
        "name": "compute_scores",
        "inputs": {"main": {"items": [{"ref": "orders", "deps": []}]}},
        "outputs": {"main": {"items": [{"ref": "scores", "appendMode": False}]}},
    }
    project.create_recipe(prototype, {"rawCreation": True, "rawPayload": CODE})
    settings = project.get_recipe("compute_scores").get_settings()
    settings.data["recipe"]["params"]["envSelection"] = {"envMode": "EXPLICIT_ENV", "envName": "py39_default"}
    settings.data["recipe"]["params"]["containerSelection"] = {"containerMode": "EXPLICIT_CONTAINER", "containerConf": "spark-k8s"}
    settings.data["recipe"]["description"] = "Scores the orders"
    settings.save()

    # A Spark recipe: a code recipe the configuration has no type for.
    spark = dict(prototype, type="pyspark", name="spark_scores", outputs={"main": {"items": [{"ref": "warehouse", "appendMode": False}]}})
    project.create_recipe(spark, {"rawCreation": True, "rawPayload": CODE})


def _settings(client: Any, key: str) -> dict:
    """What a person set, read back from DSS: the same in the original and in the copy."""
    project = client.get_project(key)
    datasets = {}
    for name in ("orders", "scores", "warehouse"):
        raw = copy.deepcopy(project.get_dataset(name).get_settings().get_raw())
        params = raw["params"]
        datasets[name] = {
            "formatParams": raw.get("formatParams") if name != "warehouse" else None,
            "params": {k: params.get(k) for k in ("path", "table", "notReadyIfEmpty", "tableCreationMode", "customCreateStatement")},
            "partitioning": raw["partitioning"],
            "schema": [{k: c.get(k) for k in ("name", "type", "comment", "meaning")} for c in raw["schema"]["columns"]],
            "meta": [raw.get("description"), raw.get("shortDesc"), sorted(raw.get("tags") or [])],
        }
    (folder,) = [f for f in project.list_managed_folders() if f["name"] == "reports"]
    recipe = project.get_recipe("compute_scores").get_settings()
    return {
        "datasets": datasets,
        "folder": [folder["params"]["filesSelectionRules"], folder.get("description"), folder.get("tags")],
        "recipe": [
            recipe.data["recipe"]["params"].get("envSelection"),
            recipe.data["recipe"]["params"].get("containerSelection"),
            recipe.data["recipe"].get("description"),
            recipe.get_payload(),
        ],
    }


def test_a_project_built_in_dss_imports_losslessly_and_applies_equal_elsewhere(dss: Any, tmp_path: Path) -> None:
    client = dss.client()
    _build(client)
    root = write_config(tmp_path / "cfg", {}, files={"environments/copy.yml": COPY_ENV})
    env = cli_env(dss)

    imported = run_cli(dss, root, "import", "project", KEY, "-e", "dev", "--json", env=env).json()
    assert not any(imported["plan_summary"].values()), imported["plan_summary"]
    # What the configuration cannot express is listed by object, with the reason.
    assert imported["unmanaged"] == [{
        "address": "recipe.LOSSLESS.spark_scores", "type": "recipe", "name": "spark_scores",
        "reason": "the configuration has no recipe type 'pyspark' yet",
    }]
    assert "unmanaged:" in imported["unmanaged_suggestion"] and "spark_scores" in imported["unmanaged_suggestion"]
    unmark_project(client, KEY)  # the same listing as text, in a config of its own
    text = run_cli(dss, write_config(tmp_path / "text", {}), "import", "project", KEY, "-e", "dev", env=env).stdout
    assert "not imported (not expressible in the config yet): recipe spark_scores\n" in text, text
    assert "recipe.LOSSLESS.spark_scores: the configuration has no recipe type 'pyspark' yet" in text, text

    item = {d["name"]: d for d in yaml.safe_load((root / "projects" / "lossless.yml").read_text())["datasets"]}
    orders = item["orders"]
    assert orders["format_params"] == {"separator": ";", "quoteChar": "'", "compress": "", "style": "unix", "parseHeaderRow": True}
    assert orders["path"] == "${projectKey}/archive/orders" and orders["params"] == {"notReadyIfEmpty": True}
    assert orders["short_description"] == "orders"
    assert orders["partitioning"] == {
        "dimensions": [{"name": "day", "type": "time", "period": "DAY"}, {"name": "country", "type": "value"}],
        "file_path_pattern": "%Y/%M/%D/%{country}/.*",
        "ignore_non_matching_files": True,
    }
    assert item["scores"]["format_params"] == {"parquetCompressionMethod": "GZIP"}
    assert "format_params" not in item["warehouse"] and item["warehouse"]["params"]["table"] == "wh_orders"

    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)

    run_cli(dss, root, "apply", "-e", "copy", "--auto-approve", env=env)
    assert _settings(client, f"{KEY}_COPY") == _settings(client, KEY)
    again = run_cli(dss, root, "plan", "-e", "copy", "--detailed-exitcode", env=env)
    assert again.last_line().startswith("No changes."), str(again)
