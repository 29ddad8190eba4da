"""The stack recipe (DSS type `vstack`): the rows of every input, one after the other.

Payload (dataikuapi's StackRecipeSettings; no real sample was found): `virtualInputs` (one per
input, `index` pointing at the recipe's input, its `preFilter` and `originLabel`), `mode` (how the
output columns are chosen: `UNION`, `INTERSECT`, `FROM_DATASET` with
`copySchemaFromDatasetWithName`, `REMAP`, `CUSTOM`, `FROM_INDEX`), `addOriginColumn` and
`originColumnName`, `postFilter`. The column remappings (`REMAP`, `CUSTOM`, `FROM_INDEX`) are
outside the typed settings (import reports them).
"""

from __future__ import annotations

import copy
from typing import Any

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    ENGINE_PARAMS,
    FILTER,
    Attrs,
    Io,
    VisualKind,
    build_filter,
    read_filter,
    set_if_changed,
    write_filter,
)

MODES = {"union": "UNION", "intersect": "INTERSECT", "from_dataset": "FROM_DATASET"}
DEFAULT_ORIGIN_COLUMN = "original_dataset"

DEFAULTS: Attrs = {"columns": "union", "columns_from": None, "origin_column": None, "origin_labels": {},
                   "pre_filters": {}, "post_filter": None}
_NO_FILTER = {"distinct": False, "enabled": False}
# What the emulator's stack creator writes besides (a guess, docs/emulator.md): left out of an import.
PAYLOAD_DEFAULTS: Attrs = {"selectedColumns": [], "engineParams": ENGINE_PARAMS}

SCHEMA = {
    "columns": {"enum": list(MODES)},
    "columns_from": {"type": "string"},
    "origin_column": {"type": "string", "minLength": 1},
    "origin_labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "pre_filters": {"type": "object", "additionalProperties": FILTER},
    "post_filter": FILTER,
}


def _known_input(name: Any, path: tuple[Any, ...], ctx: BuildContext, io: Io) -> bool:
    if name in io.inputs:
        return True
    ctx.error(path, f"{name!r} is not an input of this recipe", f"its inputs: {', '.join(io.inputs) or 'none'}")
    return False


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    if len(set(io.inputs)) != len(io.inputs):
        ctx.error(("inputs",), "a stack recipe in the configuration reads each input once")
    attrs["columns"] = item.get("columns", "union")
    if attrs["columns"] == "from_dataset":
        if "columns_from" not in item:
            ctx.error(("columns",), "columns: from_dataset needs 'columns_from' (the input whose columns the output takes)")
        elif _known_input(item["columns_from"], ("columns_from",), ctx, io):
            attrs["columns_from"] = item["columns_from"]
    elif "columns_from" in item:
        ctx.error(("columns_from",), "'columns_from' goes with columns: from_dataset")
    attrs["origin_column"] = item.get("origin_column")
    attrs["origin_labels"] = {name: label for name, label in (item.get("origin_labels") or {}).items()
                              if _known_input(name, ("origin_labels", name), ctx, io) and label != name}
    for name, value in (item.get("pre_filters") or {}).items():
        if _known_input(name, ("pre_filters", name), ctx, io):
            logical = build_filter(value, ctx, ("pre_filters", name))
            if logical:
                attrs["pre_filters"][name] = logical
    attrs["post_filter"] = build_filter(item.get("post_filter"), ctx, ("post_filter",))
    return attrs


def read(payload: Attrs, io: Io) -> Attrs:
    modes = {v: k for k, v in MODES.items()}
    virtual = [v for v in payload.get("virtualInputs") or [] if isinstance(v, dict)]
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    unsupported = []
    if [v.get("index") for v in virtual] != list(range(len(io.inputs))):
        unsupported.append("virtual inputs that are not the recipe's inputs in order")
    mode = payload.get("mode", "UNION")
    if mode not in modes:
        unsupported.append(f"column mode {mode!r}")
    attrs["columns"] = modes.get(mode, mode)
    if mode == "FROM_DATASET":
        attrs["columns_from"] = payload.get("copySchemaFromDatasetWithName")
    if payload.get("addOriginColumn"):
        attrs["origin_column"] = payload.get("originColumnName") or DEFAULT_ORIGIN_COLUMN
    for i, name in enumerate(io.inputs):
        vi = virtual[i] if i < len(virtual) else {}
        label = vi.get("originLabel")
        if label and label != name:
            attrs["origin_labels"][name] = label
        pre = read_filter(vi.get("preFilter"))
        if pre:
            attrs["pre_filters"][name] = pre
    attrs["post_filter"] = read_filter(payload.get("postFilter"))
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    if "columns" in attrs:
        set_if_changed(payload, "mode", MODES.get(attrs["columns"], attrs["columns"]))
    if "columns_from" in attrs and now["columns_from"] != attrs["columns_from"] and attrs["columns_from"] is not None:
        payload["copySchemaFromDatasetWithName"] = attrs["columns_from"]
    if "origin_column" in attrs and now["origin_column"] != attrs["origin_column"]:
        payload["addOriginColumn"] = attrs["origin_column"] is not None
        if attrs["origin_column"] is not None:
            payload["originColumnName"] = attrs["origin_column"]
    current = [copy.deepcopy(v) for v in payload.get("virtualInputs") or [] if isinstance(v, dict)]
    if [v.get("index") for v in current] != list(range(len(io.inputs))):
        current = [{"index": i, "originLabel": name, "preFilter": {"distinct": False, "enabled": False}}
                   for i, name in enumerate(io.inputs)]
    for i, name in enumerate(io.inputs):
        if "origin_labels" in attrs:
            set_if_changed(current[i], "originLabel", attrs["origin_labels"].get(name, name))
        if "pre_filters" in attrs:
            current[i]["preFilter"] = write_filter(current[i].get("preFilter"), attrs["pre_filters"].get(name))
    if current != payload.get("virtualInputs"):
        payload["virtualInputs"] = current
    if "post_filter" in attrs:
        payload["postFilter"] = write_filter(payload.get("postFilter"), attrs["post_filter"])


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("columns") != "union":
        item["columns"] = attrs["columns"]
    if attrs.get("columns_from"):
        item["columns_from"] = attrs["columns_from"]
    if attrs.get("origin_column"):
        item["origin_column"] = attrs["origin_column"]
    for key in ("origin_labels", "pre_filters"):
        if attrs.get(key):
            item[key] = copy.deepcopy(attrs[key])
    if attrs.get("post_filter"):
        item["post_filter"] = dict(attrs["post_filter"])
    return item


KIND = VisualKind(
    type="vstack",
    config_type="stack",
    defaults=DEFAULTS,
    owned={"mode": "columns", "copySchemaFromDatasetWithName": "columns_from", "addOriginColumn": "origin_column",
           "originColumnName": "origin_column", "virtualInputs": "origin_labels and pre_filters",
           "postFilter": "post_filter"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    virtual_inputs=True,
    payload_defaults=PAYLOAD_DEFAULTS,
    to_config=to_config,
)
