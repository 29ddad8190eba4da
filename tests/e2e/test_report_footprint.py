"""`dataiku-iac report footprint` against the emulator (issue 15 §6): per project its data
directories (an administrator's API), its datasets' last metrics and builds, its recipes' last runs,
its scenarios, and the recommendations; read-only (no write to DSS); markdown and JSON."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tests.e2e.helpers import request_count, run_cli, write_config, writes_since

KEY = "FOOT"
PROJECT = f"""\
project:
  key: {KEY}
  name: Footprint
managed_folders:
  - name: exports
datasets:
  - name: raw
    type: managed
    format: csv
    schema:
      columns:
        - {{name: id, type: bigint}}
  - name: clean
    type: managed
    format: csv
    schema:
      columns:
        - {{name: id, type: bigint}}
  - name: orphan
    type: managed
recipes:
  - name: cleaning
    type: python
    inputs: [raw]
    outputs: [clean]
    code: "print('clean')\\n"
  - name: copy_clean
    type: python
    inputs: [clean]
    outputs: [exports]
    code: "print('copy')\\n"
scenarios:
  - id: NIGHTLY
    name: Nightly
    active: false
    steps:
      - {{type: build, datasets: [clean]}}
"""


def _applied(dss: Any, tmp_path: Path) -> Path:
    root = write_config(tmp_path / "cfg", {"foot.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(KEY)
    project.get_dataset("clean").build()  # runs recipe cleaning, not copy_clean
    project.get_dataset("raw").compute_metrics(probes=[{"type": "basic", "enabled": True}, {"type": "records", "enabled": True}])
    folder = project.get_managed_folder(project.list_managed_folders()[0]["id"])
    folder.put_file("report.csv", io.BytesIO(b"a,b\n" * 500))
    return root


def test_the_footprint_report_in_json(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    before = request_count(dss)
    body = run_cli(dss, root, "report", "footprint", "-e", "dev", "--format", "json").json()
    assert writes_since(dss, before) == [], "the report wrote to DSS"
    assert body["cost"] is None
    (project,) = body["projects"]
    assert project["project_key"] == KEY and project["exists"] is True
    assert project["storage"]["size_bytes"] == 2000 and project["storage"]["files"] == 1
    datasets = {d["name"]: d for d in project["datasets"]}
    assert datasets["clean"]["read_by"] == ["copy_clean"] and datasets["orphan"]["read_by"] == []
    assert datasets["clean"]["last_build"]["state"] == "DONE"
    assert datasets["clean"]["last_build"]["duration_seconds"] >= 0
    assert datasets["raw"]["records"] == 0 and datasets["orphan"]["size_bytes"] is None
    recipes = {r["name"]: r for r in project["recipes"]}
    assert recipes["cleaning"]["last_run"] is not None and recipes["copy_clean"]["last_run"] is None
    assert recipes["cleaning"]["type"] == "python"
    kinds = sorted((r["kind"], r["address"]) for r in body["recommendations"])
    assert kinds == [
        ("dataset_unread", f"dataset.{KEY}.orphan"),
        ("recipe_never_run", f"recipe.{KEY}.copy_clean"),
        ("scenario_disabled", f"scenario.{KEY}.NIGHTLY"),
    ]


def test_the_footprint_report_in_markdown_says_there_is_no_price(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    text = run_cli(dss, root, "report", "footprint", "-e", "dev").stdout
    assert text.startswith("# Footprint of environment `dev`")
    assert f"## Project `{KEY}`" in text and "Data directories: **2.00 KB** in 1 file" in text
    assert "| orphan | not computed | not computed | nothing |" in text
    assert f"- `recipe.{KEY}.copy_clean`: no job DSS lists built the outputs" in text
    assert "Cost in money is not computed" in text


def test_without_an_administrators_key_the_storage_is_unknown(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    dss.admin.seed(users=[{"login": "viewer", "groups": []}], api_keys=[{"key": "viewer-key", "login": "viewer"}])
    project = dss.client().get_project(KEY)
    permissions = project.get_permissions()
    permissions["permissions"] = [{"user": "viewer", "readProjectContent": True}]
    project.set_permissions(permissions)
    from tests.support.cli import cli_env

    body = run_cli(dss, root, "report", "footprint", "-e", "dev", "--format", "json",
                   env=cli_env(dss, DKU_API_KEY="viewer-key")).json()
    (found,) = body["projects"]
    assert found["storage"] is None and "not available to this API key" in found["storage_note"]
    assert {d["name"] for d in found["datasets"]} == {"raw", "clean", "orphan"}


def test_a_project_not_applied_yet_is_said_so(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"foot.yml": PROJECT})
    body = run_cli(dss, root, "report", "footprint", "-e", "dev", "--format", "json").json()
    assert body["projects"] == [{**body["projects"][0], "exists": False}]
    assert "Not in DSS (not applied yet)." in run_cli(dss, root, "report", "footprint", "-e", "dev").stdout


def test_every_recipe_of_the_sales_example_has_its_type(dss: Any, tmp_path: Path) -> None:
    import shutil

    from tests.e2e.helpers import EXAMPLES, cli_env
    from tests.support.cli import example_secrets

    root = tmp_path / "sales"
    shutil.copytree(EXAMPLES / "sales-pipeline", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    env = cli_env(dss, **example_secrets(root))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    body = run_cli(dss, root, "report", "footprint", "-e", "dev", "--format", "json", env=env).json()
    types = {r["name"]: r["type"] for p in body["projects"] for r in p["recipes"]}
    assert types and all(types.values()), types
    assert {"python", "sql_query"} <= set(types.values()), types
