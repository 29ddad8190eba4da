"""The managed_folder state backend's journal, through the real dataikuapi client and the emulator.

The folder API has no append: an append used to read and rewrite the whole journal (a listing,
a read and a write per entry, each moving the whole journal: O(journal size)). Now each append
is one new small file (`.appends/<name>/<generation>/...`), read back in order; a journal
written whole by an older version still reads (docs/state-format.md, "For backend implementers").
"""

from __future__ import annotations

import time
from typing import Any

from dataiku_iac.dssclient import DssConnection
from dataiku_iac.state import journal as jrn
from dataiku_iac.state.backends.managed_folder import APPENDS, ManagedFolderBlobStore
from dataiku_iac.state.model import ResourceState, StateDocument
from dataiku_iac.state.store import StateWriter

from tests.support.emulator import ensure_state_folder

ENTRIES = 60


def _store(dss: Any) -> ManagedFolderBlobStore:
    ensure_state_folder(dss)
    connection = DssConnection(factory=dss.client)
    return ManagedFolderBlobStore(connection, "IAC_STATE", "iac_state", "states/dev")


def _folder(dss: Any) -> Any:
    project = dss.client().get_project("IAC_STATE")
    return project.get_managed_folder(ensure_state_folder(dss))


def _requests(dss: Any) -> int:
    return int(dss.admin.stats()["requests"])


def _entry(seq: int, kind: str = "intent") -> dict[str, Any]:
    return {"seq": seq, "kind": kind, "address": f"dataset.P.d{seq // 2}", "action": "create"}


def test_an_append_costs_one_request_whatever_the_journal_size(dss: Any) -> None:
    store = _store(dss)
    writer = StateWriter(store, environment="dev")
    writer.journal_begin(base_serial=0, lineage="lin-1", operation="apply")
    costs = []
    for seq in range(ENTRIES):
        before = _requests(dss)
        writer.journal_append(_entry(seq, "intent" if seq % 2 == 0 else "outcome"))
        costs.append(_requests(dss) - before)
    # the first append learns the journal's generation once (a listing and a read), then one each
    assert costs[1:] == [1] * (ENTRIES - 1), costs
    assert costs[0] <= 3, costs

    jr = writer.read_journal()
    assert jr.header is not None and jr.header["lineage"] == "lin-1"
    assert [e["seq"] for e in jr.entries] == list(range(ENTRIES))  # in the order appended
    assert not jr.corrupt_lines and jr.torn_line is None

    # a reader in another process (a fresh store) reads the same journal, file by file
    assert _store(dss).get(jrn.JOURNAL_BLOB) == store.get(jrn.JOURNAL_BLOB)


def test_a_journal_written_whole_by_an_older_version_reads_and_grows(dss: Any) -> None:
    """An interrupted apply of an older version left journal.jsonl as one file: still read, and
    appends made on top of it (a resumed apply's reconciliation) follow its lines."""
    header = jrn.header_line(lineage="lin-1", base_serial=0, operation="apply", started_at="2026-01-01T00:00:00Z")
    old = header + jrn.encode_line(_entry(0)) + jrn.encode_line(_entry(1, "outcome"))
    _folder(dss).put_file("/states/dev/journal.jsonl", old)

    store = _store(dss)
    assert store.get(jrn.JOURNAL_BLOB) == old
    store.append(jrn.JOURNAL_BLOB, jrn.encode_line(_entry(2)))
    expected = old + jrn.encode_line(_entry(2))
    assert store.get(jrn.JOURNAL_BLOB) == expected
    assert _store(dss).get(jrn.JOURNAL_BLOB) == expected
    jr = jrn.classify(expected, source="j", stored_serial=0, stored_lineage="lin-1")
    assert jr.status == jrn.OK and [e["seq"] for e in jr.pending_intents()] == [2]


def test_put_and_delete_drop_the_old_appends_and_the_listing_holds_no_garbage(dss: Any) -> None:
    store = _store(dss)
    store.put(jrn.JOURNAL_BLOB, b"first\n")
    for i in range(3):
        store.append(jrn.JOURNAL_BLOB, f"line {i}\n".encode())
    store.put(jrn.JOURNAL_BLOB, b"second\n")  # a new journal: the old lines must not come back
    assert store.get(jrn.JOURNAL_BLOB) == b"second\n"
    assert _store(dss).get(jrn.JOURNAL_BLOB) == b"second\n"
    store.append(jrn.JOURNAL_BLOB, b"more\n")
    store.put(jrn.JOURNAL_BLOB, b"second\n")  # the same content again: its generation's appends go too
    assert _store(dss).get(jrn.JOURNAL_BLOB) == b"second\n"
    store.append(jrn.JOURNAL_BLOB, b"again\n")
    store.delete(jrn.JOURNAL_BLOB)
    assert _store(dss).get(jrn.JOURNAL_BLOB) is None
    paths = [item["path"] for item in _folder(dss).list_contents()["items"]]
    assert not [p for p in paths if f"/{APPENDS}/" in p], paths
    assert jrn.JOURNAL_BLOB not in store.list()


