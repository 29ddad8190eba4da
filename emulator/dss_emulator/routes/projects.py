"""Projects: list, create, summary, delete, metadata, settings, permissions, variables, tags, folders."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import ADMIN, READ, WRITE, may_create_projects, project_rights
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..runtime import ROOT_FOLDER
from ..store import ProjectData
from .common import PROJECT_KEY_RE, apply_metadata, check_env_selection, metadata_of
from .dashboards import DASHBOARDS, add_default_dashboard

# Keys of params.json served by /permissions rather than /settings.
PERMISSION_KEYS = ("permissions",)


def summary(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    """A project as ``GET /projects/`` lists it (and ``GET /projects/{pk}`` summarises it).

    The keys are those Dataiku's monitoring plugin reads from list items (dss-plugin-dataiku-pulse,
    projects/metadata.py): the owner as ``ownerLogin`` + ``ownerDisplayName`` (not ``owner``),
    ``projectAppType``, ``permissionsVersion``, ``commitMode`` (the project's ``gitCommitMode``),
    ``tutorialProject``, and the version and creation tags. Absent values are left out, as DSS's
    JSON writer leaves out nulls.
    """
    p = proj.params
    owner = p.get("owner")
    item: Dict[str, Any] = {
        "projectKey": proj.key,
        "name": p.get("name", proj.key),
        "ownerLogin": owner,
        "ownerDisplayName": ctx.store.users.get(owner or "", {}).get("displayName", owner),
        "commitMode": (p.get("settings") or {}).get("gitCommitMode"),
    }
    for k in (
        "shortDesc",
        "description",
        "projectStatus",
        "projectType",
        "projectAppType",
        "permissionsVersion",
        "tutorialProject",
        "tags",
        "versionTag",
        "creationTag",
    ):
        if k in p:
            item[k] = clone(p[k])
    return {k: v for k, v in item.items() if v is not None}


@route("GET", "/projects/")
def list_projects(ctx: Ctx) -> List[Dict[str, Any]]:
    items = []
    for key in sorted(ctx.store.projects):
        proj = ctx.store.projects[key]
        if not project_rights(proj.params, ctx.caller)[READ]:
            continue
        item = summary(ctx, proj)
        if ctx.qbool("includeLocation"):
            item["projectLocation"] = {"folderId": ctx.app.runtime.project_location(key)}
        items.append(item)
    return items


@route("POST", "/projects/")
def create_project(ctx: Ctx) -> Dict[str, Any]:
    if not may_create_projects(ctx.store, ctx.caller):
        raise errors.forbidden("You may not create projects")
    body = ctx.body_dict()
    key = body.get("projectKey")
    if not isinstance(key, str) or not key:
        raise errors.bad_request("Project key is missing")
    if not PROJECT_KEY_RE.match(key):
        raise errors.bad_request(
            f"Invalid project key '{key}': only letters, digits and underscores are allowed"
        )
    if key in ctx.store.projects:
        raise errors.already_exists(f"Project {key} already exists")
    name = body.get("name") or key
    owner = body.get("owner") or ctx.login
    owner_user = ctx.store.users.get(owner, {})
    params = defaults.new_project_params(
        name, owner, owner_user.get("displayName", owner), ctx.login, body.get("description")
    )
    params["permissions"] = [defaults.permission_row(r) for r in body.get("permissions") or []]
    params["tags"] = list(body.get("tags") or [])
    defaults.sort_tags(params)
    if isinstance(body.get("settings"), dict):
        _check_project_code_envs(ctx, body["settings"])
        params["settings"] = defaults.deep_merge(params["settings"], body["settings"])
    proj = ctx.store.add_project(key, params)
    add_default_dashboard(proj, ctx.login)  # as DSS does with every new project (docs/emulator.md)
    ctx.store.save_collection(proj, DASHBOARDS)
    proj.library.mkdir("python")
    proj.library.mkdir("R")
    proj.library.write(
        "external-libraries.json",
        json.dumps(defaults.load("library_external_libraries.json"), indent=2).encode(),
    )
    folder = ctx.query("projectFolderId")
    if folder and folder != ROOT_FOLDER:
        ctx.app.runtime.add_project_folder(folder)
        ctx.app.runtime.move_project(key, folder)
    return {"projectKey": key}


@route("GET", "/projects/<pk>")
def get_project(ctx: Ctx) -> Dict[str, Any]:
    return summary(ctx, ctx.project(READ))


@route("DELETE", "/projects/<pk>")
def delete_project(ctx: Ctx) -> Dict[str, Any]:
    ctx.project(ADMIN)
    ctx.store.delete_project(
        ctx.params["pk"],
        drop_folder_data=ctx.qbool("clearOutputManagedFolders"),
        drop_dataset_data=ctx.qbool("clearManagedDatasets"),
    )
    ctx.app.runtime.forget_project(ctx.params["pk"])
    return ctx.app.runtime.start_future({"projectKey": ctx.params["pk"], "deleted": True}, "Deleting project")


# ---------------------------------------------------------------- metadata


@route("GET", "/projects/<pk>/metadata")
def get_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return metadata_of(proj.params, proj.params.get("name", proj.key))


@route("PUT", "/projects/<pk>/metadata")
def set_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    md = ctx.body_dict()
    apply_metadata(proj.params, md)
    defaults.sort_tags(proj.params)
    if isinstance(md.get("label"), str) and md["label"]:
        proj.params["name"] = md["label"]
    defaults.bump(proj.params, ctx.login)
    ctx.store.save_params(proj)
    return {}


# ---------------------------------------------------------------- settings


def _check_project_code_envs(ctx: Ctx, settings: Dict[str, Any]) -> None:
    envs = settings.get("codeEnvs") or {}
    check_env_selection(ctx.store, envs.get("python"), "PYTHON")
    check_env_selection(ctx.store, envs.get("r"), "R")


@route("GET", "/projects/<pk>/settings")
def get_settings(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return {k: clone(v) for k, v in proj.params.items() if k not in PERMISSION_KEYS}


@route("PUT", "/projects/<pk>/settings")
def set_settings(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(ADMIN)
    body = ctx.body_dict()
    _check_project_code_envs(ctx, body.get("settings") or {})
    new = {
        k: clone(v)
        for k, v in body.items()
        if k not in PERMISSION_KEYS + ("versionTag", "creationTag")
    }
    for k in PERMISSION_KEYS + ("owner", "creationTag", "versionTag"):
        if k in proj.params:
            new[k] = proj.params[k]
    proj.params = new
    defaults.sort_tags(proj.params)
    defaults.bump(proj.params, ctx.login)
    ctx.store.save_params(proj)
    return {}


# ---------------------------------------------------------------- permissions


@route("GET", "/projects/<pk>/permissions")
def get_permissions(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    p = proj.params
    out = {"owner": p.get("owner"), "permissions": clone(p.get("permissions", []))}
    for k in ("dashboardAuthorizations", "additionalDashboardUsers"):
        if k in p:
            out[k] = clone(p[k])
    return out


@route("PUT", "/projects/<pk>/permissions")
def set_permissions(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(ADMIN)
    body = ctx.body_dict()
    rows = body.get("permissions", proj.params.get("permissions", []))
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and ("group" in r or "user" in r) for r in rows
    ):
        raise errors.bad_request("permissions must be a list of rows, each with a 'group' or a 'user'")
    proj.params["permissions"] = [defaults.permission_row(r) for r in rows]
    if body.get("owner"):
        proj.params["owner"] = body["owner"]
    for k in ("dashboardAuthorizations", "additionalDashboardUsers"):
        if k in body:
            proj.params[k] = body[k]
    defaults.bump(proj.params, ctx.login)
    ctx.store.save_params(proj)
    return {}


# ---------------------------------------------------------------- variables and tags


@route("GET", "/projects/<pk>/variables/")
def get_variables(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return {"standard": clone(proj.variables), "local": clone(proj.local_variables)}


@route("PUT", "/projects/<pk>/variables/")
def set_variables(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    for k in ("standard", "local"):
        if k in body and not isinstance(body[k], dict):
            raise errors.bad_request(f"'{k}' variables must be a JSON object")
    proj.variables = body.get("standard", proj.variables)
    proj.local_variables = body.get("local", proj.local_variables)
    ctx.store.save_variables(proj)
    return {}


def _as_string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@route("GET", "/projects/<pk>/variables-resolved")
def resolved_variables(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    merged: Dict[str, Any] = {}
    merged.update(ctx.store.global_variables)
    merged.update(proj.variables)
    merged.update(proj.local_variables)  # local variables override standard ones
    if ctx.qbool("typed"):
        return clone(merged)
    return {k: _as_string(v) for k, v in merged.items()}


@route("GET", "/projects/<pk>/tags")
def get_tags(ctx: Ctx) -> Dict[str, Any]:
    return clone(ctx.project(READ).tags)


@route("PUT", "/projects/<pk>/tags")
def set_tags(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    proj.tags = ctx.body_dict()
    ctx.store.save_tags(proj)
    return {}


# ---------------------------------------------------------------- project folders (kept in memory only)


def _folder_doc(ctx: Ctx, fid: str) -> Dict[str, Any]:
    runtime = ctx.app.runtime
    info = runtime.project_folder(fid)
    if info is None:
        if fid != ROOT_FOLDER:
            raise errors.not_found(f"Project folder {fid} does not exist")
        info = {"name": "Root", "parentId": None}
    keys = [
        k
        for k in sorted(ctx.store.projects)
        if runtime.project_location(k) == fid
        and project_rights(ctx.store.projects[k].params, ctx.caller)[READ]
    ]
    return {
        "id": fid,
        "name": info.get("name", fid),
        "parentId": info.get("parentId"),
        "childrenIds": runtime.project_folder_children(fid),
        "projectKeys": keys,
    }


@route("GET", "/project-folders/locate-project/<pk>")
def locate_project(ctx: Ctx) -> Dict[str, Any]:
    ctx.project(READ)
    return _folder_doc(ctx, ctx.app.runtime.project_location(ctx.params["pk"]))


@route("GET", "/project-folders/<fid>")
def get_project_folder(ctx: Ctx) -> Dict[str, Any]:
    return _folder_doc(ctx, ctx.params["fid"])


@route("POST", "/project-folders/<fid>/children")
def create_project_folder(ctx: Ctx) -> Dict[str, Any]:
    _folder_doc(ctx, ctx.params["fid"])
    new_id = defaults.random_id(7)
    ctx.app.runtime.add_project_folder(new_id, ctx.query("name") or new_id, ctx.params["fid"])
    return _folder_doc(ctx, new_id)


@route("POST", "/project-folders/<fid>/projects/<pk>/move")
def move_project(ctx: Ctx) -> Dict[str, Any]:
    ctx.project(ADMIN)
    dest = ctx.query("destination") or ROOT_FOLDER
    _folder_doc(ctx, dest)
    ctx.app.runtime.move_project(ctx.params["pk"], dest)
    return {}
