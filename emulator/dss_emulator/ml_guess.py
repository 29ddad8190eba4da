"""What DSS's ML task "guess" fills in: the settings document of a new visual-ML task.

DSS reads a sample of the input dataset and decides, per column, a role and a feature type, the
prediction type (from the target column), the target remapping, the weighting, the evaluation metric
and which algorithms are enabled (per guess policy). The emulator does the same on the stored rows
(when the dataset has some), else on the schema alone; the rules are in docs/emulator.md
("Visual ML: the guess"). The documents are real DSS ones (defaults/mltask_*.json).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import dataset_rows, defaults, errors
from .jsoncopy import clone
from .rows import ident
from .store import ProjectData, Store

NUMERIC_TYPES = {"tinyint", "smallint", "int", "bigint", "float", "double"}
DATE_TYPES = {"date", "dateonly", "datetimenotz"}
CLASSIFICATIONS = ("BINARY_CLASSIFICATION", "MULTICLASS")
PREDICTION_TYPES = ("BINARY_CLASSIFICATION", "MULTICLASS", "REGRESSION")
PREDICTION_POLICIES = ("DEFAULT", "SIMPLE_FORMULA", "DECISION_TREE", "EXPLANATORY", "PERFORMANCE")
CLUSTERING_POLICIES = ("KMEANS", "ANOMALY_DETECTION")
SAMPLE_ROWS = 100000  # DSS's default design sample: the first 100,000 rows (splitParams.ssdSelection)

# Algorithms each guess policy enables, per prediction family. DEFAULT is evidenced by the two real
# samples (random forest + logistic regression / ridge); the others are guesses (docs/emulator.md).
POLICY_ALGORITHMS: Dict[str, Dict[str, Tuple[str, ...]]] = {
    "DEFAULT": {
        "classification": ("random_forest_classification", "logistic_regression"),
        "regression": ("random_forest_regression", "ridge_regression"),
    },
    "SIMPLE_FORMULA": {"classification": ("logistic_regression",), "regression": ("ridge_regression",)},
    "DECISION_TREE": {
        "classification": ("decision_tree_classification",),
        "regression": ("decision_tree_regression",),
    },
    "EXPLANATORY": {
        "classification": ("decision_tree_classification", "logistic_regression"),
        "regression": ("decision_tree_regression", "ridge_regression"),
    },
    "PERFORMANCE": {
        "classification": ("random_forest_classification", "gbt_classification", "xgboost"),
        "regression": ("random_forest_regression", "gbt_regression", "xgboost"),
    },
}
CLUSTERING_ALGORITHMS = {"KMEANS": ("kmeans_clustering",), "ANOMALY_DETECTION": ("isolation_forest",)}
EVALUATION_METRIC = {"BINARY_CLASSIFICATION": "ROC_AUC", "MULTICLASS": "ROC_AUC", "REGRESSION": "R2"}


@dataclass
class ColumnProfile:
    """What the guess knows of one column: its storage type and, with rows, its values."""

    name: str
    storage: str
    distinct: Optional[int] = None  # None: the dataset has no rows to look at
    counts: List[Tuple[str, int]] = field(default_factory=list)  # value -> rows (target only)


@dataclass
class DatasetProfile:
    columns: List[ColumnProfile]
    rows: Optional[int]  # None without stored rows


def _rows_sql(store: Store, proj: ProjectData, doc: Dict[str, Any]) -> Optional[str]:
    """A SELECT of the dataset's design sample, or None when it holds no rows."""
    if doc.get("type") not in dataset_rows.FILE_SOURCED and not store.rows.has_rows(proj.key, doc["name"]):
        return None
    try:
        return f"SELECT * FROM ({dataset_rows.read_sql(store, proj.key, doc)}) LIMIT {SAMPLE_ROWS}"
    except errors.DSSError:
        return None


