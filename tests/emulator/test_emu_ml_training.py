"""Training ML tasks and deploying their models to the flow, as dataikuapi's DSSMLTask calls them."""

from __future__ import annotations

import json

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, dataset_with_rows, raises_dss

ROWS = b"customer,age,plan,spend,churned\n" + b"".join(
    f"c{i},{20 + i % 40},{['gold', 'silver', 'bronze'][i % 3]},{10 + (i * 7) % 90}.5,{['left', 'stayed'][i % 2]}\n".encode()
    for i in range(40)
)


@pytest.fixture
def project(dss_client):
    project = dss_client.create_project("TRAIN", "Train", "admin")
    dataset_with_rows(project, "churn", ROWS)
    return project


def test_train_gives_one_model_per_enabled_algorithm(project):
    task = project.create_prediction_ml_task("churn", "churned")
    ids = task.train()
    assert len(ids) == 2 and all(i.startswith(f"A-TRAIN-{task.analysis_id}-{task.mltask_id}-s1-pp1-m") for i in ids)
    assert task.get_trained_models_ids() == ids
    assert task.get_status()["headSessionTask"]["backendType"] == "PY_MEMORY"
    # (get_trained_models_ids(algorithm=...) calls dict.iteritems in dataikuapi 15: unusable on Python 3)
    snippets = task.get_trained_model_snippet(ids=ids)
    assert [snippets[i]["algorithm"] for i in ids] == ["RANDOM_FOREST_CLASSIFICATION", "LOGISTIC_REGRESSION"]
    details = task.get_trained_model_details(ids[0])
    metrics = details.get_performance_metrics()
    assert 0.5 <= metrics["auc"] < 1 and 0 < metrics["accuracy"] < 1 and "algorithm" not in metrics
    assert details.get_raw()["fullModelId"] == ids[0] and details.full_id == ids[0]
    assert details.get_modeling_settings()["algorithm"] == "RANDOM_FOREST_CLASSIFICATION"
    assert details.get_user_meta()["name"] == "Random forest (s1)"
    assert "resolved" in details.get_actual_modeling_params()
    perf = details.get_raw()["perf"]
    assert perf["usedThreshold"] == 0.5 and len(perf["perCutData"]["cut"]) == len(perf["perCutData"]["f1"]) == 41
    assert set(metrics) >= {"auc", "f1", "precision", "recall", "logLoss", "predictionType"} and "aucstd" not in metrics
    again = task.train()
    assert [i.split("-")[-3] for i in again] == ["s2", "s2"] and task.get_trained_models_ids(session_id="s2") == again
    assert task.get_trained_model_details(again[0]).get_performance_metrics()["auc"] == metrics["auc"]


def test_metrics_change_with_what_training_depends_on(project):
    task = project.create_prediction_ml_task("churn", "churned")
    first = task.get_trained_model_details(task.train()[0]).get_performance_metrics()["auc"]
    settings = task.get_settings()
    settings.get_raw()["splitParams"]["ssdSeed"] = 42
    settings.save()
    reseeded_id = task.train()[0]
    assert reseeded_id.endswith("-s2-pp2-m1")  # the data handling changed: a new preprocessing
    assert task.get_trained_model_details(reseeded_id).get_performance_metrics()["auc"] != first
    settings.get_raw()["splitParams"]["ssdSeed"] = 1337
    settings.get_algorithm_settings("RANDOM_FOREST_CLASSIFICATION")["n_estimators"]["values"] = [300]
    settings.save()
    assert task.get_trained_model_details(task.train()[0]).get_performance_metrics()["auc"] != first


def test_kfold_adds_standard_deviations(project):
    task = project.create_prediction_ml_task("churn", "churned")
    settings = task.get_settings()
    settings.get_split_params().set_split_kfold(n_folds=5)
    settings.save()
    metrics = task.get_trained_model_details(task.train()[0]).get_performance_metrics()
    assert metrics["aucstd"] > 0 and metrics["f1std"] > 0


def test_regression_and_clustering_metrics(project):
    task = project.create_prediction_ml_task("churn", "spend")
    metrics = task.get_trained_model_details(task.train()[0]).get_performance_metrics()
    assert 0.3 <= metrics["r2"] < 0.95 and metrics["rmse"] > 0 and metrics["mse"] == pytest.approx(metrics["rmse"] ** 2, rel=1e-4)
    clustering = project.create_clustering_ml_task("churn")
    details = clustering.get_trained_model_details(clustering.train()[0])
    assert "facts" in details.get_raw() and 0.2 <= details.get_performance_metrics()["silhouette"] < 0.7


def test_train_refused_without_algorithm(project):
    task = project.create_prediction_ml_task("churn", "churned")
    settings = task.get_settings()
    settings.disable_all_algorithms()
    settings.save()
    raises_dss(ILLEGAL_ARGUMENT, lambda: task.train(), "no enabled algorithm")


