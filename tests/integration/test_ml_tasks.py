"""Visual ML tasks (resources/ml_task.py), run as a user does (the CLI in a subprocess) against the
emulator: validate with file:line errors, plan, apply (created as DSS's creators create one: DSS
guesses, the configuration's keys are then written), no changes, drift, import, state commands.
Nothing here trains: a plan or apply of ML tasks never starts a training session."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "MLT"
PROJECT = f"""\
project:
  key: {KEY}
  name: Churn lab

datasets:
  - name: customers
    type: managed
    schema:
      columns:
        - {{name: customer_id, type: string}}
        - {{name: age, type: bigint}}
        - {{name: plan, type: string}}
        - {{name: monthly_fee, type: double}}
        - {{name: churned, type: boolean}}

ml_tasks:
  - name: churn
    dataset: customers
    prediction_type: binary_classification
    target: churned
    features:
      customer_id: {{role: reject}}
      plan: {{role: input, type: category}}
      monthly_fee: {{handling: {{rescaling: MINMAX}}}}
    algorithms:
      random_forest: {{n_estimators: [50, 100], max_tree_depth: 8}}
      logistic_regression: {{C: [0.1, 1.0]}}
    hyperparameter_search: {{strategy: random, validation: kfold, folds: 3, seed: 7}}
    metric: roc_auc
    split: {{ratio: 0.75, seed: 42}}
"""


def last_line(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    return run_cli(root, *args, env=cli_env(dss), expect=expect).last_line()


def task_settings(dss: Any, key: str = KEY) -> dict[str, Any]:
    """The settings of the project's only ML task, as DSS answers them."""
    project = dss.client().get_project(key)
    summaries = project.list_ml_tasks()["mlTasks"]
    assert len(summaries) == 1, summaries
    return project.get_ml_task(summaries[0]["analysisId"], summaries[0]["mlTaskId"]).get_settings().get_raw()