def profile(store: Store, proj: ProjectData, dataset: str, target: Optional[str]) -> DatasetProfile:
    doc = proj.datasets.get(dataset)
    if doc is None:
        raise errors.not_found(f"Dataset {proj.key}.{dataset} does not exist")
    schema = dataset_rows.schema_columns(doc)
    if not schema:
        raise errors.bad_request(f"Dataset {proj.key}.{dataset} has no schema: cannot guess ML task settings")
    columns = [ColumnProfile(c["name"], str(c.get("type") or "string")) for c in schema]
    sql = _rows_sql(store, proj, doc)
    if sql is None:
        return DatasetProfile(columns, None)
    distincts = ", ".join(f"COUNT(DISTINCT {ident(c.name)})" for c in columns)
    found = store.rows.query(f"SELECT COUNT(*), {distincts} FROM ({sql})")[0]
    for column, distinct in zip(columns, found[1:]):
        column.distinct = int(distinct)
        if column.name == target:
            column.counts = [
                (str(v), int(n))
                for v, n in store.rows.query(
                    f"SELECT CAST({ident(column.name)} AS VARCHAR) v, COUNT(*) FROM ({sql}) "
                    f"WHERE {ident(column.name)} IS NOT NULL GROUP BY v ORDER BY v"
                )
            ]
    return DatasetProfile(columns, int(found[0]))


def guess_prediction_type(column: ColumnProfile) -> str:
    """Numeric target: REGRESSION unless it takes exactly two values; any other target: BINARY with
    two values (or boolean), MULTICLASS otherwise (without rows: MULTICLASS, a guess)."""
    if column.storage == "boolean" or column.distinct == 2:
        return "BINARY_CLASSIFICATION"
    if column.storage in NUMERIC_TYPES:
        return "REGRESSION"
    return "MULTICLASS"


def _meaning(storage: str) -> str:
    if storage in ("tinyint", "smallint", "int", "bigint"):
        return "LongMeaning"
    if storage in ("float", "double"):
        return "DoubleMeaning"
    if storage == "boolean":
        return "Boolean"
    if storage in DATE_TYPES:
        return "Date"
    return "Text"


def _feature_template(storage: str, is_target: bool, numeric_target: bool) -> Dict[str, Any]:
    templates = defaults.load("mltask_features.json")
    if is_target:
        return templates["TARGET_NUMERIC" if numeric_target else "TARGET_CATEGORY"]
    if storage in NUMERIC_TYPES:
        return templates["NUMERIC"]
    if storage in DATE_TYPES:
        return templates["DATE"]
    return templates["CATEGORY"]


def per_feature(columns: List[ColumnProfile], target: Optional[str], prediction_type: Optional[str]) -> Dict[str, Any]:
    """One entry per column: INPUT, the target as TARGET, a constant column REJECTed (as DSS does,
    autoReason REJECT_ZERO_VARIANCE)."""
    features: Dict[str, Any] = {}
    for column in columns:
        is_target = column.name == target
        feature = _feature_template(column.storage, is_target, prediction_type == "REGRESSION")
        feature["role"] = "TARGET" if is_target else "INPUT"
        feature["state"]["recordedMeaning"] = _meaning(column.storage)
        if not is_target and column.distinct is not None and column.distinct <= 1:
            feature["role"] = "REJECT"
            feature["autoReason"] = "REJECT_ZERO_VARIANCE"
        features[column.name] = feature
    return features


def target_remapping(column: ColumnProfile) -> List[Dict[str, Any]]:
    """Classification targets: each value mapped to 0..n-1 in value order, with its frequency."""
    return [
        {"sourceValue": value, "mappedValue": index, "sampleFreq": count}
        for index, (value, count) in enumerate(column.counts)
    ]


def enable_algorithms(modeling: Dict[str, Any], enabled: Tuple[str, ...]) -> None:
    for key, algorithm in modeling.items():
        if isinstance(algorithm, dict) and "enabled" in algorithm and key != "propensityModeling":
            algorithm["enabled"] = key in enabled


