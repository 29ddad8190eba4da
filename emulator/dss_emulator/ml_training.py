"""Deterministic "training" of visual-ML models: no real ML, plausible metrics.

A trained model's metrics are a function of (the input dataset's rows, the task's target, prediction
type and input features, the algorithm and its parameters, the split's seed, ratio and mode): the same
inputs give the same metrics, any change gives others. The formulas are in docs/emulator.md
("Deterministic training"); they stay within each metric's plausible range (AUC in [0.6, 0.95), R2 in
[0.3, 0.95), RMSE from the target's standard deviation…).

A training *spec* is what one model is trained from, whether it comes from an ML task (one spec per
enabled algorithm) or from a training recipe's payload (the deployed model's algorithm):
``{"taskType", "predictionType", "targetVariable", "preprocessing", "splitParams", "modeling"}`` where
``modeling`` is the single-algorithm modeling of DSS's training-recipe payload (``algorithm``, its
``<key>_grid`` parameters, ``metrics``, ``grid_search_params``…).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any, Dict, List, Optional, Tuple

from . import dataset_rows, errors
from .jsoncopy import clone
from .rows import ident
from .store import ProjectData, Store

TRAINING_RECIPES = {"PREDICTION": "prediction_training", "CLUSTERING": "clustering_training"}
SAMPLE_ROWS = 100000
NOT_ALGORITHMS = {"propensityModeling"}
# Modeling keys whose DSS algorithm name is not the key in upper case (dataikuapi's algorithm maps).
ALGORITHM_NAMES = {
    "svc_classifier": "SVC_CLASSIFICATION", "sgd_classifier": "SGD_CLASSIFICATION", "lars_params": "LARS",
    "keras": "KERAS_CODE", "deep_learning_sparkling": "SPARKLING_DEEP_LEARNING", "gbm_sparkling": "SPARKLING_GBM",
    "rf_sparkling": "SPARKLING_RF", "glm_sparkling": "SPARKLING_GLM", "nb_sparkling": "SPARKLING_NB",
    "mllib_logit": "MLLIB_LOGISTIC_REGRESSION", "mllib_naive_bayes": "MLLIB_NAIVE_BAYES",
    "mllib_linreg": "MLLIB_LINEAR_REGRESSION", "mllib_rf": "MLLIB_RANDOM_FOREST", "mllib_gbt": "MLLIB_GBT",
    "mllib_dt": "MLLIB_DECISION_TREE", "db_scan_clustering": "DBSCAN", "hdb_scan_clustering": "HDBSCAN",
    "spectral_clustering": "SPECTRAL", "ward_clustering": "WARD", "kmeans_clustering": "KMEANS",
    "mini_batch_kmeans_clustering": "MINIBATCH_KMEANS", "gmm_clustering": "GAUSSIAN_MIXTURE",
    "two_step": "TWO_STEP", "isolation_forest": "ISOLATION_FOREST", "mllib_kmeans_clustering": "MLLIB_KMEANS",
    "mllib_gaussian_mixture_clustering": "MLLIB_GAUSSIAN_MIXTURE", "h2o_kmeans": "H20_KMEANS",
}
# How DSS names a trained model ("Random forest (s1)"), for the common algorithms; others: the key.
DISPLAY_NAMES = {
    "random_forest_classification": "Random forest", "random_forest_regression": "Random forest",
    "logistic_regression": "Logistic Regression", "ridge_regression": "Ridge (L2) regression",
    "lasso_regression": "Lasso (L1) regression", "leastsquare_regression": "Ordinary Least Squares",
    "gbt_classification": "Gradient Boosted Trees", "gbt_regression": "Gradient Boosted Trees",
    "decision_tree_classification": "Decision Tree", "decision_tree_regression": "Decision Tree",
    "xgboost": "XGBoost", "lightgbm_classification": "LightGBM", "lightgbm_regression": "LightGBM",
    "extra_trees": "Extra Trees", "knn": "KNN", "neural_network": "Neural Network",
    "kmeans_clustering": "KMeans", "isolation_forest": "Isolation Forest",
}


def algorithm_name(key: str, prediction_type: Optional[str]) -> str:
    if key == "xgboost":
        return "XGBOOST_REGRESSION" if prediction_type == "REGRESSION" else "XGBOOST_CLASSIFICATION"
    return ALGORITHM_NAMES.get(key, key.upper())


def enabled_algorithms(settings: Dict[str, Any]) -> List[Tuple[str, Dict[str, Any]]]:
    """(modeling key, its parameters) of each algorithm the task trains, in the document's order."""
    modeling = settings.get("modeling") or {}
    found = [
        (key, algo) for key, algo in modeling.items()
        if isinstance(algo, dict) and algo.get("enabled") is True and key not in NOT_ALGORITHMS
    ]
    for custom in ("custom_python", "custom_mllib"):
        found += [(str(a.get("name") or custom), a) for a in modeling.get(custom) or [] if a.get("enabled")]
    return found


