"""Derive the emulator's default documents from the real DSS samples.

Run by a developer after changing a sample or this script (the samples live outside the package):
    python emulator/tools/derive_defaults.py [SAMPLES_DIR] [--out DIR]
SAMPLES_DIR defaults to the repository's tests/fixtures/dss-samples, DIR to dss_emulator/defaults/.
The output files are committed; each records the sample it comes from (``_source``), or why it is
hand-made when no sample exists. Only object-specific values (names, users, timestamps, schemas,
options) are stripped or blanked; every key and default value is DSS's own.
tests/emulator/test_emu_derive_defaults.py checks that a run reproduces the committed files exactly.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

DEFAULTS_DIR = Path(__file__).resolve().parent.parent / "dss_emulator" / "defaults"
SAMPLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "dss-samples"


def load(root: Path, rel: str) -> dict:
    return json.loads((root / rel).read_text(encoding="utf-8"))


def write(out: Path, name: str, source: str, doc: object) -> None:
    payload = {"_source": source, "document": doc}
    (out / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def dataset_defaults(root: Path, out: Path) -> None:
    ext = load(root, "dataset/git_snowflake_external_table.json")
    base = {
        k: v
        for k, v in ext.items()
        if k not in ("type", "managed", "params", "schema", "versionTag", "creationTag")
    }
    base["tags"] = []
    base["metrics"]["displayedState"]["metrics"] = [
        "basic:COUNT_COLUMNS",
        "basic:COUNT_FILES",
        "basic:SIZE",
        "records:COUNT_RECORDS",
    ]
    write(out, "dataset_base.json", "dataset/git_snowflake_external_table.json (DSS 12 era, 2023-09)", base)
    sql = dict(ext["params"])
    for k in ("connection", "catalog", "table", "schema"):
        sql.pop(k, None)
    write(out, "dataset_params_sql.json", "dataset/git_snowflake_external_table.json params", sql)
    pg = load(root, "dataset/api_postgresql_managed_table.json")
    write(
        out,
        "dataset_params_sql_postgresql_extra.json",
        "dataset/api_postgresql_managed_table.json params",
        {"writeWithCopyBadDataBehavior": pg["params"]["writeWithCopyBadDataBehavior"]},
    )
    fs = load(root, "dataset/export_filesystem_managed_dss804.json")
    fsp = {k: v for k, v in fs["params"].items() if k not in ("connection", "path")}
    write(out, "dataset_params_fs.json", "dataset/export_filesystem_managed_dss804.json params", fsp)
    s3 = load(root, "dataset/git_s3_managed_csv_no_versiontag.json")
    write(
        out,
        "format_csv_escaping_nogzip_forhive.json",
        "dataset/git_s3_managed_csv_no_versiontag.json formatParams",
        s3["formatParams"],
    )
    write(
        out,
        "format_csv_unix_gzip.json",
        "dataset/export_filesystem_managed_dss804.json formatParams",
        fs["formatParams"],
    )
    api = load(root, "dataset/api_filesystem_csv_managed_just_created.json")
    write(
        out,
        "format_csv_excel_gzip.json",
        "dataset/api_filesystem_csv_managed_just_created.json formatParams",
        api["formatParams"],
    )
    pq = load(root, "dataset/api_hdfs_parquet_managed.json")
    write(
        out,
        "format_parquet_hive.json",
        "dataset/api_hdfs_parquet_managed.json formatParams",
        pq["formatParams"],
    )


def folder_defaults(root: Path, out: Path) -> None:
    fo = load(root, "managed_folder/filesystem_folders_2022.json")
    base = {k: v for k, v in fo.items() if k not in ("name", "type", "params", "versionTag", "creationTag")}
    write(out, "folder_base.json", "managed_folder/filesystem_folders_2022.json", base)
    fsp = {k: v for k, v in fo["params"].items() if k not in ("connection", "path")}
    write(out, "folder_params_fs.json", "managed_folder/filesystem_folders_2022.json params", fsp)


def project_defaults(root: Path, out: Path) -> None:
    p = load(root, "project/params_at_creation.json")
    base = copy.deepcopy(p)
    for k in ("owner", "name", "creationTag", "shortDesc"):
        base.pop(k)
    checklist = base["checklists"]["checklists"][0]
    for item in checklist["items"]:
        item["createdOn"] = 0
        item["createdBy"] = ""
    write(out, "project_params.json", "project/params_at_creation.json (DSS 11/12 era)", base)
    perm = load(root, "project/params_with_permissions_v2.json")["permissions"][3]
    row = {k: (False if isinstance(v, bool) else v) for k, v in perm.items() if k != "group"}
    write(
        out,
        "permission_row.json",
        "project/params_with_permissions_v2.json permissions[3] (flags reset)",
        row,
    )
    lib = load(root, "other/project_lib_external_libraries.json")
    write(out, "library_external_libraries.json", "other/project_lib_external_libraries.json", lib)


def recipe_defaults(root: Path, out: Path) -> None:
    py = load(root, "recipe/python_recipe_at_creation.json")
    code = {
        k: v for k, v in py.items() if k not in ("type", "inputs", "outputs", "versionTag", "creationTag")
    }
    write(out, "recipe_code.json", "recipe/python_recipe_at_creation.json", code)
    sq = load(root, "recipe/sql_query_recipe.json")
    write(
        out,
        "recipe_sql_query.json",
        "recipe/sql_query_recipe.json",
        {k: v for k, v in sq.items() if k not in ("type", "inputs", "outputs", "creationTag")},
    )
    sy = load(root, "recipe/sync_recipe.json")
    write(
        out,
        "recipe_sync.json",
        "recipe/sync_recipe.json",
        {k: v for k, v in sy.items() if k not in ("type", "inputs", "outputs", "versionTag", "creationTag")},
    )
    gr = load(root, "recipe/grouping_recipe.json")
    write(
        out,
        "recipe_visual.json",
        "recipe/grouping_recipe.json (same keys as join_recipe.json, split_recipe.json)",
        {k: v for k, v in gr.items() if k not in ("type", "inputs", "outputs", "creationTag")},
    )
    sh = load(root, "recipe/prepare_recipe.json")
    write(
        out,
        "recipe_shaker.json",
        "recipe/prepare_recipe.json",
        {k: v for k, v in sh.items() if k not in ("type", "inputs", "outputs", "creationTag")},
    )
    gp = load(root, "recipe/grouping_recipe.payload.json")
    key_flags = {k: v for k, v in gp["keys"][1].items() if k not in ("column", "type")}
    payload = {
        "preFilter": gp["preFilter"],
        "keys": [],
        "values": [],
        "globalCount": False,
        "engineParams": gp["engineParams"],
        "enlargeYourBits": True,
        "outputColumnNameOverrides": {},
        "computedColumns": [],
        "postFilter": {"distinct": False, "enabled": False},
        "selectAllColumns": False,
    }
    write(
        out,
        "payload_grouping.json",
        "recipe/grouping_recipe.payload.json (object-specific lists emptied)",
        payload,
    )
    write(out, "grouping_key_flags.json", "recipe/grouping_recipe.payload.json keys[1] flags", key_flags)
    jp = load(root, "recipe/join_recipe.payload.json")
    vi = {k: v for k, v in jp["virtualInputs"][0].items() if k not in ("originLabel", "index")}
    join = {
        "joins": [],
        "selectedColumns": [],
        "resolvedSelectedColumns": [],
        "engineParams": jp["engineParams"],
        "virtualInputs": [],
        "computedColumns": [],
        "postFilter": {"distinct": False, "enabled": False},
    }
    for k, v in jp.items():
        if k not in join and k not in ("postFilter",):
            join[k] = v
    write(out, "payload_join.json", "recipe/join_recipe.payload.json (object-specific lists emptied)", join)
    write(out, "join_virtual_input.json", "recipe/join_recipe.payload.json virtualInputs[0]", vi)
    write(
        out,
        "join_join.json",
        "recipe/join_recipe.payload.json joins[0] (conditions emptied)",
        {**{k: v for k, v in jp["joins"][0].items() if k != "on"}, "on": []},
    )
    wp = load(root, "recipe/window_recipe.payload.json")
    window = copy.deepcopy(wp)
    window["values"] = []
    window["outputColumnNameOverrides"] = {}
    window["postFilter"] = {"distinct": False, "enabled": False}
    window["windows"] = [{**wp["windows"][0], "enableOrdering": False, "orders": [], "enableLimits": False}]
    write(out, "payload_window.json", "recipe/window_recipe.payload.json (columns, orders and frame emptied)", window)
    sp = load(root, "recipe/split_recipe.payload.json")
    split = copy.deepcopy(sp)
    split["randomSplits"] = [{"outputIndex": 0, "share": 50}]
    for entry in split["filterSplits"]:
        entry["filter"].pop("$status", None)
    write(out, "payload_split.json", "recipe/split_recipe.payload.json (schema status dropped, random share 50 as the other modes')", split)
    spp = load(root, "recipe/prepare_recipe.payload.json")
    shaker = {k: v for k, v in spp.items() if k not in ("columnWidthsByName",)}
    shaker["steps"] = []
    shaker["columnsSelection"] = {"mode": "ALL", "list": []}
    write(
        out, "payload_shaker.json", "recipe/prepare_recipe.payload.json (steps and columns emptied)", shaker
    )


def scenario_defaults(root: Path, out: Path) -> None:
    sc = load(root, "scenario/step_based_as_created.json")
    base = {k: v for k, v in sc.items() if k not in ("type", "name", "creationTag")}
    write(out, "scenario_base.json", "scenario/step_based_as_created.json", base)
    st = load(root, "scenario/step_based_ds_modified_trigger.json")
    step = {k: v for k, v in st["params"]["steps"][0].items() if k not in ("id", "type", "name", "params")}
    write(out, "scenario_step.json", "scenario/step_based_ds_modified_trigger.json params.steps[0]", step)
    trig = {
        k: v
        for k, v in st["triggers"][0].items()
        if k not in ("id", "type", "name", "params", "graceDelaySettings")
    }
    write(out, "scenario_trigger.json", "scenario/step_based_ds_modified_trigger.json triggers[0]", trig)
    write(
        out,
        "trigger_ds_modified_grace.json",
        "scenario/step_based_ds_modified_trigger.json triggers[0]",
        {"graceDelaySettings": st["triggers"][0]["graceDelaySettings"]},
    )
    build = {k: v for k, v in st["params"]["steps"][0]["params"].items() if k != "builds"}
    write(
        out,
        "step_params_build_flowitem.json",
        "scenario/step_based_ds_modified_trigger.json step params",
        build,
    )


def hand_made_defaults(root: Path, out: Path) -> None:
    """Documents no sample shows: written here too, so that every file in defaults/ comes from this script."""
    for option in ("avro", "orc"):
        source = f"hand-made: no real DSS document of a managed {option.upper()} dataset was found (docs/emulator.md)"
        write(out, f"format_{option}.json", source, {})
    no_filter = {"distinct": False, "enabled": False}
    engine = load(root, "recipe/grouping_recipe.payload.json")["engineParams"]
    sort = {"preFilter": no_filter, "computedColumns": [], "orders": [], "rowNumber": False, "rank": False,
            "denseRank": False, "postFilter": no_filter, "engineParams": engine}
    write(out, "payload_sort.json", "hand-made: no real sort payload was found; the keys dataikuapi's "
          "SortRecipeSettings reads, and the filters and engine params of the other visual payloads (docs/emulator.md)", sort)
    stack = {"virtualInputs": [], "mode": "UNION", "selectedColumns": [], "addOriginColumn": False,
             "originColumnName": "original_dataset", "postFilter": no_filter, "engineParams": engine}
    write(out, "payload_vstack.json", "hand-made: no real stack payload was found; the keys dataikuapi's "
          "StackRecipeSettings reads (docs/emulator.md)", stack)
    distinct = {"keys": [], "selectAllColumns": True, "globalCount": False, "preFilter": no_filter,
                "postFilter": no_filter, "outputColumnNameOverrides": {}, "engineParams": engine}
    write(out, "payload_distinct.json", "hand-made: no real distinct payload was found; the keys DSS's distinct "
          "recipe editor reads, every column compared as the editor starts (docs/emulator.md)", distinct)
    topn = {"preFilter": no_filter, "computedColumns": [], "firstRows": 10, "lastRows": 0, "keys": [], "orders": [],
            "retrievedColumnsSelectionMode": "ALL", "retrievedColumns": [], "rowNumber": False, "rank": False,
            "denseRank": False, "duplicateCount": False, "outputColumnNameOverrides": {}, "engineParams": engine}
    write(out, "payload_topn.json", "hand-made: no real top-n payload was found; the keys DSS's top-n recipe "
          "editor reads and observed payloads show, the first 10 rows of the whole dataset (docs/emulator.md)", topn)


def pivot_and_sampling_defaults(root: Path, out: Path) -> None:
    """Hand-made too: no real pivot or sampling recipe was found. The keys are those DSS's recipe
    editors read and write (public references, docs/emulator.md); their creation values are guesses."""
    no_filter = {"distinct": False, "enabled": False}
    engine = load(root, "recipe/grouping_recipe.payload.json")["engineParams"]
    pivot = {"identifierColumnsSelection": "EXPLICIT", "explicitIdentifiers": [],
             "pivots": [{"keyColumns": [], "valueColumns": [], "explicitValues": [], "valueLimit": "TOP_N",
                         "topnLimit": 20, "globalCount": True}],
             "otherColumns": [], "computedColumns": [], "customAggregates": [], "preFilter": no_filter,
             "enginesPreferences": {}, "engineParams": engine}
    write(out, "payload_pivot.json", "hand-made: no real pivot payload was found; the keys of DSS's pivot "
          "editor, one pivot as the editor starts with (docs/emulator.md)", pivot)
    write(out, "payload_sampling.json", "hand-made: a sampling recipe's payload is its filter (DSS's "
          "sampling editor saves it as the payload); disabled at creation (docs/emulator.md)", no_filter)
    selection = {"samplingMethod": "FULL", "maxRecords": -1, "targetRatio": 0.02, "useMemTable": False,
                 "filter": no_filter, "partitionSelectionMethod": "ALL", "latestPartitionsN": 1,
                 "ordering": {"enabled": False, "rules": []}, "ascending": True, "withinFirstN": -1,
                 "maxReadUncompressedBytes": -1}
    write(out, "recipe_params_sampling.json", "hand-made: a sampling recipe keeps its sampling in its params' "
          "`selection`; the values of a recipe as public references show it (docs/emulator.md)",
          {"selection": selection, "engineParams": {}})


MLTASK_BINARY = "ml_task/export_binary_classification_dss1355.json"
MLTASK_REGRESSION = "ml_task/git_regression_after_guess.json"
PROPENSITY = "propensityModeling"  # causal-ML block of the prediction document, kept as DSS writes it


def _grid(values: list, low: float, high: float, limit: float = 1, scaling: str = "LINEAR") -> dict:
    """A numerical hyper-parameter as DSS writes them (explicit values, a range for random search)."""
    return {"gridMode": "EXPLICIT", "randomMode": "RANGE", "limit": {"min": limit}, "values": values,
            "range": {"min": low, "max": high, "nbValues": 3, "scaling": scaling}}


def _newer_algorithms() -> dict:
    """Algorithms newer than the 13.5.5 sample that dataikuapi 15 reads (CatBoostSettings,
    TabICL*Settings): their keys are dataikuapi's, their values guessed."""
    def catboost() -> dict:
        return {"learning_rate": _grid([0.1], 0.01, 0.3, 1e-23, "LOGARITHMIC"), "max_depth": _grid([6], 3, 10),
                "l2_leaf_reg": _grid([3.0], 1.0, 10.0, 0.0), "border_count": _grid([254], 32, 255),
                "random_strength": _grid([1.0], 0.5, 2.0, 0.0), "min_data_in_leaf": _grid([1], 1, 20),
                "bagging_temperature": _grid([1.0], 0.0, 10.0, 0.0), "border_count_mode_auto": True,
                "bootstrap_type": "Auto", "grow_policy": "SymmetricTree", "nthread": 4, "n_estimators": 300,
                "enable_early_stopping": True, "early_stopping_rounds": 4, "enabled": False}

    def tabicl(**extra: object) -> dict:
        return {"n_estimators": _grid([32], 8, 64), "norm_none": True, "norm_power": True, "norm_quantile": False,
                "norm_quantile_rtdl": False, "norm_robust": False, "random_state": 1337, "n_jobs": 4,
                "batch_size": 8, "outlier_threshold": 4.0, "enabled": False, **extra}

    shift = {"values": {"true": {"enabled": True}, "false": {"enabled": False}}}
    return {
        "catboost_classification": catboost(), "catboost_regression": catboost(),
        "tabicl_classification": tabicl(softmax_temperature=0.9, class_shift=shift),
        "tabiclv2_classification": tabicl(softmax_temperature=0.9, offload_mode="auto", class_shuffle_method="shift"),
        "tabiclv2_regression": tabicl(offload_mode="auto"),
    }


