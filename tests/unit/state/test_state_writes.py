"""Writes: atomic, strictly increasing serials, foreign lineage and stale serials refused, every
serial kept in history, rollback as a new serial."""

from __future__ import annotations

import json

import pytest
from dataiku_iac.errors import StateConflictError, StateError
from dataiku_iac.state import StateDocument
from dataiku_iac.state.store import STATE_BLOB, history_blob
from statetest_helpers import doc_with, resource, writer_on

from tests.support.state_cycles import check_empty_states_keep_the_lineage


def test_empty_store_reads_as_new_document(writer):
    doc = writer.read()
    assert doc.serial == 0 and doc.resources == {} and doc.environment == "dev"
    assert writer.history() == []
    assert writer.store.list() == [], "reading never creates anything"


def test_write_increments_serial_and_keeps_every_serial(writer):
    doc = doc_with()
    serials = []
    for expected in range(5):
        doc.put(resource(name=f"NEW_{expected}"))
        doc = writer.write(doc, expected_serial=expected, operation=f"apply {expected}")
        serials.append(doc.serial)
    assert serials == [1, 2, 3, 4, 5]
    history = writer.history()
    assert [h.serial for h in history] == [1, 2, 3, 4, 5]
    assert [h.operation for h in history] == [f"apply {i}" for i in range(5)]
    assert [h.resource_count for h in history] == [4, 5, 6, 7, 8]
    assert all(h.lineage == doc.lineage and h.written_at for h in history)
    assert writer.read_serial(3).resources.keys() == writer.read_serial(3).resources.keys()
    assert len(writer.read_serial(2).resources) == 5


def test_written_document_round_trips(writer):
    doc = doc_with()
    doc.put(resource(name="SECRETIVE", protect=True, origin="imported"))
    doc.put(resource("project", "SEC", attributes={"variables": {"local": {
        "token": {"secret_env": "IAC_SECRET_TOKEN", "fingerprint": "scrypt-v1:" + "ab" * 16}}}}))
    written = writer.write(doc, expected_serial=0, operation="apply")
    again = writer.read()
    assert again == written
    assert again.resources == doc.resources
    assert again.tool_version and again.operation == "apply"


def test_stale_expected_serial_is_refused(writer):
    doc = writer.write(doc_with(), expected_serial=0, operation="apply")
    writer.write(doc, expected_serial=1, operation="apply")
    with pytest.raises(StateConflictError, match=r"expected stored serial 1 but .* is at serial 2"):
        writer.write(doc, expected_serial=1, operation="apply")
    with pytest.raises(StateConflictError):
        writer.write(doc, expected_serial=5, operation="apply")
    assert writer.read().serial == 2


def test_first_write_expects_serial_zero(writer):
    with pytest.raises(StateConflictError):
        writer.write(doc_with(), expected_serial=1, operation="apply")


def test_foreign_lineage_is_refused(writer):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    stranger = doc_with()  # a fresh lineage
    with pytest.raises(StateConflictError, match="different state"):
        writer.write(stranger, expected_serial=1, operation="apply")


def test_any_lineage_accepted_on_empty_store(writer):
    doc = doc_with()
    assert writer.write(doc, expected_serial=0, operation="apply").lineage == doc.lineage


def test_other_environment_document_is_refused(writer):
    with pytest.raises(StateConflictError, match="environment 'prod'"):
        writer.write(doc_with(env="prod"), expected_serial=0, operation="apply")


def test_write_does_not_mutate_the_callers_document(writer):
    doc = doc_with()
    writer.write(doc, expected_serial=0, operation="apply")
    assert doc.serial == 0 and doc.operation is None


def test_invalid_document_is_never_written(writer):
    doc = doc_with()
    doc.resources["dataset.DEMO.X"] = resource(name="Y")  # key differs from address
    with pytest.raises(StateError):
        writer.write(doc, expected_serial=0, operation="apply")
    assert writer.store.list() == []


def test_serialization_is_deterministic_and_sorted(writer, store):
    doc = StateDocument.new("dev")
    for name in ["Z", "A", "M"]:
        doc.put(resource(name=name, attributes={"b": 1, "a": {"y": 2, "x": 1}}))
    writer.write(doc, expected_serial=0, operation="apply")
    data = json.loads(store.get(STATE_BLOB))
    assert list(data["resources"]) == sorted(data["resources"])
    assert list(data["resources"]["dataset.DEMO.A"]["attributes"]) == ["a", "b"]
    assert store.get(STATE_BLOB) == store.get(history_blob(1))


def test_kill_between_history_and_pointer_keeps_previous_state(recording):
    writer = writer_on(recording)
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    changed = first.copy()
    changed.put(resource(name="ADDED"))
    recording.fail_put = STATE_BLOB  # history/2 gets written, then the process "dies"
    with pytest.raises(KeyboardInterrupt):
        writer.write(changed, expected_serial=1, operation="apply")
    assert recording.get(history_blob(2)) is not None
    recording.fail_put = None

    reader = writer_on(recording)  # a new process
    seen = reader.read()
    assert seen == first
    assert [h.serial for h in reader.history()] == [1], "the uncommitted serial is not listed"

    # The next write reuses serial 2 and keeps the uncommitted snapshot aside, not lost.
    again = reader.write(changed, expected_serial=1, operation="apply")
    assert again.serial == 2 and reader.read() == again
    assert len(recording.list("orphaned/")) == 1


