"""The managed-folder state backend and its lock, against the emulator (real dataikuapi)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from dataiku_iac.errors import LockError, StateError
from dataiku_iac.state import open_state
from dataiku_iac.state.backends.managed_folder import DssMutexLocker, ManagedFolderBlobStore
from plugin_helpers import connection_for, small_state, state_spec

from tests.support.state_cycles import check_empty_states_keep_the_lineage


def _writer(dss, env="dev", path="", api_key=None):
    return open_state(state_spec(path), environment=env, config_root=".", connection=connection_for(dss, api_key))


def test_blob_store_roundtrip(dss, state_project):
    writer = _writer(dss, path="states")
    store = writer.store
    assert isinstance(store, ManagedFolderBlobStore) and isinstance(writer.locker, DssMutexLocker)
    assert store.get("state.json") is None and store.list() == []
    store.put("history/0000000001.json", b"one")
    store.append("journal.jsonl", b"a\n")
    store.append("journal.jsonl", b"b\n")
    assert store.get("journal.jsonl") == b"a\nb\n"
    assert store.put_if_absent("history/0000000001.json", b"x") is False
    assert store.list() == ["history/0000000001.json", "journal.jsonl"]
    assert store.list("history/") == ["history/0000000001.json"]
    store.delete("journal.jsonl")
    store.delete("journal.jsonl")  # deleting a missing blob is not an error
    assert store.get("journal.jsonl") is None
    # Everything lives under <path>/<env>/ in the folder.
    folder = dss.client().get_project(state_project["project_key"]).get_managed_folder(state_project["folder_id"])
    assert [i["path"] for i in folder.list_contents()["items"]] == ["/states/dev/history/0000000001.json"]


def test_state_write_read_and_history(dss, state_project):
    writer = _writer(dss)
    lock = writer.lock("apply")
    try:
        written = writer.write(small_state("dev"), expected_serial=0, operation="apply")
    finally:
        writer.unlock(lock.id)
    again = _writer(dss).read()
    assert again.serial == written.serial == 1 and again.lineage == written.lineage
    assert [h.serial for h in _writer(dss).history()] == [1]


def test_a_state_holding_no_resources_keeps_its_lineage(dss, state_project):
    """Issue 10: destroy leaves a state without resources; the next apply continues its lineage."""
    check_empty_states_keep_the_lineage(lambda: _writer(dss, path="cycle"))


def test_unknown_folder_and_options_are_explained(dss, state_project):
    bad = {"backend": "managed_folder", "project_key": "IAC_STATE", "folder": "nope"}
    with pytest.raises(StateError, match="no managed folder 'nope'"):
        open_state(bad, environment="dev", config_root=".", connection=connection_for(dss)).read()
    with pytest.raises(StateError, match="unknown option"):
        open_state({**bad, "bucket": "b"}, environment="dev", config_root=".", connection=connection_for(dss))


def test_emulator_enforces_dataset_name_uniqueness_atomically(dss, state_project):
    """The lock's foundation: of N concurrent creates of one dataset name, exactly one succeeds."""
    for trial in range(5):
        name = f"RACE_{trial}"
        barrier = threading.Barrier(12)

        def create(_i, name=name, barrier=barrier):
            client = dss.client()
            barrier.wait()
            try:
                client.get_project(state_project["project_key"]).create_dataset(name, "Inline")
                return True
            except Exception:
                return False

        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(create, range(12)))
        assert results.count(True) == 1


def test_held_lock_names_the_holder_and_unlock_needs_the_id(dss, state_project):
    first = _writer(dss)
    held = first.lock("apply")
    other = _writer(dss, api_key="alice-key")
    with pytest.raises(LockError) as info:
        other.lock("apply")
    message = str(info.value)
    assert held.id in message and "admin@" in message and "'apply'" in message
    assert info.value.holder["id"] == held.id
    with pytest.raises(LockError, match="cannot release the state lock with lock ID wrong"):
        other.unlock("wrong")
    assert other.current_lock().id == held.id
    other.unlock(held.id)  # by id only: an operator's override of a stale lock
    assert other.current_lock() is None
    # The first run notices it lost the lock before writing anything.
    with pytest.raises(LockError, match="released or taken over"):
        first.write(small_state("dev"), expected_serial=0, operation="apply")


def test_refresh_keeps_the_lease_bound_to_the_mutex(dss, state_project):
    writer = _writer(dss)
    held = writer.lock("apply", ttl_seconds=60)
    writer.refresh_lock(held.id, ttl_seconds=7200)
    current = writer.current_lock()
    assert current.id == held.id and current.expires > held.expires
    writer.unlock(held.id)


def test_unleased_mutex_is_described_from_dss_and_released_by_its_id(dss, state_project, monkeypatch):
    """A holder that died between creating the mutex and writing its lease."""
    import dataiku_iac.state.backends.managed_folder as mf

    monkeypatch.setattr(mf, "LEASE_WAIT_SECONDS", 0.2)
    writer = _writer(dss)
    locker = writer.locker
    assert locker._create_mutex() is True  # the first of the two calls only
    holder = writer.current_lock()
    assert holder.id.startswith("unleased-") and holder.who == "admin"
    with pytest.raises(LockError) as info:
        _writer(dss).lock("apply")
    assert holder.id in str(info.value) and "looks stale" in str(info.value)
    _writer(dss).unlock(holder.id)
    assert writer.current_lock() is None
    writer.unlock(writer.lock("apply").id)  # usable again


def _race(dss, trial: int, contenders: int) -> list:
    barrier = threading.Barrier(contenders)
    writers = [_writer(dss, env=f"race{trial % 3}") for _ in range(contenders)]
    for w in writers:
        w.locker.mutex_name  # noqa: B018 - resolve the folder before the race, not during it
    outcome: list = [None] * contenders

    def attempt(i):
        barrier.wait()
        try:
            outcome[i] = ("held", writers[i].lock("apply"))
        except LockError as exc:
            outcome[i] = ("refused", exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return list(zip(writers, outcome))


def _run_trials(dss, trials: int, contenders: int) -> dict:
    double, refused_named = 0, 0
    for trial in range(trials):
        results = _race(dss, trial, contenders)
        winners = [(w, o[1]) for w, o in results if o[0] == "held"]
        if len(winners) != 1:
            double += 1
            for w, info in winners:
                w.unlock(info.id)
            continue
        winner_writer, info = winners[0]
        for _w, o in results:
            if o[0] == "refused" and info.id in str(o[1]):
                refused_named += 1
        winner_writer.unlock(info.id)
    return {"double_or_none": double, "refused_named": refused_named}


def test_lock_race_100_trials(dss, state_project):
    """100 trials of 8 concurrent lock attempts on one managed-folder state (about 20 s)."""
    stats = _run_trials(dss, trials=100, contenders=8)
    assert stats == {"double_or_none": 0, "refused_named": 100 * 7}
