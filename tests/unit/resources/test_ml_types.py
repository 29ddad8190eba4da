"""ML tasks and saved models: what the emulator cannot show or what is cheaper to hold here, on real
DSS documents (tests/fixtures/dss-samples): the settings patch reads back as declared, enabled
algorithms are exactly the declared ones, a mistake DSS would reject is named; a saved model's
origin, training dataset and version pin; --train in plans."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from dataiku_iac.model import Resource, SourceRef
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.resources import ml_task, saved_model
from dataiku_iac.resources.base import Observed, ProjectContext
from dataiku_iac.resources.policy import FieldPolicy

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "dss-samples"
BINARY = json.loads((SAMPLES / "ml_task" / "export_binary_classification_dss1355.json").read_text())
REGRESSION = json.loads((SAMPLES / "ml_task" / "git_regression_after_guess.json").read_text())


def _logical(settings: dict) -> dict:
    doc = {"analysisId": "A", "mlTaskId": "T", "settings": settings, "analysis": {"name": "n", "inputDatasetSmartName": "d"}}
    return ml_task.MlTaskHandler().to_logical(doc, ProjectContext("P"))


DECLARED = {
    "features": {"80_State": {"role": "reject"}, "80_Area code": {"role": "input", "type": "category"}},
    "algorithms": [{"algorithm": "logistic_regression", "C": [0.5, 5.0], "penalty": "l1"},
                   {"algorithm": "random_forest", "n_estimators": 30}],
    "hyperparameter_search": {"strategy": "bayesian", "validation": "split", "split_ratio": 0.7, "seed": 3},
    "metric": "f1",
    "split": {"ratio": 0.6, "seed": 9, "mode": "sorted"},
}


def test_declared_settings_read_back_as_declared_on_a_real_task() -> None:
    raw = copy.deepcopy(BINARY)
    ml_task.patch_settings(raw, DECLARED, "ml_task.P.n")
    logical = _logical(raw)
    policy: FieldPolicy = ml_task.POLICY
    for name, value in DECLARED.items():
        assert policy.equal(name, value, logical[name]), (name, logical[name])
    # Enabled = declared: every other algorithm DSS's guess enabled is off.
    assert [a["algorithm"] for a in logical["algorithms"]] == ["logistic_regression", "random_forest"]
    assert raw["modeling"]["logistic_regression"]["penalty"]["values"]["l2"]["enabled"] is False
    # A column not declared keeps DSS's handling.
    assert raw["preprocessing"]["per_feature"]["80_Total day calls"] == BINARY["preprocessing"]["per_feature"]["80_Total day calls"]


def test_an_unchanged_task_patches_to_the_same_document() -> None:
    raw = copy.deepcopy(REGRESSION)
    logical = _logical(raw)
    declared = {k: logical[k] for k in ("algorithms", "hyperparameter_search", "metric", "split")}
    ml_task.patch_settings(raw, declared, "ml_task.P.n")
    assert raw == REGRESSION


def test_what_dss_would_reject_is_named() -> None:
    with pytest.raises(ml_task.SettingsError, match=r"feature 'nope' is not a column DSS knows"):
        ml_task.patch_settings(copy.deepcopy(BINARY), {"features": {"nope": {"role": "input"}}}, "ml_task.P.n")
    with pytest.raises(ml_task.SettingsError, match=r"algorithm 'random_forest' has no hyper-parameter 'depth'"):
        ml_task.patch_settings(copy.deepcopy(BINARY), {"algorithms": [{"algorithm": "random_forest", "depth": 3}]}, "x")


def test_algorithm_names_by_prediction_type() -> None:
    assert ml_task.modeling_key("random_forest", "regression") == "random_forest_regression"
    assert ml_task.modeling_key("logistic_regression", "regression") is None
    assert ml_task.snippet_names("xgboost", "binary_classification") == ("XGBOOST_CLASSIFICATION", "XGBOOST_REGRESSION")
    assert ml_task.one_value([8]) == 8 and ml_task.one_value([1, 2]) == [1, 2]


def test_a_saved_models_origin_and_training_dataset() -> None:
    assert saved_model.origin_task("A-CHURN_1-oFntsOZY-MDUoZlbH-s1-pp1-m1") == "oFntsOZY/MDUoZlbH"
    assert saved_model.origin_task(None) is None
    recipes = [
        {"type": "prediction_training", "name": "train_x", "inputs": {"main": {"items": [{"ref": "customers"}]}},
         "outputs": {"main": {"items": [{"ref": "H57yAVS3"}]}}},
        {"type": "python", "name": "p", "inputs": {"main": {"items": [{"ref": "a"}]}}, "outputs": {"main": {"items": [{"ref": "b"}]}}},
    ]
    assert saved_model.training_datasets(recipes) == {"H57yAVS3": "customers"}


def _resource(**attrs: object) -> Resource:
    return Resource("saved_model.P.m", "saved_model", "P", "P", "m", dict(attrs), source=SourceRef("projects/p.yml", 12))


def test_a_pin_must_name_a_version_dss_has() -> None:
    live = Observed("saved_model", "P", "m", "SM1", {"versions": ["initial", "1733312345678"]})
    assert saved_model.check_live(_resource(active_version="initial"), live) == []
    assert saved_model.check_live(_resource(), None) == []
    [(attribute, problem)] = saved_model.check_live(_resource(active_version="42"), live)
    assert attribute == "active_version"  # located where the pin is written (an override's line)
    assert "'42' is not a version" in problem and "its versions: initial, 1733312345678" in problem
    # Not yet created: 'initial' is the version its create makes (active); any other is refused.
    assert saved_model.check_live(_resource(active_version="initial"), None) == []
    [(_, problem)] = saved_model.check_live(_resource(active_version="1733312345678"), None)
    assert "does not exist yet" in problem


def test_versions_are_never_a_difference() -> None:
    assert saved_model.POLICY.equal("versions", ["initial"], ["initial", "2"])


def test_train_is_recorded_in_a_saved_plan() -> None:
    assert PlanOptions.from_json(PlanOptions(train=True).to_json()).train is True
    assert "train" not in PlanOptions().to_json()  # plans without it keep their exact shape


def test_a_snippets_algorithm_is_named_as_the_configuration_names_it() -> None:
    assert ml_task.algorithm_of_snippet("RANDOM_FOREST_REGRESSION", "regression") == "random_forest"
    assert ml_task.algorithm_of_snippet("XGBOOST_CLASSIFICATION", "binary_classification") == "xgboost"
    assert ml_task.algorithm_of_snippet("KMEANS", None) == "kmeans_clustering"
    assert ml_task.snippet_names("kmeans_clustering", None) == ("KMEANS",)


def test_pull_keeps_a_build_step_of_saved_models_in_the_configurations_words() -> None:
    from dataiku_iac.resources import scenario

    imported = {"steps": [{"type": "train", "saved_models": ["m"]}, {"type": "train", "saved_models": ["n"]}]}
    declared = {"steps": [{"type": "build", "saved_models": ["m"]}, {"type": "train", "saved_models": ["n"]}]}
    assert [s["type"] for s in scenario.written_form(declared, imported)["steps"]] == ["build", "train"]