def single_modeling(settings: Dict[str, Any], key: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """One algorithm's modeling as DSS's training-recipe payload holds it (sample keys: algorithm,
    <algorithm>_grid, metrics, grid_search_params, gridLength…); the `<key>_grid` name is a guess."""
    modeling = settings.get("modeling") or {}
    return {
        "computeLearningCurves": False,
        "max_ensemble_nodes_serialized": modeling.get("max_ensemble_nodes_serialized", 6000),
        "pluginAlgoCustomGridSearch": False,
        f"{key}_grid": clone(params),
        "metrics": clone(modeling.get("metrics") or {}),
        "autoOptimizeThreshold": True,
        "forcedClassifierThreshold": 0.0,
        "grid_search_params": clone(modeling.get("gridSearchParams") or {}),
        "skipExpensiveReports": bool(modeling.get("skipExpensiveReports", False)),
        "algorithm": algorithm_name(key, settings.get("predictionType")),
        "gridLength": grid_length(params),
    }


def grid_length(params: Dict[str, Any]) -> int:
    """How many points the explicit grid has (product of the numbers of values)."""
    size = 1
    for value in params.values():
        if isinstance(value, dict) and isinstance(value.get("values"), list) and value.get("gridMode") == "EXPLICIT":
            size *= max(1, len(value["values"]))
    return size


def spec_from_task(settings: Dict[str, Any], key: str, params: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "taskType": settings.get("taskType"),
        "predictionType": settings.get("predictionType"),
        "targetVariable": settings.get("targetVariable"),
        "preprocessing": clone(settings.get("preprocessing") or {}),
        "splitParams": clone(settings.get("splitParams") or {}),
        "modeling": single_modeling(settings, key, params),
    }


# ---------------------------------------------------------------- the data


class DataFacts:
    """What training reads of the dataset: a digest of its rows, their count, the target's spread."""

    def __init__(self, digest: str, rows: int, target_std: float, target_mean: float, written: bool = True) -> None:
        self.digest, self.rows, self.target_std, self.target_mean = digest, rows, target_std, target_mean
        # Whether the dataset holds data at all: a managed dataset never built is trained on as if
        # it had rows (docs/emulator.md: a known leniency the suites rely on).
        self.written = written

    @property
    def empty(self) -> bool:
        """Written, and no row: DSS fails the training (nothing to learn from)."""
        return self.written and self.rows == 0


# DSS's message when the train set has no row. The wording is a guess (docs/emulator.md): no real
# answer was found; DSS fails each model of the session, and a training job, with a message.
EMPTY_TRAIN_SET = "Training failed: the train set is empty (dataset {key}.{name} has no rows)"


def data_facts(store: Store, proj: ProjectData, dataset: str, target: Optional[str]) -> DataFacts:
    doc = proj.datasets.get(dataset)
    if doc is None:
        raise errors.not_found(f"Dataset {proj.key}.{dataset} does not exist")
    if not dataset_rows.schema_columns(doc):
        raise errors.bad_request(f"Dataset {proj.key}.{dataset} has no schema: cannot train on it")
    holds_rows = doc.get("type") in dataset_rows.FILE_SOURCED or store.rows.has_rows(proj.key, dataset)
    if not holds_rows:
        return DataFacts(hashlib.sha256(b"no rows").hexdigest(), 0, 1.0, 0.0, written=False)
    sql = f"SELECT * FROM ({dataset_rows.read_sql(store, proj.key, doc)}) LIMIT {SAMPLE_ROWS}"
    rows = store.rows.query(f"SELECT * FROM ({sql}) ORDER BY ALL")
    digest = hashlib.sha256(json.dumps([[str(v) for v in r] for r in rows]).encode("utf-8")).hexdigest()
    std, mean = 1.0, 0.0
    names = [c["name"] for c in dataset_rows.schema_columns(doc)]
    if target is not None and target in names:
        found = store.rows.query(
            f"SELECT stddev_pop(TRY_CAST({ident(target)} AS DOUBLE)), avg(TRY_CAST({ident(target)} AS DOUBLE)) FROM ({sql})"
        )[0]
        std = float(found[0]) if found[0] is not None and found[0] > 0 else 1.0
        mean = float(found[1]) if found[1] is not None else 0.0
    return DataFacts(digest, len(rows), std, mean)


# ---------------------------------------------------------------- the metrics


def draws(spec: Dict[str, Any], facts: DataFacts) -> List[float]:
    """Eight numbers in [0, 1) that depend on everything the training depends on, and nothing else."""
    split = spec.get("splitParams") or {}
    features = sorted(
        name for name, f in ((spec.get("preprocessing") or {}).get("per_feature") or {}).items()
        if f.get("role") == "INPUT"
    )
    modeling = {k: v for k, v in (spec.get("modeling") or {}).items() if k != "metrics"}
    key = json.dumps(
        [facts.digest, spec.get("taskType"), spec.get("predictionType"), spec.get("targetVariable"), features,
         modeling, split.get("ssdSeed"), split.get("ssdTrainingRatio"), split.get("kfold"), split.get("nFolds")],
        sort_keys=True, default=str,
    )
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return [int.from_bytes(digest[i: i + 4], "big") / 2**32 for i in range(0, 32, 4)]


def classification_metrics(u: List[float], multiclass: bool) -> Dict[str, float]:
    auc = 0.6 + 0.35 * u[0]
    accuracy = 0.5 + (auc - 0.5) * (0.8 + 0.2 * u[1])
    precision = min(0.99, accuracy - 0.05 + 0.1 * u[2])
    recall = min(0.99, accuracy - 0.05 + 0.1 * u[3])
    metrics = {
        "auc": auc, "accuracy": accuracy, "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall), "logLoss": -math.log(accuracy),
        "hammingLoss": 1 - accuracy,
    }
    if not multiclass:
        metrics.update(mcc=2 * accuracy - 1, lift=1 + 2 * (auc - 0.5), averagePrecision=(precision + auc) / 2)
    return {k: round(v, 6) for k, v in metrics.items()}


def regression_metrics(u: List[float], facts: DataFacts) -> Dict[str, float]:
    r2 = 0.3 + 0.65 * u[0]
    rmse = facts.target_std * math.sqrt(1 - r2)
    mae = rmse * (0.7 + 0.1 * u[1])
    scale = abs(facts.target_mean) or 1.0
    metrics = {
        "r2": r2, "evs": min(0.99, r2 + 0.01 * u[2]), "pearson": math.sqrt(r2), "rmse": rmse, "mse": rmse * rmse,
        "mae": mae, "mape": min(5.0, mae / scale), "rmsle": math.log1p(rmse / scale),
    }
    return {k: round(v, 6) for k, v in metrics.items()}


def clustering_metrics(u: List[float], facts: DataFacts) -> Dict[str, float]:
    return {"silhouette": round(0.2 + 0.5 * u[0], 6), "inertia": round(facts.rows * (1 + 4 * u[1]), 6),
            "nbClusters": 3 + int(u[2] * 3)}


def metrics_of(spec: Dict[str, Any], facts: DataFacts) -> Dict[str, float]:
    u = draws(spec, facts)
    if spec.get("taskType") == "CLUSTERING":
        return clustering_metrics(u, facts)
    if spec.get("predictionType") == "REGRESSION":
        metrics = regression_metrics(u, facts)
    else:
        metrics = classification_metrics(u, spec.get("predictionType") == "MULTICLASS")
    if (spec.get("splitParams") or {}).get("kfold"):
        # K-fold cross-test: DSS adds each metric's standard deviation across folds ("aucstd").
        metrics.update({f"{k}std": round(abs(v) * 0.02 * (0.5 + u[7]), 6) for k, v in list(metrics.items())})
    return metrics


def per_cut_data(metrics: Dict[str, float]) -> Dict[str, List[float]]:
    """Binary classification: the threshold-dependent metrics at each cut 0, 0.025… 1 (precision
    rising and recall falling with the cut, around the model's values at 0.5)."""
    cuts = [round(i / 40, 3) for i in range(41)]
    precision = [min(0.99, metrics["precision"] * (0.8 + 0.4 * c)) for c in cuts]
    recall = [max(0.01, min(0.99, metrics["recall"] * (1.2 - 0.4 * c))) for c in cuts]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall)]
    accuracy = [metrics["accuracy"] * (1 - 0.2 * abs(c - 0.5)) for c in cuts]
    return {"cut": cuts, **{name: [round(v, 6) for v in values] for name, values in
                            (("precision", precision), ("recall", recall), ("f1", f1), ("accuracy", accuracy))}}


