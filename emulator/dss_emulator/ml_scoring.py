"""Scoring and evaluation recipes: their documents at creation and their runs on the stored rows.

A ``prediction_scoring`` (or ``clustering_scoring``) recipe reads a dataset (role ``main``) and a
saved model (role ``model``) and writes the rows with the model's predictions (role ``main``). An
``evaluation`` recipe reads the same and adds a model evaluation to its model evaluation store
(role ``evaluationStore``), optionally writing the scored rows (role ``main``).

Nothing is learnt: a prediction is a DETERMINISTIC function of the saved model's active version and
the row (docs/emulator.md "Scoring and evaluation"). For draw ``k`` of a row,
``u_k = first 8 hex digits of md5("<fullModelId>|<k>|" + the row's input columns as JSON) / 2^32``
(the target column, when the scored data has one, is left out: it must not decide the prediction):

* classification: one weight ``0.05 + u_k`` per class (the version's target remapping, in DSS's
  order; else the distinct target values of the training dataset, sorted), ``proba_<class>`` = weight / sum of weights, ``prediction`` = the likeliest class;
* regression: ``prediction = mean + std * (2 * u_0 - 1)`` with the training target's mean and
  population standard deviation (the version's trainInfo.targetMean/targetStd, else the data's);
* clustering: ``cluster = "cluster_" + floor(u_0 * nbClusters)``.

An evaluation's metrics are real arithmetic on the scored rows (accuracy, log loss, binary AUC… or
MAE, RMSE, R2…) and its data drift is a mean shift: for each numeric input column found in the training
dataset, ``|mean(evaluated) - mean(train)| / stddev_pop(train)`` (1 when the training column is
constant and the means differ); ``data_drift`` is their average, capped at 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from . import dataset_rows, defaults, errors, evaluation_stores, ml_training, saved_models
from .rows import RowStore, ident, literal
from .store import ProjectData, Store

SCORING, CLUSTERING_SCORING, EVALUATION = "prediction_scoring", "clustering_scoring", "evaluation"
ML_RECIPES = (SCORING, CLUSTERING_SCORING, EVALUATION)
MAX_CLASSES = 50
NUMERIC = ("tinyint", "smallint", "int", "bigint", "float", "double")
# The 2022 regression evaluation sample's outputs and metrics (recipe/evaluation_recipe.payload.json);
# classification ones are the 2023 multiclass sample's (defaults/payload_evaluation.json).
REGRESSION_PAYLOAD = {
    "outputs": ["error", "error_decile", "abs_error_decile", "relative_error"],
    "metrics": ["evs", "mae", "mse", "mape", "rmse", "rmsle", "r2", "pearson", "customScore"],
}


def role_refs(roles: Any, role: str) -> List[str]:
    return [i.get("ref") for i in ((roles or {}).get(role) or {}).get("items") or [] if i.get("ref")]


def model_of(recipe: Dict[str, Any]) -> Optional[str]:
    return next(iter(role_refs(recipe.get("inputs"), "model")), None)


def store_of_recipe(recipe: Dict[str, Any]) -> Optional[str]:
    return next(iter(role_refs(recipe.get("outputs"), "evaluationStore")), None)


# ---------------------------------------------------------------- creation


def check_roles(proj: ProjectData, rtype: str, proto: Dict[str, Any]) -> None:
    """What the creators' roles must name: a saved model of the project as ``model``, a dataset as
    ``main`` input; an evaluation writes a model evaluation store (``evaluationStore``)."""
    models = role_refs(proto.get("inputs"), "model")
    if len(models) != 1 or models[0] not in proj.collection(saved_models.SAVED_MODELS):
        raise errors.bad_request(f"A {rtype} recipe needs one saved model of project {proj.key} as input role 'model'")
    mains = role_refs(proto.get("inputs"), "main")
    if len(mains) != 1 or mains[0] not in proj.datasets:
        raise errors.bad_request(f"A {rtype} recipe needs one dataset as input role 'main'")
    if rtype == EVALUATION:
        stores = role_refs(proto.get("outputs"), "evaluationStore")
        if any(ref not in proj.collection(evaluation_stores.STORES) for ref in stores):
            raise errors.bad_request("The output role 'evaluationStore' must name a model evaluation store")
        if not stores and not role_refs(proto.get("outputs"), "main"):
            raise errors.bad_request("An evaluation recipe writes an evaluation store or a dataset")
    elif not role_refs(proto.get("outputs"), "main"):
        raise errors.bad_request(f"A {rtype} recipe needs an output dataset (role 'main')")


def creation_payload(proj: ProjectData, rtype: str, proto: Dict[str, Any]) -> str:
    """The payload DSS writes for a new recipe (JSON text), per the saved model's prediction type."""
    model = model_of(proto)
    mini = (proj.collection(saved_models.SAVED_MODELS).get(model or "") or {}).get("miniTask") or {}
    prediction_type = mini.get("predictionType")
    if rtype == CLUSTERING_SCORING:
        # No public clustering scoring payload: the scoring one without its prediction keys (a guess).
        payload = defaults.load("payload_prediction_scoring.json")
        for key in ("predictionType", "forcedClassifierThreshold", "overrideModelSpecifiedThreshold", "outputProbabilities"):
            payload.pop(key, None)
    elif rtype == SCORING:
        payload = defaults.load("payload_prediction_scoring.json")
        payload["predictionType"] = prediction_type
    else:
        payload = defaults.load("payload_evaluation.json")
        payload["predictionType"] = prediction_type
        if prediction_type == "REGRESSION":
            payload.update(json.loads(json.dumps(REGRESSION_PAYLOAD)))
    return json.dumps(payload, indent=2)


