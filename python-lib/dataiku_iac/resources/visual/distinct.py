"""The distinct recipe: the rows of its input without duplicates, on some columns or on all.

Payload (no real sample was found; dataikuapi's DistinctRecipeSettings has no helpers): `keys`
(`[{column}]`, the columns compared), `selectAllColumns` (true: every column is compared, `keys`
is then not what decides), `globalCount` (add the count of duplicates), `preFilter`,
`postFilter`, `outputColumnNameOverrides`. The keys come from DSS's own recipe editor and from
public observations of real payloads; what DSS's creator writes is a guess of the emulator
(docs/emulator.md).
"""

from __future__ import annotations

import copy
from typing import Any

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    COLUMNS,
    ENGINE_PARAMS,
    FILTER,
    RENAME,
    Attrs,
    Io,
    Use,
    VisualKind,
    build_filter,
    first_input,
    read_filter,
    set_if_changed,
    write_filter,
)

# `keys: []` (the config says none) compares every column: DSS's `selectAllColumns`.
DEFAULTS: Attrs = {"keys": [], "count": False, "rename": {}, "pre_filter": None, "post_filter": None}
SCHEMA = {"keys": COLUMNS, "count": {"type": "boolean"}, "rename": RENAME, "pre_filter": FILTER, "post_filter": FILTER}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    attrs: Attrs = copy.deepcopy(DEFAULTS)
    keys = list(item.get("keys") or [])
    for i, key in enumerate(keys):
        if key in keys[:i]:
            ctx.error(("keys", i), f"column {key!r} is listed twice in 'keys'")
    attrs["keys"] = list(dict.fromkeys(keys))
    attrs["count"] = bool(item.get("count", False))
    attrs["rename"] = dict(item.get("rename") or {})
    attrs["pre_filter"] = build_filter(item.get("pre_filter"), ctx, ("pre_filter",))
    attrs["post_filter"] = build_filter(item.get("post_filter"), ctx, ("post_filter",))
    return attrs


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    return [(("keys", i), source, key) for i, key in enumerate(attrs.get("keys") or [])], ()


def _key_columns(payload: Attrs) -> list[Any]:
    return [k.get("column") if isinstance(k, dict) else k for k in payload.get("keys") or [] if isinstance(k, (dict, str))]


def read(payload: Attrs, io: Io) -> Attrs:
    keys = _key_columns(payload)
    # An older payload has no selectAllColumns: its UI compared every column when it listed none.
    all_columns = payload.get("selectAllColumns", not keys)
    attrs: Attrs = {
        "keys": [] if all_columns else keys,
        "count": bool(payload.get("globalCount", False)),
        "rename": dict(payload.get("outputColumnNameOverrides") or {}),
        "pre_filter": read_filter(payload.get("preFilter")),
        "post_filter": read_filter(payload.get("postFilter")),
    }
    if not all_columns and not keys:
        attrs["unsupported"] = ["a distinct on no column"]
    return attrs


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    if "keys" in attrs and (now["keys"] != attrs["keys"] or "unsupported" in now):
        if attrs["keys"]:
            by_column = {k.get("column"): k for k in payload.get("keys") or [] if isinstance(k, dict)}
            payload["keys"] = [copy.deepcopy(by_column.get(c, {"column": c})) for c in attrs["keys"]]
        payload["selectAllColumns"] = not attrs["keys"]
    if "count" in attrs:
        set_if_changed(payload, "globalCount", attrs["count"])
    if "rename" in attrs and now["rename"] != attrs["rename"]:
        payload["outputColumnNameOverrides"] = dict(attrs["rename"])
    for key, dss_key in (("pre_filter", "preFilter"), ("post_filter", "postFilter")):
        if key in attrs and now[key] != attrs[key]:
            payload[dss_key] = write_filter(payload.get(dss_key), attrs[key])


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("keys"):
        item["keys"] = list(attrs["keys"])
    if attrs.get("count"):
        item["count"] = True
    if attrs.get("rename"):
        item["rename"] = dict(attrs["rename"])
    for key in ("pre_filter", "post_filter"):
        if attrs.get(key):
            item[key] = dict(attrs[key])
    return item


KIND = VisualKind(
    type="distinct",
    config_type="distinct",
    defaults=DEFAULTS,
    owned={"keys": "keys", "selectAllColumns": "keys", "globalCount": "count",
           "outputColumnNameOverrides": "rename", "preFilter": "pre_filter", "postFilter": "post_filter"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    columns=columns,
    payload_defaults={"engineParams": ENGINE_PARAMS},
    to_config=to_config,
)
