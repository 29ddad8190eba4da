"""DSS's default documents, built from the data files in ``defaults/`` (derived from real DSS samples).

Everything DSS fills in on its own on create lives here, so routes only add what the caller sent.
Where no real sample exists (connections, code envs, users, groups) the document is marked as
hand-made in docs/emulator.md.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Optional

from .jsoncopy import clone

DEFAULTS_DIR = Path(__file__).resolve().parent / "defaults"

# dataikuapi's own type lists (dss/dataset.py): which dataset types are file-based or SQL.
FS_TYPES = {
    "Filesystem",
    "UploadedFiles",
    "FilesInFolder",
    "HDFS",
    "S3",
    "Azure",
    "GCS",
    "FTP",
    "SCP",
    "SFTP",
}
SQL_TYPES = {
    "JDBC",
    "PostgreSQL",
    "MySQL",
    "Vertica",
    "Snowflake",
    "Redshift",
    "Greenplum",
    "Teradata",
    "Oracle",
    "SQLServer",
    "SAPHANA",
    "Netezza",
    "BigQuery",
    "Athena",
    "hiveserver2",
    "Synapse",
    "FabricWarehouse",
    "Databricks",
    "DatabricksLakebase",
    "ClickHouse",
}
# Connection type -> dataset/folder type. S3 connections report type "EC2" (export manifest sample).
CONNECTION_TO_DATASET_TYPE = {"EC2": "S3"}

CODE_RECIPE_TYPES = {
    "python",
    "r",
    "sql_script",
    "pyspark",
    "sparkr",
    "spark_scala",
    "shell",
    "spark_sql_query",
    "cpython",
    "ksql",
    "streaming_spark_scala",
    "julia",
}
# The storage format options of a new managed file dataset (`formatOptionId`): the ids dataikuapi
# documents for recipe outputs (dss/recipe.py, with_new_output), each with the formatParams file it
# gets. Derived from a real sample unless the file says "hand-made" (docs/emulator.md).
FORMAT_OPTIONS = {
    "CSV_ESCAPING_NOGZIP_FORHIVE": "format_csv_escaping_nogzip_forhive.json",
    "CSV_UNIX_GZIP": "format_csv_unix_gzip.json",
    "CSV_EXCEL_GZIP": "format_csv_excel_gzip.json",
    "CSV_EXCEL_GZIP_BIGQUERY": "format_csv_excel_gzip.json",  # no sample: taken as CSV_EXCEL_GZIP
    "CSV_NOQUOTING_NOGZIP_FORPIG": "format_csv_escaping_nogzip_forhive.json",  # no sample: as the Hive one
    "PARQUET_HIVE": "format_parquet_hive.json",
    "AVRO": "format_avro.json",
    "ORC": "format_orc.json",
}
FORMAT_TYPES = {"format_parquet_hive.json": "parquet", "format_avro.json": "avro", "format_orc.json": "orc"}
# The format a managed file dataset gets when the client names none: gzip CSV, unix style, on the
# server filesystem (every filesystem sample is gzip CSV, the recent ones unix style); Hive-style CSV
# on the Hadoop and cloud stores (the S3 sample). dss-fidelity-findings.md section 5.
DEFAULT_FORMAT_OPTION = "CSV_UNIX_GZIP"
DEFAULT_FORMAT_OPTION_BY_TYPE = {t: "CSV_ESCAPING_NOGZIP_FORHIVE" for t in ("HDFS", "S3", "GCS", "Azure")}

ID_ALPHABET = string.ascii_letters + string.digits


@cache
def _raw(name: str) -> Any:
    return json.loads((DEFAULTS_DIR / name).read_text(encoding="utf-8"))["document"]


def load(name: str) -> Any:
    """A fresh deep copy of one default document."""
    return clone(_raw(name))


def now_ms() -> int:
    return int(time.time() * 1000)


def random_id(length: int = 8) -> str:
    return "".join(random.choice(ID_ALPHABET) for _ in range(length))


def version_tag(login: str, number: int = 0, ts: Optional[int] = None) -> Dict[str, Any]:
    return {
        "versionNumber": number,
        "lastModifiedBy": {"login": login},
        "lastModifiedOn": ts if ts is not None else now_ms(),
        "extendedProperties": {},
    }


def bump(doc: Dict[str, Any], login: str) -> None:
    """DSS bumps versionTag on every save, even a no-op one (dss-samples/SOURCES.md, point 1)."""
    previous = doc.get("versionTag") or {}
    number = int(previous.get("versionNumber", -1)) + 1
    stamp = now_ms()
    if previous.get("lastModifiedOn") and stamp <= int(previous["lastModifiedOn"]):
        stamp = int(previous["lastModifiedOn"]) + 1  # keep lastModifiedOn strictly increasing
    doc["versionTag"] = version_tag(login, number, stamp)


def stamp_creation(doc: Dict[str, Any], login: str) -> None:
    tag = version_tag(login, 0)
    doc["creationTag"] = tag
    doc["versionTag"] = clone(tag)


def deep_merge(base: Dict[str, Any], overlay: Dict[str, Any]) -> Dict[str, Any]:
    """Caller-supplied keys win; nested dicts are merged so DSS's defaults fill the gaps."""
    out = clone(base)
    for k, v in (overlay or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = clone(v)
    return out


# ---------------------------------------------------------------- datasets


def dataset_type_for_connection(conn: Dict[str, Any]) -> str:
    ctype = conn.get("type", "Filesystem")
    return CONNECTION_TO_DATASET_TYPE.get(ctype, ctype)


def format_for_option(option_id: Optional[str], dataset_type: str) -> Optional[Dict[str, Any]]:
    """(formatType, formatParams) for a DSS format option id (None: the type's default), or None if
    the option is unknown."""
    default = DEFAULT_FORMAT_OPTION_BY_TYPE.get(dataset_type, DEFAULT_FORMAT_OPTION)
    fname = FORMAT_OPTIONS.get(option_id or default)
    if fname is None:
        return None
    return {"formatType": FORMAT_TYPES.get(fname, "csv"), "formatParams": load(fname)}


def dataset_params(dtype: str, params: Dict[str, Any]) -> Dict[str, Any]:
    if dtype in SQL_TYPES:
        base = {"connection": params.get("connection")}
        base.update(load("dataset_params_sql.json"))
        if dtype == "PostgreSQL":
            base.update(load("dataset_params_sql_postgresql_extra.json"))
        return deep_merge(base, params)
    if dtype in FS_TYPES:
        base = {k: params[k] for k in ("connection", "path") if k in params}
        base.update(load("dataset_params_fs.json"))
        return deep_merge(base, params)
    return deep_merge({"notReadyIfEmpty": False}, params)


def new_dataset(
    project_key: str, name: str, dtype: str, managed: bool, params: Dict[str, Any], extra: Dict[str, Any]
) -> Dict[str, Any]:
    doc: Dict[str, Any] = {"type": dtype, "managed": managed}
    doc.update(load("dataset_base.json"))
    doc["params"] = dataset_params(dtype, params)
    doc["schema"] = {"columns": [], "userModified": False}
    doc = deep_merge(doc, extra)
    doc["projectKey"] = project_key
    doc["name"] = name
    return doc


# ---------------------------------------------------------------- managed folders


def new_folder(
    project_key: str, odb_id: str, name: str, ftype: str, params: Dict[str, Any], extra: Dict[str, Any]
) -> Dict[str, Any]:
    doc: Dict[str, Any] = {"name": name, "type": ftype}
    base_params: Dict[str, Any] = {k: params[k] for k in ("connection", "path") if k in params}
    if ftype in FS_TYPES:
        base_params.update(load("folder_params_fs.json"))
    doc["params"] = deep_merge(base_params, params)
    doc.update(load("folder_base.json"))
    doc = deep_merge(doc, extra)
    doc["projectKey"] = project_key
    doc["id"] = odb_id
    return doc


# ---------------------------------------------------------------- projects


def permission_row(row: Dict[str, Any]) -> Dict[str, Any]:
    """DSS spells out every flag on each permission row (params_with_permissions_v2 sample)."""
    out: Dict[str, Any] = {}
    for who in ("user", "group"):
        if who in row:
            out[who] = row[who]
    flags = load("permission_row.json")
    for k, v in row.items():
        if k not in ("user", "group"):
            flags[k] = v
    out.update(flags)
    return out


def new_project_params(
    name: str, owner: str, owner_display: str, creator: str, description: Optional[str]
) -> Dict[str, Any]:
    doc = load("project_params.json")
    stamp = now_ms()
    doc["owner"] = owner
    doc["name"] = name
    for item in doc["checklists"]["checklists"][0]["items"]:
        item["createdOn"] = stamp
        item["createdBy"] = creator
    doc["creationTag"] = version_tag(creator, 0, stamp)
    doc["versionTag"] = version_tag(creator, 0, stamp)
    doc["shortDesc"] = "The project *{}* was created by {} on {}".format(
        name, owner_display, time.strftime("%b %dth %Y", time.localtime(stamp / 1000))
    )
    if description:
        doc["description"] = description
    return doc


# ---------------------------------------------------------------- recipes

ML_RECIPE_TYPES = ("prediction_scoring", "clustering_scoring", "evaluation")


def recipe_base(rtype: str) -> Dict[str, Any]:
    if rtype in CODE_RECIPE_TYPES or rtype.startswith("CustomCode_"):
        return load("recipe_code.json")
    if rtype == "sql_query":
        return load("recipe_sql_query.json")
    if rtype == "sync":
        return load("recipe_sync.json")
    if rtype == "shaker":
        return load("recipe_shaker.json")
    if rtype in ML_RECIPE_TYPES:  # the training, scoring and evaluation samples share one skeleton
        return load("recipe_ml_training.json")
    return load("recipe_visual.json")


def new_recipe(project_key: str, name: str, rtype: str, proto: Dict[str, Any]) -> Dict[str, Any]:
    doc: Dict[str, Any] = {"type": rtype}
    doc.update(recipe_base(rtype))
    if rtype == "sampling":  # its sampling lives in the params' `selection`, not in the payload
        doc["params"] = load("recipe_params_sampling.json")
    extra = {k: v for k, v in proto.items() if k not in ("type", "name", "projectKey")}
    doc = deep_merge(doc, extra)
    doc.setdefault("inputs", {})
    doc.setdefault("outputs", {})
    doc["projectKey"] = project_key
    doc["name"] = name
    return doc


def grouping_payload(group_key: Optional[str]) -> Dict[str, Any]:
    payload = load("payload_grouping.json")
    if group_key:
        key = {"column": group_key}
        key.update(load("grouping_key_flags.json"))
        payload["keys"].append(key)
    return payload


def join_payload(virtual_inputs: List[str]) -> Dict[str, Any]:
    payload = load("payload_join.json")
    for idx, ref in enumerate(virtual_inputs):
        vi = {"originLabel": ref, "index": idx}
        vi.update(load("join_virtual_input.json"))
        payload["virtualInputs"].append(vi)
        if idx > 0:
            join = load("join_join.json")
            join["table1"], join["table2"] = 0, idx
            payload["joins"].append(join)
    return payload


def stack_payload(virtual_inputs: List[str]) -> Dict[str, Any]:
    payload = load("payload_vstack.json")
    payload["virtualInputs"] = [
        {"index": idx, "originLabel": ref, "preFilter": {"distinct": False, "enabled": False}}
        for idx, ref in enumerate(virtual_inputs)
    ]
    return payload


def pivot_payload(key: Optional[str]) -> Dict[str, Any]:
    """DSS's editor sends the pivot column as creation setting `key` (dataikuapi's creator sends none)."""
    payload = load("payload_pivot.json")
    if key:
        payload["pivots"][0]["keyColumns"] = [key]
    return payload


def default_payload(rtype: str, settings: Dict[str, Any]) -> str:
    if rtype == "grouping":
        return json.dumps(grouping_payload(settings.get("groupKey")), indent=2)
    if rtype == "vstack":
        return json.dumps(stack_payload(list(settings.get("virtualInputs") or [])), indent=2)
    if rtype in ("join", "fuzzyjoin", "geojoin"):
        return json.dumps(join_payload(list(settings.get("virtualInputs") or [])), indent=2)
    if rtype == "shaker":
        return json.dumps(load("payload_shaker.json"), indent=2)
    if rtype == "pivot":
        return json.dumps(pivot_payload(settings.get("key")), indent=2)
    if rtype == "sampling":
        return json.dumps(load("payload_sampling.json"), indent=2)
    if rtype in ("window", "split", "sort", "distinct", "topn"):
        return json.dumps(load(f"payload_{rtype}.json"), indent=2)
    script = settings.get("script")
    return script if isinstance(script, str) else ""


# ---------------------------------------------------------------- scenarios


def scenario_id_from_name(name: str) -> str:
    """DSS 15 derives a scenario id from its name: the case is kept and every character outside
    [A-Za-z0-9_] becomes '_' ('Nightly build' -> 'Nightly_build'; dss-fidelity-findings.md section 2)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name or "")


def sort_tags(doc: Dict[str, Any]) -> None:
    """DSS 15 keeps the tags of projects and scenarios as a set and returns them sorted
    (dss-fidelity-findings.md section 5)."""
    if isinstance(doc.get("tags"), list):
        doc["tags"] = sorted(set(doc["tags"]), key=str)


def normalize_step(step: Dict[str, Any], index: int) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "id": step.get("id") or f"{step.get('type', 'step')}_{index + 1}",
        "type": step.get("type"),
        "name": step.get("name") or f"Step #{index + 1}",
    }
    out.update(load("scenario_step.json"))
    params = step.get("params") or {}
    if step.get("type") == "build_flowitem":
        params = deep_merge(load("step_params_build_flowitem.json"), params)
    out = deep_merge(out, {k: v for k, v in step.items() if k not in ("id", "name")})
    out["params"] = params
    return out


def normalize_trigger(trigger: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "id": trigger.get("id") or random_id(),
        "type": trigger.get("type"),
        "name": trigger.get("name") or "Trigger",
    }
    out.update(load("scenario_trigger.json"))
    if trigger.get("type") == "ds_modified":
        out.update(load("trigger_ds_modified_grace.json"))
    out = deep_merge(out, {k: v for k, v in trigger.items() if k != "id"})
    if out.get("type") == "temporal" and isinstance(out.get("params"), dict):
        out["params"].setdefault("lastUpdate", now_ms())  # DSS stamps temporal triggers on save
    return out


# What DSS writes in a reporter saved without them (every reporter of the samples has them; a
# reporter saved without `phase` or a run condition is a guess: docs/emulator.md).
REPORTER_DEFAULTS = {"active": True, "runConditionEnabled": False, "runCondition": "", "phase": "END"}


def normalize_reporter(reporter: Dict[str, Any]) -> Dict[str, Any]:
    """DSS gives each reporter a random 8-character id and fills its run condition and phase."""
    out: Dict[str, Any] = {"id": reporter.get("id") or random_id(), **REPORTER_DEFAULTS}
    out.update({k: clone(v) for k, v in reporter.items() if k != "id"})
    messaging = out.get("messaging")
    if isinstance(messaging, dict):
        messaging.setdefault("configuration", {})
    return out


def new_scenario(
    project_key: str, sid: str, name: str, stype: str, definition: Dict[str, Any]
) -> Dict[str, Any]:
    doc: Dict[str, Any] = {"type": stype, "name": name}
    doc.update(load("scenario_base.json"))
    if stype == "custom_python":
        doc["params"] = {"envSelection": {"envMode": "INHERIT"}}
    extra = {k: v for k, v in definition.items() if k not in ("type", "name", "id", "projectKey")}
    doc = deep_merge(doc, extra)
    doc["projectKey"] = project_key
    doc["id"] = sid
    normalize_scenario(doc)
    return doc


def normalize_scenario(doc: Dict[str, Any]) -> None:
    """DSS writes every step and trigger default, and gives triggers random ids, on each save."""
    doc["triggers"] = [normalize_trigger(t) for t in doc.get("triggers") or []]
    doc["reporters"] = [normalize_reporter(r) for r in doc.get("reporters") or [] if isinstance(r, dict)]
    sort_tags(doc)
    params = doc.setdefault("params", {})
    if doc.get("type") == "step_based":
        params["steps"] = [normalize_step(s, i) for i, s in enumerate(params.get("steps") or [])]


# ---------------------------------------------------------------- instance objects (no real sample: hand-made)


def connection_doc(spec: Dict[str, Any]) -> Dict[str, Any]:
    ctype = spec.get("type", "Filesystem")
    is_sql = ctype in SQL_TYPES
    doc = {
        "name": spec["name"],
        "type": ctype,
        "description": "",
        "params": {},
        "usableBy": "ALL",
        "allowedGroups": [],
        "allowWrite": True,
        "allowManagedDatasets": True,
        "allowManagedFolders": not is_sql,
        "allowKnowledgeBanks": False,
        "detailsReadability": {"readableBy": "ALL", "allowedGroups": []},
        "credentialsMode": "GLOBAL",
        "maxActivities": 0,
        "indexingSettings": {},
        "owner": "admin",
        "creationTag": version_tag(spec.get("owner") or "admin", 0),  # findings section 7
    }
    return deep_merge(doc, {k: v for k, v in spec.items() if k != "name"})


def code_env_doc(spec: Dict[str, Any]) -> Dict[str, Any]:
    lang = spec.get("envLang", "PYTHON")
    mode = spec.get("deploymentMode", "DESIGN_MANAGED")
    desc = {
        "deploymentMode": mode,
        "installCorePackages": True,
        "installJupyterSupport": False,
        "usableByAll": True,
        "permissions": [],
        "owner": "admin",
        "allContainerConfs": False,
        "containerConfs": [],
        "allSparkKubernetesConfs": False,
        "sparkKubernetesConfs": [],
    }
    if lang == "PYTHON":
        desc["pythonInterpreter"] = spec.get("pythonInterpreter", "PYTHON39")
        desc["corePackagesSet"] = "AUTO"
    doc = {
        "envLang": lang,
        "envName": spec["envName"],
        "deploymentMode": mode,
        "desc": desc,
        "specPackageList": "",
        "specCondaEnvironment": "",
        "actualPackageList": "",
        "permissions": [],
        "owner": "admin",
    }
    doc.update({k: clone(desc[k]) for k in CODE_ENV_MIRRORED_KEYS})
    doc = deep_merge(doc, {k: v for k, v in spec.items() if k not in ("envLang", "envName")})
    mirror_code_env_keys(doc)
    return doc


# Code env settings DSS shows both at the top level and inside `desc`; on a PUT the top-level value
# wins (dss-fidelity-findings.md section 7).
CODE_ENV_MIRRORED_KEYS = ("usableByAll", "allContainerConfs", "containerConfs")


def mirror_code_env_keys(doc: Dict[str, Any]) -> None:
    """Make `desc` agree with the top level, the top level winning; a key only in `desc` is copied up."""
    desc = doc.setdefault("desc", {})
    for key in CODE_ENV_MIRRORED_KEYS:
        if key in doc:
            desc[key] = clone(doc[key])
        elif key in desc:
            doc[key] = clone(desc[key])


def user_doc(spec: Dict[str, Any]) -> Dict[str, Any]:
    doc = {
        "login": spec["login"],
        "displayName": spec.get("displayName") or spec["login"],
        "email": "",
        "groups": [],
        "userProfile": "DATA_SCIENTIST",
        "enabled": True,
        "sourceType": "LOCAL",
        "adminProperties": {},
        "userProperties": {},
        "secrets": [],
        "credentials": {},
        "preferences": {},
    }
    return deep_merge(doc, {k: v for k, v in spec.items() if k not in ("login", "password")})


# The group DSS gives a user created through the API without groups (findings section 7 says DSS
# does; which group it is, is an assumption: the group DSS ships for read-only users).
DEFAULT_USER_GROUP = "readers"


def group_doc(spec: Dict[str, Any]) -> Dict[str, Any]:
    admin = bool(spec.get("admin", False))
    doc = {
        "name": spec["name"],
        "description": "",
        "sourceType": "LOCAL",
        "admin": admin,
        "mayCreateProjects": admin,
        "mayWriteUnsafeCode": admin,
        "mayWriteSafeCode": True,
        "mayCreateCodeEnvs": admin,
        "mayManageCodeEnvs": admin,
        "mayCreateAuthenticatedConnections": admin,
        "mayDevelopPlugins": admin,
        "ldapGroupNames": [],
        "azureADGroupNames": [],
    }
    return deep_merge(doc, {k: v for k, v in spec.items() if k != "name"})


def project_standards_default_scope() -> Dict[str, Any]:
    """The scope of the projects no other scope selects (its name and emptiness are doubts:
    docs/emulator.md)."""
    return {"name": "default", "description": "Applies to the projects no other scope selects", "checks": [],
            "selectionMethod": "BY_PROJECT", "selectedProjects": [], "selectedFolders": [], "selectedTags": []}