# ---------------------------------------------------------------- the model


@dataclass
class Model:
    """What a run needs of the saved model's active version (read under the store lock)."""

    sm_id: str
    name: str
    full_id: str
    task_type: str
    prediction_type: Optional[str]
    target: Optional[str]
    train_sql: Optional[str] = None  # the training dataset's rows
    train_columns: List[Dict[str, Any]] = field(default_factory=list)
    clusters: int = 3
    # What the version recorded at training (ml_training: target remapping, trainInfo.targetMean/Std);
    # the training dataset's current rows stand in when a version lacks them.
    trained_classes: List[str] = field(default_factory=list)
    trained_spread: Optional[Tuple[float, float]] = None

    @property
    def classification(self) -> bool:
        return self.task_type != "CLUSTERING" and self.prediction_type in ("BINARY_CLASSIFICATION", "MULTICLASS")


def model_facts(store: Store, proj: ProjectData, sm_id: str) -> Model:
    doc = saved_models.saved_model_of(proj, sm_id)
    version = saved_models.active_version(proj, sm_id)
    if version is None:
        raise errors.bad_request(f"Saved model {proj.key}.{sm_id} has no active version to score with")
    mini = doc.get("miniTask") or {}
    model = Model(sm_id, str(doc.get("name")), f"S-{proj.key}-{sm_id}-{version['id']}",
                  str(mini.get("taskType") or "PREDICTION"), mini.get("predictionType"), mini.get("targetVariable"),
                  clusters=int(version["snippet"].get("nbClusters") or 3))
    details = version.get("details") or {}
    model.trained_classes = ml_training.classes_of(details)
    info = details.get("trainInfo") or {}
    if "targetMean" in info:
        model.trained_spread = (float(info["targetMean"]), float(info.get("targetStd") or 1.0))
    recipe = saved_models.training_recipe_of(proj, sm_id)
    train = next(iter(role_refs(proj.recipes[recipe].get("inputs"), "main")), None) if recipe else None
    train_doc = proj.datasets.get(train or "")
    if train_doc is not None and dataset_rows.schema_columns(train_doc):
        model.train_sql = dataset_rows.read_sql(store, proj.key, train_doc)
        model.train_columns = dataset_rows.schema_columns(train_doc)
    return model


def classes(rows: RowStore, model: Model) -> List[str]:
    if model.trained_classes:
        return model.trained_classes
    if model.train_sql is None or model.target is None:
        raise errors.bad_request(f"Saved model {model.sm_id} has no training data to take its classes from")
    found = rows.query(
        f"SELECT DISTINCT CAST({ident(model.target)} AS VARCHAR) AS c FROM ({model.train_sql}) "
        f"WHERE {ident(model.target)} IS NOT NULL ORDER BY c"
    )
    if not found or len(found) > MAX_CLASSES:
        raise errors.bad_request(f"Saved model {model.sm_id}: {len(found)} classes in its training data")
    return [str(r[0]) for r in found]