def performance(spec: Dict[str, Any], metrics: Dict[str, float]) -> Dict[str, Any]:
    """The details' ``perf``: the metrics, and for binary classification the per-cut data and the
    threshold used (0.5: the emulator optimises nothing)."""
    perf: Dict[str, Any] = {"metrics": dict(metrics)}
    if spec.get("taskType") == "PREDICTION" and spec.get("predictionType") == "BINARY_CLASSIFICATION":
        perf.update(tiMetrics={k: metrics[k] for k in ("auc", "logLoss", "lift") if k in metrics},
                    perCutData=per_cut_data(metrics), usedThreshold=0.5)
    return perf


# ---------------------------------------------------------------- a trained model


def train(
    store: Store, proj: ProjectData, dataset: str, spec: Dict[str, Any], full_id: str,
    id_parts: Dict[str, str], user_name: str,
) -> Dict[str, Any]:
    """``{"snippet", "details"}`` of one model trained from `spec` on `dataset`. The snippet is what
    dataikuapi's get_performance_metrics returns (minus its bookkeeping keys); details what
    get_trained_model_details wraps ("facts" present for clustering, as dataikuapi tests)."""
    facts = data_facts(store, proj, dataset, spec.get("targetVariable"))
    metrics = metrics_of(spec, facts) if not facts.empty else {}
    now = int(time.time() * 1000)
    ratio = float((spec.get("splitParams") or {}).get("ssdTrainingRatio") or 0.8)
    train_rows = round(facts.rows * ratio)
    train_info: Dict[str, Any] = {"state": "DONE", "startTime": now, "endTime": now, "preprocessingTime": 0, "trainingTime": 0,
                                  "trainRows": train_rows, "testRows": facts.rows - train_rows,
                                  "targetMean": facts.target_mean, "targetStd": facts.target_std}
    if facts.empty:  # nothing to learn from: the model fails, with no metric
        train_info.update(state="FAILED", failure={"message": EMPTY_TRAIN_SET.format(key=proj.key, name=dataset)})
    user_meta = {"name": user_name, "description": "", "labels": [], "clusterLabels": [], "starred": False}
    modeling = spec["modeling"]
    snippet = {
        "fullModelId": full_id, "sessionId": id_parts.get("sessionId", ""), "algorithm": modeling.get("algorithm"),
        "predictionType": spec.get("predictionType"), "trainDate": now, "sessionDate": now, "backendType": "PY_MEMORY",
        "userMeta": clone(user_meta), "trainInfo": clone(train_info), "gridLength": modeling.get("gridLength", 1),
        "gridsearchData": {}, "topImportance": [], **metrics,
    }
    grid: Dict[str, Any] = next((v for k, v in modeling.items() if k.endswith("_grid")), {})
    details: Dict[str, Any] = {
        "fullModelId": full_id, "modeling": clone(modeling), "preprocessing": clone(spec.get("preprocessing") or {}),
        "splitDesc": {"trainRows": train_rows, "testRows": facts.rows - train_rows, "splitParams": clone(spec.get("splitParams") or {})},
        "trainInfo": train_info, "userMeta": user_meta, "actualParams": {"resolved": resolved_params(grid)},
        "coreParams": {"taskType": spec.get("taskType"), "prediction_type": spec.get("predictionType"),
                       "target_variable": spec.get("targetVariable")},
        "perf": performance(spec, metrics) if metrics else {},
        "iperf": {}, "mlDiagnostics": {"diagnostics": []},
    }
    if spec.get("taskType") == "CLUSTERING" and metrics:
        details["facts"] = {"clusters": [{"clusterName": f"cluster_{i}", "facts": []} for i in range(int(metrics["nbClusters"]))]}
    return {"snippet": snippet, "details": details}


