"""The apply journal: classification against the stored state (as Databricks classifies its WAL),
quarantine of garbage, torn last lines, pending intents, replay, and O(entry) appends."""

from __future__ import annotations

import json

import pytest
from dataiku_iac.errors import StateConflictError, StateCorruptError, StateError
from dataiku_iac.state import StateDocument, replay
from dataiku_iac.state.journal import CORRUPTED_BLOB, JOURNAL_BLOB, header_line
from hypothesis import given, settings
from hypothesis import strategies as st
from statetest_helpers import RecordingStore, doc_with, resource, writer_on


def _intent(seq, address, action="create"):
    return {"seq": seq, "kind": "intent", "action": action, "address": address, "time": "t"}


def _outcome(seq, rs=None, *, address=None, action="create", ok=True):
    entry = {"seq": seq, "kind": "outcome", "action": action, "address": address or rs.address, "ok": ok, "time": "t"}
    if rs is not None:
        entry["resource"] = rs.to_json()
    return entry


@pytest.fixture
def committed(writer):
    return writer.write(doc_with(), expected_serial=0, operation="apply")


def _raw_journal(store, base_serial, lineage, lines=()):
    header = header_line(lineage=lineage, base_serial=base_serial, operation="apply", started_at="t")
    body = b"".join(line if isinstance(line, bytes) else (json.dumps(line) + "\n").encode() for line in lines)
    store.put(JOURNAL_BLOB, header + body)


# -- classification ---------------------------------------------------------------------------


def test_no_journal(writer, committed):
    jr = writer.read_journal()
    assert jr.status == "none" and jr.entries == [] and jr.pending_intents() == []


def test_empty_journal(writer, store, committed):
    store.put(JOURNAL_BLOB, b"")
    assert writer.read_journal().status == "empty"


def test_header_only(writer, store, committed):
    _raw_journal(store, 1, committed.lineage)
    assert writer.read_journal().status == "header_only"


def test_ok_journal_has_entries_to_replay(writer, store, committed):
    rs = resource(name="NEW")
    _raw_journal(store, 1, committed.lineage, [_intent(1, rs.address), _outcome(1, rs)])
    jr = writer.read_journal()
    assert jr.status == "ok" and len(jr.entries) == 2 and jr.base_serial == 1 and jr.operation == "apply"
    jr.raise_for_status()


def test_stale_journal(writer, store, committed):
    writer.write(committed, expected_serial=1, operation="apply")
    _raw_journal(store, 1, committed.lineage, [_intent(1, "dataset.DEMO.X")])
    jr = writer.read_journal()
    assert jr.status == "stale" and "safe to delete" in jr.message
    jr.raise_for_status()


def test_future_journal_is_refused(writer, store, committed):
    _raw_journal(store, 5, committed.lineage, [_intent(1, "dataset.DEMO.X")])
    jr = writer.read_journal()
    assert jr.status == "future"
    with pytest.raises(StateConflictError, match="ahead of the stored serial 1"):
        jr.raise_for_status()
    with pytest.raises(StateConflictError):
        writer.compact_journal()


def test_lineage_mismatch_is_refused(writer, store, committed):
    _raw_journal(store, 1, "00000000-0000-4000-8000-000000000000", [_intent(1, "dataset.DEMO.X")])
    jr = writer.read_journal()
    assert jr.status == "lineage_mismatch"
    with pytest.raises(StateConflictError, match="lineage"):
        jr.raise_for_status()
    with pytest.raises(StateConflictError):
        writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")


def test_unreadable_header_is_refused(writer, store, committed):
    store.put(JOURNAL_BLOB, b"not json\n" + (json.dumps(_intent(1, "dataset.DEMO.X")) + "\n").encode())
    jr = writer.read_journal()
    assert jr.status == "corrupt" and len(jr.corrupt_lines) == 2
    with pytest.raises(StateCorruptError):
        jr.raise_for_status()


