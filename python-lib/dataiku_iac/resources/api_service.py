"""API services of the API Designer (`project.create_api_service`, dataikuapi `dss/apiservice.py`), with
their packages, published to the API Deployer.

An API service is known by the id its creator chose (the configured `name`, Identity.NAME). The
configuration declares its endpoints and the packages that must exist:

- **endpoints**: a model endpoint (`prediction`, `clustering`, `forecast`) scores the active
  version of a saved model of the project (`saved_model: NAME`; DSS's `modelRef` is the saved
  model's id); a `python_function` endpoint runs code (`code_file`, `function`).
- **packages** (`[v1, v2]`): the versions the API Deployer calls generations. A package is a
  snapshot DSS makes of the service and of each endpoint's active saved-model version when it is
  created, so the tool creates a package that does not exist (from the service as configured,
  after its endpoints are saved) and publishes it to the API Deployer (published service id = the
  service's id); it never updates nor deletes one. Packages DSS holds and the configuration does
  not name are left alone: removing a package from the configuration stops managing it (a
  deployment may still serve it). The logical attribute is a mapping package -> its state, compared
  as a subset (`packages: {v1: published}`): a package missing in the project, or not on the
  deployer ("unpublished"), is a change.

**No delete.** dataikuapi (15.2) has no call that deletes an API service: it goes with its project.
The spec says so (`deleted_with_project`): a plan refuses to remove a service unless its project
is deleted too, and the apply deletes no API service (the project's delete removes it); it deletes
the published service of the same id when nothing else uses it (`delete_with_project`).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Mapping, Optional

from dataiku_iac.dssclient import last_status
from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler, save_if_changed
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

TYPE = "api_service"
SAVED_MODEL = "saved_model"  # the type an endpoint's `saved_model` names (its ids learned by its handler)
CODE_DIR = "api_services"  # where import writes a python function endpoint's code
DEFAULT_FUNCTION = "api_py_function"  # DSS's userFunctionName of a new PY_FUNCTION endpoint
PACKAGE_ID = r"^[A-Za-z0-9_.-]+$"
WRITABLE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")  # the schema's $defs/name

# The endpoint types the configuration speaks, and DSS's; the model ones score a saved model.
MODEL_TYPES = {"prediction": "STD_PREDICTION", "clustering": "STD_CLUSTERING", "forecast": "STD_FORECAST"}
ENDPOINT_TYPES = {**MODEL_TYPES, "python_function": "PY_FUNCTION"}
LOGICAL_TYPES = {dss: logical for logical, dss in ENDPOINT_TYPES.items()}

PUBLISHED, UNPUBLISHED = "published", "unpublished"  # a package's state: on the API Deployer or not

POLICY = FieldPolicy(fields=(Field("endpoints"), Field("packages", compare="subset")))


class ApiServiceHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    per_object_read = True  # the list has endpoints' ids and types only; packages are a list of their own
    list_has_version_numbers = False

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        return [dict(item) for item in client.get_project(project_key).list_api_services()]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        """The settings, with the design packages and which of them the deployer has (`_packages`)."""
        service = client.get_project(project_key).get_api_service(item["id"])
        doc = dict(service.get_settings().get_raw())
        doc["_id"] = item["id"]
        doc["_packages"] = _package_states(client, service)
        return doc

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc["_id"], doc["_id"], self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        endpoints = doc.get("endpoints") or []
        return {
            # Not a list: a document the tool did not write; kept as it is, so that it differs
            "endpoints": [_endpoint_to_logical(e, ctx) for e in endpoints] if isinstance(endpoints, list) else endpoints,
            "packages": dict(doc.get("_packages") or {}),
        }

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        client.get_project(resource.project_key).create_api_service(resource.name)
        return self._converge(client, resource, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return self._converge(client, resource, ctx)

    def _converge(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        """Endpoints saved first (a package snapshots the service as saved), then the packages
        missing, then the publication of those the deployer lacks."""
        service = client.get_project(resource.project_key).get_api_service(resource.name)
        settings = service.get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        if "endpoints" in resource.attributes:
            raw["endpoints"] = _endpoints_to_dss(resource.attributes["endpoints"], raw.get("endpoints") or [], ctx, resource.address)
        save_if_changed(settings, raw, before)
        states = _package_states(client, service)
        for package in resource.attributes.get("packages") or {}:
            if package not in states:
                service.create_package(package)
            if states.get(package) != PUBLISHED:
                service.publish_package(package)
        doc = dict(service.get_settings().get_raw(), _id=resource.name, _packages=_package_states(client, service))
        return self.observed_from(resource.project_key, doc, ctx)


    def delete_with_project(self, client: Any, project_key: str, dss_id: str) -> None:
        """The published service of the same id goes with the service when it is the tool's and
        nothing uses it: no deployment left (another project's or instance's would still serve it)
        and every version published from this service (none from elsewhere). Otherwise it stays,
        with its versions (docs/api-deployment.md). Called once the project is deleted."""
        published = client.get_apideployer().get_service(dss_id)
        try:
            status = published.get_status()
        except Exception:
            if last_status() == 404:
                return  # never published, or already gone
            raise
        if status.get_deployments() or not _only_versions_of(status.get_versions(), project_key, dss_id):
            return
        published.delete()


def _package_states(client: Any, service: Any) -> dict[str, str]:
    """Each design package of the service -> whether the API Deployer has it (as a version of the
    published service of the same id): PUBLISHED or UNPUBLISHED."""
    packages = [p["id"] for p in service.list_packages()]
    if not packages:
        return {}
    try:
        published = {v["id"] for v in client.get_apideployer().get_service(service.service_id).get_status().get_versions()}
    except Exception:
        if last_status() != 404:
            raise
        published = set()  # never published (or no deployer on this node)
    return {package: PUBLISHED if package in published else UNPUBLISHED for package in packages}


def _only_versions_of(versions: list[dict[str, Any]], project_key: str, service_id: str) -> bool:
    """Whether every version of a published service came from this project's service, as DSS
    says (`designNodeInfo`). A version without it (uploaded, or from another node) is not ours.
    The state cannot tell instead: it records only the packages the configuration still lists,
    and the project (with its package list) is gone when this is asked."""
    for version in versions:
        origin = version.get("designNodeInfo") or {}
        if origin.get("projectKey") != project_key or origin.get("serviceId") != service_id:
            return False
    return True


def _endpoint_to_logical(endpoint: Any, ctx: ProjectContext) -> Any:
    if not isinstance(endpoint, dict):
        return endpoint
    dss_type = endpoint.get("type")
    logical: dict[str, Any] = {"name": endpoint.get("id"), "type": LOGICAL_TYPES.get(str(dss_type), dss_type)}
    if dss_type in MODEL_TYPES.values():
        ref = endpoint.get("modelRef")
        logical["saved_model"] = ctx.name_of(SAVED_MODEL, ref) or ref if isinstance(ref, str) else ref
    elif dss_type == "PY_FUNCTION":
        logical["code"] = endpoint.get("code") or ""
        logical["function"] = endpoint.get("userFunctionName") or DEFAULT_FUNCTION
    return logical


def _endpoints_to_dss(wanted: list[dict[str, Any]], current: list[dict[str, Any]], ctx: ProjectContext,
                      address: str) -> list[dict[str, Any]]:
    """The configured endpoints over DSS's: an endpoint kept (same id and type) keeps the keys the
    configuration does not manage (test queries, explanations…)."""
    by_id = {(e.get("id"), e.get("type")): e for e in current}
    result = []
    for endpoint in wanted:
        dss_type = ENDPOINT_TYPES[endpoint["type"]]
        doc = copy.deepcopy(by_id.get((endpoint["name"], dss_type), {}))
        doc.update(id=endpoint["name"], type=dss_type)
        if dss_type in MODEL_TYPES.values():
            model_id = ctx.dss_id_of(SAVED_MODEL, endpoint["saved_model"])
            if model_id is None:  # its name is no modelRef: DSS would take it for an id
                raise ValueError(f"{address}: saved model {endpoint['saved_model']!r} of endpoint "
                                 f"{endpoint['name']!r} is not known to exist")
            doc["modelRef"] = model_id
        else:
            doc.update(code=endpoint.get("code", ""), userFunctionName=endpoint.get("function", DEFAULT_FUNCTION))
        result.append(doc)
    return result


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """An `api_services` item -> logical attributes."""
    endpoints = ctx.each(("endpoints",), item.get("endpoints") or [], lambda path, e: _build_endpoint(path, e, item, ctx))
    names = [e["name"] for e in endpoints]
    for index, name in enumerate(names):
        if name in names[:index]:
            ctx.error(("endpoints", index, "name"), f"two endpoints of API service {item['name']} are called {name!r}",
                      "give each endpoint its own name")
    attrs: dict[str, Any] = {"endpoints": endpoints}
    if "packages" in item:
        attrs["packages"] = {str(package): PUBLISHED for package in item["packages"]}
    return attrs


def _build_endpoint(path: tuple[Any, ...], endpoint: dict[str, Any], item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    kind = endpoint["type"]
    logical: dict[str, Any] = {"name": endpoint["name"], "type": kind}
    model = endpoint.get("saved_model")
    if kind in MODEL_TYPES:
        if not model:
            ctx.error(path, f"a {kind} endpoint scores a saved model: it needs `saved_model`", "saved_model: NAME")
            return None
        ctx.require(SAVED_MODEL, model, path + ("saved_model",), f"endpoint {endpoint['name']!r}")
        logical["saved_model"] = model
        for key in ("code_file", "function"):
            if key in endpoint:
                ctx.error(path + (key,), f"a {kind} endpoint runs no code: `{key}` belongs to python_function endpoints")
        return logical
    if model is not None:
        ctx.error(path + ("saved_model",), "a python_function endpoint scores no saved model", "remove saved_model")
    try:
        logical["code"] = ctx.file_text(endpoint["code_file"]) if "code_file" in endpoint else ""
    except KeyError:
        logical["code"] = ""  # unreadable: reported by the loader
    logical["function"] = endpoint.get("function", DEFAULT_FUNCTION)
    return logical


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> an `api_services` item; None for what the configuration cannot write
    (a name `$defs/name` refuses, an endpoint type it does not speak)."""
    if not WRITABLE_NAME.match(name):
        return None
    endpoints = []
    for endpoint in attributes.get("endpoints") or []:
        if endpoint.get("type") not in ENDPOINT_TYPES:
            ctx.not_expressed(f"endpoint {endpoint.get('name')} is of type {endpoint.get('type')}, which the "
                              f"configuration does not declare ({', '.join(ENDPOINT_TYPES)})")
            return None
        written: dict[str, Any] = {"name": endpoint["name"], "type": endpoint["type"]}
        if endpoint["type"] in MODEL_TYPES:
            if ctx.declared(SAVED_MODEL, str(endpoint.get("saved_model"))) is None:
                ctx.not_expressed(f"endpoint {endpoint['name']} scores saved model {endpoint.get('saved_model')!r}, "
                                  "which the imported configuration does not declare")
                return None
            written["saved_model"] = endpoint.get("saved_model")
        else:
            rel = f"{CODE_DIR}/{name}_{endpoint['name']}.py"
            ctx.write(rel, endpoint.get("code") or "")
            written["code_file"] = rel
            if endpoint.get("function", DEFAULT_FUNCTION) != DEFAULT_FUNCTION:
                written["function"] = endpoint["function"]
        endpoints.append(written)
    item: dict[str, Any] = {"name": name, "endpoints": endpoints}
    packages = sorted(attributes.get("packages") or {})
    if packages:
        item["packages"] = packages
    return item


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "endpoints": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/api_endpoint"},
                              "x-messages": {"minItems": "an API service needs at least one endpoint"}},
                "packages": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": PACKAGE_ID,
                              "x-messages": {"pattern": "a package id may contain only letters, digits, '_', '.' and '-'"}},
                },
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "endpoints"],
        },
        "api_endpoint": {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "type": {"enum": list(ENDPOINT_TYPES)},
                "saved_model": {"$ref": "#/$defs/nonempty"},
                "code_file": {"$ref": "#/$defs/relpath"},
                "function": {"$ref": "#/$defs/name"},
            },
            "additionalProperties": False,
            "required": ["name", "type"],
        },
    }
)

def flow_links(attrs: Mapping[str, Any]) -> list[FlowLink]:
    """The saved models its endpoints score: what impact analysis walks down to from a saved model's
    change (a new active version is what the service's next package freezes)."""
    models = {e.get("saved_model") for e in attrs.get("endpoints") or [] if isinstance(e, dict)}
    return [FlowLink(READS, name, (SAVED_MODEL,)) for name in sorted(m for m in models if isinstance(m, str))]


SPEC = ResourceSpec(
    type=TYPE,
    label="API service",
    color="#6b3fa0",
    handler=ApiServiceHandler(),
    identity=Identity.NAME,
    section="api_services",
    schema=SCHEMA,
    file_keys=("endpoints.*.code_file",),
    references=(SAVED_MODEL,),
    rewritten_with=(SAVED_MODEL,),  # an endpoint's modelRef is the saved model's id: written again after a replace
    flow_links=flow_links,
    deleted_with_project=True,
    build=build,
    to_config=to_config,
)
