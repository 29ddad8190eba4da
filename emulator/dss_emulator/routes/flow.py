"""The flow: its graph and its zones, as dataikuapi 15.2 ``dss/flow.py`` calls them.

Zones (an Enterprise feature: ``GET /admin/licensing/status`` says the emulated licence is one):

* every project has the zone ``default``; an object belongs to the default zone until it is moved
  into another zone, so the default zone lists no ``items`` of its own (dataikuapi: "the default zone
  content is defined as all items that are not explicitly in another zone");
* moving an object (``add_item``/``add_items``) takes it out of its zone; moving it to ``default``
  only takes it out. A recipe and its outputs always share a zone, so moving one moves the others
  (dataikuapi: "additional items may be moved ... notably the recipe generating obj");
* deleting a zone sends its items back to the default zone; the default zone cannot be deleted;
* sharing (``add_shared``/``remove_shared``) shows an object in another zone without moving it;
* a zone reference is a smart ref ``{"objectId", "objectType"}`` (``projectKey`` first for another
  project's object), in that key order: dataikuapi's ``get_zone_of_object`` compares them as JSON text.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..router import route
from ..store import ProjectData

DEFAULT_ZONE = "default"
DEFAULT_COLOR = "#2ab1ac"  # dataikuapi's create_zone default
# Zone object types the emulator models, and the flow graph node type of each.
NODE_TYPES = {
    "DATASET": "COMPUTABLE_DATASET",
    "MANAGED_FOLDER": "COMPUTABLE_FOLDER",
    "SAVED_MODEL": "COMPUTABLE_SAVED_MODEL",
    # A guess: dataikuapi's flow graph reader names no node type for evaluation stores.
    "MODEL_EVALUATION_STORE": "COMPUTABLE_MODEL_EVALUATION_STORE",
    "RECIPE": "RUNNABLE_RECIPE",
}
Ref = Tuple[str, str]  # (objectType, objectId) of a local object


# ---------------------------------------------------------------- the flow graph


def _node(ref: str, ntype: str) -> Dict[str, Any]:
    return {"ref": ref, "type": ntype, "predecessors": [], "successors": []}


def computables(proj: ProjectData) -> Dict[str, Dict[str, Any]]:
    """The project's flow objects a recipe reads or writes, by zone object type."""
    return {"DATASET": proj.datasets, "MANAGED_FOLDER": proj.folders, "SAVED_MODEL": proj.collection("savedmodels"),
            "MODEL_EVALUATION_STORE": proj.collection("evaluationstores")}


def graph_nodes(proj: ProjectData) -> Dict[str, Dict[str, Any]]:
    """Every dataset, folder, saved model and recipe of the project, linked through the recipes' roles."""
    nodes: Dict[str, Dict[str, Any]] = {}
    for object_type, pool in computables(proj).items():
        for object_id in pool:
            nodes[object_id] = _node(object_id, NODE_TYPES[object_type])
    for rname, recipe in proj.recipes.items():
        node = nodes.setdefault(rname, _node(rname, NODE_TYPES["RECIPE"]))
        node["subType"] = recipe.get("type")
        for role_key, link in (("inputs", "predecessors"), ("outputs", "successors")):
            for ref in _role_refs(recipe, role_key):
                if ref not in nodes:
                    nodes[ref] = _node(ref, NODE_TYPES["DATASET"])
                node[link].append(ref)
                back = "successors" if link == "predecessors" else "predecessors"
                nodes[ref][back].append(rname)
    return nodes


def _role_refs(recipe: Dict[str, Any], role_key: str) -> List[str]:
    return [
        item.get("ref") for role in (recipe.get(role_key) or {}).values() for item in role.get("items", [])
    ]


