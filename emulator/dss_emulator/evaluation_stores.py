"""Model evaluation stores: their documents, their evaluations, and the checks run on them.

Store layout (routes/evaluationstores.py and builds' evaluation recipes read it; docs/emulator.md
"Model evaluation stores"):

* ``proj.collection("evaluationstores")``: mesId -> the document as ``GET
  /projects/K/evaluationstores/ID`` answers it: ``projectKey``, ``id`` then the keys of DSS's
  ``model_evaluation_stores/<id>.json`` (dss-samples/model_evaluation_store/git_at_creation.json).
* ``proj.collection("model_evaluations")``: mesId -> {evaluationId: full info}, in creation order;
  the full info is what ``GET …/evaluations/E`` answers (``{"evaluation": {...}, "metrics": {...}}``,
  the keys dataikuapi's DSSModelEvaluationFullInfo reads) plus ``checks``, the outcome of the
  store's checks on it.

Metric ids are Metrics & Checks ids ``model_perf:<METRIC>`` (real checks name model_perf:ACCURACY,
model_perf:AUC, model_perf:DATA_DRIFT_PVALUE): the performance metric names in upper case, and
DATA_DRIFT (the drift score) / DATA_DRIFT_PVALUE.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import defaults, errors
from .jsoncopy import clone
from .store import ProjectData, Store

STORES = "evaluationstores"
EVALUATIONS = "model_evaluations"
FLAVOR = "TABULAR"  # the only flavor emulated (dataikuapi: TABULAR, LLM, AGENT)


def store_of(proj: ProjectData, mes_id: str) -> Dict[str, Any]:
    doc = proj.collection(STORES).get(mes_id)
    if doc is None:
        raise errors.not_found(f"Model evaluation store {proj.key}.{mes_id} does not exist")
    return doc


def evaluations_of(proj: ProjectData, mes_id: str) -> Dict[str, Dict[str, Any]]:
    return proj.collection(EVALUATIONS).setdefault(mes_id, {})


def save(store: Store, proj: ProjectData) -> None:
    store.save_collection(proj, STORES)
    store.save_collection(proj, EVALUATIONS)


def new_store(proj: ProjectData, name: str, login: str) -> Dict[str, Any]:
    """A store as DSS writes it at creation (8-character random id, like the samples' dvKk48kU)."""
    pool = proj.collection(STORES)
    mes_id = defaults.random_id(8)
    while mes_id in pool:
        mes_id = defaults.random_id(8)
    doc = defaults.load("model_evaluation_store.json")
    doc["name"] = name
    defaults.stamp_creation(doc, login)
    pool[mes_id] = {"projectKey": proj.key, "id": mes_id, **doc}
    return pool[mes_id]


def metric_id(name: str) -> str:
    return f"model_perf:{name.upper()}"


def metric_points(info: Dict[str, Any]) -> List[Dict[str, Any]]:
    """An evaluation's metrics as Metrics & Checks points (the ComputedMetrics shape of datasets)."""
    created = info["evaluation"]["created"]
    return [
        {
            "metric": {"id": metric_id(name), "metricType": name.upper(), "type": "model_perf", "dataType": "DOUBLE"},
            "lastValues": [{"partition": "NP", "value": str(value), "dataType": "DOUBLE", "computed": created}],
            "displayedAsMetric": True,
        }
        for name, value in info["metrics"].items()
        if isinstance(value, (int, float))
    ]


def _outcome(check: Dict[str, Any], value: Optional[float]) -> Dict[str, Any]:
    """A numericRange check (the only type of the real samples): hard bounds make an ERROR, soft
    ones a WARNING; EMPTY when the metric has no value (DSS's doc lists these four outcomes)."""
    if value is None:
        return {"outcome": "EMPTY", "message": "No value for this metric"}
    for low_key, high_key, outcome in (("minimum", "maximum", "ERROR"), ("softMinimum", "softMaximum", "WARNING")):
        if check.get(f"{low_key}Enabled") and value < float(check.get(low_key) or 0):
            return {"outcome": outcome, "message": f"{value} < {check.get(low_key)}"}
        if check.get(f"{high_key}Enabled") and value > float(check.get(high_key) or 0):
            return {"outcome": outcome, "message": f"{value} > {check.get(high_key)}"}
    return {"outcome": "OK", "message": str(value)}


def run_checks(doc: Dict[str, Any], info: Dict[str, Any], checks: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    """The outcome of each check (the store's, unless given) on one evaluation's metrics."""
    wanted = checks if checks is not None else ((doc.get("metricsChecks") or {}).get("checks") or [])
    values = {metric_id(k): float(v) for k, v in info["metrics"].items() if isinstance(v, (int, float))}
    results = []
    for check in wanted:
        if not isinstance(check, dict):
            continue
        label = (check.get("meta") or {}).get("label") or check.get("metricId")
        results.append({"check": clone(check), "name": label, "value": _outcome(check, values.get(str(check.get("metricId"))))})
    return results


def add_evaluation(
    proj: ProjectData, mes_id: str, evaluation: Dict[str, Any], metrics: Dict[str, Any], login: str
) -> Dict[str, Any]:
    """Record one evaluation (``evaluation`` holds what the caller knows: model ref, prediction type,
    labels…), run the store's checks on it, and bump the store (DSS re-saves the store after each
    run: "Updated summary for model evaluation store", versionNumber 0 -> 16 in the samples)."""
    doc = store_of(proj, mes_id)
    pool = evaluations_of(proj, mes_id)
    evaluation_id = str(evaluation.get("evaluationId") or defaults.random_id(8))
    while evaluation_id in pool and not evaluation.get("evaluationId"):
        evaluation_id = defaults.random_id(8)
    now = defaults.now_ms()
    ref = {"projectKey": proj.key, "mesId": mes_id, "evaluationId": evaluation_id,
           "fullId": f"ME-{proj.key}-{mes_id}-{evaluation_id}"}
    body = {k: clone(v) for k, v in evaluation.items() if k != "evaluationId"}
    user_meta: Dict[str, Any] = {"name": body.pop("name", None) or evaluation_id, "description": "", "labels": [], "starred": False}
    info: Dict[str, Any] = {
        "evaluation": {"ref": ref, "created": now, "runId": evaluation_id, "userMeta": user_meta,
                       "createdBy": {"login": login}, **body},
        "metrics": {k: v for k, v in metrics.items() if v is not None},
    }
    info["checks"] = run_checks(doc, info)
    pool[evaluation_id] = info
    defaults.bump(doc, login)
    return info


def latest(proj: ProjectData, mes_id: str) -> Optional[Dict[str, Any]]:
    pool = evaluations_of(proj, mes_id)
    return list(pool.values())[-1] if pool else None
