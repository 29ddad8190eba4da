"""Visual recipes, kind by kind: reached only through the recipe spec (`resources/recipe.py`).

Each module here describes one visual recipe type (see `common.py` for what a kind provides);
`KINDS` lists them by DSS type, in the order the configuration reference documents them.
"""

from __future__ import annotations

from typing import Any, Optional

from dataiku_iac.resources.visual import (
    distinct,
    evaluate,
    grouping,
    join,
    pivot,
    prepare,
    sampling,
    score,
    sort,
    split,
    stack,
    topn,
    window,
)
from dataiku_iac.resources.visual.common import VisualKind

KINDS: dict[str, VisualKind] = {kind.type: kind for kind in (
    grouping.KIND, join.KIND, window.KIND, prepare.KIND, split.KIND, sort.KIND, stack.KIND, pivot.KIND, sampling.KIND,
    distinct.KIND, topn.KIND, score.KIND, evaluate.KIND,
)}
BY_CONFIG_TYPE: dict[str, VisualKind] = {kind.config_type: kind for kind in KINDS.values()}


def kind_of(dss_type: Any) -> Optional[VisualKind]:
    return KINDS.get(dss_type) if isinstance(dss_type, str) else None


def config_kind(config_type: Any) -> Optional[VisualKind]:
    return BY_CONFIG_TYPE.get(config_type) if isinstance(config_type, str) else None


def id_roles(dss_type: Any) -> dict[str, str]:
    """The roles of a recipe type whose objects DSS names by id -> those objects' type."""
    kind = kind_of(dss_type)
    return dict(kind.id_roles) if kind is not None else {}


def typed_attributes() -> tuple[tuple[str, str], ...]:
    """Every typed logical attribute of every kind, with its compare mode (the recipe's field
    policy lists them). Two kinds naming the same attribute must compare it the same way."""
    names: dict[str, str] = {}
    for kind in KINDS.values():
        for name in kind.defaults:
            compare = kind.compare.get(name, "exact")
            if names.setdefault(name, compare) != compare:
                raise ValueError(f"visual attribute {name!r} is compared two ways")
    return tuple(names.items())


# What every recipe item may say, whatever its type (the project schema's shared definitions).
_COMMON = {
    "name": {"$ref": "#/$defs/name"},
    "type": {"type": "string"},
    "inputs": {"$ref": "#/$defs/recipe_io"},
    "outputs": {"$ref": "#/$defs/recipe_io"},
    "params": {"$ref": "#/$defs/passthrough"},
    "description": {"$ref": "#/$defs/text"},
    "tags": {"$ref": "#/$defs/tags"},
    "protect": {"$ref": "#/$defs/protect"},
    "zone": {"$ref": "#/$defs/name"},
    "payload": {"type": "object", "description": "raw payload keys, merged over the typed settings"},
}


def schema_defs() -> dict[str, Any]:
    """The item schema of each visual type (`recipe_<type>`) and `recipe_visual`, which picks one."""
    defs: dict[str, Any] = {}
    branches = []
    for kind in KINDS.values():
        defs.update(kind.defs)
        name = f"recipe_{kind.config_type}"
        defs[name] = {
            "type": "object",
            "properties": {**_COMMON, **kind.schema},
            "additionalProperties": False,
            "required": ["inputs", "outputs", *kind.required],
            "x-kind": "recipe",
            "x-type": kind.config_type,
            "x-context": f"a recipe of type {kind.config_type}",
        }
        branches.append({"if": {"type": "object", "properties": {"type": {"const": kind.config_type}}, "required": ["type"]},
                         "then": {"$ref": f"#/$defs/{name}"}})
    defs["recipe_visual"] = {"allOf": branches}
    return defs
