"""The state lock: exclusive under contention, released only with its id, never taken over
silently, and informative when it is held."""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from datetime import datetime, timedelta, timezone

import pytest
from dataiku_iac.errors import LockError
from dataiku_iac.state import LocalBlobStore, Locker, StateWriter
from dataiku_iac.state.lock import LOCK_BLOB, LockInfo, parse_iso
from statetest_helpers import doc_with

TRIALS = 100
RACERS = 8


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def test_lock_records_holder_info(writer):
    info = writer.lock("apply")
    assert writer.current_lock() == info
    assert info.operation == "apply" and info.pid == os.getpid() and "@" in info.who
    assert info.backend == writer.store.describe() and info.tool_version
    assert parse_iso(info.expires) - parse_iso(info.created) == timedelta(hours=1)


def test_loser_error_names_holder_operation_age_and_unlock_command(store):
    clock = FakeClock()
    holder = StateWriter(store, environment="dev", clock=clock).lock("apply")
    clock.now += timedelta(minutes=12)
    with pytest.raises(LockError) as err:
        StateWriter(store, environment="dev", clock=clock).lock("destroy")
    message = str(err.value)
    assert holder.who in message and f"pid {holder.pid}" in message
    assert "'apply'" in message and "12m ago" in message and "expires in 48m" in message
    assert f"dataiku-iac state unlock {holder.id} -e dev" in message
    assert err.value.holder == holder.to_json()
    assert "stale" not in message


def test_expired_lock_is_still_held_and_called_stale(store):
    clock = FakeClock()
    holder = StateWriter(store, environment="dev", clock=clock).lock("apply", ttl_seconds=60)
    clock.now += timedelta(hours=3)
    with pytest.raises(LockError) as err:
        StateWriter(store, environment="dev", clock=clock).lock("apply")
    message = str(err.value)
    assert "looks stale" in message and "expired" in message and "not taken over" in message
    assert f"dataiku-iac state unlock {holder.id} -e dev" in message


@pytest.mark.skipif(sys.platform == "win32", reason="uses a dead pid on this host")
def test_lock_of_a_dead_local_process_is_called_stale(store):
    proc = mp.get_context("spawn").Process(target=os.getpid)
    proc.start()
    proc.join()
    info = LockInfo.mine("apply", backend="x", ttl_seconds=3600, now=datetime.now(timezone.utc))
    info.pid = proc.pid
    store.put(LOCK_BLOB, info.to_bytes())
    with pytest.raises(LockError, match=f"process {proc.pid} is no longer running"):
        StateWriter(store, environment="dev").lock("apply")


def test_unlock_with_wrong_id_is_refused(writer):
    info = writer.lock("apply")
    with pytest.raises(LockError) as err:
        writer.unlock("00000000-0000-4000-8000-000000000000")
    assert info.id in str(err.value)
    assert writer.current_lock() == info


def test_unlock_with_right_id_from_another_process_works(writer, store):
    info = writer.lock("apply")
    StateWriter(store, environment="dev").unlock(info.id)  # `state unlock ID`: the id is the nonce
    assert writer.current_lock() is None
    assert StateWriter(store, environment="dev").lock("apply").id != info.id


def test_unlock_when_not_locked_is_refused(writer):
    with pytest.raises(LockError, match="not locked"):
        writer.unlock("anything")


def test_refresh_extends_expiry(store):
    clock = FakeClock()
    writer = StateWriter(store, environment="dev", clock=clock)
    info = writer.lock("apply", ttl_seconds=600)
    clock.now += timedelta(minutes=9)
    writer.refresh_lock(info.id)
    refreshed = writer.current_lock()
    assert refreshed.id == info.id and refreshed.created == info.created
    assert parse_iso(refreshed.expires) == clock.now + timedelta(seconds=600)
    writer.refresh_lock(info.id, ttl_seconds=5)
    assert parse_iso(writer.current_lock().expires) == clock.now + timedelta(seconds=5)


def test_refresh_of_a_lost_lock_is_refused(writer, store):
    info = writer.lock("apply")
    writer.unlock(info.id)
    with pytest.raises(LockError, match="not locked"):
        writer.refresh_lock(info.id)
    other = StateWriter(store, environment="dev").lock("apply")
    with pytest.raises(LockError, match=other.id):
        writer.refresh_lock(info.id)


def test_write_after_losing_the_lock_is_refused(writer, store):
    info = writer.lock("apply")
    StateWriter(store, environment="dev").unlock(info.id)
    StateWriter(store, environment="dev").lock("apply")
    with pytest.raises(LockError, match="released or taken over"):
        writer.write(doc_with(), expected_serial=0, operation="apply")
    assert writer.read().serial == 0