def mltask_defaults(root: Path, out: Path) -> None:
    """The ML task settings (params.json) before the guess fills them, its per-feature handlings, and
    the visual analysis around it."""
    doc = load(root, MLTASK_BINARY)
    for key in ("predictionType", "targetVariable", "id", "initiator", "name"):
        doc[key] = None
    doc["weight"] = {"weightMethod": None}
    doc["preprocessing"]["per_feature"] = {}
    doc["preprocessing"]["target_remapping"] = []
    modeling: dict = {}
    for key, algorithm in doc["modeling"].items():
        if isinstance(algorithm, dict) and "enabled" in algorithm and key != PROPENSITY:
            algorithm["enabled"] = False
        modeling[key] = algorithm
        if key == "xgboost":
            modeling.update(_newer_algorithms())
    modeling["metrics"]["evaluationMetric"] = None
    doc["modeling"] = modeling
    write(out, "mltask_prediction.json", f"{MLTASK_BINARY} (DSS 13.5.5 params.json after the guess); the null "
          "keys, per_feature, target_remapping, weightMethod, evaluationMetric and the algorithms' enabled flags are "
          "filled by the emulator's guess (ml_guess.py); HAND-MADE: modeling.catboost_*, tabicl*_* (newer than "
          "13.5.5, read by dataikuapi 15: keys from its CatBoostSettings / TabICL*Settings, values guessed)", doc)
    binary = load(root, MLTASK_BINARY)["preprocessing"]["per_feature"]
    regression = load(root, MLTASK_REGRESSION)["preprocessing"]["per_feature"]
    picked = {"NUMERIC": binary["80_Total night charge"], "CATEGORY": binary["80_International plan"],
              "DATE": regression["date"], "TARGET_NUMERIC": regression["sales"], "TARGET_CATEGORY": binary["80_Churn"]}
    for feature in picked.values():
        feature["role"] = None
        feature["state"]["recordedMeaning"] = None
    write(out, "mltask_features.json", f"per_feature entries of {MLTASK_BINARY} (NUMERIC, CATEGORY, TARGET_CATEGORY) "
          f"and {MLTASK_REGRESSION} (DATE: its 'date' column, TARGET_NUMERIC); role and recordedMeaning filled by "
          "the guess", picked)
    core = load(root, "other/analysis_core_params_dss1355.json")
    core["inputDatasetSmartName"] = None
    core["name"] = None
    core.pop("creationTag", None)
    write(out, "analysis_core_params.json", "other/analysis_core_params_dss1355.json (the visual analysis holding "
          "an ML task, DSS 13.5.5); inputDatasetSmartName, name and the tags filled on create", core)
    clustering_defaults(doc, out)


