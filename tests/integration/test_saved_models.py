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
        plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
        assert f"saved_model.{key}.churn_model will be destroyed" in plan and "keep their stored data" in plan, plan
        cli(dss, root, "apply", "-e", "dev", "--auto-approve")
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
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert f"ml_task.{key}.churn must be replaced" in plan and f"saved_model.{key}.churn_model must be replaced" in plan, plan
    assert f"made from what the plan replaces: ml_task.{key}.churn" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert model(dss, key).id != old_id
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
