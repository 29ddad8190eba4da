"""The standard library's modules applied to the emulator through examples/modules (std/ingest_sql,
std/medallion, std/build_and_check): what DSS holds afterwards, and iac.lock.yml verified by
validate and plan (a missing entry, a changed content hash, then `modules update`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.e2e.helpers import EXAMPLES, cli_env, run_cli

KEY = "SHOP_DEV"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "modules"
    shutil.copytree(EXAMPLES / "modules", root, ignore=shutil.ignore_patterns(".dataiku-iac"))
    return root


def test_the_std_modules_make_their_flow_in_dss(dss: Any, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    env = cli_env(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "module.orders.dataset.SHOP.orders_copy" in applied.stdout, str(applied)
    project = dss.client().get_project(KEY)
    datasets = {d["name"]: d for d in project.list_datasets()}
    assert sorted(datasets) == ["orders_copy", "orders_source", "sales_bronze", "sales_gold", "sales_silver"]
    source = datasets["orders_source"]
    assert source["params"]["table"] == "orders" and source["params"]["schema"] == "public"
    assert source["params"]["connection"] == "postgres_dw"
    assert {n: d["formatType"] for n, d in datasets.items() if n != "orders_source"} == dict.fromkeys(
        ["orders_copy", "sales_bronze", "sales_gold", "sales_silver"], "parquet")

    recipes = {r["name"]: r for r in project.list_recipes()}
    assert {n: r["type"] for n, r in recipes.items()} == {
        "orders_sync": "sync", "sales_to_bronze": "sync", "sales_to_silver": "distinct", "sales_to_gold": "grouping"}
    bronze_inputs = project.get_recipe("sales_to_bronze").get_settings().get_recipe_inputs()
    assert [i["ref"] for i in bronze_inputs["main"]["items"]] == ["orders_copy"]  # the other module's output

    ingest = project.get_scenario("orders_ingest").get_settings().get_raw()
    assert ingest["name"] == "orders_ingest" and ingest["active"] is True
    assert [t["type"] for t in ingest["triggers"]] == ["temporal"]
    assert [s["type"] for s in ingest["params"]["steps"]] == ["build_flowitem"]
    nightly = project.get_scenario("nightly_build_and_check").get_settings().get_raw()
    assert [s["type"] for s in nightly["params"]["steps"]] == ["build_flowitem", "check_dataset", "compute_metrics"]
    built = nightly["params"]["steps"][0]["params"]["builds"]
    assert [b["itemId"] for b in built] == ["sales_gold"]

    zones = {z.name: z for z in project.get_flow().list_zones()}
    assert {"sales_bronze", "sales_silver", "sales_gold"} <= set(zones)
    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)


def test_validate_and_plan_check_the_lock(dss: Any, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    env = cli_env(dss)
    lock_text = (root / "iac.lock.yml").read_text()
    (root / "iac.lock.yml").unlink()
    missing = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env, expect=1)
    assert ("projects/shop.yml:9:13: error: modules[0].source: module 'std/ingest_sql' (version \"~> 1.0\") "
            "is not in iac.lock.yml (run `dataiku-iac modules get`") in missing.stderr
    assert "3 problems" in missing.stderr

    lock = yaml.safe_load(lock_text)
    medallion = next(m for m in lock["modules"] if m["source"] == "std/medallion")
    medallion["content_hash"] = "h1:" + "A" * 43 + "="
    (root / "iac.lock.yml").write_text(yaml.safe_dump(lock, sort_keys=False))
    changed = run_cli(dss, root, "plan", "-e", "dev", env=env, expect=1)
    assert "projects/shop.yml:19:13: error: modules[1].source: module 'std/medallion' changed" in changed.stderr
    assert "run `dataiku-iac modules update sales`" in changed.stderr
    updated = run_cli(dss, root, "modules", "update", "sales", env=env)
    assert "~ updated std/medallion" in updated.stdout
    assert (root / "iac.lock.yml").read_text() == lock_text
    run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env)


def test_a_lock_entry_no_call_uses_is_a_warning(dss: Any, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    env = cli_env(dss)
    project = (root / "projects" / "shop.yml").read_text()
    (root / "projects" / "shop.yml").write_text(project.split("  # scenario nightly_build_and_check")[0])
    result = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env)
    assert ("iac.lock.yml:3: warning: declarations_hash: iac.lock.yml was written for other module calls "
            "(std/build_and_check (~> 1.0) no longer called) (run `dataiku-iac modules get` to tidy the lock file)"
            ) in result.stderr
    tidy = run_cli(dss, root, "modules", "get", env=env)
    assert "- dropped std/build_and_check" in tidy.stdout
    assert "warning" not in run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env).stderr


def test_a_broken_lock_file_is_reported_once_at_its_line(dss: Any, tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "iac.lock.yml").write_text("version: 1\nmodules: {}\n")
    result = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1)
    lines = [line for line in result.stderr.splitlines() if "iac.lock.yml" in line]
    assert lines == ["iac.lock.yml:2:10: error: modules: 'modules' must be a list (the lock file is written by "
                     "`dataiku-iac modules get`; remove it and run that command again)"], result.stderr
