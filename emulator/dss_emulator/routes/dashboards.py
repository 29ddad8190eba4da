"""Dashboards, as dataikuapi's DSSProject.list_dashboards / create_dashboard / get_dashboard and
DSSDashboard (dss/dashboard.py) call them. Stored as the project collection "dashboards" (id ->
document with projectKey and id: DSSDashboardSettings reads both from the settings GET).

Routes (the trailing slashes are dataikuapi's): ``GET|POST /projects/K/dashboards/``;
``GET|PUT|DELETE /projects/K/dashboards/ID/``.

Documents follow the vendored 2022/2023 samples (tests/fixtures/dss-samples/dashboard/): pages
``[{id, grid: {tiles}, showTitle}]`` on a 12-column grid, tiles with tileType, box, clickAction,
tileParams, autoLoad, showTitle, displayMode, resizeImageMode (and insightId/insightType for
INSIGHT tiles). A dashboard created with no page gets one empty page, as the UI-created sample
shows. The guesses are listed in docs/emulator.md, "Dashboards and insights".
"""

from __future__ import annotations

from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import DASHBOARDS as READ_DASHBOARDS
from ..auth import READ, WRITE, project_rights
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from .insights import INSIGHTS

DASHBOARDS = "dashboards"
TILE_TYPES = ("INSIGHT", "TEXT", "IMAGE", "IFRAME", "GROUP")
SERVER_FIELDS = ("projectKey", "id", "creationTag", "versionTag")
BOX_KEYS = ("top", "left", "width", "height")


def dashboard_of(proj: ProjectData, dashboard_id: str) -> Dict[str, Any]:
    doc = proj.collection(DASHBOARDS).get(dashboard_id)
    if doc is None:
        raise errors.not_found(f"Dashboard {proj.key}.{dashboard_id} does not exist")
    return doc


def visible_dashboards(ctx: Ctx, proj: ProjectData) -> List[Dict[str, Any]]:
    """The dashboards the caller may see: all for project readers; for a dashboard-only reader
    (`readDashboards` alone), the listed (promoted) ones and their own."""
    every = list(proj.collection(DASHBOARDS).values())
    if project_rights(proj.params, ctx.caller)[READ]:
        return every
    return [d for d in every if d.get("listed") or d.get("owner") == ctx.login]


@route("GET", "/projects/<pk>/dashboards/")
def list_dashboards(ctx: Ctx) -> List[Dict[str, Any]]:
    """What DSSDashboardListItem reads: id, name, listed, owner, numPages, numTiles, projectKey, tags."""
    proj = ctx.project(READ_DASHBOARDS)
    return [_list_item(doc) for doc in visible_dashboards(ctx, proj)]


def _list_item(doc: Dict[str, Any]) -> Dict[str, Any]:
    pages = doc.get("pages") or []
    return {
        "projectKey": doc["projectKey"], "id": doc["id"], "name": doc.get("name"),
        "listed": doc.get("listed", False), "owner": doc.get("owner"), "tags": clone(doc.get("tags", [])),
        "numPages": len(pages), "numTiles": sum(len(p.get("grid", {}).get("tiles", [])) for p in pages),
    }


@route("POST", "/projects/<pk>/dashboards/")
def create_dashboard(ctx: Ctx) -> Dict[str, Any]:
    """create_dashboard: the settings (``{'pages': []}`` by default) with a name; the answer carries the id."""
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A dashboard needs a name")
    doc: Dict[str, Any] = {
        "pages": _pages(proj, body.get("pages")),
        "owner": body.get("owner") or ctx.login,
        "listed": bool(body.get("listed", False)),
        "name": name,
        "showGrid": body.get("showGrid", True),
        "tags": list(body.get("tags") or []),
        "customFields": clone(body.get("customFields") or {}),
        "checklists": {"checklists": []},
    }
    for key in ("description", "shortDesc"):
        if key in body:
            doc[key] = clone(body[key])
    defaults.stamp_creation(doc, ctx.login)
    stored = _store_new(proj, doc)
    ctx.store.save_collection(proj, DASHBOARDS)
    return ctx.created(clone(stored), "id")


def add_default_dashboard(proj: ProjectData, owner: str) -> Dict[str, Any]:
    """The dashboard DSS makes with every new project (the vendored sample
    git_default_dashboard_as_created_2023.json, a project's first commit): "<project name>'s default
    dashboard", listed (promoted), owned by the project's creator, one empty page."""
    doc: Dict[str, Any] = {
        "pages": _pages(proj, None),
        "owner": owner,
        "listed": True,
        "name": f"{proj.params.get('name') or proj.key}'s default dashboard",
        "showGrid": True,
        "tags": [],
        "customFields": {},
        "checklists": {"checklists": []},
    }
    defaults.stamp_creation(doc, owner)
    return _store_new(proj, doc)


