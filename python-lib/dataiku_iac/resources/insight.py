"""Insights: what a dashboard tile shows — a chart on a dataset, a dataset's metric, a saved model's
report. docs/dashboards.md.

DSS gives an insight an id of its own (7 characters) and accepts two of one name: the object is found
again by the id the state records (Identity.SERVER_ID); dashboards name insights by name and the
project context turns names into ids (`remember`/`dss_id_of`/`name_of`).

The configuration speaks a small vocabulary: `type: chart | metric | model_report` (DSS's `chart`,
`metrics`, `saved-model_report`), the object shown by name (`dataset`, `saved_model`: references,
so they are created first and an unknown name is a validate error), a chart's `chart:` (its type,
dimensions, measures with their aggregation, filters) and a metric's `metric:` id. What the vocabulary
does not type is written in `params:`, raw DSS params merged over the typed ones (a chart's whole
definition is `params.def`), compared as a subset (DSS's other keys are not a difference). Other DSS
insight types (`dataset_table`, `static_file`, `web_app`, …) are written with their DSS type and
`params:` only.

Insights name datasets by name, never by connection: an environment that remaps the datasets'
connections promotes them unchanged.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import (
    DocumentByIdHandler,
    Observed,
    ProjectContext,
    deep_merge,
    described,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy, breaking_when_changed
from dataiku_iac.resources.spec import (
    READS,
    BuildContext,
    ConfigSchema,
    FlowLink,
    Identity,
    ImportContext,
    ResourceSpec,
)
from dataiku_iac.resources.visual.common import input_columns

TYPE = "insight"

# The configuration's insight types -> DSS's; the other DSS types are written as DSS spells them.
TYPED = {"chart": "chart", "metric": "metrics", "model_report": "saved-model_report"}
RAW_TYPES = ("dataset_table", "static_file", "web_app", "article", "scenario_run_button", "project_activity",
             "managed-folder_content", "eda", "filters")
_CONFIG_TYPE = {dss: config for config, dss in TYPED.items()}

# Chart types: the configuration's names -> DSS's `def.type` (the common ones; others as DSS spells them).
CHART_TYPES = {"bar": "grouped_columns", "stacked_bar": "stacked_columns", "horizontal_bar": "stacked_bars",
               "line": "lines", "area": "stacked_area", "pie": "pie", "scatter": "scatter", "table": "pivot_table",
               "kpi": "kpi", "boxplot": "boxplots"}
_CHART_NAME = {dss: config for config, dss in CHART_TYPES.items()}
AGGREGATIONS = ("avg", "sum", "count", "countd", "min", "max")
# The chart definition's keys the typed vocabulary writes (the others are DSS's or `params.def`'s).
_DIMENSION_KEYS = ("genericDimension0", "genericDimension1")

POLICY = FieldPolicy(
    fields=(
        Field("type", replace=True),  # DSS cannot change an insight's type
        Field("dataset", impact=breaking_when_changed("the dataset shown")),
        Field("saved_model"),
        Field("metric"),
        Field("chart"),
        Field("params", compare="subset"),
        Field("listed", reset=False),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
    )
)


class InsightHandler(DocumentByIdHandler):
    type = TYPE
    policy = POLICY
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        return [dict(i._data) for i in client.get_project(project_key).list_insights()]

    def read_document(self, client: Any, project_key: str, dss_id: str) -> dict[str, Any]:
        return dict(client.get_project(project_key).get_insight(dss_id).get_settings().get_raw())

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        ctx.remember(TYPE, doc.get("name") or doc["id"], doc["id"])  # dashboard tiles name insights by id
        return Observed(TYPE, project_key, doc.get("name") or doc["id"], doc["id"], self.to_logical(doc, ctx),
                        version_tag=version_tag_of(doc))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        dss_type = str(doc.get("type"))
        found = doc.get("params")
        params: dict[str, Any] = found if isinstance(found, dict) else {}
        attrs: dict[str, Any] = {"type": _CONFIG_TYPE.get(dss_type, dss_type), "params": copy.deepcopy(params),
                                 "listed": bool(doc.get("listed")), "description": doc.get("description") or "",
                                 "tags": list(doc.get("tags") or [])}
        if dss_type == "chart":
            attrs["dataset"] = params.get("datasetSmartName")
            attrs["chart"] = chart_of(params.get("def") or {})
        elif dss_type == "metrics":
            attrs["dataset"] = params.get("objectSmartId")
            attrs["metric"] = params.get("metricId")
        elif dss_type == "saved-model_report":
            model_id = params.get("savedModelSmartId")
            attrs["saved_model"] = ctx.name_of("saved_model", str(model_id)) or model_id
        return attrs

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """A model report names its saved model: named once every saved model is observed (they may
        be read side by side with the insights)."""
        for insight in objects.get(TYPE, []):
            model = insight.attributes.get("saved_model")
            if model is not None:
                insight.attributes["saved_model"] = ctx.name_of("saved_model", str(model)) or model

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        attrs = resource.attributes
        prototype = {"type": dss_type_of(attrs["type"]), "name": resource.name, "listed": bool(attrs.get("listed")),
                     "params": params_of(attrs, {}, ctx)}
        insight = client.get_project(resource.project_key).create_insight(prototype)
        ctx.remember(TYPE, resource.name, insight.insight_id)
        return self._save(client, resource, insight.insight_id, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        return self._save(client, resource, current.dss_id, ctx)

    def _save(self, client: Any, resource: Resource, insight_id: str, ctx: ProjectContext) -> Observed:
        """Read-modify-write of the settings: name, the typed params and `params:` over them, listing,
        description and tags; saved only when something changed."""
        settings = client.get_project(resource.project_key).get_insight(insight_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        attrs = resource.attributes
        raw["name"] = resource.name
        raw["params"] = params_of(attrs, raw.get("params") or {}, ctx)
        for key in ("listed", "description"):
            if key in attrs:
                raw[key] = attrs[key]
        if "tags" in attrs:
            raw["tags"] = list(attrs["tags"])
        saved = save_if_changed(settings, raw, before)
        ctx.remember(TYPE, resource.name, insight_id)
        return self.observed_from(resource.project_key, {**saved, "id": insight_id}, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_insight(dss_id).delete()


def dss_type_of(config_type: str) -> str:
    return TYPED.get(config_type, config_type)


def params_of(attrs: dict[str, Any], current: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    """DSS params: `current` with the typed settings written, then the raw `params:` merged over them."""
    params = copy.deepcopy(current)
    kind = attrs.get("type")
    if kind == "chart":
        params["datasetSmartName"] = attrs["dataset"]
        params["def"] = write_chart(attrs.get("chart") or {}, params.get("def") or {})
    elif kind == "metric":
        params.update(objectSmartId=attrs["dataset"], objectType="DATASET", metricId=attrs["metric"])
    elif kind == "model_report":
        params["savedModelSmartId"] = ctx.dss_id_of("saved_model", attrs["saved_model"]) or attrs["saved_model"]
    if "params" in attrs:
        params = deep_merge(params, attrs["params"])
    return params


# -- charts: DSS's definition <-> the typed vocabulary ------------------------------------------------
def chart_of(definition: dict[str, Any]) -> dict[str, Any]:
    """A chart definition -> {type, dimensions, measures, filters} (the columns and functions only)."""
    dims = [d.get("column") for key in _DIMENSION_KEYS for d in definition.get(key) or [] if isinstance(d, dict)]
    measures = []
    for m in definition.get("genericMeasures") or []:
        if isinstance(m, dict):
            measure = {"aggregation": str(m.get("function") or "").lower()}
            if m.get("column") is not None:
                measure = {"column": m["column"], **measure}
            measures.append(measure)
    dss_type = str(definition.get("type") or "")
    return {"type": _CHART_NAME.get(dss_type, dss_type), "dimensions": dims, "measures": measures,
            "filters": [f for f in (_filter_of(f) for f in definition.get("filters") or []) if f]}


def _filter_of(dss: Any) -> Optional[dict[str, Any]]:
    if not isinstance(dss, dict):
        return None
    if dss.get("filterType") == "NUMERICAL_FACET":
        return {"column": dss.get("column"), **{k: dss[f"{k}Value"] for k in ("min", "max") if dss.get(f"{k}Value") is not None}}
    excluded = dss.get("excludedValues") or {}
    return {"column": dss.get("column"), "exclude": sorted(str(v) for v, on in excluded.items() if on)}


def write_chart(chart: dict[str, Any], definition: dict[str, Any]) -> dict[str, Any]:
    """The typed chart written into a copy of `definition`; an entry already naming the same column
    (and function) keeps DSS's display settings."""
    out = copy.deepcopy(definition)
    if "type" in chart:
        out["type"] = CHART_TYPES.get(chart["type"], chart["type"])
    dims = list(chart.get("dimensions") or [])
    for index, key in enumerate(_DIMENSION_KEYS):
        columns = dims[index:index + 1] if index < len(_DIMENSION_KEYS) - 1 else dims[index:]
        known = {d.get("column"): d for d in out.get(key) or [] if isinstance(d, dict)}
        out[key] = [known.get(c) or {"column": c, "isA": "dimension"} for c in columns]
    known_m = {(m.get("column"), m.get("function")): m for m in out.get("genericMeasures") or [] if isinstance(m, dict)}
    out["genericMeasures"] = []
    for m in chart.get("measures") or []:
        function = str(m["aggregation"]).upper()
        out["genericMeasures"].append(known_m.get((m.get("column"), function))
                                      or {"column": m.get("column"), "function": function, "isA": "measure"})
    out["filters"] = [_dss_filter(f) for f in chart.get("filters") or []]
    return out