def test_unreadable_lock_is_held_and_releasable_by_its_derived_id(store):
    store.put(LOCK_BLOB, b"garbage")
    writer = StateWriter(store, environment="dev")
    with pytest.raises(LockError) as err:
        writer.lock("apply")
    derived = err.value.holder["id"]
    assert derived.startswith("unreadable-") and derived in str(err.value)
    writer.unlock(derived)
    assert writer.lock("apply")


def test_locker_is_replaceable(store):
    calls = []

    class RecordingLocker(Locker):
        def acquire(self, operation, *, ttl_seconds):
            calls.append(operation)
            return super().acquire(operation, ttl_seconds=ttl_seconds)

    writer = StateWriter(store, environment="dev", locker=RecordingLocker(store, environment="dev"))
    writer.lock("apply")
    assert calls == ["apply"]


# -- contention across processes --------------------------------------------------------------


def _racer(root: str, start, done, results) -> None:
    """One of RACERS processes: for each trial, wait at the start line, then try to lock."""
    for trial in range(TRIALS):
        start.wait()
        writer = StateWriter(LocalBlobStore(os.path.join(root, f"trial{trial}")), environment="dev")
        try:
            info = writer.lock("apply")
            results.put((trial, "won", info.id))
        except LockError as exc:
            results.put((trial, "lost", exc.holder.get("id", "") if exc.holder.get("id", "") in str(exc) else ""))
        done.wait()


def test_lock_race_100_trials_8_processes_exactly_one_holder(tmp_path, capsys):
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    start, done, results = ctx.Barrier(RACERS), ctx.Barrier(RACERS), ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(str(tmp_path), start, done, results)) for _ in range(RACERS)]
    for proc in procs:
        proc.start()
    outcomes: dict = {}
    for _ in range(TRIALS * RACERS):
        trial, verdict, lock_id = results.get(timeout=60)
        outcomes.setdefault(trial, []).append((verdict, lock_id))
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0

    exactly_one = 0
    losers_naming_holder = 0
    for trial in range(TRIALS):
        winners = [lock_id for verdict, lock_id in outcomes[trial] if verdict == "won"]
        losers = [lock_id for verdict, lock_id in outcomes[trial] if verdict == "lost"]
        exactly_one += len(winners) == 1
        losers_naming_holder += sum(lock_id == winners[0] for lock_id in losers) if winners else 0
        on_disk = LocalBlobStore(tmp_path / f"trial{trial}").get(LOCK_BLOB)
        assert winners and LockInfo.from_bytes(on_disk).id == winners[0]
    with capsys.disabled():
        print(
            f"\nlock race: {exactly_one}/{TRIALS} trials with exactly one holder among {RACERS} processes; "
            f"{losers_naming_holder}/{TRIALS * (RACERS - 1)} losers' errors named the holder's lock ID"
        )
    assert exactly_one == TRIALS
    assert losers_naming_holder == TRIALS * (RACERS - 1)


def test_release_during_an_in_flight_refresh_leaves_no_lock(tmp_path):
    """The heartbeat thread may be between reading and rewriting the lock when the run ends.

    Deterministic: the heartbeat's rewrite of the lock waits until the release is under way
    (waiting for the locker's mutex, or already deleting the lock), so the two always overlap."""
    import threading

    heartbeat_writing = threading.Event()
    release_under_way = threading.Event()

    class AnnouncedMutex:
        """The locker's mutex, saying when the releasing (main) thread starts waiting for it."""

        def __init__(self, inner):
            self.inner = inner

        def __enter__(self):
            if threading.current_thread() is threading.main_thread() and heartbeat_writing.is_set():
                release_under_way.set()
            self.inner.acquire()

        def __exit__(self, *exc):
            self.inner.release()

    class HeartbeatWaitsForTheRelease(LocalBlobStore):
        def put(self, name, data):
            if name == LOCK_BLOB and threading.current_thread() is not threading.main_thread():
                heartbeat_writing.set()
                assert release_under_way.wait(timeout=30), "the release never started"
            super().put(name, data)

        def delete(self, name):
            release_under_way.set()
            super().delete(name)

    store = HeartbeatWaitsForTheRelease(tmp_path)
    writer = StateWriter(store, environment="dev")
    info = writer.lock("apply")
    writer.locker._mutex = AnnouncedMutex(writer.locker._mutex)  # what makes refresh + release atomic
    heartbeat = threading.Thread(target=writer.refresh_lock, args=(info.id,))
    heartbeat.start()
    assert heartbeat_writing.wait(timeout=30)
    writer.unlock(info.id)
    heartbeat.join()
    assert store.get(LOCK_BLOB) is None
