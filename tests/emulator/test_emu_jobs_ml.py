"""Scoring and evaluation recipes: created with dataikuapi's creators, run as jobs on the stored rows."""

from __future__ import annotations

import json

import pytest
from dataikuapi.dss.recipe import EvaluationRecipeCreator, PredictionScoringRecipeCreator
from emu_helpers import ILLEGAL_ARGUMENT, dataset_with_rows, raises_dss

TRAIN = b"age,spend,churned\n" + b"".join(
    f"{20 + i % 40},{10 + (i * 7) % 90}.5,{['left', 'stayed'][i % 2]}\n".encode() for i in range(30)
)
# Same columns, older and bigger spenders: the means move.
NEW = b"age,spend,churned\n" + b"".join(
    f"{50 + i % 20},{80 + i % 15}.5,{['left', 'stayed'][i % 3 == 0]}\n".encode() for i in range(12)
)
REGRESSION = b"age,spend\n" + b"".join(f"{20 + i},{3 * i + 5}.0\n".encode() for i in range(20))


@pytest.fixture
def project(dss_client):
    project = dss_client.create_project("SCORE", "Scoring", "admin")
    dataset_with_rows(project, "train", TRAIN)
    dataset_with_rows(project, "new", NEW)
    return project


def deploy(project, dataset="train", target="churned"):
    task = project.create_prediction_ml_task(dataset, target)
    return project.get_saved_model(task.deploy_to_flow(task.train()[0], "Model " + target, dataset)["savedModelId"])


def build(project, ref, kind="DATASET"):
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(ref, object_type=kind).start_and_wait(no_fail=True)
    return job.get_status()["baseStatus"]["state"], job.get_log()


def scoring(project, model, name="score_new", output="new_scored"):
    creator = PredictionScoringRecipeCreator(name, project)
    creator.with_input_model(model.id)
    creator.with_input("new")
    creator.with_new_output(output, "filesystem_managed")
    return creator.create()


def test_scoring_recipe_document(project):
    model = deploy(project)
    recipe = scoring(project, model).get_settings()
    raw = recipe.get_recipe_raw_definition()
    assert raw["type"] == "prediction_scoring" and list(raw["inputs"]) == ["model", "main"]
    assert raw["inputs"]["model"]["items"] == [{"ref": model.id, "deps": []}]
    assert raw["outputs"]["main"]["items"] == [{"ref": "new_scored", "appendMode": False}]
    assert raw["params"] == {"containerSelection": {"containerMode": "INHERIT"}}
    payload = recipe.get_json_payload()
    assert payload["predictionType"] == "BINARY_CLASSIFICATION" and payload["outputProbabilities"] is True


def test_scoring_needs_a_saved_model(project):
    creator = PredictionScoringRecipeCreator("bad", project)
    creator.with_input("new")
    creator.with_new_output("out", "filesystem_managed")
    raises_dss(ILLEGAL_ARGUMENT, creator.create, "model")


def test_scoring_writes_deterministic_predictions(project):
    model = deploy(project)
    scoring(project, model)
    assert build(project, "new_scored")[0] == "DONE"
    scored = project.get_dataset("new_scored")
    names = [c["name"] for c in scored.get_settings().get_raw()["schema"]["columns"]]
    assert names == ["age", "spend", "churned", "proba_left", "proba_stayed", "prediction"]
    rows = list(scored.iter_rows())
    assert len(rows) == 12
    for row in rows:
        probas = {"left": float(row[3]), "stayed": float(row[4])}
        assert abs(sum(probas.values()) - 1) < 1e-9 and row[5] == max(probas, key=probas.get)
    assert build(project, "new_scored")[0] == "DONE"
    assert list(scored.iter_rows()) == rows  # same model version, same rows: same predictions


def test_regression_scoring(dss_client, project):
    dataset_with_rows(project, "prices", REGRESSION)
    model = deploy(project, "prices", "spend")
    creator = PredictionScoringRecipeCreator("score_prices", project)
    creator.with_input_model(model.id)
    creator.with_input("prices")
    creator.with_new_output("prices_scored", "filesystem_managed")
    creator.create()
    assert build(project, "prices_scored")[0] == "DONE"
    predictions = [float(r[-1]) for r in project.get_dataset("prices_scored").iter_rows()]
    mean, spread = sum(3 * i + 5 for i in range(20)) / 20, 17.3
    assert len(predictions) == 20 and all(abs(p - mean) <= spread for p in predictions)


