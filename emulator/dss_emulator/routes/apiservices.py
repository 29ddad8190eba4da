"""API services of the API Designer, as dataikuapi 15.2 ``dss/apiservice.py`` and ``DSSProject`` call them.

* ``GET /projects/{pk}/apiservices/``: the list items (``DSSAPIServiceListItem`` reads ``projectKey``,
  ``id``, ``name``, ``authMethod`` and ``endpoints``, "each one a dict with fields id, type");
* ``POST /projects/{pk}/apiservices/{id}`` (no body): a service of that id, without endpoints;
* ``GET``/``PUT /projects/{pk}/apiservices/{id}/settings``: its document (real ones:
  tests/fixtures/dss-samples/api_service/, DSS's ``lambda_services/<id>.json``), endpoints
  completed with DSS's defaults on save;
* packages (the versions the API Deployer calls generations): ``GET .../packages`` ([{id,
  createdOn}]), ``POST .../packages/{pkg}?releaseNotes=`` (a snapshot of the service and of the
  active version of each endpoint's saved model), ``GET .../packages/{pkg}/summary``, ``GET
  .../packages/{pkg}/archive`` (a zip), ``DELETE .../packages/{pkg}``, ``POST
  .../packages/{pkg}/publish?publishedServiceId=`` (to the API Deployer, routes/apideployer.py).

dataikuapi 15.2 has no call that deletes an API service, and neither has the emulator (the
service goes with its project). Guesses are listed in docs/emulator.md ("API services").
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from . import apideployer

SERVICES = "api_services"  # service id -> its settings document
PACKAGES = "api_service_packages"  # service id -> {package id -> package}
SAVED_MODELS = "savedmodels"  # the saved models' collection (routes of the saved models)

SERVICE_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
AUTH_METHODS = ("PUBLIC", "API_KEYS", "OAUTH2")
# Endpoint types (dataikuapi's DSSAPIServiceSettings.endpoints); the STD_ ones score a saved model.
MODEL_ENDPOINTS = ("STD_PREDICTION", "STD_MULTITARGET_PREDICTION", "STD_CLUSTERING", "STD_FORECAST",
                   "STD_CAUSAL_PREDICTION")
ENDPOINT_TYPES = MODEL_ENDPOINTS + ("CUSTOM_PREDICTION", "CUSTOM_R_PREDICTION", "R_FUNCTION", "PY_FUNCTION",
                                    "DATASETS_LOOKUP", "SQL_QUERY")

# What DSS writes into an endpoint it saves, by type (the real documents' keys and values).
_MODEL_ENDPOINT_DEFAULTS: Dict[str, Any] = {
    "useJava": True,
    "outputExplanations": False,
    "individualExplanationParams": {"method": "ICE", "nbExplanations": 3, "drawInScoredSet": False,
                                    "subChunkSize": 5000, "shapleyBackgroundSize": 100},
    "mlFlowOutputStyle": "PARSED",
    "testQueries": [],
    "enrichMapping": [],
    "healthCheckQueries": [],
    "returnPostEnrichData": False,
    "auditPostEnrichData": False,
}
_ENDPOINT_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "PY_FUNCTION": {"envSelection": {"envMode": "INHERIT"}, "testQueries": [], "inputFolderRefs": [],
                    "userFunctionName": "api_py_function", "code": ""},
    "R_FUNCTION": {"envSelection": {"envMode": "INHERIT"}, "testQueries": [], "inputFolderRefs": [],
                   "userFunctionName": "api_r_function", "code": ""},
}
_OAUTH2_CONFIG = {"keysFormat": "JWKS_URI", "jwkUriConnectTimeout": 500, "jwkUriReadTimeout": 500,
                  "jwkUriSizeLimit": 51200, "disableSSLCertificatesCheck": False, "scopeClaimFormat": "STRING",
                  "scopeClaimKey": "scope"}


def new_service(service_id: str, login: str) -> Dict[str, Any]:
    """A service as DSS creates it (the recent real document's keys; `name` is the id)."""
    doc: Dict[str, Any] = {
        "name": service_id,
        "endpoints": [],
        "authMethod": "PUBLIC",
        "authRealm": {"queryKeys": []},
        "oauth2Config": clone(_OAUTH2_CONFIG),
        "deploymentMonitoring": [],
        "tags": [],
        "customFields": {},
        "checklists": {"checklists": []},
    }
    defaults.stamp_creation(doc, login)
    return doc


def service_of(proj: ProjectData, service_id: str) -> Dict[str, Any]:
    service = proj.collection(SERVICES).get(service_id)
    if service is None:
        raise errors.not_found(f"API service {service_id} does not exist in project {proj.key}")
    return service


def _packages(proj: ProjectData, service_id: str) -> Dict[str, Any]:
    return proj.collection(PACKAGES).setdefault(service_id, {})


def _package(proj: ProjectData, service_id: str, package_id: str) -> Dict[str, Any]:
    package = _packages(proj, service_id).get(package_id)
    if package is None:
        raise errors.not_found(f"Package {package_id} does not exist in API service {service_id}")
    return package


def _with_endpoint_defaults(endpoint: Any, index: int) -> Dict[str, Any]:
    if not isinstance(endpoint, dict):
        raise errors.bad_request(f"API service endpoint #{index} must be an object")
    endpoint_id, endpoint_type = endpoint.get("id"), endpoint.get("type")
    if not isinstance(endpoint_id, str) or not endpoint_id.strip():
        raise errors.bad_request(f"API service endpoint #{index} has no id")
    if endpoint_type not in ENDPOINT_TYPES:
        raise errors.bad_request(f"Unknown endpoint type {endpoint_type!r} for endpoint {endpoint_id}")
    base = _MODEL_ENDPOINT_DEFAULTS if endpoint_type in MODEL_ENDPOINTS else _ENDPOINT_DEFAULTS.get(endpoint_type, {})
    return {**clone(base), **clone(endpoint)}


def _settings_from(body: Dict[str, Any], current: Dict[str, Any]) -> Dict[str, Any]:
    """The document a PUT of `body` saves: the body with endpoint defaults; name, tags of creation kept."""
    endpoints = body.get("endpoints", [])
    if not isinstance(endpoints, list):
        raise errors.bad_request("API service endpoints must be a list")
    auth = body.get("authMethod", current.get("authMethod", "PUBLIC"))
    if auth not in AUTH_METHODS:
        raise errors.bad_request(f"Unknown authentication method {auth!r} (one of {', '.join(AUTH_METHODS)})")
    doc = {**clone(body), "name": current["name"], "authMethod": auth,
           "endpoints": [_with_endpoint_defaults(e, i) for i, e in enumerate(endpoints)]}
    doc["creationTag"] = clone(current.get("creationTag"))
    doc["versionTag"] = clone(current.get("versionTag"))
    return doc


@route("GET", "/projects/<pk>/apiservices/")
def list_services(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [
        {"projectKey": proj.key, "id": sid, "name": doc["name"], "authMethod": doc.get("authMethod", "PUBLIC"),
         "endpoints": [{"id": e.get("id"), "type": e.get("type")} for e in doc.get("endpoints", [])],
         "tags": clone(doc.get("tags", []))}
        for sid, doc in proj.collection(SERVICES).items()
    ]


@route("POST", "/projects/<pk>/apiservices/<service_id>")
def create_service(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    service_id = ctx.params["service_id"]
    if not SERVICE_ID_RE.match(service_id):
        raise errors.bad_request(f"Invalid API service id {service_id!r}: letters, digits, '_' and '-' only")
    if service_id in proj.collection(SERVICES):
        raise errors.already_exists(f"API service {service_id} already exists in project {proj.key}")
    proj.collection(SERVICES)[service_id] = new_service(service_id, ctx.login)
    ctx.store.save_collection(proj, SERVICES)
    return {}


@route("GET", "/projects/<pk>/apiservices/<service_id>/settings")
def get_settings(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(service_of(proj, ctx.params["service_id"]))


@route("PUT", "/projects/<pk>/apiservices/<service_id>/settings")
def put_settings(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    current = service_of(proj, ctx.params["service_id"])
    doc = _settings_from(ctx.body_dict(), current)
    defaults.bump(doc, ctx.login)
    proj.collection(SERVICES)[ctx.params["service_id"]] = doc
    ctx.store.save_collection(proj, SERVICES)
    return {}


# ---------------------------------------------------------------- packages


def _model_version(proj: ProjectData, endpoint: Dict[str, Any]) -> str:
    """The active version of the saved model a model endpoint scores: what its package freezes."""
    model_id = endpoint.get("modelRef")
    model = proj.collection(SAVED_MODELS).get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise errors.bad_request(
            f"Endpoint {endpoint.get('id')}: saved model {model_id!r} does not exist in project {proj.key}")
    version = model.get("activeVersion")
    if not version:
        raise errors.bad_request(
            f"Endpoint {endpoint.get('id')}: saved model {model_id} has no active version to package")
    return str(version)


def _snapshot(proj: ProjectData, service: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Each endpoint as the package freezes it: with the saved model version it serves."""
    if not service.get("endpoints"):
        raise errors.bad_request(f"API service {service['name']} has no endpoint: there is nothing to package")
    frozen = []
    for endpoint in service["endpoints"]:
        item = {"id": endpoint.get("id"), "type": endpoint.get("type")}
        if endpoint.get("type") in MODEL_ENDPOINTS:
            item.update(modelRef=endpoint.get("modelRef"), modelVersion=_model_version(proj, endpoint))
        frozen.append(item)
    return frozen


@route("GET", "/projects/<pk>/apiservices/<service_id>/packages")
def list_packages(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    service_of(proj, ctx.params["service_id"])
    return [{"id": p["id"], "createdOn": p["createdOn"]} for p in _packages(proj, ctx.params["service_id"]).values()]


@route("POST", "/projects/<pk>/apiservices/<service_id>/packages/<package_id>")
def create_package(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    service_id, package_id = ctx.params["service_id"], ctx.params["package_id"]
    service = service_of(proj, service_id)
    if not SERVICE_ID_RE.match(package_id):
        raise errors.bad_request(f"Invalid package id {package_id!r}: letters, digits, '_' and '-' only")
    packages = _packages(proj, service_id)
    if package_id in packages:
        raise errors.already_exists(f"Package {package_id} already exists in API service {service_id}")
    packages[package_id] = {
        "id": package_id,
        "createdOn": defaults.now_ms(),
        "createdBy": ctx.login,
        "releaseNotes": ctx.query("releaseNotes"),  # requests leaves out dataikuapi's None
        "projectKey": proj.key,
        "serviceId": service_id,
        "endpoints": _snapshot(proj, service),
        "service": clone(service),
    }
    ctx.store.save_collection(proj, PACKAGES)
    return {}


@route("GET", "/projects/<pk>/apiservices/<service_id>/packages/<package_id>/summary")
def package_summary(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    service_of(proj, ctx.params["service_id"])
    package = _package(proj, ctx.params["service_id"], ctx.params["package_id"])
    return {k: clone(v) for k, v in package.items() if k != "service"}


@route("GET", "/projects/<pk>/apiservices/<service_id>/packages/<package_id>/archive")
def package_archive(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    service_of(proj, ctx.params["service_id"])
    return Raw(archive(_package(proj, ctx.params["service_id"], ctx.params["package_id"])), "application/zip")


def archive(package: Dict[str, Any]) -> bytes:
    """A package as a zip (the emulator's own layout: the service document and the frozen endpoints)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("service.json", json.dumps(package["service"], indent=2))
        zf.writestr("package.json", json.dumps({k: v for k, v in package.items() if k != "service"}, indent=2))
    return buffer.getvalue()


@route("DELETE", "/projects/<pk>/apiservices/<service_id>/packages/<package_id>")
def delete_package(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    service_of(proj, ctx.params["service_id"])
    _package(proj, ctx.params["service_id"], ctx.params["package_id"])
    del _packages(proj, ctx.params["service_id"])[ctx.params["package_id"]]
    ctx.store.save_collection(proj, PACKAGES)
    return {}


@route("POST", "/projects/<pk>/apiservices/<service_id>/packages/<package_id>/publish")
def publish_package(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    service_id = ctx.params["service_id"]
    service_of(proj, service_id)
    package = _package(proj, service_id, ctx.params["package_id"])
    published_id = ctx.query("publishedServiceId") or service_id
    apideployer.publish(ctx, published_id, package, archive(package))
    return {}
