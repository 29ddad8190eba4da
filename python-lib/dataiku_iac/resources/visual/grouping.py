"""The grouping ("Group") recipe: group keys, aggregations per column, the count per group.

Payload (dss-samples/recipe/grouping_recipe.payload.json): `keys` and `values` are lists of column
entries, each with one boolean per aggregation (DSS keeps an entry, all false, for every column
the UI showed); `globalCount` the count per group; `outputColumnNameOverrides` the renamed outputs.
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
    computed_to_config,
    first_input,
    read_computed,
    read_filter,
    set_if_changed,
    write_computed,
    write_filter,
)

# config name -> DSS flag, in the order the config lists them
AGGREGATIONS = {
    "count": "count", "count_distinct": "countDistinct", "min": "min", "max": "max", "avg": "avg",
    "sum": "sum", "median": "median", "stddev": "stddev", "concat": "concat", "first": "first",
    "last": "last", "mode": "mode",
}
# per-column options: config name -> DSS key, and whether it is a flag (false: absent)
OPTIONS = {"order_by": "orderColumn", "concat_separator": "concatSeparator",
           "concat_distinct": "concatDistinct", "first_last_not_null": "firstLastNotNull"}
FLAG_OPTIONS = ("concat_distinct", "first_last_not_null")

DEFAULTS: Attrs = {"keys": [], "aggregations": {}, "count": False, "rename": {}, "pre_filter": None,
                   "post_filter": None, "computed_columns": []}

AGGREGATION_LIST = {"type": "array", "items": {"enum": list(AGGREGATIONS)}}
SCHEMA = {
    "keys": COLUMNS,
    "aggregations": {
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                AGGREGATION_LIST,
                {
                    "type": "object",
                    "required": ["functions"],
                    "properties": {
                        "functions": AGGREGATION_LIST,
                        "order_by": COLUMN,
                        "concat_separator": {"type": "string"},
                        "concat_distinct": {"type": "boolean"},
                        "first_last_not_null": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            ],
            "x-messages": {"anyOf": "expected a list of aggregations (" + ", ".join(AGGREGATIONS)
                           + "), or a mapping with 'functions' and options (order_by, concat_separator…)"},
        },
    },
    "count": {"type": "boolean"},
    "rename": RENAME,
    "pre_filter": FILTER,
    "post_filter": FILTER,
    "computed_columns": COMPUTED_COLUMNS,
}


def _canonical(functions: Any, options: Attrs) -> Attrs:
    names = [name for name in AGGREGATIONS if name in set(functions or [])]
    entry: Attrs = {"functions": names}
    for name in OPTIONS:
        value = options.get(name)
        if name in FLAG_OPTIONS:
            if value:
                entry[name] = True
        elif value:
            entry[name] = value
    return entry


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    attrs["keys"] = list(item.get("keys") or [])
    for column, spec in (item.get("aggregations") or {}).items():
        functions, options = (spec, {}) if isinstance(spec, list) else (spec.get("functions"), spec)
        attrs["aggregations"][column] = _canonical(functions, options)
    attrs["count"] = bool(item.get("count", False))
    attrs["rename"] = dict(item.get("rename") or {})
    attrs["pre_filter"] = build_filter(item.get("pre_filter"), ctx, ("pre_filter",))
    attrs["post_filter"] = build_filter(item.get("post_filter"), ctx, ("post_filter",))
    attrs["computed_columns"] = build_computed(item.get("computed_columns"), ctx, ("computed_columns",))
    return attrs


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    uses: list[Use] = [(("keys", i), source, key) for i, key in enumerate(attrs.get("keys") or [])]
    for column, entry in (attrs.get("aggregations") or {}).items():
        uses.append((("aggregations", column), source, column))
        if "order_by" in entry:
            uses.append((("aggregations", column, "order_by"), source, entry["order_by"]))
    return uses, tuple(c["name"] for c in attrs.get("computed_columns") or [])


def read(payload: Attrs, io: Io) -> Attrs:
    aggregations = {}
    for entry in payload.get("values") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
            continue
        functions = [name for name, flag in AGGREGATIONS.items() if entry.get(flag) is True]
        if functions:
            options = {name: entry.get(key) for name, key in OPTIONS.items()}
            aggregations[entry["column"]] = _canonical(functions, options)
    return {
        "keys": [k.get("column") for k in payload.get("keys") or [] if isinstance(k, dict)],
        "aggregations": aggregations,
        "count": bool(payload.get("globalCount", False)),
        "rename": dict(payload.get("outputColumnNameOverrides") or {}),
        "pre_filter": read_filter(payload.get("preFilter")),
        "post_filter": read_filter(payload.get("postFilter")),
        "computed_columns": read_computed(payload.get("computedColumns")),
    }


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    if "keys" in attrs and now["keys"] != attrs["keys"]:
        by_column = {k.get("column"): k for k in payload.get("keys") or [] if isinstance(k, dict)}
        payload["keys"] = [by_column.get(c, {"column": c}) for c in attrs["keys"]]
    if "aggregations" in attrs and now["aggregations"] != attrs["aggregations"]:
        payload["values"] = _values(payload.get("values") or [], attrs["aggregations"])
    if "count" in attrs:
        set_if_changed(payload, "globalCount", attrs["count"])
    if "rename" in attrs and now["rename"] != attrs["rename"]:
        payload["outputColumnNameOverrides"] = dict(attrs["rename"])
    for key, dss_key in (("pre_filter", "preFilter"), ("post_filter", "postFilter")):
        if key in attrs:
            payload[dss_key] = write_filter(payload.get(dss_key), attrs[key])
    if "computed_columns" in attrs:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])


def _values(current: list[Any], aggregations: Attrs) -> list[Any]:
    """The `values` entries saying `aggregations`: every column DSS listed stays (its flags set),
    the new ones are appended."""
    values, seen = [], set()
    for entry in current:
        if not isinstance(entry, dict):
            continue
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
    for name, key in OPTIONS.items():
        if name in FLAG_OPTIONS:
            entry[key] = bool(wanted.get(name))
        elif name in wanted:
            entry[key] = wanted[name]
        else:
            entry.pop(key, None)
    return entry


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("keys"):
        item["keys"] = list(attrs["keys"])
    if attrs.get("aggregations"):
        item["aggregations"] = {
            column: (entry["functions"] if set(entry) == {"functions"} else dict(entry))
            for column, entry in attrs["aggregations"].items()
        }
    if attrs.get("count"):
        item["count"] = True
    if attrs.get("rename"):
        item["rename"] = dict(attrs["rename"])
    for key in ("pre_filter", "post_filter"):
        if attrs.get(key):
            item[key] = dict(attrs[key])
    if attrs.get("computed_columns"):
        item["computed_columns"] = computed_to_config(attrs["computed_columns"])
    return item


def creation(attrs: Attrs, io: Io) -> Attrs:
    """GroupingRecipeCreator.with_group_key: DSS makes the first key (the others are a settings save)."""
    keys = attrs.get("keys") or []
    return {"groupKey": keys[0]} if keys else {}


KIND = VisualKind(
    type="grouping",
    config_type="grouping",
    defaults=DEFAULTS,
    owned={"keys": "keys", "values": "aggregations", "globalCount": "count", "outputColumnNameOverrides": "rename",
           "preFilter": "pre_filter", "postFilter": "post_filter", "computedColumns": "computed_columns"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    creation=creation,
    columns=columns,
    payload_defaults={"engineParams": ENGINE_PARAMS, "enlargeYourBits": True, "selectAllColumns": False},
    to_config=to_config,
)