def target_spread(rows: RowStore, model: Model) -> Tuple[float, float]:
    if model.trained_spread is not None:
        return model.trained_spread
    if model.train_sql is None or model.target is None:
        return 0.0, 1.0
    t = f"TRY_CAST({ident(model.target)} AS DOUBLE)"
    mean, std = rows.query(f"SELECT avg({t}), stddev_pop({t}) FROM ({model.train_sql})")[0]
    return float(mean or 0.0), float(std or 1.0)


# ---------------------------------------------------------------- scoring


def _draw(model: Model, k: int, features: List[str]) -> str:
    packed = "struct_pack({})".format(", ".join(f"{ident(c)} := {ident(c)}" for c in features)) if features else "''"
    key = literal(f"{model.full_id}|{k}|")
    return f"(('0x' || substr(md5({key} || CAST(to_json({packed}) AS VARCHAR)), 1, 8))::UBIGINT / 4294967296.0)"


def scoring_select(rows: RowStore, model: Model, view: str, columns: List[str]) -> Tuple[str, List[str]]:
    """The scored rows (input columns, then proba_<class>…, then prediction / cluster) and the classes."""
    features = [c for c in columns if c != model.target]
    if model.task_type == "CLUSTERING":
        return f"SELECT *, 'cluster_' || CAST(floor({_draw(model, 0, features)} * {model.clusters}) AS INTEGER) AS cluster FROM {view}", []
    if not model.classification:
        mean, std = target_spread(rows, model)
        return f"SELECT *, {mean!r} + {std!r} * (2 * {_draw(model, 0, features)} - 1) AS prediction FROM {view}", []
    names = classes(rows, model)
    weights = ", ".join(f"0.05 + {_draw(model, k, features)} AS __w{k}" for k in range(len(names)))
    total = " + ".join(f"__w{k}" for k in range(len(names)))
    probas = ", ".join(f"__w{k} / ({total}) AS {ident('proba_' + c)}" for k, c in enumerate(names))
    best = "greatest({})".format(", ".join(f"__w{k}" for k in range(len(names)))) if len(names) > 1 else "__w0"
    choice = " ".join(f"WHEN __w{k} = {best} THEN {literal(c)}" for k, c in enumerate(names))
    hidden = ", ".join(f"__w{k}" for k in range(len(names)))
    select = (f"SELECT * EXCLUDE ({hidden}), {probas}, CASE {choice} END AS prediction "
              f"FROM (SELECT *, {weights} FROM {view})")
    return select, names


def evaluation_select(model: Model, scored: str, columns: List[str], outputs: List[str]) -> str:
    """The scored rows plus the per-row outputs the payload asks for that the emulator computes
    (``prediction_correct`` for classification, ``error`` / ``relative_error`` for regression)."""
    if model.target is None or model.target not in columns or model.task_type == "CLUSTERING":
        return scored
    t = ident(model.target)
    extra = []
    if model.classification and "prediction_correct" in outputs:
        extra.append(f"CAST({t} AS VARCHAR) = prediction AS prediction_correct")
    if not model.classification and "error" in outputs:
        extra.append(f"prediction - TRY_CAST({t} AS DOUBLE) AS error")
    if not model.classification and "relative_error" in outputs:
        extra.append(f"(prediction - TRY_CAST({t} AS DOUBLE)) / nullif(TRY_CAST({t} AS DOUBLE), 0) AS relative_error")
    return f"SELECT *, {', '.join(extra)} FROM ({scored})" if extra else scored


# ---------------------------------------------------------------- evaluation metrics


