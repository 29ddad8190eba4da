"""The pivot and sampling kinds on the documents the emulator's creators make (no real sample of
them exists, tests/e2e/test_visual_recipes.py covers the round trip through DSS's API): a change
made in the UI reads as drift of the typed key that says it, an apply writes it back, and what the
typed keys cannot say is left out of an import with the reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Optional

import pytest
from dataiku_iac.resources import recipe
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.visual import KINDS

from tests.unit.resources.test_visual_samples import _Ctx

DEFAULTS = Path(__file__).resolve().parents[3] / "emulator" / "dss_emulator" / "defaults"
IO = {"inputs": {"main": {"items": [{"ref": "orders", "deps": []}]}},
      "outputs": {"main": {"items": [{"ref": "out", "appendMode": False}]}}}


def _default(name: str) -> Any:
    return json.loads((DEFAULTS / name).read_text())["document"]


def _created(kind: str) -> dict[str, Any]:
    """A recipe as the emulator's creator makes it (the payload and params DSS's creator is believed to write)."""
    params = _default("recipe_params_sampling.json") if kind == "sampling" else {}
    doc = {"recipe": {"type": kind, "name": f"r_{kind}", "params": params, **copy.deepcopy(IO)},
           "payload": json.dumps(_default(f"payload_{kind}.json"))}
    return doc


ITEMS = {
    "pivot": {"name": "r_pivot", "type": "pivot", "inputs": ["orders"], "outputs": ["out"], "keys": ["customer"],
              "pivot_columns": ["country"], "pivot_values": [["FR"], ["DE"]], "aggregations": {"amount": ["sum"]}},
    "sampling": {"name": "r_sampling", "type": "sampling", "inputs": ["orders"], "outputs": ["out"],
                 "method": "random_ratio", "ratio": 0.1, "seed": 3, "filter": {"expression": "amount > 0"}},
}
# A change made in the UI: (what it does to the document, the typed key that says it)
UI_CHANGES = {
    "pivot": (lambda doc, payload, params: payload["pivots"][0].update(valueLimit="TOP_N", topnLimit=5), "pivot_values"),
    "sampling": (lambda doc, payload, params: params["selection"].update(samplingMethod="HEAD_SEQUENTIAL",
                                                                          maxRecords=100), "method"),
}


class _ImportCtx(_Ctx):
    def __init__(self) -> None:
        super().__init__()
        self.reasons: list[str] = []

    def not_expressed(self, reason: str) -> None:
        self.reasons.append(reason)

    def declared(self, type_: str, name: str) -> Optional[dict]:
        return None


def _built(kind: str) -> dict[str, Any]:
    ctx = _Ctx()
    attrs = recipe.build(copy.deepcopy(ITEMS[kind]), ctx)
    assert ctx.errors == []
    return attrs


def _applied(kind: str) -> dict[str, Any]:
    doc = _created(kind)
    recipe.patch_document(doc, _built(kind), ProjectContext("P"))
    return doc


@pytest.mark.parametrize("kind", list(ITEMS))
def test_a_ui_change_is_drift_of_its_typed_key_and_an_apply_writes_it_back(kind: str) -> None:
    handler, ctx = recipe.SPEC.handler, ProjectContext("P")
    built, doc = _built(kind), _applied(kind)
    for typed in KINDS[kind].defaults:  # the apply wrote every typed key
        assert handler.policy.equal(typed, built[typed], handler.to_logical(doc, ctx)[typed]), typed
    change, field = UI_CHANGES[kind]
    payload, params = recipe.payload_of(doc), doc["recipe"]["params"]
    change(doc, payload, params)
    doc["payload"] = json.dumps(payload)
    drifted = handler.to_logical(doc, ctx)
    assert not handler.policy.equal(field, built[field], drifted[field])
    recipe.patch_document(doc, built, ctx)
    assert handler.policy.equal(field, built[field], handler.to_logical(doc, ctx)[field])


@pytest.mark.parametrize("kind", list(ITEMS))
def test_writing_what_a_recipe_says_changes_nothing(kind: str) -> None:
    doc = _applied(kind)
    again = copy.deepcopy(doc)
    recipe.patch_document(again, _built(kind), ProjectContext("P"))
    assert again == doc


@pytest.mark.parametrize(("kind", "change", "reason"), [
    ("pivot", lambda payload, params: payload["pivots"].append(copy.deepcopy(payload["pivots"][0])), "2 pivots"),
    ("sampling", lambda payload, params: params["selection"].update(partitionSelectionMethod="SELECTED"),
     "partitions selected as 'SELECTED'"),
    ("sampling", lambda payload, params: params["selection"].update(samplingMethod="COLUMN_ORDERED"),
     "sampling method 'COLUMN_ORDERED'"),
])
def test_what_the_typed_keys_cannot_say_is_left_out_of_an_import(kind: str, change: Any, reason: str) -> None:
    doc = _applied(kind)
    payload = recipe.payload_of(doc)
    change(payload, doc["recipe"]["params"])
    doc["payload"] = json.dumps(payload)
    ctx = _ImportCtx()
    observed = recipe.SPEC.handler.to_logical(doc, ProjectContext("P"))
    assert recipe.to_config(f"r_{kind}", observed, ctx) is None
    assert any(reason in r for r in ctx.reasons), ctx.reasons


def test_params_may_not_set_what_the_typed_keys_of_a_sampling_recipe_write() -> None:
    ctx = _Ctx()
    recipe.build({**ITEMS["sampling"], "params": {"selection": {"targetRatio": 0.5, "partitionSelectionMethod": "ALL"}}}, ctx)
    assert [(path, message) for path, message in ctx.errors] == [
        (("params", "selection", "targetRatio"),
         "params.selection.targetRatio is what 'ratio' of a sampling recipe writes: a setting has one place")]