def evaluation(project, model, mes_id, name="evaluate_new"):
    creator = EvaluationRecipeCreator(name, project)
    creator.with_input("new")
    creator.with_input_model(model.id)
    creator.with_output_evaluation_store(mes_id)
    return creator.create()


def test_evaluation_records_metrics_and_drift(project):
    model = deploy(project)
    mes = project.create_model_evaluation_store("Monitoring")
    recipe = evaluation(project, model, mes.id)
    raw = recipe.get_settings().get_recipe_raw_definition()
    assert raw["type"] == "evaluation" and list(raw["inputs"]) == ["main", "model"]
    assert raw["outputs"] == {"evaluationStore": {"items": [{"ref": mes.id, "appendMode": False}]}}
    assert json.loads(recipe.get_settings().get_payload())["metrics"][0] == "mrocAUC"
    state, log = build(project, mes.id, "MODEL_EVALUATION_STORE")
    assert state == "DONE", log
    evaluations = mes.list_model_evaluations()
    assert len(evaluations) == 1
    info = evaluations[0].get_full_info()
    assert info.model_full_id == f"S-SCORE-{model.id}-initial" and info.target_variable == "churned"
    assert 0 <= info.metrics["accuracy"] <= 1 and info.metrics["hammingLoss"] == pytest.approx(1 - info.metrics["accuracy"])
    scoring(project, model)  # the same version on the same rows: the probabilities the evaluation used
    assert build(project, "new_scored")[0] == "DONE"
    scored = [(r[2], float(r[4])) for r in project.get_dataset("new_scored").iter_rows()]
    positives = [p for truth, p in scored if truth == "stayed"]
    negatives = [p for truth, p in scored if truth == "left"]
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    assert info.metrics["auc"] == pytest.approx(pairs / (len(positives) * len(negatives)), abs=1e-6)
    shifts = info.get_raw()["evaluation"]["dataDrift"]["columns"]
    assert set(shifts) == {"age", "spend"} and shifts["age"] > 1  # ages 50-69 against 20-59
    assert info.metrics["data_drift"] == 1.0
    assert mes.get_last_metric_values().get_metric_by_id("model_perf:ACCURACY")["lastValues"][0]["value"]


def test_a_failed_check_fails_the_evaluation_job(project):
    model = deploy(project)
    mes = project.create_model_evaluation_store("Guarded")
    settings = mes.get_settings()
    settings.get_raw()["metricsChecks"]["checks"] = [{
        "metricId": "model_perf:DATA_DRIFT", "maximum": 0.2, "maximumEnabled": True, "minimumEnabled": False,
        "softMinimumEnabled": False, "softMaximumEnabled": False, "type": "numericRange",
        "meta": {"name": "Value in range", "label": "drift below 0.2"}}]
    settings.save()
    evaluation(project, model, mes.id)
    state, log = build(project, mes.id, "MODEL_EVALUATION_STORE")
    assert state == "FAILED" and "drift below 0.2" in log
    assert len(mes.list_model_evaluations()) == 1  # recorded, then checked


def test_clustering_scoring_assigns_clusters(project):
    from dataikuapi.dss.recipe import ClusteringScoringRecipeCreator

    task = project.create_clustering_ml_task("train")
    model = project.get_saved_model(task.deploy_to_flow(task.train()[0], "Segments", "train")["savedModelId"])
    creator = ClusteringScoringRecipeCreator("segment_new", project)
    creator.with_input_model(model.id)
    creator.with_input("new")
    creator.with_new_output("new_segmented", "filesystem_managed")
    recipe = creator.create()
    assert recipe.get_settings().get_recipe_raw_definition()["type"] == "clustering_scoring"
    assert build(project, "new_segmented")[0] == "DONE"
    scored = project.get_dataset("new_segmented")
    assert [c["name"] for c in scored.get_settings().get_raw()["schema"]["columns"]][-1] == "cluster"
    clusters = model.get_version_details(model.get_active_version()["id"]).get_raw()["facts"]["clusters"]
    names = {c["clusterName"] for c in clusters}
    assert {row[-1] for row in scored.iter_rows()} <= names


def test_a_smart_build_scores_again_when_the_active_version_changes(project):
    model = deploy(project)
    scoring(project, model)

    def smart_build():
        job = project.new_job("RECURSIVE_BUILD").with_output("new_scored").start_and_wait()
        return [a["recipeName"] for a in job.get_status()["baseStatus"]["activities"].values()]

    assert smart_build()[-1] == "score_new"  # (the saved model, never built by a job, is trained first)
    assert smart_build() == []  # nothing changed
    build(project, model.id, "SAVED_MODEL")  # a new version, activated
    assert smart_build() == ["score_new"]
