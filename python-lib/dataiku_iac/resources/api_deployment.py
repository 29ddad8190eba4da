"""API Deployer deployments (`client.get_apideployer()`, dataikuapi `dss/apideployer.py`): an API service
of the project, deployed to an infrastructure, serving one generation (package) or several with a
traffic split (A/B testing).

A deployment is an object of the DSS instance, not of a project, but it is declared in the project
file of the API service it deploys: **a project's deployments are the deployer's deployments whose
published service is one of the project's API services** (the tool publishes a service's packages
to the published service of the same id, resources/api_service.py). The handler lists only those;
deployments of other published services are never observed, and a plan deletes only deployments
its state owns. It is known by the id its creator chose (the configured `name`, Identity.NAME).

`generations: [{package: v1, traffic: 90}, {package: v2, traffic: 10}]` is DSS's
`generationsMapping`: one entry is `SINGLE_GENERATION`, several `MULTI_GENERATION` with strategy
RANDOM and each entry's `proba` = traffic / 100; the traffic of the entries sums to 100. Every
package must be one the service declares (validate). Promoting a generation is a plan change of
`generations` (90/10 -> 0/100, or a single `v2`): the settings are saved and the deployment
updated (`start_update`, waited for). The service and the infrastructure cannot change in place
(DSS refuses): a change replaces the deployment. `infra` usually differs by environment: write it
with a variable (`${API_INFRA}`) or an environment's `overrides:`.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from dataiku_iac.dssclient import last_status
from dataiku_iac.model import Resource
from dataiku_iac.resources.base import Observed, ProjectContext, ResourceHandler, save_if_changed
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import (
    BuildContext,
    ConfigSchema,
    Identity,
    ImportContext,
    ResourceSpec,
    TargetProblem,
)

TYPE = "api_deployment"
SERVICE_TYPE = "api_service"
FULL_TRAFFIC = 100

POLICY = FieldPolicy(fields=(Field("service", replace=True), Field("infra", replace=True), Field("generations")))


def traffic_of(proba: Any) -> Any:
    """DSS's probability (0..1) -> a traffic percentage, an integer when it is one (0.9 -> 90)."""
    if isinstance(proba, bool) or not isinstance(proba, (int, float)):
        return proba
    percent = round(float(proba) * 100, 6)
    return int(percent) if percent == int(percent) else percent


