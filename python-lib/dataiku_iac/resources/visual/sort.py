"""The sort recipe: the ordering of the rows, and the ranking columns it adds.

Payload (dataikuapi's SortRecipeSettings: no real sample was found): `orders` (`[{column, desc}]`),
`rowNumber`, `rank`, `denseRank`. What DSS's creator writes besides is a guess of the emulator
(docs/emulator.md); the typed keys are only those dataikuapi documents.
"""

from __future__ import annotations

import copy

from dataiku_iac.resources.spec import BuildContext
from dataiku_iac.resources.visual.common import (
    ENGINE_PARAMS,
    Attrs,
    Io,
    Use,
    VisualKind,
    first_input,
    set_if_changed,
)
from dataiku_iac.resources.visual.window import ORDER_BY, order_by, order_by_config

RANKS = {"row_number": "rowNumber", "rank": "rank", "dense_rank": "denseRank"}
DEFAULTS: Attrs = {"order_by": [], "ranks": []}
_NO_FILTER = {"distinct": False, "enabled": False}
# What the emulator's sort creator writes besides (a guess, docs/emulator.md): left out of an import.
PAYLOAD_DEFAULTS: Attrs = {"preFilter": _NO_FILTER, "computedColumns": [], "postFilter": _NO_FILTER,
                           "engineParams": ENGINE_PARAMS}
SCHEMA = {"order_by": ORDER_BY, "ranks": {"type": "array", "items": {"enum": list(RANKS)}}}


def build(item: Attrs, ctx: BuildContext, io: Io) -> Attrs:
    return {"order_by": order_by(item.get("order_by")), "ranks": [n for n in RANKS if n in set(item.get("ranks") or [])]}


def columns(attrs: Attrs, io: Io) -> tuple[list[Use], tuple[str, ...]]:
    source = first_input(io)
    if source is None:
        return [], ()
    return [(("order_by", i), source, o["column"]) for i, o in enumerate(attrs.get("order_by") or [])], ()


def read(payload: Attrs, io: Io) -> Attrs:
    return {"order_by": [{"column": o.get("column"), "desc": bool(o.get("desc"))}
                         for o in payload.get("orders") or [] if isinstance(o, dict)],
            "ranks": [name for name, flag in RANKS.items() if payload.get(flag) is True]}


def write(attrs: Attrs, payload: Attrs, io: Io) -> None:
    now = read(payload, io)
    if "order_by" in attrs and now["order_by"] != attrs["order_by"]:
        current = [o for o in payload.get("orders") or [] if isinstance(o, dict)]
        payload["orders"] = [{**(copy.deepcopy(current[i]) if i < len(current) else {}), **o} for i, o in enumerate(attrs["order_by"])]
    if "ranks" in attrs:
        for name, flag in RANKS.items():
            set_if_changed(payload, flag, name in attrs["ranks"])


def to_config(attrs: Attrs) -> Attrs:
    item: Attrs = {}
    if attrs.get("order_by"):
        item["order_by"] = order_by_config(attrs["order_by"])
    if attrs.get("ranks"):
        item["ranks"] = list(attrs["ranks"])
    return item


KIND = VisualKind(
    type="sort",
    config_type="sort",
    defaults=DEFAULTS,
    owned={"orders": "order_by", "rowNumber": "ranks", "rank": "ranks", "denseRank": "ranks"},
    schema=SCHEMA,
    build=build,
    read=read,
    write=write,
    columns=columns,
    payload_defaults=PAYLOAD_DEFAULTS,
    to_config=to_config,
)
