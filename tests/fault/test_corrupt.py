"""Issue 5 §4, corrupt state and journal: detected before any DSS write, previous state restorable.

Baseline (built once per module on the session emulator): the configuration applied three
times (serials 1, 2, 3: variant 0, variant 1, variant 0 again), so the history holds several
serials and DSS matches serial 3. Each case copies that state directory, damages it, and runs
the real CLI:

- `apply` (and `plan`) must fail with a message naming the problem, without a traceback, and
  the emulator's request log must show no POST/PUT/DELETE since the command started;
- the documented recovery must work through the CLI: `state history`, then
  `state restore SERIAL` (the damaged file is kept under corrupted/), then `plan` says
  `No changes.`.

Journal cases run on a state whose last serial removed one resource from the state (`state
rm`), so a journal outcome that re-records it is visible: kept good entries make the next apply
converge with no write; dropped ones would make it refuse ("exists but not managed").
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from dataiku_iac.state import journal as jrn

from tests.fault import faultlib as fl

# On one xdist worker: its module fixture (a 3-serial baseline) is built once.
pytestmark = pytest.mark.xdist_group("test_corrupt")

STATE_DIR = Path(".dataiku-iac") / "state" / "dev"


@dataclass
class Baseline:
    dss: Any
    root: Path  # config (variant 0) + state dir at serial 3, DSS matching it
    journal_root: Path  # same config, state at serial 4 = serial 3 minus RM_ADDRESS
    removed: dict  # the state record of RM_ADDRESS


RM_ADDRESS = "dataset.FAULT.raw_1"


@pytest.fixture(scope="module")
def baseline(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    dss = dss_emulator
    root = fl.fresh(dss, tmp_path_factory.mktemp("corrupt") / "cfg")
    for variant in (0, 1, 0):
        fl.write_config(root, variant=variant)
        run = fl.run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
        assert run.returncode == 0, str(run)
    assert fl.read_state(root)["serial"] == 3
    journal_root = tmp_path_factory.mktemp("journal") / "cfg"
    shutil.copytree(root, journal_root)
    removed = fl.read_state(journal_root)["resources"][RM_ADDRESS]
    run = fl.run_cli(dss, journal_root, "state", "rm", RM_ADDRESS, "-e", "dev")
    assert run.returncode == 0, str(run)
    return Baseline(dss, root, journal_root, removed)


def _copy(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest


def _dss_unchanged(dss: Any) -> None:
    """The module's tests share one DSS: make sure no earlier case changed it."""
    live = fl.live_objects(dss.client(), ["FAULT", "SIDE"])
    assert set(live) == fl.declared_objects(0) and all(n == 1 for n in live.values()), "the baseline DSS was changed"


# -- state.json corpus ----------------------------------------------------------------------------
def _doc(raw: bytes) -> dict:
    return json.loads(raw)


def _dump(doc: dict) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _flip_id(raw: bytes) -> bytes:
    doc = _doc(raw)
    folder = next(r for r in doc["resources"].values() if r["type"] == "managed_folder")
    folder["dss_id"] = folder["dss_id"][:-1] + ("X" if folder["dss_id"][-1] != "X" else "Y")
    return _dump(doc)


def _set(key: str, value: Any) -> Callable[[bytes], bytes]:
    def damage(raw: bytes) -> bytes:
        doc = _doc(raw)
        doc[key] = value
        return _dump(doc)

    return damage


def _drop_resource(raw: bytes) -> bytes:
    doc = _doc(raw)
    del doc["resources"]["recipe.FAULT.prep_2"]
    return _dump(doc)


def _duplicate_key(raw: bytes) -> bytes:
    text = raw.decode("utf-8")
    return text.replace('"serial": 3,', '"serial": 3,\n  "serial": 3,', 1).encode("utf-8")


def _flip_brace(raw: bytes) -> bytes:
    index = raw.index(b"{", 10)
    return raw[:index] + b"[" + raw[index + 1 :]


