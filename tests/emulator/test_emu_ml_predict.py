"""The model-use helpers scoring and evaluation recipes build on (ml_training.evaluate, predict):
a model trained through dataikuapi, then used on the emulator's own store."""

from __future__ import annotations

import pytest
from dss_emulator import ml_training
from dss_emulator.server import EmulatorServer
from emu_helpers import dataset_with_rows

ROWS = b"age,plan,spend,churned\n" + b"".join(
    f"{20 + i % 40},{['gold', 'silver', 'bronze'][i % 3]},{10 + (i * 7) % 90}.5,{['left', 'stayed'][i % 2]}\n".encode()
    for i in range(30)
)


@pytest.fixture
def server():
    server = EmulatorServer(port=0, api_key="k").start()
    yield server
    server.stop()


def _trained(server, target):
    import dataikuapi

    project = dataikuapi.DSSClient(server.url, "k").get_project("PRED")
    task = project.create_prediction_ml_task("churn", target)
    model_id = task.train()[0]
    proj = server.app.store.projects["PRED"]
    return proj, proj.collection("mltasks")[task.mltask_id]["models"][model_id], task, model_id


def test_evaluate_on_the_training_rows_gives_the_model_metrics(server):
    import dataikuapi

    dataset_with_rows(dataikuapi.DSSClient(server.url, "k").create_project("PRED", "P", "admin"), "churn", ROWS)
    proj, model, task, model_id = _trained(server, "churned")
    metrics = ml_training.evaluate(server.app.store, proj, "churn", model["details"])
    assert metrics["auc"] == task.get_trained_model_details(model_id).get_performance_metrics()["auc"]


def test_predictions_are_deterministic_and_plausible(server):
    import dataikuapi

    dataset_with_rows(dataikuapi.DSSClient(server.url, "k").create_project("PRED", "P", "admin"), "churn", ROWS)
    _proj, model, _task, _id = _trained(server, "churned")
    row = {"age": 30, "plan": "gold", "spend": 12.5}
    first = ml_training.predict(model["details"], row)
    assert first == ml_training.predict(model["details"], dict(row))
    assert first["prediction"] in ("left", "stayed")
    assert first["proba_left"] + first["proba_stayed"] == pytest.approx(1.0, abs=1e-5)
    assert (first["proba_stayed"] >= 0.5) == (first["prediction"] == "stayed")
    _proj, regression, _task, _id = _trained(server, "spend")
    value = ml_training.predict(regression["details"], row)["prediction"]
    info = regression["details"]["trainInfo"]
    assert abs(value - info["targetMean"]) <= info["targetStd"]
