"""Saved models (resources/saved_model.py) and training, run as a user does (the CLI in a subprocess)
against the emulator: creating one trains its ML task once (the plan says so) and deploys it to the
Flow; `apply --train` retrains (a new version), a plan without it never trains; the versions are
recorded in the state, never compared nor deleted; the active version pinned, rolled back, and a pin
to an unknown version refused with its file and line; a scenario's `train` step; import."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "SMT"
PROJECT = f"""\
project:
  key: {KEY}
  name: Churn models

flow_zones:
  - name: models

datasets:
  - name: customers
    type: managed
    schema:
      columns:
        - {{name: age, type: bigint}}
        - {{name: plan, type: string}}
        - {{name: churned, type: boolean}}

ml_tasks:
  - name: churn
    dataset: customers
    prediction_type: binary_classification
    target: churned
    algorithms:
      random_forest: {{n_estimators: 50}}
      logistic_regression: {{}}

saved_models:
  - name: churn_model
    ml_task: churn
    algorithm: random_forest
    zone: models
"""
SCENARIO = """
scenarios:
  - id: RETRAIN
    name: Retrain weekly
    steps:
      - {type: train, saved_models: [churn_model]}
"""


def cli(dss: Any, root: Path, *args: str, expect: int | None = 0) -> Any:
    return run_cli(root, *args, env=cli_env(dss), expect=expect)


def model(dss: Any, key: str = KEY) -> Any:
    project = dss.client().get_project(key)
    listed = project.list_saved_models()
    assert len(listed) == 1, listed
    return project.get_saved_model(listed[0]["id"])


def versions(dss: Any, key: str = KEY) -> list[str]:
    return [v["id"] for v in model(dss, key).list_versions()]


def sessions(dss: Any, key: str = KEY) -> int:
    project = dss.client().get_project(key)
    summary = project.list_ml_tasks()["mlTasks"][0]
    return len(project.get_ml_task(summary["analysisId"], summary["mlTaskId"]).get_status().get("fullModelIds") or [])


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("    ml_task: churn\n", "    ml_task: chrun\n")
    out = cli(dss, write_config(tmp_path / "a", {"smt.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/smt\.yml:28:\d+\b.*unknown ML task 'chrun'.*did you mean 'churn'", out), out
    bad = PROJECT.replace("    algorithm: random_forest\n", "    algorithm: xgboost\n")
    out = cli(dss, write_config(tmp_path / "b", {"smt.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/smt\.yml:29:\d+\b.*does not enable algorithm 'xgboost'", out), out
    bad = PROJECT.replace("    algorithm: random_forest\n", "")
    out = cli(dss, write_config(tmp_path / "c", {"smt.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/smt\.yml:27:\d+\b.*enables 2 algorithms: say which one", out), out
    cli(dss, write_config(tmp_path / "good", {"smt.yml": PROJECT}), "validate", "-e", "dev", "--offline")


def test_create_trains_once_then_train_only_when_asked_and_pin_versions(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"smt.yml": PROJECT})
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert "saved_model.SMT.churn_model will be created" in plan, plan
    assert "creating it trains its ML task once" in plan, plan  # never silent
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert sessions(dss) == 2  # one session: the two enabled algorithms
    assert versions(dss) == ["initial"]
    sm = model(dss)
    assert sm.get_settings().get_raw()["name"] == "churn_model"
    zone = {z.name: z for z in dss.client().get_project(KEY).get_flow().list_zones()}["models"]
    assert f"SAVED_MODEL:{sm.id}" in {f"{i['objectType']}:{i['objectId']}" for i in zone._raw["items"]}
    # The training recipe DSS made is the saved model's: not planned, not drift, not imported as a recipe.
    assert any(r["type"] == "prediction_training" for r in dss.client().get_project(KEY).list_recipes())
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    assert cli(dss, root, "drift", "-e", "dev").returncode == 0
    shown = cli(dss, root, "state", "show", "-e", "dev", "saved_model.SMT.churn_model").json()
    assert shown["attributes"]["versions"] == ["initial"] and shown["dss_id"] == sm.id, shown

    # --train: the plan says so, the apply builds the model (a new version); without it nothing trains.
    plan = cli(dss, root, "plan", "-e", "dev", "--train", "--detailed-exitcode", expect=2).stdout
    assert "saved_model.SMT.churn_model will be updated" in plan and "train" in plan, plan
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--train", "--target", "saved_model.SMT.churn_model")
    trained = versions(dss)
    assert len(trained) == 2 and sm.get_active_version()["id"] == trained[1], trained
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    shown = cli(dss, root, "state", "show", "-e", "dev", "saved_model.SMT.churn_model").json()
    assert shown["attributes"]["versions"] == trained, shown

    # Pin the first version (a rollback), then the new one again; a pin DSS does not have is refused.
    pinned = PROJECT.replace("    zone: models\n", "    zone: models\n    active_version: initial\n")
    (root / "projects" / "smt.yml").write_text(pinned, encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert "active_version" in plan and "initial" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert sm.get_active_version()["id"] == "initial"
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    (root / "projects" / "smt.yml").write_text(pinned.replace("active_version: initial", f"active_version: '{trained[1]}'"), encoding="utf-8")
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert sm.get_active_version()["id"] == trained[1]
    # Drift: someone activates another version in DSS; the pin puts it back.
    sm.set_active_version("initial")
    drift = cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert "saved_model.SMT.churn_model" in drift and "active_version" in drift, drift
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert sm.get_active_version()["id"] == trained[1]
    (root / "projects" / "smt.yml").write_text(pinned.replace("active_version: initial", "active_version: '12345'"), encoding="utf-8")
    out = cli(dss, root, "plan", "-e", "dev", expect=1).output
    assert re.search(r"projects/smt\.yml:27: saved_model\.SMT\.churn_model: active_version '12345' is not a version", out), out
    assert f"its versions: initial, {trained[1]}" in out, out
    assert versions(dss) == trained  # no plan deletes a version


def test_scenario_train_step_impact_and_import(dss: Any, tmp_path: Path) -> None:
    key = "SMS"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}") + SCENARIO
    root = write_config(tmp_path / "cfg", {"sms.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    sm = model(dss, key)
    scenario = dss.client().get_project(key).get_scenario("RETRAIN")
    step = scenario.get_settings().get_raw()["params"]["steps"][0]
    assert step["type"] == "build_flowitem" and step["params"]["builds"][0]["type"] == "SAVED_MODEL", step
    assert step["params"]["builds"][0]["itemId"] == sm.id, step
    scenario.run_and_wait()
    assert len(versions(dss, key)) == 2  # trained on DSS's side: data, not drift
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    # The state records the new version once asked to take DSS's values (or at the next write).
    refresh = cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--detailed-exitcode", expect=2).stdout
    assert f"saved_model.{key}.churn_model" in refresh and "versions" in refresh, refresh
    cli(dss, root, "apply", "-e", "dev", "--refresh-only", "--auto-approve")
    shown = cli(dss, root, "state", "show", "-e", "dev", f"saved_model.{key}.churn_model").json()
    assert shown["attributes"]["versions"] == versions(dss, key), shown

    # Impact: the ML task's features change; the saved model trained from it is downstream.
    changed = text.replace("      logistic_regression: {}\n", "      logistic_regression: {}\n    features:\n      plan: {role: reject}\n")
    (root / "projects" / "sms.yml").write_text(changed, encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--json", expect=None).json()
    task = next(c for c in plan["resource_changes"] if c["address"] == f"ml_task.{key}.churn")
    assert task["impact"]["category"] == "breaking", task
    assert f"saved_model.{key}.churn_model" in {d["address"] for d in task["impact"]["downstream"]}, task

    # Imported by another state (the project's marker removed, as the import's message says to).
    project = dss.client().get_project(key)
    metadata = project.get_metadata()
    metadata["custom"]["kv"].pop("dataiku-iac.lineage")
    project.set_metadata(metadata)
    imported = write_config(tmp_path / "imported", {})
    cli(dss, imported, "import", "project", key, "-e", "dev")
    written = yaml.safe_load((imported / "projects" / "sms.yml").read_text(encoding="utf-8"))
    assert written["saved_models"] == [{"name": "churn_model", "ml_task": "churn", "algorithm": "random_forest", "zone": "models"}], written
    assert "recipes" not in written, written  # the training recipe is the saved model's
    assert written["scenarios"][0]["steps"][0]["type"] == "train", written
    assert written["scenarios"][0]["steps"][0]["saved_models"] == ["churn_model"], written
    # The import records what an apply records: the versions DSS has (a recorded attribute)
    shown = cli(dss, imported, "state", "show", "-e", "dev", f"saved_model.{key}.churn_model").json()
    assert shown["attributes"]["versions"] == versions(dss, key), shown
    cli(dss, imported, "validate", "-e", "dev", "--offline")
    assert cli(dss, imported, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


@pytest.mark.parametrize("behaviour", ["with_recipe", "alone"])
def test_deleting_a_saved_model_warns_of_its_versions_and_takes_its_training_recipe(dss: Any, tmp_path: Path, behaviour: str) -> None:
    """Whether DSS's delete takes the training recipe is unverified (emulator switch
    saved_model_delete): either way none is left writing to nothing."""
    key = "SMD" + ("R" if behaviour == "with_recipe" else "A")
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "cfg", {"smd.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dss.admin.set_behaviour(saved_model_delete=behaviour)
    try:
        (root / "projects" / "smd.yml").write_text(text[: text.index("saved_models:")], encoding="utf-8")
        refused = cli(dss, root, "plan", "-e", "dev", expect=1).output
        assert "DSS deletes 1 trained version (initial) with it" in refused and "--drop-data" in refused, refused
        plan = cli(dss, root, "plan", "-e", "dev", "--drop-data", "--detailed-exitcode", expect=2).stdout
        assert f"saved_model.{key}.churn_model will be destroyed" in plan, plan
        assert f"saved_model.{key}.churn_model: deleting it deletes 1 trained version (initial)" in plan, plan
        assert "keep their stored data" not in plan, plan  # false for a saved model: DSS deletes its versions
        cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--drop-data")
    finally:
        dss.admin.set_behaviour(saved_model_delete="with_recipe")
    project = dss.client().get_project(key)
    assert project.list_saved_models() == []
    assert [r["name"] for r in project.list_recipes()] == []
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


def test_a_saved_model_is_deployed_again_from_a_replaced_ml_task(dss: Any, tmp_path: Path) -> None:
    """A new target replaces the ML task; the saved model deployed from it is replaced in the same
    plan (trained from the new task), so the next plan has nothing to do."""
    key = "SMR"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "cfg", {"smr.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    old_id = model(dss, key).id
    (root / "projects" / "smr.yml").write_text(text.replace("    target: churned\n", "    target: plan\n"), encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--drop-data", "--detailed-exitcode", expect=2).stdout
    assert f"ml_task.{key}.churn must be replaced" in plan and f"saved_model.{key}.churn_model must be replaced" in plan, plan
    assert f"made from what the plan replaces: ml_task.{key}.churn" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--drop-data")
    assert model(dss, key).id != old_id
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


def test_a_target_or_feature_that_is_no_column_is_refused_before_any_delete(dss: Any, tmp_path: Path) -> None:
    """A typo'd target would replace the ML task, and DSS refuses it only at the create, after the
    old task is deleted: validate refuses it against the declared schema, plan against DSS's."""
    bad = PROJECT.replace("    target: churned\n", "    target: churnd\n    features:\n      agee: {role: reject}\n")
    out = cli(dss, write_config(tmp_path / "a", {"smt.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/smt\.yml:21:\d+\b.*target 'churnd' is not a column of dataset 'customers'.*did you mean 'churned'", out), out
    assert re.search(r"projects/smt\.yml:23:\d+\b.*feature 'agee' is not a column of dataset 'customers'.*did you mean 'age'", out), out
    # The dataset's schema not declared: the plan checks DSS's.
    key = "SMC"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "b", {"smc.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    undeclared = text.replace(text[text.index("    schema:"):text.index("ml_tasks:")], "\n")
    (root / "projects" / "smc.yml").write_text(undeclared.replace("    target: churned\n", "    target: churnd\n"), encoding="utf-8")
    cli(dss, root, "validate", "-e", "dev", "--offline")
    out = cli(dss, root, "plan", "-e", "dev", expect=1).output
    assert re.search(r"projects/smc\.yml:\d+: ml_task\.SMC\.churn: target 'churnd' is not a column of dataset 'customers' "
                     r"in DSS \(did you mean 'churned'\?\)", out), out
    assert len(dss.client().get_project(key).list_ml_tasks()["mlTasks"]) == 1


def test_losing_trained_versions_is_destructive_and_asked_for(dss: Any, tmp_path: Path) -> None:
    """A replace cascaded from the ML task deletes the saved model's versions: the plan is refused
    without --drop-data, destructive with it, says which versions, and gives the cascade as the
    reason; a pin the replace would delete is a plan error."""
    key = "SMX"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "cfg", {"smx.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    retarget = text.replace("    target: churned\n", "    target: plan\n")
    (root / "projects" / "smx.yml").write_text(retarget, encoding="utf-8")
    out = cli(dss, root, "plan", "-e", "dev", expect=1).output
    assert f"saved_model.{key}.churn_model would be replaced (made from what the plan replaces: ml_task.{key}.churn)" in out, out
    assert "DSS deletes 1 trained version (initial) with it" in out and "--drop-data" in out, out
    plan = cli(dss, root, "plan", "-e", "dev", "--drop-data", "--fail-on", "destructive", expect=None)
    assert plan.returncode not in (0, 2), plan.output
    assert f"saved_model.{key}.churn_model: replacing it deletes 1 trained version (initial)" in plan.output, plan.output
    assert "keep their stored data" not in plan.output, plan.output
    breaking = cli(dss, root, "plan", "-e", "dev", "--drop-data", "--fail-on", "breaking", expect=None).output
    assert "asked for with --replace" not in breaking, breaking
    assert f"replaced (made from what the plan replaces: ml_task.{key}.churn)" in breaking, breaking
    pinned = retarget.replace("    zone: models\n", "    zone: models\n    active_version: initial\n")
    (root / "projects" / "smx.yml").write_text(pinned, encoding="utf-8")
    out = cli(dss, root, "plan", "-e", "dev", "--drop-data", expect=1).output
    assert re.search(rf"projects/smx\.yml:27: saved_model\.{key}\.churn_model: active_version 'initial' pins a version "
                     "that this plan deletes", out), out
    # Removing the saved model: the same consent.
    (root / "projects" / "smx.yml").write_text(text[: text.index("saved_models:")], encoding="utf-8")
    out = cli(dss, root, "plan", "-e", "dev", expect=1).output
    assert f"saved_model.{key}.churn_model would be deleted (removed from config)" in out, out
    assert versions(dss, key) == ["initial"]


def test_a_replace_that_fails_after_its_delete_is_counted_and_recovers(dss: Any, tmp_path: Path) -> None:
    """DSS refuses the new ML task after the old one was deleted: the summary counts the delete,
    and the next plan re-creates the task without replacing the intact saved model (no raw id
    compared to a name), its versions kept."""
    key = "SMF"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "cfg", {"smf.yml": text})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    sm_id = model(dss, key).id
    (root / "projects" / "smf.yml").write_text(text.replace("    target: churned\n", "    target: plan\n"), encoding="utf-8")
    dss.admin.add_fault(method="POST", path=rf"/projects/{key}/models/lab/?$", status=400, nth=1, times=0)
    try:
        out = cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--drop-data", expect=1).output
    finally:
        dss.admin.clear_faults()
    assert "0 added, 0 changed, 1 destroyed" in out, out
    assert f"ml_task.{key}.churn was deleted but not created again" in out, out
    assert dss.client().get_project(key).list_ml_tasks()["mlTasks"] == []
    (root / "projects" / "smf.yml").write_text(text, encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert f"ml_task.{key}.churn will be created" in plan, plan
    assert f"saved_model.{key}.churn_model" not in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert model(dss, key).id == sm_id and versions(dss, key) == ["initial"]
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


def test_a_pin_set_by_an_override_is_reported_in_the_environment_file(dss: Any, tmp_path: Path) -> None:
    from dataiku_iac.cli import scaffold

    env = scaffold.DEV_YML + f'overrides:\n  "saved_model.{KEY}.churn_model":\n    active_version: "12345"\n'
    root = write_config(tmp_path / "cfg", {"smt.yml": PROJECT}, env=env)
    out = cli(dss, root, "plan", "-e", "dev", expect=1).output
    line = env.splitlines().index('    active_version: "12345"') + 1
    assert re.search(rf"environments/dev\.yml:{line}: saved_model\.{KEY}\.churn_model: active_version '12345': the saved "
                     "model does not exist yet", out), out


def test_a_pin_to_initial_on_a_saved_model_the_plan_creates_converges(dss: Any, tmp_path: Path) -> None:
    """DSS's first deployment makes version 'initial', the active one: a pin to it holds from the
    create (the walk-through's config re-applied after a destroy), the next plan has nothing to do."""
    from dataiku_iac.cli import scaffold

    env = scaffold.DEV_YML + f'overrides:\n  "saved_model.{KEY}.churn_model":\n    active_version: initial\n'
    root = write_config(tmp_path / "cfg", {"smt.yml": PROJECT}, env=env)
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert versions(dss) == ["initial"] and model(dss).get_settings().get_raw()["activeVersion"] == "initial"
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


def test_a_training_on_an_empty_dataset_fails_the_apply_with_dss_reason(dss: Any, tmp_path: Path) -> None:
    """DSS fails the training of a train set without rows: the saved model's create reports why."""
    import io

    key = "SME"
    text = PROJECT.replace(f"key: {KEY}", f"key: {key}")
    root = write_config(tmp_path / "cfg", {"sme.yml": text[: text.index("saved_models:")]})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(key)
    upload = project.create_upload_dataset("header_only")
    upload.uploaded_add_file(io.BytesIO(b"age,plan,churned\n"), "customers.csv")
    upload.autodetect_settings(infer_storage_types=True).save()
    upload.copy_to(project.get_dataset("customers")).wait_for_result()  # written, with no row
    (root / "projects" / "sme.yml").write_text(text, encoding="utf-8")
    out = cli(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1).output
    assert re.search(rf"saved_model\.{key}\.churn_model: .*DSS failed to train the ML task's model, so there is nothing to "
                     rf"deploy: .*train set is empty \(dataset {key}\.customers has no rows\)", out), out
    assert project.list_saved_models() == []


def test_two_saved_models_of_one_task_trained_in_parallel_each_deploy_their_algorithm(dss: Any, tmp_path: Path) -> None:
    """Sibling creates of one ML task run in parallel (no edge between them); each trains the task
    under the per-task training lock (saved_model._training_lock): one session each, and each saved
    model is the model of its own algorithm from its own session."""
    two = PROJECT + """  - name: churn_lr
    ml_task: churn
    algorithm: logistic_regression
    zone: models
"""
    root = write_config(tmp_path / "cfg", {"smt.yml": two})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--parallelism", "4")
    project = dss.client().get_project(KEY)
    origins = {}
    for listed in project.list_saved_models():
        sm = project.get_saved_model(listed["id"])
        details = sm.get_version_details(sm.get_active_version()["id"]).get_raw()
        origins[sm.get_settings().get_raw()["name"]] = (details["modeling"]["algorithm"], details["smOrigin"]["fullModelId"])
    assert {name: algorithm for name, (algorithm, _) in origins.items()} == {
        "churn_model": "RANDOM_FOREST_CLASSIFICATION", "churn_lr": "LOGISTIC_REGRESSION"}, origins
    # A full model id is A-<project>-<analysis>-<task>-<session>-<preprocessing>-<model>.
    assert len({full_id.split("-")[4] for _, full_id in origins.values()}) == 2, origins
    assert sessions(dss) == 4  # two sessions of the two enabled algorithms
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
