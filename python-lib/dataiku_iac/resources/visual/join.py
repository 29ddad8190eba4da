"""The join recipe: the joins between the inputs, the columns kept from each, filters.

Payload (dss-samples/recipe/join_recipe.payload.json): `virtualInputs` (one per joined input: its
pre-filter, pre-join computed columns, column selection mode and prefix; `index` points at the
recipe's input), `joins` (`table1`/`table2` are virtual input indexes, `on` the conditions),
`selectedColumns` (the columns kept when an input's selection is manual; DSS fills it in itself
in the automatic modes), post-join `computedColumns` and `postFilter`.

The configuration names inputs, not indexes: a join reads and writes one virtual input per recipe
input, in order. A recipe joining an input with itself (two virtual inputs on one dataset) is
outside the typed settings (import reports it).
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
    read_computed,
    read_filter,
    write_computed,
    write_filter,
)

# config join type -> DSS's
JOIN_TYPES = {"inner": "INNER", "left": "LEFT", "right": "RIGHT", "outer": "FULL", "cross": "CROSS",
              "advanced": "ADVANCED", "left_anti": "LEFT_ANTI", "right_anti": "RIGHT_ANTI"}
# config condition operator -> DSS's (dataikuapi's JoinRecipeSettings.add_condition_to_join)
OPERATORS = {"eq": "EQ", "ne": "NE", "lt": "LT", "lte": "LTE", "gt": "GT", "gte": "GTE",
             "within_range": "WITHIN_RANGE", "k_nearest": "K_NEAREST", "k_nearest_inferior": "K_NEAREST_INFERIOR",
             "contains": "CONTAINS", "starts_with": "STARTS_WITH"}
MATCH = {"all": "AND", "any": "OR"}
SELECTION = {"auto": "AUTO_NON_CONFLICTING", "all": "ALL", "manual": "MANUAL"}

DEFAULTS: Attrs = {"joins": [], "select": {}, "pre_filters": {}, "input_computed_columns": {},
                   "computed_columns": [], "post_filter": None}

_CONDITION = {
    "anyOf": [
        {"type": "array", "items": COLUMN, "minItems": 2},
        {"type": "object", "required": ["left", "right"], "additionalProperties": False,
         "properties": {"left": COLUMN, "right": COLUMN, "operator": {"enum": list(OPERATORS)}}},
    ],
    "x-messages": {"anyOf": "a join condition is [left column, right column], or {left, right, operator}"},
}
SCHEMA = {
    "joins": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["with"],
            "properties": {
                "with": {"type": "string"},
                "left": {"type": "string"},
                "type": {"enum": list(JOIN_TYPES)},
                "on": {"type": "array", "items": _CONDITION},
                "match": {"enum": list(MATCH)},
            },
            "additionalProperties": False,
            "x-context": "a join",
        },
    },
    "select": {
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                {"enum": ["auto", "all"]},
                COLUMNS,
                {"type": "object", "additionalProperties": False,
                 "properties": {"mode": {"enum": list(SELECTION)}, "columns": COLUMNS, "rename": RENAME,
                                "prefix": {"type": "string"}}},
            ],
            "x-messages": {"anyOf": "an input's selection is auto, all, a list of columns, or {columns, rename, prefix, mode}"},
        },
    },
    "pre_filters": {"type": "object", "additionalProperties": FILTER},
    "input_computed_columns": {"type": "object", "additionalProperties": COMPUTED_COLUMNS},
    "computed_columns": COMPUTED_COLUMNS,
    "post_filter": FILTER,
}


# -- config -> logical -------------------------------------------------------------------------
def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    if len(set(io.inputs)) != len(io.inputs):
        ctx.error(("inputs",), "a join recipe in the configuration reads each input once",
                  "join an input with itself through the raw payload of a recipe made in DSS")
    attrs["joins"] = [_build_join(join, i, ctx, io) for i, join in enumerate(item.get("joins") or []) if isinstance(join, dict)]
    attrs["select"] = {name: {"mode": "auto"} for name in io.inputs}
    for name, value in (item.get("select") or {}).items():
        if _known_input(name, ("select", name), ctx, io):
            attrs["select"][name] = _selection(value)
    for name, value in (item.get("pre_filters") or {}).items():
        if _known_input(name, ("pre_filters", name), ctx, io):
            logical = build_filter(value, ctx, ("pre_filters", name))
            if logical:
                attrs["pre_filters"][name] = logical
    for name, value in (item.get("input_computed_columns") or {}).items():
        if _known_input(name, ("input_computed_columns", name), ctx, io):
            columns = build_computed(value, ctx, ("input_computed_columns", name))
            if columns:
                attrs["input_computed_columns"][name] = columns
    attrs["computed_columns"] = build_computed(item.get("computed_columns"), ctx, ("computed_columns",))
    attrs["post_filter"] = build_filter(item.get("post_filter"), ctx, ("post_filter",))
    return attrs


def _known_input(name: Any, path: tuple[Any, ...], ctx: BuildContext, io: Io) -> bool:
    if name in io.inputs:
        return True
    ctx.error(path, f"{name!r} is not an input of this recipe", f"its inputs: {', '.join(io.inputs) or 'none'}")
    return False


def _build_join(join: Attrs, index: int, ctx: BuildContext, io: Io) -> Attrs:
    left = join.get("left", io.inputs[0] if io.inputs else None)
    for key, name in (("left", left), ("with", join.get("with"))):
        if name is not None:
            _known_input(name, ("joins", index, key), ctx, io)
    conditions = []
    for j, condition in enumerate(join.get("on") or []):
        if isinstance(condition, list):
            if len(condition) != 2:
                ctx.error(("joins", index, "on", j), f"a join condition is a pair [left column, right column], not {len(condition)} columns")
                continue
            conditions.append({"left": condition[0], "right": condition[1], "operator": "eq"})
        elif isinstance(condition, dict):
            conditions.append({"left": condition.get("left"), "right": condition.get("right"),
                               "operator": condition.get("operator", "eq")})
    return {"left": left, "right": join.get("with"), "type": join.get("type", "inner"), "on": conditions,
            "match": join.get("match", "all")}


def _selection(value: Any) -> Attrs:
    if isinstance(value, str):
        return {"mode": value}
    if isinstance(value, list):
        return {"mode": "manual", "columns": list(value)}
    selection: Attrs = {"mode": value.get("mode", "manual" if "columns" in value else "auto")}
    if selection["mode"] == "manual":
        selection["columns"] = list(value.get("columns") or [])
        if value.get("rename"):
            selection["rename"] = dict(value["rename"])
    if value.get("prefix"):
        selection["prefix"] = value["prefix"]
    return selection


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    uses: list[Use] = []
    for i, join in enumerate(attrs.get("joins") or []):
        for j, condition in enumerate(join.get("on") or []):
            for side, ref in (("left", join.get("left")), ("right", join.get("right"))):
                if isinstance(ref, str):
                    uses.append((("joins", i, "on", j), ref, condition.get(side)))
    for name, selection in (attrs.get("select") or {}).items():
        for column in selection.get("columns") or []:
            uses.append((("select", name), name, column))
    computed = tuple(c["name"] for cols in (attrs.get("input_computed_columns") or {}).values() for c in cols)
    return uses, computed


# -- payload -> logical ------------------------------------------------------------------------
def read(payload: Attrs, io: Io) -> Attrs:
    unsupported: list[str] = []
    virtual = [v for v in payload.get("virtualInputs") or [] if isinstance(v, dict)]
    if [v.get("index") for v in virtual] != list(range(len(io.inputs))):
        unsupported.append("virtual inputs that are not the recipe's inputs in order (a self-join)")
    names = {i: name for i, name in enumerate(io.inputs)}
    attrs: Attrs = {
        "joins": [_read_join(join, names, unsupported) for join in payload.get("joins") or [] if isinstance(join, dict)],
        "select": {},
        "pre_filters": {},
        "input_computed_columns": {},
        "computed_columns": read_computed(payload.get("computedColumns")),
        "post_filter": read_filter(payload.get("postFilter")),
    }
    for i, name in enumerate(io.inputs):
        vi = virtual[i] if i < len(virtual) else {}
        attrs["select"][name] = _read_selection(vi, i, payload.get("selectedColumns") or [], unsupported)
        pre = read_filter(vi.get("preFilter"))
        if pre:
            attrs["pre_filters"][name] = pre
        computed = read_computed(vi.get("computedColumns"))
        if computed:
            attrs["input_computed_columns"][name] = computed
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def _read_join(join: Attrs, names: dict[int, str], unsupported: list[str]) -> Attrs:
    types = {v: k for k, v in JOIN_TYPES.items()}
    operators = {v: k for k, v in OPERATORS.items()}
    matches = {v: k for k, v in MATCH.items()}
    if join.get("type") not in types or join.get("conditionsMode", "AND") not in matches:
        unsupported.append(f"join type {join.get('type')!r} with conditions mode {join.get('conditionsMode')!r}")
    conditions = []
    for condition in join.get("on") or []:
        if not isinstance(condition, dict):
            continue
        if condition.get("type", "EQ") not in operators:
            unsupported.append(f"join condition {condition.get('type')!r}")
        conditions.append({"left": (condition.get("column1") or {}).get("name"),
                           "right": (condition.get("column2") or {}).get("name"),
                           "operator": operators.get(condition.get("type", "EQ"), condition.get("type"))})
    return {"left": names.get(join.get("table1", 0)), "right": names.get(join.get("table2", 1)),
            "type": types.get(str(join.get("type")), join.get("type")), "on": conditions,
            "match": matches.get(join.get("conditionsMode", "AND"), join.get("conditionsMode"))}


def _read_selection(vi: Attrs, index: int, selected: list[Any], unsupported: list[str]) -> Attrs:
    modes = {v: k for k, v in SELECTION.items()}
    mode = vi.get("outputColumnsSelectionMode", "AUTO_NON_CONFLICTING")
    if mode not in modes:
        unsupported.append(f"column selection mode {mode!r}")
    selection: Attrs = {"mode": modes.get(mode, mode)}
    if selection["mode"] == "manual":
        mine = [c for c in selected if isinstance(c, dict) and c.get("table") == index]
        selection["columns"] = [c.get("name") for c in mine]
        rename = {c["name"]: c["alias"] for c in mine if c.get("alias")}
        if rename:
            selection["rename"] = rename
    if vi.get("prefix"):
        selection["prefix"] = vi["prefix"]
    return selection


# -- logical -> payload ------------------------------------------------------------------------
def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    index = {name: i for i, name in enumerate(io.inputs)}
    virtual = _virtual_inputs(payload, io)
    if "joins" in attrs and (now["joins"] != attrs["joins"] or "unsupported" in now):
        current = [j for j in payload.get("joins") or [] if isinstance(j, dict)]
        payload["joins"] = [_write_join(current[i] if i < len(current) else {}, join, index)
                            for i, join in enumerate(attrs["joins"])]
    for i, name in enumerate(io.inputs):
        vi = virtual[i]
        if "select" in attrs:
            _write_selection(payload, vi, i, attrs["select"].get(name, {"mode": "auto"}))
        if "pre_filters" in attrs:
            vi["preFilter"] = write_filter(vi.get("preFilter"), attrs["pre_filters"].get(name))
        if "input_computed_columns" in attrs:
            vi["computedColumns"] = write_computed(vi.get("computedColumns"), attrs["input_computed_columns"].get(name, []))
    if payload.get("virtualInputs") != virtual:
        payload["virtualInputs"] = virtual
    if "computed_columns" in attrs:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])
    if "post_filter" in attrs:
        payload["postFilter"] = write_filter(payload.get("postFilter"), attrs["post_filter"])


def _virtual_inputs(payload: Attrs, io: Io) -> list[Attrs]:
    """One virtual input per recipe input, in order (the existing ones kept, with their keys)."""
    current = [copy.deepcopy(v) for v in payload.get("virtualInputs") or [] if isinstance(v, dict)]
    by_index = {v.get("index"): v for v in current}
    if [v.get("index") for v in current] == list(range(len(io.inputs))):
        return current
    return [by_index.get(i) or {"index": i, "originLabel": name, "preFilter": {"distinct": False, "enabled": False},
                                "computedColumns": [], "outputColumnsSelectionMode": "AUTO_NON_CONFLICTING"}
            for i, name in enumerate(io.inputs)]


def _write_join(current: Attrs, join: Attrs, index: dict[str, int]) -> Attrs:
    written = copy.deepcopy(current)
    table1, table2 = index.get(join["left"], 0), index.get(join["right"], 1)
    on = [c for c in written.get("on") or [] if isinstance(c, dict)]
    written.update(table1=table1, table2=table2, type=JOIN_TYPES.get(join["type"], join["type"]),
                   conditionsMode=MATCH.get(join["match"], join["match"]))
    written["on"] = []
    for j, condition in enumerate(join["on"]):
        entry = copy.deepcopy(on[j]) if j < len(on) else {}
        entry.update(column1={"name": condition["left"], "table": table1},
                     column2={"name": condition["right"], "table": table2},
                     type=OPERATORS.get(condition["operator"], condition["operator"]))
        written["on"].append(entry)
    return written


def _write_selection(payload: Attrs, vi: Attrs, index: int, selection: Attrs) -> None:
    vi["outputColumnsSelectionMode"] = SELECTION.get(selection["mode"], selection["mode"])
    if selection.get("prefix"):
        vi["prefix"] = selection["prefix"]
    else:
        vi.pop("prefix", None)
    if selection["mode"] != "manual":
        return  # DSS resolves the columns of the automatic modes itself
    selected = [c for c in payload.get("selectedColumns") or [] if isinstance(c, dict)]
    mine = {c.get("name"): c for c in selected if c.get("table") == index}
    if [c.get("name") for c in mine.values()] == selection.get("columns") and \
            {n: c["alias"] for n, c in mine.items() if c.get("alias")} == selection.get("rename", {}):
        return
    others = [c for c in selected if c.get("table") != index]
    wanted = []
    for name in selection.get("columns") or []:
        entry = copy.deepcopy(mine.get(name) or {"name": name, "table": index})
        alias = (selection.get("rename") or {}).get(name)
        if alias:
            entry["alias"] = alias
        else:
            entry.pop("alias", None)
        wanted.append(entry)
    payload["selectedColumns"] = others + wanted


# -- logical -> config -------------------------------------------------------------------------
def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {"joins": [_join_config(join, attrs) for join in attrs.get("joins") or []]}
    select = {name: _selection_config(s) for name, s in (attrs.get("select") or {}).items() if s != {"mode": "auto"}}
    if select:
        item["select"] = select
    if attrs.get("pre_filters"):
        item["pre_filters"] = copy.deepcopy(attrs["pre_filters"])
    if attrs.get("input_computed_columns"):
        item["input_computed_columns"] = {n: computed_to_config(c) for n, c in attrs["input_computed_columns"].items()}
    if attrs.get("computed_columns"):
        item["computed_columns"] = computed_to_config(attrs["computed_columns"])
    if attrs.get("post_filter"):
        item["post_filter"] = dict(attrs["post_filter"])
    return item


def _join_config(join: Attrs, attrs: Attrs) -> Attrs:
    item: Attrs = {"with": join["right"]}
    inputs = (attrs.get("inputs") or {}).get("main") or []
    if join["left"] != (inputs[0] if inputs else None):
        item["left"] = join["left"]
    if join["type"] != "inner":
        item["type"] = join["type"]
    item["on"] = [[c["left"], c["right"]] if c["operator"] == "eq" else dict(c) for c in join["on"]]
    if join["match"] != "all":
        item["match"] = join["match"]
    return item


def _selection_config(selection: Attrs) -> Any:
    if set(selection) == {"mode"} and selection["mode"] in ("auto", "all"):
        return selection["mode"]
    if set(selection) == {"mode", "columns"}:
        return list(selection["columns"])
    item = {k: copy.deepcopy(v) for k, v in selection.items() if not (k == "mode" and v in ("manual", "auto"))}
    return item


KIND = VisualKind(
    type="join",
    config_type="join",
    defaults=DEFAULTS,
    owned={"joins": "joins", "virtualInputs": "select, pre_filters and input_computed_columns",
           "selectedColumns": "select", "computedColumns": "computed_columns", "postFilter": "post_filter"},
    schema=SCHEMA,
    required=("joins",),
    build=build,
    read=read,
    write=write,
    columns=columns,
    virtual_inputs=True,
    payload_defaults={"engineParams": ENGINE_PARAMS, "enableAutoCastInJoinConditions": False},
    ui_state=("resolvedSelectedColumns",),
    to_config=to_config,
)
