"""Promotion of examples/sales-pipeline dev -> staging -> prod across three DSS emulators that
name their connections and code envs differently: the same projects/ files, no manual
remapping, each environment converges (`No changes.`), and every object uses its own DSS's
names (read back with dataikuapi). A wrong remapping is refused before any DSS write."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.promotion.helpers import run_cli, writes

# On one xdist worker: one set of dev/staging/prod emulators for the module.
pytestmark = pytest.mark.xdist_group("test_promotion")

PROJECT_KEYS = {"dev": "SALES_DEV", "staging": "SALES", "prod": "SALES"}


def _apply(node, root: Path) -> None:
    env = node.env
    run_cli(root, "validate", "-e", env, env=node.cli_env())
    if env == "prod":  # require_saved_plan: only a reviewed plan file is applied
        run_cli(root, "plan", "-e", env, "--out", "prod.plan", env=node.cli_env())
        run_cli(root, "apply", "-e", env, "prod.plan", env=node.cli_env())
    else:
        run_cli(root, "apply", "-e", env, "--auto-approve", env=node.cli_env())
    plan = run_cli(root, "plan", "-e", env, "--detailed-exitcode", env=node.cli_env())
    assert plan.last_line() == "No changes.", str(plan)


def _check_names(node) -> None:
    """Every object of the project uses this DSS's connection and code-env names."""
    names = node.names
    project = node.client().get_project(PROJECT_KEYS[node.env])
    datasets = {d["name"]: d for d in project.list_datasets()}
    assert datasets["orders_clean"]["params"]["connection"] == names["managed"]
    assert datasets["sales_export"]["params"]["connection"] == names["managed"]
    assert datasets["orders_raw"]["params"]["connection"] == names["sql"]
    assert datasets["sales_by_customer"]["params"]["connection"] == names["sql"]
    folders = project.list_managed_folders()
    assert [f["name"] for f in folders] == ["reports"]
    assert project.get_managed_folder(folders[0]["id"]).get_settings().get_raw()["params"]["connection"] == names["folders"]
    env_selection = project.get_settings().get_raw()["settings"]["codeEnvs"]["python"]
    assert env_selection.get("envName") == names["python"] and env_selection.get("mode") == "EXPLICIT_ENV"


def test_dev_staging_prod_promotion_without_manual_remapping(dss3, sales):
    for env in ("dev", "staging", "prod"):
        _apply(dss3[env], sales)
    for env in ("dev", "staging", "prod"):
        node = dss3[env]
        assert sorted(node.client().list_project_keys()) == [PROJECT_KEYS[env]], env
        _check_names(node)
        # Nothing of another environment's names leaked into this DSS's objects.
        others = {n for e in ("dev", "staging", "prod") if e != env for n in dss3[e].names.values()}
        raw = str([d["params"] for d in node.client().get_project(PROJECT_KEYS[env]).list_datasets()])
        assert not [n for n in others if f"'{n}'" in raw], env
    # Promotion again with nothing changed: no DSS write anywhere.
    for node in dss3.values():
        node.handle.admin.clear_requests()
        run_cli(sales, "plan", "-e", node.env, "--detailed-exitcode", env=node.cli_env())
        assert writes(node.handle) == []


def test_prod_policies_refuse_unreviewed_applies_and_deletions(dss3, sales):
    prod = dss3["prod"]
    _apply(prod, sales)
    refused = run_cli(sales, "apply", "-e", "prod", "--auto-approve", env=prod.cli_env(), expect=1)
    assert "policies.require_saved_plan in environments/prod.yml" in refused.stderr
    assert "dataiku-iac plan -e prod --out prod.plan" in refused.stderr
    # Remove a dataset (and the recipe writing it) from the config: a deletion.
    text = (sales / "projects" / "sales.yml").read_text()
    text = text.replace("  - name: sales_export\n    type: managed\n    format: csv\n", "")
    text = text.replace("  - name: export_sales\n    type: sync\n    inputs: [sales_by_customer]\n    outputs: [sales_export]\n", "")
    text = text.replace("datasets: [sales_by_customer, sales_export]", "datasets: [sales_by_customer]")
    (sales / "projects" / "sales.yml").write_text(text)
    prod.handle.admin.clear_requests()
    denied = run_cli(sales, "plan", "-e", "prod", "--out", "prod.plan", env=prod.cli_env(), expect=1)
    assert "does not allow deletions (policies.allow_destroy in environments/prod.yml)" in denied.stderr
    assert "dataset.SALES.sales_export (deleted)" in denied.stderr and "--allow-destroy" in denied.stderr
    allowed = run_cli(sales, "plan", "-e", "prod", "--allow-destroy", "--out", "prod.plan", env=prod.cli_env())
    assert "Plan: 0 to add, 1 to change, 2 to destroy." in allowed.stdout, str(allowed)
    assert "allow_destroy" in (sales / "prod.plan").read_text()
    run_cli(sales, "apply", "-e", "prod", "prod.plan", env=prod.cli_env())
    assert "sales_export" not in {d["name"] for d in prod.client().get_project("SALES").list_datasets()}


