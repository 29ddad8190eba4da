"""No false differences on real DSS documents (dss-samples/).

For every dataset, folder, recipe and scenario document DSS wrote, the logical attributes
read from it must still compare equal after the changes DSS makes on its own: a bumped
versionTag and creationTag, new default keys after an upgrade (top level and nested),
another key order, integral floats. This is what keeps `plan` and `drift` quiet when
nobody changed anything.
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path

import pytest
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.registry import child_specs, handler_for
from hypothesis import given, settings
from hypothesis import strategies as st

# A vendored copy of ../shared/dss-samples (real DSS documents; see its SOURCES.md).
SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "dss-samples"
# The types inside a project, from the registry: a new built-in type's samples are read without
# editing this file.
KINDS = tuple(spec.type for spec in child_specs())


def sample_paths(type_: str) -> list[Path]:
    """A type's real documents: the folder named after it (`dataset/*.json`), or a single file
    named after it among the others (`other/flow_zone.json`, `other/flow_zone_*.json`)."""
    in_folder = sorted((SAMPLES / type_).glob("*.json"))
    single = sorted([*(SAMPLES / "other").glob(f"{type_}.json"), *(SAMPLES / "other").glob(f"{type_}_*.json")])
    return [p for p in [*in_folder, *single] if not p.name.endswith(".payload.json")]


def _documents() -> list[tuple[str, str, dict]]:
    return [(type_, path.name, _api_shape(type_, path)) for type_ in KINDS for path in sample_paths(type_)]


def _api_shape(type_: str, path: Path) -> dict:
    """The on-disk documents lack what the API adds (name, projectKey, id, payload)."""
    doc = json.loads(path.read_text())
    stem = path.stem
    if type_ == "dataset":
        doc.setdefault("name", stem)
        doc.setdefault("projectKey", "SAMPLES")
    elif type_ == "managed_folder":
        doc.setdefault("id", "AbCd1234")
        doc.setdefault("name", stem)
    elif type_ == "recipe":
        payload = path.with_name(stem + ".payload.json")
        doc.setdefault("name", stem)
        doc = {"recipe": doc, "payload": payload.read_text() if payload.exists() else ""}
    elif type_ == "scenario":
        doc.setdefault("id", stem.upper())
    elif type_ == "flow_zone":
        doc.setdefault("id", "Ab1Cd2E")  # the API's zone documents carry the id DSS gave the zone
    elif type_ == "webapp":  # the API's settings carry the id (the code files are not vendored)
        doc.setdefault("id", "AbC1dE2")
    elif type_ == "wiki_article":  # the API wraps the metadata with the markdown (two files on disk)
        body = path.with_suffix(".md")
        doc = {"article": {**doc, "id": "1"}, "payload": body.read_text() if body.exists() else "", "_id": "1"}
    elif type_ == "ml_task":  # the settings and the visual analysis holding them (two reads)
        analysis = {"id": "AnLs1234", "name": stem, "inputDatasetSmartName": "customers"}
        doc = {"analysisId": "AnLs1234", "mlTaskId": doc.get("id") or "MlTk1234", "settings": doc, "analysis": analysis}
    elif type_ == "saved_model":  # the API's documents carry the id; the list of versions is another read
        doc.setdefault("id", "SvMd1234")
        doc.setdefault("_versions", [{"id": doc.get("activeVersion"), "active": True}])
    return doc


# Where a type's first field lives when its document wraps others (an ML task's dataset: its analysis's).
_FIRST_FIELD_AT = {"ml_task": ("analysis", "inputDatasetSmartName"), "saved_model": ("", "activeVersion")}


def _perturb(doc: dict, seed: int) -> dict:
    """What DSS does to a document without anyone changing its configuration."""
    rng = random.Random(seed)
    changed = copy.deepcopy(doc)
    target = changed.get("recipe", changed)
    for tag in ("versionTag", "creationTag"):
        if isinstance(target.get(tag), dict):
            target[tag]["versionNumber"] = target[tag].get("versionNumber", 0) + rng.randint(1, 50)
            target[tag]["lastModifiedOn"] = target[tag].get("lastModifiedOn", 0) + rng.randint(1, 10**9)
            target[tag]["extendedProperties"] = {}
    _add_defaults(changed, rng)
    changed = _reorder(changed, rng)
    if isinstance(changed.get("payload"), str) and changed["payload"].lstrip().startswith("{"):
        # A visual recipe's payload is JSON in a string: DSS adds defaults inside it too.
        payload = json.loads(changed["payload"])
        _add_defaults(payload, rng)
        changed["payload"] = json.dumps(_reorder(payload, rng), indent=rng.choice([None, 2]))
    return changed


# Mappings keyed by the user's own names (output column -> new name): DSS adds no default there.
USER_KEYED = ("outputColumnNameOverrides", "columnWidthsByName", "renamings")


def _add_defaults(node: object, rng: random.Random, depth: int = 0) -> None:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if key not in USER_KEYED:
                _add_defaults(value, rng, depth + 1)
        if depth <= 2 and rng.random() < 0.7:
            node[f"newServerDefault{rng.randint(0, 999)}"] = rng.choice([False, 0, "V2", {}, []])
    elif isinstance(node, list):
        for value in node:
            _add_defaults(value, rng, depth + 1)


def _reorder(node: object, rng: random.Random) -> object:
    if isinstance(node, dict):
        keys = list(node)
        rng.shuffle(keys)
        return {k: _reorder(node[k], rng) for k in keys}
    if isinstance(node, list):
        return [_reorder(v, rng) for v in node]
    if isinstance(node, int) and not isinstance(node, bool) and rng.random() < 0.3:
        return float(node)
    return node


DOCUMENTS = _documents()


def test_samples_are_present() -> None:
    assert len(DOCUMENTS) >= 40, f"expected the dss-samples documents, found {len(DOCUMENTS)} in {SAMPLES}"


def test_a_type_may_have_a_single_sample_file() -> None:
    """A type with one real document keeps it as `other/<type>.json` (no folder of its own)."""
    assert sample_paths("flow_zone") == [SAMPLES / "other" / "flow_zone.json"]
    assert len(sample_paths("dataset")) >= 5


def _assert_no_diff(type_: str, name: str, doc: dict, seed: int) -> None:
    handler = handler_for(type_)
    ctx = ProjectContext("SAMPLES", folder_ids={"dashboards": "AbCd1234"})
    desired = handler.to_logical(doc, ctx)
    observed = handler.to_logical(_perturb(doc, seed), ctx)
    differing = [f for f in desired if not handler.policy.equal(f, desired[f], observed.get(f))]
    assert not differing, f"{name}: false difference on {differing} after DSS-side churn (seed {seed})"


@pytest.mark.parametrize(("type_", "name", "doc"), DOCUMENTS, ids=[f"{t}/{n}" for t, n, _ in DOCUMENTS])
def test_dss_churn_is_not_a_change(type_: str, name: str, doc: dict) -> None:
    _assert_no_diff(type_, name, doc, seed=7)


@settings(max_examples=60, deadline=None)
@given(index=st.integers(min_value=0, max_value=len(DOCUMENTS) - 1), seed=st.integers(min_value=0, max_value=10**6))
def test_dss_churn_is_never_a_change(index: int, seed: int) -> None:
    type_, name, doc = DOCUMENTS[index]
    _assert_no_diff(type_, name, doc, seed)


# A few documents of every type (the first in registration order would be one type's only).
SOME = [d for t in KINDS for d in [d for d in DOCUMENTS if d[0] == t][:5]]


@pytest.mark.parametrize(("type_", "name", "doc"), SOME, ids=[f"{t}/{n}" for t, n, _ in SOME])
def test_a_real_change_is_seen(type_: str, name: str, doc: dict) -> None:
    """The comparison is not blind: changing a managed value is reported (the tags, or for a type
    without tags its first field, a top-level key of its document)."""
    handler = handler_for(type_)
    ctx = ProjectContext("SAMPLES")
    desired = handler.to_logical(doc, ctx)
    changed = copy.deepcopy(doc)
    target = changed.get("recipe", changed)
    field = "tags" if "tags" in handler.policy.names() else handler.policy.names()[0]
    if field == "tags":
        target["tags"] = list(target.get("tags") or []) + ["changed-behind-our-back"]
    elif type_ == "wiki_article":  # its first field, the markdown, is the payload
        target["payload"] = "changed-behind-our-back"
    elif type_ in _FIRST_FIELD_AT:
        holder, key = _FIRST_FIELD_AT[type_]
        (target[holder] if holder else target)[key] = "changed-behind-our-back"
    else:
        target[field] = "changed-behind-our-back"
    observed = handler.to_logical(changed, ctx)
    assert not handler.policy.equal(field, desired[field], observed[field])
