"""`apply --train` of a saved model whose ML task changed since it was deployed (resources/saved_model.py
`stale_training`), run as a user does (the CLI in a subprocess) against the emulator: DSS's retraining
runs the training recipe, which keeps the settings copied at deployment, so such a saved model is
trained in the lab with the task's new settings and redeployed to the Flow (redeploy_to_flow): a new
version trained with them, the old versions kept, a pinned version left active. A plan without
--train says the saved model is stale. What it was deployed with is read from DSS, not the state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli import cli_env, run_cli, write_config

KEY = "SMR"
PROJECT = f"""\
project:
  key: {KEY}
  name: Retrained models

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
    features:
      plan: {{role: input, type: category}}
      age: {{role: input, type: numeric}}
    algorithms:
      random_forest: {{n_estimators: 50}}
    hyperparameter_search: {{strategy: grid, validation: kfold, folds: 3}}
    metric: roc_auc
    split: {{ratio: 0.8, seed: 42}}

saved_models:
  - name: churn_model
    ml_task: churn
    algorithm: random_forest
"""
CHANGED = PROJECT.replace("random_forest: {n_estimators: 50}", "random_forest: {n_estimators: 120}\n      logistic_regression: {}")


def cli(dss: Any, root: Path, *args: str, expect: int | None = 0) -> Any:
    return run_cli(root, *args, env=cli_env(dss), expect=expect)


def saved_model(dss: Any) -> Any:
    listed = dss.client().get_project(KEY).list_saved_models()
    assert len(listed) == 1, listed
    return dss.client().get_project(KEY).get_saved_model(listed[0]["id"])


def n_estimators(version: dict[str, Any]) -> Any:
    """What the version was trained with, as its details say (DSS's resolved grid of the forest)."""
    modeling = version["details"]["modeling"]
    return (modeling.get("random_forest_classification_grid") or {}).get("n_estimators")


def versions(dss: Any) -> list[dict[str, Any]]:
    sm = saved_model(dss)
    return [{"id": v["id"], "details": sm.get_version_details(v["id"]).get_raw()} for v in sm.list_versions()]


def test_train_after_the_ml_task_changed_redeploys_with_its_new_settings(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"smr.yml": PROJECT})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    first = versions(dss)
    assert [v["id"] for v in first] == ["initial"] and "50" in str(n_estimators(first[0])), first
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")  # every setting declared: none stale
    assert plan.last_line().startswith("No changes.") and "deployed with other settings" not in plan.output, plan.output

    # Up to date: --train is the plain retraining (the recipe's job), as before.
    plan = cli(dss, root, "plan", "-e", "dev", "--train", "--detailed-exitcode", expect=2).stdout
    assert "a new version" in plan and "retrains with the ML task's new settings" not in plan, plan

    # The ML task's algorithms change: the ML task is updated in place, the saved model is stale.
    (root / "projects" / "smr.yml").write_text(CHANGED, encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert "ml_task.SMR.churn will be updated" in plan.stdout, plan.stdout
    assert "saved_model.SMR.churn_model was deployed with other settings of its ML task (algorithms)" in plan.output, plan.output
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert len(versions(dss)) == 1  # nothing trained without --train
    # Still stale after the apply: read from DSS (the saved model's copy of the task's settings).
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert plan.last_line().startswith("No changes.") and "deployed with other settings" in plan.output, plan.output

    plan = cli(dss, root, "plan", "-e", "dev", "--train", "--detailed-exitcode", expect=2).stdout
    assert "retrains with the ML task's new settings" in plan and "redeployed to the Flow" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--train")
    after = versions(dss)
    assert after[0]["id"] == "initial" and len(after) == 2, after  # the old version is kept
    assert "120" in str(n_estimators(after[1])) and "50" in str(n_estimators(after[0])), after
    assert saved_model(dss).get_active_version()["id"] == after[1]["id"]
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert plan.last_line().startswith("No changes.") and "deployed with other settings" not in plan.output, plan.output
    # The training recipe now trains with the new settings: the next plain retraining keeps them.
    plan = cli(dss, root, "plan", "-e", "dev", "--train", "--detailed-exitcode", expect=2).stdout
    assert "a new version" in plan and "retrains with the ML task's new settings" not in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--train")
    assert "120" in str(n_estimators(versions(dss)[2]))


def test_a_pinned_saved_model_is_redeployed_without_being_activated(dss: Any, tmp_path: Path) -> None:
    pinned = PROJECT + "    active_version: initial\n"
    root = write_config(tmp_path / "cfg", {"smr.yml": PROJECT})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    changed = pinned.replace("n_estimators: 50", "n_estimators: 80").replace("age: {role: input, type: numeric}", "age: {role: reject}")
    (root / "projects" / "smr.yml").write_text(changed, encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--train", "--detailed-exitcode", expect=2).stdout
    assert "settings changed since it was deployed (features, algorithms)" in plan, plan
    assert "not made active: active_version is pinned" in plan, plan
    cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--train")
    after = versions(dss)
    assert len(after) == 2 and "80" in str(n_estimators(after[1])), after
    assert after[1]["details"]["preprocessing"]["per_feature"]["age"]["role"] == "REJECT", after[1]["details"]["preprocessing"]
    assert saved_model(dss).get_active_version()["id"] == "initial"
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")


def test_a_new_algorithm_is_redeployed_into_the_saved_model_keeping_its_versions(dss: Any, tmp_path: Path) -> None:
    both = CHANGED
    root = write_config(tmp_path / "cfg", {"smr.yml": both})
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    sm_id = saved_model(dss).id
    (root / "projects" / "smr.yml").write_text(both.replace("algorithm: random_forest", "algorithm: logistic_regression"), encoding="utf-8")
    plan = cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2).stdout
    assert "saved_model.SMR.churn_model will be updated" in plan and "replaced" not in plan, plan
    assert "changing algorithm trains its ML task again" in plan, plan  # never silent
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    after = versions(dss)
    assert saved_model(dss).id == sm_id and len(after) == 2 and after[0]["id"] == "initial", after
    assert saved_model(dss).get_active_version()["id"] == after[1]["id"]
    assert after[1]["details"]["modeling"]["algorithm"] == "LOGISTIC_REGRESSION", after[1]["details"]["modeling"]
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
    # Back to the forest under a pin: redeployed, not activated, and the plan converges.
    pinned = both + "    active_version: initial\n"
    (root / "projects" / "smr.yml").write_text(pinned, encoding="utf-8")
    cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert len(versions(dss)) == 3 and saved_model(dss).get_active_version()["id"] == "initial"
    assert cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").last_line().startswith("No changes.")
