"""The split recipe: rows dispatched to the outputs at random, by filter or by a column's values.

Payload (dss-samples/recipe/split_recipe.payload.json, and dataikuapi's SplitRecipeSettings): `mode`
(`RANDOM`, `FILTERS`, `VALUES`, …), one list of splits per mode (`randomSplits` with `share`,
`filterSplits` with `filter`, `valueSplits` with `value`; each split names its output by
`outputIndex`, -1 to drop the rows), `defaultOutputIndex` for the rows no split takes (-1: dropped),
`seed` for the random modes, `column` for the value mode. The lists of the other modes keep what
DSS put there (never read). The modes by ranges, centiles and random columns are outside the typed
settings (import reports them).
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    COLUMN,
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
    set_if_changed,
    shared_to_config,
    write_computed,
    write_filter,
)

MODES = {"random": "RANDOM", "filters": "FILTERS", "values": "VALUES"}
# mode -> (the payload list of its splits, the key each split holds)
SPLITS = {"random": ("randomSplits", "share"), "filters": ("filterSplits", "filter"), "values": ("valueSplits", "value")}
DROP = -1
DEFAULT_SEED = 1337

DEFAULTS: Attrs = {"mode": "random", "splits": [], "default_output": None, "seed": DEFAULT_SEED, "column": None,
                   "pre_filter": None, "computed_columns": []}
# What DSS writes in a new split's payload besides the typed keys (the sample's placeholders of the
# modes not in use): left out of an imported item.
PAYLOAD_DEFAULTS: Attrs = {
    "centileShuffle": False, "centileSplits": [{"outputIndex": 0, "share": 50}], "randomColumns": [],
    "centileOrders": [], "rangeSetTime": False, "randomColumnsSplits": [{"outputIndex": 0, "share": 50}],
    "writeComputedColumnsInOutput": False, "centileTDigest": False,
    "rangeSplits": [{"filter": {"uiData": {"mode": "&&", "conditions": []}, "distinct": False, "enabled": True},
                     "outputIndex": 0}],
    "engineParams": ENGINE_PARAMS,
}

SCHEMA = {
    "mode": {"enum": list(MODES)},
    "splits": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["output"],
            "properties": {"output": {"type": ["string", "null"]}, "share": {"type": "number", "minimum": 0, "maximum": 100},
                           "filter": FILTER, "value": {"type": ["string", "number", "boolean"]}},
            "additionalProperties": False,
            "x-context": "a split",
        },
    },
    "default_output": {"type": ["string", "null"]},
    "seed": {"type": "integer"},
    "column": COLUMN,
    "pre_filter": FILTER,
    "computed_columns": COMPUTED_COLUMNS,
}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    mode = item.get("mode", "random")
    attrs["mode"] = mode
    what = SPLITS.get(mode, ("", ""))[1]
    for i, split in enumerate(item.get("splits") or []):
        if not isinstance(split, dict):
            continue
        _known_output(split.get("output"), ("splits", i, "output"), ctx, io)
        extra = [k for k in ("share", "filter", "value") if k in split and k != what]
        for key in extra:
            ctx.error(("splits", i, key), f"a split of a recipe in mode {mode} says {what!r}, not {key!r}")
        if what not in split:
            ctx.error(("splits", i), f"a split of a recipe in mode {mode} needs {what!r}")
            continue
        value = build_filter(split[what], ctx, ("splits", i, what)) if what == "filter" else split[what]
        attrs["splits"].append({"output": split.get("output"), what: value})
    if "default_output" in item:
        _known_output(item["default_output"], ("default_output",), ctx, io)
        attrs["default_output"] = item["default_output"]
    if mode in ("random",):
        attrs["seed"] = item.get("seed", DEFAULT_SEED)
    elif "seed" in item:
        ctx.error(("seed",), f"a recipe in mode {mode} has no seed")
    if mode == "values":
        if "column" not in item:
            ctx.error((), "a split recipe in mode values needs 'column'")
        attrs["column"] = item.get("column")
    elif "column" in item:
        ctx.error(("column",), "only a split recipe in mode values takes 'column'")
    attrs["pre_filter"] = build_filter(item.get("pre_filter"), ctx, ("pre_filter",))
    attrs["computed_columns"] = build_computed(item.get("computed_columns"), ctx, ("computed_columns",))
    return attrs


def _known_output(name: Any, path: tuple[Any, ...], ctx: BuildContext, io: Io) -> None:
    if name is not None and name not in io.outputs:
        ctx.error(path, f"{name!r} is not an output of this recipe", f"its outputs: {', '.join(io.outputs) or 'none'}; null drops the rows")


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None or attrs.get("mode") != "values" or not attrs.get("column"):
        return [], ()
    return [(("column",), source, attrs["column"])], ()


def _output(index: Any, io: Io) -> Optional[str]:
    if isinstance(index, float) and index.is_integer():
        index = int(index)  # JSON has one number type: 1.0 is index 1
    if isinstance(index, bool) or not isinstance(index, int):
        return None
    return io.outputs[index] if 0 <= index < len(io.outputs) else None


def read(payload: Attrs, io: Io) -> Attrs:
    modes = {v: k for k, v in MODES.items()}
    mode = modes.get(payload.get("mode", "RANDOM"))
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    if mode is None:
        attrs["mode"] = payload.get("mode")
        attrs["unsupported"] = [f"split mode {payload.get('mode')!r}"]
        return attrs
    attrs["mode"] = mode
    attrs["pre_filter"] = read_filter(payload.get("preFilter"))
    attrs["computed_columns"] = read_computed(payload.get("computedColumns"))
    key, what = SPLITS[mode]
    for split in payload.get(key) or []:
        if isinstance(split, dict):
            value = read_filter(split.get("filter")) if what == "filter" else split.get(what)
            attrs["splits"].append({"output": _output(split.get("outputIndex"), io), what: value})
    attrs["default_output"] = _output(payload.get("defaultOutputIndex", DROP), io)
    if mode == "random":
        attrs["seed"] = payload.get("seed", DEFAULT_SEED)
    if mode == "values":
        attrs["column"] = payload.get("column")
    return attrs


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    index = {name: i for i, name in enumerate(io.outputs)}
    mode = attrs.get("mode", now["mode"])
    if "mode" in attrs:
        set_if_changed(payload, "mode", MODES.get(str(mode), mode))
    if "splits" in attrs and (now["splits"] != attrs["splits"] or now["mode"] != mode) and mode in SPLITS:
        key, what = SPLITS[mode]
        current = [s for s in payload.get(key) or [] if isinstance(s, dict)]
        written = []
        for i, split in enumerate(attrs["splits"]):
            entry = copy.deepcopy(current[i]) if i < len(current) else {}
            entry["outputIndex"] = index.get(split["output"], DROP)
            entry[what] = write_filter(entry.get("filter"), split["filter"]) if what == "filter" else split[what]
            written.append(entry)
        payload[key] = written
    if "default_output" in attrs:
        set_if_changed(payload, "defaultOutputIndex", index.get(attrs["default_output"], DROP))
    if mode == "random" and "seed" in attrs:
        set_if_changed(payload, "seed", attrs["seed"])
    if mode == "values" and "column" in attrs:
        set_if_changed(payload, "column", attrs["column"])
    if "pre_filter" in attrs:
        payload["preFilter"] = write_filter(payload.get("preFilter"), attrs["pre_filter"])
    if "computed_columns" in attrs:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {"mode": attrs["mode"]}
    if attrs.get("column") is not None:
        item["column"] = attrs["column"]
    item["splits"] = [dict(s) for s in attrs.get("splits") or []]
    item["default_output"] = attrs.get("default_output")
    if attrs.get("mode") == "random" and attrs.get("seed") != DEFAULT_SEED:
        item["seed"] = attrs["seed"]
    return shared_to_config(item, attrs, ("pre_filter", "computed_columns"))


KIND = VisualKind(
    type="split",
    config_type="split",
    defaults=DEFAULTS,
    owned={"mode": "mode", "randomSplits": "splits", "filterSplits": "splits", "valueSplits": "splits",
           "defaultOutputIndex": "default_output", "seed": "seed", "column": "column", "preFilter": "pre_filter",
           "computedColumns": "computed_columns"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    columns=columns,
    multiple_outputs=True,
    payload_defaults=PAYLOAD_DEFAULTS,
    to_config=to_config,
)
