"""Visual analyses and ML tasks, as dataikuapi (DSSProject, DSSAnalysis, DSSMLTask) calls them."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, dataset_with_rows, raises_dss

CHURN = (
    b"customer,age,plan,spend,churned,country\n"
    b"c1,34,gold,120.5,left,FR\n"
    b"c2,45,silver,80.0,stayed,FR\n"
    b"c3,23,gold,150.25,stayed,FR\n"
    b"c4,52,bronze,20.0,left,FR\n"
    b"c5,31,silver,95.5,stayed,FR\n"
)


@pytest.fixture
def project(dss_client):
    project = dss_client.create_project("LAB", "Lab", "admin")
    dataset_with_rows(project, "churn", CHURN)
    return project


def test_prediction_task_guessed_from_the_rows(project):
    task = project.create_prediction_ml_task("churn", "churned")
    raw = task.get_settings().get_raw()
    assert (raw["taskType"], raw["predictionType"], raw["targetVariable"]) == ("PREDICTION", "BINARY_CLASSIFICATION", "churned")
    assert raw["id"] == task.mltask_id and raw["name"] == "Predict churned" and raw["initiator"] == "admin"
    features = raw["preprocessing"]["per_feature"]
    assert list(features) == ["customer", "age", "plan", "spend", "churned", "country"]
    roles = {name: (f["role"], f["type"]) for name, f in features.items()}
    assert roles == {
        "customer": ("INPUT", "CATEGORY"), "age": ("INPUT", "NUMERIC"), "plan": ("INPUT", "CATEGORY"),
        "spend": ("INPUT", "NUMERIC"), "churned": ("TARGET", "CATEGORY"), "country": ("REJECT", "CATEGORY"),
    }
    assert features["country"]["autoReason"] == "REJECT_ZERO_VARIANCE"
    assert features["spend"]["state"]["recordedMeaning"] == "DoubleMeaning"
    assert raw["preprocessing"]["target_remapping"] == [
        {"sourceValue": "left", "mappedValue": 0, "sampleFreq": 2},
        {"sourceValue": "stayed", "mappedValue": 1, "sampleFreq": 3},
    ]
    assert raw["modeling"]["metrics"]["evaluationMetric"] == "ROC_AUC"
    assert raw["weight"] == {"weightMethod": "CLASS_WEIGHT"}
    settings = task.get_settings()
    assert sorted(settings.get_enabled_algorithm_names()) == ["LOGISTIC_REGRESSION", "RANDOM_FOREST_CLASSIFICATION"]
    assert raw["splitParams"]["ssdTrainingRatio"] == 0.8 and raw["splitParams"]["ssdSeed"] == 1337


def test_prediction_types_and_policies(project):
    regression = project.create_prediction_ml_task("churn", "spend").get_settings().get_raw()
    assert regression["predictionType"] == "REGRESSION" and regression["preprocessing"]["target_remapping"] == []
    assert regression["modeling"]["metrics"]["evaluationMetric"] == "R2"
    assert regression["weight"] == {"weightMethod": "NO_WEIGHTING"}
    multiclass = project.create_prediction_ml_task("churn", "plan", guess_policy="DECISION_TREE")
    settings = multiclass.get_settings()
    assert settings.get_raw()["predictionType"] == "MULTICLASS"
    assert settings.get_enabled_algorithm_names() == ["DECISION_TREE_CLASSIFICATION"]
    forced = project.create_prediction_ml_task("churn", "age", prediction_type="MULTICLASS")
    assert forced.get_settings().get_raw()["predictionType"] == "MULTICLASS"
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_prediction_ml_task("churn", "nope"), "not a column")
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_prediction_ml_task("churn", "age", guess_policy="FAST"))
    raises_dss(NOT_FOUND, lambda: project.create_prediction_ml_task("ghost", "age"))
    forecast = lambda: project.create_timeseries_forecasting_ml_task("churn", "spend", "age")  # noqa: E731
    raises_dss(ILLEGAL_ARGUMENT, forecast, "Unsupported prediction type")
    assert len(project.list_analyses()) == 3  # a refused create leaves no analysis behind


def test_schema_only_dataset_is_guessed_from_its_types(project):
    ds = project.create_dataset("empty", "Filesystem", params={"connection": "filesystem_managed", "path": "/e"})
    settings = ds.get_settings()
    settings.get_raw()["schema"] = {"columns": [{"name": "x", "type": "double"}, {"name": "flag", "type": "boolean"}]}
    settings.save()
    raw = project.create_prediction_ml_task("empty", "flag").get_settings().get_raw()
    assert raw["predictionType"] == "BINARY_CLASSIFICATION"
    assert raw["preprocessing"]["per_feature"]["x"]["role"] == "INPUT"


def test_save_settings_and_reguess(project):
    task = project.create_prediction_ml_task("churn", "churned")
    settings = task.get_settings()
    settings.reject_feature("age")
    settings.set_algorithm_enabled("XGBOOST_CLASSIFICATION", True)
    settings.get_raw()["splitParams"]["ssdTrainingRatio"] = 0.7
    settings.save()
    again = task.get_settings()
    assert again.get_feature_preprocessing("age")["role"] == "REJECT"
    assert "XGBOOST_CLASSIFICATION" in again.get_enabled_algorithm_names()
    assert again.get_raw()["splitParams"]["ssdTrainingRatio"] == 0.7
    task.guess(target_variable="spend")
    raw = task.get_settings().get_raw()
    assert (raw["targetVariable"], raw["predictionType"], raw["id"]) == ("spend", "REGRESSION", task.mltask_id)
    features = raw["preprocessing"]["per_feature"]
    assert (features["spend"]["role"], features["churned"]["role"], features["age"]["role"]) == ("TARGET", "INPUT", "REJECT")
    assert raw["splitParams"]["ssdTrainingRatio"] == 0.7 and raw["preprocessing"]["target_remapping"] == []
    task.guess(full_reguess=True)
    raw = task.get_settings().get_raw()
    assert raw["preprocessing"]["per_feature"]["age"]["role"] == "INPUT" and raw["splitParams"]["ssdTrainingRatio"] == 0.8


def test_clustering_task(project):
    task = project.create_clustering_ml_task("churn")
    settings = task.get_settings()
    raw = settings.get_raw()
    assert raw["taskType"] == "CLUSTERING" and "predictionType" not in raw
    assert settings.get_algorithm_settings("KMEANS")["enabled"] is True
    assert settings.get_algorithm_settings("ISOLATION_FOREST")["enabled"] is False
    anomaly = project.create_clustering_ml_task("churn", guess_policy="ANOMALY_DETECTION").get_settings()
    assert anomaly.get_algorithm_settings("ISOLATION_FOREST")["enabled"] is True


def test_list_get_and_delete(project):
    first = project.create_prediction_ml_task("churn", "churned")
    second = project.create_clustering_ml_task("churn")
    listed = project.list_ml_tasks()["mlTasks"]
    assert [(t["analysisId"], t["mlTaskId"], t["taskType"]) for t in listed] == [
        (first.analysis_id, first.mltask_id, "PREDICTION"), (second.analysis_id, second.mltask_id, "CLUSTERING")
    ]
    analyses = project.list_analyses()
    assert [a["analysisId"] for a in analyses] == [first.analysis_id, second.analysis_id]
    analysis = project.get_analysis(first.analysis_id)
    definition = analysis.get_definition().get_raw()
    assert definition["inputDatasetSmartName"] == "churn"
    assert definition["name"] == "Quick modeling of churned on churn"
    extra = analysis.create_prediction_ml_task("spend")
    assert [t["mlTaskId"] for t in analysis.list_ml_tasks()["mlTasks"]] == [first.mltask_id, extra.mltask_id]
    assert project.get_ml_task(first.analysis_id, extra.mltask_id).get_settings().get_raw()["targetVariable"] == "spend"
    first.delete()
    assert [t["mlTaskId"] for t in analysis.list_ml_tasks()["mlTasks"]] == [extra.mltask_id]
    raises_dss(NOT_FOUND, lambda: first.get_settings())
    raises_dss(NOT_FOUND, lambda: project.get_ml_task(second.analysis_id, extra.mltask_id).get_settings())
    analysis.delete()
    assert [t["mlTaskId"] for t in project.list_ml_tasks()["mlTasks"]] == [second.mltask_id]
    raises_dss(NOT_FOUND, lambda: extra.get_settings())


def test_new_analysis_and_definition(project):
    analysis = project.create_analysis("churn")
    assert [a["analysisId"] for a in project.list_analyses()] == [analysis.analysis_id]
    definition = analysis.get_definition()
    definition.get_raw()["name"] = "Mine"
    definition.save()
    assert analysis.get_definition().get_raw()["name"] == "Mine"
    raises_dss(NOT_FOUND, lambda: project.get_analysis("nope").get_definition())


def test_analyses_follow_a_dataset_rename(project):
    task = project.create_prediction_ml_task("churn", "churned")
    project.get_dataset("churn").rename("customers")
    assert project.get_analysis(task.analysis_id).get_definition().get_raw()["inputDatasetSmartName"] == "customers"
    assert project.list_ml_tasks()["mlTasks"][0]["inputDatasetSmartName"] == "customers"
    assert len(task.train()) == 2
