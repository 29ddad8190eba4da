"""The prepare recipe (DSS type `shaker`): an ordered list of processor steps with their params.

Payload (dss-samples/recipe/prepare_recipe.payload.json): `steps`, each `{metaType: PROCESSOR,
type, params, disabled, preview, alwaysShowComment, name?, comment?}`, or a group `{metaType:
GROUP, name, steps, disabled}`; the rest is the UI's state (samples, column widths, colouring),
never imported. Steps are compared position by position, each as a subset: the params a step
declares must be DSS's, and the defaults DSS adds to a step saved in the UI are no difference.
"""

from __future__ import annotations

import copy
from typing import Any, Optional

from dataiku_iac.resources.base import deep_merge
from dataiku_iac.resources.policy import is_subset
from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import Attrs, Io, VisualKind

# Processors whose params DSS needs (a step without them fails at run time): type -> params.
# `columns` is needed only when the step applies to named columns (appliesTo SINGLE_COLUMN or COLUMNS).
REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "ColumnRenamer": ("renamings",),
    "ColumnsSelector": ("columns", "keep"),
    "CreateColumnWithGREL": ("column", "expression"),
    "DateParser": ("columns", "formats"),
    "FillEmptyWithValue": ("columns", "value"),
    "FilterOnValue": ("columns", "values", "action"),
    "FindReplace": ("columns", "mapping"),
    "RemoveRowsOnEmpty": ("columns",),
    "StringTransformer": ("columns", "mode"),
}
NAMED_COLUMNS = ("SINGLE_COLUMN", "COLUMNS")

DEFAULTS: Attrs = {"steps": []}

_STEP = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "params": {"type": "object"},
        "disabled": {"type": "boolean"},
        "name": {"type": "string"},
        "comment": {"type": "string"},
        "group": {"type": "string"},
        "steps": {"type": "array", "items": {"$ref": "#/$defs/prepare_step"}},
    },
    "additionalProperties": False,
    "x-context": "a prepare step",
}
SCHEMA = {"steps": {"type": "array", "items": {"$ref": "#/$defs/prepare_step"}}}
DEFS = {"prepare_step": _STEP}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    return {"steps": _build_steps(item.get("steps") or [], ctx, ("steps",))}


def _build_steps(steps: list[Any], ctx: BuildContext, path: tuple[Any, ...]) -> list[Attrs]:
    built = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        where = path + (i,)
        if ("group" in step) == ("type" in step):
            ctx.error(where, "a prepare step has a processor 'type' (with its 'params'), or is a 'group' of 'steps'")
            continue
        if "group" in step:
            entry: Attrs = {"group": step["group"], "steps": _build_steps(step.get("steps") or [], ctx, where + ("steps",))}
        else:
            if "steps" in step:
                ctx.error(where + ("steps",), "only a 'group' has steps")
            entry = {"type": step["type"], "params": copy.deepcopy(step.get("params") or {})}
            _check_params(entry, ctx, where + (("params",) if "params" in step else ()))
            for key in ("name", "comment"):
                if step.get(key):
                    entry[key] = step[key]
        entry["disabled"] = bool(step.get("disabled", False))
        built.append(entry)
    return built


def _check_params(step: Attrs, ctx: BuildContext, where: tuple[Any, ...]) -> None:
    params = step["params"]
    needs_columns = params.get("appliesTo", "SINGLE_COLUMN") in NAMED_COLUMNS
    missing = [p for p in REQUIRED_PARAMS.get(step["type"], ()) if p not in params and (p != "columns" or needs_columns)]
    if missing:
        ctx.error(where, f"a {step['type']} step needs the params {', '.join(missing)}", "see DSS's processors reference")


def read(payload: Attrs, io: Io) -> Attrs:
    return {"steps": _read_steps(payload.get("steps"))}


def _read_steps(steps: Any) -> list[Attrs]:
    read = []
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        if step.get("metaType") == "GROUP":
            entry: Attrs = {"group": step.get("name") or "", "steps": _read_steps(step.get("steps"))}
        else:
            entry = {"type": step.get("type"), "params": copy.deepcopy(step.get("params") or {})}
            for key in ("name", "comment"):
                if step.get(key):
                    entry[key] = step[key]
        entry["disabled"] = bool(step.get("disabled", False))
        read.append(entry)
    return read


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    if "steps" not in attrs:
        return
    if is_subset(attrs["steps"], _read_steps(payload.get("steps"))):
        return
    payload["steps"] = _write_steps(payload.get("steps"), attrs["steps"])


def _write_steps(current: Any, steps: list[Attrs]) -> list[Attrs]:
    current = [s for s in current if isinstance(s, dict)] if isinstance(current, list) else []
    written = []
    for i, step in enumerate(steps):
        existing: Optional[Attrs] = current[i] if i < len(current) else None
        if "group" in step:
            same = existing is not None and existing.get("metaType") == "GROUP"
            entry = copy.deepcopy(existing) if same and existing else {"metaType": "GROUP"}
            entry.update(name=step["group"], disabled=step["disabled"],
                         steps=_write_steps(entry.get("steps"), step["steps"]))
        else:
            same = existing is not None and existing.get("type") == step["type"]
            entry = copy.deepcopy(existing) if same and existing else {
                "preview": False, "metaType": "PROCESSOR", "alwaysShowComment": False}
            entry.update(type=step["type"], disabled=step["disabled"],
                         params=deep_merge(entry.get("params") or {}, step["params"]))
            for key in ("name", "comment"):
                if key in step:
                    entry[key] = step[key]
                else:
                    entry.pop(key, None)
        written.append(entry)
    return written


def to_config(attrs: Attrs) -> Attrs:
    return {"steps": _steps_config(attrs.get("steps") or [])} if attrs.get("steps") else {}


def _steps_config(steps: list[Attrs]) -> list[Attrs]:
    items = []
    for step in steps:
        item = {k: copy.deepcopy(v) for k, v in step.items() if not (k == "disabled" and not v)}
        if "steps" in item:
            item["steps"] = _steps_config(step["steps"])
        if item.get("params") == {}:
            item.pop("params")
        items.append(item)
    return items


# The payload keys of the prepare screen's state: what the UI shows, not what the recipe does.
UI_STATE = ("columnsSelection", "explorationSampling", "explorationFilters", "columnOrder",
            "columnUseScientificNotationByName", "exploreUIParams", "maxProcessedMemTableBytes", "previewMode",
            "vizSampling", "analysisColumnData", "columnWidthsByName", "sorting", "globalSearchQuery", "coloring")

KIND = VisualKind(
    type="shaker",
    config_type="prepare",
    defaults=DEFAULTS,
    owned={"steps": "steps"},
    schema=SCHEMA,
    defs=DEFS,
    build=build,
    read=read,
    write=write,
    compare={"steps": "items"},
    payload_defaults={"origin": "PREPARE_RECIPE"},
    ui_state=UI_STATE,
    to_config=to_config,
)
