"""Macros, scenario steps and the recipe, run by the emulator through the `dataiku` stand-in, on a
config in a project library and on a local Git repository: same plans as the CLI."""

from __future__ import annotations

import pytest
from dataiku_iac.dss.html import extract_plan_json
from plugin_helpers import (
    REPO,
    cli_plan_json,
    demo_config,
    git_repo,
    run_macro,
    run_recipe,
    upload_library,
    write_files,
)

OPS = "OPS"  # the project whose library holds the configuration and where macros run


def _changes(plan_json: dict) -> list:
    return plan_json["resource_changes"]


@pytest.fixture
def sources(dss, state_project, tmp_path):
    """The same configuration in a library folder, in a Git repo and in a directory."""
    files = demo_config()
    client = dss.client()
    upload_library(client, OPS, "iac", files)
    url = git_repo(tmp_path / "repo", files, subpath="dss")
    directory = write_files(tmp_path / "cfg", files)
    library_params = {"source_kind": "library", "library_path": "iac", "environment": "dev"}
    git_params = {"source_kind": "git", "git_url": url, "git_ref": "main", "git_subpath": "dss", "environment": "dev"}
    return {"library": library_params, "git": git_params, "directory": directory, "client": client}


@pytest.mark.parametrize("kind", ["library", "git"])
def test_plan_macro_matches_the_cli(dss, sources, kind):
    html = run_macro(sources["client"], OPS, "plan", sources[kind])
    macro_plan = extract_plan_json(html)
    cli_plan = cli_plan_json(dss, sources["directory"])
    assert _changes(macro_plan) == _changes(cli_plan)
    assert macro_plan["summary"] == cli_plan["summary"] == {"add": 3, "change": 0, "destroy": 0, "forget": 0}
    assert macro_plan["source"]["kind"] == kind
    if kind == "git":
        assert len(macro_plan["source"]["commit"]) == 40
    assert "Plan:</span> 3 to add, 0 to change, 0 to destroy." in html
    assert '<span class="iac-green">  + dataset PLUG_DEMO.TEST_DATA</span>' in html


def test_apply_macro_is_a_dry_run_by_default_then_applies_the_reviewed_plan(dss, sources):
    client = sources["client"]
    dry = run_macro(client, OPS, "apply", sources["library"])
    assert "3 to add" in dry and "PLUG_DEMO" not in {p["projectKey"] for p in client.list_projects()}
    reviewed = extract_plan_json(dry)
    applied = run_macro(client, OPS, "apply", {**sources["library"], "dry_run": False, "plan_json": reviewed})
    assert "Apply complete!" in applied and "3 added" in applied
    assert "PLUG_DEMO" in {p["projectKey"] for p in client.list_projects()}
    # The CLI, on the same config and the same managed-folder state, now has nothing to do.
    assert cli_plan_json(dss, sources["directory"])["summary"] == {"add": 0, "change": 0, "destroy": 0, "forget": 0}
    again = run_macro(client, OPS, "plan", sources["git"])
    assert "No changes." in again


def test_apply_macro_with_a_token_refuses_a_plan_that_changed(dss, sources):
    client = sources["client"]
    token_page = run_macro(client, OPS, "plan", sources["library"])
    plan = extract_plan_json(token_page)
    from dataiku_iac.dss.service import plan_token
    from dataiku_iac.planner.plan import Plan

    token = plan_token(Plan.from_json(plan))
    assert token in token_page
    client.create_project("PLUG_DEMO", "Someone else's", "admin")  # DSS changed since the review
    with pytest.raises(Exception, match=r"changed since it was reviewed|unmanaged|already exists"):
        run_macro(client, OPS, "apply", {**sources["library"], "dry_run": False, "confirm_token": token})


def test_drift_import_and_state_macros(dss, sources):
    client = sources["client"]
    run_macro(client, OPS, "apply", {**sources["git"], "dry_run": False,
                                     "plan_json": extract_plan_json(run_macro(client, OPS, "plan", sources["git"]))})
    assert "No drift." in run_macro(client, OPS, "drift-check", sources["library"])
    client.get_project("PLUG_DEMO").create_dataset("STRAY", "Inline")
    drifted = run_macro(client, OPS, "drift-check", sources["library"])
    assert "Drift detected" in drifted and "dataset.PLUG_DEMO.STRAY" in drifted
    with pytest.raises(Exception, match="drift in environment dev"):
        run_macro(client, OPS, "drift-check", {**sources["library"], "fail_on_drift": True})
    listing = run_macro(client, OPS, "state", {**sources["library"], "state_action": "list"})
    assert "dataset.PLUG_DEMO.TEST_DATA" in listing and "Not locked." in listing
    history = run_macro(client, OPS, "state", {**sources["library"], "state_action": "history"})
    assert "apply" in history
    # Import a live project into the library config: YAML written back, objects adopted.
    client.create_project("LEGACY", "Legacy", "admin")
    client.get_project("LEGACY").create_managed_folder("raw_files")
    imported = run_macro(client, OPS, "import-project", {**sources["library"], "import_project": "LEGACY"})
    assert "projects/legacy.yml" in imported and "No changes." in imported
    library = client.get_project(OPS).get_library()
    assert "raw_files" in library.get_file("/iac/projects/legacy.yml").read()


