"""Insights, as dataikuapi's DSSProject.list_insights / create_insight / get_insight and DSSInsight
(dss/insight.py) call them. Stored as the project collection "insights" (id -> document with
projectKey and id, as the settings GET answers it).

Routes (the trailing slashes are dataikuapi's): ``GET|POST /projects/K/insights/``;
``GET|POST|DELETE /projects/K/insights/ID/`` (the settings are saved with a POST of
``{"insight": settings}``, not a PUT).

Documents follow the vendored samples (tests/fixtures/dss-samples/insight/): type, params, owner,
listed (false), name, versionTag/creationTag, tags, customFields, checklists. What DSS fills in a
prototype sent through the API has no public evidence: the defaults here are the UI-created
documents' (docs/emulator.md, "Dashboards and insights").
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import defaults, errors
from ..auth import DASHBOARDS as READ_DASHBOARDS
from ..auth import READ, WRITE, project_rights
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..saved_models import SAVED_MODELS
from ..store import ProjectData

INSIGHTS = "insights"
# The insight types the emulator accepts (the types seen in real documents).
TYPES = ("chart", "metrics", "saved-model_report", "static_file", "dataset_table", "eda", "filters",
         "article", "web_app", "scenario_run_button", "project_activity", "managed-folder_content")
# What a settings save cannot change.
SERVER_FIELDS = ("projectKey", "id", "type", "creationTag", "versionTag")
# The keys of the list items: what DSSInsightListItem reads (the real list's full shape is unknown).
LIST_KEYS = ("projectKey", "id", "type", "name", "listed", "owner", "tags")


def insight_of(proj: ProjectData, insight_id: str) -> Dict[str, Any]:
    doc = proj.collection(INSIGHTS).get(insight_id)
    if doc is None:
        raise errors.not_found(f"Insight {proj.key}.{insight_id} does not exist")
    return doc


def _save(ctx: Ctx, proj: ProjectData) -> None:
    ctx.store.save_collection(proj, INSIGHTS)


def visible_insights(ctx: Ctx, proj: ProjectData) -> List[Dict[str, Any]]:
    """The insights the caller may see: all for project readers; for a dashboard-only reader, those
    the dashboards they may see show."""
    every = list(proj.collection(INSIGHTS).values())
    if project_rights(proj.params, ctx.caller)[READ]:
        return every
    from .dashboards import visible_dashboards  # the dashboards module builds on this one

    shown = {t.get("insightId") for d in visible_dashboards(ctx, proj) for p in d.get("pages") or []
             for t in (p.get("grid") or {}).get("tiles") or []}
    return [i for i in every if i["id"] in shown]


@route("GET", "/projects/<pk>/insights/")
def list_insights(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ_DASHBOARDS)
    return [{k: clone(doc[k]) for k in LIST_KEYS if k in doc} for doc in visible_insights(ctx, proj)]


@route("POST", "/projects/<pk>/insights/")
def create_insight(ctx: Ctx) -> Dict[str, Any]:
    """create_insight: ``{"insightPrototype": {type, name?, params, listed?, owner?…}}``; the answer
    carries the new id (7 random characters, as on disk)."""
    proj = ctx.project(WRITE)
    proto = ctx.body_dict().get("insightPrototype")
    if not isinstance(proto, dict):
        raise errors.bad_request("An insightPrototype object is required")
    kind = proto.get("type")
    if kind not in TYPES:
        raise errors.bad_request(f"Unknown insight type {kind!r}")
    given = proto.get("params")
    params = _with_default_params(str(kind), clone(given) if isinstance(given, dict) else {})
    _check_target(proj, str(kind), params)
    doc: Dict[str, Any] = {
        "type": kind,
        "params": params,
        "owner": proto.get("owner") or ctx.login,
        "listed": bool(proto.get("listed", False)),
        "name": proto.get("name") or _default_name(proj, str(kind), params),
        "tags": list(proto.get("tags") or []),
        "customFields": clone(proto.get("customFields") or {}),
        "checklists": {"checklists": []},
    }
    for key in ("description", "shortDesc", "dashboardCreationId"):
        if key in proto:
            doc[key] = clone(proto[key])
    defaults.stamp_creation(doc, ctx.login)
    pool = proj.collection(INSIGHTS)
    insight_id = defaults.random_id(7)
    while insight_id in pool:
        insight_id = defaults.random_id(7)
    pool[insight_id] = {"projectKey": proj.key, "id": insight_id, **doc}
    _save(ctx, proj)
    return ctx.created(clone(pool[insight_id]), "id")


def _with_default_params(kind: str, params: Dict[str, Any]) -> Dict[str, Any]:
    """A chart's params get DSS's engine, sample and definition defaults under what was sent."""
    if kind != "chart":
        return params
    return defaults.deep_merge(defaults.load("insight_chart_params.json"), params)


def _check_target(proj: ProjectData, kind: str, params: Dict[str, Any]) -> None:
    """The object an insight shows must exist in the project (a guess: DSS's UI only offers existing
    ones; whether its API checks is not documented)."""
    if kind == "chart" or kind == "dataset_table":
        _must_exist(proj.datasets, params.get("datasetSmartName"), "Dataset", proj.key)
    elif kind == "metrics" and params.get("objectType", "DATASET") == "DATASET":
        _must_exist(proj.datasets, params.get("objectSmartId"), "Dataset", proj.key)
    elif kind == "saved-model_report":
        _must_exist(proj.collection(SAVED_MODELS), params.get("savedModelSmartId"), "Saved model", proj.key)


def _must_exist(pool: Dict[str, Any], ref: Any, what: str, project_key: str) -> None:
    if not isinstance(ref, str) or not ref:
        raise errors.bad_request(f"The insight names no {what.lower()}")
    key, dot, name = ref.partition(".")
    if dot and key != project_key:
        return  # another project's object: not checked here
    if (name if dot else ref) not in pool:
        raise errors.not_found(f"{what} {project_key}.{name if dot else ref} does not exist")


def _default_name(proj: ProjectData, kind: str, params: Dict[str, Any]) -> str:
    """The names DSS gives (seen in the samples): "Full report of model <name>", "<chart> on <dataset>"."""
    if kind == "saved-model_report":
        model: Optional[Dict[str, Any]] = proj.collection(SAVED_MODELS).get(str(params.get("savedModelSmartId")))
        return f"Full report of model {(model or {}).get('name', params.get('savedModelSmartId'))}"
    if kind == "chart":
        return f"{(params.get('def') or {}).get('name') or 'Chart'} on {params.get('datasetSmartName')}"
    if kind == "metrics":
        return "Custom Metric"
    return kind


@route("GET", "/projects/<pk>/insights/<insight_id>/")
def get_insight(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ_DASHBOARDS)
    doc = insight_of(proj, ctx.params["insight_id"])
    if not any(i is doc for i in visible_insights(ctx, proj)):
        raise errors.forbidden(f"You may not read insight {proj.key}.{doc['id']}: no dashboard you may see shows it")
    return clone(doc)


@route("POST", "/projects/<pk>/insights/<insight_id>/")
def save_insight(ctx: Ctx) -> Dict[str, Any]:
    """DSSInsightSettings.save: ``{"insight": settings}``, the whole document; identity, type and
    tags of creation stay the server's."""
    proj = ctx.project(WRITE)
    old = insight_of(proj, ctx.params["insight_id"])
    new = ctx.body_dict().get("insight")
    if not isinstance(new, dict):
        raise errors.bad_request("An insight object is required")
    new = clone(new)
    if not isinstance(new.get("name"), str) or not new["name"].strip():
        raise errors.bad_request("An insight needs a name")
    if not isinstance(new.get("params"), dict):
        raise errors.bad_request("An insight needs params")
    _check_target(proj, str(old["type"]), new["params"])
    for key in SERVER_FIELDS:
        if key in old:
            new[key] = clone(old[key])
    defaults.bump(new, ctx.login)
    proj.collection(INSIGHTS)[old["id"]] = new
    _save(ctx, proj)
    return {}


@route("DELETE", "/projects/<pk>/insights/<insight_id>/")
def delete_insight(ctx: Ctx) -> Dict[str, Any]:
    """The insight alone: dashboard tiles showing it stay (a guess, docs/emulator.md)."""
    proj = ctx.project(WRITE)
    del proj.collection(INSIGHTS)[insight_of(proj, ctx.params["insight_id"])["id"]]
    _save(ctx, proj)
    return {}
