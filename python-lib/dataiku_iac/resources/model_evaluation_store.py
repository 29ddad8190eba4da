"""Model evaluation stores: where evaluation recipes record how a saved model performs on new data,
and the drift detection configured on them (docs/config-reference.md "model_evaluation_stores").

DSS gives a store an 8-character id and accepts two of one name: the object is found again by the
id the state records (Identity.SERVER_ID); recipes name it by id, so its name is remembered in the
project context (`remember`), as saved models' are.

What the configuration manages: the metrics the store shows (`metrics`, DSS's
`metrics.displayedState.metrics`), its **checks** (DSS's `metricsChecks.checks`, numericRange
checks on the evaluations' metrics: `{metric: data_drift, max: 0.2, severity: error}`) and whether
they run on each build (`metricsChecks.runOnBuild`), description, tags and zone. The evaluations
are data (the runs of evaluation recipes): DSS deletes them with the store, whatever --drop-data
says, so a delete or replace of a store is planned only with --drop-data (`data_always_deleted`,
as a saved model's versions). The state does not count them (a new evaluation is not drift):
every store is taken to hold some.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources import flow_zone
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    copy_keys,
    described,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy, breaking_when_changed
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, Identity, ImportContext, ResourceSpec

TYPE = "model_evaluation_store"
METRIC_PREFIX = "model_perf:"  # Metrics & Checks ids of an evaluation's metrics (real checks' metricId)
# A severity -> the bounds of DSS's numericRange check it sets (hard bounds fail, soft ones warn).
BOUNDS = {"error": ("minimum", "maximum"), "warning": ("softMinimum", "softMaximum")}

POLICY = FieldPolicy(
    fields=(
        Field("checks", reset=[], impact=breaking_when_changed("the checks on its evaluations")),
        Field("metrics", reset=[]),
        Field("run_checks_on_build", reset=False),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
        flow_zone.MEMBER_FIELD,
    )
)


def metric_id(metric: str) -> str:
    return METRIC_PREFIX + metric.upper()


def metric_name(dss_id: Any) -> str:
    text = str(dss_id)
    return text[len(METRIC_PREFIX):].lower() if text.startswith(METRIC_PREFIX) else text


# -- checks: the configuration's <-> DSS's documents ----------------------------------------------
def check_document(check: dict[str, Any]) -> dict[str, Any]:
    """A logical check -> DSS's numericRange check (as the 2021/2023 stores' checks are written)."""
    low, high = BOUNDS[check.get("severity", "error")]
    doc: dict[str, Any] = {
        "metricId": metric_id(check["metric"]),
        "minimum": 0.0, "maximum": 0.0, "softMinimum": 0.0, "softMaximum": 0.0,
        "minimumEnabled": False, "maximumEnabled": False, "softMinimumEnabled": False, "softMaximumEnabled": False,
        "type": "numericRange",
        "meta": {"name": "Value in range", "label": check.get("label") or ""},
        "computeOnBuildMode": "PARTITION",
    }
    for key, value in ((low, check.get("min")), (high, check.get("max"))):
        if value is not None:
            doc[key], doc[f"{key}Enabled"] = float(value), True
    return doc


def checks_of(doc_checks: list[Any]) -> list[dict[str, Any]]:
    """DSS's checks -> logical checks: one per severity a check bounds (a check with hard and soft
    bounds is two); checks of another type are left out (not managed: the configuration cannot say them)."""
    out = []
    for check in doc_checks:
        if not isinstance(check, dict) or check.get("type") != "numericRange":
            continue
        for severity, (low, high) in BOUNDS.items():
            logical: dict[str, Any] = {"metric": metric_name(check.get("metricId")), "severity": severity}
            for bound, key in (("min", low), ("max", high)):
                if check.get(f"{key}Enabled"):
                    logical[bound] = float(check.get(key) or 0.0)
            if "min" in logical or "max" in logical:
                label = (check.get("meta") or {}).get("label")
                if label:
                    logical["label"] = label
                out.append(logical)
    return out


def _unmanaged_checks(doc_checks: list[Any]) -> list[Any]:
    return [c for c in doc_checks if not (isinstance(c, dict) and c.get("type") == "numericRange")]


class ModelEvaluationStoreHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """One list per project; its items are the stores' documents (read one when an item is a
        summary without metricsChecks)."""
        project = client.get_project(project_key)
        items = []
        for store in project.list_model_evaluation_stores():
            items.append(dict(store.get_settings().get_raw()) | {"id": store.id})
        return items

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def read_version(self, client: Any, project_key: str, dss_id: str) -> Optional[dict[str, Any]]:
        return version_tag_of(client.get_project(project_key).get_model_evaluation_store(dss_id).get_settings().get_raw())

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        name = doc.get("name") or doc["id"]
        ctx.remember(TYPE, name, doc["id"])  # evaluation recipes name the store by id
        return Observed(TYPE, project_key, name, doc["id"], self.to_logical(doc, ctx), version_tag=version_tag_of(doc))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        checks = doc.get("metricsChecks") or {}
        shown = ((doc.get("metrics") or {}).get("displayedState") or {}).get("metrics") or []
        return {
            "checks": checks_of(checks.get("checks") or []),
            "metrics": [metric_name(m) for m in shown if str(m).startswith(METRIC_PREFIX)],
            "run_checks_on_build": bool(checks.get("runOnBuild")),
            "description": doc.get("description") or "",
            "tags": list(doc.get("tags") or []),
        }

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        store = client.get_project(resource.project_key).create_model_evaluation_store(resource.name)
        ctx.remember(TYPE, resource.name, store.id)
        observed = self._save(client, resource, store.id, ctx)
        return flow_zone.place(client, resource, observed, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return flow_zone.place(client, resource, self._save(client, resource, current.dss_id, ctx), ctx, current=current)

    def _save(self, client: Any, resource: Resource, mes_id: str, ctx: ProjectContext) -> Observed:
        """Read-modify-write of the managed keys only (DSS's displayParams and the rest stay DSS's)."""
        settings = client.get_project(resource.project_key).get_model_evaluation_store(mes_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        attrs = resource.attributes
        raw["name"] = resource.name  # a rename in place: recipes name the store by id
        checks = raw.setdefault("metricsChecks", {})
        if "checks" in attrs:
            checks["checks"] = _unmanaged_checks(checks.get("checks") or []) + [check_document(c) for c in attrs["checks"]]
        if "run_checks_on_build" in attrs:
            checks["runOnBuild"] = bool(attrs["run_checks_on_build"])
        if "metrics" in attrs:
            state = raw.setdefault("metrics", {}).setdefault("displayedState", {})
            others = [m for m in state.get("metrics") or [] if not str(m).startswith(METRIC_PREFIX)]
            state["metrics"] = others + [metric_id(m) for m in attrs["metrics"]]
        if "description" in attrs:
            raw["description"] = attrs["description"]
        if "tags" in attrs:
            raw["tags"] = list(attrs["tags"])
        saved = save_if_changed(settings, raw, before)
        ctx.remember(TYPE, resource.name, mes_id)
        return self.observed_from(resource.project_key, {**saved, "id": mes_id}, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        # DSS deletes the store's evaluations with it: there is no keeping them.
        client.get_project(project_key).get_model_evaluation_store(dss_id).delete()


# -- config <-> logical ------------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `model_evaluation_stores` item -> logical attributes."""
    attrs: dict[str, Any] = {}
    copy_keys(item, attrs, "description")
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    if "metrics" in item:
        attrs["metrics"] = [str(m) for m in item["metrics"]]
    if "run_checks_on_build" in item:
        attrs["run_checks_on_build"] = bool(item["run_checks_on_build"])
    if "checks" in item:
        attrs["checks"] = [_check(check, index, ctx) for index, check in enumerate(item["checks"])]
    flow_zone.build_membership(item, attrs, ctx)
    return attrs


