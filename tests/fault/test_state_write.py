"""Issue 5 §4, state write failures mid-apply: the run stops before its next DSS call, and the
next apply recovers without any hand edit.

In-process: the engine's Session runs against the emulator with a BlobStore wrapper that fails
every append from the n-th on (a journal write: disk full, storage error) or every put from the
n-th on (the final state write, the journal header or its compaction). At --parallelism 1 the
emulator's request log must show no DSS request after the failing call; at parallelism 4 the
calls already in flight may finish but nothing new starts, so every object that exists in DSS
has its intent in the journal. Then the real CLI `apply` must converge and the plan be empty.

Through the CLI: the process runs with RLIMIT_FSIZE (a file-size limit, like a full disk), so
the journal append that crosses it fails with EFBIG.
"""

from __future__ import annotations

import json
import resource
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import pytest
from dataiku_iac.engine.executor import JournalFailure
from dataiku_iac.engine.session import Session
from dataiku_iac.errors import StateError
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.state import LocalBlobStore, StateWriter

from tests.fault import faultlib as fl

STATE_DIR = Path(".dataiku-iac") / "state" / "dev"


class FailingStore:
    """A LocalBlobStore whose appends (or puts) fail from the n-th call on, like a full disk.
    Records the emulator's request counter at the first failure."""

    def __init__(self, inner: LocalBlobStore, dss: Any, *, fail_append: Optional[int] = None, fail_put: Optional[int] = None):
        self.inner = inner
        self.dss = dss
        self.fail_append = fail_append
        self.fail_put = fail_put
        self.appends = 0
        self.puts = 0
        self.failed_at: Optional[int] = None  # DSS requests made when the first failure happened

    def _fail(self, what: str) -> None:
        if self.failed_at is None:
            self.failed_at = fl.request_count(self.dss)
        raise StateError(f"cannot {what} in {self.describe()}: No space left on device (injected)")

    def describe(self) -> str:
        return self.inner.describe()

    def get(self, name: str) -> Optional[bytes]:
        return self.inner.get(name)

    def put(self, name: str, data: bytes) -> None:
        self.puts += 1
        if self.fail_put is not None and self.puts >= self.fail_put:
            self._fail(f"write {name}")
        self.inner.put(name, data)

    def put_if_absent(self, name: str, data: bytes) -> bool:
        return self.inner.put_if_absent(name, data)

    def append(self, name: str, data: bytes) -> None:
        self.appends += 1
        if self.fail_append is not None and self.appends >= self.fail_append:
            self._fail(f"append to {name}")
        self.inner.append(name, data)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def list(self, prefix: str = "") -> list:
        return self.inner.list(prefix)


class _Session(Session):
    def __init__(self, root: Path, store: FailingStore, **kwargs: Any):
        super().__init__(root, "dev", **kwargs)
        self._store = store

    def state_writer(self) -> StateWriter:
        return StateWriter(self._store, environment="dev")