def resolved_params(grid: Dict[str, Any]) -> Dict[str, Any]:
    """Post-search parameters: the first explicit value of each searched parameter (the emulator
    does no search), other parameters as set."""
    resolved: Dict[str, Any] = {}
    for name, value in grid.items():
        if isinstance(value, dict) and isinstance(value.get("values"), list):
            resolved[name] = value["values"][0] if value["values"] else None
        elif name != "enabled":
            resolved[name] = clone(value)
    return resolved


def display_name(key: str, session_id: str) -> str:
    return f"{DISPLAY_NAMES.get(key, key)} ({session_id})"


# ---------------------------------------------------------------- using a trained model


def spec_from_details(details: Dict[str, Any]) -> Dict[str, Any]:
    """The training spec a model (or saved model version) was trained from, read back from its details."""
    core = details.get("coreParams") or {}
    return {
        "taskType": core.get("taskType"), "predictionType": core.get("prediction_type"),
        "targetVariable": core.get("target_variable"), "preprocessing": details.get("preprocessing") or {},
        "splitParams": (details.get("splitDesc") or {}).get("splitParams") or {},
        "modeling": details.get("modeling") or {},
    }


def evaluate(store: Store, proj: ProjectData, dataset: str, details: Dict[str, Any]) -> Dict[str, float]:
    """The metrics of a trained model on `dataset`'s rows (for evaluation recipes): the training
    formulas on those rows, so evaluating on the rows it was trained on gives its own metrics."""
    spec = spec_from_details(details)
    return metrics_of(spec, data_facts(store, proj, dataset, spec.get("targetVariable")))