def test_a_blob_appended_to_without_a_base_reads_and_lists(dss: Any) -> None:
    """journal.corrupted is only ever appended to."""
    store = _store(dss)
    store.append(jrn.CORRUPTED_BLOB, b"a\n")
    store.append(jrn.CORRUPTED_BLOB, b"b\n")
    assert _store(dss).get(jrn.CORRUPTED_BLOB) == b"a\nb\n"
    assert jrn.CORRUPTED_BLOB in _store(dss).list()


def test_a_crash_between_a_new_base_and_the_cleanup_leaves_the_new_base_alone(dss: Any) -> None:
    """What a reader sees if the run dies right after `put` wrote the new base, before it
    deleted the old generation's files: the new base alone (the old files are another
    generation's garbage)."""
    store = _store(dss)
    store.put(jrn.JOURNAL_BLOB, b"old\n")
    store.append(jrn.JOURNAL_BLOB, b"old entry\n")
    _folder(dss).put_file("/states/dev/journal.jsonl", b"new\n")  # the new base, no cleanup
    assert _store(dss).get(jrn.JOURNAL_BLOB) == b"new\n"


def test_an_apply_journal_round_trips_through_the_state_writer(dss: Any) -> None:
    """Begin, append, replay: the outcomes land in the state as with any backend."""
    store = _store(dss)
    writer = StateWriter(store, environment="dev")
    writer.journal_begin(base_serial=0, lineage="lin-1", operation="apply")
    resource = ResourceState(
        address="dataset.P.d0", type="dataset", project_key="P", name="d0", dss_id="d0",
        attributes={}, version_tag=None, depends_on=[],
    )
    writer.journal_append(_entry(0))
    writer.journal_append({**_entry(0, "outcome"), "ok": True, "resource": resource.to_json()})
    jr = StateWriter(_store(dss), environment="dev").read_journal()
    assert jr.status == jrn.OK
    state = jrn.replay(StateDocument.new("dev", lineage="lin-1"), jr.entries)
    assert "dataset.P.d0" in state.resources


class _NoDirectoryDeletes(ManagedFolderBlobStore):
    """A folder whose delete leaves directories alone (DSS does not document either way)."""

    def _delete_file(self, relative: str) -> None:
        if relative.split("/")[-1].isalnum() and len(relative.split("/")[-1]) == 16:
            return  # a generation directory: ignored, as a DSS deleting files only would
        super()._delete_file(relative)


def test_where_a_directory_delete_deletes_nothing_the_files_are_deleted_one_by_one(dss: Any) -> None:
    ensure_state_folder(dss)
    store = _NoDirectoryDeletes(DssConnection(factory=dss.client), "IAC_STATE", "iac_state", "states/dev")
    store.put(jrn.JOURNAL_BLOB, b"first\n")
    store.append(jrn.JOURNAL_BLOB, b"a\n")
    store.append(jrn.JOURNAL_BLOB, b"b\n")
    store.delete(jrn.JOURNAL_BLOB)
    paths = [item["path"] for item in _folder(dss).list_contents()["items"]]
    assert not [p for p in paths if f"/{APPENDS}/" in p], paths
    assert _store(dss).get(jrn.JOURNAL_BLOB) is None


def test_a_base_another_process_replaced_is_read_again_even_with_the_same_size(dss: Any) -> None:
    mine, theirs = _store(dss), _store(dss)
    mine.put(jrn.JOURNAL_BLOB, b"one\n")
    assert mine.get(jrn.JOURNAL_BLOB) == b"one\n"
    theirs.put(jrn.JOURNAL_BLOB, b"two\n")
    assert mine.get(jrn.JOURNAL_BLOB) == b"two\n"
    mine.append(jrn.JOURNAL_BLOB, b"x\n")
    time.sleep(0.01)  # lastModified is in milliseconds: a same-size base in the same one is not told apart
    theirs.put(jrn.JOURNAL_BLOB, b"six\n")  # a new base: its generation hides the appends
    assert mine.get(jrn.JOURNAL_BLOB) == b"six\n"
