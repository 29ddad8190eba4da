"""Modules end to end (docs/modules.md), through the CLI against the emulator: a project calling a
local module plans, applies and converges; its objects carry module addresses in the state; a
resource moved into a module with a `moved:` entry keeps its DSS object and its state record
(no write to DSS), and without the entry the plan refuses instead of recreating it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import request_count, run_cli, state_dir, version_tags, write_config, writes_since

MODULE_YML = """\
module: ingest
version: 1.0.0
inputs:
  table: {type: string, pattern: "^[A-Z0-9_]+$", description: the source table}
  format: {type: string, enum: [csv, parquet], default: parquet}
outputs:
  clean_dataset: ${module.prefix}clean
resources: [resources.yml]
"""

RESOURCES_YML = """\
datasets:
  - name: raw
    type: managed
    format: ${inputs.format}
    description: raw copy of ${inputs.table}
  - name: clean
    type: managed
    format: ${inputs.format}
recipes:
  - name: sync_raw
    type: sync
    inputs: [raw]
    outputs: [clean]
"""

CALLING = """\
project:
  key: MODS
  name: Modules
modules:
  - name: orders
    source: ../modules/ingest
    inputs: {table: ORDERS}
  - name: customers
    source: ../modules/ingest
    inputs: {table: CUSTOMERS, format: csv}
datasets:
  - name: report
    type: managed
    description: reads ${module.orders.clean_dataset}
"""

FLAT = """\
project:
  key: MODS
  name: Modules
datasets:
  - name: orders_raw
    type: managed
    format: parquet
    description: raw copy of ORDERS
  - name: orders_clean
    type: managed
    format: parquet
recipes:
  - name: orders_sync_raw
    type: sync
    inputs: [orders_raw]
    outputs: [orders_clean]
"""

MOVED_IN = """\
project:
  key: MODS
  name: Modules
modules:
  - name: orders
    source: ../modules/ingest
    inputs: {table: ORDERS}
moved:
  - {from: dataset.MODS.orders_raw, to: module.orders.dataset.MODS.orders_raw}
  - {from: dataset.MODS.orders_clean, to: module.orders.dataset.MODS.orders_clean}
  - {from: recipe.MODS.orders_sync_raw, to: module.orders.recipe.MODS.orders_sync_raw}