def saved_model_defaults(root: Path, out: Path) -> None:
    """A visual-ML saved model as deployToFlow writes it, and its training recipe."""
    doc = load(root, "saved_model/git_regression_at_creation_initial_version.json")
    for key in ("name", "activeVersion", "lastExportedFrom", "miniTask", "lastTrainIndex", "lastTrainJobId"):
        doc[key] = None
    for key in ("versionTag", "creationTag"):
        doc.pop(key)
    write(out, "saved_model_dss_managed.json", "saved_model/git_regression_at_creation_initial_version.json (written "
          "by deployToFlow, DSS 10 era); the null keys are filled on deploy, versionTag/creationTag stamped", doc)
    mlflow = load(root, "saved_model/git_mlflow_pyfunc_as_created_2022.json")
    mlflow["name"] = None
    mlflow["miniTask"]["predictionType"] = None
    write(out, "saved_model_api_created.json", "saved_model/git_mlflow_pyfunc_as_created_2022.json (what POST "
          "/projects/K/savedmodels/ wrote for an MLflow model; no versionTag/creationTag yet); name and "
          "miniTask.predictionType filled on create", mlflow)
    recipe = load(root, "recipe/prediction_training_recipe.json")
    for key in ("type", "inputs", "outputs", "versionTag", "creationTag"):
        recipe.pop(key)
    write(out, "recipe_ml_training.json", "recipe/prediction_training_recipe.json (the training recipe deployToFlow "
          "creates; DSS 10 era) without its type, roles and tags", recipe)