def generations_of(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """A generationsMapping -> the logical `generations` (a single generation has all the traffic)."""
    if mapping.get("mode") == "MULTI_GENERATION":
        return [{"package": e.get("generation"), "traffic": traffic_of(e.get("proba"))} for e in mapping.get("entries") or []]
    return [{"package": mapping.get("generation"), "traffic": FULL_TRAFFIC}]


def mapping_of(generations: list[dict[str, Any]], current: dict[str, Any]) -> dict[str, Any]:
    """The logical `generations` -> a generationsMapping (the current one's other keys kept)."""
    if len(generations) == 1:
        return {"mode": "SINGLE_GENERATION", "generation": generations[0]["package"]}
    kept = {k: v for k, v in current.items() if k not in ("mode", "generation", "entries")}
    return {"strategy": "RANDOM", **kept, "mode": "MULTI_GENERATION",
            "entries": [{"generation": g["package"], "proba": g["traffic"] / 100} for g in generations]}


class ApiDeploymentHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    list_has_version_numbers = False

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """The deployments of this project's API services (two requests: the services, the deployer's
        list, whose light statuses carry each deployment's settings)."""
        services = {item["id"] for item in client.get_project(project_key).list_api_services()}
        if not services:
            return []
        try:
            listed = client.get_apideployer().list_deployments(as_objects=False)
        except Exception:
            if last_status() == 404:
                return []  # a node without an API Deployer: nothing deployed from here
            raise
        infos = [dict(x.get("deploymentBasicInfo") or {}) for x in listed]
        return [info for info in infos if info.get("publishedServiceId") in services]

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        return None

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(TYPE, project_key, doc["id"], doc["id"], self.to_logical(doc, ctx))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {
            "service": doc.get("publishedServiceId"),
            "infra": doc.get("infraId"),
            "generations": generations_of(doc.get("generationsMapping") or {}),
        }

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        deployer = client.get_apideployer()
        first = attrs["generations"][0]["package"]
        deployment = deployer.create_deployment(resource.name, attrs["service"], attrs["infra"], first)
        return self._deploy(deployment, resource, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return self._deploy(client.get_apideployer().get_deployment(current.dss_id), resource, ctx)

    def _deploy(self, deployment: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        """Save the generations, then update the deployment (DSS serves its settings only then)."""
        settings = deployment.get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        raw["generationsMapping"] = mapping_of(resource.attributes["generations"], raw.get("generationsMapping") or {})
        saved = save_if_changed(settings, raw, before)
        deployment.start_update().wait_for_result()
        return self.observed_from(resource.project_key, saved, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # DSS deletes only a disabled deployment: dataikuapi disables it first.
        client.get_apideployer().get_deployment(dss_id).delete(disable_first=True)


def check_target(client: Any, resources: list[Resource]) -> list[TargetProblem]:
    """Every deployment's infrastructure must exist on the target's API Deployer (one list request,
    before anything is planned). Not checked when the deployer does not answer the list (a node
    without one, or a key without deployer rights): the create then fails with DSS's error."""
    from dataiku_iac.config.suggest import did_you_mean  # as policy.py: config's package imports the registry

    try:
        infras = {x["infraBasicInfo"]["id"] for x in client.get_apideployer().list_infras(as_objects=False)}
    except Exception:
        if last_status() in (401, 403, 404):
            return []
        raise
    return [
        TargetProblem(r, "infra", f"infrastructure {r.attributes['infra']!r} does not exist on the API Deployer of {{where}}",
                      did_you_mean(r.attributes["infra"], infras) or f"its infrastructures: {', '.join(sorted(infras)) or 'none'}")
        for r in resources if r.attributes.get("infra") not in infras
    ]


def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """An `api_deployments` item -> logical attributes; its packages must be its service's."""
    service = item["service"]
    ctx.require(SERVICE_TYPE, service, ("service",), "the deployment")
    declared = ctx.declared(SERVICE_TYPE, service)
    packages = list((declared or {}).get("packages") or {})
    generations = ctx.each(("generations",), item["generations"], lambda path, g: _generation(path, g, packages, declared, ctx))
    if len(generations) != len(item["generations"]):
        return None
    _check_traffic(item, generations, ctx)
    return {"service": service, "infra": item["infra"], "generations": generations}


def _generation(path: tuple[Any, ...], entry: dict[str, Any], packages: list[str], declared: Any, ctx: BuildContext) -> Optional[dict[str, Any]]:
    package = str(entry["package"])
    if declared is not None and package not in packages:
        hint = ctx.did_you_mean(package, packages) or (
            f"its service's packages: {', '.join(packages)}" if packages else "declare it in the service's `packages`")
        ctx.error(path + ("package",), f"package {package!r} is not one of the packages of its API service", hint)
        return None
    return {"package": package, "traffic": entry.get("traffic", FULL_TRAFFIC)}


def _check_traffic(item: dict[str, Any], generations: list[dict[str, Any]], ctx: BuildContext) -> None:
    seen: list[str] = []
    for index, generation in enumerate(generations):
        if generation["package"] in seen:
            ctx.error(("generations", index, "package"), f"package {generation['package']!r} is listed twice",
                      "one entry per package")
        seen.append(generation["package"])
    if len(generations) > 1 and any("traffic" not in g for g in item["generations"]):
        ctx.error(("generations",), "an A/B split gives each generation its `traffic` (a percentage)",
                  "traffic: 90 and traffic: 10, for instance")
        return
    total = sum(g["traffic"] for g in generations)
    if total != FULL_TRAFFIC:
        ctx.error(("generations",), f"the traffic of the generations sums to {total}, not 100",
                  "give the generations percentages that sum to 100")


def to_config(name: str, attributes: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> an `api_deployments` item (a single generation without its traffic)."""
    service = ctx.declared(SERVICE_TYPE, attributes.get("service") or "")
    if service is None:
        ctx.not_expressed(f"its API service {attributes.get('service')!r} is not in the imported configuration")
        return None
    generations = [dict(g) for g in attributes.get("generations") or []]
    unknown = [g.get("package") for g in generations if g.get("package") not in (service.get("packages") or [])]
    if unknown:
        ctx.not_expressed(f"it serves {', '.join(map(str, unknown))}, which its API service has no package of")
        return None
    if any(isinstance(g.get("traffic"), bool) or not isinstance(g.get("traffic"), int) for g in generations):
        ctx.not_expressed("its traffic split is not in whole percentages, which the configuration writes")
        return None
    if len(generations) == 1:
        generations = [{"package": generations[0]["package"]}]
    return {"name": name, "service": attributes.get("service"), "infra": attributes.get("infra"),
            "generations": generations}


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "service": {"$ref": "#/$defs/name"},
                "infra": {"$ref": "#/$defs/nonempty"},
                "generations": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/api_generation"},
                                "x-messages": {"minItems": "a deployment serves at least one generation"}},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "service", "infra", "generations"],
        },
        "api_generation": {
            "type": "object",
            "properties": {
                "package": {"$ref": "#/$defs/nonempty"},
                "traffic": {"type": "integer", "minimum": 0, "maximum": 100,
                            "x-messages": {"type": "traffic is a whole percentage, 0 to 100"}},
            },
            "additionalProperties": False,
            "required": ["package"],
        },
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="API deployment",
    color="#a03f6b",
    handler=ApiDeploymentHandler(),
    identity=Identity.NAME,
    section="api_deployments",
    schema=SCHEMA,
    references=(SERVICE_TYPE,),
    check_target=check_target,
    build=build,
    to_config=to_config,
)
