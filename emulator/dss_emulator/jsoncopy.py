"""`clone`: a deep copy of JSON-shaped data, several times faster than `copy.deepcopy`.

The emulator copies documents on every read and write (a handler never hands out or keeps
a reference into the store). `copy.deepcopy` spends most of its time on its memo and
dispatch tables, which JSON data does not need: measured on a dataset's default document
(1.6 kB of JSON), 305 µs against 46 µs. At a first apply of 1,000 resources deepcopy was
half of the emulator's CPU, which shares the machine with the client being benchmarked.

Unlike deepcopy, a structure that holds the same dict or list twice gets two independent
copies (as a JSON round trip would give). Anything that is not a dict, list or JSON scalar
is copied with `copy.deepcopy`.
"""

from __future__ import annotations

import copy
from typing import TypeVar

T = TypeVar("T")
_SCALARS = frozenset({str, int, float, bool, type(None)})


def clone(value: T) -> T:
    kind = type(value)
    if kind is dict:
        return {key: clone(item) for key, item in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [clone(item) for item in value]  # type: ignore[attr-defined,return-value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)