def test_drift_policy_sets_the_exit_code(dss3, sales):
    staging = dss3["staging"]
    _apply(staging, sales)
    project = staging.client().get_project("SALES")
    settings = project.get_dataset("orders_raw").get_settings()  # its description is declared
    settings.get_raw()["description"] = "edited in the UI"
    settings.save()
    report = run_cli(sales, "drift", "-e", "staging", env=staging.cli_env(), expect=0)  # drift: warn
    assert "Drift detected" in report.stdout and "policies.drift in environments/staging.yml" in report.stdout


def test_branch_copy_with_a_key_suffix_lives_beside_dev(dss3, sales):
    dev = dss3["dev"]
    for env in ("dev", "feature-x"):
        run_cli(sales, "apply", "-e", env, "--auto-approve", env=dev.cli_env())
    assert sorted(dev.client().list_project_keys()) == ["SALES_DEV", "SALES_FEATURE_X"]
    run_cli(sales, "destroy", "-e", "feature-x", "--auto-approve", env=dev.cli_env())
    assert dev.client().list_project_keys() == ["SALES_DEV"]
    assert run_cli(sales, "plan", "-e", "dev", env=dev.cli_env()).last_line() == "No changes."


# -- wrong remapping ---------------------------------------------------------------------------------


def _edit_env(root: Path, env: str, old: str, new: str) -> None:
    path = root / "environments" / f"{env}.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("command", [("validate",), ("plan",), ("apply", "--auto-approve")])
def test_a_missing_remap_target_fails_before_any_dss_write(dss3, sales, command):
    staging = dss3["staging"]
    _edit_env(sales, "staging", "filesystem_managed: fs_staging\n", "filesystem_managed: fs_stagng\n")
    result = run_cli(sales, command[0], "-e", "staging", *command[1:], env=staging.cli_env(), expect=1)
    line = next(x for x in result.stderr.splitlines() if "fs_stagng" in x)
    assert line.startswith("environments/staging.yml:9:23: error: ")
    assert "connections.filesystem_managed: connection 'fs_stagng' does not exist on the DSS of environment 'staging'" in line
    assert "dataset.SALES.orders_clean (managed dataset)" in line and "did you mean 'fs_staging'?" in line
    assert writes(staging.handle) == []
    assert staging.client().list_project_keys() == []


def test_remap_targets_of_the_wrong_kind_are_named(dss3, sales):
    staging = dss3["staging"]
    _edit_env(sales, "staging", "postgres_dw: postgres_staging\n", "postgres_dw: fs_staging\n")
    _edit_env(sales, "staging", "filesystem_folders: fs_staging_folders\n", "filesystem_folders: postgres_staging\n")
    _edit_env(sales, "staging", "py39_default: py39_staging\n", "py39_default: r_staging\n")
    result = run_cli(sales, "validate", "-e", "staging", env=staging.cli_env(), expect=1)
    err = result.stderr
    assert ("connections.postgres_dw: connection 'fs_staging' is a Filesystem connection, but "
            "dataset.SALES.orders_raw (sql_table dataset) needs a SQL connection") in err
    assert ("connections.filesystem_folders: connection 'postgres_staging' is a PostgreSQL connection, but "
            "managed_folder.SALES.reports (managed folder) needs a file-based connection allowing managed folders") in err
    assert "code_envs.py39_default: code env 'r_staging' is a R env" in err and "needs a PYTHON env" in err
    assert "Error: the configuration has 3 problems." in err  # sales_by_customer: managed on fs_staging fits
    assert writes(staging.handle) == []


def test_a_name_without_remapping_points_at_the_project_file(dss3, sales):
    staging = dss3["staging"]
    _edit_env(sales, "staging", "  py39_default: py39_staging\n", "  py39_other: py39_staging\n")
    result = run_cli(sales, "validate", "-e", "staging", env=staging.cli_env(), expect=1)
    line = next(x for x in result.stderr.splitlines() if "py39_default" in x)
    written = (sales / "projects" / "sales.yml").read_text().splitlines().index("  code_env: py39_default") + 1
    # At the line that names it, saying once that it is not remapped.
    assert line.startswith(f"projects/sales.yml:{written}:") and "project.code_env:" in line
    assert "code_envs: 'py39_default' is not remapped in environments/staging.yml" in line
    assert line.count("remap") == 1


def test_validate_offline_or_without_credentials_does_not_contact_dss(dss3, sales):
    staging = dss3["staging"]
    _edit_env(sales, "staging", "filesystem_managed: fs_staging\n", "filesystem_managed: nowhere\n")
    before = staging.handle.admin.stats()["requests"]
    offline = run_cli(sales, "validate", "-e", "staging", "--offline", env=staging.cli_env())
    assert "DSS not contacted (--offline)" in offline.stdout
    env = staging.cli_env()
    del env["DKU_API_KEY_STAGING"]
    # Only --offline skips DSS: a configured key that cannot be read is an error, never a success.
    result = run_cli(sales, "validate", "-e", "staging", env=env, expect=1)
    assert "Success" not in result.output
    assert result.stderr.startswith("environments/staging.yml:4:16: error: dss.api_key_env: "
                                    "the environment variable DKU_API_KEY_STAGING is not set"), str(result)
    assert staging.handle.admin.stats()["requests"] == before