def _check(check: dict[str, Any], index: int, ctx: BuildContext) -> dict[str, Any]:
    """One check, its bounds as numbers; a range whose min exceeds its max is refused."""
    logical: dict[str, Any] = {"metric": str(check["metric"]), "severity": check.get("severity", "error")}
    for bound in ("min", "max"):
        if bound in check:
            logical[bound] = float(check[bound])
    if "min" in logical and "max" in logical and logical["min"] > logical["max"]:
        ctx.error(("checks", index, "min"), f"check on {logical['metric']}: min {logical['min']} is above max {logical['max']}",
                  "swap them, or drop one bound")
    if check.get("label"):
        logical["label"] = str(check["label"])
    return logical


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `model_evaluation_stores` item (DSS's defaults left out)."""
    if not flow_zone.WRITABLE_NAME.match(name):
        ctx.not_expressed(f"the store's name {name!r} is not a name the configuration can write")
        return None
    item: dict[str, Any] = {"name": name}
    if attrs.get("metrics"):
        item["metrics"] = list(attrs["metrics"])
    if attrs.get("run_checks_on_build"):
        item["run_checks_on_build"] = True
    if attrs.get("checks"):
        item["checks"] = [_check_item(c) for c in attrs["checks"]]
    return flow_zone.membership_to_config(described(item, attrs), attrs)


def _check_item(check: dict[str, Any]) -> dict[str, Any]:
    """A logical check as a person writes it: severity only when not the default, whole bounds as integers."""
    item: dict[str, Any] = {"metric": check["metric"]}
    for bound in ("min", "max"):
        if bound in check:
            value = check[bound]
            item[bound] = int(value) if float(value).is_integer() else value
    if check.get("severity", "error") != "error":
        item["severity"] = check["severity"]
    if check.get("label"):
        item["label"] = check["label"]
    return item


_METRIC = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}

SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "description": {"$ref": "#/$defs/text"},
                "tags": {"$ref": "#/$defs/tags"},
                "metrics": {"type": "array", "items": _METRIC, "uniqueItems": True},
                "run_checks_on_build": {"type": "boolean"},
                "checks": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "metric": _METRIC,
                            "min": {"type": "number"},
                            "max": {"type": "number"},
                            "severity": {"enum": ["error", "warning"]},
                            "label": {"type": "string"},
                        },
                        "required": ["metric"],
                        "anyOf": [{"required": ["min"]}, {"required": ["max"]}],
                        "additionalProperties": False,
                    },
                },
                "zone": {"$ref": "#/$defs/name"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name"],
        }
    }
)

def evaluations_lost(attrs: Mapping[str, Any]) -> Optional[str]:
    """What deleting the store loses whatever --drop-data says: its evaluations (not counted: see
    the module's doc)."""
    return "the model evaluations it holds"


SPEC = ResourceSpec(
    type=TYPE,
    label="model evaluation store",
    color="#6f42c1",
    handler=ModelEvaluationStoreHandler(),
    identity=Identity.SERVER_ID,
    section="model_evaluation_stores",
    schema=SCHEMA,
    references=("flow_zone",),
    holds_data=True,
    data_held="its model evaluations",
    data_always_deleted=evaluations_lost,
    build=build,
    to_config=to_config,
)