def _dss_filter(written: dict[str, Any]) -> dict[str, Any]:
    if "exclude" in written:
        return {"filterType": "ALPHANUM_FACET", "column": written["column"], "columnType": "ALPHANUM", "isA": "filter",
                "excludedValues": {str(v): True for v in written["exclude"]}, "active": True}
    dss: dict[str, Any] = {"filterType": "NUMERICAL_FACET", "column": written["column"], "columnType": "NUMERICAL",
                           "isA": "filter", "active": True}
    for bound in ("min", "max"):
        if bound in written:
            dss[f"{bound}Value"] = written[bound]
    return dss


# -- config <-> logical ------------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """An `insights` item -> logical attributes."""
    kind = item["type"]
    attrs: dict[str, Any] = {"type": kind}
    needs = {"chart": ("dataset", "chart"), "metric": ("dataset", "metric"), "model_report": ("saved_model",)}.get(kind, ())
    for key in needs:
        if key not in item:
            ctx.error((), f"an insight of type {kind!r} needs {key!r}")
    for key in ("dataset", "saved_model", "metric", "chart"):
        if key in item and key not in needs:
            ctx.error((key,), f"{key!r} is not a setting of a {kind!r} insight",
                      f"{kind!r} insights take: {', '.join(needs) or 'params'}")
    if kind not in TYPED and "params" not in item:
        ctx.error((), f"an insight of DSS type {kind!r} is written with its raw DSS `params:`")
    if "dataset" in item and "dataset" in needs:
        ctx.require("dataset", item["dataset"], ("dataset",), "the insight")
        attrs["dataset"] = item["dataset"]
    if "saved_model" in item and "saved_model" in needs:
        ctx.require("saved_model", item["saved_model"], ("saved_model",), "the insight")
        attrs["saved_model"] = item["saved_model"]
    if "metric" in item and "metric" in needs:
        attrs["metric"] = item["metric"]
    if "chart" in item and "chart" in needs:
        attrs["chart"] = _chart(item["chart"])
        if isinstance(item.get("dataset"), str):
            check_chart_columns(item["chart"], item["dataset"], ctx)
    if "params" in item:
        attrs["params"] = copy.deepcopy(item["params"])
    attrs["listed"] = bool(item.get("listed", False))
    for key in ("description", "tags"):
        if key in item:
            attrs[key] = copy.deepcopy(item[key])
    return attrs