def prediction_settings(
    store: Store, proj: ProjectData, body: Dict[str, Any], task_id: str, login: str
) -> Dict[str, Any]:
    """The settings of a new PREDICTION task, after the guess."""
    dataset, target = body["inputDataset"], body.get("targetVariable")
    policy = body.get("guessPolicy") or "DEFAULT"
    if body.get("predictionType") not in (None,) + PREDICTION_TYPES:
        raise errors.bad_request(f"Unsupported prediction type {body['predictionType']!r} (one of {', '.join(PREDICTION_TYPES)})")
    if policy not in PREDICTION_POLICIES:
        raise errors.bad_request(f"Unknown guess policy {policy!r} (one of {', '.join(PREDICTION_POLICIES)})")
    data = profile(store, proj, dataset, target)
    by_name = {c.name: c for c in data.columns}
    if target not in by_name:
        raise errors.bad_request(f"Target variable {target!r} is not a column of dataset {dataset}")
    prediction_type = body.get("predictionType") or guess_prediction_type(by_name[target])
    settings = defaults.load("mltask_prediction.json")
    family = "regression" if prediction_type == "REGRESSION" else "classification"
    settings.update(
        predictionType=prediction_type, targetVariable=target, id=task_id, initiator=login,
        name=f"Predict {target}", guessPolicy=policy, backendType=body.get("backendType") or "PY_MEMORY",
    )
    settings["weight"]["weightMethod"] = "CLASS_WEIGHT" if family == "classification" else "NO_WEIGHTING"
    settings["preprocessing"]["per_feature"] = per_feature(data.columns, target, prediction_type)
    if family == "classification":
        settings["preprocessing"]["target_remapping"] = target_remapping(by_name[target])
    settings["modeling"]["metrics"]["evaluationMetric"] = EVALUATION_METRIC[prediction_type]
    enable_algorithms(settings["modeling"], POLICY_ALGORITHMS[policy][family])
    return settings


def clustering_settings(
    store: Store, proj: ProjectData, body: Dict[str, Any], task_id: str, login: str
) -> Dict[str, Any]:
    """The settings of a new CLUSTERING task. No real clustering document was found: this one keeps
    the prediction document's common blocks and DSS's clustering algorithm keys (dataikuapi's
    DSSClusteringMLTaskSettings), see docs/emulator.md."""
    policy = body.get("guessPolicy") or "KMEANS"
    if policy not in CLUSTERING_POLICIES:
        raise errors.bad_request(f"Unknown guess policy {policy!r} (one of {', '.join(CLUSTERING_POLICIES)})")
    data = profile(store, proj, body["inputDataset"], None)
    settings = defaults.load("mltask_clustering.json")
    settings.update(id=task_id, initiator=login, guessPolicy=policy, backendType=body.get("backendType") or "PY_MEMORY")
    settings["name"] = "Clustering" if policy == "KMEANS" else "Anomaly detection"
    settings["preprocessing"]["per_feature"] = per_feature(data.columns, None, None)
    enable_algorithms(settings["modeling"], CLUSTERING_ALGORITHMS[policy])
    return settings


def reguess(store: Store, proj: ProjectData, settings: Dict[str, Any], query: Dict[str, Any], dataset: str) -> Dict[str, Any]:
    """PUT .../guess (query parameters targetVariable, predictionType, fullReguess): the guess runs
    again on the task's dataset, keeping the task's identity (id, name, initiator). A full reguess
    takes the fresh document; a target change (the default) keeps the user's split and the handling
    of the features other than the old and new targets (docs/emulator.md)."""
    request = {
        "inputDataset": dataset,
        "targetVariable": query.get("targetVariable") or settings.get("targetVariable"),
        "predictionType": query.get("predictionType"),
        "guessPolicy": settings.get("guessPolicy"),
        "backendType": settings.get("backendType"),
    }
    fresh = prediction_settings(store, proj, request, settings["id"], settings.get("initiator") or "")
    fresh["name"] = settings.get("name", fresh["name"])
    if str(query.get("fullReguess")).lower() == "true":
        return fresh
    if "splitParams" in settings:
        fresh["splitParams"] = clone(settings["splitParams"])
    targets = {settings.get("targetVariable"), fresh["targetVariable"]}
    kept = (settings.get("preprocessing") or {}).get("per_feature") or {}
    for name in list(fresh["preprocessing"]["per_feature"]):
        if name not in targets and name in kept:
            fresh["preprocessing"]["per_feature"][name] = clone(kept[name])
    return fresh