def clustering_defaults(prediction: dict, out: Path) -> None:
    """No real clustering task was found: the prediction document's common blocks with DSS's clustering
    algorithm keys (dataikuapi's DSSClusteringMLTaskSettings); parameters guessed."""
    preprocessing = copy.deepcopy(prediction["preprocessing"])
    preprocessing.pop("target_remapping")
    preprocessing["reduce"] = {"disable": True, "enable": False, "kept_variance": 0.9}
    preprocessing["outliers"] = {"method": "NONE", "min_n": 5, "min_cum_ratio": 0.01}
    k = [3, 5]
    modeling = {
        "kmeans_clustering": {"enabled": False, "k": k, "seed": 1337, "n_jobs": 2},
        "mini_batch_kmeans_clustering": {"enabled": False, "k": k, "seed": 1337},
        "ward_clustering": {"enabled": False, "k": k},
        "spectral_clustering": {"enabled": False, "k": k, "affinity_nearest_neighbors": True, "affinity_rbf": False,
                                "affinity_polynomial": False, "affinity_sigmoid": False, "gamma": 1.0, "coef0": 0.0,
                                "seed": 1337},
        "db_scan_clustering": {"enabled": False, "epsilon": 0.5, "min_sample_ratio": 0.01},
        "hdb_scan_clustering": {"enabled": False, "min_cluster_size": 5, "min_samples": 5},
        "gmm_clustering": {"enabled": False, "k": k, "max_iterations": 100, "seed": 1337},
        "two_step": {"enabled": False, "k": k, "init_cluster_count": 30, "max_iterations": 10, "seed": 1337},
        "isolation_forest": {"enabled": False, "n_estimators": 100, "max_samples": 256, "max_features": 1.0,
                             "contamination": 0.01, "bootstrap": False, "seed": 1337, "max_anomalies": 1000},
        "mllib_kmeans_clustering": {"enabled": False, "k": k, "max_iterations": 20, "seed": 1337},
        "mllib_gaussian_mixture_clustering": {"enabled": False, "k": k, "max_iterations": 20, "seed": 1337},
        "h2o_kmeans": {"enabled": False, "k": k, "max_iterations": 10},
        "custom_python": [], "custom_mllib": [], "plugin_python": {},
        "metrics": {"evaluationMetric": "SILHOUETTE"},
    }
    doc = {"taskType": "CLUSTERING", "preprocessing": preprocessing, "modeling": modeling}
    for key in ("guessPolicy", "id", "initiator", "diagnosticsSettings", "name", "backendType",
                "maxConcurrentModelTraining", "gpuConfig", "envSelection", "containerSelection", "sparkParams",
                "sparkCheckpoint", "predictionDisplayScript", "predictionDisplayCharts", "customMeasures", "labels"):
        doc[key] = copy.deepcopy(prediction[key])
    write(out, "mltask_clustering.json", "HAND-MADE (no real clustering ML task document found): the common blocks "
          "of mltask_prediction.json (DSS 13.5.5) with DSS's clustering algorithm keys from dataikuapi's "
          "DSSClusteringMLTaskSettings; the algorithm parameters are guesses (docs/emulator.md)", doc)


