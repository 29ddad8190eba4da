"""The visual recipe kinds against real DSS documents (tests/fixtures/dss-samples/recipe).

For each real payload of a kind the configuration knows: what the tool reads of it, written as
config (import), builds back to the same attributes (so an imported recipe plans no change), and
writing those attributes into the document changes nothing (so an apply never rewrites a payload
that already says what the config says).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Optional

import pytest
from dataiku_iac.resources import recipe
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.visual import KINDS

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "dss-samples" / "recipe"


def _documents() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(SAMPLES.glob("*.payload.json")):
        definition = path.with_name(path.name.replace(".payload.json", ".json"))
        doc = json.loads(definition.read_text()) if definition.exists() else None
        kind = doc["type"] if doc else path.name.split("_")[0]
        if kind in KINDS:
            doc = doc or {"type": kind, "inputs": {"main": {"items": [{"ref": "in_0"}]}},
                          "outputs": {"main": {"items": [{"ref": "out"}]}}}
            doc.setdefault("name", path.name.split(".")[0])
            found.append((path.name, {"recipe": doc, "payload": path.read_text()}))
    return found


DOCUMENTS = _documents()


class _Ctx:
    """The contexts of build and import, with nothing declared besides the item."""

    key = effective_key = "SAMPLES"

    def __init__(self) -> None:
        self.errors: list[tuple[tuple, str]] = []

    def error(self, path: tuple, message: str, hint: Optional[str] = None) -> None:
        self.errors.append((path, message))

    def require(self, *args: Any) -> None: ...
    def require_any(self, *args: Any) -> None: ...
    def declared(self, type_: str, name: str) -> None: return None
    def did_you_mean(self, word: str, candidates: Any) -> None: return None
    def defaults(self, type_: str) -> dict: return {}
    def setting(self, name: str) -> None: return None
    def remap_connection(self, attribute: str, written: Any) -> Any: return written
    def remap_code_env(self, attribute: str, written: str) -> str: return written
    def file_text(self, rel: str) -> str: return ""
    def write(self, rel: str, text: str) -> None: ...
    def config_connection(self, name: Any) -> Any: return name
    def config_code_env(self, name: str) -> str: return name


def test_real_payloads_of_known_kinds_are_present() -> None:
    assert {doc["recipe"]["type"] for _, doc in DOCUMENTS} >= {"grouping"}


@pytest.mark.parametrize(("name", "doc"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_a_real_payload_imports_to_config_that_builds_back_the_same(name: str, doc: dict) -> None:
    handler = recipe.SPEC.handler
    observed = handler.to_logical(doc, ProjectContext("SAMPLES"))
    ctx = _Ctx()
    item = recipe.to_config(doc["recipe"]["name"], observed, ctx)
    assert item is not None, f"{name}: a real document the typed keys cannot say"
    built = recipe.build(json.loads(json.dumps(item)), ctx)
    assert ctx.errors == []
    kind = KINDS[doc["recipe"]["type"]]
    for field in [*kind.defaults, "kind"]:
        assert handler.policy.equal(field, built[field], observed[field]), (name, field, built[field], observed[field])
    if "payload" in built:  # the raw keys import wrote are what DSS has
        assert handler.policy.equal("payload", built["payload"], observed["payload"])


@pytest.mark.parametrize(("name", "doc"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_writing_what_a_payload_says_leaves_it_untouched(name: str, doc: dict) -> None:
    handler = recipe.SPEC.handler
    ctx = ProjectContext("SAMPLES")
    observed = handler.to_logical(doc, ctx)
    kind = KINDS[doc["recipe"]["type"]]
    patched = copy.deepcopy(doc)
    recipe.patch_document(patched, {k: observed[k] for k in [*kind.defaults, "kind", "inputs"]}, ctx)
    assert patched["payload"] == doc["payload"], f"{name}: rewritten"


@pytest.mark.parametrize(("name", "doc"), DOCUMENTS, ids=[n for n, _ in DOCUMENTS])
def test_a_change_to_the_typed_settings_is_written_and_read_back(name: str, doc: dict) -> None:
    handler = recipe.SPEC.handler
    ctx = ProjectContext("SAMPLES")
    observed = handler.to_logical(doc, ctx)
    kind = KINDS[doc["recipe"]["type"]]
    changed = {k: copy.deepcopy(observed[k]) for k in kind.defaults}
    if "post_filter" in changed:
        changed["post_filter"] = {"expression": "x > 1", "distinct": True}
    elif "pre_filter" in changed:  # split
        changed["pre_filter"] = {"sql": "x > 1"}
    elif "probabilities" in changed:  # score
        changed["probabilities"] = not changed["probabilities"]
    elif "labels" in changed:  # evaluate
        changed["labels"], changed["compute_performance"] = {"source": "weekly"}, not changed["compute_performance"]
    else:  # prepare
        changed["steps"] = [*changed["steps"], {"type": "ColumnRenamer", "params": {"renamings": []}, "disabled": True}]
    patched = copy.deepcopy(doc)
    recipe.patch_document(patched, changed, ctx)
    again = handler.to_logical(patched, ctx)
    assert {k: again[k] for k in kind.defaults} == changed
