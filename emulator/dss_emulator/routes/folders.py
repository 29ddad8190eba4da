"""Managed folders: list, create (server-assigned 8-character id), settings, delete, file contents."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..files import normalize
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from .common import connection, keep_server_fields
from .datasets import usages_of


def _folder(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    fid = ctx.params["fid"]
    doc = proj.folders.get(fid)
    if doc is None:
        raise errors.not_found(f"managed folder does not exist: {proj.key}.{fid}")
    return doc


def _check_folder_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Managed folder name is missing")
    if "/" in name:
        raise errors.bad_request(f"Invalid managed folder name '{name}'")
    return name


def _folder_connection(ctx: Ctx, name: Any) -> Dict[str, Any]:
    conn = connection(ctx.store, name)
    if conn.get("type") in defaults.SQL_TYPES:
        raise errors.bad_request("Connection '{}' cannot hold managed folders".format(conn["name"]))
    return conn


def new_folder(
    ctx: Ctx, proj: ProjectData, name: str, params: Dict[str, Any], ftype: Any = None, extra: Any = None
) -> Dict[str, Any]:
    conn = _folder_connection(ctx, params.get("connection"))
    odb_id = defaults.random_id(8)
    while odb_id in proj.folders:
        odb_id = defaults.random_id(8)
    params = dict(params)
    params.setdefault("path", "${projectKey}/${odbId}")
    doc = defaults.new_folder(
        proj.key, odb_id, name, ftype or defaults.dataset_type_for_connection(conn), params, extra or {}
    )
    defaults.stamp_creation(doc, ctx.login)
    proj.folders[odb_id] = doc
    ctx.store.save_folder(proj, odb_id)
    return doc


@route("GET", "/projects/<pk>/managedfolders/")
def list_folders(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    # Not copied: the answer is encoded under the store lock (server.py).
    return [proj.folders[f] for f in sorted(proj.folders, key=lambda f: proj.folders[f]["name"])]


@route("POST", "/projects/<pk>/managedfolders/")
def create_folder(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = _check_folder_name(body.get("name"))
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise errors.bad_request("params must be a JSON object")
    params.setdefault("connection", "filesystem_folders")
    extra = {
        k: v
        for k, v in body.items()
        if k not in ("name", "projectKey", "type", "params", "id", "versionTag", "creationTag")
    }
    return ctx.created(clone(new_folder(ctx, proj, name, params, body.get("type"), extra)), "id")


@route("GET", "/projects/<pk>/managedfolders/<fid>")
def get_folder(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_folder(ctx, proj))


@route("PUT", "/projects/<pk>/managedfolders/<fid>")
def put_folder(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = _folder(ctx, proj)
    doc = keep_server_fields(ctx.body_dict(), old, ("id", "projectKey"))
    _check_folder_name(doc.get("name", old["name"]))
    doc.setdefault("name", old["name"])
    doc.setdefault("type", old.get("type"))
    _folder_connection(ctx, (doc.get("params") or {}).get("connection"))
    defaults.bump(doc, ctx.login)
    proj.folders[old["id"]] = doc
    ctx.store.save_folder(proj, old["id"])
    return {}


@route("DELETE", "/projects/<pk>/managedfolders/<fid>")
def delete_folder(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    fid = _folder(ctx, proj)["id"]
    # DSS deletes the recipes that read or write the folder; the files stay unless dropData.
    for usage in usages_of(proj, fid):
        ctx.store.remove_recipe(proj, usage["objectId"])
    ctx.store.remove_folder(proj, fid, drop_data=ctx.qbool("dropData"))
    return {}


@route("GET", "/projects/<pk>/managedfolders/<fid>/usages")
def folder_usages(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return usages_of(proj, _folder(ctx, proj)["id"])


@route("POST", "/projects/<pk>/actions/renameManagedFolder")
def rename_folder(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    fid = body.get("id")
    doc = proj.folders.get(fid) if isinstance(fid, str) else None
    if doc is None:
        raise errors.not_found("managed folder does not exist: {}.{}".format(proj.key, body.get("id")))
    doc["name"] = _check_folder_name(body.get("newName"))
    defaults.bump(doc, ctx.login)
    ctx.store.save_folder(proj, doc["id"])
    return {}


# ---------------------------------------------------------------- contents


@route("GET", "/projects/<pk>/managedfolders/<fid>/contents")
def list_contents(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    fid = _folder(ctx, proj)["id"]
    files = ctx.store.folder_files(proj.key, fid).list_files()
    return {"items": [{"path": "/" + p, "size": size, "lastModified": mtime} for p, size, mtime in files]}


def _file_path(ctx: Ctx) -> str:
    try:
        path = normalize(ctx.params["path"])
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None
    if not path:
        raise errors.bad_request("A file path is required")
    return path


@route("GET", "/projects/<pk>/managedfolders/<fid>/contents/<dsspath:path>")
def get_file(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    fid = _folder(ctx, proj)["id"]
    path = _file_path(ctx)
    data = ctx.store.folder_files(proj.key, fid).read(path)
    if data is None:
        raise errors.not_found(f"File not found in managed folder {fid}: /{path}")
    return Raw(data)


@route("POST", "/projects/<pk>/managedfolders/<fid>/contents/<dsspath:path>")
def put_file(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    fid = _folder(ctx, proj)["id"]
    path = _file_path(ctx)
    upload = ctx.request.files.get("file")
    data = upload.read() if upload is not None else ctx.raw_body()
    stored, size, mtime = ctx.store.folder_files(proj.key, fid).write(path, data)
    return {"path": "/" + stored, "size": size, "lastModified": mtime}


@route("DELETE", "/projects/<pk>/managedfolders/<fid>/contents/<dsspath:path>")
def delete_file(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    fid = _folder(ctx, proj)["id"]
    ctx.store.folder_files(proj.key, fid).delete(_file_path(ctx))  # silent when missing, like DSS
    return {}
