"""Datasets: list, generic and managed create, settings, schema, metadata, rename, usages, delete."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import dataset_rows, defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from .common import apply_metadata, check_name, connection, keep_server_fields, metadata_of
from .mltasks import ANALYSES, rename_analysis_inputs

CONNECTION_FREE_TYPES = {"UploadedFiles", "FilesInFolder", "Inline"}


def _dataset(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    name = ctx.params["name"]
    doc = proj.datasets.get(name)
    if doc is None:
        raise errors.not_found(f"dataset does not exist: {proj.key}.{name}")
    return doc


def _check_new_name(proj: ProjectData, name: Any) -> str:
    name = check_name("Dataset", name)
    if name in proj.datasets:
        raise errors.already_exists(f"Dataset {name} already exists in project {proj.key}")
    return name


def _check_params_connection(ctx: Ctx, dtype: str, params: Dict[str, Any]) -> None:
    if "connection" in params and dtype not in CONNECTION_FREE_TYPES:
        connection(ctx.store, params["connection"])
    elif dtype in defaults.SQL_TYPES or dtype in ("Filesystem", "HDFS", "S3", "GCS", "Azure"):
        raise errors.bad_request(f"params.connection is required for a {dtype} dataset")


def _created(ctx: Ctx, proj: ProjectData, doc: Dict[str, Any]) -> Dict[str, Any]:
    defaults.stamp_creation(doc, ctx.login)
    # A dataset read right after creation already shows versionNumber 1 (post-creation auto-commit).
    defaults.bump(doc, ctx.login)
    proj.datasets[doc["name"]] = doc
    ctx.store.save_dataset(proj, doc["name"])
    return clone(doc)


@route("GET", "/projects/<pk>/datasets/")
def list_datasets(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    wanted = set(ctx.request.args.getlist("tags"))
    out = []
    for name in sorted(proj.datasets):
        doc = proj.datasets[name]
        if wanted and not wanted.intersection(doc.get("tags", [])):
            continue
        out.append(doc)  # not copied: encoded under the store lock (server.py)
    return out


@route("POST", "/projects/<pk>/datasets/")
def create_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = _check_new_name(proj, body.get("name"))
    dtype = body.get("type")
    if not isinstance(dtype, str) or not dtype:
        raise errors.bad_request("Dataset type is missing")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise errors.bad_request("params must be a JSON object")
    _check_params_connection(ctx, dtype, params)
    extra = {
        k: v
        for k, v in body.items()
        if k not in ("name", "projectKey", "type", "params", "managed", "versionTag", "creationTag")
    }
    extra = {k: v for k, v in extra.items() if v is not None}  # the client sends formatType: null
    if not extra.get("formatType"):
        extra.pop("formatParams", None)
    doc = defaults.new_dataset(proj.key, name, dtype, bool(body.get("managed", False)), params, extra)
    return ctx.created(_created(ctx, proj, doc), "name")


def _partitioning_from(ctx: Ctx, proj: ProjectData, option: Any) -> Dict[str, Any]:
    if not option:
        return {}
    kind, _, ref = (
        str(option).partition(":")[2].partition(":") if str(option).startswith("copy:") else ("", "", "")
    )
    source = None
    if kind == "dataset":
        source = proj.datasets.get(ref)
    elif kind == "folder":
        source = proj.folders.get(ref)
    if source is None:
        raise errors.bad_request(f"Invalid partitioningOptionId '{option}'")
    return {"partitioning": clone(source.get("partitioning", {}))}


def managed_dataset_doc(ctx: Ctx, proj: ProjectData, name: str, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The document DSS builds for ``POST /datasets/managed`` (also used for recipe outputs)."""
    conn = connection(ctx.store, settings.get("connectionId"))
    if not conn.get("allowManagedDatasets", True):
        raise errors.bad_request("Connection '{}' does not allow managed datasets".format(conn["name"]))
    dtype = settings.get("typeOptionId") or defaults.dataset_type_for_connection(conn)
    specific = settings.get("specificSettings") or {}
    extra: Dict[str, Any] = _partitioning_from(ctx, proj, settings.get("partitioningOptionId"))
    if dtype in defaults.SQL_TYPES:
        params = {"connection": conn["name"], "mode": "table", "table": f"${{projectKey}}_{name}"}
    else:
        prefix = "" if dtype == "Filesystem" else "/"
        params = {"connection": conn["name"], "path": f"{prefix}${{projectKey}}/{name}"}
        fmt = defaults.format_for_option(specific.get("formatOptionId"), dtype)
        if fmt is None:
            raise errors.bad_request(
                "Unknown format option '{}' (known: {})".format(
                    specific.get("formatOptionId"), ", ".join(defaults.FORMAT_OPTIONS)
                )
            )
        extra.update(fmt)
    return defaults.new_dataset(proj.key, name, dtype, True, params, extra)


@route("POST", "/projects/<pk>/datasets/managed")
def create_managed_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = _check_new_name(proj, body.get("name"))
    settings = body.get("creationSettings") or {}
    if not isinstance(settings, dict):
        raise errors.bad_request("creationSettings must be a JSON object")
    return ctx.created(_created(ctx, proj, managed_dataset_doc(ctx, proj, name, settings)), "name")


