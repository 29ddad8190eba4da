"""Dashboards: pages of tiles, each showing an insight or a text. docs/dashboards.md.

DSS gives a dashboard an id of its own (7 characters) and accepts two of one name: found again by the
id the state records (Identity.SERVER_ID). A tile names its insight by name (`insight: NAME`, a
reference: the insight is created before the dashboard, and an unknown name is a validate error with a
"did you mean"); the project context gives the DSS id when the dashboard is written and the name when
it is read. `listed: true` promotes the dashboard to the project's dashboard list (DSS's default for
a new one is a private dashboard, `listed: false`).

A tile's place is `x`, `y`, `width`, `height` on DSS's grid (its box's left, top, width, height).
Pages and tiles are compared in order, as written; DSS's page ids and the tiles' display settings
(title, click action, tile params) are DSS's and kept as they are when a tile stays where it was;
when its insight is replaced (a new id), the tile keeps its display settings, not the old insight's.
Tiles of other kinds (images, iframes…) cannot be written: a dashboard holding one is not imported.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import (
    DocumentByIdHandler,
    Observed,
    ProjectContext,
    described,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.insight import TYPE as INSIGHT
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import (
    READS,
    BuildContext,
    ConfigSchema,
    FlowLink,
    Identity,
    ImportContext,
    ResourceSpec,
)

TYPE = "dashboard"
# DSS makes "<project name>'s default dashboard" with every project (dss-samples/dashboard/
# git_default_dashboard_as_created_2023.json): listed, one empty page.
DEFAULT_SUFFIX = "'s default dashboard"
GRID_COLUMNS = 12  # the width of DSS's dashboard grid before DSS 13 (`columns: 36` for DSS 13's)
_BOX = (("x", "left"), ("y", "top"), ("width", "width"), ("height", "height"))

POLICY = FieldPolicy(
    fields=(
        Field("pages"),
        Field("listed", reset=False),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
        Field("columns"),
    )
)


class DashboardHandler(DocumentByIdHandler):
    type = TYPE
    policy = POLICY
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """The project's dashboards but DSS's own default one while it is as DSS made it."""
        items = [dict(d._data) for d in client.get_project(project_key).list_dashboards()]
        return [item for item in items if not as_dss_made_it(item)]

    def read_document(self, client: Any, project_key: str, dss_id: str) -> dict[str, Any]:
        return dict(client.get_project(project_key).get_dashboard(dss_id).get_settings().get_raw())

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc.get("name") or doc["id"], doc["id"], self.to_logical(doc, ctx),
                        version_tag=version_tag_of(doc))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {
            "pages": [_page_of(p, ctx) for p in doc.get("pages") or [] if isinstance(p, dict)],
            "listed": bool(doc.get("listed")),
            "description": doc.get("description") or "",
            "tags": list(doc.get("tags") or []),
            # DSS 13's grid is 36 columns wide (columnNumber); before, 12 and not written
            **({"columns": int(doc["columnNumber"])} if isinstance(doc.get("columnNumber"), (int, float)) else {}),
        }

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """Tiles name their insights: the insights of the project may be read side by side with the
        dashboards, so an id `to_logical` could not name yet is named once all are observed."""
        for dashboard in objects.get(TYPE, []):
            for page in dashboard.attributes.get("pages") or []:
                for tile in page.get("tiles") or []:
                    if "insight" in tile:
                        tile["insight"] = ctx.name_of(INSIGHT, str(tile["insight"])) or tile["insight"]

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        first = {"pages": write_pages(attrs.get("pages") or [], [], ctx, resource.address),
                 "listed": bool(attrs.get("listed"))}
        dashboard = client.get_project(resource.project_key).create_dashboard(resource.name, first)
        return self._save(client, resource, dashboard.dashboard_id, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return self._save(client, resource, current.dss_id, ctx)

    def _save(self, client: Any, resource: Resource, dashboard_id: str, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_dashboard(dashboard_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        attrs = resource.attributes
        raw["name"] = resource.name
        if "pages" in attrs:
            raw["pages"] = write_pages(attrs["pages"], raw.get("pages") or [], ctx, resource.address)
        for key in ("listed", "description"):
            if key in attrs:
                raw[key] = attrs[key]
        if "columns" in attrs:
            raw["columnNumber"] = attrs["columns"]
        if "tags" in attrs:
            raw["tags"] = list(attrs["tags"])
        saved = save_if_changed(settings, raw, before)
        return self.observed_from(resource.project_key, {**saved, "id": dashboard_id}, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_dashboard(dss_id).delete()


def as_dss_made_it(item: dict[str, Any]) -> bool:
    """Whether a dashboard list item is DSS's default dashboard as DSS made it with the project
    (its name, listed, one page, no tile, no tag). Such a dashboard is DSS's, as the default Flow
    zone is: not observed, so neither drift (an unmanaged object in every project the tool
    creates) nor import (a second one of that name in every environment the imported
    configuration creates the project in) sees it. Once a user puts a tile on it, it is an
    ordinary dashboard."""
    return (str(item.get("name") or "").endswith(DEFAULT_SUFFIX) and bool(item.get("listed"))
            and item.get("numPages") == 1 and item.get("numTiles") == 0 and not item.get("tags"))


def _page_of(page: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    tiles = (page.get("grid") or {}).get("tiles") or []
    out: dict[str, Any] = {"tiles": [_tile_of(t, ctx) for t in tiles if isinstance(t, dict)]}
    if page.get("title"):
        out = {"title": page["title"], **out}
    return out


def _tile_of(tile: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    box = tile.get("box") or {}
    place = {ours: box.get(theirs) for ours, theirs in _BOX}
    kind = tile.get("tileType")
    if kind == "INSIGHT":
        insight_id = str(tile.get("insightId"))
        return {"insight": ctx.name_of(INSIGHT, insight_id) or insight_id, **place}
    if kind == "TEXT":
        return {"text": (tile.get("tileParams") or {}).get("text") or "", **place}
    return {"tile_type": kind, **place}


def write_pages(pages: list[dict[str, Any]], current: list[Any], ctx: ProjectContext, address: str) -> list[dict[str, Any]]:
    """The configured pages as DSS pages; each keeps DSS's page (id, display settings) at its
    position, and each tile DSS's tile at its position when it shows the same thing."""
    out = []
    for index, page in enumerate(pages):
        old = current[index] if index < len(current) and isinstance(current[index], dict) else {}
        old_tiles = (old.get("grid") or {}).get("tiles") or []
        written = copy.deepcopy(old)
        if page.get("title"):
            written["title"] = page["title"]
        else:
            written.pop("title", None)
        found = written.get("grid")
        grid: dict[str, Any] = found if isinstance(found, dict) else {}
        tiles = [_write_tile(t, old_tiles[i] if i < len(old_tiles) else None, ctx, address)
                 for i, t in enumerate(page.get("tiles") or [])]
        written["grid"] = {**grid, "tiles": tiles}
        out.append(written)
    return out