def evaluation_defaults(root: Path, out: Path) -> None:
    """The model evaluation store as created, and the scoring and evaluation recipes' payloads (the
    emulator's ml_scoring.py and routes/evaluationstores.py fill the blanked keys)."""
    store = load(root, "model_evaluation_store/git_at_creation.json")
    store["name"] = None
    for key in ("versionTag", "creationTag"):
        store.pop(key, None)
    write(out, "model_evaluation_store.json", 'model_evaluation_store/git_at_creation.json (a store as DSS 10 wrote it at creation; name filled, versionTag/creationTag stamped on create)', store)
    evaluation = load(root, "recipe/evaluation_recipe_multiclass_2023.payload.json")
    evaluation["dataDriftColumnHandling"] = {}
    evaluation["predictionType"] = None
    write(out, "payload_evaluation.json", "recipe/evaluation_recipe_multiclass_2023.payload.json (a DSS 12 evaluation recipe's payload, dataDriftColumnHandling emptied); at creation predictionType is set from the saved model, and for REGRESSION outputs/metrics become the 2022 regression sample's (ml_scoring.REGRESSION_PAYLOAD)", evaluation)
    scoring = load(root, "recipe/prediction_scoring_recipe_2023.payload.json")
    scoring["predictionType"] = None
    write(out, "payload_prediction_scoring.json", "recipe/prediction_scoring_recipe_2023.payload.json (a DSS 12 scoring recipe's payload); predictionType set from the saved model at creation", scoring)


