"""The API Deployer, as dataikuapi 15.2 ``dss/apideployer.py`` calls it (``client.get_apideployer()``).

The deployer is instance-level in DSS: its objects are instance collections
(``store.instance_collection``), which a project reset keeps and a full reset drops, as it drops
the rest of the instance's configuration (the ``dss`` pytest fixture resets fully before each test).

* stages: ``GET /api-deployer/stages`` ([{id, desc}]);
* infrastructures (administrators only, as in DSS): ``GET``/``POST /api-deployer/infras``
  ({id, stage, type, governCheckPolicy}), ``GET .../infras/{id}`` (light status: ``infraBasicInfo``,
  ``deployments``), ``GET``/``PUT .../infras/{id}/settings``, ``DELETE .../infras/{id}`` (refused
  while a deployment uses it);
* published services: ``GET``/``POST /api-deployer/services`` ({publishedServiceId}), ``GET
  .../services/{id}`` (light status: ``serviceBasicInfo``, ``packages``, ``deployments``),
  ``GET``/``PUT .../settings``, ``GET``/``DELETE .../versions/{v}``, ``DELETE .../services/{id}``;
  a design node's ``publish`` (routes/apiservices.py) adds a version here, creating the service;
* deployments: ``GET``/``POST /api-deployer/deployments`` ({deploymentId, publishedServiceId,
  infraId, version}), ``GET .../deployments/{id}`` (light: ``deploymentBasicInfo``, the settings),
  ``GET .../status`` (heavy: ``health``, ``healthMessages``, ``apiNodes``), ``GET``/``PUT
  .../settings`` (``generationsMapping``: ``SINGLE_GENERATION`` {generation} or
  ``MULTI_GENERATION`` {strategy RANDOM|HASH_BASED, entries: [{generation, proba}]}, validated as below),
  ``POST .../actions/update`` (a future; the deployment then serves its settings), ``GET
  .../update`` and ``.../last-update``, ``DELETE .../deployments/{id}`` (refused while enabled).

No public real document of the deployer exists (research notes): every shape beyond the keys
dataikuapi reads is a guess, listed in docs/emulator.md ("API Deployer").
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import require_admin
from ..context import Ctx, Raw
from ..jsoncopy import clone
from ..router import route

INFRAS = "apideployer.infras"  # infra id -> settings
SERVICES = "apideployer.services"  # published service id -> {settings, versions: {id -> version}}
DEPLOYMENTS = "apideployer.deployments"  # deployment id -> {settings, deployed, updates}

ID_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
STAGES = [{"id": "Development", "desc": ""}, {"id": "Test", "desc": ""}, {"id": "Production", "desc": ""}]
INFRA_TYPES = ("STATIC", "K8S", "AZURE_ML", "SAGEMAKER", "SNOWPARK", "VERTEX_AI", "DATABRICKS")
GOVERN_POLICIES = ("PREVENT", "WARN", "NO_CHECK")
STRATEGIES = ("RANDOM", "HASH_BASED")  # DSS 9.0.5 front end's GENERATION_MAPPING_STRATEGIES
PROBA_TOLERANCE = 1e-6


def _collection(ctx: Ctx, kind: str) -> Dict[str, Dict[str, Any]]:
    return ctx.store.instance_collection(kind)


def _checked_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise errors.bad_request(f"Invalid {what} id {value!r}: letters, digits, '_', '.' and '-' only")
    return value


def _get(ctx: Ctx, kind: str, object_id: str, what: str) -> Dict[str, Any]:
    found = _collection(ctx, kind).get(object_id)
    if found is None:
        raise errors.not_found(f"{what} {object_id} does not exist")
    return found


def _deployments_where(ctx: Ctx, key: str, value: str) -> List[Dict[str, Any]]:
    return [d["settings"] for d in _collection(ctx, DEPLOYMENTS).values() if d["settings"].get(key) == value]


def _deployment_ref(settings: Dict[str, Any]) -> Dict[str, Any]:
    return {k: settings.get(k) for k in ("id", "publishedServiceId", "infraId", "enabled")}


# ---------------------------------------------------------------- stages and infras


@route("GET", "/api-deployer/stages")
def list_stages(ctx: Ctx) -> List[Dict[str, Any]]:
    return clone(STAGES)


def _infra_light(ctx: Ctx, infra: Dict[str, Any]) -> Dict[str, Any]:
    basic = {k: infra.get(k) for k in ("id", "stage", "type", "governCheckPolicy")}
    return {"infraBasicInfo": basic, "isAdmin": ctx.caller.admin, "canDeploy": True,
            "deployments": [_deployment_ref(d) for d in _deployments_where(ctx, "infraId", infra["id"])]}


@route("GET", "/api-deployer/infras")
def list_infras(ctx: Ctx) -> List[Dict[str, Any]]:
    return [_infra_light(ctx, infra) for infra in _collection(ctx, INFRAS).values()]


@route("POST", "/api-deployer/infras")
def create_infra(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    body = ctx.body_dict()
    infra_id = _checked_id(body.get("id"), "infrastructure")
    if infra_id in _collection(ctx, INFRAS):
        raise errors.already_exists(f"Infrastructure {infra_id} already exists")
    if body.get("stage") not in [s["id"] for s in STAGES]:
        raise errors.bad_request(f"Unknown stage {body.get('stage')!r} (one of {', '.join(s['id'] for s in STAGES)})")
    if body.get("type") not in INFRA_TYPES:
        raise errors.bad_request(f"Unknown infrastructure type {body.get('type')!r} (one of {', '.join(INFRA_TYPES)})")
    policy = body.get("governCheckPolicy") or "NO_CHECK"
    if policy not in GOVERN_POLICIES:
        raise errors.bad_request(f"Unknown govern check policy {policy!r}")
    infra = {"id": infra_id, "stage": body["stage"], "type": body["type"], "governCheckPolicy": policy,
             "apiNodes": [], "permissions": []}
    defaults.stamp_creation(infra, ctx.login)
    _collection(ctx, INFRAS)[infra_id] = infra
    ctx.store.save_instance_collection(INFRAS)
    return {"id": infra_id}


@route("GET", "/api-deployer/infras/<infra_id>")
def get_infra(ctx: Ctx) -> Dict[str, Any]:
    return _infra_light(ctx, _get(ctx, INFRAS, ctx.params["infra_id"], "Infrastructure"))


@route("GET", "/api-deployer/infras/<infra_id>/settings")
def get_infra_settings(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    return clone(_get(ctx, INFRAS, ctx.params["infra_id"], "Infrastructure"))


@route("PUT", "/api-deployer/infras/<infra_id>/settings")
def put_infra_settings(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    infra = _get(ctx, INFRAS, ctx.params["infra_id"], "Infrastructure")
    body = ctx.body_dict()
    for fixed in ("id", "type"):
        if fixed in body and body[fixed] != infra[fixed]:
            raise errors.bad_request(f"The {fixed} of infrastructure {infra['id']} cannot be changed")
    if body.get("stage", infra["stage"]) not in [s["id"] for s in STAGES]:
        raise errors.bad_request(f"Unknown stage {body.get('stage')!r}")
    saved = {**clone(body), "id": infra["id"], "type": infra["type"], "creationTag": clone(infra.get("creationTag")),
             "versionTag": clone(infra.get("versionTag"))}
    defaults.bump(saved, ctx.login)
    _collection(ctx, INFRAS)[infra["id"]] = saved
    ctx.store.save_instance_collection(INFRAS)
    return {}


@route("DELETE", "/api-deployer/infras/<infra_id>")
def delete_infra(ctx: Ctx) -> Dict[str, Any]:
    require_admin(ctx.caller)
    infra = _get(ctx, INFRAS, ctx.params["infra_id"], "Infrastructure")
    users = _deployments_where(ctx, "infraId", infra["id"])
    if users:
        raise errors.bad_request(
            f"Infrastructure {infra['id']} still has deployments: {', '.join(d['id'] for d in users)}")
    del _collection(ctx, INFRAS)[infra["id"]]
    ctx.store.save_instance_collection(INFRAS)
    return {}


# ---------------------------------------------------------------- published services


def _new_published(service_id: str, login: str) -> Dict[str, Any]:
    settings = {"id": service_id, "name": service_id, "permissions": [], "owner": login}
    defaults.stamp_creation(settings, login)
    return {"settings": settings, "versions": {}}


def publish(ctx: Ctx, published_id: str, package: Dict[str, Any], archive: bytes) -> None:
    """A design node's package becomes a version of published service `published_id` (created if
    missing). A version id is published once: publishing it again is refused (guess)."""
    _checked_id(published_id, "published service")
    services = _collection(ctx, SERVICES)
    service = services.setdefault(published_id, _new_published(published_id, ctx.login))
    if package["id"] in service["versions"]:
        raise errors.already_exists(f"Version {package['id']} already exists in published service {published_id}")
    service["versions"][package["id"]] = {
        "id": package["id"],
        "publishedOn": defaults.now_ms(),
        "publishedBy": ctx.login,
        "releaseNotes": package.get("releaseNotes"),
        "designNodeInfo": {"projectKey": package.get("projectKey"), "serviceId": package.get("serviceId")},
        "endpoints": clone(package.get("endpoints", [])),
        "size": len(archive),
    }
    ctx.store.save_instance_collection(SERVICES)


def _service_light(ctx: Ctx, service_id: str, service: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "serviceBasicInfo": {k: service["settings"].get(k) for k in ("id", "name")},
        "packages": [clone(v) for v in service["versions"].values()],
        "deployments": [_deployment_ref(d) for d in _deployments_where(ctx, "publishedServiceId", service_id)],
        "isAdmin": ctx.caller.admin,
    }


@route("GET", "/api-deployer/services")
def list_published(ctx: Ctx) -> List[Dict[str, Any]]:
    return [_service_light(ctx, sid, s) for sid, s in _collection(ctx, SERVICES).items()]


@route("POST", "/api-deployer/services")
def create_published(ctx: Ctx) -> Dict[str, Any]:
    service_id = _checked_id(ctx.body_dict().get("publishedServiceId"), "published service")
    if service_id in _collection(ctx, SERVICES):
        raise errors.already_exists(f"Published service {service_id} already exists")
    _collection(ctx, SERVICES)[service_id] = _new_published(service_id, ctx.login)
    ctx.store.save_instance_collection(SERVICES)
    return {"id": service_id}


@route("GET", "/api-deployer/services/<service_id>")
def get_published(ctx: Ctx) -> Dict[str, Any]:
    sid = ctx.params["service_id"]
    return _service_light(ctx, sid, _get(ctx, SERVICES, sid, "Published service"))


@route("GET", "/api-deployer/services/<service_id>/settings")
def get_published_settings(ctx: Ctx) -> Dict[str, Any]:
    return clone(_get(ctx, SERVICES, ctx.params["service_id"], "Published service")["settings"])


@route("PUT", "/api-deployer/services/<service_id>/settings")
def put_published_settings(ctx: Ctx) -> Dict[str, Any]:
    service = _get(ctx, SERVICES, ctx.params["service_id"], "Published service")
    body = ctx.body_dict()
    saved = {**clone(body), "id": service["settings"]["id"],
             "creationTag": clone(service["settings"].get("creationTag")),
             "versionTag": clone(service["settings"].get("versionTag"))}
    defaults.bump(saved, ctx.login)
    service["settings"] = saved
    ctx.store.save_instance_collection(SERVICES)
    return {}


def _versions_in_use(ctx: Ctx, service_id: str) -> Dict[str, List[str]]:
    """Version id -> the deployments whose settings name it."""
    used: Dict[str, List[str]] = {}
    for settings in _deployments_where(ctx, "publishedServiceId", service_id):
        for generation in generations_of(settings.get("generationsMapping") or {}):
            used.setdefault(generation, []).append(settings["id"])
    return used


@route("GET", "/api-deployer/services/<service_id>/versions/<version>")
def get_version(ctx: Ctx) -> Raw:
    """The version's archive (the emulator's own zip: the version's record)."""
    sid, version = ctx.params["service_id"], ctx.params["version"]
    found = _get(ctx, SERVICES, sid, "Published service")["versions"].get(version)
    if found is None:
        raise errors.not_found(f"Version {version} does not exist in published service {sid}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("version.json", json.dumps(found, indent=2))
    return Raw(buffer.getvalue(), "application/zip")


@route("DELETE", "/api-deployer/services/<service_id>/versions/<version>")
def delete_version(ctx: Ctx) -> Dict[str, Any]:
    sid, version = ctx.params["service_id"], ctx.params["version"]
    service = _get(ctx, SERVICES, sid, "Published service")
    if version not in service["versions"]:
        raise errors.not_found(f"Version {version} does not exist in published service {sid}")
    users = _versions_in_use(ctx, sid).get(version)
    if users:
        raise errors.bad_request(f"Version {version} of {sid} is used by deployments: {', '.join(users)}")
    del service["versions"][version]
    ctx.store.save_instance_collection(SERVICES)
    return {}


@route("DELETE", "/api-deployer/services/<service_id>")
def delete_published(ctx: Ctx) -> Dict[str, Any]:
    sid = ctx.params["service_id"]
    _get(ctx, SERVICES, sid, "Published service")
    users = _deployments_where(ctx, "publishedServiceId", sid)
    if users:
        raise errors.bad_request(f"Published service {sid} still has deployments: {', '.join(d['id'] for d in users)}")
    del _collection(ctx, SERVICES)[sid]
    ctx.store.save_instance_collection(SERVICES)
    return {}


# ---------------------------------------------------------------- deployments


def generations_of(mapping: Dict[str, Any]) -> List[str]:
    if mapping.get("mode") == "MULTI_GENERATION":
        return [str(e.get("generation")) for e in mapping.get("entries") or []]
    return [str(mapping.get("generation"))] if mapping.get("generation") is not None else []


def checked_mapping(mapping: Any, versions: Dict[str, Any], service_id: str) -> Dict[str, Any]:
    """A generations mapping as DSS accepts it: known versions; probabilities summing to 1."""
    if not isinstance(mapping, dict):
        raise errors.bad_request("generationsMapping must be an object")
    mode = mapping.get("mode")
    if mode == "SINGLE_GENERATION":
        _known_version(mapping.get("generation"), versions, service_id)
        return {"mode": mode, "generation": mapping["generation"]}
    if mode != "MULTI_GENERATION":
        raise errors.bad_request(f"Unknown generations mapping mode {mode!r} (SINGLE_GENERATION or MULTI_GENERATION)")
    entries = mapping.get("entries")
    if not isinstance(entries, list) or not entries:
        raise errors.bad_request("A MULTI_GENERATION mapping needs at least one entry")
    for entry in entries:
        _known_version((entry or {}).get("generation"), versions, service_id)
        proba = entry.get("proba")
        if isinstance(proba, bool) or not isinstance(proba, (int, float)) or not 0 <= proba <= 1:
            raise errors.bad_request(f"Generation {entry['generation']}: proba must be a number between 0 and 1")
    total = sum(float(e["proba"]) for e in entries)
    if abs(total - 1.0) > PROBA_TOLERANCE:
        raise errors.bad_request(f"The probabilities of the generations must sum to 1 (they sum to {total:g})")
    strategy = mapping.get("strategy", "RANDOM")
    if strategy not in STRATEGIES:
        raise errors.bad_request(f"Unknown generations strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
    checked = {**clone(mapping), "strategy": strategy}
    checked["entries"] = [{"generation": e["generation"], "proba": e["proba"]} for e in entries]
    return checked


def _known_version(version: Any, versions: Dict[str, Any], service_id: str) -> None:
    if not isinstance(version, str) or version not in versions:
        raise errors.bad_request(f"Version {version!r} does not exist in published service {service_id}"
                                 f" (versions: {', '.join(versions) or 'none'})")


def _deployment(ctx: Ctx) -> Dict[str, Any]:
    return _get(ctx, DEPLOYMENTS, ctx.params["deployment_id"], "Deployment")


@route("GET", "/api-deployer/deployments")
def list_deployments(ctx: Ctx) -> List[Dict[str, Any]]:
    return [_deployment_light(ctx, d) for d in _collection(ctx, DEPLOYMENTS).values()]


def _deployment_light(ctx: Ctx, deployment: Dict[str, Any]) -> Dict[str, Any]:
    settings = deployment["settings"]
    infra = _collection(ctx, INFRAS).get(settings["infraId"]) or {}
    service = _collection(ctx, SERVICES).get(settings["publishedServiceId"]) or {"settings": {}, "versions": {}}
    return {
        "deploymentBasicInfo": clone(settings),
        "infraBasicInfo": {"id": infra.get("id"), "type": infra.get("type"), "stage": infra.get("stage"),
                           "apiNodeUrls": [n.get("url") for n in infra.get("apiNodes") or []]},
        "serviceBasicInfo": {k: service["settings"].get(k) for k in ("id", "name")},
        "packages": [{"id": v} for v in service["versions"]],
        "neverEverDeployed": not deployment["updates"],
    }


@route("POST", "/api-deployer/deployments")
def create_deployment(ctx: Ctx) -> Dict[str, Any]:
    body = ctx.body_dict()
    deployment_id = _checked_id(body.get("deploymentId"), "deployment")
    if deployment_id in _collection(ctx, DEPLOYMENTS):
        raise errors.already_exists(f"Deployment {deployment_id} already exists")
    service_id, infra_id = body.get("publishedServiceId"), body.get("infraId")
    service = _get(ctx, SERVICES, str(service_id), "Published service")
    _get(ctx, INFRAS, str(infra_id), "Infrastructure")
    mapping = checked_mapping({"mode": "SINGLE_GENERATION", "generation": body.get("version")},
                              service["versions"], str(service_id))
    # The keys DSS's own deployment settings form edits (research notes); their defaults are guesses.
    settings: Dict[str, Any] = {"id": deployment_id, "publishedServiceId": service_id, "infraId": infra_id, "enabled": True,
                "generationsMapping": mapping, "tags": [], "auth": {"authMode": "INHERIT_DEV"},
                "endpointsServerSideConfigs": []}
    defaults.stamp_creation(settings, ctx.login)
    _collection(ctx, DEPLOYMENTS)[deployment_id] = {"settings": settings, "deployed": None, "updates": []}
    ctx.store.save_instance_collection(DEPLOYMENTS)
    return {"id": deployment_id}


@route("GET", "/api-deployer/deployments/<deployment_id>")
def get_deployment(ctx: Ctx) -> Dict[str, Any]:
    return _deployment_light(ctx, _deployment(ctx))


@route("GET", "/api-deployer/deployments/<deployment_id>/status")
def get_deployment_status(ctx: Ctx) -> Dict[str, Any]:
    deployment = _deployment(ctx)
    settings = deployment["settings"]
    infra = _collection(ctx, INFRAS).get(settings["infraId"]) or {}
    health, messages = _health(deployment)
    return {
        "deploymentId": settings["id"],
        "health": health,
        "healthMessages": {"messages": messages, "maxSeverity": "WARNING" if messages else None,
                           "anyMessage": bool(messages)},
        "apiNodes": [{"url": n.get("url")} for n in infra.get("apiNodes") or []],
        "currentGenerationsMapping": clone(deployment["deployed"]),
    }


def _health(deployment: Dict[str, Any]) -> tuple[str, List[Dict[str, Any]]]:
    """DISABLED, OUT_OF_SYNC (settings saved, no update since) or HEALTHY: nothing really serves."""
    settings = deployment["settings"]
    if not settings.get("enabled", True):
        return "DISABLED", []
    if deployment["deployed"] != settings.get("generationsMapping"):
        return "OUT_OF_SYNC", [{"severity": "WARNING", "message": "The deployment's settings are not deployed: update it"}]
    return "HEALTHY", []


@route("GET", "/api-deployer/deployments/<deployment_id>/settings")
def get_deployment_settings(ctx: Ctx) -> Dict[str, Any]:
    return clone(_deployment(ctx)["settings"])


@route("PUT", "/api-deployer/deployments/<deployment_id>/settings")
def put_deployment_settings(ctx: Ctx) -> Dict[str, Any]:
    deployment = _deployment(ctx)
    current = deployment["settings"]
    body = ctx.body_dict()
    for fixed in ("id", "publishedServiceId", "infraId"):
        if fixed in body and body[fixed] != current[fixed]:
            raise errors.bad_request(f"The {fixed} of deployment {current['id']} cannot be changed")
    service = _get(ctx, SERVICES, current["publishedServiceId"], "Published service")
    saved = {**clone(body), **{k: current[k] for k in ("id", "publishedServiceId", "infraId")}}
    saved["generationsMapping"] = checked_mapping(
        body.get("generationsMapping", current["generationsMapping"]), service["versions"], current["publishedServiceId"])
    saved["creationTag"] = clone(current.get("creationTag"))
    saved["versionTag"] = clone(current.get("versionTag"))
    defaults.bump(saved, ctx.login)
    deployment["settings"] = saved
    ctx.store.save_instance_collection(DEPLOYMENTS)
    return {}


@route("POST", "/api-deployer/deployments/<deployment_id>/actions/update")
def update_deployment(ctx: Ctx) -> Dict[str, Any]:
    deployment = _deployment(ctx)
    settings = deployment["settings"]
    started = defaults.now_ms()
    deployment["deployed"] = clone(settings.get("generationsMapping"))
    update = {"startTimestamp": started, "endTimestamp": defaults.now_ms(), "type": "UPDATE", "status": "SUCCESS",
              "requester": ctx.login, "generationsMapping": clone(deployment["deployed"]), "logs": []}
    deployment["updates"].append(update)
    ctx.store.save_instance_collection(DEPLOYMENTS)
    return ctx.app.runtime.start_future({"messages": [], "anyMessage": False, "maxSeverity": None},
                                        f"Updating deployment {settings['id']}")


@route("GET", "/api-deployer/deployments/<deployment_id>/update")
def list_updates(ctx: Ctx) -> List[Dict[str, Any]]:
    return [{k: u[k] for k in ("startTimestamp", "type", "status")} for u in _deployment(ctx)["updates"]]


@route("GET", "/api-deployer/deployments/<deployment_id>/last-update")
def last_update(ctx: Ctx) -> Dict[str, Any]:
    updates = _deployment(ctx)["updates"]
    if not updates:
        raise errors.not_found(f"Deployment {ctx.params['deployment_id']} was never updated")
    return clone(updates[-1])


@route("GET", "/api-deployer/deployments/<deployment_id>/update/<timestamp>")
def get_update(ctx: Ctx) -> Dict[str, Any]:
    for update in _deployment(ctx)["updates"]:
        if str(update["startTimestamp"]) == ctx.params["timestamp"]:
            return clone(update)
    raise errors.not_found(f"No update of deployment {ctx.params['deployment_id']} started at {ctx.params['timestamp']}")


@route("DELETE", "/api-deployer/deployments/<deployment_id>")
def delete_deployment(ctx: Ctx) -> Dict[str, Any]:
    deployment = _deployment(ctx)
    if deployment["settings"].get("enabled", True):
        raise errors.bad_request(f"Deployment {deployment['settings']['id']} must be disabled before it is deleted")
    del _collection(ctx, DEPLOYMENTS)[deployment["settings"]["id"]]
    ctx.store.save_instance_collection(DEPLOYMENTS)
    return {}

