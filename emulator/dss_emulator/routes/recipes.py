"""Recipes: list (no payload), create from prototype + creation settings, settings, delete, rename."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from .. import defaults, errors, ml_scoring
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from .common import LANG_FOR_RECIPE, apply_metadata, check_env_selection, check_name, metadata_of, split_ref
from .datasets import create_managed_output
from .folders import new_folder

VIRTUAL_INPUT_TYPES = {"join", "vstack", "generate_features", "fuzzyjoin", "geojoin"}


def _recipe(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    name = ctx.params["name"]
    doc = proj.recipes.get(name)
    if doc is None:
        raise errors.not_found(f"recipe does not exist: {proj.key}.{name}")
    return doc


def _refs(roles: Any) -> List[str]:
    out = []
    for role in (roles or {}).values():
        for item in (role or {}).get("items", []):
            out.append(item.get("ref"))
    return out


def _object_exists(ctx: Ctx, proj: ProjectData, ref: Any) -> bool:
    if not isinstance(ref, str) or not ref:
        return False
    pk, name = split_ref(proj, ref)
    target = ctx.store.projects.get(pk)
    return target is not None and (
        name in target.datasets or name in target.folders or name in target.collection("savedmodels")
        or name in target.collection("evaluationstores")
    )


def _writer_of(proj: ProjectData, ref: str) -> Optional[str]:
    for rname, recipe in proj.recipes.items():
        if ref in _refs(recipe.get("outputs")):
            return rname
    return None


def _env_lang(rtype: str) -> str:
    return LANG_FOR_RECIPE.get(rtype, "PYTHON")


def _pick_name(proj: ProjectData, proto: Dict[str, Any]) -> str:
    """DSS names an unnamed recipe after its first output: compute_<output>."""
    outputs = _refs(proto.get("outputs"))
    base = (
        "compute_{}".format(outputs[0].split(".")[-1])
        if outputs
        else "{}_{}".format(proto.get("type"), defaults.random_id(4))
    )
    name, n = base, 1
    while name in proj.recipes:
        name, n = f"{base}_{n}", n + 1
    return name


def _create_outputs(ctx: Ctx, proj: ProjectData, proto: Dict[str, Any], settings: Dict[str, Any]) -> None:
    """Create the outputs that the creation settings ask for (createOutputDataset / Folder, split...)."""
    main_items = ((proto.get("outputs") or {}).get("main") or {}).get("items", [])
    if settings.get("createOutputDataset") and main_items:
        create_managed_output(ctx, proj, main_items[0]["ref"], settings.get("outputDatasetSettings") or {})
    if settings.get("createOutputFolder") and main_items:
        fsettings = settings.get("outputFolderSettings") or {}
        folder = new_folder(ctx, proj, main_items[0]["ref"], {"connection": fsettings.get("connectionId")})
        main_items[0]["ref"] = folder["id"]
    by_role = settings.get("outputDatasetsCreationSettingsByRole") or {}
    for role_settings in by_role.values():
        for name, dsettings in (role_settings or {}).items():
            create_managed_output(ctx, proj, name, dsettings or {})


def _check_inputs(ctx: Ctx, proj: ProjectData, proto: Dict[str, Any]) -> None:
    for ref in _refs(proto.get("inputs")):
        if not _object_exists(ctx, proj, ref):
            raise errors.not_found(f"Input {ref} of the recipe does not exist")


def _check_outputs(ctx: Ctx, proj: ProjectData, proto: Dict[str, Any]) -> None:
    outputs = _refs(proto.get("outputs"))
    if not outputs:
        raise errors.bad_request("A recipe needs at least one output")
    for ref in outputs:
        if not _object_exists(ctx, proj, ref):
            raise errors.not_found(f"Output {ref} of the recipe does not exist")
        writer = _writer_of(proj, ref)
        if writer is not None:
            raise errors.bad_request(f"{ref} is already the output of recipe {writer}")


@route("GET", "/projects/<pk>/recipes/")
def list_recipes(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [proj.recipes[n] for n in sorted(proj.recipes)]  # not copied: encoded under the store lock


@route("POST", "/projects/<pk>/recipes/")
def create_recipe(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    proto = clone(body.get("recipePrototype") or {})
    settings = body.get("creationSettings") or {}
    if not isinstance(proto, dict) or not isinstance(settings, dict):
        raise errors.bad_request("recipePrototype and creationSettings must be JSON objects")
    rtype = proto.get("type")
    if not isinstance(rtype, str) or not rtype:
        raise errors.bad_request("Recipe type is missing")
    if rtype == "prepare":
        rtype = proto["type"] = "shaker"
    name = proto.get("name") or _pick_name(proj, proto)
    check_name("Recipe", name)
    if name in proj.recipes:
        raise errors.already_exists(f"Recipe {name} already exists in project {proj.key}")
    check_env_selection(ctx.store, (proto.get("params") or {}).get("envSelection"), _env_lang(rtype))
    raw = bool(settings.get("rawCreation"))
    if not raw:
        if rtype in VIRTUAL_INPUT_TYPES and settings.get("virtualInputs"):
            items = [{"ref": ref, "deps": []} for ref in settings["virtualInputs"]]
            proto["inputs"] = {"main": {"items": items}}
        _check_inputs(ctx, proj, proto)
        _create_outputs(ctx, proj, proto, settings)
        _check_outputs(ctx, proj, proto)
        if rtype in ml_scoring.ML_RECIPES:
            ml_scoring.check_roles(proj, rtype, proto)
    doc = defaults.new_recipe(proj.key, name, rtype, proto)
    for role in doc["inputs"].values():
        for item in role.get("items", []):
            item.setdefault("deps", [])
    for role in doc["outputs"].values():
        for item in role.get("items", []):
            item.setdefault("appendMode", False)
    defaults.stamp_creation(doc, ctx.login)
    raw_payload = settings.get("rawPayload")
    if raw and raw_payload is not None:
        payload = raw_payload if isinstance(raw_payload, str) else json.dumps(raw_payload)
    elif rtype in ml_scoring.ML_RECIPES:
        payload = ml_scoring.creation_payload(proj, rtype, proto)
    else:
        payload = defaults.default_payload(rtype, settings)
    proj.recipes[name] = doc
    proj.payloads[name] = payload
    ctx.store.save_recipe(proj, name)
    return ctx.created({"name": name, "recipe": clone(doc)}, "name")


@route("GET", "/projects/<pk>/recipes/<name>")
def get_recipe(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _recipe(ctx, proj)
    return {"recipe": clone(doc), "payload": proj.payloads.get(doc["name"], "")}


@route("PUT", "/projects/<pk>/recipes/<name>")
def put_recipe(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = _recipe(ctx, proj)
    body = ctx.body_dict()
    new = body.get("recipe", old)
    if not isinstance(new, dict):
        raise errors.bad_request("'recipe' must be a JSON object")
    check_env_selection(ctx.store, (new.get("params") or {}).get("envSelection"), _env_lang(old["type"]))
    doc = clone(new)
    for k in ("name", "projectKey", "type", "creationTag", "versionTag"):
        if k in old:
            doc[k] = clone(old[k])
    payload = body.get("payload", proj.payloads.get(old["name"], ""))
    if not isinstance(payload, str):
        raise errors.bad_request("'payload' must be a string")
    defaults.bump(doc, ctx.login)
    proj.recipes[old["name"]] = doc
    proj.payloads[old["name"]] = payload
    ctx.store.save_recipe(proj, old["name"])
    return {}


@route("DELETE", "/projects/<pk>/recipes/<name>")
def delete_recipe(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    ctx.store.remove_recipe(proj, _recipe(ctx, proj)["name"])  # outputs are kept
    return {}


@route("GET", "/projects/<pk>/recipes/<name>/metadata")
def get_recipe_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _recipe(ctx, proj)
    return metadata_of(doc, doc["name"])


@route("PUT", "/projects/<pk>/recipes/<name>/metadata")
def set_recipe_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _recipe(ctx, proj)
    apply_metadata(doc, ctx.body_dict())
    defaults.bump(doc, ctx.login)
    ctx.store.save_recipe(proj, doc["name"])
    return {}


@route("GET", "/projects/<pk>/recipes/<name>/status")
def recipe_status(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _recipe(ctx, proj)
    return {
        "selectedEngine": {"type": "DSS", "variant": None, "label": "DSS"},
        "engines": [{"type": "DSS", "isSelectable": True}],
        "allMessagesForFrontend": {"messages": [], "anyMessage": False, "error": False, "warning": False},
        "recipeType": doc["type"],
    }


@route("GET", "/projects/<pk>/recipes/<name>/schema-update")
def schema_update(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _recipe(ctx, proj)
    if doc["type"] in defaults.CODE_RECIPE_TYPES:
        raise errors.DSSError(
            400, errors.ILLEGAL_STATE, "Cannot compute output schema of a {} recipe".format(doc["type"])
        )
    return {"totalIncompatibilities": 0, "computables": []}


@route("POST", "/projects/<pk>/actions/renameRecipe")
def rename_recipe(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    old, new = body.get("oldName"), body.get("newName")
    if not isinstance(old, str) or old not in proj.recipes:
        raise errors.not_found(f"recipe does not exist: {proj.key}.{old}")
    new = check_name("Recipe", new)
    if new in proj.recipes:
        raise errors.already_exists(f"Recipe {new} already exists in project {proj.key}")
    doc, payload = proj.recipes[old], proj.payloads.get(old, "")
    ctx.store.rename_in_zones(proj, "RECIPE", old, new)  # the object stays in its zone
    ctx.store.remove_recipe(proj, old)
    doc["name"] = new
    defaults.bump(doc, ctx.login)
    proj.recipes[new], proj.payloads[new] = doc, payload
    ctx.store.save_recipe(proj, new)
    return {}
