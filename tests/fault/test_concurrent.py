"""Issue 5 §4, concurrent applies: never two lock holders, on every state backend.

A trial starts R `dataiku-iac apply` processes at once on one fresh state. A `hang` rule parks
every project-creation request (`POST /projects/`): only a run that holds the lock gets that far
(it plans after locking), so the number of parked requests is the number of holders, counted
while they are all still holding. Once every process has either exited or parked, that number
must be 1, every other process must have failed with the lock error naming the holder's lock ID,
and after the faults are cleared the holder must finish: state serial 1, the project in DSS
once, owned by the state.

Backends: local (temp file + link), managed_folder (a DSS managed folder; the lock is a dataset
whose creation DSS serializes), s3 (conditional writes, against moto's S3 over HTTP:
tests/s3_server.py). The fast test runs a few trials per backend; the slow one 100 per backend.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.fault import faultlib as fl
from tests.s3_server import BUCKET, CREDENTIALS, start_s3_server
from tests.support.emulator import ensure_state_folder

# On one xdist worker: one S3 server for the module.
pytestmark = pytest.mark.xdist_group("test_concurrent")

RACERS = 4
STATE_PROJECT = "IACSTATE"
STATE_FOLDER = "iac_state"
_LOCK_ID = re.compile(r"lock ID (\S+?)[.,;]? ")


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = start_s3_server(tmp_path_factory.mktemp("s3") / "s3.log")
    try:
        yield server
    finally:
        server.stop()


def _iac_yml(backend: str, trial: str, s3_url: str = "") -> str:
    if backend == "local":
        return "version: 1\nstate: {backend: local}\n"
    if backend == "managed_folder":
        return f"version: 1\nstate: {{backend: managed_folder, project_key: {STATE_PROJECT}, folder: {STATE_FOLDER}, path: {trial}}}\n"
    return f"version: 1\nstate: {{backend: s3, bucket: {BUCKET}, key_prefix: {trial}, endpoint_url: '{s3_url}'}}\n"


def race_trial(dss: Any, root: Path, backend: str, index: int, racers: int, s3_url: str = "") -> dict:
    """One trial: `racers` applies at once on a fresh state; returns the figures."""
    key = f"RACE_{backend.upper()}_{index}"
    trial = f"t{index}"
    root = root / trial
    root.mkdir(parents=True, exist_ok=True)
    (root / "projects").mkdir(exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    (root / "iac.yml").write_text(_iac_yml(backend, trial, s3_url), encoding="utf-8")
    (root / "environments" / "dev.yml").write_text("", encoding="utf-8")
    (root / "projects" / "race.yml").write_text(
        f"project:\n  key: {key}\n  name: Race {index}\ndatasets:\n  - name: d\n    type: managed\n    format: csv\n", encoding="utf-8"
    )
    if backend == "managed_folder":
        ensure_state_folder(dss, STATE_PROJECT, STATE_FOLDER)
    env = fl.cli_env(dss, **(CREDENTIALS if backend == "s3" else {}))
    dss.admin.clear_faults()
    rule = dss.admin.add_fault(method="POST", path=r"^/projects/$", mode="hang", times=0, status=503, hang_seconds=300)
    procs = [fl.spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env, log=root / f"racer{i}.log") for i in range(racers)]

    def parked() -> int:
        return next(r["matched"] for r in dss.admin.faults() if r["id"] == rule["id"])

    try:
        fl.wait_for(lambda: sum(p.poll() is not None for p in procs) + parked() >= racers, timeout=240, what="every racer to exit or park")
        time.sleep(0.3)  # a second holder still on its way to DSS would show up now
        holders = parked()
        exited = [i for i, p in enumerate(procs) if p.poll() is not None]
        from dataiku_iac.engine.session import Session

        holder = Session(root, "dev", environ=env).state_reader().current_lock()
        holder_id = holder.id if holder is not None else None
    finally:
        dss.admin.clear_faults()
    for proc in procs:
        try:
            proc.wait(timeout=120)
        except Exception:
            proc.kill()
            proc.wait()
    logs = [(root / f"racer{i}.log").read_text(errors="replace") for i in range(racers)]
    losers = [logs[i] for i in exited]
    named = [log for log in losers if "Error acquiring the state lock" in log and holder_id and f"lock ID {holder_id}" in log]
    winners = [i for i, p in enumerate(procs) if p.returncode == 0]
    state = Session(root, "dev", environ=env).state_reader().read()
    live = fl.live_objects(dss.client(), [key])
    record = {
        "backend": backend,
        "trial": index,
        "racers": racers,
        "holders": holders,
        "double_holders": int(holders > 1),
        "losers": len(losers),
        "losers_named_holder": len(named),
        "winner_succeeded": len(winners) == 1 and winners[0] not in exited,
        "serial": state.serial,
        "lost_updates": int(set(state.resources) != {f"project.{key}", f"dataset.{key}.d"}),
        "duplicates": sum(n - 1 for n in live.values()),
    }
    if holders != 1 or len(named) != len(losers) or not record["winner_succeeded"]:
        record["logs"] = [log[-800:] for log in logs]
    return record


def _assert_trial(record: dict) -> None:
    assert record["holders"] == 1, record
    assert record["losers"] == record["racers"] - 1 and record["losers_named_holder"] == record["losers"], record
    assert record["winner_succeeded"] and record["serial"] == 1, record
    assert record["lost_updates"] == 0 and record["duplicates"] == 0, record


@pytest.mark.parametrize("backend", ["local", "managed_folder", "s3"])
def test_concurrent_applies_have_one_holder(seeded: Any, tmp_path: Path, backend: str, s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():  # the in-process state reader's boto3 client
        monkeypatch.setenv(name, value)
    trials = 2 if backend == "local" else 1
    for index in range(trials):
        record = race_trial(seeded, tmp_path, backend, index, RACERS, s3_server.url)
        _assert_trial(record)


@pytest.mark.slow
@pytest.mark.timeout(6 * 3600)
@pytest.mark.parametrize("backend", ["local", "managed_folder", "s3"])
def test_concurrent_applies_100_trials(seeded: Any, tmp_path: Path, backend: str, s3_server: Any, fault_report: fl.Report, monkeypatch: pytest.MonkeyPatch) -> None:
    started = time.monotonic()
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    trials = int(os.environ.get("FAULT_RACE_TRIALS", "100"))
    racers = int(os.environ.get("FAULT_RACERS", str(RACERS)))
    records = [race_trial(seeded, tmp_path, backend, index, racers, s3_server.url) for index in range(trials)]
    for record in records:
        fault_report.add(f"concurrent-{backend}", record)
    fault_report.timed(f"concurrent-{backend}", time.monotonic() - started)
    bad = [r for r in records if r["holders"] != 1 or r["losers_named_holder"] != r["losers"] or not r["winner_succeeded"] or r["lost_updates"] or r["duplicates"]]
    assert not bad, f"{len(bad)}/{len(records)} trials failed; first: {bad[:2]}"
