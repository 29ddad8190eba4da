"""`clone`, the emulator's copy of JSON documents: as deep as `copy.deepcopy` for what the store holds."""

from __future__ import annotations

import copy

from dss_emulator.jsoncopy import clone


def test_clone_is_deep_and_equal():
    doc = {"a": [1, 2.5, {"b": None, "c": True}], "d": {"e": ["x"]}, "f": "s"}
    out = clone(doc)
    assert out == doc
    out["a"][2]["b"] = 1
    out["d"]["e"].append("y")
    assert doc == {"a": [1, 2.5, {"b": None, "c": True}], "d": {"e": ["x"]}, "f": "s"}


def test_clone_deep_copies_what_is_not_json():
    inner = {"k": [1]}
    value = {"t": (inner,), "s": {1, 2}}
    out = clone(value)
    assert out == copy.deepcopy(value)
    out["t"][0]["k"].append(2)
    assert inner == {"k": [1]}
    assert out["s"] is not value["s"]