def test_kill_during_first_write_leaves_an_empty_state(recording):
    writer = writer_on(recording)
    recording.fail_put = STATE_BLOB
    with pytest.raises(KeyboardInterrupt):
        writer.write(doc_with(), expected_serial=0, operation="apply")
    recording.fail_put = None
    assert writer.read().serial == 0
    assert writer.write(doc_with(), expected_serial=0, operation="apply").serial == 1


def test_kill_while_writing_history_keeps_previous_state(recording):
    writer = writer_on(recording)
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    recording.fail_put = history_blob(2)
    with pytest.raises(KeyboardInterrupt):
        writer.write(first, expected_serial=1, operation="apply")
    recording.fail_put = None
    assert writer.read() == first


def test_no_partial_file_is_ever_visible(tmp_path, store):
    """put writes a temp file and renames it: the final name only ever holds complete blobs."""
    writer = writer_on(store)
    doc = doc_with(count=200)
    writer.write(doc, expected_serial=0, operation="apply")
    leftovers = [p for p in store.root.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_restore_writes_an_old_snapshot_as_a_new_serial(writer):
    doc = writer.write(doc_with(), expected_serial=0, operation="apply")
    bigger = doc.copy()
    bigger.put(resource(name="LATER"))
    writer.write(bigger, expected_serial=1, operation="apply")
    restored = writer.restore(1, operation="rollback")
    assert restored.serial == 3 and restored.lineage == doc.lineage
    assert restored.resources == doc.resources
    assert writer.read() == restored
    assert [h.serial for h in writer.history()] == [1, 2, 3]
    assert writer.history()[-1].operation == "rollback (restored serial 1)"


def test_restore_of_unknown_serial_names_the_history_command(writer):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    with pytest.raises(StateError, match="dataiku-iac state history -e dev"):
        writer.restore(7, operation="rollback")


def test_history_files_are_named_by_zero_padded_serial(writer, store):
    doc = doc_with()
    for expected in range(3):
        doc = writer.write(doc, expected_serial=expected, operation="apply")
    assert store.list("history/") == [f"history/{s:010d}.json" for s in (1, 2, 3)]


def test_restore_refuses_to_overwrite_a_newer_format(writer, store):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    data = json.loads(store.get(STATE_BLOB))
    data["format_version"] = 3
    store.put(STATE_BLOB, json.dumps(data).encode())
    with pytest.raises(StateError, match="upgrade dataiku-iac"):
        writer.restore(1, operation="rollback")
    assert json.loads(store.get(STATE_BLOB))["format_version"] == 3


def test_restore_after_an_interrupted_write_sets_the_orphan_aside(recording):
    writer = writer_on(recording)
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    writer.write(first, expected_serial=1, operation="apply")
    recording.fail_put = STATE_BLOB
    with pytest.raises(KeyboardInterrupt):
        writer.write(first, expected_serial=2, operation="apply")
    recording.fail_put = None
    restored = writer_on(recording).restore(1, operation="rollback")
    assert restored.serial == 3 and len(recording.list("orphaned/")) == 1


def test_write_revalidates_a_state_changed_behind_its_back(writer, store):
    doc = writer.write(doc_with(), expected_serial=0, operation="apply")
    other = writer_on(store)
    other.write(doc, expected_serial=1, operation="apply")  # another process moved the serial on
    with pytest.raises(StateConflictError, match="is at serial 2"):
        writer.write(doc, expected_serial=1, operation="apply")


def test_history_lists_headers_and_defers_resource_validation(writer, store):
    writer.write(doc_with(), expected_serial=0, operation="apply")
    data = json.loads(store.get(history_blob(1)))
    data["resources"]["project.DEMO"]["protect"] = "yes"
    store.put(history_blob(1), json.dumps(data).encode())
    assert writer.history()[0].error is None  # listing stays cheap on long histories
    with pytest.raises(StateError, match="protect must be"):
        writer.read_serial(1)


def test_restore_refuses_while_a_journal_holds_unreplayed_outcomes(writer):
    doc = writer.write(doc_with(), expected_serial=0, operation="apply")
    writer.journal_begin(base_serial=1, lineage=doc.lineage, operation="apply")
    rs = resource(name="NEW")
    writer.journal_append({"seq": 1, "kind": "outcome", "action": "create", "address": rs.address,
                           "ok": True, "resource": rs.to_json()})
    with pytest.raises(StateConflictError, match="--resume"):
        writer.restore(1, operation="rollback")
    writer.compact_journal()
    assert writer.restore(1, operation="rollback").serial == 3


def test_a_state_holding_no_resources_keeps_its_lineage(store):
    """Issue 10: after a destroy the state holds no resources; it must still be *the* state (one
    lineage, serials continuing), not a missing one that a new lineage replaces."""
    check_empty_states_keep_the_lineage(lambda: writer_on(store))
