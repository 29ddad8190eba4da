"""The rules of `state rm`, `protect`, `mv` and `push` (state/edits.py), without the CLI: what may
be removed, protected, moved and pushed, and `edit`, which writes one serial under the lock and
refuses while an interrupted apply's journal waits."""

from __future__ import annotations

import json
import re

import pytest
from dataiku_iac import secrets as fp
from dataiku_iac.errors import IacError, StateError
from dataiku_iac.state import ResourceState, StateDocument, edits
from dataiku_iac.state.journal import JOURNAL_BLOB, header_line
from statetest_helpers import doc_with, resource

LINEAGE = "11111111-1111-4111-8111-111111111111"
KEY_A, KEY_B = "a1" * 32, "b2" * 32


def _doc(serial: int, lineage: str = LINEAGE, n: int = 1) -> StateDocument:
    doc = StateDocument.new("dev")
    doc.lineage, doc.serial = lineage, serial
    doc.put(ResourceState(address="project.P", type="project", project_key="P_DEV", name="P_DEV", dss_id="P_DEV",
                          attributes={"name": "p"}, version_tag=None, depends_on=[]))
    for i in range(n):
        doc.put(ResourceState(address=f"dataset.P.d{i}", type="dataset", project_key="P_DEV", name=f"d{i}",
                              dss_id=f"d{i}", attributes={}, version_tag=None, depends_on=["project.P"], protect=True))
    folder = ResourceState(address="managed_folder.P.old", type="managed_folder", project_key="P_DEV", name="old",
                           dss_id="Xk3P", attributes={}, version_tag=None, depends_on=["project.P"])
    doc.put(folder)
    return doc


# -- rm and protect -------------------------------------------------------------------------------


def test_rm_forgets_the_resources_and_says_dss_is_untouched():
    doc = _doc(3, n=2)
    messages = edits.remove(doc, ("dataset.P.d0", "dataset.P.d1"))
    assert doc.get("dataset.P.d0") is None and doc.get("dataset.P.d1") is None
    assert messages == [f"Removed dataset.P.d{i} from the state (the DSS object is untouched)." for i in (0, 1)]


def test_rm_names_every_missing_address_and_removes_nothing():
    doc = _doc(3)
    with pytest.raises(IacError, match=re.escape("not in the state: dataset.P.x, recipe.P.y")):
        edits.remove(doc, ("dataset.P.d0", "dataset.P.x", "recipe.P.y"))
    assert doc.get("dataset.P.d0") is not None


def test_protect_and_unprotect():
    doc = _doc(3)
    assert edits.protect(doc, ("managed_folder.P.old",)) == ["Protected managed_folder.P.old."]
    assert doc.get("managed_folder.P.old").protect
    assert edits.protect(doc, ("managed_folder.P.old", "dataset.P.d0"), on=False) == [
        "Unprotected managed_folder.P.old.", "Unprotected dataset.P.d0."]
    assert not doc.get("dataset.P.d0").protect
    with pytest.raises(IacError, match=re.escape("dataset.P.nope is not in the state")):
        edits.protect(doc, ("dataset.P.nope",))


# -- mv -------------------------------------------------------------------------------------------


def test_project_moves_carry_children_protection_and_dependencies():
    doc = _doc(3, n=2)
    moves = edits.plan_moves(doc, "project.P", "project.P_DEV")
    assert ("dataset.P.d1", "dataset.P_DEV.d1") in moves and len(moves) == 4
    edits.apply_moves(doc, moves)
    moved = doc.get("dataset.P_DEV.d0")
    assert moved.protect and moved.depends_on == ["project.P_DEV"] and moved.project_key == "P_DEV"
    assert doc.get("project.P_DEV").name == "P_DEV"


def test_folder_renames_are_allowed_dataset_renames_are_not():
    doc = _doc(3)
    assert edits.move(doc, "managed_folder.P.old", "managed_folder.P.new") == [
        "Moved managed_folder.P.old to managed_folder.P.new."]
    assert doc.get("managed_folder.P.new").dss_id == "Xk3P" and doc.get("managed_folder.P.new").name == "new"
    with pytest.raises(IacError, match="name is its identity in DSS"):
        edits.plan_moves(doc, "dataset.P.d0", "dataset.P.other")
    with pytest.raises(IacError, match="cannot move a dataset to a recipe"):
        edits.plan_moves(doc, "dataset.P.d0", "recipe.P.d0")
    with pytest.raises(IacError, match="not in the state"):
        edits.plan_moves(doc, "dataset.P.nope", "dataset.Q.nope")


def test_a_dataset_moves_to_another_project_address_under_its_name():
    doc = _doc(3)
    assert edits.plan_moves(doc, "dataset.P.d0", "dataset.Q.d0") == [("dataset.P.d0", "dataset.Q.d0")]


def test_moves_onto_taken_or_invalid_addresses_are_refused():
    doc = _doc(3, n=2)
    with pytest.raises(IacError, match=re.escape("dataset.P.d1 is already in the state")):
        edits.plan_moves(doc, "dataset.P.d0", "dataset.P.d1")
    with pytest.raises(IacError, match="invalid address"):
        edits.plan_moves(doc, "dataset.P.d0", "dataset.P")
    doc.put(ResourceState(address="dataset.Q.d0", type="dataset", project_key="Q", name="d0", dss_id="d0",
                          attributes={}, version_tag=None, depends_on=[]))
    with pytest.raises(IacError, match=re.escape("cannot move project P: already in the state: dataset.Q.d0")):
        edits.plan_moves(doc, "project.P", "project.Q")


