"""The window recipe: partitioning, ordering, frame, aggregations over the window, ranks.

Payload (dss-samples/recipe/window_recipe.payload.json): `windows` (one window definition:
`enablePartitioning` + `partitioningColumns`, `enableOrdering` + `orders`, `enableLimits` with
`limitPreceding`/`precedingRows` and `limitFollowing`/`followingRows` in `ROWS` mode), `values`
(one entry per column with a boolean per aggregation, as a grouping's, plus `lag`, `lead`,
`lagDiff`, `leadDiff` and their offsets), `rank`, `denseRank`, `rowNumber`, `cumeDist`, `ntile`.
`partitioningColumns` is not in the sample (its window is not partitioned): the key is DSS's
window definition field as its API documents it (docs/emulator.md).
"""

from __future__ import annotations

import copy
from typing import Any

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    COLUMN,
    COLUMNS,
    COMPUTED_COLUMNS,
    ENGINE_PARAMS,
    FILTER,
    RENAME,
    Attrs,
    Io,
    Use,
    VisualKind,
    build_computed,
    build_filter,
    first_input,
    read_computed,
    read_filter,
    set_if_changed,
    shared_to_config,
    write_computed,
    write_filter,
)

AGGREGATIONS = {
    "count": "count", "count_distinct": "countDistinct", "min": "min", "max": "max", "avg": "avg", "sum": "sum",
    "stddev": "stddev", "concat": "concat", "first": "first", "last": "last", "lag": "lag", "lead": "lead",
    "lag_diff": "lagDiff", "lead_diff": "leadDiff",
}
# per-column options: config name -> (DSS key, DSS's value when the option is not given)
OPTIONS: dict[str, tuple[str, Any]] = {
    "lag_offsets": ("lagValues", "1"), "lead_offsets": ("leadValues", "1"), "date_diff_unit": ("dateDiffUnit", "DAY"),
    "concat_separator": ("concatSeparator", None), "concat_distinct": ("concatDistinct", False),
    "first_last_not_null": ("firstLastNotNull", False),
}
RANKS = {"rank": "rank", "dense_rank": "denseRank", "row_number": "rowNumber", "cume_dist": "cumeDist", "ntile": "ntile"}
UNBOUNDED = "unbounded"

DEFAULTS: Attrs = {"partition_by": [], "order_by": [], "frame": None, "aggregations": {}, "ranks": [],
                   "pre_filter": None, "post_filter": None, "computed_columns": [], "rename": {}}

ORDER_BY = {
    "type": "array",
    "items": {
        "anyOf": [COLUMN, {"type": "object", "required": ["column"], "additionalProperties": False,
                           "properties": {"column": COLUMN, "desc": {"type": "boolean"}}}],
        "x-messages": {"anyOf": "an ordering is a column name, or {column, desc: true}"},
    },
}
_BOUND = {"anyOf": [{"type": "integer", "minimum": 0}, {"const": UNBOUNDED}],
          "x-messages": {"anyOf": "a bound is a number of rows, or unbounded"}}
_FUNCTIONS = {"type": "array", "items": {"enum": list(AGGREGATIONS)}}
SCHEMA = {
    "partition_by": COLUMNS,
    "order_by": ORDER_BY,
    "frame": {"type": "object", "additionalProperties": False,
              "properties": {"preceding": _BOUND, "following": _BOUND}, "x-context": "a window frame"},
    "aggregations": {
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                _FUNCTIONS,
                {"type": "object", "required": ["functions"], "additionalProperties": False,
                 "properties": {"functions": _FUNCTIONS, "lag_offsets": {"type": ["string", "integer"]},
                                "lead_offsets": {"type": ["string", "integer"]}, "date_diff_unit": {"type": "string"},
                                "concat_separator": {"type": "string"}, "concat_distinct": {"type": "boolean"},
                                "first_last_not_null": {"type": "boolean"}}},
            ],
            "x-messages": {"anyOf": "expected a list of aggregations (" + ", ".join(AGGREGATIONS)
                           + "), or a mapping with 'functions' and options (lag_offsets, date_diff_unit…)"},
        },
    },
    "ranks": {"type": "array", "items": {"enum": list(RANKS)}},
    "pre_filter": FILTER,
    "post_filter": FILTER,
    "computed_columns": COMPUTED_COLUMNS,
    "rename": RENAME,
}