def classes_of(details: Dict[str, Any]) -> List[str]:
    """A classifier's classes in DSS's order (the target remapping's mapped values)."""
    remapping = (details.get("preprocessing") or {}).get("target_remapping") or []
    return [str(r["sourceValue"]) for r in sorted(remapping, key=lambda r: r.get("mappedValue", 0))]


def predict(details: Dict[str, Any], row: Dict[str, Any]) -> Dict[str, Any]:
    """A deterministic prediction for one row (for scoring recipes), a function of the model's id and
    the row's values: classification ``{"prediction", "proba_<class>"…}`` (probabilities summing to
    1, the prediction the most probable class, 0.5 threshold for binary), regression
    ``{"prediction"}`` (the train target's mean ± its standard deviation), clustering
    ``{"cluster": "cluster_<i>"}``."""
    key = json.dumps([details.get("fullModelId"), sorted((str(k), str(v)) for k, v in row.items())])
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    u = [int.from_bytes(digest[i: i + 4], "big") / 2**32 for i in range(0, 32, 4)]
    core = details.get("coreParams") or {}
    if core.get("taskType") == "CLUSTERING":
        clusters = (details.get("facts") or {}).get("clusters") or [{"clusterName": "cluster_0"}]
        return {"cluster": clusters[int(u[0] * len(clusters))]["clusterName"]}
    if core.get("prediction_type") == "REGRESSION":
        info = details.get("trainInfo") or {}
        mean, std = float(info.get("targetMean", 0.0)), float(info.get("targetStd", 1.0))
        return {"prediction": round(mean + std * (2 * u[0] - 1), 6)}
    classes = classes_of(details) or ["0", "1"]
    weights = [u[i % 8] + 1e-9 for i in range(len(classes))]
    probas = [w / sum(weights) for w in weights]
    best = max(range(len(classes)), key=lambda i: probas[i])
    if len(classes) == 2:
        best = 1 if probas[1] >= 0.5 else 0
    out: Dict[str, Any] = {"prediction": classes[best]}
    out.update({f"proba_{c}": round(p, 6) for c, p in zip(classes, probas)})
    return out


def failure_of(model: Dict[str, Any]) -> Optional[str]:
    """The message of a model whose training failed (its trainInfo), or None."""
    info = (model.get("snippet") or model).get("trainInfo") or {}
    if info.get("state") != "FAILED":
        return None
    return str((info.get("failure") or {}).get("message") or "Training failed")
