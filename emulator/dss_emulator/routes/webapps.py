"""Code webapps, as dataikuapi 15.2 ``dss/webapp.py`` and ``DSSProject`` call them.

* ``GET /projects/{pk}/webapps/``: the list items (``DSSWebAppListItem`` reads ``id``, ``name``,
  ``projectKey``, and ``tags`` as a taggable item);
* ``POST /projects/{pk}/webapps/`` ``{name, type}`` (STANDARD, BOKEH, DASH, STREAMLIT, SHINY; dataikuapi
  refuses others itself) -> ``{webAppId}``, the one key ``create_webapp`` reads;
* ``GET``/``PUT /projects/{pk}/webapps/{id}``: the settings document. Real documents
  (tests/fixtures/dss-samples/webapp/) are DSS's ``web_apps/<id>.json`` files, whose code lives in
  files beside them (``body.html``, ``style.css``, ``app.js``, ``backend.py``); the API's document is
  taken to be that file with ``id``, ``projectKey`` and the code inlined in ``params`` (``html``,
  ``css``, ``js``, ``python``; ``ui``/``server`` for Shiny's R): a public script sets
  ``params["python"]`` to change a backend's code (docs/emulator.md, "Webapps");
* the backend: ``GET .../backend/state`` (``{projectKey, webAppId, futureInfo}``, ``futureInfo.alive``
  while it runs), ``PUT .../backend/actions/restart`` (a future, done at once: no code runs),
  ``PUT .../backend/actions/stop``.

dataikuapi 15.2 has no call that deletes a webapp, and neither has the emulator (it goes with its
project).
"""

from __future__ import annotations

import string
from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData

WEBAPPS = "webapps"  # webapp id -> its settings document (code inlined in params)
BACKENDS = "webapp_backends"  # webapp id -> {"alive": bool, "startTime": ms} once started

TYPES = ("STANDARD", "BOKEH", "DASH", "STREAMLIT", "SHINY")
_API_KEY_ALPHABET = string.ascii_letters + string.digits

# The params DSS writes at creation, by type (tests/fixtures/dss-samples/webapp/*_as_created*.json).
_INFRA: Dict[str, Any] = {
    "containerSelection": {"containerMode": "INHERIT"},
    "overrideGlobalK8sExposition": False,
    "exposition": {"type": "local_process", "params": {}},
    "scaling": {"initialReplicas": 1, "hpa": False, "hpaTargetCPUPercent": 0, "hpaMetrics": [], "hpaMinPods": 0,
                "hpaMaxPods": 0, "hpaAnnotations": []},
    "deploymentModifier": {},
}
_CREATED_PARAMS: Dict[str, Dict[str, Any]] = {
    "STANDARD": {"backendEnabled": False, "enableJavascriptModules": False, "autoStartBackend": False,
                 "hideJSSecurityPanel": False, "envSelection": {"envMode": "INHERIT"}, "nbProcesses": 1,
                 "libraries": ["jquery", "dataiku"]},
    "BOKEH": {"autoStartBackend": False, "envSelection": {"envMode": "INHERIT"}, "nbProcesses": 1},
    "DASH": {"autoStartBackend": False, "envSelection": {"envMode": "INHERIT"}, "nbProcesses": 1, "serveLocally": True},
    "STREAMLIT": {"autoStartBackend": False, "envSelection": {"envMode": "INHERIT"}, "nbProcesses": 1},  # no sample: as BOKEH
    "SHINY": {"autoStartBackend": False, "envSelection": {"envMode": "INHERIT"}},
}
# The starter code DSS writes with a new webapp (a guess of its shape: the real templates are longer).
_STARTER_CODE: Dict[str, Dict[str, str]] = {
    "STANDARD": {"html": "<h1>My webapp</h1>\n", "css": "", "js": "", "python": "from flask import request\n"},
    "BOKEH": {"python": "from bokeh.io import curdoc\n"},
    "DASH": {"python": "from dash import html\n\napp.layout = html.Div()\n"},
    "STREAMLIT": {"python": "import streamlit as st\n"},
    "SHINY": {"ui": "library(shiny)\n", "server": "library(shiny)\n"},
}


def new_webapp(project_key: str, webapp_id: str, name: str, webapp_type: str, login: str) -> Dict[str, Any]:
    params = {**clone(_CREATED_PARAMS[webapp_type]), "infra": clone(_INFRA), "forceAuthentication": False}
    params.update(_STARTER_CODE[webapp_type])
    doc: Dict[str, Any] = {"id": webapp_id, "projectKey": project_key, "type": webapp_type,
                           "hasLegacyBackendURL": False, "params": params, "config": {}, "name": name}
    if webapp_type == "STANDARD":  # DSS gives a standard webapp an API key at creation, the others none
        doc["apiKey"] = defaults.random_id(32)
    defaults.stamp_creation(doc, login)
    doc.update(tags=[], checklists={"checklists": []}, customFields={}, isVirtual=False)
    return doc