def check_chart_columns(chart: dict[str, Any], dataset: str, ctx: BuildContext) -> None:
    """Every column a chart names (dimensions, measures, filters) is in its dataset's declared
    schema, as a recipe's are (visual.common.input_columns): else an error at it with a "did you
    mean". A dataset without a declared schema is not checked (its columns are DSS's)."""
    columns = input_columns(ctx, dataset)
    if columns is None:
        return
    named: list[tuple[tuple[Any, ...], Any]] = [(("chart", "dimensions", i), d) for i, d in enumerate(chart.get("dimensions") or [])]
    for key in ("measures", "filters"):
        named += [(("chart", key, i, "column"), entry.get("column"))
                  for i, entry in enumerate(chart.get(key) or []) if isinstance(entry, dict) and "column" in entry]
    for path, column in named:
        if isinstance(column, str) and column not in columns:
            shown = ", ".join(columns[:12]) + (", …" if len(columns) > 12 else "")
            ctx.error(path, f"column {column!r} is not in the schema of dataset {dataset!r}",
                      ctx.did_you_mean(column, columns) or f"its declared columns: {shown}")


def _chart(written: dict[str, Any]) -> dict[str, Any]:
    """The chart as the logical attributes hold it: every key present, DSS's type names as ours."""
    kind = str(written.get("type", "bar"))
    return {"type": _CHART_NAME.get(kind, kind), "dimensions": list(written.get("dimensions") or []),
            "measures": [dict(m) for m in written.get("measures") or []],
            "filters": [{**f, "exclude": sorted(str(v) for v in f["exclude"])} if "exclude" in f else dict(f)
                        for f in written.get("filters") or []]}


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> an `insights` item: the typed settings, no DSS default under `params`."""
    from dataiku_iac.resources.webapp import WRITABLE_NAME  # free text, as DSS names insights

    if not WRITABLE_NAME.match(name):
        ctx.not_expressed(f"the insight's name {name!r} is not a name the configuration can write")
        return None
    kind = str(attrs.get("type"))
    item: dict[str, Any] = {"name": name, "type": kind}
    if kind == "chart":
        item.update(dataset=attrs.get("dataset"), chart=_written_chart(attrs.get("chart") or {}))
    elif kind == "metric":
        item.update(dataset=attrs.get("dataset"), metric=attrs.get("metric"))
    elif kind == "model_report":
        if not ctx.exists("saved_model", str(attrs.get("saved_model"))):
            ctx.not_expressed("its saved model is not in the project")
            return None
        item["saved_model"] = attrs.get("saved_model")
    else:
        item["params"] = copy.deepcopy(attrs.get("params") or {})
    if attrs.get("listed"):
        item["listed"] = True
    return described(item, attrs)


def _written_chart(chart: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in chart.items() if v not in ([], None)}


def flow_links(attrs: Any) -> list[FlowLink]:
    """An insight reads the dataset it shows: impact analysis lists it downstream of the dataset, and
    a chart names its columns (a removed column it charts breaks it; another does not). A model
    report reads its saved model instead: it lists below the model's changes (a new active version
    is what the report shows)."""
    if attrs.get("saved_model") and not attrs.get("dataset"):
        return [FlowLink(READS, str(attrs["saved_model"]), ("saved_model",))]
    if not attrs.get("dataset"):
        return []
    chart = attrs.get("chart")
    columns: Optional[frozenset[str]] = None
    if isinstance(chart, dict) and "params" not in attrs:  # raw params may name columns too: unknown
        named = [*chart.get("dimensions", []), *(m.get("column") for m in chart.get("measures", [])),
                 *(f.get("column") for f in chart.get("filters", []))]
        columns = frozenset(str(c) for c in named if c)
    return [FlowLink(READS, str(attrs["dataset"]), ("dataset",), columns=columns)]


_MEASURE = {
    "type": "object",
    "properties": {"column": {"type": "string", "minLength": 1}, "aggregation": {"enum": list(AGGREGATIONS)}},
    "required": ["aggregation"],
    "additionalProperties": False,
}
_FILTER = {
    "type": "object",
    "properties": {
        "column": {"type": "string", "minLength": 1},
        "exclude": {"type": "array", "items": {"type": ["string", "number", "boolean"]}},
        "min": {"type": "number"},
        "max": {"type": "number"},
    },
    "required": ["column"],
    "additionalProperties": False,
}
SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/display_name"},  # DSS's are free text ("Sales by region")
                "type": {"enum": [*TYPED, *RAW_TYPES]},
                "dataset": {"$ref": "#/$defs/name"},
                "saved_model": {"$ref": "#/$defs/name"},
                "metric": {"type": "string", "minLength": 1},
                "chart": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "pattern": "^[a-z_]+$"},
                        "dimensions": {"type": "array", "items": {"type": "string", "minLength": 1}},
                        "measures": {"type": "array", "items": _MEASURE},
                        "filters": {"type": "array", "items": _FILTER},
                    },
                    "additionalProperties": False,
                },
                "params": {"$ref": "#/$defs/passthrough"},
                "listed": {"type": "boolean"},
                "description": {"$ref": "#/$defs/text"},
                "tags": {"$ref": "#/$defs/tags"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "type"],
        }
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="insight",
    color="#6f42c1",
    handler=InsightHandler(),
    identity=Identity.SERVER_ID,
    section="insights",
    schema=SCHEMA,
    references=("dataset", "saved_model"),
    rewritten_with=("saved_model",),  # a replaced saved model has a new id: the report is written again
    flow_links=flow_links,
    build=build,
    to_config=to_config,
)
