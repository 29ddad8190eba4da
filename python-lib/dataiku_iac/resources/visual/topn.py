"""The top-n recipe (DSS type `topn`): the first and last rows of an ordering, per group or overall.

Payload (no real sample was found; dataikuapi's TopNRecipeSettings has no helpers): `firstRows`
and `lastRows` (how many rows from the top and from the bottom), `orders` (`[{column, desc}]`),
`keys` (the grouping columns, names: top rows per group), `retrievedColumnsSelectionMode` (`ALL`
or `EXPLICIT` with `retrievedColumns`), `rowNumber`, `rank`, `denseRank`, `duplicateCount` (the
columns added), `preFilter`, `computedColumns`, `outputColumnNameOverrides`. The keys come from
DSS's own recipe editor and from public observations of real payloads; what DSS's creator writes
is a guess of the emulator (docs/emulator.md). DSS's "remaining rows" output is not typed.
"""

from __future__ import annotations

import copy
from typing import Any

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
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
from dataiku_iac.resources.visual.window import ORDER_BY, order_by, order_by_config

RANKS = {"row_number": "rowNumber", "rank": "rank", "dense_rank": "denseRank"}
DEFAULTS: Attrs = {"top": 0, "bottom": 0, "order_by": [], "group_by": [], "columns": None, "ranks": [],
                   "duplicate_count": False, "pre_filter": None, "computed_columns": [], "rename": {}}
ROWS = {"type": "integer", "minimum": 0, "x-messages": {"type": "a number of rows is a whole number",
                                                        "minimum": "a number of rows is 0 or more"}}
SCHEMA = {
    "top": ROWS,
    "bottom": ROWS,
    "order_by": {**ORDER_BY, "minItems": 1},
    "group_by": COLUMNS,
    "columns": COLUMNS,
    "ranks": {"type": "array", "items": {"enum": list(RANKS)}},
    "duplicate_count": {"type": "boolean"},
    "pre_filter": FILTER,
    "computed_columns": COMPUTED_COLUMNS,
    "rename": RENAME,
}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    attrs["top"], attrs["bottom"] = _rows(item.get("top")), _rows(item.get("bottom"))
    if not any(ctx.rejected((key,)) for key in ("top", "bottom")):  # else the loader reported it
        _check_rows(item, attrs, ctx)
    attrs["order_by"] = order_by(item.get("order_by"))
    attrs["group_by"] = list(item.get("group_by") or [])
    attrs["columns"] = list(item["columns"]) if isinstance(item.get("columns"), list) else None
    attrs["ranks"] = [name for name in RANKS if name in set(item.get("ranks") or [])]
    attrs["duplicate_count"] = bool(item.get("duplicate_count", False))
    attrs["pre_filter"] = build_filter(item.get("pre_filter"), ctx, ("pre_filter",))
    attrs["computed_columns"] = build_computed(item.get("computed_columns"), ctx, ("computed_columns",))
    attrs["rename"] = dict(item.get("rename") or {})
    return attrs


def _check_rows(item: Attrs, attrs: Attrs, ctx: BuildContext) -> None:
    if "top" not in item and "bottom" not in item:
        ctx.error((), "a top-n recipe needs 'top' (the number of first rows kept) or 'bottom' (of last rows), or both")
    elif attrs["top"] == 0 and attrs["bottom"] == 0:
        ctx.error(("top",) if "top" in item else ("bottom",), "a top-n recipe keeping 0 first and 0 last rows keeps no row",
                  "set 'top' or 'bottom' to a positive number")