def test_journal_of_first_apply_on_empty_store_is_ok(writer, store):
    doc = doc_with()
    writer.journal_begin(base_serial=0, lineage=doc.lineage, operation="apply")
    rs = resource(name="FIRST")
    writer.journal_append(_intent(1, rs.address))
    writer.journal_append(_outcome(1, rs))
    assert writer.read_journal().status == "ok"
    writer.compact_journal()
    state = writer.read()
    assert state.serial == 1 and state.lineage == doc.lineage and rs.address in state


# -- damaged lines ------------------------------------------------------------------------------


def test_garbage_lines_are_reported_and_preserved_in_the_side_blob(writer, store, committed):
    rs = resource(name="NEW")
    _raw_journal(store, 1, committed.lineage, [
        _intent(1, rs.address), b"\x00\x01garbage\n", {"seq": "x", "kind": "intent"}, _outcome(1, rs),
    ])
    readonly = writer_on(store)  # not holding the lock: reports, never rewrites
    assert readonly.read_journal().corrupt_lines and store.get(CORRUPTED_BLOB) is None

    writer.lock("apply")
    jr = writer.read_journal()
    assert jr.status == "ok" and len(jr.entries) == 2 and len(jr.corrupt_lines) == 2
    quarantined = [json.loads(line) for line in store.get(CORRUPTED_BLOB).splitlines()]
    assert [q["reason"] for q in quarantined] == ["corrupt", "corrupt"]
    assert "garbage" in quarantined[0]["line"] and '"seq": "x"' in quarantined[1]["line"]
    again = writer.read_journal()
    assert again.corrupt_lines == [] and len(again.entries) == 2, "the journal was rewritten without them"


