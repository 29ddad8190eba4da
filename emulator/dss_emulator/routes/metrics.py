"""Dataset metrics computed on the stored rows: `compute_metrics`, `get_last_metric_values`.

Probes read from the dataset's `metrics.probes` (enabled ones), or the probes of the request:
`basic` (basic:COUNT_COLUMNS, basic:COUNT_FILES, basic:SIZE), `records` (records:COUNT_RECORDS),
`col_stats` (`configuration.aggregates: [{column, aggregated}]` -> col_stats:<AGG>:<column>).
Values live in memory (docs/emulator.md, "Metrics").
"""

from __future__ import annotations

import time
from typing import Any, Dict, List, Tuple

from .. import dataset_rows, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..router import route
from ..rows import ident

COL_STATS = {
    "MIN": ("min({c})", None),
    "MAX": ("max({c})", None),
    "AVG": ("avg({c})", "DOUBLE"),
    "SUM": ("sum({c})", None),
    "MEDIAN": ("median({c})", "DOUBLE"),
    "STDDEV": ("stddev_samp({c})", "DOUBLE"),
    "COUNT": ("count({c})", "BIGINT"),
    "COUNT_NULL": ("count(*) - count({c})", "BIGINT"),
    "COUNT_DISTINCT": ("count(DISTINCT {c})", "BIGINT"),
}


def _data_type(value: Any, declared: Any) -> str:
    if declared:
        return str(declared)
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    return "STRING"


def compute(ctx: Ctx, pk: str, doc: Dict[str, Any], probes: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One point per metric of the enabled probes: {metric: {id, metricType, type, dataType}, value}."""
    store = ctx.store
    points: List[Tuple[str, str, Any, Any]] = []  # (probe type, metric id, value, data type)
    source = dataset_rows.read_sql(store, pk, doc)
    for probe in probes:
        if not isinstance(probe, dict) or not probe.get("enabled", True):
            continue
        kind = probe.get("type")
        if kind == "basic":
            files = (
                store.upload_files(pk, doc["name"]).list_files()
                if doc.get("type") in dataset_rows.FILE_SOURCED
                else []
            )
            points += [
                ("basic", "basic:COUNT_COLUMNS", len(dataset_rows.schema_columns(doc)), "BIGINT"),
                ("basic", "basic:COUNT_FILES", len(files), "BIGINT"),
                ("basic", "basic:SIZE", sum(size for _p, size, _m in files), "BIGINT"),
            ]
        elif kind == "records":
            points.append(
                ("records", "records:COUNT_RECORDS", dataset_rows.row_count(store, pk, doc), "BIGINT")
            )
        elif kind == "col_stats":
            for agg in (probe.get("configuration") or {}).get("aggregates") or []:
                how = COL_STATS.get(str(agg.get("aggregated", "")).upper())
                if how is None:
                    raise errors.bad_request(
                        f"The emulator does not compute the column statistic {agg.get('aggregated')}"
                    )
                value = store.rows.query(
                    f"SELECT {how[0].format(c=ident(agg['column']))} FROM ({source}) AS m"
                )[0][0]
                metric_id = "col_stats:{}:{}".format(str(agg["aggregated"]).upper(), agg["column"])
                points.append(("col_stats", metric_id, value, _data_type(value, how[1])))
        else:
            raise errors.bad_request(f"The emulator does not compute metrics of the probe type {kind}")
    now = int(time.time() * 1000)
    return [
        {
            "metric": {"id": mid, "metricType": mid.split(":")[1], "type": ptype, "dataType": dtype},
            "value": "" if value is None else str(value),
            "dataType": dtype,
            "partition": "NP",
            "computed": now,
        }
        for ptype, mid, value, dtype in points
    ]


def _dataset(ctx: Ctx) -> Tuple[Any, Dict[str, Any]]:
    proj = ctx.project(READ)
    doc = proj.datasets.get(ctx.params["name"])
    if doc is None:
        raise errors.not_found("dataset does not exist: {}.{}".format(proj.key, ctx.params["name"]))
    return proj, doc


@route("POST", "/projects/<pk>/datasets/<name>/actions/computeMetrics")
def compute_metrics(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx)
    ctx.project(WRITE)
    body = ctx.body({})
    chosen = body.get("probes") if isinstance(body, dict) and "probes" in body else None
    probes: List[Dict[str, Any]] = list(
        chosen if chosen is not None else (doc.get("metrics") or {}).get("probes") or []
    )
    computed = compute(ctx, proj.key, doc, probes)
    ctx.app.runtime.set_metrics(proj.key, doc["name"], computed)
    return {"partition": ctx.query("partition") or "NP", "computed": computed}


@route("POST", "/projects/<pk>/datasets/<name>/actions/computeMetricsFromIds")
def compute_metrics_from_ids(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx)
    ctx.project(WRITE)
    wanted = set(ctx.body_dict().get("metricIds") or [])
    probes = (doc.get("metrics") or {}).get("probes") or []
    computed = [
        p
        for p in compute(ctx, proj.key, doc, [{**p, "enabled": True} for p in probes])
        if p["metric"]["id"] in wanted
    ]
    ctx.app.runtime.set_metrics(proj.key, doc["name"], computed)
    return {"partition": ctx.query("partition") or "NP", "computed": computed}


@route("GET", "/projects/<pk>/datasets/<name>/metrics/last/<partition>")
def last_metric_values(ctx: Ctx) -> Dict[str, Any]:
    proj, doc = _dataset(ctx)
    points = ctx.app.runtime.metrics(proj.key, doc["name"])
    return {
        "metrics": [
            {
                "metric": p["metric"],
                "lastValues": [{k: p[k] for k in ("partition", "value", "dataType", "computed")}],
                "displayedAsMetric": True,
            }
            for p in points.values()
        ]
    }
