"""The local backend's lock: a run that dies releases it (kernel lock), a live one keeps it."""

from __future__ import annotations

import multiprocessing
import os
import signal
from pathlib import Path

import pytest
from dataiku_iac.errors import LockError
from dataiku_iac.state import open_state


def _writer(root: Path):
    return open_state({"backend": "local"}, environment="dev", config_root=root)


def _hold_then_die(root: str, ready) -> None:
    _writer(Path(root)).lock("apply")
    ready.set()
    signal.pause()  # killed by the test while holding the lock


def test_a_killed_holder_is_taken_over_by_the_next_run(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_hold_then_die, args=(str(tmp_path), ready))
    proc.start()
    assert ready.wait(10)
    with pytest.raises(LockError) as refused:
        _writer(tmp_path).lock("apply")  # alive: refused, holder named
    assert "Error acquiring the state lock" in str(refused.value)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    writer = _writer(tmp_path)
    info = writer.lock("apply")  # dead: taken over, no unlock needed
    assert writer.locker.taken_over is not None and writer.locker.taken_over.pid == proc.pid
    assert writer.current_lock().id == info.id
    writer.unlock(info.id)
    assert writer.current_lock() is None


def test_a_live_holder_in_this_process_is_not_taken_over(tmp_path: Path) -> None:
    first = _writer(tmp_path)
    info = first.lock("apply")
    with pytest.raises(LockError):
        _writer(tmp_path).lock("plan")
    first.unlock(info.id)
    second = _writer(tmp_path)
    second.unlock(second.lock("apply").id)
    assert second.locker.taken_over is None