def test_torn_last_line_is_dropped_and_reported(writer, store, committed):
    rs = resource(name="NEW")
    full = (json.dumps(_outcome(1, rs)) + "\n").encode()
    _raw_journal(store, 1, committed.lineage, [_intent(1, rs.address), full[: len(full) // 2]])
    jr = writer.read_journal()
    assert jr.status == "ok" and jr.torn_line and jr.corrupt_lines == []
    assert [e["kind"] for e in jr.entries] == ["intent"]
    assert jr.pending_intents() == [jr.entries[0]]
    writer.lock("apply")
    writer.read_journal()
    assert json.loads(store.get(CORRUPTED_BLOB).splitlines()[0])["reason"] == "torn"
    assert writer.read_journal().torn_line is None


def test_complete_last_entry_missing_only_its_newline_is_kept(writer, store, committed):
    rs = resource(name="NEW")
    _raw_journal(store, 1, committed.lineage, [_intent(1, rs.address), json.dumps(_outcome(1, rs)).encode()])
    jr = writer.read_journal()
    assert jr.torn_line is None and len(jr.entries) == 2 and jr.pending_intents() == []


def test_torn_header_means_empty(writer, store, committed):
    store.put(JOURNAL_BLOB, b'{"journal": 1, "lin')
    jr = writer.read_journal()
    assert jr.status == "empty" and jr.torn_line


def test_journal_clear_preserves_garbage(writer, store, committed):
    _raw_journal(store, 1, committed.lineage, [b"junk\n"])
    writer.journal_clear()
    assert store.get(JOURNAL_BLOB) is None
    assert b"junk" in store.get(CORRUPTED_BLOB)


# -- pending intents ------------------------------------------------------------------------


def test_pending_intents(writer, store, committed):
    a, b = resource(name="A"), resource(name="B")
    _raw_journal(store, 1, committed.lineage, [
        _intent(1, a.address), _intent(2, b.address), _outcome(1, a),
        _intent(3, a.address, "update"), _intent(4, "dataset.DEMO.C", "delete"),
        _outcome(4, address="dataset.DEMO.C", action="delete", ok=False),
    ])
    pending = writer.read_journal().pending_intents()
    assert [(e["seq"], e["address"]) for e in pending] == [(2, b.address), (3, a.address)]


def test_outcome_resolves_the_intent_with_its_seq():
    from dataiku_iac.state.journal import JournalRead

    jr = JournalRead(status="ok", source="x", header={}, entries=[
        _intent(1, "dataset.DEMO.A"), _intent(2, "dataset.DEMO.A", "update"),
        _outcome(1, address="dataset.DEMO.A", ok=False),
    ])
    assert [e["seq"] for e in jr.pending_intents()] == [2]


# -- begin / append / compact -------------------------------------------------------------------


def test_append_requires_begin(writer, committed):
    with pytest.raises(StateError, match="journal_begin"):
        writer.journal_append(_intent(1, "dataset.DEMO.X"))


@pytest.mark.parametrize("entry", [
    {"kind": "intent", "address": "dataset.DEMO.X"},
    {"seq": 1, "kind": "maybe", "address": "dataset.DEMO.X"},
    {"seq": 1, "kind": "intent", "address": "bad address"},
    {"seq": 1, "kind": "outcome", "address": "dataset.DEMO.X", "ok": "yes"},
    {"seq": 1, "kind": "intent", "address": "dataset.DEMO.X", "x": object()},
])
def test_invalid_entries_are_refused(writer, committed, entry):
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    with pytest.raises(StateError, match="refusing to journal"):
        writer.journal_append(entry)


def test_begin_checks_serial_and_lineage(writer, committed):
    with pytest.raises(StateConflictError):
        writer.journal_begin(base_serial=0, lineage=committed.lineage, operation="apply")
    with pytest.raises(StateConflictError):
        writer.journal_begin(base_serial=1, lineage="00000000-0000-4000-8000-000000000000", operation="apply")


def test_begin_refuses_to_drop_an_unreplayed_journal(writer, committed):
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    writer.journal_append(_intent(1, "dataset.DEMO.X"))
    with pytest.raises(StateConflictError, match="interrupted 'apply' run"):
        writer_on(writer.store).journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")


def test_begin_replaces_a_stale_journal(writer, store, committed):
    _raw_journal(store, 0, committed.lineage, [_outcome(1, resource(name="OLD"))])
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    assert writer.read_journal().status == "header_only"


def test_compact_replays_and_keeps_pending_intents(writer, committed):
    writer.lock("apply")
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    done, unsure = resource(name="DONE"), resource(name="UNSURE")
    writer.journal_append(_intent(1, done.address))
    writer.journal_append(_outcome(1, done))
    writer.journal_append(_intent(2, unsure.address))

    resumed = writer_on(writer.store)  # the next run
    jr = resumed.compact_journal()
    assert jr.status == "ok"
    state = resumed.read()
    assert state.serial == 2 and done.address in state and unsure.address not in state
    assert "interrupted apply" in resumed.history()[-1].operation
    carried = resumed.read_journal()
    assert carried.status == "ok" and carried.base_serial == 2
    assert [e["seq"] for e in carried.pending_intents()] == [2]

    # The reconciler found the object in DSS and records it; compaction then clears the journal.
    resumed.journal_append(_outcome(2, unsure, action="adopt"))
    resumed.compact_journal()
    assert resumed.read_journal().status == "none"
    assert unsure.address in resumed.read() and resumed.read().serial == 3


def test_compact_without_changes_writes_no_serial(writer, committed):
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    writer.journal_append(_intent(1, "dataset.DEMO.X"))
    writer.journal_append(_outcome(1, address="dataset.DEMO.X", ok=False))
    writer.compact_journal()
    assert writer.read().serial == 1 and writer.read_journal().status == "none"


@pytest.mark.parametrize("status", ["empty", "header_only", "stale"])
def test_compact_clears_journals_with_nothing_to_replay(writer, store, committed, status):
    if status == "empty":
        store.put(JOURNAL_BLOB, b"")
    elif status == "header_only":
        _raw_journal(store, 1, committed.lineage)
    else:
        writer.write(committed, expected_serial=1, operation="apply")
        _raw_journal(store, 1, committed.lineage, [_outcome(1, resource(name="OLD"))])
    assert writer.compact_journal().status == status
    assert store.get(JOURNAL_BLOB) is None


def test_read_only_view_is_not_confused_by_an_in_flight_append(writer, store, committed):
    writer.journal_begin(base_serial=1, lineage=committed.lineage, operation="apply")
    writer.journal_append(_intent(1, "dataset.DEMO.X"))
    store.append(JOURNAL_BLOB, b'{"seq": 1, "kind": "outc')  # an append caught mid-write
    jr = writer_on(store).read_journal()
    assert jr.status == "ok" and jr.torn_line and len(jr.entries) == 1
    assert store.get(CORRUPTED_BLOB) is None


# -- replay ------------------------------------------------------------------------------------


def test_replay_applies_only_successful_outcomes():
    base = doc_with()
    kept, gone, failed = resource(name="KEPT"), "dataset.DEMO.DS_0", resource(name="FAILED")
    entries = [
        _intent(1, kept.address), _outcome(1, kept),
        _intent(2, gone, "delete"), _outcome(2, address=gone, action="delete"),
        _intent(3, failed.address), _outcome(3, failed, ok=False),
    ]
    result = replay(base, entries)
    assert kept.address in result and gone not in result and failed.address not in result
    assert gone in base, "replay does not modify its input"


def test_replay_refuses_a_resource_under_another_address():
    entry = _outcome(1, resource(name="A"), address="dataset.DEMO.B")
    with pytest.raises(StateCorruptError):
        replay(doc_with(), [entry])


NAMES = ["A", "B", "C", "D"]
_step = st.tuples(
    st.sampled_from(["create", "update", "delete", "adopt", "forget"]),
    st.sampled_from(NAMES),
    st.booleans(),  # did the call succeed
    st.booleans(),  # did the process die before writing the outcome
    st.integers(0, 3),  # attribute value
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_step, max_size=25))
def test_replaying_outcomes_equals_applying_directly(tmp_path_factory, steps):
    """Whatever the sequence of actions, failures and lost outcomes: replaying the journal through
    the real store gives the same state as applying the successful actions directly."""
    store = RecordingStore(tmp_path_factory.mktemp("replay"))
    writer = writer_on(store)
    base = writer.write(doc_with(), expected_serial=0, operation="apply")
    direct = base.copy()
    writer.journal_begin(base_serial=1, lineage=base.lineage, operation="apply")
    for seq, (action, name, ok, died, value) in enumerate(steps):
        address = f"dataset.DEMO.{name}"
        writer.journal_append(_intent(seq, address, action))
        if died:
            continue
        removing = action in ("delete", "forget")
        rs = None if removing else resource(name=name, attributes={"v": value}, origin="imported" if action == "adopt" else "created")
        writer.journal_append(_outcome(seq, rs, address=address, action=action, ok=ok))
        if ok:
            direct.put(rs) if rs else direct.remove(address)

    jr = writer_on(store).read_journal()
    assert jr.status in ("ok", "header_only")
    assert replay(base, jr.entries).resources == direct.resources
    writer_on(store).compact_journal()
    assert writer_on(store).read().resources == direct.resources
    expected_pending = sum(1 for step in steps if step[3])
    assert len(jr.pending_intents()) == expected_pending


# -- cost --------------------------------------------------------------------------------------


def test_append_cost_is_independent_of_state_size(recording):
    writer = writer_on(recording)
    big = StateDocument.new("dev")
    for i in range(10_000):
        big.put(resource(name=f"DS_{i:05d}"))
    big = writer.write(big, expected_serial=0, operation="apply")
    state_bytes = len(recording.get("state.json"))
    writer.journal_begin(base_serial=1, lineage=big.lineage, operation="apply")

    recording.written.clear()
    recording.read_bytes = 0
    sizes = []
    for seq in range(100):
        rs = resource(name=f"DS_{seq:05d}", attributes={"v": seq})
        entry = _outcome(seq, rs, action="update")
        writer.journal_append(entry)
        sizes.append(len((json.dumps(entry) + "\n").encode()))
    ops = recording.written
    assert {op for op, _name, _n in ops} == {"append"} and len(ops) == 100
    per_append = [n for _op, _name, n in ops]
    # O(entry): each append writes about one entry (compact JSON is a little smaller), nothing more.
    assert all(written <= size for written, size in zip(per_append, sizes))
    assert recording.read_bytes == 0, "appending reads nothing either"
    print(f"\njournal_append on a 10,000-resource state ({state_bytes:,} bytes): "
          f"{max(per_append)} bytes written per append at most, 0 bytes read")