def sessions(dss: Any, key: str = KEY) -> int:
    """How many training sessions the project's ML tasks ran."""
    project = dss.client().get_project(key)
    total = 0
    for summary in project.list_ml_tasks()["mlTasks"]:
        status = project.get_ml_task(summary["analysisId"], summary["mlTaskId"]).get_status()
        total += len(status.get("fullModelIds") or [])
    return total


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = (
        PROJECT.replace("    dataset: customers\n", "    dataset: customer\n")
        .replace("      random_forest:", "      random_forst:")
        .replace("      customer_id: {role: reject}\n", "      customer_id: {role: reject}\n      churned: {role: input}\n")
        .replace("    metric: roc_auc\n", "    metric: roc_auc\n    task: clustering\n")
    )
    root = write_config(tmp_path / "cfg", {"mlt.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/mlt\.yml:\d+:\d+\b.*unknown dataset 'customer'.*did you mean 'customers'", out), out
    assert re.search(r"projects/mlt\.yml:\d+:\d+\b.*'churned' is the target", out), out
    assert re.search(r"projects/mlt\.yml:\d+:\d+\b.*a clustering ML task has no `target`", out), out
    bad = PROJECT.replace("      random_forest:", "      random_forst:").replace("    split: {ratio: 0.75, seed: 42}\n", "    split: {ratio: 1.5}\n")
    out = run_cli(write_config(tmp_path / "bad2", {"mlt.yml": bad}), "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/mlt\.yml:26:7\b.*no algorithm 'random_forst'.*did you mean 'random_forest'", out), out
    assert re.search(r"projects/mlt\.yml:30:\d+\b.*split\.ratio: must be less than 1", out), out
    run_cli(write_config(tmp_path / "good", {"mlt.yml": PROJECT}), "validate", "-e", "dev", "--offline", env=cli_env(dss))


def test_plan_apply_no_changes_drift_and_state(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"mlt.yml": PROJECT})
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "ml_task.MLT.churn will be created" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    raw = task_settings(dss)
    modeling = raw["modeling"]
    assert modeling["random_forest_classification"]["enabled"] and modeling["logistic_regression"]["enabled"]
    enabled = sorted(k for k, v in modeling.items() if isinstance(v, dict) and v.get("enabled") is True and k != "propensityModeling")
    assert enabled == ["logistic_regression", "random_forest_classification"], enabled  # enabled = declared
    assert modeling["random_forest_classification"]["n_estimators"]["values"] == [50, 100]
    assert modeling["random_forest_classification"]["max_tree_depth"]["values"] == [8]
    assert modeling["gridSearchParams"]["strategy"] == "RANDOM" and modeling["gridSearchParams"]["nFolds"] == 3
    assert raw["splitParams"]["ssdTrainingRatio"] == 0.75 and raw["splitParams"]["ssdSeed"] == 42
    per_feature = raw["preprocessing"]["per_feature"]
    assert per_feature["customer_id"]["role"] == "REJECT" and per_feature["plan"]["type"] == "CATEGORY"
    assert per_feature["age"]["role"] == "INPUT"  # not declared: DSS's guess
    assert per_feature["monthly_fee"]["rescaling"] == "MINMAX"
    assert sessions(dss) == 0  # nothing trained
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # Drift: an algorithm enabled and a feature rejected in DSS.
    project = dss.client().get_project(KEY)
    summary = project.list_ml_tasks()["mlTasks"][0]
    settings = project.get_ml_task(summary["analysisId"], summary["mlTaskId"]).get_settings()
    settings.get_raw()["modeling"]["extra_trees"]["enabled"] = True
    settings.get_raw()["preprocessing"]["per_feature"]["plan"]["role"] = "REJECT"
    settings.save()
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "ml_task.MLT.churn" in drift, drift
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "algorithms" in plan and "features" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
    assert task_settings(dss)["modeling"]["extra_trees"]["enabled"] is False

    # A new target replaces the task (DSS guesses again for it); the name is the analysis's.
    listed = run_cli(root, "state", "list", "-e", "dev", env=cli_env(dss)).stdout
    assert "ml_task.MLT.churn" in listed, listed
    shown = run_cli(root, "state", "show", "-e", "dev", "ml_task.MLT.churn", env=cli_env(dss)).json()
    assert shown["dss_id"] == f"{summary['analysisId']}/{summary['mlTaskId']}", shown
    assert project.get_analysis(summary["analysisId"]).get_definition().get_raw()["name"] == "churn"
    changed = PROJECT.replace("    target: churned\n", "    target: plan\n").replace(
        "      plan: {role: input, type: category}\n", "      churned: {role: input}\n")
    (root / "projects" / "mlt.yml").write_text(changed, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "# ml_task.MLT.churn must be replaced in project MLT" in plan, plan
    assert sessions(dss) == 0


def test_import_writes_the_task_and_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    """An ML task made with dataikuapi as DSS's creators make it, then imported."""
    client = dss.client()
    project = client.create_project("MLI", "Imported lab", "admin")
    builder = project.new_managed_dataset("customers")
    builder.with_store_into("filesystem_managed")
    dataset = builder.create()
    dataset.set_schema({"columns": [{"name": "age", "type": "bigint"}, {"name": "fee", "type": "double"},
                                    {"name": "churned", "type": "boolean"}]})
    task = project.create_prediction_ml_task("customers", "churned", prediction_type="BINARY_CLASSIFICATION")
    analysis = project.get_analysis(task.analysis_id)
    definition = analysis.get_definition()
    definition.get_raw()["name"] = "churn_model"
    analysis.set_definition(definition)

    # One left with the name DSS gave its analysis, which the configuration cannot write: reported.
    other = project.create_prediction_ml_task("customers", "fee", prediction_type="REGRESSION")
    default_name = project.get_analysis(other.analysis_id).get_definition().get_raw()["name"]

    root = write_config(tmp_path / "cfg", {})
    output = run_cli(root, "import", "project", "MLI", "-e", "dev", env=cli_env(dss)).output
    assert default_name in output, output
    written = yaml.safe_load((root / "projects" / "mli.yml").read_text(encoding="utf-8"))
    assert len(written["ml_tasks"]) == 1, written
    item = written["ml_tasks"][0]
    assert item["name"] == "churn_model" and item["target"] == "churned" and item["prediction_type"] == "binary_classification", item
    assert item["algorithms"], item
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # Left out of the configuration: the task goes, its analysis (the user's scripts, charts) stays.
    del written["ml_tasks"]
    (root / "projects" / "mli.yml").write_text(yaml.safe_dump(written), encoding="utf-8")
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert task.analysis_id in [a["analysisId"] for a in project.list_analyses()]
    assert project.get_analysis(task.analysis_id).list_ml_tasks()["mlTasks"] == []


def test_a_clustering_task_converges(dss: Any, tmp_path: Path) -> None:
    """A clustering task: no target nor prediction type; its algorithms are DSS's own keys; its saved
    model deploys its one algorithm."""
    text = PROJECT.replace(f"key: {KEY}", "key: MLC").split("ml_tasks:")[0] + (
        "ml_tasks:\n  - name: segments\n    dataset: customers\n    task: clustering\n"
        "    features:\n      customer_id: {role: reject}\n    algorithms:\n      kmeans_clustering: {}\n"
        "saved_models:\n  - name: segments_model\n    ml_task: segments\n"
    )
    root = write_config(tmp_path / "cfg", {"mlc.yml": text})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    raw = task_settings(dss, "MLC")
    assert raw["taskType"] == "CLUSTERING" and raw["modeling"]["kmeans_clustering"]["enabled"] is True
    project = dss.client().get_project("MLC")
    [model] = project.list_saved_models()
    assert project.get_saved_model(model["id"]).get_active_version()["snippet"]["algorithm"] == "KMEANS"
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