def order_by(value: Any) -> list[Attrs]:
    """Config orderings (names or {column, desc}) -> [{column, desc}]."""
    return [{"column": o, "desc": False} if isinstance(o, str) else {"column": o.get("column"), "desc": bool(o.get("desc"))}
            for o in value or [] if isinstance(o, (str, dict))]


def order_by_config(orders: list[Attrs]) -> list[Any]:
    return [o["column"] if not o["desc"] else dict(o) for o in orders]


def _aggregation(functions: Any, options: Attrs) -> Attrs:
    entry: Attrs = {"functions": [name for name in AGGREGATIONS if name in set(functions or [])]}
    for name, (_, default) in OPTIONS.items():
        value = options.get(name)
        if value is not None and value != default:
            entry[name] = str(value) if name.endswith("_offsets") else value
    return entry


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    attrs["partition_by"] = list(item.get("partition_by") or [])
    attrs["order_by"] = order_by(item.get("order_by"))
    if isinstance(item.get("frame"), dict):
        attrs["frame"] = {"preceding": item["frame"].get("preceding", UNBOUNDED),
                          "following": item["frame"].get("following", UNBOUNDED)}
    for column, spec in (item.get("aggregations") or {}).items():
        functions, options = (spec, {}) if isinstance(spec, list) else (spec.get("functions"), spec)
        attrs["aggregations"][column] = _aggregation(functions, options)
    attrs["ranks"] = [name for name in RANKS if name in set(item.get("ranks") or [])]
    attrs["pre_filter"] = build_filter(item.get("pre_filter"), ctx, ("pre_filter",))
    attrs["post_filter"] = build_filter(item.get("post_filter"), ctx, ("post_filter",))
    attrs["computed_columns"] = build_computed(item.get("computed_columns"), ctx, ("computed_columns",))
    attrs["rename"] = dict(item.get("rename") or {})
    return attrs


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    uses: list[Use] = [(("partition_by", i), source, c) for i, c in enumerate(attrs.get("partition_by") or [])]
    uses += [(("order_by", i), source, o["column"]) for i, o in enumerate(attrs.get("order_by") or [])]
    uses += [(("aggregations", c), source, c) for c in attrs.get("aggregations") or {}]
    return uses, tuple(c["name"] for c in attrs.get("computed_columns") or [])


def read(payload: Attrs, io: Io) -> Attrs:
    windows = [w for w in payload.get("windows") or [] if isinstance(w, dict)]
    window = windows[0] if windows else {}
    attrs: Attrs = {
        "partition_by": list(window.get("partitioningColumns") or []) if window.get("enablePartitioning") else [],
        "order_by": [{"column": o.get("column"), "desc": bool(o.get("desc"))}
                     for o in window.get("orders") or [] if isinstance(o, dict)] if window.get("enableOrdering") else [],
        "frame": _read_frame(window),
        "aggregations": {},
        "ranks": [name for name, flag in RANKS.items() if payload.get(flag) is True],
        "pre_filter": read_filter(payload.get("preFilter")),
        "post_filter": read_filter(payload.get("postFilter")),
        "computed_columns": read_computed(payload.get("computedColumns")),
        "rename": dict(payload.get("outputColumnNameOverrides") or {}),
    }
    for entry in payload.get("values") or []:
        if isinstance(entry, dict) and isinstance(entry.get("column"), str):
            functions = [name for name, flag in AGGREGATIONS.items() if entry.get(flag) is True]
            if functions:
                options = {name: entry.get(key) for name, (key, _) in OPTIONS.items()}
                attrs["aggregations"][entry["column"]] = _aggregation(functions, options)
    unsupported = []
    if len(windows) > 1:
        unsupported.append("more than one window definition")
    if window.get("enableLimits") and window.get("windowLimitMode", "ROWS") != "ROWS":
        unsupported.append(f"a window frame in {window.get('windowLimitMode')} mode")
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def _read_frame(window: Attrs) -> Any:
    if not window.get("enableLimits"):
        return None
    return {"preceding": window.get("precedingRows", 0) if window.get("limitPreceding") else UNBOUNDED,
            "following": window.get("followingRows", 0) if window.get("limitFollowing") else UNBOUNDED}


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    windows = [copy.deepcopy(w) for w in payload.get("windows") or [] if isinstance(w, dict)] or [{}]
    window = windows[0]
    if "partition_by" in attrs and now["partition_by"] != attrs["partition_by"]:
        window["enablePartitioning"] = bool(attrs["partition_by"])
        window["partitioningColumns"] = list(attrs["partition_by"])
    if "order_by" in attrs and now["order_by"] != attrs["order_by"]:
        window["enableOrdering"] = bool(attrs["order_by"])
        window["orders"] = [dict(o) for o in attrs["order_by"]]
    if "frame" in attrs and now["frame"] != attrs["frame"]:
        _write_frame(window, attrs["frame"])
    if windows != payload.get("windows"):
        payload["windows"] = windows
    if "aggregations" in attrs and now["aggregations"] != attrs["aggregations"]:
        payload["values"] = _values(payload.get("values") or [], attrs["aggregations"])
    if "ranks" in attrs:
        for name, flag in RANKS.items():
            set_if_changed(payload, flag, name in attrs["ranks"])
    for key, dss_key in (("pre_filter", "preFilter"), ("post_filter", "postFilter")):
        if key in attrs:
            payload[dss_key] = write_filter(payload.get(dss_key), attrs[key])
    if "computed_columns" in attrs:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])
    if "rename" in attrs and now["rename"] != attrs["rename"]:
        payload["outputColumnNameOverrides"] = dict(attrs["rename"])