def test_check_drift_and_apply_from_git_steps(dss, sources):
    client = sources["client"]
    project = client.get_project(OPS)
    scenario = project.create_scenario("cd", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append({"id": "cd", "type": "pystep_dataiku-iac_apply-from-git", "name": "deploy",
                               "params": {"config": {**sources["git"], "policy": "apply_if_no_deletes"}}})
    settings.save()
    run = scenario.run_and_wait()
    assert run.outcome == "SUCCESS"
    assert "PLUG_DEMO" in {p["projectKey"] for p in client.list_projects()}
    check = project.create_scenario("check", "step_based")
    settings = check.get_settings()
    settings.raw_steps.append({"id": "drift", "type": "pystep_dataiku-iac_check-drift", "name": "drift",
                               "params": {"config": {**sources["library"], "policy": "fail"}}})
    settings.save()
    assert check.run_and_wait().outcome == "SUCCESS"


def test_drift_report_recipe_rows(dss, sources, tmp_path):
    client = sources["client"]
    run_macro(client, OPS, "apply", {**sources["library"], "dry_run": False,
                                     "plan_json": extract_plan_json(run_macro(client, OPS, "plan", sources["library"]))})
    client.get_project(OPS).create_dataset("iac_drift", "Inline")
    # Drift behind the tool's back: a description changed in DSS.
    ds = client.get_project("PLUG_DEMO").get_dataset("TEST_DATA")
    settings = ds.get_settings()
    settings.get_raw()["description"] = "edited by hand"
    settings.save()
    client.get_project("PLUG_DEMO").get_managed_folder(
        next(f["id"] for f in client.get_project("PLUG_DEMO").list_managed_folders())
    ).delete()
    rows = run_recipe(dss, OPS, "iac_drift", sources["library"], tmp_path / "rows")
    kinds = {(r["address"], r["kind"]) for r in rows}
    assert ("managed_folder.PLUG_DEMO.models", "deleted") in kinds
    assert set(rows[0]) == {"checked_at", "environment", "address", "type", "project_key", "kind", "field", "recorded", "live"}
    assert {r["environment"] for r in rows} == {"dev"}
    schema = client.get_project(OPS).get_dataset("iac_drift").get_schema()
    assert [c["name"] for c in schema["columns"]][:3] == ["checked_at", "environment", "address"]
    state_rows = run_recipe(dss, OPS, "iac_drift", {**sources["library"], "mode": "state"}, tmp_path / "rows2")
    assert {"dataset.PLUG_DEMO.TEST_DATA", "project.PLUG_DEMO"} <= {r["address"] for r in state_rows}
    assert REPO.exists()


def test_apply_macro_trains_the_saved_models_only_when_asked(dss, state_project):
    """The apply macro's `train` parameter is `apply --train`: its dry run shows the retraining, its
    apply makes a new version; without it the plan has nothing to do."""
    client = dss.client()
    files = demo_config("PLUG_ML")
    files["projects/demo.yml"] = (
        "project:\n  key: PLUG_ML\n  name: Plugin ML\n"
        "datasets:\n  - name: customers\n    type: managed\n    schema:\n      columns:\n"
        "        - {name: age, type: bigint}\n        - {name: churned, type: boolean}\n"
        "ml_tasks:\n  - name: churn\n    dataset: customers\n    prediction_type: binary_classification\n"
        "    target: churned\n    algorithms: {random_forest: {}}\n"
        "saved_models:\n  - name: churn_model\n    ml_task: churn\n"
    )
    upload_library(client, OPS, "ml", files)
    params = {"source_kind": "library", "library_path": "ml", "environment": "dev"}
    created = extract_plan_json(run_macro(client, OPS, "apply", params))
    run_macro(client, OPS, "apply", {**params, "dry_run": False, "plan_json": created})
    model = client.get_project("PLUG_ML").get_saved_model(client.get_project("PLUG_ML").list_saved_models()[0]["id"])
    assert [v["id"] for v in model.list_versions()] == ["initial"]
    assert "No changes." in run_macro(client, OPS, "plan", params)
    dry = run_macro(client, OPS, "apply", {**params, "train": True})
    retrain = extract_plan_json(dry)
    assert retrain["options"]["train"] is True and retrain["summary"]["change"] == 1, retrain["summary"]
    run_macro(client, OPS, "apply", {**params, "train": True, "dry_run": False, "plan_json": retrain})
    assert len(model.list_versions()) == 2