def _write_tile(tile: dict[str, Any], old: Any, ctx: ProjectContext, address: str) -> dict[str, Any]:
    box = {theirs: tile[ours] for ours, theirs in _BOX}
    if "insight" in tile:
        insight_id = ctx.dss_id_of(INSIGHT, tile["insight"])
        if insight_id is None:
            raise ValueError(f"{address}: insight {tile['insight']!r} is not known to exist")
        fresh: dict[str, Any] = {"tileType": "INSIGHT", "insightId": insight_id}
        same = isinstance(old, dict) and old.get("tileType") == "INSIGHT" and old.get("insightId") == insight_id
        if not same and _shows_replaced(old, tile["insight"], ctx):
            return _rewritten(old, insight_id, box)
    else:
        fresh = {"tileType": "TEXT", "tileParams": {"text": tile["text"]}}
        same = isinstance(old, dict) and old.get("tileType") == "TEXT"
    if not same:
        return {**fresh, "box": box}
    kept: dict[str, Any] = copy.deepcopy(old)
    kept["box"] = {**(kept.get("box") or {}), **box}
    if "text" in tile:
        kept["tileParams"] = {**(kept.get("tileParams") or {}), "text": tile["text"]}
    return kept


# What a tile's settings hold for the insight it shows (its type, the chart's options): not kept
# when the insight is replaced by one of another type; the display settings (title, click action,
# border...) are the tile's own.
_INSIGHT_KEYS = ("insightId", "insightType", "tileParams")


def _shows_replaced(old: Any, name: str, ctx: ProjectContext) -> bool:
    """Whether DSS's tile showed the insight now named `name` before it was replaced (a new id):
    its old id is known by that name, or by no name any more (the replaced insight is gone)."""
    if not (isinstance(old, dict) and old.get("tileType") == "INSIGHT"):
        return False
    return ctx.name_of(INSIGHT, str(old.get("insightId"))) in (None, name)


def _rewritten(old: dict[str, Any], insight_id: str, box: dict[str, Any]) -> dict[str, Any]:
    """DSS's tile with its display settings, showing the insight's new id at `box`."""
    kept = {k: copy.deepcopy(v) for k, v in old.items() if k not in _INSIGHT_KEYS}
    return {**kept, "insightId": insight_id, "box": {**(old.get("box") or {}), **box}}


# -- config <-> logical ------------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `dashboards` item -> logical attributes; every tile's insight is a reference."""
    pages = []
    for p_index, page in enumerate(item.get("pages") or []):
        tiles = []
        for t_index, tile in enumerate(page.get("tiles") or []):
            path = ("pages", p_index, "tiles", t_index)
            if "insight" in tile:
                ctx.require(INSIGHT, tile["insight"], (*path, "insight"), f"tile {t_index + 1}" + (f" of page {p_index + 1}" if p_index else ""))
            tiles.append({**({"insight": tile["insight"]} if "insight" in tile else {"text": tile["text"]}),
                          **{k: tile[k] for k, _ in _BOX}})
        check_layout(tiles, p_index, item.get("columns", GRID_COLUMNS), ctx)
        pages.append({**({"title": page["title"]} if page.get("title") else {}), "tiles": tiles})
    attrs: dict[str, Any] = {"pages": pages or [{"tiles": []}], "listed": bool(item.get("listed", False))}
    if as_dss_made_it({"name": item["name"], "listed": attrs["listed"], "numPages": len(attrs["pages"]),
                       "numTiles": sum(len(p["tiles"]) for p in attrs["pages"]), "tags": item.get("tags")}):
        ctx.error(("name",), f"a listed dashboard named '…{DEFAULT_SUFFIX}' with one empty page is what DSS makes "
                  "with every project, which dataiku-iac leaves to DSS",
                  "give it a tile, a tag or another name, or leave it out of the configuration")
        return None
    for key in ("description", "tags", "columns"):
        if key in item:
            attrs[key] = copy.deepcopy(item[key])
    return attrs