def _write_frame(window: Attrs, frame: Any) -> None:
    window["enableLimits"] = frame is not None
    if frame is None:
        return
    window["windowLimitMode"] = "ROWS"
    for side, limit, rows in (("preceding", "limitPreceding", "precedingRows"), ("following", "limitFollowing", "followingRows")):
        bounded = frame[side] != UNBOUNDED
        window[limit] = bounded
        window[rows] = frame[side] if bounded else 0


def _values(current: list[Any], aggregations: Attrs) -> list[Any]:
    values, seen = [], set()
    for entry in current:
        if isinstance(entry, dict):
            seen.add(entry.get("column"))
            values.append(_entry(copy.deepcopy(entry), aggregations.get(str(entry.get("column")))))
    for column, wanted in aggregations.items():
        if column not in seen:
            values.append(_entry({"column": column}, wanted))
    return values


def _entry(entry: Attrs, wanted: Any) -> Attrs:
    wanted = wanted or {"functions": []}
    for name, flag in AGGREGATIONS.items():
        entry[flag] = name in wanted["functions"]
    for name, (key, default) in OPTIONS.items():
        value = wanted.get(name, default)
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    for key in ("partition_by", "ranks"):
        if attrs.get(key):
            item[key] = list(attrs[key])
    if attrs.get("order_by"):
        item["order_by"] = order_by_config(attrs["order_by"])
    if attrs.get("frame") is not None:
        item["frame"] = {k: v for k, v in attrs["frame"].items() if v != UNBOUNDED}
    if attrs.get("aggregations"):
        item["aggregations"] = {c: (e["functions"] if set(e) == {"functions"} else dict(e)) for c, e in attrs["aggregations"].items()}
    for key in ("pre_filter", "post_filter"):
        if attrs.get(key):
            item[key] = dict(attrs[key])
    return shared_to_config(item, attrs, ("computed_columns", "rename"))


KIND = VisualKind(
    type="window",
    config_type="window",
    defaults=DEFAULTS,
    owned={"windows": "partition_by, order_by and frame", "values": "aggregations", "rank": "ranks",
           "denseRank": "ranks", "rowNumber": "ranks", "cumeDist": "ranks", "ntile": "ranks",
           "preFilter": "pre_filter", "postFilter": "post_filter", "computedColumns": "computed_columns",
           "outputColumnNameOverrides": "rename"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    columns=columns,
    payload_defaults={"engineParams": ENGINE_PARAMS, "ntileValues": "10", "retrievedColumnsSelectionMode": "ALL",
                      "keys": [], "legacyUnboundedWindowStreamBehavior": False},
    to_config=to_config,
)
