"""`clone_json`, the engine's copy of DSS documents and attribute sets: as deep as `copy.deepcopy`."""

from __future__ import annotations

import copy

from dataiku_iac.model import clone_json


def test_a_deep_equal_copy_sharing_nothing_mutable() -> None:
    doc = {"params": {"path": "/x", "rules": [{"a": 1}]}, "tags": ["t"], "n": 1.5, "ok": True, "none": None}
    out = clone_json(doc)
    assert out == doc
    out["params"]["rules"][0]["a"] = 2
    out["tags"].append("u")
    assert doc == {"params": {"path": "/x", "rules": [{"a": 1}]}, "tags": ["t"], "n": 1.5, "ok": True, "none": None}


def test_what_is_not_json_is_deep_copied() -> None:
    inner = {"k": [1]}
    value = {"pair": (inner, 2)}
    out = clone_json(value)
    assert out == copy.deepcopy(value)
    out["pair"][0]["k"].append(2)
    assert inner == {"k": [1]}
