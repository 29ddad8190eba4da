"""Kill sweeps: die before (or halfway through) every mutating storage call of an apply and of a
recovery, then recover with a fresh process. Invariants after recovery: the state reads cleanly,
it holds exactly the outcomes that reached the journal, and every intent without an outcome is
still pending (never lost, never duplicated)."""

from __future__ import annotations

import pytest
from dataiku_iac.state import LocalBlobStore
from statetest_helpers import doc_with, resource, writer_on


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the code under test can swallow it."""


class FaultStore(LocalBlobStore):
    """Dies at the `kill_at`-th mutating call; an append dies after writing half its bytes."""

    def __init__(self, root, kill_at=None):
        super().__init__(root)
        self.kill_at = kill_at
        self.calls = 0

    def _tick(self, name, data=None, torn=None):
        self.calls += 1
        if self.kill_at is not None and self.calls == self.kill_at:
            if torn and data:
                torn(name, data[: len(data) // 2])
            raise Killed(f"killed at call {self.calls} ({name})")

    def put(self, name, data):
        self._tick(name)
        super().put(name, data)

    def put_if_absent(self, name, data):
        self._tick(name)
        return super().put_if_absent(name, data)

    def append(self, name, data):
        self._tick(name, data, torn=super().append)
        super().append(name, data)

    def delete(self, name):
        self._tick(name)
        super().delete(name)


A, B, C = resource(name="A"), resource(name="B"), "dataset.DEMO.DS_0"


def _apply(writer, base, journaled):
    """An executor-shaped run: A created, B's create interrupted, DS_0 deleted, state written."""
    writer.journal_begin(base_serial=base.serial, lineage=base.lineage, operation="apply")
    steps = [
        {"seq": 1, "kind": "intent", "action": "create", "address": A.address},
        {"seq": 1, "kind": "outcome", "action": "create", "address": A.address, "ok": True, "resource": A.to_json()},
        {"seq": 2, "kind": "intent", "action": "create", "address": B.address},
        {"seq": 3, "kind": "intent", "action": "delete", "address": C},
        {"seq": 3, "kind": "outcome", "action": "delete", "address": C, "ok": True},
    ]
    for entry in steps:
        writer.journal_append(entry)
        journaled.append(entry)
    final = base.copy()
    final.put(A)
    final.remove(C)
    writer.write(final, expected_serial=base.serial, operation="apply")
    writer.journal_clear()


def _count_calls(tmp_path, run):
    store = FaultStore(tmp_path / "count")
    run(store)
    return store.calls


def _expected(base, journaled):
    state = base.copy()
    for entry in journaled:
        if entry["kind"] == "outcome" and entry.get("resource"):
            state.put(A)
        elif entry["kind"] == "outcome":
            state.remove(C)
    pending = [e["address"] for e in journaled if e["kind"] == "intent"]
    resolved = [e["address"] for e in journaled if e["kind"] == "outcome"]
    return state, sorted(a for a in pending if a not in resolved)


def _setup(store):
    return writer_on(store).write(doc_with(), expected_serial=0, operation="apply")


def _run_apply(store, journaled):
    base = _setup(store)
    writer = writer_on(store)
    writer.lock("apply")
    _apply(writer, base, journaled)
    return base


def test_kill_at_every_call_of_an_apply_then_recover(tmp_path):
    total = _count_calls(tmp_path, lambda s: _run_apply(s, []))
    setup_calls = _count_calls(tmp_path / "s", _setup)
    recovered = 0
    for kill_at in range(setup_calls + 1, total + 1):
        store = FaultStore(tmp_path / f"k{kill_at}", kill_at=kill_at)
        journaled: list = []
        with pytest.raises(Killed):
            _run_apply(store, journaled)
        store.kill_at = None
        base = writer_on(store).read_serial(1)
        nxt = writer_on(store)  # the next run
        lock = nxt.current_lock()
        if lock:
            nxt.unlock(lock.id)  # the documented `state unlock ID` after a kill
        nxt.lock("apply")
        nxt.compact_journal()
        state = nxt.read()
        expected_state, expected_pending = _expected(base, journaled)
        pending = sorted(e["address"] for e in nxt.read_journal().pending_intents())
        assert state.resources == expected_state.resources, kill_at
        assert pending == expected_pending, kill_at
        recovered += 1
    assert recovered == total - setup_calls
    print(f"\nkill sweep (apply): {recovered}/{total - setup_calls} kill points recovered")


def test_kill_at_every_call_of_a_recovery_then_recover_again(tmp_path):
    def interrupted(store):
        base = _setup(store)
        writer = writer_on(store)
        journaled: list = []
        writer.journal_begin(base_serial=1, lineage=base.lineage, operation="apply")
        for entry in (
            {"seq": 1, "kind": "intent", "action": "create", "address": A.address},
            {"seq": 1, "kind": "outcome", "action": "create", "address": A.address, "ok": True,
             "resource": A.to_json()},
            {"seq": 2, "kind": "intent", "action": "create", "address": B.address},
        ):
            writer.journal_append(entry)
            journaled.append(entry)
        return base

    def recover(store):
        nxt = writer_on(store)
        nxt.lock("replay")
        nxt.compact_journal()

    count_store = FaultStore(tmp_path / "count")
    interrupted(count_store)
    before = count_store.calls
    recover(count_store)
    total = count_store.calls - before
    for offset in range(1, total + 1):
        store = FaultStore(tmp_path / f"r{offset}")
        interrupted(store)
        store.kill_at = store.calls + offset
        with pytest.raises(Killed):
            recover(store)
        store.kill_at = None
        final = writer_on(store)
        lock = final.current_lock()
        if lock:
            final.unlock(lock.id)
        final.lock("replay")
        final.compact_journal()
        state = final.read()
        assert A.address in state and B.address not in state, offset
        assert [e["address"] for e in final.read_journal().pending_intents()] == [B.address], offset
    print(f"\nkill sweep (recovery): {total}/{total} kill points recovered")