def _rows(value: Any) -> int:
    """A number of rows as DSS may write it back (5.0 is 5); anything else counts as none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return 0
    return int(value)


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    uses: list[Use] = [(("order_by", i), source, o["column"]) for i, o in enumerate(attrs.get("order_by") or [])]
    uses += [(("group_by", i), source, c) for i, c in enumerate(attrs.get("group_by") or [])]
    uses += [(("columns", i), source, c) for i, c in enumerate(attrs.get("columns") or [])]
    return uses, tuple(c["name"] for c in attrs.get("computed_columns") or [])


def _retrieved(payload: Attrs) -> Any:
    """The columns kept, or None for all. A payload without a selection mode (older DSS) keeps all
    when it lists none."""
    listed = [c for c in payload.get("retrievedColumns") or [] if isinstance(c, str)]
    mode = payload.get("retrievedColumnsSelectionMode", "EXPLICIT" if listed else "ALL")
    return listed if mode == "EXPLICIT" else None


def read(payload: Attrs, io: Io) -> Attrs:
    attrs: Attrs = {
        "top": _rows(payload.get("firstRows")),
        "bottom": _rows(payload.get("lastRows")),
        "order_by": [{"column": o.get("column"), "desc": bool(o.get("desc"))}
                     for o in payload.get("orders") or [] if isinstance(o, dict)],
        "group_by": [k.get("column") if isinstance(k, dict) else k for k in payload.get("keys") or [] if isinstance(k, (dict, str))],
        "columns": _retrieved(payload),
        "ranks": [name for name, flag in RANKS.items() if payload.get(flag) is True],
        "duplicate_count": bool(payload.get("duplicateCount", False)),
        "pre_filter": read_filter(payload.get("preFilter")),
        "computed_columns": read_computed(payload.get("computedColumns")),
        "rename": dict(payload.get("outputColumnNameOverrides") or {}),
    }
    unsupported = []
    if payload.get("retrievedColumnsSelectionMode", "ALL") not in ("ALL", "EXPLICIT"):
        unsupported.append(f"column selection mode {payload.get('retrievedColumnsSelectionMode')!r}")
    if attrs["top"] == 0 and attrs["bottom"] == 0:
        unsupported.append("no first and no last row kept")
    if not attrs["order_by"]:
        unsupported.append("no ordering")
    if unsupported:
        attrs["unsupported"] = unsupported
    return attrs


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    for key, dss_key in (("top", "firstRows"), ("bottom", "lastRows")):
        if key in attrs and now[key] != attrs[key]:
            payload[dss_key] = attrs[key]
    if "order_by" in attrs and now["order_by"] != attrs["order_by"]:
        current = [o for o in payload.get("orders") or [] if isinstance(o, dict)]
        payload["orders"] = [{**(copy.deepcopy(current[i]) if i < len(current) else {}), **o} for i, o in enumerate(attrs["order_by"])]
    if "group_by" in attrs and now["group_by"] != attrs["group_by"]:
        payload["keys"] = list(attrs["group_by"])
    if "columns" in attrs and now["columns"] != attrs["columns"]:
        payload["retrievedColumnsSelectionMode"] = "ALL" if attrs["columns"] is None else "EXPLICIT"
        if attrs["columns"] is not None:
            payload["retrievedColumns"] = list(attrs["columns"])
    if "ranks" in attrs:
        for name, flag in RANKS.items():
            set_if_changed(payload, flag, name in attrs["ranks"])
    if "duplicate_count" in attrs:
        set_if_changed(payload, "duplicateCount", attrs["duplicate_count"])
    if "pre_filter" in attrs and now["pre_filter"] != attrs["pre_filter"]:
        payload["preFilter"] = write_filter(payload.get("preFilter"), attrs["pre_filter"])
    if "computed_columns" in attrs and now["computed_columns"] != attrs["computed_columns"]:
        payload["computedColumns"] = write_computed(payload.get("computedColumns"), attrs["computed_columns"])
    if "rename" in attrs and now["rename"] != attrs["rename"]:
        payload["outputColumnNameOverrides"] = dict(attrs["rename"])


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    for key in ("top", "bottom"):
        if attrs.get(key):
            item[key] = attrs[key]
    if attrs.get("order_by"):
        item["order_by"] = order_by_config(attrs["order_by"])
    for key in ("group_by", "ranks"):
        if attrs.get(key):
            item[key] = list(attrs[key])
    if attrs.get("columns") is not None:
        item["columns"] = list(attrs["columns"])
    if attrs.get("duplicate_count"):
        item["duplicate_count"] = True
    return shared_to_config(item, attrs, ("pre_filter", "computed_columns", "rename"))


KIND = VisualKind(
    type="topn",
    config_type="topn",
    defaults=DEFAULTS,
    owned={"firstRows": "top", "lastRows": "bottom", "orders": "order_by", "keys": "group_by",
           "retrievedColumnsSelectionMode": "columns", "retrievedColumns": "columns", "rowNumber": "ranks",
           "rank": "ranks", "denseRank": "ranks", "duplicateCount": "duplicate_count", "preFilter": "pre_filter",
           "computedColumns": "computed_columns", "outputColumnNameOverrides": "rename"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    required=("order_by",),
    columns=columns,
    plain_creator=True,
    payload_defaults={"engineParams": ENGINE_PARAMS},
    to_config=to_config,
)
