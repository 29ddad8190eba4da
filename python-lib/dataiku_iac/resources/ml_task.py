"""Visual ML tasks (the Lab): a prediction or clustering task on a dataset, its features, algorithms,
hyper-parameter search, metric and split. docs/ml.md tells the whole story.

DSS keeps an ML task inside a visual analysis and gives both an id of their own (`analysisId`,
`mlTaskId`): the object is found again by the ids the state records (Identity.SERVER_ID), as
`"<analysisId>/<mlTaskId>"`; its name in the configuration is the visual analysis's name.

Created as DSS's own creators create one (`project.create_prediction_ml_task` /
`create_clustering_ml_task`: DSS guesses the features' handling and the algorithms from the
dataset), then one settings save changes only what the configuration declares: the features it
names, the algorithms it enables (an algorithm is enabled exactly when declared), the search, the
metric and the split. Everything else stays as DSS's guess made it. Nothing here ever trains: a
saved model trains its ML task once when it is created (resources/saved_model.py), later only
`apply --train` or a scenario's `train` step do.

The input dataset, the kind of task, the prediction type and the target are what DSS's creators
take: changing one replaces the ML task (DSS guesses again from scratch for a new target).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler
from dataiku_iac.resources.policy import Effect, Field, FieldPolicy, Impact, breaking_when_changed
from dataiku_iac.resources.spec import (
    READS,
    BuildContext,
    ConfigSchema,
    FlowLink,
    Identity,
    ImportContext,
    ResourceSpec,
)

TYPE = "ml_task"
TASKS = ("prediction", "clustering")
PREDICTION_TYPES = ("binary_classification", "multiclass", "regression")

# The configuration's algorithm names -> DSS's `modeling` key, for (classification, regression).
# None: the algorithm does not exist for that kind of prediction.
PREDICTION_ALGORITHMS: dict[str, tuple[Optional[str], Optional[str]]] = {
    "random_forest": ("random_forest_classification", "random_forest_regression"),
    "extra_trees": ("extra_trees", "extra_trees"),
    "gradient_boosted_trees": ("gbt_classification", "gbt_regression"),
    "decision_tree": ("decision_tree_classification", "decision_tree_regression"),
    "logistic_regression": ("logistic_regression", None),
    "ridge_regression": (None, "ridge_regression"),
    "lasso_regression": (None, "lasso_regression"),
    "linear_regression": (None, "leastsquare_regression"),
    "sgd": ("sgd_classifier", "sgd_regression"),
    "svm": ("svc_classifier", "svm_regression"),
    "knn": ("knn", "knn"),
    "neural_network": ("neural_network", "neural_network"),
    "lightgbm": ("lightgbm_classification", "lightgbm_regression"),
    "xgboost": ("xgboost", "xgboost"),
}
# DSS's algorithm names in trained models' snippets ("RANDOM_FOREST_CLASSIFICATION") per modeling key,
# after dataikuapi's DSSPredictionMLTaskSettings._algorithm_remap.
_SNIPPET_NAMES: dict[str, tuple[str, ...]] = {
    "random_forest_classification": ("RANDOM_FOREST_CLASSIFICATION",),
    "random_forest_regression": ("RANDOM_FOREST_REGRESSION",),
    "extra_trees": ("EXTRA_TREES",),
    "gbt_classification": ("GBT_CLASSIFICATION",),
    "gbt_regression": ("GBT_REGRESSION",),
    "decision_tree_classification": ("DECISION_TREE_CLASSIFICATION",),
    "decision_tree_regression": ("DECISION_TREE_REGRESSION",),
    "logistic_regression": ("LOGISTIC_REGRESSION",),
    "ridge_regression": ("RIDGE_REGRESSION",),
    "lasso_regression": ("LASSO_REGRESSION",),
    "leastsquare_regression": ("LEASTSQUARE_REGRESSION",),
    "sgd_classifier": ("SGD_CLASSIFICATION",),
    "sgd_regression": ("SGD_REGRESSION",),
    "svc_classifier": ("SVC_CLASSIFICATION",),
    "svm_regression": ("SVM_REGRESSION",),
    "knn": ("KNN",),
    "neural_network": ("NEURAL_NETWORK",),
    "lightgbm_classification": ("LIGHTGBM_CLASSIFICATION",),
    "lightgbm_regression": ("LIGHTGBM_REGRESSION",),
    "xgboost": ("XGBOOST_CLASSIFICATION", "XGBOOST_REGRESSION"),
    # clustering, after dataikuapi's DSSClusteringMLTaskSettings._algorithm_remap
    "db_scan_clustering": ("DBSCAN",),
    "hdb_scan_clustering": ("HDBSCAN",),
    "spectral_clustering": ("SPECTRAL",),
    "ward_clustering": ("WARD",),
    "kmeans_clustering": ("KMEANS",),
    "mini_batch_kmeans_clustering": ("MINIBATCH_KMEANS",),
    "gmm_clustering": ("GAUSSIAN_MIXTURE",),
    "two_step": ("TWO_STEP",),
    "isolation_forest": ("ISOLATION_FOREST",),
    "mllib_kmeans_clustering": ("MLLIB_KMEANS",),
    "mllib_gaussian_mixture_clustering": ("MLLIB_GAUSSIAN_MIXTURE",),
    "h2o_kmeans": ("H20_KMEANS",),
}
# Keys of DSS's `modeling` that are not algorithms.
_NOT_ALGORITHMS = {"gridSearchParams", "metrics", "grid_search", "skipExpensiveReports", "custom_python", "plugin_python",
                   "custom_mllib", "max_ensemble_nodes_serialized", "propensityModeling"}

# hyperparameter_search: the configuration's key -> (DSS's gridSearchParams key, config value -> DSS value)
_SEARCH_VALUES = {
    "strategy": {"grid": "GRID", "random": "RANDOM", "bayesian": "BAYESIAN"},
    "validation": {"kfold": "KFOLD", "split": "SHUFFLE"},
}
_SEARCH_KEYS = {"strategy": "strategy", "validation": "mode", "folds": "nFolds", "split_ratio": "splitRatio",
                "seed": "cvSeed", "stratified": "stratified", "iterations": "nIterRandom", "timeout": "timeout"}
# split: the configuration's key -> DSS's splitParams key
_SPLIT_VALUES = {"mode": {"random": "RANDOM", "sorted": "SORTED"}}
_SPLIT_KEYS = {"ratio": "ssdTrainingRatio", "seed": "ssdSeed", "mode": "ssdSplitMode", "stratified": "ssdStratified"}
# features: typed keys (lower case in the configuration, upper case in DSS); DSS's own per-feature
# settings go under `handling:`, as DSS writes them (`rescaling: MINMAX`); the logical attribute has
# them all flat, as DSS's per_feature entry does.
_FEATURE_TYPED = ("role", "type")
HANDLING = "handling"
FEATURE_ROLES = ("input", "reject")
FEATURE_TYPES = ("numeric", "category", "text", "vector", "image")
# What a feature's `state` records: DSS's bookkeeping of who chose the handling, never configuration.
_FEATURE_BOOKKEEPING = ("state",)


def ids_of(dss_id: str) -> tuple[str, str]:
    """`"<analysisId>/<mlTaskId>"` -> the two ids."""
    analysis_id, _, mltask_id = dss_id.partition("/")
    return analysis_id, mltask_id


def modeling_key(algorithm: str, prediction_type: Optional[str]) -> Optional[str]:
    """The `modeling` key of a configured algorithm for a prediction type (clustering: the name
    is DSS's own key)."""
    if prediction_type is None:
        return algorithm
    pair = PREDICTION_ALGORITHMS.get(algorithm)
    if pair is None:
        return None
    return pair[1] if prediction_type == "regression" else pair[0]


def snippet_names(algorithm: str, prediction_type: Optional[str]) -> tuple[str, ...]:
    """DSS's names of the algorithm in a trained model's snippet (what picks the model to deploy)."""
    key = modeling_key(algorithm, prediction_type)
    if key is None:
        return ()
    return _SNIPPET_NAMES.get(key, (key.upper(),))


def algorithm_of_snippet(snippet_name: str, prediction_type: Optional[str]) -> str:
    """A trained model's algorithm as its snippet names it ("RANDOM_FOREST_CLASSIFICATION",
    "KMEANS") -> the configuration's name of it."""
    for key, names in _SNIPPET_NAMES.items():
        if snippet_name in names:
            return _algorithm_name(key, prediction_type)
    return snippet_name.lower()


def _algorithm_name(key: str, prediction_type: Optional[str]) -> str:
    """A `modeling` key -> the configuration's name of the algorithm."""
    if prediction_type is None:
        return key
    column = 1 if prediction_type == "regression" else 0
    for name, pair in PREDICTION_ALGORITHMS.items():
        if pair[column] == key:
            return name
    return key


def algorithm_key(item: Mapping[str, Any]) -> str:
    return str(item.get("algorithm"))


def _features_rule(before: Any, after: Any, _old: Mapping[str, Any], _new: Mapping[str, Any]) -> list[Effect]:
    """A feature's role or handling changed: a model trained from the task expects other columns or
    other values, so what scores with it (scoring recipes, API endpoints) may fail."""
    changed = sorted(set(before or {}) ^ set(after or {}) | {c for c in (after or {}) if (before or {}).get(c) != (after or {}).get(c)})
    return [Effect(Impact.BREAKING, f"features {', '.join(map(repr, changed))} change: models trained from now on "
                                    "expect other input columns", columns=tuple(changed))]


POLICY = FieldPolicy(
    fields=(
        Field("dataset", replace=True),
        Field("task", replace=True),
        Field("prediction_type", replace=True, impact=breaking_when_changed("the prediction type")),
        Field("target", replace=True, impact=breaking_when_changed("the target")),
        Field("features", compare="subset", impact=_features_rule),
        Field("algorithms", compare="keyed", key=algorithm_key),
        Field("hyperparameter_search", compare="subset"),
        Field("metric"),
        Field("split", compare="subset"),
    )
)


class MlTaskHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    per_object_read = True  # the list is summaries: the settings and the analysis's name are read per task
    list_has_version_numbers = False  # an ML task's settings carry no versionTag
    renames_in_place = True  # the name is the visual analysis's: renamed with its definition

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        listed = client.get_project(project_key).list_ml_tasks()
        items = listed.get("mlTasks", []) if isinstance(listed, dict) else listed
        return [i for i in items or [] if isinstance(i, dict) and i.get("analysisId") and i.get("mlTaskId")]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return f"{item['analysisId']}/{item['mlTaskId']}"

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        project = client.get_project(project_key)
        task = project.get_ml_task(item["analysisId"], item["mlTaskId"])
        settings = task.get_settings().get_raw()
        analysis = project.get_analysis(item["analysisId"]).get_definition().get_raw()
        return {"analysisId": item["analysisId"], "mlTaskId": item["mlTaskId"], "settings": settings, "analysis": analysis}

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        dss_id = f"{doc['analysisId']}/{doc['mlTaskId']}"
        name = (doc.get("analysis") or {}).get("name") or (doc.get("settings") or {}).get("name") or dss_id
        ctx.remember(TYPE, name, dss_id)  # saved models name their ML task; training needs its ids
        return Observed(TYPE, project_key, name, dss_id, self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        settings = doc.get("settings") or {}
        analysis = doc.get("analysis") or {}
        task = str(settings.get("taskType") or "PREDICTION").lower()
        prediction_type = _lower(settings.get("predictionType")) if task == "prediction" else None
        modeling = settings.get("modeling") or {}
        attrs: dict[str, Any] = {
            "dataset": analysis.get("inputDatasetSmartName"),
            "task": task,
            "features": features_to_logical(settings, settings.get("targetVariable")),
            "algorithms": algorithms_to_logical(modeling, prediction_type),
            "hyperparameter_search": _translated(modeling.get("gridSearchParams") or {}, _SEARCH_KEYS, _SEARCH_VALUES),
            "metric": _lower((modeling.get("metrics") or {}).get("evaluationMetric")),
            "split": _translated(settings.get("splitParams") or {}, _SPLIT_KEYS, _SPLIT_VALUES),
        }
        if task == "prediction":
            attrs["prediction_type"] = prediction_type
            attrs["target"] = settings.get("targetVariable")
        return attrs

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        project = client.get_project(resource.project_key)
        if attrs.get("task", "prediction") == "clustering":
            task = project.create_clustering_ml_task(attrs["dataset"], wait_guess_complete=True)
        else:
            task = project.create_prediction_ml_task(
                attrs["dataset"], attrs["target"], prediction_type=_upper(attrs.get("prediction_type")), wait_guess_complete=True)
        dss_id = f"{task.analysis_id}/{task.mltask_id}"
        ctx.remember(TYPE, resource.name, dss_id)
        return self._save(client, resource, dss_id, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return self._save(client, resource, current.dss_id, ctx)

    def _save(self, client: Any, resource: Resource, dss_id: str, ctx: ProjectContext) -> Observed:
        """Name the analysis as configured, then one read-modify-write of the ML task's settings."""
        analysis_id, mltask_id = ids_of(dss_id)
        project = client.get_project(resource.project_key)
        analysis = project.get_analysis(analysis_id)
        definition = analysis.get_definition()
        core = definition.get_raw()
        if core.get("name") != resource.name:
            core["name"] = resource.name
            analysis.set_definition(definition)
        settings = project.get_ml_task(analysis_id, mltask_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        patch_settings(raw, resource.attributes, resource.address)
        if raw != before:  # an unchanged task is never saved
            settings.save()
        ctx.remember(TYPE, resource.name, dss_id)
        doc = {"analysisId": analysis_id, "mlTaskId": mltask_id, "settings": raw, "analysis": core}
        return Observed(TYPE, resource.project_key, resource.name, dss_id, self.to_logical(doc, ctx))

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        self.delete_recorded(client, project_key, dss_id, drop_data=drop_data, origin="created")

    def delete_recorded(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool, origin: str) -> None:
        """Delete the ML task, and its visual analysis when the tool created it (the analysis was
        made for the task) and nothing else is left in it (another ML task someone added in DSS is
        kept, with the analysis). An imported task's analysis is the user's (its scripts,
        charts): it stays."""
        analysis_id, mltask_id = ids_of(dss_id)
        project = client.get_project(project_key)
        project.get_ml_task(analysis_id, mltask_id).delete()
        if origin == "imported":
            return
        analysis = project.get_analysis(analysis_id)
        left = analysis.list_ml_tasks()
        left = left.get("mlTasks", []) if isinstance(left, dict) else left
        if not left:
            analysis.delete()


# -- DSS settings <-> logical attributes ----------------------------------------------------------
def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _translated(raw: Mapping[str, Any], keys: Mapping[str, str], values: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    """DSS's keys of a settings block -> the configuration's words (only the keys the vocabulary has)."""
    out: dict[str, Any] = {}
    for name, dss_key in keys.items():
        if dss_key in raw:
            value = raw[dss_key]
            reverse = {dss: word for word, dss in values.get(name, {}).items()}
            out[name] = reverse.get(value, _lower(value)) if name in values else value
    return out


def _to_dss(block: dict[str, Any], declared: Mapping[str, Any], keys: Mapping[str, str], values: Mapping[str, Mapping[str, str]]) -> None:
    for name, value in declared.items():
        block[keys[name]] = values[name].get(value, value) if name in values else value


def features_to_logical(settings: Mapping[str, Any], target: Any) -> dict[str, Any]:
    per_feature = (settings.get("preprocessing") or {}).get("per_feature") or {}
    out: dict[str, Any] = {}
    for column, handling in per_feature.items():
        if column == target or not isinstance(handling, dict):
            continue
        feature = {k: v for k, v in handling.items() if k not in _FEATURE_BOOKKEEPING}
        for key in _FEATURE_TYPED:
            feature[key] = _lower(handling.get(key))
        out[column] = feature
    return out


def algorithms_to_logical(modeling: Mapping[str, Any], prediction_type: Optional[str]) -> list[dict[str, Any]]:
    """The enabled algorithms, each with its hyper-parameters as the configuration writes them: a
    grid's values as a list, a choice's enabled options as a list, a plain setting as it is."""
    out = []
    for key, settings in modeling.items():
        if key in _NOT_ALGORITHMS or not isinstance(settings, dict) or settings.get("enabled") is not True:
            continue
        entry: dict[str, Any] = {"algorithm": _algorithm_name(key, prediction_type)}
        for param, value in settings.items():
            if param == "enabled":
                continue
            entry[param] = _param_to_logical(value)
        out.append(entry)
    return sorted(out, key=algorithm_key)


def one_value(value: Any) -> Any:
    """A list of one value is that value (`max_tree_depth: 8` and `[8]` are one grid): `build` and
    `to_logical` both write hyper-parameters this way, or one would differ from the other."""
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _param_to_logical(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("values"), list):
        return one_value(list(value["values"]))
    if isinstance(value, dict) and isinstance(value.get("values"), dict):
        return one_value(sorted(k for k, v in value["values"].items() if isinstance(v, dict) and v.get("enabled")))
    return copy.deepcopy(value)


def _param_to_dss(current: Any, wanted: Any) -> Any:
    """A declared hyper-parameter written where DSS keeps it: a grid's explicit values, a choice's
    enabled options, or the plain value."""
    if isinstance(current, dict) and isinstance(current.get("values"), list):
        values = wanted if isinstance(wanted, list) else [wanted]
        return {**current, "values": list(values), "gridMode": "EXPLICIT"}
    if isinstance(current, dict) and isinstance(current.get("values"), dict):
        chosen = set(wanted if isinstance(wanted, list) else [wanted])
        return {**current, "values": {k: {**(v if isinstance(v, dict) else {}), "enabled": k in chosen}
                                      for k, v in current["values"].items()}}
    return copy.deepcopy(wanted)


class SettingsError(ValueError):
    """What the configuration asks that the ML task's settings cannot take (a column DSS does not
    know, a hyper-parameter the algorithm has not)."""


def patch_settings(raw: dict[str, Any], attrs: Mapping[str, Any], address: str = "") -> None:
    """Write the declared attributes into an ML task's settings document, in place."""
    prediction_type = _lower(raw.get("predictionType")) if str(raw.get("taskType", "PREDICTION")).upper() == "PREDICTION" else None
    if "features" in attrs:
        _patch_features(raw, attrs["features"], address)
    modeling = raw.setdefault("modeling", {})
    if "algorithms" in attrs:
        _patch_algorithms(modeling, attrs["algorithms"], prediction_type, address)
    if "hyperparameter_search" in attrs:
        _to_dss(modeling.setdefault("gridSearchParams", {}), attrs["hyperparameter_search"], _SEARCH_KEYS, _SEARCH_VALUES)
    if attrs.get("metric") is not None:
        modeling.setdefault("metrics", {})["evaluationMetric"] = _upper(attrs["metric"])
    if "split" in attrs:
        _to_dss(raw.setdefault("splitParams", {}), attrs["split"], _SPLIT_KEYS, _SPLIT_VALUES)


def _patch_features(raw: dict[str, Any], features: Mapping[str, Any], address: str) -> None:
    per_feature = raw.setdefault("preprocessing", {}).setdefault("per_feature", {})
    for column, wanted in features.items():
        handling = per_feature.get(column)
        if not isinstance(handling, dict):
            known = ", ".join(sorted(per_feature)) or "none"
            raise SettingsError(f"{address}: feature {column!r} is not a column DSS knows for this ML task "
                                f"(its columns: {known})")
        for key, value in wanted.items():
            handling[key] = _upper(value) if key in _FEATURE_TYPED else copy.deepcopy(value)
        if "state" in handling and isinstance(handling["state"], dict):
            handling["state"]["userModified"] = True  # as DSS's UI marks a handling a person chose


def _patch_algorithms(modeling: dict[str, Any], algorithms: list[Mapping[str, Any]], prediction_type: Optional[str], address: str) -> None:
    wanted = {modeling_key(str(a["algorithm"]), prediction_type): a for a in algorithms}
    for key, settings in modeling.items():
        if key in _NOT_ALGORITHMS or not isinstance(settings, dict) or "enabled" not in settings:
            continue
        settings["enabled"] = key in wanted
    for wanted_key, declared in wanted.items():
        algorithm = modeling.get(wanted_key) if wanted_key is not None else None
        if not isinstance(algorithm, dict):
            raise SettingsError(f"{address}: DSS has no algorithm {declared['algorithm']!r} for this ML task")
        for param, value in declared.items():
            if param == "algorithm":
                continue
            if param not in algorithm:
                raise SettingsError(f"{address}: algorithm {declared['algorithm']!r} has no hyper-parameter {param!r} "
                                    f"(DSS's: {', '.join(sorted(p for p in algorithm if p != 'enabled'))})")
            algorithm[param] = _param_to_dss(algorithm[param], value)


# -- config <-> logical ------------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """An `ml_tasks` item -> logical attributes."""
    task = item.get("task", "prediction")
    ctx.require("dataset", item["dataset"], ("dataset",), "its input dataset")
    attrs: dict[str, Any] = {"dataset": item["dataset"], "task": task}
    prediction_type = None
    if task == "prediction":
        for key in ("target", "prediction_type"):
            if key not in item:
                ctx.error((), f"a prediction ML task needs `{key}`",
                          "prediction_type: binary_classification, multiclass or regression" if key == "prediction_type" else None)
        prediction_type = item.get("prediction_type")
        attrs.update({"target": item.get("target"), "prediction_type": prediction_type})
    else:
        for key in ("target", "prediction_type"):
            if key in item:
                ctx.error((key,), f"a clustering ML task has no `{key}`", "remove it, or write task: prediction")
    _check_columns(item, column_names((ctx.declared("dataset", item["dataset"]) or {}).get("schema")), ctx)
    if "features" in item:
        attrs["features"] = _build_features(item["features"], item.get("target"), ctx)
    if "algorithms" in item:
        attrs["algorithms"] = _build_algorithms(item["algorithms"], prediction_type, ctx)
    if "hyperparameter_search" in item:
        attrs["hyperparameter_search"] = dict(item["hyperparameter_search"])
    if "metric" in item:
        attrs["metric"] = str(item["metric"]).lower()
    if "split" in item:
        attrs["split"] = dict(item["split"])
    return attrs


def column_names(schema: Any) -> Optional[list[str]]:
    """The columns a dataset's schema declares, or None when it declares none (nothing to check)."""
    columns = [str(c["name"]) for c in (schema or {}).get("columns") or [] if isinstance(c, dict) and c.get("name")]
    return columns or None


def unknown_columns(item: Mapping[str, Any], columns: list[str]) -> list[tuple[tuple[Any, ...], str]]:
    """(path, column) of the target and the features that are not columns of the dataset: DSS
    refuses such a target when the task is created (after a replace deleted the old task)."""
    named: list[tuple[tuple[Any, ...], Any]] = [(("target",), item["target"])] if isinstance(item.get("target"), str) else []
    named += [(("features", column), column) for column in item.get("features") or {}]
    return [(path, column) for path, column in named if column not in columns]


def _check_columns(item: Mapping[str, Any], columns: Optional[list[str]], ctx: BuildContext) -> None:
    """The target and the features must be columns of the dataset's declared schema."""
    if columns is None:
        return
    for path, column in unknown_columns(item, columns):
        what = "target" if path == ("target",) else "feature"
        ctx.error(path, f"{what} {column!r} is not a column of dataset {item['dataset']!r}",
                  ctx.did_you_mean(column, columns) or f"its columns: {', '.join(columns)}")


def _build_features(features: Mapping[str, Any], target: Any, ctx: BuildContext) -> dict[str, Any]:
    out = {}
    for column, handling in features.items():
        if column == target:
            ctx.error(("features", column), f"{column!r} is the target: DSS handles it as the target, not as a feature",
                      "remove it from features")
            continue
        declared = dict(handling or {})
        feature = dict(declared.pop(HANDLING, None) or {})  # DSS's keys, flat beside role and type
        for key in _FEATURE_TYPED:
            if key in feature:
                ctx.error(("features", column, HANDLING, key), f"{key!r} has its own key: a setting has one place",
                          f"write `{key}:` beside `handling:`")
        feature.update({k: _lower(v) for k, v in declared.items()})
        out[column] = feature
    return out


def _build_algorithms(algorithms: Mapping[str, Any], prediction_type: Optional[str], ctx: BuildContext) -> list[dict[str, Any]]:
    out = []
    for name, params in algorithms.items():
        if prediction_type is not None and modeling_key(name, prediction_type) is None:
            usable = [n for n in PREDICTION_ALGORITHMS if modeling_key(n, prediction_type) is not None]
            hint = ctx.did_you_mean(name, usable) or f"the algorithms of a {prediction_type} task: {', '.join(usable)}"
            ctx.error(("algorithms", name), f"no algorithm {name!r} for a {prediction_type} task", hint)
            continue
        out.append({"algorithm": name, **{k: one_value(v) for k, v in (params or {}).items()}})
    return sorted(out, key=algorithm_key)


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> an `ml_tasks` item: the task, its features' roles and types (DSS's guess
    of each column's handling is left to DSS), the enabled algorithms with their grids, search,
    metric and split."""
    from dataiku_iac.resources.flow_zone import WRITABLE_NAME

    if not WRITABLE_NAME.match(name):
        ctx.not_expressed(f"the visual analysis's name {name!r} is not a name the configuration can write")
        return None
    task = attrs.get("task") or "prediction"
    if task == "prediction" and (attrs.get("prediction_type") not in PREDICTION_TYPES or not attrs.get("target")):
        ctx.not_expressed(f"a prediction of type {attrs.get('prediction_type')!r}: the configuration writes "
                          f"{', '.join(PREDICTION_TYPES)}")
        return None
    item: dict[str, Any] = {"name": name, "dataset": attrs.get("dataset"), "task": task}
    if task == "prediction":
        item.update({"prediction_type": attrs["prediction_type"], "target": attrs["target"]})
    features = {c: {k: f[k] for k in _FEATURE_TYPED if f.get(k)} for c, f in (attrs.get("features") or {}).items()}
    if features:
        item["features"] = features
    algorithms = {a["algorithm"]: {k: v for k, v in a.items() if k != "algorithm"} for a in attrs.get("algorithms") or []}
    if algorithms:
        item["algorithms"] = algorithms
    for key in ("hyperparameter_search", "metric", "split"):
        if attrs.get(key):
            item[key] = attrs[key]
    return item


def flow_links(attrs: Mapping[str, Any]) -> list[FlowLink]:
    """An ML task reads its input dataset (its features are columns of it)."""
    if not attrs.get("dataset"):
        return []
    columns = frozenset(attrs.get("features") or {}) | ({attrs["target"]} if attrs.get("target") else set())
    return [FlowLink(READS, str(attrs["dataset"]), ("dataset",), columns=frozenset(columns) or None)]


def check_live(resource: Resource, _live: Optional[Observed], find: Any) -> list[tuple[str, str]]:
    """The target and the features must be columns of the dataset as DSS has it, when the
    configuration does not declare its schema (validate checks a declared one): DSS refuses an
    unknown target only when the task is created, after a replace deleted the old one."""
    from dataiku_iac.config.suggest import did_you_mean  # as policy.py: config's package imports the registry
    declared, live = find("dataset", resource.attributes.get("dataset"))
    if declared is not None and column_names(declared.attributes.get("schema")):
        return []
    columns = column_names(live.attributes.get("schema")) if live is not None else None
    if columns is None:
        return []
    item = {"target": resource.attributes.get("target"), "features": resource.attributes.get("features")}
    out = []
    for path, column in unknown_columns(item, columns):
        what = "target" if path == ("target",) else "feature"
        hint = did_you_mean(column, columns) or f"its columns: {', '.join(columns)}"
        out.append((path[0], f"{what} {column!r} is not a column of dataset {resource.attributes.get('dataset')!r} "
                             f"in DSS ({hint})"))
    return out


_SCALAR = {"type": ["string", "number", "boolean"]}
SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "dataset": {"$ref": "#/$defs/name"},
                "task": {"enum": list(TASKS)},
                "prediction_type": {"enum": list(PREDICTION_TYPES)},
                "target": {"type": "string", "minLength": 1},
                "features": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "role": {"enum": list(FEATURE_ROLES)},
                            "type": {"enum": list(FEATURE_TYPES)},
                            # DSS's own per-feature settings, as DSS writes them (rescaling: MINMAX)
                            "handling": {"$ref": "#/$defs/passthrough"},
                        },
                        "additionalProperties": False,
                    },
                },
                "algorithms": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
                    "additionalProperties": {
                        "type": ["object", "null"],
                        "additionalProperties": {"anyOf": [_SCALAR, {"type": "array", "items": _SCALAR, "minItems": 1}]},
                    },
                },
                "hyperparameter_search": {
                    "type": "object",
                    "properties": {
                        "strategy": {"enum": list(_SEARCH_VALUES["strategy"])},
                        "validation": {"enum": list(_SEARCH_VALUES["validation"])},
                        "folds": {"type": "integer", "minimum": 2},
                        "split_ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                        "seed": {"type": "integer"},
                        "stratified": {"type": "boolean"},
                        "iterations": {"type": "integer", "minimum": 1},
                        "timeout": {"type": "integer", "minimum": 0},
                    },
                    "additionalProperties": False,
                },
                "metric": {"type": "string", "pattern": "^[A-Za-z0-9_]+$"},
                "split": {
                    "type": "object",
                    "properties": {
                        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                        "seed": {"type": "integer"},
                        "mode": {"enum": list(_SPLIT_VALUES["mode"])},
                        "stratified": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "dataset"],
        }
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="ML task",
    color="#6f42c1",
    handler=MlTaskHandler(),
    identity=Identity.SERVER_ID,
    section="ml_tasks",
    schema=SCHEMA,
    references=("dataset",),
    flow_links=flow_links,
    build=build,
    to_config=to_config,
    check_live=check_live,
)
