"""The apply journal's group commit: workers write their entries in order under the executor's
journal lock and wait for durability outside it, one fsync covering every entry written before it
(the journal's fsync was on every action's path, under that lock: at 4 workers each waited for the
others' fsyncs)."""

from __future__ import annotations

import json
import os
import threading
import time

from dataiku_iac.dssclient import DssConnection
from dataiku_iac.engine.executor import Executor
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.plan import Action, ResourceChange
from dataiku_iac.state import LocalBlobStore, StateWriter


def _count_fsyncs(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    return calls


def test_one_fsync_covers_every_append_written_before_it(tmp_path, monkeypatch) -> None:
    store = LocalBlobStore(tmp_path / "state")
    store.append_unsynced("journal.jsonl", b"a\n")  # creates the file: its directory is synced
    fsyncs = _count_fsyncs(monkeypatch)
    store.append_unsynced("journal.jsonl", b"b\n")
    store.append_unsynced("journal.jsonl", b"c\n")
    store.sync_appends("journal.jsonl")
    assert len(fsyncs) == 1
    store.sync_appends("journal.jsonl")  # nothing written since: nothing to sync
    assert len(fsyncs) == 1
    store.append_unsynced("journal.jsonl", b"d\n")
    store.sync_appends("journal.jsonl")
    assert len(fsyncs) == 2
    assert store.get("journal.jsonl") == b"a\nb\nc\nd\n"


class _SlowFsyncStore(LocalBlobStore):
    """Making the first journal entry durable waits (2 s at most) until a second one is written."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.entries = 0
        self.second_written = threading.Event()
        self.overlapped: bool | None = None

    def _wrote(self) -> None:
        self.entries += 1
        if self.entries == 2:
            self.second_written.set()

    def _durable(self) -> None:
        if self.entries == 1 and self.overlapped is None:
            self.overlapped = self.second_written.wait(timeout=2)

    def append(self, name: str, data: bytes) -> None:  # the write and its fsync in one call
        super().append(name, data)
        self._wrote()
        self._durable()

    def append_unsynced(self, name: str, data: bytes) -> None:
        super().append_unsynced(name, data)
        self._wrote()

    def sync_appends(self, name: str) -> None:
        self._durable()
        super().sync_appends(name)


def test_a_worker_writes_its_entry_while_another_waits_for_durability(tmp_path) -> None:
    store = _SlowFsyncStore(tmp_path / "state")
    writer = StateWriter(store, environment="dev")
    writer.journal_begin(base_serial=0, lineage="l", operation="apply")
    executor = Executor(DssConnection(factory=lambda: None), writer, DesiredState(environment="dev"), {})

    def change(name: str) -> ResourceChange:
        return ResourceChange(address=f"dataset.P.{name}", type="dataset", project_key="P", name=name,
                              action=Action.CREATE, reason="test")

    first = threading.Thread(target=executor._journal, args=("intent", change("a"), "create"))
    first.start()
    while store.entries < 1:
        time.sleep(0.001)
    executor._journal("intent", change("b"), "create")
    first.join()
    assert store.overlapped  # the second entry was written while the first waited for its fsync
    lines = store.get("journal.jsonl").decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines[1:]] == [1, 2]


def test_an_outcome_is_made_durable_by_the_next_intent(tmp_path, monkeypatch) -> None:
    """An outcome costs no fsync of its own: the sync of the next intent (before the next DSS call)
    covers it. Every DSS call still starts with the whole journal before it durable."""
    writer = StateWriter(LocalBlobStore(tmp_path / "state"), environment="dev")
    writer.journal_begin(base_serial=0, lineage="l", operation="apply")
    executor = Executor(DssConnection(factory=lambda: None), writer, DesiredState(environment="dev"), {})
    first, second = (ResourceChange(address=f"dataset.P.{n}", type="dataset", project_key="P", name=n,
                                    action=Action.CREATE, reason="test") for n in ("a", "b"))
    executor._journal("intent", first, "create")  # creates the file: not counted below
    fsyncs = _count_fsyncs(monkeypatch)
    executor._journal("outcome", first, "create", ok=True, seq=1)
    assert fsyncs == []
    executor._journal("intent", second, "create")
    assert len(fsyncs) == 1
    lines = writer.store.get("journal.jsonl").decode().splitlines()
    assert [(json.loads(line)["seq"], json.loads(line)["kind"]) for line in lines[1:]] == [
        (1, "intent"), (1, "outcome"), (2, "intent")]
