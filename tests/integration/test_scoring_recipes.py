"""Scoring and evaluation recipes (`type: score`, `type: evaluate`, resources/visual/score.py and
evaluate.py), run as a user does (the CLI in a subprocess) against the emulator: validate errors at
file:line, created as dataikuapi's creators create them (the saved model and the evaluation store
named by their DSS ids), no changes, drift, the impact of a saved model change, jobs that really
score rows and record an evaluation with drift metrics, import back to `No changes.`."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "SCR"
PROJECT = f"""\
project:
  key: {KEY}
  name: Churn scoring

datasets:
  - name: customers
    type: managed
    schema:
      columns:
        - {{name: age, type: bigint}}
        - {{name: spend, type: double}}
        - {{name: churned, type: string}}
  - name: new_customers
    type: managed
    schema:
      columns:
        - {{name: age, type: bigint}}
        - {{name: spend, type: double}}
        - {{name: churned, type: string}}
  - name: new_scored
    type: managed

ml_tasks:
  - name: churn
    dataset: customers
    prediction_type: binary_classification
    target: churned
    algorithms:
      random_forest: {{n_estimators: 50}}

saved_models:
  - name: churn_model
    ml_task: churn

model_evaluation_stores:
  - name: churn_monitoring
    checks:
      - {{metric: data_drift, max: 1, label: drift}}

recipes:
  - name: score_new
    type: score
    model: churn_model
    inputs: [new_customers]
    outputs: [new_scored]
  - name: evaluate_new
    type: evaluate
    model: churn_model
    inputs: [new_customers]
    outputs: [churn_monitoring]
    labels: {{source: weekly}}

scenarios:
  - id: WEEKLY
    name: Weekly evaluation
    steps:
      - {{type: build, model_evaluation_stores: [churn_monitoring]}}