# -- push -----------------------------------------------------------------------------------------


def test_push_rules():
    stored = _doc(5)
    assert edits.check_push(_doc(6), stored, environment="dev", force=False) == []
    with pytest.raises(StateError, match="older than the stored serial 5"):
        edits.check_push(_doc(4), stored, environment="dev", force=False)
    with pytest.raises(StateError, match="both serial 5 but differ"):
        edits.check_push(_doc(5, n=2), stored, environment="dev", force=False)
    foreign = _doc(9, lineage="22222222-2222-4222-8222-222222222222")
    with pytest.raises(StateError, match="a different state"):
        edits.check_push(foreign, stored, environment="dev", force=False)
    assert "keeps lineage 11111111" in edits.check_push(foreign, stored, environment="dev", force=True)[0]
    assert edits.check_push(foreign, StateDocument.new("dev"), environment="dev", force=False) == []
    with pytest.raises(StateError, match="environment 'dev', not 'prod'"):
        edits.check_push(_doc(6), stored, environment="prod", force=True)


def _with_secrets(doc: StateDocument, key: str) -> StateDocument:
    doc.fingerprint_key = key
    keyed = fp.Fingerprinter(key)("s3cret")
    doc.get("project.P").attributes["variables"] = {"standard": {
        "pw": {"secret_env": "PW", "fingerprint": keyed},
        "old": {"secret_env": "OLD", "fingerprint": fp.legacy_fingerprint("s3cret")},
        "unknown": {"secret_env": "UNKNOWN"},
    }}
    return doc


def test_a_push_keeps_the_stored_key_and_drops_fingerprints_made_under_another():
    stored = _with_secrets(_doc(5), KEY_A)
    pushed = _with_secrets(_doc(6, n=2), KEY_B)
    messages = edits.push(stored, pushed, environment="dev", force=False)
    assert stored.fingerprint_key == KEY_A and stored.lineage == LINEAGE and stored.get("dataset.P.d1") is not None
    refs = stored.get("project.P").attributes["variables"]["standard"]
    assert refs["pw"] == {"secret_env": "PW"}, "a fingerprint under KEY_B compares with nothing under KEY_A"
    assert fp.is_legacy(refs["old"]["fingerprint"]), "legacy fingerprints are kept for re-keying"
    assert messages == ["1 secret fingerprint(s) of the pushed state were made under another state's key: "
                        "unknown until the next apply records them."]


def test_a_push_under_the_same_key_keeps_every_fingerprint():
    stored = _with_secrets(_doc(5), KEY_A)
    pushed = _with_secrets(_doc(6, n=2), KEY_A)
    assert edits.push(stored, pushed, environment="dev", force=False) == []
    assert "fingerprint" in stored.get("project.P").attributes["variables"]["standard"]["pw"]


def test_a_first_push_brings_its_lineage_and_key():
    fresh = StateDocument.new("dev", fingerprint_key=KEY_A)
    pushed = _with_secrets(_doc(6, lineage="22222222-2222-4222-8222-222222222222"), KEY_B)
    edits.push(fresh, pushed, environment="dev", force=False)
    assert (fresh.lineage, fresh.fingerprint_key) == (pushed.lineage, KEY_B)
    assert "fingerprint" in fresh.get("project.P").attributes["variables"]["standard"]["pw"]


def test_pushing_the_stored_content_says_so():
    stored = _doc(5)
    assert edits.push(stored, _doc(5), environment="dev", force=False) == [
        "The stored state already holds this content: nothing written."]


# -- edit: one serial under the lock ---------------------------------------------------------------


def test_edit_writes_one_serial_under_the_lock(writer):
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    result = edits.edit(writer, "state rm", lambda doc: edits.remove(doc, ("dataset.DEMO.DS_0",)))
    assert result.written is not None and result.written.serial == first.serial + 1
    assert writer.read().get("dataset.DEMO.DS_0") is None
    assert writer.history()[-1].operation == "state rm"
    assert writer.current_lock() is None


def test_edit_writes_nothing_when_no_resource_changed(writer):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    result = edits.edit(writer, "state protect", lambda doc: edits.protect(doc, ("dataset.DEMO.DS_0",), on=False))
    assert result.written is None and result.messages == ["Unprotected dataset.DEMO.DS_0."]
    assert writer.read().serial == 1


def test_edit_releases_the_lock_when_a_rule_refuses(writer):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    with pytest.raises(IacError, match="not in the state"):
        edits.edit(writer, "state rm", lambda doc: edits.remove(doc, ("dataset.DEMO.NOPE",)))
    assert writer.current_lock() is None and writer.read().serial == 1


def test_edit_refuses_while_an_interrupted_apply_waits(writer, store):
    committed = writer.write(doc_with(), expected_serial=0, operation="apply")
    new = resource(name="NEW")
    header = header_line(lineage=committed.lineage, base_serial=1, operation="apply", started_at="t")
    entries = [{"seq": 1, "kind": "intent", "action": "create", "address": new.address, "time": "t"},
               {"seq": 1, "kind": "outcome", "action": "create", "address": new.address, "ok": True, "time": "t",
                "resource": new.to_json()}]
    store.put(JOURNAL_BLOB, header + b"".join((json.dumps(e) + "\n").encode() for e in entries))
    with pytest.raises(StateError, match="interrupted apply left a journal"):
        edits.edit(writer, "state rm", lambda doc: edits.remove(doc, ("dataset.DEMO.DS_0",)))
    assert writer.read().serial == 1 and writer.current_lock() is None
