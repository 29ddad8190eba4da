"""Per-resource overrides from the environment file.

``overrides`` maps an address as written in config (before any key prefix/suffix) to
a patch, deep-merged into that resource: mappings merge, lists and scalars replace,
``null`` removes the key. The patched values keep the marks of the environment file,
so an error in an overridden value points into the environment file.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, List, Optional, Tuple

from ..address import Address
from ..resources.registry import spec_for
from .paths import MarkMap, YamlPath, has_prefix


def parse_address(text: str) -> Optional[Address]:
    """The address an override is keyed by, or None (the environment schema reports it)."""
    return Address.find(text)


def find_target(data: Any, address: Address, origin_of: Optional[Callable[[YamlPath], Any]] = None) -> Optional[YamlPath]:
    """The path of the resource `address` names inside one project document, if any.
    `origin_of(path)` tells the module call an item comes from (ProjectDocument.module_origin):
    a module address names an item of that instance, an address without one an item of the file."""
    if not isinstance(data, dict):
        return None
    spec = spec_for(address.type)
    if not spec.named:
        return (spec.section,) if isinstance(data.get(spec.section), dict) else None
    items = data.get(spec.section)
    if not isinstance(items, list):
        return None
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(spec.id_key) == address.name:
            origin = origin_of((spec.section, index)) if origin_of is not None else None
            if (origin.instance if origin is not None else "") == address.module:
                return (spec.section, index)
    return None


def get_at(data: Any, path: YamlPath) -> Any:
    for elem in path:
        data = data[elem]
    return data


def drop_marks(marks: MarkMap, path: YamlPath) -> None:
    for key in [p for p in marks if has_prefix(p, path)]:
        del marks[key]


def copy_marks(source: MarkMap, source_path: YamlPath, marks: MarkMap, target_path: YamlPath) -> None:
    """Graft the marks of the patch subtree at `source_path` under `target_path`."""
    for path, mark in source.items():
        if has_prefix(path, source_path):
            marks[(*target_path, *path[len(source_path):])] = mark


def merge(target: dict[str, Any], target_path: YamlPath, marks: MarkMap,
          patch: dict[str, Any], patch_path: YamlPath, patch_marks: MarkMap) -> None:
    """Deep-merge `patch` into `target` in place, moving marks along."""
    for key, value in patch.items():
        dst, src = (*target_path, key), (*patch_path, key)
        if value is None:
            target.pop(key, None)
            drop_marks(marks, dst)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], dst, marks, value, src, patch_marks)
        else:
            target[key] = copy.deepcopy(value)
            drop_marks(marks, dst)
            copy_marks(patch_marks, src, marks, dst)


def identity_changes(address: Address, patch: dict[str, Any], current: dict[str, Any]) -> List[Tuple[str, Any]]:

    """An override may not rename what it targets (that would change its address)."""
    key = spec_for(address.type).id_key
    if key in patch and patch[key] != current.get(key):
        return [(key, patch[key])]
    return []