def _journal_intents(root: Path) -> set:
    path = root / STATE_DIR / "journal.jsonl"
    if not path.exists():
        return set()
    addresses = set()
    for line in path.read_bytes().splitlines()[1:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("kind") == "intent":
            addresses.add(entry["address"])
    return addresses


def _created_untracked(dss: Any, root: Path) -> list:
    """Objects in DSS that neither the state nor the journal knows about: changes the state
    could not record (must never happen)."""
    state = fl.read_state(root)
    known = set(state["resources"]) | _journal_intents(root)
    live = fl.live_objects(dss.client(), ["FAULT", "SIDE"])
    addresses = [f"project.{p}" if t == "project" else f"{t}.{p}.{n}" for t, p, n in live]
    return sorted(a for a in addresses if a not in known)


def write_failure_trial(dss: Any, root: Path, declared: dict, op: str, n: int, parallelism: int) -> dict:
    """Fail the n-th (and later) append or put of an apply; check the stop, then recover via the CLI."""
    fl.fresh(dss, root)
    store = FailingStore(LocalBlobStore(root / STATE_DIR), dss, **{f"fail_{op}": n})
    session = _Session(root, store, environ=fl.cli_env(dss), parallelism=parallelism)
    error: Optional[BaseException] = None
    result = None
    try:
        _planned, result = session.apply(PlanOptions())
    except StateError as exc:
        error = exc
    fl.wait_for(lambda: len(dss.admin.requests()) >= fl.request_count(dss), what="DSS to finish")
    requests_after = None if store.failed_at is None else fl.request_count(dss) - store.failed_at
    untracked = _created_untracked(dss, root)
    lock_released = not (root / STATE_DIR / "lock.json").exists()
    recovery = fl.run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    check = fl.check_integrity(dss, root, declared[0])
    record = {
        "op": op,
        "n": n,
        "parallelism": parallelism,
        "failed": store.failed_at is not None,
        "error": type(error).__name__ if error else None,
        "journal_failure": isinstance(error, JournalFailure),
        "requests_after_failure": requests_after,
        "untracked_changes": len(untracked),
        "lock_released": lock_released,
        "stopped_before_next_call": store.failed_at is not None and (requests_after == 0 if parallelism == 1 else not untracked),
        "recovered": recovery.returncode == 0 and check.ok,
        "applied_ok": result is not None and result.ok,
    }
    record.update(check.summary())
    if not record["recovered"] or (record["failed"] and not record["stopped_before_next_call"]):
        record["output"] = (str(recovery) + str(check) + f" untracked={untracked} error={error}")[-3000:]
    return record


def _assert_trial(record: dict) -> None:
    assert record["failed"], f"the injected failure never happened: {record}"
    assert record["error"] is not None and not record["applied_ok"], f"the apply did not report the failure: {record}"
    assert record["stopped_before_next_call"], record
    assert record["untracked_changes"] == 0, record
    assert record["lock_released"], record
    assert record["recovered"], record


@pytest.mark.parametrize(
    ("op", "n"),
    [("append", 1), ("append", 2), ("append", 41), ("put", 2), ("put", 3)],
    ids=["first-intent", "first-outcome", "mid-apply", "state-history-write", "state-pointer-write"],
)
def test_state_write_failure_stops_the_apply(seeded: Any, tmp_path: Path, declared: dict, op: str, n: int) -> None:
    # puts of an apply: 1 journal header, 2 history/<serial>.json, 3 state.json, then the journal compaction
    record = write_failure_trial(seeded, tmp_path / "cfg", declared, op, n, 1)
    _assert_trial(record)
    if op == "append":
        assert record["journal_failure"], record


def test_state_write_failure_with_parallel_actions(seeded: Any, tmp_path: Path, declared: dict) -> None:
    record = write_failure_trial(seeded, tmp_path / "cfg", declared, "append", 30, 4)
    _assert_trial(record)


def test_disk_full_during_a_cli_apply(seeded: Any, tmp_path: Path, declared: dict) -> None:
    """The CLI under a file-size limit: the journal append that crosses it fails (EFBIG)."""
    root = fl.fresh(seeded, tmp_path / "cfg")
    limit = 12_000  # the journal of this apply grows past it after a few dozen entries

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [fl.CLI, "--no-color", "-C", str(root), "apply", "-e", "dev", "--auto-approve"],
        cwd=str(root),
        env=fl.cli_env(seeded),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit_files,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "journal" in done.stderr and "File too large" in done.stderr, done.stderr
    assert _created_untracked(seeded, root) == []
    assert not (root / STATE_DIR / "lock.json").exists()
    recovery = fl.run_cli(seeded, root, "apply", "-e", "dev", "--auto-approve")
    assert recovery.returncode == 0, str(recovery)
    check = fl.check_integrity(seeded, root, declared[0])
    assert check.ok, str(check)


# -- the full sweep ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(4 * 3600)
def test_state_write_failure_sweep(emulator_pool: list, tmp_path: Path, declared: dict, fault_report: fl.Report) -> None:
    started = time.monotonic()
    """Every append and every put of the create apply, at parallelism 1 and 4."""
    dss = emulator_pool[0]
    root = tmp_path / "measure"
    fl.fresh(dss, root)
    counter = FailingStore(LocalBlobStore(root / STATE_DIR), dss)
    _planned, result = _Session(root, counter, environ=fl.cli_env(dss)).apply(PlanOptions())
    assert result is not None and result.ok
    trials = [(declared, "append", n, p) for n in fl.sweep_positions(counter.appends) for p in (1, 4)]
    trials += [(declared, "put", n, p) for n in range(1, counter.puts + 1) for p in (1, 4)]
    records = fl.run_sweep(emulator_pool, tmp_path, trials, write_failure_trial)
    for record in sorted(records, key=lambda r: (r.get("op", ""), r.get("parallelism", 0), r.get("n", 0))):
        fault_report.add("state-write-failure", record)
    fault_report.timed("state-write-failure", time.monotonic() - started)
    bad = [r for r in records if not (r.get("failed") and r.get("stopped_before_next_call") and r.get("recovered") and r.get("lock_released"))]
    assert len(records) == len(trials)
    assert not bad, f"{len(bad)}/{len(records)} trials failed; first: {bad[:3]}"