def performance(rows: RowStore, model: Model, scored: str, names: List[str]) -> Dict[str, float]:
    if model.target is None or model.task_type == "CLUSTERING":
        return {}
    t = ident(model.target)
    if model.classification:
        truth = f"CAST({t} AS VARCHAR)"
        proba = "CASE {} END".format(" ".join(f"WHEN {truth} = {literal(c)} THEN {ident('proba_' + c)}" for c in names))
        accuracy, log_loss, count = rows.query(
            f"SELECT avg(CASE WHEN {truth} = prediction THEN 1.0 ELSE 0.0 END), -avg(ln(greatest(1e-15, {proba}))), "
            f"count(*) FROM ({scored}) WHERE {t} IS NOT NULL")[0]
        if not count:
            return {}
        found = {"accuracy": round(accuracy, 6), "hammingLoss": round(1 - accuracy, 6), "logLoss": round(log_loss, 6)}
        auc = _binary_auc(rows, scored, truth, names) if len(names) == 2 else None
        if auc is not None:
            found["auc"] = round(auc, 6)
        return found
    y = f"TRY_CAST({t} AS DOUBLE)"
    mae, mse, ss_res, ss_tot, pearson, count = rows.query(
        f"SELECT avg(abs(prediction - {y})), avg((prediction - {y}) ^ 2), sum((prediction - {y}) ^ 2), "
        f"sum(({y} - m) ^ 2), corr(prediction, {y}), count(*) "
        f"FROM (SELECT *, avg({y}) OVER () AS m FROM ({scored})) WHERE {y} IS NOT NULL")[0]
    if not count:
        return {}
    found = {"mae": mae, "mse": mse, "rmse": mse ** 0.5, "r2": 1 - ss_res / ss_tot if ss_tot else 0.0, "pearson": pearson}
    return {k: round(float(v), 6) for k, v in found.items() if v is not None}


def _binary_auc(rows: RowStore, scored: str, truth: str, names: List[str]) -> Optional[float]:
    """ROC AUC of the second class (DSS's positive class, mapped to 1) by the Mann-Whitney rank
    formula on its probability (ties get their average rank); None without both classes."""
    positive, score = literal(names[1]), ident("proba_" + names[1])
    found = rows.query(
        f"SELECT sum(CASE WHEN t = {positive} THEN r ELSE 0 END), count(*) FILTER (WHERE t = {positive}), "
        f"count(*) FILTER (WHERE t <> {positive}) FROM (SELECT {truth} AS t, "
        f"rank() OVER (ORDER BY {score}) + (count(*) OVER (PARTITION BY {score}) - 1) / 2.0 AS r "
        f"FROM ({scored}) WHERE {truth} IS NOT NULL)")[0]
    rank_sum, n_pos, n_neg = found
    if not n_pos or not n_neg:
        return None
    return (float(rank_sum) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def drift(rows: RowStore, model: Model, view: str, columns: List[Dict[str, Any]]) -> Dict[str, float]:
    """The mean shift of each numeric input column against the training data (module docstring)."""
    if model.train_sql is None:
        return {}
    trained = {c["name"] for c in model.train_columns if str(c.get("type")).lower() in NUMERIC}
    shifts = {}
    for column in columns:
        name = column["name"]
        if name == model.target or name not in trained or str(column.get("type")).lower() not in NUMERIC:
            continue
        c = f"CAST({ident(name)} AS DOUBLE)"
        (now,) = rows.query(f"SELECT avg({c}) FROM {view}")[0]
        then, spread = rows.query(f"SELECT avg({c}), stddev_pop({c}) FROM ({model.train_sql})")[0]
        if now is None or then is None:
            continue
        shift = abs(now - then) / spread if spread else (0.0 if now == then else 1.0)
        shifts[name] = round(float(shift), 6)
    return shifts


def record_evaluation(
    proj: ProjectData, mes_id: str, model: Model, dataset: str, payload: Dict[str, Any],
    metrics: Dict[str, float], shifts: Dict[str, float], login: str,
) -> Dict[str, Any]:
    """The evaluation in its store (the store's checks run on it: evaluation_stores.add_evaluation)."""
    if shifts:
        metrics = {**metrics, "data_drift": round(min(1.0, sum(shifts.values()) / len(shifts)), 6)}
    evaluation = {
        "modelRef": {"fullId": model.full_id, "smId": model.sm_id, "name": model.name},
        "predictionType": model.prediction_type, "targetVariable": model.target, "predictionVariable": "prediction",
        "hasModel": True, "evaluationDatasetRef": dataset, "labels": list(payload.get("labels") or []),
        "dataDrift": {"method": "MEAN_SHIFT", "columns": shifts},
    }
    return evaluation_stores.add_evaluation(proj, mes_id, evaluation, metrics, login)