"""
TRAIN = b"age,spend,churned\n" + b"".join(f"{20 + i % 40},{10 + (i * 7) % 90}.5,{['left', 'stayed'][i % 2]}\n".encode() for i in range(30))
NEW = b"age,spend,churned\n" + b"".join(f"{50 + i % 20},{80 + i % 15}.5,{['left', 'stayed'][i % 3 == 0]}\n".encode() for i in range(12))


def cli(dss: Any, root: Path, *args: str, expect: int | None = 0) -> Any:
    return run_cli(root, *args, env=cli_env(dss), expect=expect)


def fill(project: Any, name: str, csv: bytes) -> None:
    """Rows into a declared managed dataset, as a client writes them: an uploaded file copied in
    (the upload dataset deleted afterwards)."""
    upload = project.create_upload_dataset(name + "_upload")
    upload.uploaded_add_file(io.BytesIO(csv), name + ".csv")
    upload.autodetect_settings(infer_storage_types=True).save()
    upload.copy_to(project.get_dataset(name)).wait_for_result()
    upload.delete()


def build(project: Any, ref: str, kind: str = "DATASET") -> str:
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(ref, object_type=kind).start_and_wait(no_fail=True)
    state = str(job.get_status()["baseStatus"]["state"])
    assert state == "DONE", job.get_log()
    return state


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("    model: churn_model\n    inputs: [new_customers]\n    outputs: [new_scored]",
                          "    model: churn_modl\n    inputs: [new_customers]\n    outputs: [new_scored]").replace(
        "    outputs: [churn_monitoring]", "    outputs: [churn_monitorin]")
    out = cli(dss, write_config(tmp_path / "cfg", {"scr.yml": bad}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/scr\.yml:43:\d+\b.*churn_modl.*did you mean 'churn_model'", out), out
    assert re.search(r"projects/scr\.yml:50:\d+\b.*'churn_monitorin' is not a dataset, managed folder or model "
                     r"evaluation store.*did you mean 'churn_monitoring'", out), out
    missing = PROJECT.replace("    type: score\n    model: churn_model\n", "    type: score\n")
    out = cli(dss, write_config(tmp_path / "bad2", {"scr.yml": missing}), "validate", "-e", "dev", "--offline", expect=1).output
    assert re.search(r"projects/scr\.yml:\d+:\d+\b.*model", out), out
    cli(dss, write_config(tmp_path / "good", {"scr.yml": PROJECT}), "validate", "-e", "dev", "--offline")


def test_apply_jobs_drift_impact_and_import(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"scr.yml": PROJECT})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(KEY)
    sm_id = project.list_saved_models()[0]["id"]
    mes = project.list_model_evaluation_stores()[0]
    score = project.get_recipe("score_new").get_settings()
    raw = score.get_recipe_raw_definition()
    assert raw["type"] == "prediction_scoring" and raw["inputs"]["model"]["items"][0]["ref"] == sm_id
    assert raw["inputs"]["main"]["items"][0]["ref"] == "new_customers"
    evaluation = project.get_recipe("evaluate_new").get_settings()
    raw = evaluation.get_recipe_raw_definition()
    assert raw["type"] == "evaluation" and raw["outputs"]["evaluationStore"]["items"][0]["ref"] == mes.id
    assert json.loads(evaluation.get_payload())["labels"] == [{"key": "source", "value": "weekly"}]
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")

    # The jobs: rows scored with the active version, an evaluation with its drift.
    fill(project, "customers", TRAIN)
    fill(project, "new_customers", NEW)
    assert build(project, "new_scored") == "DONE"
    rows = list(project.get_dataset("new_scored").iter_rows())
    assert len(rows) == 12 and all(r[-1] in ("left", "stayed") for r in rows), rows
    assert build(project, mes.id, "MODEL_EVALUATION_STORE") == "DONE"
    info = mes.get_latest_model_evaluation().get_full_info()
    assert info.model_full_id == f"S-{KEY}-{sm_id}-initial" and 0 <= info.metrics["accuracy"] <= 1
    assert info.metrics["data_drift"] > 0.5 and set(info.get_raw()["evaluation"]["dataDrift"]["columns"]) == {"age", "spend"}
    assert info.get_raw()["evaluation"]["labels"] == [{"key": "source", "value": "weekly"}]
    scenario = project.get_scenario("WEEKLY")
    step = scenario.get_settings().get_raw()["params"]["steps"][0]
    assert step["params"]["builds"][0]["type"] == "MODEL_EVALUATION_STORE" and step["params"]["builds"][0]["itemId"] == mes.id
    assert scenario.run_and_wait().get_info()["result"]["outcome"] == "SUCCESS"
    assert len(mes.list_model_evaluations()) == 2  # a second evaluation, from the scenario's build
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")

    # Drift: probabilities switched off in DSS.
    payload = json.loads(score.get_payload())
    payload["outputProbabilities"] = False
    score.set_payload(json.dumps(payload))
    score.save()
    assert "recipe.SCR.score_new" in cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert json.loads(project.get_recipe("score_new").get_settings().get_payload())["outputProbabilities"] is True

    # Impact: a new active version of the saved model reaches its scoring and evaluation recipes.
    model = project.get_saved_model(sm_id)
    build(project, sm_id, "SAVED_MODEL")
    pinned = PROJECT.replace("    ml_task: churn\n", "    ml_task: churn\n    active_version: initial\n")
    (root / "projects" / "scr.yml").write_text(pinned, encoding="utf-8")
    assert model.get_active_version()["id"] != "initial"
    plan = cli(dss, root, "plan", "-e", "dev", "--json", expect=None).json()
    change = next(c for c in plan["resource_changes"] if c["address"] == f"saved_model.{KEY}.churn_model")
    downstream = {d["address"] for d in change["impact"]["downstream"]}
    assert {f"recipe.{KEY}.score_new", f"recipe.{KEY}.evaluate_new"} <= downstream, change

    # Import by another state: the same recipes back, then no changes.
    metadata = project.get_metadata()
    metadata["custom"]["kv"].pop("dataiku-iac.lineage")
    project.set_metadata(metadata)
    imported = write_config(tmp_path / "imported", {})
    cli(dss, imported, "import", "project", KEY, "-e", "dev")
    written = yaml.safe_load((imported / "projects" / "scr.yml").read_text(encoding="utf-8"))
    recipes = {r["name"]: r for r in written["recipes"]}
    assert recipes["score_new"] == {"name": "score_new", "type": "score", "model": "churn_model",
                                    "inputs": ["new_customers"], "outputs": ["new_scored"]}, recipes
    assert recipes["evaluate_new"] == {"name": "evaluate_new", "type": "evaluate", "model": "churn_model",
                                       "inputs": ["new_customers"], "outputs": ["churn_monitoring"],
                                       "labels": {"source": "weekly"}}, recipes
    steps = written["scenarios"][0]["steps"]
    assert steps[0]["type"] == "build" and steps[0]["model_evaluation_stores"] == ["churn_monitoring"], steps
    cli(dss, imported, "validate", "-e", "dev", "--offline")
    assert cli(dss, imported, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