def create_managed_output(ctx: Ctx, proj: ProjectData, name: str, settings: Dict[str, Any]) -> None:
    _check_new_name(proj, name)
    _created(ctx, proj, managed_dataset_doc(ctx, proj, name, settings or {}))


@route("GET", "/projects/<pk>/datasets/<name>")
def get_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_dataset(ctx, proj))


@route("PUT", "/projects/<pk>/datasets/<name>")
def put_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = _dataset(ctx, proj)
    body = ctx.body_dict()
    doc = keep_server_fields(body, old, ("name", "projectKey"))
    doc.setdefault("type", old["type"])
    params = doc.get("params") or {}
    if not isinstance(params, dict):
        raise errors.bad_request("params must be a JSON object")
    if "connection" in params and doc["type"] not in CONNECTION_FREE_TYPES:
        connection(ctx.store, params["connection"])
    defaults.bump(doc, ctx.login)
    proj.datasets[old["name"]] = doc
    ctx.store.save_dataset(proj, old["name"])
    return {}


@route("DELETE", "/projects/<pk>/datasets/<name>")
def delete_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj)
    if ctx.qbool("dropData"):
        dataset_rows.clear(ctx.store, proj.key, doc)
    ctx.store.remove_dataset(proj, doc["name"])
    return {}


@route("GET", "/projects/<pk>/datasets/<name>/schema")
def get_schema(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_dataset(ctx, proj).get("schema", {"columns": []}))


@route("PUT", "/projects/<pk>/datasets/<name>/schema")
def set_schema(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj)
    schema = ctx.body_dict()
    columns = schema.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, dict) and c.get("name") for c in columns):
        raise errors.bad_request("schema.columns must be a list of {name, type} objects")
    doc["schema"] = schema
    defaults.bump(doc, ctx.login)
    ctx.store.save_dataset(proj, doc["name"])
    return {}


@route("GET", "/projects/<pk>/datasets/<name>/metadata")
def get_dataset_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _dataset(ctx, proj)
    return metadata_of(doc, doc["name"])


@route("PUT", "/projects/<pk>/datasets/<name>/metadata")
def set_dataset_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _dataset(ctx, proj)
    apply_metadata(doc, ctx.body_dict())
    defaults.bump(doc, ctx.login)
    ctx.store.save_dataset(proj, doc["name"])
    return {}


@route("GET", "/projects/<pk>/datasets/<name>/info")
def dataset_info(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _dataset(ctx, proj)
    info: Dict[str, Any] = {"dataset": clone(doc)}
    last = ctx.app.runtime.last_build(proj.key, doc["name"])
    if last is not None:  # never built: no lastBuild (dataikuapi reads it with .get)
        info["lastBuild"] = last
    return info


def usages_of(proj: ProjectData, ref: str) -> List[Dict[str, Any]]:
    out = []
    for rname, recipe in sorted(proj.recipes.items()):
        for role_key, usage in (("inputs", "RECIPE_INPUT"), ("outputs", "RECIPE_OUTPUT")):
            for role in (recipe.get(role_key) or {}).values():
                if any(item.get("ref") == ref for item in role.get("items", [])):
                    out.append({"type": usage, "objectId": rname, "objectProjectKey": proj.key})
                    break
    return out


@route("GET", "/projects/<pk>/datasets/<name>/usages")
def dataset_usages(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return usages_of(proj, _dataset(ctx, proj)["name"])


def rename_refs(proj: ProjectData, old: str, new: str) -> List[str]:
    """Point recipe inputs/outputs at the new name, as DSS does on rename. Returns the touched recipes."""
    touched = []
    for rname, recipe in proj.recipes.items():
        changed = False
        for role_key in ("inputs", "outputs"):
            for role in (recipe.get(role_key) or {}).values():
                for item in role.get("items", []):
                    if item.get("ref") == old:
                        item["ref"] = new
                        changed = True
        if changed:
            touched.append(rname)
    return touched


@route("POST", "/projects/<pk>/actions/renameDataset")
def rename_dataset(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    old, new = body.get("oldName"), body.get("newName")
    if not isinstance(old, str) or old not in proj.datasets:
        raise errors.not_found(f"dataset does not exist: {proj.key}.{old}")
    new = _check_new_name(proj, new)
    doc = proj.datasets[old]
    ctx.store.rename_in_zones(proj, "DATASET", old, new)  # the object stays in its zone
    ctx.store.remove_dataset(proj, old)
    ctx.store.rows.rename(proj.key, old, new)  # the rows follow the dataset
    doc["name"] = new
    defaults.bump(doc, ctx.login)
    proj.datasets[new] = doc
    ctx.store.save_dataset(proj, new)
    for rname in rename_refs(proj, old, new):
        ctx.store.save_recipe(proj, rname)
    if rename_analysis_inputs(proj, old, new):
        ctx.store.save_collection(proj, ANALYSES)
    return {}
