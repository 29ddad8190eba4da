"""`--lock-timeout`: a run waits for a lock another run holds, and only for that kind of failure."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from dataiku_iac.errors import LockError
from dataiku_iac.state import open_state
from dataiku_iac.state.lock import LockInfo


def _writer(root: Path, wait: float = 0.0):
    writer = open_state({"backend": "local"}, environment="dev", config_root=root)
    writer.lock_wait_seconds = wait
    return writer


def test_waits_for_the_holder_to_release_then_takes_the_lock(tmp_path: Path) -> None:
    holder = _writer(tmp_path)
    held = holder.lock("apply")
    told: list = []
    waiter = _writer(tmp_path, wait=30)
    waiter.on_lock_wait = told.append
    releaser = threading.Timer(0.6, holder.unlock, args=(held.id,))
    releaser.start()
    info = waiter.lock("apply")
    releaser.join()
    assert waiter.current_lock().id == info.id != held.id
    assert len(told) == 1 and held.id in str(told[0]), "the wait is announced once, naming the holder"
    waiter.unlock(info.id)


def test_gives_up_after_the_timeout_naming_the_holder(tmp_path: Path) -> None:
    holder = _writer(tmp_path)
    held = holder.lock("apply")
    started = time.monotonic()
    with pytest.raises(LockError) as refused:
        _writer(tmp_path, wait=0.7).lock("apply")
    assert time.monotonic() - started >= 0.7, "it gave up before its timeout"
    message = str(refused.value)
    assert held.id in message and "still held after waiting 0.7 s" in message
    assert refused.value.contended and refused.value.holder["id"] == held.id
    assert holder.current_lock().id == held.id, "waiting never disturbs the holder"
    holder.unlock(held.id)


def test_without_a_timeout_it_fails_at_once(tmp_path: Path) -> None:
    holder = _writer(tmp_path)
    held = holder.lock("apply")
    told: list = []
    waiter = _writer(tmp_path)
    waiter.on_lock_wait = told.append
    with pytest.raises(LockError, match=held.id) as refused:
        waiter.lock("apply")
    assert "waiting" not in str(refused.value) and told == []
    holder.unlock(held.id)


class _BrokenLocker:
    """A store that cannot lock at all: waiting would not help, so it is not retried."""

    def __init__(self) -> None:
        self.calls = 0

    def acquire(self, operation: str, *, ttl_seconds: int) -> LockInfo:
        self.calls += 1
        raise LockError("s3://bucket does not honour conditional writes (If-None-Match)")


def test_errors_that_waiting_cannot_fix_are_not_retried(tmp_path: Path) -> None:
    writer = _writer(tmp_path, wait=30)
    writer.locker = _BrokenLocker()
    with pytest.raises(LockError, match="conditional writes"):
        writer.lock("apply")
    assert writer.locker.calls == 1
