"""The pivot recipe: row identifiers, the columns whose values become columns, the aggregations.

Payload (no real sample was found; the keys are those of DSS's pivot recipe editor, as public
references show them, docs/emulator.md): `identifierColumnsSelection` (`EXPLICIT` with
`explicitIdentifiers`, or `ALL_BUT_USED`: every column neither pivoted nor aggregated), `pivots`
(one entry per pivot: `keyColumns`, the columns whose values become columns; `valueLimit`
`TOP_N` + `topnLimit`, `AT_LEAST_N_OCC` + `minOccLimit`, `EXPLICIT` + `explicitValues` (one list
of values per combination) or `NO_LIMIT`; `valueColumns`, one entry per column and aggregation,
a grouping's flags; `globalCount`, the count of records per cell), `otherColumns` (aggregations
per row, one entry per column, a grouping's flags), `preFilter`, `computedColumns`.

The typed keys say one pivot (what DSS's editor makes); a recipe with several is left out of an
import, reported. The output's naming options (`modalitySlugification`, `modalityMaxLength`,
`sortModalities`, `schemaComputation`) are raw `payload:` keys.
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
    Attrs,
    Io,
    Use,
    VisualKind,
    build_computed,
    build_filter,
    first_input,
    read_computed,
    read_filter,
    shared_to_config,
    write_computed,
    write_filter,
)
from dataiku_iac.resources.visual.grouping import FLAG_OPTIONS, OPTIONS

# The aggregations of DSS's pivot editor (a grouping's, without median and mode): config -> DSS flag.
AGGREGATIONS = {
    "count": "count", "count_distinct": "countDistinct", "min": "min", "max": "max", "avg": "avg",
    "sum": "sum", "stddev": "stddev", "concat": "concat", "first": "first", "last": "last",
}
ALL_OTHERS = "all_others"  # `keys:` for DSS's ALL_BUT_USED identifiers
# which values of the pivot columns become columns: config form -> (DSS valueLimit, its count key)
LIMITS = {"most_frequent": ("TOP_N", "topnLimit"), "at_least": ("AT_LEAST_N_OCC", "minOccLimit")}
DEFAULT_TOP_N = 20  # DSS's editor default (its `topnLimit`)

DEFAULTS: Attrs = {"keys": [], "pivot_columns": [], "pivot_values": {"most_frequent": DEFAULT_TOP_N},
                   "aggregations": {}, "count": True, "other_columns": {}, "pre_filter": None,
                   "computed_columns": []}

# What the emulator's pivot creator writes besides the typed keys (a guess, docs/emulator.md): left out of an import.
PAYLOAD_DEFAULTS: Attrs = {"customAggregates": [], "enginesPreferences": {}, "engineParams": ENGINE_PARAMS}

_AGGREGATION_LIST = {"type": "array", "items": {"enum": list(AGGREGATIONS)}}
AGGREGATIONS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            _AGGREGATION_LIST,
            {
                "type": "object",
                "required": ["functions"],
                "properties": {
                    "functions": _AGGREGATION_LIST,
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
}
_COUNT = {"type": "integer", "minimum": 1}
_VALUE = {"type": ["string", "number", "boolean", "null"]}
SCHEMA = {
    "keys": {"anyOf": [COLUMNS, {"const": ALL_OTHERS}],
             "x-messages": {"anyOf": f"expected a list of columns, or '{ALL_OTHERS}'"}},
    "pivot_columns": {**COLUMNS, "minItems": 1},
    "pivot_values": {
        "anyOf": [
            {"const": "all"},
            {"type": "array", "items": {"anyOf": [_VALUE, {"type": "array", "items": _VALUE}]}},
            {"type": "object", "properties": {"most_frequent": _COUNT}, "required": ["most_frequent"], "additionalProperties": False},
            {"type": "object", "properties": {"at_least": _COUNT}, "required": ["at_least"], "additionalProperties": False},
        ],
        "x-messages": {"anyOf": "expected 'all', a list of values, {most_frequent: N} or {at_least: N}"},
    },
    "aggregations": AGGREGATIONS_SCHEMA,
    "count": {"type": "boolean"},
    "other_columns": AGGREGATIONS_SCHEMA,
    "pre_filter": FILTER,
    "computed_columns": COMPUTED_COLUMNS,
}


# -- aggregations (a grouping's form: column -> {functions, options}) -------------------------------
def _canonical(functions: Any, options: Attrs) -> Attrs:
    entry: Attrs = {"functions": [name for name in AGGREGATIONS if name in set(functions or [])]}
    for name in OPTIONS:
        if options.get(name):
            entry[name] = True if name in FLAG_OPTIONS else options[name]
    return entry


def _build_aggregations(value: Any) -> Attrs:
    built = {}
    for column, spec in (value or {}).items():
        functions, options = (spec, {}) if isinstance(spec, list) else (spec.get("functions"), spec)
        built[column] = _canonical(functions, options)
    return built


def _options_of(entry: Attrs) -> Attrs:
    return {name: entry.get(key) for name, key in OPTIONS.items()}


def _read_aggregations(entries: Any, one_per_function: bool, unsupported: list[str]) -> Attrs:
    """DSS's column entries -> column -> {functions, options}. A pivot's value columns have one
    entry per aggregation (the same column may come back); their options must agree."""
    read: Attrs = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("column"), str):
            continue
        if entry.get("customAggr"):
            unsupported.append(f"custom aggregate {entry['customAggr']!r} of column {entry['column']!r}")
        functions = [name for name, flag in AGGREGATIONS.items() if entry.get(flag) is True]
        if not functions:
            continue
        column = entry["column"]
        if column in read:
            merged = _canonical(read[column]["functions"] + functions, _options_of(entry))
            if not one_per_function or {k: v for k, v in merged.items() if k != "functions"} != \
                    {k: v for k, v in read[column].items() if k != "functions"}:
                unsupported.append(f"aggregations of column {column!r} with different options")
            read[column] = merged
        else:
            read[column] = _canonical(functions, _options_of(entry))
    return read


def _entry(entry: Attrs, functions: list[str], wanted: Attrs) -> Attrs:
    for name, flag in AGGREGATIONS.items():
        entry[flag] = name in functions
    for name, key in OPTIONS.items():
        if name in FLAG_OPTIONS:
            entry[key] = bool(wanted.get(name))
        elif name in wanted:
            entry[key] = wanted[name]
        else:
            entry.pop(key, None)
    return entry


def _write_value_columns(current: Any, aggregations: Attrs) -> list[Attrs]:
    """One entry per column and aggregation, as DSS's editor writes them; an entry DSS had for the
    same column and aggregation keeps its other keys (its `type`…)."""
    kept: dict[tuple[Any, str], Attrs] = {}
    for entry in current if isinstance(current, list) else []:
        if isinstance(entry, dict):
            for name, flag in AGGREGATIONS.items():
                if entry.get(flag) is True:
                    kept.setdefault((entry.get("column"), name), entry)
    return [_entry({**copy.deepcopy(kept.get((column, name), {})), "column": column}, [name], wanted)
            for column, wanted in aggregations.items() for name in wanted["functions"]]


def _write_other_columns(current: Any, aggregations: Attrs) -> list[Attrs]:
    """One entry per column (a grouping's `values`): DSS's entries of columns not aggregated go
    (its editor saves only the columns with some aggregation)."""
    by_column = {e.get("column"): e for e in current if isinstance(e, dict)} if isinstance(current, list) else {}
    return [_entry({**copy.deepcopy(by_column.get(column, {})), "column": column}, wanted["functions"], wanted)
            for column, wanted in aggregations.items()]


def _aggregations_to_config(aggregations: Attrs) -> Attrs:
    return {column: (entry["functions"] if set(entry) == {"functions"} else dict(entry))
            for column, entry in aggregations.items()}


# -- which values become columns -------------------------------------------------------------------
def _combination(value: Any) -> list[Any]:
    values = value if isinstance(value, list) else [value]
    return [v if v is None or isinstance(v, str) else _text(v) for v in values]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _build_values(value: Any, columns: list[str], ctx: BuildContext) -> Attrs:
    if value is None:
        return dict(DEFAULTS["pivot_values"])
    if value == "all":
        return {"all": True}
    if isinstance(value, dict):
        return dict(value)
    combinations = [_combination(v) for v in value] if isinstance(value, list) else []
    for i, combination in enumerate(combinations):
        if columns and len(combination) != len(columns):
            ctx.error(("pivot_values", i), f"a combination of {len(combination)} value(s) for {len(columns)} "
                      f"pivot column(s) ({', '.join(columns)}): give one value per pivot column")
    return {"explicit": combinations}


def _read_values(pivot: Attrs) -> Attrs:
    limit = pivot.get("valueLimit") or "TOP_N"
    if limit == "NO_LIMIT":
        return {"all": True}
    if limit == "EXPLICIT":
        return {"explicit": [_combination(v) for v in pivot.get("explicitValues") or []]}
    for name, (dss, count_key) in LIMITS.items():
        if limit == dss:
            return {name: pivot.get(count_key) if pivot.get(count_key) is not None else DEFAULT_TOP_N}
    return {"unknown": limit}


def _write_values(pivot: Attrs, values: Attrs) -> None:
    if "all" in values:
        pivot["valueLimit"] = "NO_LIMIT"
    elif "explicit" in values:
        pivot["valueLimit"] = "EXPLICIT"
        pivot["explicitValues"] = copy.deepcopy(values["explicit"])
    else:
        name = next(iter(values))
        pivot["valueLimit"], count_key = LIMITS[name]
        pivot[count_key] = values[name]


def _values_to_config(values: Attrs) -> Any:
    if "all" in values:
        return "all"
    if "explicit" in values:
        combinations = values["explicit"]
        return [c[0] if len(c) == 1 else list(c) for c in combinations]
    return dict(values)


# -- the kind ---------------------------------------------------------------------------------------
def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    keys = item.get("keys", [])
    attrs: Attrs = {
        "keys": ALL_OTHERS if keys == ALL_OTHERS else list(keys or []),
        "pivot_columns": list(item.get("pivot_columns") or []),
        "aggregations": _build_aggregations(item.get("aggregations")),
        "count": bool(item.get("count", DEFAULTS["count"])),
        "other_columns": _build_aggregations(item.get("other_columns")),
        "pre_filter": build_filter(item.get("pre_filter"), ctx, ("pre_filter",)),
        "computed_columns": build_computed(item.get("computed_columns"), ctx, ("computed_columns",)),
    }
    attrs["pivot_values"] = _build_values(item.get("pivot_values"), attrs["pivot_columns"], ctx)
    _check_roles(attrs, ctx)
    return attrs


def _check_roles(attrs: Attrs, ctx: BuildContext) -> None:
    """A column is a row key, a pivot column or an aggregated value, not two of them (DSS's editor
    moves it from one role to the other)."""
    keys = attrs["keys"] if isinstance(attrs["keys"], list) else []
    for i, column in enumerate(attrs["pivot_columns"]):
        if column in keys:
            ctx.error(("pivot_columns", i), f"column {column!r} is both a row key and a pivot column")
    for column in attrs["aggregations"]:
        if column in keys or column in attrs["pivot_columns"]:
            role = "a row key" if column in keys else "a pivot column"
            ctx.error(("aggregations", column), f"column {column!r} is {role}: it cannot be aggregated in the pivot")


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    keys = attrs.get("keys")
    uses: list[Use] = [(("keys", i), source, key) for i, key in enumerate(keys if isinstance(keys, list) else [])]
    uses += [(("pivot_columns", i), source, c) for i, c in enumerate(attrs.get("pivot_columns") or [])]
    for section in ("aggregations", "other_columns"):
        for column, entry in (attrs.get(section) or {}).items():
            uses.append(((section, column), source, column))
            if "order_by" in entry:
                uses.append(((section, column, "order_by"), source, entry["order_by"]))
    return uses, tuple(c["name"] for c in attrs.get("computed_columns") or [])


def read(payload: Attrs, io: Io) -> Attrs:
    unsupported: list[str] = []
    pivots = [p for p in payload.get("pivots") or [] if isinstance(p, dict)]
    if len(pivots) > 1:
        unsupported.append(f"{len(pivots)} pivots (the typed keys say one)")
    pivot: Attrs = pivots[0] if pivots else {}
    selection = payload.get("identifierColumnsSelection") or "EXPLICIT"
    if selection not in ("EXPLICIT", "ALL_BUT_USED"):
        unsupported.append(f"row identifiers selected as {selection!r}")
    values = _read_values(pivot)
    if "unknown" in values:
        unsupported.append(f"pivot values limited as {values['unknown']!r}")
    attrs: Attrs = {
        "keys": ALL_OTHERS if selection == "ALL_BUT_USED" else list(payload.get("explicitIdentifiers") or []),
        "pivot_columns": list(pivot.get("keyColumns") or []),
        "pivot_values": values,
        "aggregations": _read_aggregations(pivot.get("valueColumns"), True, unsupported),
        "count": bool(pivot.get("globalCount", False)),
        "other_columns": _read_aggregations(payload.get("otherColumns"), False, unsupported),
        "pre_filter": read_filter(payload.get("preFilter")),
        "computed_columns": read_computed(payload.get("computedColumns")),
    }
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    if "keys" in attrs and now["keys"] != attrs["keys"]:
        if attrs["keys"] == ALL_OTHERS:
            payload["identifierColumnsSelection"] = "ALL_BUT_USED"
        else:
            payload["identifierColumnsSelection"] = "EXPLICIT"
            payload["explicitIdentifiers"] = list(attrs["keys"])
    _write_pivot(attrs, now, payload)
    if "other_columns" in attrs and now["other_columns"] != attrs["other_columns"]:
        payload["otherColumns"] = _write_other_columns(payload.get("otherColumns"), attrs["other_columns"])
    if "pre_filter" in attrs:
        payload["preFilter"] = write_filter(payload.get("preFilter"), attrs["pre_filter"])
    if "computed_columns" in attrs:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])


def _write_pivot(attrs: Attrs, now: Attrs, payload: Attrs) -> None:
    """The first pivot says the typed keys (the others, if any, are dropped: the typed keys say one)."""
    typed = ("pivot_columns", "pivot_values", "aggregations", "count")
    if all(now[k] == attrs[k] for k in typed if k in attrs) and len(payload.get("pivots") or []) <= 1:
        return
    pivots = payload.get("pivots") if isinstance(payload.get("pivots"), list) else []
    pivot: Attrs = copy.deepcopy(pivots[0]) if pivots and isinstance(pivots[0], dict) else {}
    if "pivot_columns" in attrs:
        pivot["keyColumns"] = list(attrs["pivot_columns"])
    if "pivot_values" in attrs and now["pivot_values"] != attrs["pivot_values"]:
        _write_values(pivot, attrs["pivot_values"])
    if "aggregations" in attrs and now["aggregations"] != attrs["aggregations"]:
        pivot["valueColumns"] = _write_value_columns(pivot.get("valueColumns"), attrs["aggregations"])
    if "count" in attrs:
        pivot["globalCount"] = attrs["count"]
    payload["pivots"] = [pivot]


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("keys"):
        item["keys"] = attrs["keys"] if attrs["keys"] == ALL_OTHERS else list(attrs["keys"])
    item["pivot_columns"] = list(attrs.get("pivot_columns") or [])
    if attrs.get("pivot_values") and attrs["pivot_values"] != DEFAULTS["pivot_values"]:
        item["pivot_values"] = _values_to_config(attrs["pivot_values"])
    for section in ("aggregations", "other_columns"):
        if attrs.get(section):
            item[section] = _aggregations_to_config(attrs[section])
    if attrs.get("count") is False:
        item["count"] = False
    return shared_to_config(item, attrs, ("pre_filter", "computed_columns"))


KIND = VisualKind(
    type="pivot",
    config_type="pivot",
    defaults=DEFAULTS,
    owned={"identifierColumnsSelection": "keys", "explicitIdentifiers": "keys", "pivots": "pivot_columns",
           "otherColumns": "other_columns", "preFilter": "pre_filter", "computedColumns": "computed_columns"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    required=("pivot_columns",),
    columns=columns,
    payload_defaults=PAYLOAD_DEFAULTS,
    to_config=to_config,
)
