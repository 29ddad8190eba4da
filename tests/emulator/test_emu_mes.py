"""Model evaluation stores and their evaluations, as dataikuapi calls them."""

from __future__ import annotations

import pytest
from dataikuapi.dss.evaluationstore import DSSEvaluationStore
from dataikuapi.dss.modelevaluationstore import DSSModelEvaluationStore
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("MES", "Evaluation stores", "admin")


def drift_check(maximum: float) -> dict:
    return {"metricId": "model_perf:DATA_DRIFT", "minimum": 0.0, "maximum": maximum, "softMinimum": 0.0,
            "softMaximum": 0.0, "minimumEnabled": False, "maximumEnabled": True, "softMinimumEnabled": False,
            "softMaximumEnabled": False, "type": "numericRange", "meta": {"name": "Value in range", "label": "drift"},
            "computeOnBuildMode": "PARTITION"}


def test_create_list_get_save_delete(project):
    mes = project.create_model_evaluation_store("Monitoring")
    assert isinstance(mes, DSSModelEvaluationStore) and len(mes.id) == 8
    listed = project.list_model_evaluation_stores()
    assert [type(m) for m in listed] == [DSSModelEvaluationStore] and listed[0].id == mes.id
    raw = mes.get_settings().get_raw()
    assert raw["name"] == "Monitoring" and raw["projectKey"] == "MES" and raw["id"] == mes.id
    assert raw["metricsChecks"] == {"runOnBuild": False, "checks": [], "displayedState": {"partition": "NP", "checks": []}}
    assert raw["versionTag"]["versionNumber"] == 0 and "mesFlavor" not in raw
    settings = mes.get_settings()
    settings.get_raw()["metricsChecks"]["checks"] = [drift_check(0.2)]
    settings.get_raw()["id"] = "forged"
    settings.save()
    again = mes.get_settings().get_raw()
    assert again["metricsChecks"]["checks"][0]["maximum"] == 0.2 and again["id"] == mes.id
    assert again["versionTag"]["versionNumber"] == 1
    assert [s.id for s in project.list_evaluation_stores(flavor="LLM")] == []
    mes.delete()
    assert project.list_model_evaluation_stores() == []
    raises_dss(NOT_FOUND, lambda: mes.get_settings())


def test_bad_settings_are_refused(project):
    mes = project.create_model_evaluation_store("m")
    settings = mes.get_settings()
    settings.get_raw()["metricsChecks"]["checks"] = [{"type": "numericRange"}]
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "metricId")
    settings.get_raw()["metricsChecks"]["checks"], settings.get_raw()["name"] = [], ""
    raises_dss(ILLEGAL_ARGUMENT, settings.save, "name")


def test_custom_evaluations_metrics_and_checks(project):
    mes = project.create_model_evaluation_store("m")
    assert mes.get_latest_model_evaluation() is None and mes.get_last_metric_values().get_raw() == {"metrics": []}
    settings = mes.get_settings()
    settings.get_raw()["metricsChecks"]["checks"] = [drift_check(0.2)]
    settings.save()
    drift = DSSEvaluationStore.MetricDefinition("data_drift", 0.35, "Drift")
    mes.add_custom_model_evaluation([drift], evaluation_id="run1", name="first")
    mes.add_custom_model_evaluation([DSSEvaluationStore.MetricDefinition("data_drift", 0.1)], evaluation_id="run2")
    assert [e.evaluation_id for e in mes.list_model_evaluations()] == ["run1", "run2"]
    assert mes.get_latest_model_evaluation().evaluation_id == "run2"
    info = mes.get_model_evaluation("run1").get_full_info()
    assert info.metrics == {"data_drift": 0.35} and info.full_id == f"ME-MES-{mes.id}-run1"
    assert info.user_meta["name"] == "first"
    last = mes.get_last_metric_values().get_metric_by_id("model_perf:DATA_DRIFT")
    assert last["lastValues"][0]["value"] == "0.1"
    assert [r["value"]["outcome"] for r in mes.run_checks()["results"]] == ["OK"]
    assert [r["value"]["outcome"] for r in mes.run_checks(evaluation_id="run1")["results"]] == ["ERROR"]
    assert [v["value"] for v in mes.get_metric_history("model_perf:DATA_DRIFT")["values"]] == ["0.35", "0.1"]
    mes.delete_model_evaluations(["run1"])
    assert [e.evaluation_id for e in mes.list_model_evaluations()] == ["run2"]
    raises_dss(NOT_FOUND, lambda: mes.get_model_evaluation("run1").get_full_info())