@route("GET", "/projects/<pk>/flow/graph/")
def flow_graph(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return {"nodes": graph_nodes(proj), "projectKey": proj.key}


# ---------------------------------------------------------------- zones: documents


def _default_zone(proj: ProjectData) -> Dict[str, Any]:
    return proj.zones.get(DEFAULT_ZONE) or {
        "id": DEFAULT_ZONE,
        "name": "Default",
        "color": DEFAULT_COLOR,
        "items": [],
        "shared": [],
    }


def _zone(proj: ProjectData, zone_id: str) -> Dict[str, Any]:
    if zone_id == DEFAULT_ZONE:
        return _default_zone(proj)
    zone = proj.zones.get(zone_id)
    if zone is None:
        raise errors.not_found(f"Flow zone {zone_id} does not exist in project {proj.key}")
    return zone


def _all_zones(proj: ProjectData) -> List[Dict[str, Any]]:
    return [_default_zone(proj)] + [z for zid, z in proj.zones.items() if zid != DEFAULT_ZONE]


def _store_zone(ctx: Ctx, proj: ProjectData, zone: Dict[str, Any]) -> Dict[str, Any]:
    proj.zones[zone["id"]] = zone
    ctx.store.save_zones(proj)
    return copy.deepcopy(zone)


def _smart_ref(
    proj: ProjectData, object_type: str, object_id: str, project_key: Optional[str] = None
) -> Dict[str, Any]:
    if project_key and project_key != proj.key:
        return {"projectKey": project_key, "objectId": object_id, "objectType": object_type}
    return {"objectId": object_id, "objectType": object_type}


@route("GET", "/projects/<pk>/flow/zones")
def list_zones(ctx: Ctx) -> List[Dict[str, Any]]:
    return copy.deepcopy(_all_zones(ctx.project(READ)))


@route("POST", "/projects/<pk>/flow/zones")
def create_zone(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Flow zone name is missing")
    zone_id = defaults.random_id(7)
    while zone_id in proj.zones or zone_id == DEFAULT_ZONE:
        zone_id = defaults.random_id(7)
    zone: Dict[str, Any] = {
        "id": zone_id,
        "name": name,
        "color": body.get("color") or DEFAULT_COLOR,
        "items": [],
        "shared": [],
    }
    return _store_zone(ctx, proj, zone)


@route("GET", "/projects/<pk>/flow/zones/<zone_id>")
def get_zone(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return copy.deepcopy(_zone(proj, ctx.params["zone_id"]))


@route("PUT", "/projects/<pk>/flow/zones/<zone_id>")
def put_zone(ctx: Ctx) -> Dict[str, Any]:
    """Name and colour only: items and shared objects change through their own calls (dataikuapi)."""
    proj = ctx.project(WRITE)
    zone = copy.deepcopy(_zone(proj, ctx.params["zone_id"]))
    body = ctx.body_dict()
    for key in ("name", "color"):
        if key in body:
            if not isinstance(body[key], str) or not body[key].strip():
                raise errors.bad_request(f"Flow zone {key} must be a non-empty string")
            zone[key] = body[key]
    _store_zone(ctx, proj, zone)
    return {}


@route("DELETE", "/projects/<pk>/flow/zones/<zone_id>")
def delete_zone(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    zone_id = ctx.params["zone_id"]
    if zone_id == DEFAULT_ZONE:
        raise errors.bad_request("The default flow zone cannot be deleted")
    _zone(proj, zone_id)
    del proj.zones[zone_id]  # its items are in no zone any more: the default zone's
    ctx.store.save_zones(proj)
    return {}


# ---------------------------------------------------------------- zones: moving and sharing objects


def _parse_ref(ctx: Ctx, proj: ProjectData, ref: Any, *, local_only: bool) -> Tuple[str, str, str]:
    """(projectKey, objectType, objectId) of an existing object named by a smart ref."""
    if not isinstance(ref, dict) or not ref.get("objectType") or not ref.get("objectId"):
        raise errors.bad_request("Expected a reference {objectType, objectId[, projectKey]}")
    project_key = ref.get("projectKey") or proj.key
    object_type, object_id = str(ref["objectType"]), str(ref["objectId"])
    if project_key != proj.key and local_only:
        raise errors.bad_request(f"Only objects of project {proj.key} can be moved into its flow zones")
    owner = proj if project_key == proj.key else ctx.project(READ, key=project_key)
    if not _exists(owner, object_type, object_id):
        raise errors.not_found(f"{object_type.lower()} does not exist: {project_key}.{object_id}")
    return project_key, object_type, object_id


def _exists(proj: ProjectData, object_type: str, object_id: str) -> bool:
    pool = {**computables(proj), "RECIPE": proj.recipes}.get(object_type)
    return pool is not None and object_id in pool


def _moving_together(proj: ProjectData, object_type: str, object_id: str) -> Set[Ref]:
    """A recipe and its outputs share a zone: the group that moves with one of them."""
    recipe: Optional[str] = object_id if object_type == "RECIPE" else None
    if recipe is None:
        recipe = next((r for r, doc in proj.recipes.items() if object_id in _role_refs(doc, "outputs")), None)
    if recipe is None:
        return {(object_type, object_id)}
    group: Set[Ref] = {("RECIPE", recipe)}
    for ref in _role_refs(proj.recipes[recipe], "outputs"):
        kind = next((t for t, pool in computables(proj).items() if ref in pool), "DATASET")
        if _exists(proj, kind, ref):
            group.add((kind, ref))
    return group


def _move(ctx: Ctx, proj: ProjectData, zone_id: str, refs: Iterable[Any]) -> Dict[str, Any]:
    target = _zone(proj, zone_id)
    moving: Set[Ref] = set()
    for ref in refs:
        _pk, object_type, object_id = _parse_ref(ctx, proj, ref, local_only=True)
        moving |= _moving_together(proj, object_type, object_id)
    for zone in list(proj.zones.values()):
        zone["items"] = [
            r for r in zone["items"] if (r["objectType"], r["objectId"]) not in moving or zone is target
        ]
    if zone_id != DEFAULT_ZONE:
        present = {(r["objectType"], r["objectId"]) for r in target["items"]}
        target["items"] += [_smart_ref(proj, t, i) for t, i in sorted(moving - present)]
        proj.zones[zone_id] = target
    ctx.store.save_zones(proj)
    return copy.deepcopy(_zone(proj, zone_id))


@route("POST", "/projects/<pk>/flow/zones/<zone_id>/items")
def add_item(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    return _move(ctx, proj, ctx.params["zone_id"], [ctx.body_dict()])


@route("POST", "/projects/<pk>/flow/zones/<zone_id>/add-items")
def add_items(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    refs = ctx.body([])
    if not isinstance(refs, list):
        raise errors.bad_request("Expected a list of references")
    return _move(ctx, proj, ctx.params["zone_id"], refs)


@route("POST", "/projects/<pk>/flow/zones/<zone_id>/shared")
def add_shared(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    zone = copy.deepcopy(_zone(proj, ctx.params["zone_id"]))
    project_key, object_type, object_id = _parse_ref(ctx, proj, ctx.body_dict(), local_only=False)
    ref = _smart_ref(proj, object_type, object_id, project_key)
    if ref not in zone["shared"]:
        zone["shared"].append(ref)
    return _store_zone(ctx, proj, zone)


@route("DELETE", "/projects/<pk>/flow/zones/<zone_id>/shared/<object_type>/<object_id>")
def remove_shared(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    zone = copy.deepcopy(_zone(proj, ctx.params["zone_id"]))
    wanted = (ctx.params["object_type"], ctx.params["object_id"])
    zone["shared"] = [r for r in zone["shared"] if (r["objectType"], r["objectId"]) != wanted]
    return _store_zone(ctx, proj, zone)


# ---------------------------------------------------------------- zones: the graph of one zone


def _members(proj: ProjectData, zone_id: str) -> Set[Ref]:
    explicit = {
        (r["objectType"], r["objectId"])
        for zid, z in proj.zones.items()
        if zid != DEFAULT_ZONE
        for r in z["items"]
    }
    if zone_id != DEFAULT_ZONE:
        return {(r["objectType"], r["objectId"]) for r in proj.zones[zone_id]["items"]}
    every = {(object_type, object_id) for object_type, pool in computables(proj).items() for object_id in pool}
    return (every | {("RECIPE", r) for r in proj.recipes}) - explicit


@route("GET", "/projects/<pk>/flow/zones/<zone_id>/graph")
def zone_graph(ctx: Ctx) -> Dict[str, Any]:
    """The flow graph of the zone's objects (and the objects shared to it), linked among themselves."""
    proj = ctx.project(READ)
    zone = _zone(proj, ctx.params["zone_id"])
    wanted = _members(proj, zone["id"])
    wanted |= {
        (r["objectType"], r["objectId"]) for r in zone["shared"] if r.get("projectKey", proj.key) == proj.key
    }
    node_types = {NODE_TYPES[t]: t for t in NODE_TYPES}
    nodes = {
        ref: node for ref, node in graph_nodes(proj).items() if (node_types.get(node["type"]), ref) in wanted
    }
    for node in nodes.values():
        node["predecessors"] = [r for r in node["predecessors"] if r in nodes]
        node["successors"] = [r for r in node["successors"] if r in nodes]
    return {"nodes": nodes, "projectKey": proj.key}