def _store_new(proj: ProjectData, doc: Dict[str, Any]) -> Dict[str, Any]:
    """`doc` stored under a new random id (7 characters, as on disk); the stored document."""
    pool = proj.collection(DASHBOARDS)
    dashboard_id = defaults.random_id(7)
    while dashboard_id in pool:
        dashboard_id = defaults.random_id(7)
    pool[dashboard_id] = {"projectKey": proj.key, "id": dashboard_id, **doc}
    return pool[dashboard_id]


def _pages(proj: ProjectData, pages: Any) -> List[Dict[str, Any]]:
    """Pages with DSS's defaults; none at all -> one empty page (the UI-created sample)."""
    if pages is None or pages == []:
        return [{"id": defaults.random_id(7), "grid": {"tiles": []}, "showTitle": False}]
    if not isinstance(pages, list) or not all(isinstance(p, dict) for p in pages):
        raise errors.bad_request("pages must be a list of objects")
    out = []
    for page in pages:
        filled = clone(page)
        filled.setdefault("id", defaults.random_id(7))
        filled.setdefault("showTitle", False)
        grid = filled.get("grid") if isinstance(filled.get("grid"), dict) else {}
        tiles = grid.get("tiles") or []
        if not isinstance(tiles, list):
            raise errors.bad_request("grid.tiles must be a list")
        filled["grid"] = {**grid, "tiles": [_tile(proj, t) for t in tiles]}
        out.append(filled)
    return out


def _tile(proj: ProjectData, tile: Any) -> Dict[str, Any]:
    """A tile with the defaults of the samples. An INSIGHT tile must name an insight of the project
    (a guess: DSS's UI cannot make one that does not); its insightType is the insight's."""
    if not isinstance(tile, dict) or tile.get("tileType") not in TILE_TYPES:
        raise errors.bad_request(f"A tile needs a tileType (one of {', '.join(TILE_TYPES)})")
    box = tile.get("box")
    if not isinstance(box, dict) or not all(isinstance(box.get(k), int) and box[k] >= 0 for k in BOX_KEYS):
        raise errors.bad_request("A tile needs a box with integer top, left, width and height")
    filled = clone(tile)
    is_insight = tile["tileType"] == "INSIGHT"
    if is_insight:
        insight = proj.collection(INSIGHTS).get(str(tile.get("insightId")))
        if insight is None:
            raise errors.not_found(f"Insight {proj.key}.{tile.get('insightId')} does not exist")
        filled["insightType"] = insight["type"]
    for key, value in (("clickAction", "OPEN_INSIGHT" if is_insight else "DO_NOTHING"), ("tileParams", {}),
                       ("autoLoad", True), ("showTitle", "YES" if is_insight else "NO"),
                       ("displayMode", "INSIGHT"), ("resizeImageMode", "FIT_SIZE")):
        filled.setdefault(key, clone(value))
    if tile["tileType"] == "TEXT":
        filled["tileParams"] = {"textAlign": "LEFT", "isTransparent": False, "text": "", **filled["tileParams"]}
    return filled


@route("GET", "/projects/<pk>/dashboards/<dashboard_id>/")
def get_dashboard(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ_DASHBOARDS)
    doc = dashboard_of(proj, ctx.params["dashboard_id"])
    if not any(d is doc for d in visible_dashboards(ctx, proj)):
        raise errors.forbidden(f"You may not read dashboard {proj.key}.{doc['id']}: it is not promoted")
    return clone(doc)


@route("PUT", "/projects/<pk>/dashboards/<dashboard_id>/")
def save_dashboard(ctx: Ctx) -> Dict[str, Any]:
    """DSSDashboardSettings.save: the whole document; its pages and tiles get the create's defaults
    and checks; identity stays the server's."""
    proj = ctx.project(WRITE)
    old = dashboard_of(proj, ctx.params["dashboard_id"])
    new = clone(ctx.body_dict())
    if not isinstance(new.get("name"), str) or not new["name"].strip():
        raise errors.bad_request("A dashboard needs a name")
    new["pages"] = _pages(proj, new.get("pages"))
    for key in SERVER_FIELDS:
        if key in old:
            new[key] = clone(old[key])
    defaults.bump(new, ctx.login)
    proj.collection(DASHBOARDS)[old["id"]] = new
    ctx.store.save_collection(proj, DASHBOARDS)
    return {}


@route("DELETE", "/projects/<pk>/dashboards/<dashboard_id>/")
def delete_dashboard(ctx: Ctx) -> Dict[str, Any]:
    """The dashboard alone: its insights stay (DSS keeps them: they are objects of their own)."""
    proj = ctx.project(WRITE)
    del proj.collection(DASHBOARDS)[dashboard_of(proj, ctx.params["dashboard_id"])["id"]]
    ctx.store.save_collection(proj, DASHBOARDS)
    return {}
