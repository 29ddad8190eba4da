"""YAML paths and source locations.

A YAML path is a tuple of mapping keys (str) and list indexes (int), e.g.
``("datasets", 2, "format")``, rendered ``datasets[2].format`` in diagnostics.
Every node the safe loader builds gets a `Mark`: where its value starts and, for a
mapping entry, where its key starts. Overridden values keep the marks of the
environment file they came from, so a mark also names its file and the path of the
node inside that file.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import MutableMapping, Optional, Tuple, Union

PathElem = Union[str, int]
YamlPath = Tuple[PathElem, ...]

_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def render_path(path: YamlPath) -> str:
    """``("datasets", 2, "format")`` -> ``datasets[2].format``; odd keys are quoted."""
    out = ""
    for elem in path:
        if isinstance(elem, int):
            out += f"[{elem}]"
        elif _BARE_KEY.match(elem):
            out += f".{elem}" if out else elem
        else:
            out += f"[{json.dumps(elem, ensure_ascii=False)}]"
    return out


@dataclass(frozen=True)
class Mark:
    """Where one node comes from. Lines and columns are 1-based."""

    file: str
    source_path: YamlPath  # the node's path inside `file` (differs from its doc path for overrides)
    line: int
    column: int
    key_line: int = 0  # the mapping key's position, when the node is a mapping value
    key_column: int = 0

    def entry_position(self) -> Tuple[int, int]:
        """The start of the entry: the key for a mapping value, else the value itself."""
        if self.key_line:
            return self.key_line, self.key_column
        return self.line, self.column


# A mutable mapping, not a dict: the marks of a cached file are read only when needed (cache.LazyMarks).
MarkMap = MutableMapping[YamlPath, Mark]


def nearest_mark(marks: MarkMap, path: YamlPath) -> Tuple[Optional[Mark], YamlPath]:
    """The mark of `path` or of its nearest marked ancestor, and the path it belongs to."""
    probe = tuple(path)
    while True:
        mark = marks.get(probe)
        if mark is not None or not probe:
            return mark, probe
        probe = probe[:-1]


def source_path_for(marks: MarkMap, path: YamlPath) -> Tuple[Optional[Mark], YamlPath]:
    """The nearest mark and the path to print: the mark's own file path plus what was not marked."""
    mark, found = nearest_mark(marks, path)
    if mark is None:
        return None, tuple(path)
    return mark, tuple(mark.source_path) + tuple(path[len(found):])


def has_prefix(path: YamlPath, prefix: YamlPath) -> bool:
    return len(path) >= len(prefix) and tuple(path[: len(prefix)]) == tuple(prefix)
