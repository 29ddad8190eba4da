"""The sampling recipe (DSS's "Sample/Filter"): a sampling method over the input, and a filter.

Unlike the other visual recipes it keeps its sampling in the recipe's params, not in its payload:
`params.selection` is a dataset selection (`samplingMethod`, `maxRecords`, `targetRatio`,
`column`, `seed`, and partition and ordering settings), and the payload is the filter itself
(`{enabled, distinct, uiData, expression}`, as DSS's sampling editor saves it). No real sampling
recipe was found: the keys are those of DSS's sampling editor and of public references, their
creation values guesses (docs/emulator.md).
"""

from __future__ import annotations

from typing import Optional

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    COLUMN,
    FILTER,
    Attrs,
    Io,
    Use,
    VisualKind,
    build_filter,
    first_input,
    read_filter,
    write_filter,
)

# config name -> DSS's samplingMethod (the methods DSS's sampling editors offer)
METHODS = {
    "full": "FULL",
    "head": "HEAD_SEQUENTIAL",
    "tail": "TAIL_SEQUENTIAL",
    "random": "RANDOM_FIXED_NB_EXACT",
    "random_approx": "RANDOM_FIXED_NB",
    "random_ratio": "RANDOM_FIXED_RATIO",
    "column_values": "COLUMN_BASED",
    "stratified": "STRATIFIED_TARGET_NB_EXACT",
    "stratified_ratio": "STRATIFIED_TARGET_RATIO_EXACT",
    "rebalance": "CLASS_REBALANCE_TARGET_NB_APPROX",
    "rebalance_ratio": "CLASS_REBALANCE_TARGET_RATIO_APPROX",
}
BY_DSS = {dss: name for name, dss in METHODS.items()}
# what each method takes (DSS's editor asks for the same: needsMaxRecords, needsRatio, needsColumn)
TAKES = {
    "records": ("head", "tail", "random", "random_approx", "column_values", "stratified", "rebalance"),
    "ratio": ("random_ratio", "stratified_ratio", "rebalance_ratio"),
    "column": ("column_values", "stratified", "stratified_ratio", "rebalance", "rebalance_ratio"),
    "seed": ("random", "random_approx", "random_ratio", "column_values", "stratified", "stratified_ratio",
             "rebalance", "rebalance_ratio"),
}
SELECTION_KEYS = {"records": "maxRecords", "ratio": "targetRatio", "column": "column", "seed": "seed"}

DEFAULTS: Attrs = {"method": "full", "records": None, "ratio": None, "column": None, "seed": None, "filter": None}
SCHEMA = {
    "method": {"enum": list(METHODS)},
    "records": {"type": "integer", "minimum": 1},
    "ratio": {"type": "number"},
    "column": COLUMN,
    "seed": {"type": "integer"},
    "filter": FILTER,
}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    method = item.get("method", DEFAULTS["method"])
    attrs: Attrs = {"method": method, "filter": build_filter(item.get("filter"), ctx, ("filter",))}
    if method not in METHODS:  # the schema says so: what it takes is unknown
        return {**attrs, **{key: item.get(key) for key in TAKES}}
    for key, methods in TAKES.items():
        value = item.get(key)
        if value is not None and method not in methods:
            ctx.error((key,), f"'{key}' does not apply to sampling method {method!r}",
                      f"the methods that take it: {', '.join(methods)}")
            value = None
        elif value is None and key != "seed" and method in methods:
            ctx.error(("method",), f"sampling method {method!r} needs '{key}'")
        attrs[key] = value
    ratio = attrs["ratio"]
    if isinstance(ratio, (int, float)) and not 0 < ratio <= 1:
        ctx.error(("ratio",), f"ratio {ratio} is not in (0, 1]: a share of the rows (0.1 is 10%)")
    return attrs


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None or attrs.get("column") is None:
        return [], ()
    return [(("column",), source, attrs["column"])], ()


def read(payload: Attrs, io: Io) -> Attrs:
    return {"filter": read_filter(payload)}


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    if "filter" in attrs:
        written = write_filter(payload, attrs["filter"])
        if written != payload:
            payload.clear()
            payload.update(written)


def read_params(params: Attrs, io: Io) -> Attrs:
    found = params.get("selection")
    selection: Attrs = found if isinstance(found, dict) else {}
    dss_method = selection.get("samplingMethod") or "FULL"
    method: Optional[str] = BY_DSS.get(dss_method)
    attrs: Attrs = {"method": method or dss_method}
    for key, methods in TAKES.items():
        attrs[key] = selection.get(SELECTION_KEYS[key]) if method in methods else None
    unsupported = []
    if method is None:
        unsupported.append(f"sampling method {dss_method!r}")
    if selection.get("partitionSelectionMethod") not in (None, "ALL"):
        unsupported.append(f"partitions selected as {selection['partitionSelectionMethod']!r}")
    if isinstance(selection.get("ordering"), dict) and selection["ordering"].get("enabled"):
        unsupported.append("an ordering of the rows before sampling")
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def write_params(attrs: Attrs, params: Attrs, io: Io) -> None:
    now = read_params(params, io)
    if not isinstance(params.get("selection"), dict):
        params["selection"] = {}
    selection = params["selection"]
    if "method" in attrs and now["method"] != attrs["method"]:
        selection["samplingMethod"] = METHODS.get(attrs["method"], attrs["method"])
    for key, dss_key in SELECTION_KEYS.items():
        if key not in attrs or now[key] == attrs[key]:
            continue
        if attrs[key] is None:
            if key == "seed":  # no seed: a new sample at each run (the others are placeholders DSS keeps)
                selection.pop(dss_key, None)
        else:
            selection[dss_key] = attrs[key]


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("method") != DEFAULTS["method"]:
        item["method"] = attrs["method"]
    for key in TAKES:
        if attrs.get(key) is not None:
            item[key] = attrs[key]
    if attrs.get("filter"):
        item["filter"] = dict(attrs["filter"])
    return item


def _owned_selection() -> dict[str, str]:
    owned = {f"selection.{dss_key}": key for key, dss_key in SELECTION_KEYS.items()}
    owned["selection.samplingMethod"] = "method"
    return owned


KIND = VisualKind(
    type="sampling",
    config_type="sampling",
    defaults=DEFAULTS,
    owned={"enabled": "filter", "distinct": "filter", "uiData": "filter", "expression": "filter"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    columns=columns,
    to_config=to_config,
    read_params=read_params,
    write_params=write_params,
    owned_params=_owned_selection(),
)
