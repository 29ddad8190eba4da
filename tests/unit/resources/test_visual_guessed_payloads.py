"""The visual kinds whose payload no real DSS document shows (distinct, topn): the shapes DSS's
own editors and public observations give, read and written as the typed keys say.

No sample exists for these kinds (tests/fixtures/dss-samples/recipe), so test_visual_samples
cannot reach them: these payloads are hand-written in the shapes docs/emulator.md lists.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from dataiku_iac.resources import recipe
from dataiku_iac.resources.base import ProjectContext

CTX = ProjectContext("P")


def _doc(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"recipe": {"type": kind, "name": "r", "inputs": {"main": {"items": [{"ref": "orders"}]}},
                       "outputs": {"main": {"items": [{"ref": "out"}]}}},
            "payload": json.dumps(payload)}


def _read(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return recipe.SPEC.handler.to_logical(_doc(kind, payload), CTX)


def _written(kind: str, payload: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    doc = _doc(kind, payload)
    recipe.patch_document(doc, {"kind": kind, **attrs}, CTX)
    return json.loads(doc["payload"])


# -- distinct --------------------------------------------------------------------------------------
SOME_KEYS = {"keys": [{"column": "customer"}, {"column": "country"}], "selectAllColumns": False, "globalCount": True}


def test_distinct_on_some_columns_reads_its_keys() -> None:
    assert _read("distinct", SOME_KEYS)["keys"] == ["customer", "country"]
    assert _read("distinct", SOME_KEYS)["count"] is True


def test_distinct_on_all_columns_ignores_the_keys_dss_keeps_listed() -> None:
    attrs = _read("distinct", {**SOME_KEYS, "selectAllColumns": True})
    assert attrs["keys"] == [] and "unsupported" not in attrs


def test_distinct_without_select_all_flag_compares_all_columns_when_it_lists_none() -> None:
    assert _read("distinct", {"keys": []})["keys"] == []
    assert _read("distinct", {"keys": [{"column": "customer"}]})["keys"] == ["customer"]


def test_distinct_on_no_column_is_not_expressed() -> None:
    assert _read("distinct", {"keys": [], "selectAllColumns": False})["unsupported"]


def test_distinct_switching_to_all_columns_sets_the_flag_and_keeps_the_list() -> None:
    written = _written("distinct", SOME_KEYS, {"keys": []})
    assert written["selectAllColumns"] is True and written["keys"] == SOME_KEYS["keys"]


def test_distinct_switching_to_some_columns_keeps_dss_keys_of_kept_entries() -> None:
    payload = {"keys": [{"column": "customer", "serverKey": 1}], "selectAllColumns": True}
    written = _written("distinct", payload, {"keys": ["country", "customer"]})
    assert written["selectAllColumns"] is False
    assert written["keys"] == [{"column": "country"}, {"column": "customer", "serverKey": 1}]


def test_distinct_saying_what_the_payload_says_leaves_it_untouched() -> None:
    doc = _doc("distinct", SOME_KEYS)
    before = copy.deepcopy(doc)
    attrs = _read("distinct", SOME_KEYS)
    recipe.patch_document(doc, {k: attrs[k] for k in ("kind", "keys", "count", "rename", "pre_filter", "post_filter")}, CTX)
    assert doc == before