def check_layout(tiles: list[dict[str, Any]], page: int, columns: int, ctx: BuildContext) -> None:
    """The tiles of one page fit DSS's grid (`columns` wide; it grows downwards) and none covers
    another: DSS would draw them over each other, or past the page's right edge."""
    for index, tile in enumerate(tiles):
        path = ("pages", page, "tiles", index)
        if tile["x"] + tile["width"] > columns:
            ctx.error((*path, "width"), f"the tile ends at column {tile['x'] + tile['width']} (x {tile['x']} + width "
                      f"{tile['width']}), past the dashboard's grid of {columns} columns")
        for other_index, other in enumerate(tiles[:index]):
            if _overlap(tile, other):
                ctx.error(path, f"the tile overlaps tiles[{other_index}] ({_what(other)}) on page {page}: "
                          "two tiles cannot share a cell of the grid")
                break


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def _what(tile: dict[str, Any]) -> str:
    if "insight" in tile:
        return f"insight {tile['insight']!r}"
    text = str(tile.get("text", "")).splitlines()[0] if tile.get("text") else ""
    return f"text {text[:30]!r}"


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    from dataiku_iac.resources.webapp import WRITABLE_NAME  # free text, as DSS names dashboards

    if not WRITABLE_NAME.match(name):
        ctx.not_expressed(f"the dashboard's name {name!r} is not a name the configuration can write")
        return None
    pages = attrs.get("pages") or []
    for page in pages:
        for tile in page.get("tiles") or []:
            if "tile_type" in tile:
                ctx.not_expressed(f"it holds a tile of type {tile['tile_type']!r}, which the configuration cannot write")
                return None
            if "insight" in tile and not ctx.exists(INSIGHT, str(tile["insight"])):
                ctx.not_expressed(f"a tile shows insight {tile['insight']!r}, which is not in the project")
                return None
    item: dict[str, Any] = {"name": name}
    if attrs.get("listed"):
        item["listed"] = True
    if attrs.get("columns", GRID_COLUMNS) != GRID_COLUMNS:
        item["columns"] = attrs["columns"]
    if pages != [{"tiles": []}]:
        item["pages"] = copy.deepcopy(pages)
    return described(item, attrs)


_PLACE = {"type": "integer", "minimum": 0}
SCHEMA = ConfigSchema(
    defs={
        "dashboard_tile": {
            "type": "object",
            "properties": {
                "insight": {"$ref": "#/$defs/display_name"},
                "text": {"type": "string"},
                "x": _PLACE, "y": _PLACE,
                "width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1},
            },
            "oneOf": [{"required": ["insight"]}, {"required": ["text"]}],
            "x-messages": {"oneOf": "a tile has exactly one of insight: or text:"},
            "required": ["x", "y", "width", "height"],
            "additionalProperties": False,
        },
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/display_name"},  # DSS's are free text ("Churn overview")
                "listed": {"type": "boolean"},
                "columns": {"enum": [12, 36],
                            "x-messages": {"enum": "DSS's dashboard grid is 12 columns wide (DSS 12 and before) or 36 (DSS 13)"}},
                "pages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "title": {"type": "string"},
                            "tiles": {"type": "array", "items": {"$ref": "#/$defs/dashboard_tile"}},
                        },
                        "additionalProperties": False,
                    },
                },
                "description": {"$ref": "#/$defs/text"},
                "tags": {"$ref": "#/$defs/tags"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name"],
        },
    }
)

def flow_links(attrs: Any) -> list[FlowLink]:
    """The insights its tiles show: impact analysis walks from a dataset or saved model through the
    insight that shows it down to the dashboard."""
    names = {tile.get("insight") for page in attrs.get("pages") or [] if isinstance(page, dict)
             for tile in page.get("tiles") or [] if isinstance(tile, dict)}
    return [FlowLink(READS, name, (INSIGHT,)) for name in sorted(n for n in names if isinstance(n, str))]


SPEC = ResourceSpec(
    type=TYPE,
    label="dashboard",
    color="#20c997",
    handler=DashboardHandler(),
    identity=Identity.SERVER_ID,
    section="dashboards",
    schema=SCHEMA,
    references=(INSIGHT,),
    rewritten_with=(INSIGHT,),  # a replaced insight has a new id: the tiles are written again
    removal_breaks=False,  # nothing reads a dashboard
    flow_links=flow_links,
    build=build,
    to_config=to_config,
)