"""


def _config(root: Path, project: str) -> Path:
    return write_config(root, {"mods.yml": project},
                        files={"modules/ingest/module.yml": MODULE_YML, "modules/ingest/resources.yml": RESOURCES_YML})


def _state_addresses(root: Path) -> set[str]:
    return set(json.loads((state_dir(root) / "state.json").read_text())["resources"])


def test_a_project_calling_a_local_module_applies_and_converges(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg", CALLING)
    run_cli(dss, root, "validate", "-e", "dev")
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json").json()
    planned = {c["address"]: c["action"] for c in plan["resource_changes"]}
    assert planned["module.orders.dataset.MODS.orders_raw"] == "create"
    assert planned["module.customers.recipe.MODS.customers_sync_raw"] == "create"
    assert planned["dataset.MODS.report"] == "create"

    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert "Apply complete!" in applied.stdout, str(applied)
    assert "module.orders.dataset.MODS.orders_raw" in _state_addresses(root)

    client = dss.client()
    project = client.get_project("MODS")
    names = {d["name"] for d in project.list_datasets()}
    assert names == {"orders_raw", "orders_clean", "customers_raw", "customers_clean", "report"}
    recipe = project.get_recipe("orders_sync_raw").get_settings()
    assert [i["ref"] for i in recipe.get_recipe_inputs()["main"]["items"]] == ["orders_raw"]
    settings = project.get_dataset("customers_raw").get_settings().get_raw()
    assert settings["formatType"] == "csv" and settings["description"] == "raw copy of CUSTOMERS"
    assert project.get_dataset("report").get_settings().get_raw()["description"] == "reads orders_clean"

    again = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert again.last_line().startswith("No changes."), str(again)
    dss.client().get_project("MODS").get_dataset("customers_clean").delete()
    targeted = run_cli(dss, root, "plan", "-e", "dev", "--target", "module.orders", "--json").json()
    assert targeted["options"]["targets"] == ["module.orders.dataset.MODS.orders_clean", "module.orders.dataset.MODS.orders_raw",
                                              "module.orders.recipe.MODS.orders_sync_raw"]
    assert {c["address"] for c in targeted["resource_changes"] if c["action"] != "no-op"} == set()
    excluded = run_cli(dss, root, "plan", "-e", "dev", "--exclude", "module.customers", "--json").json()
    assert {c["address"] for c in excluded["resource_changes"] if c["action"] != "no-op"} == set()
    recreated = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--target", "module.customers")
    assert "module.customers.dataset.MODS.customers_clean" in recreated.stdout, str(recreated)
    drift = run_cli(dss, root, "drift", "-e", "dev")
    assert drift.stdout.startswith("No drift."), str(drift)

    # pull never writes into a module (its files are shared by every call): reported instead.
    module_files = {p: p.read_text() for p in (root / "modules").rglob("*.yml")}
    raw = project.get_dataset("orders_raw").get_settings()
    raw.get_raw()["description"] = "edited in DSS"
    raw.save()
    pulled = run_cli(dss, root, "pull", "-e", "dev", expect=None)
    assert "module.orders, called at projects/mods.yml" in pulled.stdout + pulled.stderr, str(pulled)
    assert {p: p.read_text() for p in module_files} == module_files
    raw.get_raw()["description"] = "raw copy of ORDERS"
    raw.save()

    # An object a module declares is never written into the project file by import.
    project_file = (root / "projects" / "mods.yml").read_text()
    refused = run_cli(dss, root, "import", "dataset.MODS.orders_raw", "-e", "dev", expect=1)
    assert "module.orders.dataset.MODS.orders_raw" in refused.stderr, str(refused)
    assert (root / "projects" / "mods.yml").read_text() == project_file


def test_an_environment_overrides_a_module_resource_by_its_module_address(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg", CALLING)
    env = (root / "environments" / "dev.yml").read_text()
    (root / "environments" / "dev.yml").write_text(
        env + "\noverrides:\n  module.orders.dataset.MODS.orders_clean:\n    description: overridden in dev\n")
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("MODS")
    assert project.get_dataset("orders_clean").get_settings().get_raw()["description"] == "overridden in dev"
    assert project.get_dataset("customers_clean").get_settings().get_raw().get("description", "") == ""
    converged = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert converged.last_line().startswith("No changes."), str(converged)


def test_a_resource_moved_into_a_module_keeps_its_dss_object(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg", FLAT)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    client = dss.client()
    tags = version_tags(client, ["MODS"])

    # Without `moved:` entries the same DSS objects would be deleted and created again: refused.
    (root / "projects" / "mods.yml").write_text(MOVED_IN.split("moved:")[0], encoding="utf-8")
    refused = run_cli(dss, root, "plan", "-e", "dev", expect=1)
    assert "moved:" in refused.stderr + refused.stdout, str(refused)

    (root / "projects" / "mods.yml").write_text(MOVED_IN, encoding="utf-8")
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json").json()
    assert {m["from"] for m in plan["moved"]} == {"dataset.MODS.orders_raw", "dataset.MODS.orders_clean",
                                                   "recipe.MODS.orders_sync_raw"}
    assert [c for c in plan["resource_changes"] if c["action"] != "no-op"] == []
    text = run_cli(dss, root, "plan", "-e", "dev")
    assert "# dataset.MODS.orders_raw has moved to module.orders.dataset.MODS.orders_raw" in text.stdout, str(text)

    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert writes_since(dss, before) == [], "moving resources into a module wrote to DSS"
    assert version_tags(client, ["MODS"]) == tags
    addresses = _state_addresses(root)
    assert "module.orders.recipe.MODS.orders_sync_raw" in addresses and "recipe.MODS.orders_sync_raw" not in addresses, str(applied)
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed, 3 moved in the state" in applied.stdout, str(applied)

    converged = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert converged.last_line().startswith("No changes."), str(converged)


def test_a_saved_plan_made_before_a_module_changed_is_stale(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg", CALLING)
    plan_file = root / "saved.tfplan.json"
    run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    resources = root / "modules" / "ingest" / "resources.yml"
    resources.write_text(RESOURCES_YML.replace("raw copy of", "copy of"), encoding="utf-8")
    before = request_count(dss)
    refused = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "stale" in refused.stderr and "configuration changed" in refused.stderr, str(refused)
    assert writes_since(dss, before) == []


def test_a_move_alone_is_applied_from_a_saved_plan(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path / "cfg", FLAT)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "mods.yml").write_text(MOVED_IN, encoding="utf-8")
    plan_file = root / "move.tfplan.json"
    shown = run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    assert "3 to move in the state" in shown.stdout, str(shown)
    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    assert writes_since(dss, before) == []
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed, 3 moved in the state" in applied.stdout, str(applied)
    assert "module.orders.dataset.MODS.orders_clean" in _state_addresses(root)
    converged = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert converged.last_line().startswith("No changes."), str(converged)
