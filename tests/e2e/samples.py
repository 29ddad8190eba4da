"""A DSS project built from the real DSS documents in /work/shared/dss-samples, through dataikuapi.

Each object is created the way a DSS user (or a migration script) would: the generic create call
with the sample's type and params, then one settings save carrying the sample document (minus
the bookkeeping DSS owns: versionTag, creationTag, name, projectKey). References the samples make
to objects of their own projects are kept by creating objects with those names; the only rewrites
are server-assigned managed-folder ids (a folder id cannot be chosen) and the connections, which
are seeded into the emulator under the samples' own names.

`EXPECTED_SKIPPED` lists the objects the configuration format cannot express: the importer must
report them and leave them unmanaged.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Optional

from tests.e2e.helpers import SAMPLES

BOOKKEEPING = ("versionTag", "creationTag", "name", "projectKey", "id")

CONNECTIONS = [
    {"name": "hdfs_managed", "type": "HDFS", "params": {"root": "/user/dss"}, "allowManagedDatasets": True},
    {"name": "postgresql-10", "type": "PostgreSQL", "params": {"host": "pg10", "db": "dss"}, "allowManagedDatasets": True},
    {"name": "postgreSQL", "type": "PostgreSQL", "params": {"host": "pg", "db": "energy"}, "allowManagedDatasets": True},
    {"name": "dataiku-managed-storage", "type": "S3", "params": {"bucket": "managed-dss-data"}, "allowManagedDatasets": True, "allowManagedFolders": True},
    {"name": "managed-snowflake", "type": "Snowflake", "params": {"host": "acme.snowflakecomputing.com"}, "allowManagedDatasets": True},
    {"name": "SNOWFLAKE-DATAIKU_ANALYTICS_SUB-DATA_SCIENCE", "type": "Snowflake", "params": {"host": "sub.snowflakecomputing.com"}, "allowManagedDatasets": True},
    {"name": "Default (in DSS data dir.)", "type": "Filesystem", "params": {"root": "/data/dss/uploads"}},
]
CODE_ENVS = [
    {"envLang": "PYTHON", "envName": "Python-base36", "deploymentMode": "DESIGN_MANAGED"},
    {"envLang": "PYTHON", "envName": "env_clc", "deploymentMode": "DESIGN_MANAGED"},
]
USERS = [{"login": login, "displayName": login, "groups": []} for login in ("Daniel.Vandermeer", "Ivy.Mead", "Alaina.Cellini", "Austin.Smith", "E0196103")]
GROUPS = [{"name": "read_all", "description": "readers"}]

# sample file -> dataset name (names from SOURCES.md, or the references other samples make)
DATASETS = {
    "api_filesystem_csv_managed_just_created": "output_dataset_name34",
    "api_hdfs_parquet_managed": "train_copy",
    "api_postgresql_managed_table": "just_nums",
    "export_filesystem_managed_dss804": "top_2500_prepared",
    "export_uploadedfiles_dss1355": "churn_bigml_80",
    "git_filesystem_partitioned": "Corona1_partitioned",
    "git_inline_editable": "dates",
    "git_plugin_dataset_googlesheets": "aeroports_suivis",
    "git_postgresql_external_sql_query_mode": "transactions_2017_sql_query",
    "git_s3_managed_csv_no_versiontag": "games",
    "git_snowflake_external_table": "CARDHOLDER_INFO",
    "git_snowflake_managed_custom_create_statement": "ACCOUNTS_WITH_BUNDLER",
    "git_uploadedfiles_csv_at_creation": "account_bundlers",
    "git_uploadedfiles_csv_post_creation_autocommit": "account_bundlers_2",
    "git_uploadedfiles_new_upload_params": "kaggle_openings",
}
FOLDERS = {
    "filesystem_folders_2022": "dashboards",
    "s3_managed_storage_recent": "pgn_files",
}
# Not built: plugin_fsprovider_sharepoint (a plugin-provided folder has no params.connection, and
# the emulator refuses to save a folder document without one; real DSS accepts it).
# sample file -> (recipe name, payload sample or None for code)
RECIPES = {
    "python_recipe_inherit_env": "compute_ACCOUNTS_WITH_BUNDLER",
    "python_recipe_explicit_code_env": "compute_user_mapping_1",
    "python_recipe_at_creation": "compute_WORD_LIST",
    "python_recipe_30_saves_later": "compute_COMMON_WORDS_IN_NAMES",
    "sql_query_recipe": "compute_customers_data_all_joined",
    "sync_recipe": "compute_ACCOUNT_BUNDLER_LIST",
    "join_recipe": "compute_games_joined_with_openings",
    "grouping_recipe": "compute_games_outcomes_by_opening_name",
    "prepare_recipe": "compute_games_prepared",
    "split_recipe": "split_churn_bigml_80_joined_prepared",
    "plugin_custom_recipe": "compute_7i2NN3Sc",
}
SCENARIOS = {
    "step_based_as_created": "BUILD_AS_CREATED",
    "step_based_ds_modified_trigger": "BUILD_ON_GAMES_CHANGE",
    "step_based_monthly_temporal_trigger": "BUILDGAMEANALYSIS",
    "ds_modified_on_managed_folder": "Update_dataset_whenever_folder_changes",
    "macro_runnable_step_weekly": "Kill_notebooks",
    "macro_runnable_steps_runas": "CLEARLOGS",
    "check_dataset_then_build": "SCOREDATA",
    "custom_python_scenario_type": "TEST",
    "custom_python_trigger": "Aa",
    "define_vars_send_report_steps": "REMOVE_QUOTES",
    "legacy_2018_sorted_keys": "YEA2",
    "sql_query_trigger": "UPDATEIFSHAREDDATACHANGES",
    "triggers_reporters_run_scenario": "PYTHON_RECIPE_24262",
}
# Datasets the sample scenarios check or build (SCOREDATA) that no sample dataset is named after.
SCENARIO_DATASETS = ("job_postings_prepared", "test_scored")
EXPECTED_SKIPPED = {
    "dataset dates",  # Inline (editable) dataset
    "dataset aeroports_suivis",  # plugin dataset
    # visual recipes naming columns their (stub) input's schema lacks: DSS could not run them as they are
    "recipe compute_games_joined_with_openings",
    "recipe compute_games_outcomes_by_opening_name",
    "recipe compute_7i2NN3Sc",  # plugin recipe
    "scenario REMOVE_QUOTES",  # a run_scenario step naming no scenario
    # run_scenario steps naming scenarios the project lacks ('Admin_Training', '24811'): the
    # written file would fail validation
    "scenario PYTHON_RECIPE_24262",
    # (every scenario imports: step kinds, triggers and reporters without a typed config are
    # written raw, as DSS takes them; a script scenario's code goes to a file)
}
SECRET_VALUES = {"opensky_client_secret": "REDACTED", "aviationstack_api_key": "REDACTED"}


def sample(rel: str) -> Any:
    return json.loads((SAMPLES / rel).read_text(encoding="utf-8"))


def _content(doc: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in doc.items() if k not in BOOKKEEPING}


@dataclass
class SampleProject:
    key: str
    folder_ids: dict[str, str] = field(default_factory=dict)
    datasets: set[str] = field(default_factory=set)


def seed_instance(dss: Any) -> None:
    dss.admin.seed(connections=CONNECTIONS, code_envs=CODE_ENVS, users=USERS, groups=GROUPS)


def build_sample_project(client: Any, key: str, name: str = "Imported from samples") -> SampleProject:
    built = SampleProject(key)
    client.create_project(key, name, "admin", description="Built from real DSS documents", tags=["samples", "imported"])
    project = client.get_project(key)
    _project_documents(project)
    for file, folder_name in FOLDERS.items():
        _folder(project, built, file, folder_name)
    for file, dataset_name in DATASETS.items():
        _dataset(project, built, sample(f"dataset/{file}.json"), dataset_name)
    _dataset(project, built, _filesystem_variant(), "top_2500_files")
    _managed_parquet(project, built, "train_copy_fs")
    for name in SCENARIO_DATASETS:
        _managed_parquet(project, built, name)
    for file, recipe_name in RECIPES.items():
        _recipe(project, built, file, recipe_name)
    for file, scenario_id in SCENARIOS.items():
        _scenario(project, built, sample(f"scenario/{file}.json"), scenario_id)
    _scenario(project, built, _run_and_set_vars(), "RUN_AND_SET_VARS")
    return built


def _project_documents(project: Any) -> None:
    params = sample("project/params_with_permissions_v2.json")
    permissions = project.get_permissions()
    permissions["owner"] = params["owner"]
    permissions["permissions"] = params["permissions"]
    project.set_permissions(permissions)
    settings = project.get_settings()
    raw = settings.get_raw()
    raw["settings"] = {**(raw.get("settings") or {}), **copy.deepcopy(params["settings"])}
    settings.save()
    metadata = project.get_metadata()
    metadata["shortDesc"] = "Samples round trip"
    project.set_metadata(metadata)
    local = {**sample("variables/local_dicee.json"), **sample("variables/local_with_secrets_redacted.json")}
    project.set_variables({"standard": {**sample("variables/standard_naf.json"), **sample("variables/standard_with_unicode_escapes.json")}, "local": local})


def _folder(project: Any, built: SampleProject, file: str, name: str) -> None:
    doc = sample(f"managed_folder/{file}.json")
    connection = doc["params"]["connection"]
    folder = project.create_managed_folder(name, connection_name=connection)
    settings = folder.get_settings()
    raw = settings.get_raw()
    raw.update(_content(doc))
    settings.save()
    built.folder_ids[name] = folder.odb_id


def _dataset(project: Any, built: SampleProject, doc: dict, name: str) -> None:
    project.create_dataset(name, doc["type"], params=copy.deepcopy(doc.get("params") or {}), formatType=doc.get("formatType"), formatParams=copy.deepcopy(doc.get("formatParams") or {}))
    settings = project.get_dataset(name).get_settings()
    raw = settings.get_raw()
    raw.update(_content(doc))
    settings.save()
    built.datasets.add(name)


def _filesystem_variant() -> dict:
    """A Filesystem dataset reading files already in place (not managed): the dss804 CSV
    document pointed at an existing directory, as a user does when importing files."""
    doc = sample("dataset/export_filesystem_managed_dss804.json")
    doc["managed"] = False
    doc["params"]["path"] = "/imports/top_2500"
    return doc


def _managed_parquet(project: Any, built: SampleProject, name: str) -> None:
    """A managed Filesystem Parquet dataset, made the way DSS's UI makes one (the managed-dataset
    endpoint with the PARQUET_HIVE format option), then given the HDFS Parquet sample's schema
    and format settings."""
    doc = sample("dataset/api_hdfs_parquet_managed.json")
    project.new_managed_dataset(name).with_store_into("filesystem_managed", format_option_id="PARQUET_HIVE").create()
    settings = project.get_dataset(name).get_settings()
    raw = settings.get_raw()
    raw["schema"] = copy.deepcopy(doc["schema"])
    raw["formatParams"] = {**(raw.get("formatParams") or {}), **copy.deepcopy(doc["formatParams"])}
    settings.save()
    built.datasets.add(name)


def _ensure_dataset(project: Any, built: SampleProject, name: str) -> None:
    if name not in built.datasets:
        _dataset(project, built, sample("dataset/api_filesystem_csv_managed_just_created.json"), name)


def _recipe(project: Any, built: SampleProject, file: str, name: str) -> None:
    doc = sample(f"recipe/{file}.json")
    for role_kind in ("inputs", "outputs"):
        for role in (doc.get(role_kind) or {}).values():
            for item in role.get("items") or []:
                ref = item["ref"]
                if ref == "7i2NN3Sc":  # a folder id of the sample's project: use our folder's id
                    item["ref"] = built.folder_ids["dashboards"]
                else:
                    _ensure_dataset(project, built, ref)
    payload_file = SAMPLES / "recipe" / f"{file}.payload.json"
    payload = payload_file.read_text(encoding="utf-8") if payload_file.exists() else _code(doc["type"], name)
    prototype = {"type": doc["type"], "name": name, "inputs": doc.get("inputs") or {}, "outputs": doc.get("outputs") or {}}
    project.create_recipe(prototype, {"rawCreation": True, "rawPayload": payload})
    settings = project.get_recipe(name).get_settings()
    settings.data["recipe"].update(_content(doc))
    settings.set_payload(payload)
    settings.save()


def _code(kind: str, name: str) -> str:
    if kind == "sql_query":
        return "SELECT c.*, w.visits\nFROM customers_data_prepared c\nJOIN web_data_prepared w USING (customer_id)\n"
    if kind == "sync":
        return ""
    return f"# {name}\nimport dataiku\n\nprint('hello from {name}')\n"


def _scenario(project: Any, built: SampleProject, doc: dict, scenario_id: str) -> None:
    doc = copy.deepcopy(doc)
    for trigger in doc.get("triggers") or []:
        for watch in (trigger.get("params") or {}).get("watches") or []:
            if watch.get("type") == "MANAGED_FOLDER":
                watch["itemId"] = built.folder_ids["dashboards"]
            else:
                _ensure_dataset(project, built, watch["itemId"])
    for step in (doc.get("params") or {}).get("steps") or []:
        for build in (step.get("params") or {}).get("builds") or []:
            if build.get("type") == "DATASET":
                _ensure_dataset(project, built, build["itemId"])
    definition = _content(doc)
    definition["id"] = scenario_id
    created = project.create_scenario(doc.get("name") or scenario_id, doc.get("type", "step_based"), definition=definition)
    settings = created.get_settings()
    raw = settings.get_raw()
    raw.update(_content(doc))
    settings.save()


def _run_and_set_vars() -> dict:
    """A scenario with a run_scenario step (from triggers_reporters_run_scenario) and a
    set_project_vars step (same step template), on a daily temporal trigger."""
    source = sample("scenario/triggers_reporters_run_scenario.json")
    run_step = copy.deepcopy(next(s for s in source["params"]["steps"] if s["type"] == "run_scenario" and s["params"].get("scenarioId") == "Aa"))
    run_step["params"]["scenarioId"] = "Kill_notebooks"
    run_step["name"] = "Kill idle notebooks first"
    set_vars = copy.deepcopy(run_step)
    set_vars.update({"id": "set_project_vars_1", "type": "set_project_vars", "name": "Step #2"})
    set_vars["params"] = {"variables": {"last_cleanup": "${now}"}, "proceedOnFailure": False}
    trigger = copy.deepcopy(source["triggers"][0])
    trigger["params"].update({"frequency": "Daily", "hour": 5, "minute": 15})
    return {"type": "step_based", "name": "Run then set variables", "active": False, "triggers": [trigger], "reporters": [], "params": {"steps": [run_step, set_vars]}}


def secret_env(key: str) -> dict[str, str]:
    """Environment variables the imported config reads its secret variables from (the importer's
    naming rule: IAC_SECRET_<CONFIG KEY>_<VARIABLE>, upper-cased)."""
    return {f"IAC_SECRET_{key}_{name}".upper(): value for name, value in SECRET_VALUES.items()}


def find_value(node: Any, predicate: Any, path: str = "") -> Optional[str]:
    """The path of the first key or string value matching `predicate` in a YAML/JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else str(k)
            if predicate(str(k)):
                return here
            found = find_value(v, predicate, here)
            if found:
                return found
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found = find_value(v, predicate, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(node, str) and predicate(node):
        return f"{path} = {node!r}"
    return None
