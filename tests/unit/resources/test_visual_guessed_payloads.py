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
from dataiku_iac.resources.visual import kind_of

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


# -- topn --------------------------------------------------------------------------------------------
TOP_PER_CUSTOMER = {"firstRows": 3, "lastRows": 1, "keys": ["customer"], "orders": [{"column": "amount", "desc": True}],
                    "retrievedColumnsSelectionMode": "EXPLICIT", "retrievedColumns": ["order_id", "amount"],
                    "rowNumber": False, "rank": True, "denseRank": False, "duplicateCount": True,
                    "preFilter": {"enabled": False, "distinct": False}, "computedColumns": [], "outputColumnNameOverrides": {}}


def test_topn_reads_what_its_editor_writes() -> None:
    attrs = _read("topn", TOP_PER_CUSTOMER)
    assert {k: attrs[k] for k in ("top", "bottom", "order_by", "group_by", "columns", "ranks", "duplicate_count")} == {
        "top": 3, "bottom": 1, "order_by": [{"column": "amount", "desc": True}], "group_by": ["customer"],
        "columns": ["order_id", "amount"], "ranks": ["rank"], "duplicate_count": True}
    assert "unsupported" not in attrs


def test_topn_numbers_of_rows_written_back_as_floats_are_the_same() -> None:
    attrs = _read("topn", {**TOP_PER_CUSTOMER, "firstRows": 3.0, "lastRows": 1.0})
    assert (attrs["top"], attrs["bottom"]) == (3, 1)


def test_topn_keeping_all_columns_ignores_the_list_dss_keeps() -> None:
    assert _read("topn", {**TOP_PER_CUSTOMER, "retrievedColumnsSelectionMode": "ALL"})["columns"] is None
    older = {k: v for k, v in TOP_PER_CUSTOMER.items() if k != "retrievedColumnsSelectionMode"}
    assert _read("topn", {**older, "retrievedColumns": []})["columns"] is None
    assert _read("topn", older)["columns"] == ["order_id", "amount"]


def test_topn_without_rows_or_ordering_is_not_expressed() -> None:
    assert _read("topn", {**TOP_PER_CUSTOMER, "firstRows": 0, "lastRows": 0})["unsupported"]
    assert _read("topn", {**TOP_PER_CUSTOMER, "orders": []})["unsupported"]


def test_topn_switching_to_all_columns_keeps_the_list() -> None:
    written = _written("topn", TOP_PER_CUSTOMER, {"columns": None, "top": 5})
    assert written["retrievedColumnsSelectionMode"] == "ALL" and written["retrievedColumns"] == ["order_id", "amount"]
    assert written["firstRows"] == 5 and written["lastRows"] == 1


def test_topn_saying_what_the_payload_says_leaves_it_untouched() -> None:
    doc = _doc("topn", TOP_PER_CUSTOMER)
    before = copy.deepcopy(doc)
    attrs = _read("topn", TOP_PER_CUSTOMER)
    kind = kind_of("topn")
    assert kind is not None
    recipe.patch_document(doc, {"kind": "topn", **{k: attrs[k] for k in kind.defaults}}, CTX)
    assert doc == before


def test_topn_is_created_as_its_plain_creator_does_with_no_creation_settings() -> None:
    kind = kind_of("topn")
    assert kind is not None
    attrs = {"kind": "topn", "inputs": {"main": ["orders"]}, "outputs": {"main": ["out"]}}
    prototype, creation = recipe._as_creator_would(kind, "r", attrs, CTX)
    assert creation == {} and prototype["type"] == "topn"