# name: (damage of state.json bytes, or None to delete it; message fragment; restorable with `state restore`)
STATE_CASES: dict = {
    "empty": (lambda raw: b"", "empty", True),
    "whitespace": (lambda raw: b" \n\t\n", "empty", True),
    "truncated-half": (lambda raw: raw[: len(raw) // 2], "truncated", True),
    "truncated-last-brace": (lambda raw: raw.rstrip()[:-1], "truncated", True),
    "invalid-json": (lambda raw: b"this is not JSON {]", "invalid JSON", True),
    "not-utf8": (lambda raw: raw.replace(b'"name"', "\"n\xe4me\"".encode("latin-1"), 1), "UTF-8", True),
    "bit-flip-breaks-json": (_flip_brace, "JSON", True),
    "bit-flip-still-valid": (_flip_id, "differs from history", True),
    "duplicate-key": (_duplicate_key, "appears twice", True),
    "wrong-lineage": (lambda raw: _set("lineage", str(uuid.uuid4()))(raw), "a state from elsewhere", True),
    "resource-dropped": (_drop_resource, "differs from history", True),
    "lower-serial": ("history-1", "lower than the newest history entry", True),
    "future-format": (_set("format_version", 99), "newer dataiku-iac", False),
    "other-environment": (_set("environment", "prod"), "belongs to environment 'prod'", False),
    "deleted": (None, "is missing but the history holds serials", True),
}


# Cases whose recovery goes through the CLI (`plan`, `state history`, `state restore`, `plan`);
# the others restore through StateWriter.restore in-process (the same code, without three
# process start-ups per case).
CLI_RESTORE = ("deleted", "lower-serial", "wrong-lineage")


def _restore(dss: Any, root: Path, *, cli: bool) -> tuple:
    """Restore serial 3 as serial 4; True if the state is then serial 4 and the plan is empty."""
    if cli:
        history = fl.run_cli(dss, root, "state", "history", "-e", "dev")
        restore = fl.run_cli(dss, root, "state", "restore", "3", "-e", "dev")
        after = fl.run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
        lines = after.stdout.strip().splitlines()
        ok = history.returncode == 0 and "3" in history.stdout and restore.returncode == 0 and after.returncode == 0 and bool(lines) and lines[-1].startswith("No changes.")
        return ok and fl.read_state(root)["serial"] == 4, "cli", str(history) + str(restore) + str(after)
    from dataiku_iac.engine.session import Session

    session = Session(root, "dev", environ=fl.cli_env(dss))
    writer = session.state_writer()
    lock = writer.lock("state restore")
    try:
        writer.restore(3, operation="state restore")
    finally:
        writer.unlock(lock.id)
    planned = Session(root, "dev", environ=fl.cli_env(dss)).plan().plan
    return not planned.has_changes and fl.read_state(root)["serial"] == 4, "api", str([c.address for c in planned.changes])


def state_case(baseline: Baseline, tmp: Path, name: str) -> dict:
    """Damage state.json one way; return the figures (detected, writes, restored...)."""
    dss = baseline.dss
    damage, fragment, restorable = STATE_CASES[name]
    root = _copy(baseline.root, tmp / name)
    state = root / STATE_DIR / "state.json"
    good = state.read_bytes()
    if damage is None:
        state.unlink()
    elif damage == "history-1":
        state.write_bytes((root / STATE_DIR / "history" / "0000000001.json").read_bytes())
    else:
        state.write_bytes(damage(good))
    record: dict = {"case": name}
    base = fl.request_count(dss)
    apply = fl.run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    plan = fl.run_cli(dss, root, "plan", "-e", "dev") if name in CLI_RESTORE else apply
    record["detected"] = apply.returncode == 1 and plan.returncode == 1 and fragment in apply.stderr and fragment in plan.stderr
    record["no_write_before_detection"] = fl.writes_since(dss, base) == []
    record["dss_requests"] = fl.request_count(dss) - base
    record["traceback"] = "Traceback" in apply.output + plan.output
    record["message"] = apply.stderr.strip()[:400]
    if restorable:
        record["restored"], record["restored_via"], detail = _restore(dss, root, cli=name in CLI_RESTORE)
        kept_aside = damage not in (None, "history-1")
        record["damaged_file_kept"] = not kept_aside or any((root / STATE_DIR / "corrupted").glob("*"))
        if not record["restored"]:
            record["output"] = detail[-3000:]
    return record


@pytest.mark.parametrize("name", sorted(STATE_CASES))
def test_corrupt_state_detected_before_any_write(baseline: Baseline, tmp_path: Path, name: str) -> None:
    record = state_case(baseline, tmp_path, name)
    assert record["detected"], record
    assert record["no_write_before_detection"], record
    assert not record["traceback"], record
    if STATE_CASES[name][2]:
        assert record["restored"] and record["damaged_file_kept"], record
    _dss_unchanged(baseline.dss)


# -- journal corpus -------------------------------------------------------------------------------
def _header(lineage: str, base_serial: int) -> bytes:
    return jrn.header_line(lineage=lineage, base_serial=base_serial, operation="apply", started_at="2026-01-01T00:00:00Z")


def _outcome(seq: int, record: dict) -> bytes:
    entry = {"seq": seq, "kind": "outcome", "action": "create", "address": record["address"], "ok": True, "time": "2026-01-01T00:00:01Z", "resource": record}
    return jrn.encode_line(entry)


def _intent(seq: int, record: dict) -> bytes:
    entry = {"seq": seq, "kind": "intent", "action": "create", "address": record["address"], "time": "2026-01-01T00:00:00Z", "resource": record}
    return jrn.encode_line(entry)


@dataclass
class JournalCase:
    build: Callable[[str, int, dict], bytes]  # (lineage, stored serial, removed record) -> journal bytes
    refused: Optional[str]  # message fragment when the apply must refuse, None when it proceeds
    converges: bool  # the apply re-records the removed resource from the journal and succeeds
    quarantined: int  # lines expected in journal.corrupted afterwards


JOURNAL_CASES = {
    "empty-file": JournalCase(lambda lin, s, rec: b"", None, False, 0),
    "header-only": JournalCase(lambda lin, s, rec: _header(lin, s), None, False, 0),
    "stale-serial": JournalCase(lambda lin, s, rec: _header(lin, s - 1) + _intent(1, rec) + _outcome(1, rec), None, False, 0),
    "future-serial": JournalCase(lambda lin, s, rec: _header(lin, s + 3) + _outcome(1, rec), "ahead of the stored serial", False, 0),
    "lineage-mismatch": JournalCase(lambda lin, s, rec: _header(str(uuid.uuid4()), s) + _outcome(1, rec), "belongs to state lineage", False, 0),
    "garbage-header": JournalCase(lambda lin, s, rec: b"\x00\xffgarbage\n" + _outcome(1, rec), "header is unreadable", False, 0),
    "good-entries": JournalCase(lambda lin, s, rec: _header(lin, s) + _intent(1, rec) + _outcome(1, rec), None, True, 0),
    "garbage-lines-between-good-ones": JournalCase(
        lambda lin, s, rec: _header(lin, s) + b"{not json\n" + _intent(1, rec) + b'{"seq": "x"}\n' + _outcome(1, rec) + b"\xff\xfe\n",
        None,
        True,
        3,
    ),
    "torn-last-line": JournalCase(lambda lin, s, rec: _header(lin, s) + _intent(1, rec) + _outcome(1, rec) + _intent(2, rec)[:25], None, True, 1),
}


def journal_case(baseline: Baseline, tmp: Path, name: str) -> dict:
    dss = baseline.dss
    case = JOURNAL_CASES[name]
    root = _copy(baseline.journal_root, tmp / name)
    state = fl.read_state(root)
    journal = root / STATE_DIR / "journal.jsonl"
    raw = case.build(state["lineage"], state["serial"], baseline.removed)
    journal.write_bytes(raw)
    base = fl.request_count(dss)
    run = fl.run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    writes = fl.writes_since(dss, base)
    record: dict = {"case": name, "traceback": "Traceback" in run.output, "message": run.stderr.strip()[:400]}
    owned = RM_ADDRESS in fl.read_state(root)["resources"]
    corrupted = root / STATE_DIR / "journal.corrupted"
    quarantined = len(corrupted.read_bytes().splitlines()) if corrupted.exists() else 0
    if case.refused is not None:
        record["detected"] = run.returncode == 1 and case.refused in run.stderr
        record["no_write_before_detection"] = writes == []
        record["journal_untouched"] = journal.read_bytes() == raw
        # Documented recovery: move the journal aside, then plan (the state is as it was).
        journal.rename(journal.with_name("journal.moved-aside"))
        plan = fl.run_cli(dss, root, "plan", "-e", "dev")
        record["restored"] = plan.returncode == 1 and "not managed" in plan.stderr  # RM_ADDRESS is unowned, as the state says
    else:
        # Proceeding is right only if the outcome is what the journal says.
        expected_exit = 0 if case.converges else 1
        record["detected"] = run.returncode == expected_exit and owned == case.converges and quarantined == case.quarantined
        record["no_write_before_detection"] = writes == []
        record["journal_cleared"] = not journal.exists() or not case.converges
        if case.converges:
            after = fl.run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
            record["restored"] = after.returncode == 0 and after.stdout.strip().splitlines()[-1].startswith("No changes.")
    record["quarantined"] = quarantined
    if not record.get("detected") or not record.get("restored", True):
        record["output"] = str(run)[-2500:]
    return record


@pytest.mark.parametrize("name", sorted(JOURNAL_CASES))
def test_corrupt_journal_classified(baseline: Baseline, tmp_path: Path, name: str) -> None:
    record = journal_case(baseline, tmp_path, name)
    assert record["detected"], record
    assert record["no_write_before_detection"], record
    assert not record["traceback"], record
    assert record.get("restored", True), record
    assert record.get("journal_untouched", True), record
    _dss_unchanged(baseline.dss)


# -- the figures for the report ---------------------------------------------------------------------
@pytest.mark.slow
def test_corrupt_corpus_report(baseline: Baseline, tmp_path: Path, fault_report: fl.Report) -> None:
    started = time.monotonic()
    """The whole corpus again, recorded in test-artifacts/fault-report.json."""
    records = [state_case(baseline, tmp_path / "state", name) for name in sorted(STATE_CASES)]
    records += [journal_case(baseline, tmp_path / "journal", name) for name in sorted(JOURNAL_CASES)]
    for record in records:
        fault_report.add("corrupt-state-and-journal", record)
    fault_report.timed("corrupt-state-and-journal", time.monotonic() - started)
    bad = [r for r in records if not (r["detected"] and r["no_write_before_detection"] and r.get("restored", True) and not r["traceback"])]
    assert not bad, bad