def _webapp(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    doc = proj.collection(WEBAPPS).get(ctx.params["wid"])
    if doc is None:
        raise errors.not_found(f"Web app {proj.key}.{ctx.params['wid']} does not exist")
    return doc


def _checked_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Web app name is missing")
    return name


def _checked_type(webapp_type: Any) -> str:
    # A plugin's webapp type is "webapp_<plugin>_<id>" (dss-samples/webapp/git_plugin_webapp.json).
    if webapp_type in TYPES or (isinstance(webapp_type, str) and webapp_type.startswith("webapp_")):
        return webapp_type
    raise errors.bad_request(f"Unknown web app type {webapp_type!r}")


@route("GET", "/projects/<pk>/webapps/")
def list_webapps(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [{"projectKey": proj.key, "id": wid, "name": doc["name"], "type": doc["type"],
             "tags": clone(doc.get("tags", []))}
            for wid, doc in sorted(proj.collection(WEBAPPS).items(), key=lambda item: item[1]["name"])]


@route("POST", "/projects/<pk>/webapps/")
def create_webapp(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = _checked_name(body.get("name"))
    webapp_type = body.get("type")
    if webapp_type not in TYPES:
        raise errors.bad_request(f"Unknown web app type {webapp_type!r}")
    webapps = proj.collection(WEBAPPS)
    webapp_id = defaults.random_id(7)  # DSS's ids are 7 random characters (web_apps/2JY0YEG.json)
    while webapp_id in webapps:
        webapp_id = defaults.random_id(7)
    webapps[webapp_id] = new_webapp(proj.key, webapp_id, name, webapp_type, ctx.login)
    ctx.store.save_collection(proj, WEBAPPS)
    return {"projectKey": proj.key, "webAppId": webapp_id}


@route("GET", "/projects/<pk>/webapps/<wid>")
def get_webapp(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_webapp(ctx, proj))


@route("PUT", "/projects/<pk>/webapps/<wid>")
def save_webapp(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = _webapp(ctx, proj)
    body = ctx.body_dict()
    params = body.get("params", old.get("params"))
    if not isinstance(params, dict):
        raise errors.bad_request("Web app params must be a JSON object")
    doc = {**clone(body), "id": old["id"], "projectKey": proj.key, "params": clone(params),
           "name": _checked_name(body.get("name", old["name"])),
           "type": _checked_type(body.get("type", old["type"])),
           "creationTag": clone(old.get("creationTag")), "versionTag": clone(old.get("versionTag"))}
    if "apiKey" in old:
        doc["apiKey"] = old["apiKey"]  # DSS's own key, not the caller's to change
    defaults.bump(doc, ctx.login)
    proj.collection(WEBAPPS)[old["id"]] = doc
    ctx.store.save_collection(proj, WEBAPPS)
    return {}


# ---------------------------------------------------------------- the backend


def _runs_a_backend(doc: Dict[str, Any]) -> bool:
    """A standard webapp serves its backend only when enabled; the other kinds are all backend."""
    return doc["type"] != "STANDARD" or bool((doc.get("params") or {}).get("backendEnabled"))


@route("GET", "/projects/<pk>/webapps/<wid>/backend/state")
def backend_state(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _webapp(ctx, proj)
    state: Dict[str, Any] = {"projectKey": proj.key, "webAppId": doc["id"]}
    backend = proj.collection(BACKENDS).get(doc["id"])
    if backend is not None:  # never started: no futureInfo (DSSWebAppBackendState.running says False)
        state["futureInfo"] = {"alive": backend["alive"], "startTime": backend["startTime"],
                               "jobDisplayName": f"Webapp backend {doc['name']}", "hasResult": False}
    return state


@route("PUT", "/projects/<pk>/webapps/<wid>/backend/actions/restart")
def restart_backend(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _webapp(ctx, proj)
    if not _runs_a_backend(doc):
        raise errors.bad_request(f"Web app {doc['name']} has no backend: enable it in its settings first")
    proj.collection(BACKENDS)[doc["id"]] = {"alive": True, "startTime": defaults.now_ms()}
    ctx.store.save_collection(proj, BACKENDS)
    return ctx.app.runtime.start_future({"webAppId": doc["id"]}, f"Starting backend of web app {doc['name']}")


@route("PUT", "/projects/<pk>/webapps/<wid>/backend/actions/stop")
def stop_backend(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _webapp(ctx, proj)
    backend = proj.collection(BACKENDS).get(doc["id"])
    if backend is not None:
        backend["alive"] = False
        ctx.store.save_collection(proj, BACKENDS)
    return {}
