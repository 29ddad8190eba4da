"""What ties issue 16's types together, run as a user does (the CLI in a subprocess): an API
service's endpoint names a saved model of the project, so the saved model is created (trained)
before the service that packages it, a misspelled one is a validate error at its line, and
impact analysis lists the service below a change of the model's active version."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.support.cli import cli_env, run_cli, write_config

KEY = "GLUE"
PROJECT = f"""\
project:
  key: {KEY}
  name: ML glue

datasets:
  - name: customers
    type: managed
    schema:
      columns:
        - {{name: plan, type: string}}
        - {{name: churned, type: bigint}}

recipes:
  - name: rows
    type: python
    outputs: [customers]
    code: |
      import dataiku
      with dataiku.Dataset("customers").get_writer() as writer:
          for n in range(40):
              writer.write_row_dict({{"plan": "abc"[n % 3], "churned": n % 2}})

ml_tasks:
  - name: churn
    dataset: customers
    prediction_type: binary_classification
    target: churned

saved_models:
  - name: churn_model
    ml_task: churn
    algorithm: random_forest

api_services:
  - name: churn_api
    endpoints:
      - name: predict
        type: prediction
        saved_model: churn_modl
    packages: [v1]
"""


def test_an_endpoint_s_saved_model_is_a_reference_checked_at_its_line(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"glue.yml": PROJECT})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert re.search(r"projects/glue\.yml:\d+:\d+\b.*endpoints\[0\]\.saved_model\b.*'churn_modl'.*did you mean 'churn_model'", out), out


def test_the_saved_model_is_created_before_the_service_and_the_service_is_below_its_active_version(
        dss: Any, tmp_path: Path) -> None:
    text = PROJECT.replace("churn_modl", "churn_model")
    root = write_config(tmp_path / "cfg", {"glue.yml": text})
    project = dss.client().get_project(KEY)
    run_cli(root, "apply", "-e", "dev", "--target", f"recipe.{KEY}.rows", "--auto-approve", env=cli_env(dss))
    project.get_dataset("customers").build()  # a model trains on rows
    applied = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert "Apply complete!" in applied.stdout, applied.output
    model_id = project.list_saved_models()[0]["id"]
    endpoint = project.get_api_service("churn_api").get_settings().get_raw()["endpoints"][0]
    assert endpoint["modelRef"] == model_id  # the name written as DSS's id
    run_cli(root, "apply", "-e", "dev", "--train", "--auto-approve", env=cli_env(dss))
    versions = [v["id"] for v in project.get_saved_model(model_id).list_versions()]
    assert len(versions) == 2 and "initial" in versions, versions
    pinned = text.replace("    algorithm: random_forest\n", "    algorithm: random_forest\n    active_version: initial\n")
    root = write_config(tmp_path / "cfg", {"glue.yml": pinned})
    plan = run_cli(root, "plan", "-e", "dev", "--json", env=cli_env(dss)).json()
    (change,) = [c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]]
    assert change["address"] == f"saved_model.{KEY}.churn_model", change
    below = [(d["address"], d["relation"]) for d in change["impact"]["downstream"]]
    assert (f"api_service.{KEY}.churn_api", "reads") in below, change["impact"]


def test_what_names_a_replaced_saved_model_by_id_is_written_again_in_the_same_apply(dss: Any, tmp_path: Path) -> None:
    """A replaced saved model comes back with a new DSS id. The scoring and evaluation
    recipes, the API service's endpoint and the scenario's train step name it by id: the same plan
    updates them after it, so one apply converges (before, each kept the dead id until the next plan)."""
    text = (PROJECT.replace("churn_modl", "churn_model")
            .replace("    target: churned\n", "    target: churned\n    algorithms:\n      random_forest: {}\n"
                     "      logistic_regression: {}\n")
            + """
model_evaluation_stores:
  - name: monitoring

scenarios:
  - id: RETRAIN
    name: Retrain
    steps:
      - {type: train, saved_models: [churn_model]}
""").replace("""              writer.write_row_dict({"plan": "abc"[n % 3], "churned": n % 2})
""", """              writer.write_row_dict({"plan": "abc"[n % 3], "churned": n % 2})
  - name: score
    type: score
    model: churn_model
    inputs: [customers]
    outputs: [scored]
  - name: evaluate
    type: evaluate
    model: churn_model
    inputs: [customers]
    outputs: [monitoring]
""").replace("""recipes:""", """  - name: scored
    type: managed

recipes:""", 1)
    assert "type: score" in text and "type: evaluate" in text and "name: scored" in text
    root = write_config(tmp_path / "cfg", {"glue.yml": text})
    project = dss.client().get_project(KEY)
    run_cli(root, "apply", "-e", "dev", "--target", f"recipe.{KEY}.rows", "--auto-approve", env=cli_env(dss))
    project.get_dataset("customers").build()
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    (old,) = [m["id"] for m in project.list_saved_models()]

    # Replaced on request (changing the algorithm is an update since saved models redeploy in place);
    # its versions go with it, so --drop-data is the consent the plan asks for.
    replaced = ("--replace", f"saved_model.{KEY}.churn_model", "--drop-data")
    plan = run_cli(root, "plan", "-e", "dev", "--json", *replaced, env=cli_env(dss)).json()
    actions = {c["address"]: c["action"] for c in plan["resource_changes"] if c["action"] != "no-op"}
    assert actions == {f"saved_model.{KEY}.churn_model": "replace", f"recipe.{KEY}.score": "update",
                       f"recipe.{KEY}.evaluate": "update", f"api_service.{KEY}.churn_api": "update",
                       f"scenario.{KEY}.RETRAIN": "update"}, actions
    run_cli(root, "apply", "-e", "dev", "--auto-approve", *replaced, env=cli_env(dss))
    (new,) = [m["id"] for m in project.list_saved_models()]
    assert new != old
    for recipe in ("score", "evaluate"):
        refs = project.get_recipe(recipe).get_settings().get_recipe_raw_definition()["inputs"]["model"]["items"]
        assert [r["ref"] for r in refs] == [new], (recipe, refs)
    assert project.get_api_service("churn_api").get_settings().get_raw()["endpoints"][0]["modelRef"] == new
    after = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=None)
    assert after.returncode == 0 and after.last_line().startswith("No changes."), after.output