def test_deploy_creates_saved_model_recipe_and_initial_version(project):
    task = project.create_prediction_ml_task("churn", "churned")
    model_id = task.train()[0]
    answer = task.deploy_to_flow(model_id, "Churn model (binary)", "churn")
    sm_id, recipe_name = answer["savedModelId"], answer["trainRecipeName"]
    assert len(sm_id) == 8 and recipe_name == "train_Churn_model__binary_"
    saved = project.get_saved_model(sm_id)
    raw = saved.get_settings().get_raw()
    assert (raw["savedModelType"], raw["name"], raw["activeVersion"]) == ("DSS_MANAGED", "Churn model (binary)", "initial")
    assert raw["lastExportedFrom"] == model_id and raw["contentType"] == "prediction/py_memory"
    assert raw["miniTask"]["predictionType"] == "BINARY_CLASSIFICATION" and "preprocessing" not in raw["miniTask"]
    assert saved.get_origin_ml_task().mltask_id == task.mltask_id
    recipe = project.get_recipe(recipe_name).get_settings()
    assert recipe.type == "prediction_training"
    assert recipe.get_recipe_inputs() == {"main": {"items": [{"ref": "churn", "deps": []}]}}
    assert recipe.get_recipe_outputs() == {"main": {"items": [{"ref": sm_id, "appendMode": False}]}}
    payload = json.loads(recipe.get_payload())
    assert payload["generatingModelId"] == model_id and payload["modeling"]["algorithm"] == "RANDOM_FOREST_CLASSIFICATION"
    assert [(r.name, r.type) for r in project.list_recipes()] == [(recipe_name, "prediction_training")]
    assert [v["id"] for v in saved.list_versions()] == ["initial"] and saved.get_active_version()["id"] == "initial"
    details = saved.get_version_details("initial")
    assert details.get_performance_metrics() == task.get_trained_model_details(model_id).get_performance_metrics()
    assert details.get_origin_analysis_trained_model().full_id == model_id
    raises_dss(NOT_FOUND, lambda: task.deploy_to_flow(model_id, "x", "ghost"))
    raises_dss(NOT_FOUND, lambda: task.deploy_to_flow("A-TRAIN-x-y-s9-pp1-m1", "x", "churn"))


def test_redeploy_adds_an_epoch_millisecond_version(project):
    task = project.create_prediction_ml_task("churn", "churned")
    first, second = task.train()
    sm_id = task.deploy_to_flow(first, "Churn", "churn")["savedModelId"]
    assert task.redeploy_to_flow(second, saved_model_id=sm_id, activate=False) == {"impactsDownstream": False}
    saved = project.get_saved_model(sm_id)
    versions = [v["id"] for v in saved.list_versions()]
    assert versions[0] == "initial" and versions[1].isdigit() and len(versions[1]) == 13
    assert saved.get_active_version()["id"] == "initial"
    task.redeploy_to_flow(second, recipe_name="train_Churn")
    versions = [v["id"] for v in saved.list_versions()]
    assert int(versions[2]) > int(versions[1]) and saved.get_active_version()["id"] == versions[2]
    payload = json.loads(project.get_recipe("train_Churn").get_settings().get_payload())
    assert payload["modeling"]["algorithm"] == "LOGISTIC_REGRESSION"
    assert saved.get_settings().get_raw()["lastExportedFrom"] == second


def test_training_on_an_empty_dataset_fails_as_dss_does(project):
    """A dataset written with no row: each model of the session fails (no metric), it cannot be
    deployed, and a training job on it fails with the reason, adding no version."""
    dataset_with_rows(project, "nobody", ROWS.split(b"\n")[0] + b"\n")
    task = project.create_prediction_ml_task("nobody", "churned")
    ids = task.train()
    info = task.get_trained_model_snippet(ids=ids)[ids[0]]["trainInfo"]
    assert info["state"] == "FAILED" and "train set is empty" in info["failure"]["message"], info
    raises_dss(ILLEGAL_ARGUMENT, lambda: task.deploy_to_flow(ids[0], "nobody_model", "nobody"), "its training failed")
    good = project.create_prediction_ml_task("churn", "churned")
    deployed = good.deploy_to_flow(good.train()[0], "model", "nobody")  # retrained on the empty one
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD")
    job.with_output(deployed["savedModelId"], object_type="SAVED_MODEL")
    done = job.start_and_wait(no_fail=True)
    assert done.get_status()["baseStatus"]["state"] == "FAILED"
    log = done.get_log()
    assert "train set is empty (dataset TRAIN.nobody has no rows)" in log, log
    assert [v["id"] for v in project.get_saved_model(deployed["savedModelId"]).list_versions()] == ["initial"]