def insight_defaults(root: Path, out: Path) -> None:
    """A chart insight's params as POST /projects/K/insights/ fills them (routes/insights.py)."""
    params = load(root, "insight/export_chart_dss1355.json")["params"]
    params.pop("datasetSmartName", None)
    chart = params["def"]
    for key in ("userEditedName", "thumbnailData", "name"):
        chart.pop(key, None)
    chart["genericMeasures"] = []
    chart["genericDimension0"] = []
    write(out, "insight_chart_params.json", "insight/export_chart_dss1355.json (DSS 13.5.5): a chart insight's params with its definition's dimensions, measures, name and thumbnail emptied; what POST /projects/K/insights/ fills under a chart prototype's params (a guess: no public document shows a chart created through the API)", params)


def derive(root: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    dataset_defaults(root, out)
    folder_defaults(root, out)
    project_defaults(root, out)
    recipe_defaults(root, out)
    scenario_defaults(root, out)
    hand_made_defaults(root, out)
    pivot_and_sampling_defaults(root, out)
    mltask_defaults(root, out)
    saved_model_defaults(root, out)
    evaluation_defaults(root, out)
    insight_defaults(root, out)


def main() -> None:
    parser = argparse.ArgumentParser(description="Derive dss_emulator/defaults/*.json from real DSS samples.")
    parser.add_argument(
        "samples", nargs="?", type=Path, default=SAMPLES_DIR, help="the dss-samples directory"
    )
    parser.add_argument("--out", type=Path, default=DEFAULTS_DIR, help="where to write the documents")
    args = parser.parse_args()
    derive(args.samples, args.out)


if __name__ == "__main__":
    main()
