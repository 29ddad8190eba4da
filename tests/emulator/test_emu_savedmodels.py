"""Saved models, their versions and their training recipe's builds, as dataikuapi calls them."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, dataset_with_rows, raises_dss

ROWS = b"age,plan,spend,churned\n" + b"".join(
    f"{20 + i % 40},{['gold', 'silver', 'bronze'][i % 3]},{10 + (i * 7) % 90}.5,{['left', 'stayed'][i % 2]}\n".encode()
    for i in range(30)
)
MORE = ROWS + b"61,gold,99.5,left\n62,silver,12.5,stayed\n"


@pytest.fixture
def project(dss_client):
    project = dss_client.create_project("SM", "Saved models", "admin")
    dataset_with_rows(project, "churn", ROWS)
    return project


@pytest.fixture
def deployed(project):
    task = project.create_prediction_ml_task("churn", "churned")
    answer = task.deploy_to_flow(task.train()[0], "Churn", "churn")
    return project.get_saved_model(answer["savedModelId"]), answer["trainRecipeName"]


def test_list_get_save_and_delete(dss, project, deployed):
    saved, recipe = deployed
    assert [m["id"] for m in project.list_saved_models()] == [saved.id]
    settings = saved.get_settings()
    assert settings.prediction_type == "BINARY_CLASSIFICATION"
    raw = settings.get_raw()
    raw["name"], raw["activeVersion"], raw["tags"] = "Renamed", "bogus", ["ml"]
    settings.save()
    again = saved.get_settings().get_raw()
    assert (again["name"], again["activeVersion"], again["tags"]) == ("Renamed", "initial", ["ml"])
    assert again["versionTag"]["versionNumber"] == 1 and again["projectKey"] == "SM" and again["id"] == saved.id
    dss.admin.set_behaviour(saved_model_delete="with_recipe")
    saved.delete()
    assert project.list_saved_models() == [] and [r.name for r in project.list_recipes()] == []
    raises_dss(NOT_FOUND, lambda: saved.get_settings())
    assert recipe not in [r.name for r in project.list_recipes()]


def test_delete_alone_keeps_the_training_recipe(project, deployed):
    saved, recipe = deployed
    saved.delete()  # the default: the saved model and its versions only
    assert project.list_saved_models() == [] and [r.name for r in project.list_recipes()] == [recipe]
    project.get_recipe(recipe).delete()
    assert project.list_recipes() == []


def test_build_runs_the_training_recipe(project, deployed):
    saved, _recipe = deployed
    job = project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(saved.id, object_type="SAVED_MODEL")
    assert job.start_and_wait().get_status()["baseStatus"]["state"] == "DONE"
    versions = saved.list_versions()
    assert versions[0]["id"] == "initial" and versions[1]["id"].isdigit() and versions[1]["active"]
    raw = saved.get_settings().get_raw()
    assert raw["activeVersion"] == versions[1]["id"] and raw["lastTrainIndex"] == 2 and raw["lastTrainJobId"]
    retrained = saved.get_version_details(versions[1]["id"]).get_performance_metrics()["auc"]
    initial = saved.get_version_details("initial").get_performance_metrics()["auc"]
    assert retrained == initial  # same rows, same algorithm and parameters, same split
    # new rows: another model; a MANUAL publish policy keeps the active version
    dataset_with_rows(project, "more", MORE)
    project.get_dataset("churn").clear()
    project.get_dataset("more").copy_to(project.get_dataset("churn")).wait_for_result()
    settings = saved.get_settings()
    settings.get_raw()["publishPolicy"] = "MANUAL"
    settings.save()
    project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(saved.id, object_type="SAVED_MODEL").start_and_wait()
    third = saved.list_versions()[2]
    assert not third["active"] and saved.get_active_version()["id"] == versions[1]["id"]
    assert saved.get_version_details(third["id"]).get_performance_metrics()["auc"] != retrained


def test_scenario_build_step_trains(project, deployed):
    saved, _recipe = deployed
    scenario = project.create_scenario("Retrain", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append({"type": "build_flowitem", "name": "train", "params": {
        "builds": [{"type": "SAVED_MODEL", "itemId": saved.id}], "jobType": "RECURSIVE_FORCED_BUILD"}})
    settings.save()
    run = scenario.run_and_wait()
    assert run.outcome == "SUCCESS"
    assert len(saved.list_versions()) == 2


def test_versions_activate_and_delete(project, deployed):
    saved, _recipe = deployed
    project.new_job("NON_RECURSIVE_FORCED_BUILD").with_output(saved.id, object_type="SAVED_MODEL").start_and_wait()
    latest = saved.get_active_version()["id"]
    assert latest != "initial"
    saved.set_active_version("initial")
    assert saved.get_active_version()["id"] == "initial"
    raises_dss(ILLEGAL_ARGUMENT, lambda: saved.delete_versions(["initial"]), "active version")
    raises_dss(NOT_FOUND, lambda: saved.delete_versions(["123"]))
    saved.delete_versions([latest])
    assert [v["id"] for v in saved.list_versions()] == ["initial"]
    raises_dss(NOT_FOUND, lambda: saved.set_active_version(latest))
    raises_dss(NOT_FOUND, lambda: saved.get_version_details(latest))
    metrics = saved.get_metric_values("initial")
    auc = saved.get_version_details("initial").get_performance_metrics()["auc"]
    assert metrics.get_global_value("model_perf:AUC") == auc
    details = saved.get_version_details("initial")
    details.get_user_meta()["description"] = "first"
    details.save_user_meta()
    assert saved.get_version_details("initial").get_user_meta()["description"] == "first"


def test_a_scoring_recipe_may_read_a_saved_model(project, deployed):
    saved, _recipe = deployed
    creator = project.new_recipe("prediction_scoring", "score_churn")
    creator.with_input_model(saved.id).with_input("churn").with_new_output("scored", "filesystem_managed")
    recipe = creator.create()
    inputs = recipe.get_settings().get_recipe_inputs()
    assert inputs["model"]["items"][0]["ref"] == saved.id


def test_flow_graph_zones_and_recipe_run(project, deployed):
    saved, recipe = deployed
    graph = project.get_flow().get_graph()
    assert graph.nodes[saved.id]["type"] == "COMPUTABLE_SAVED_MODEL"
    assert graph.nodes[saved.id]["predecessors"] == [recipe]
    assert [type(o).__name__ for o in graph.get_successor_computables(recipe, as_type="object")] == ["DSSSavedModel"]
    zone = project.get_flow().create_zone("Models")
    zone.add_item(saved)
    assert {(i.id if hasattr(i, "id") else i.name) for i in zone.items} == {saved.id, recipe}
    assert saved.get_zone().id == zone.id
    project.get_recipe(recipe).run()
    assert len(saved.list_versions()) == 2
    saved.delete()
    project.get_recipe(recipe).delete()
    assert project.get_flow().get_zone(zone.id).items == []


def test_create_mlflow_and_external_models(project):
    mlflow = project.create_mlflow_pyfunc_model("From MLflow", "REGRESSION")
    raw = mlflow.get_settings().get_raw()
    assert (raw["savedModelType"], raw["contentType"], raw["name"]) == ("MLFLOW_PYFUNC", "mlflow_python/prediction/py_memory", "From MLflow")
    assert raw["miniTask"]["predictionType"] == "REGRESSION" and "activeVersion" not in raw and "versionTag" not in raw
    assert mlflow.list_versions() == [] and mlflow.get_active_version() is None
    proxy = project.create_external_model("Proxy", "BINARY_CLASSIFICATION", {"protocol": "sagemaker", "region": "eu-west-1"})
    assert proxy.get_settings().get_raw()["proxyModelConfiguration"]["protocol"] == "sagemaker"
    assert [m["id"] for m in project.list_saved_models()] == [mlflow.id, proxy.id]
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_mlflow_pyfunc_model("", "REGRESSION"))
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_mlflow_pyfunc_model("x", "RANKING"))


def test_restart_keeps_ml_tasks_models_and_versions(tmp_path):
    from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

    handle = start_subprocess(tmp_path / "data")
    try:
        project = handle.client().create_project("KEEPML", "Kept ML", "admin")
        dataset_with_rows(project, "churn", ROWS)
        task = project.create_prediction_ml_task("churn", "churned")
        model_id = task.train()[0]
        sm_id = task.deploy_to_flow(model_id, "Churn", "churn")["savedModelId"]
        before = project.get_saved_model(sm_id).get_version_details("initial").get_performance_metrics()
    finally:
        stop_subprocess(handle)
    handle = start_subprocess(tmp_path / "data")
    try:
        project = handle.client().get_project("KEEPML")
        assert project.list_ml_tasks()["mlTasks"][0]["mlTaskId"] == task.mltask_id
        assert project.get_ml_task(task.analysis_id, task.mltask_id).get_trained_models_ids()[0] == model_id
        saved = project.get_saved_model(sm_id)
        assert saved.get_version_details("initial").get_performance_metrics() == before
        assert saved.get_active_version()["id"] == "initial"
    finally:
        stop_subprocess(handle)
