"""Shared machinery of the fault-injection suite (tests/fault).

Everything runs for real: the `dataiku-iac` CLI as a subprocess (exactly as CI runs it), the
real `dataikuapi` client inside it, and the DSS emulator in its own process. Faults are injected
through the emulator's admin API (`/__emulator__/faults`); the emulator's request log is the
ground truth of what reached "DSS".

Kill method (deterministic): before the apply starts, a `hang` rule matching every public-API
request from number k+1 on is installed, so DSS has answered exactly k requests when the CLI
blocks. The test waits until the hang rule has fired (request k+1 is parked in the emulator,
nothing after it can reach DSS), then SIGKILLs the CLI and clears the faults; the parked request
is answered with an error to a dead socket and never executed. "inflight" kills add a `latency`
rule on request k itself: DSS carries it out ~0.4 s later, after the CLI is dead, which is the
"change made, answer never received" case. Numbering counts every request of the apply run,
including its initial observation, so k=1..N sweeps every point of the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from tests import support

# Shared with the other suites (tests/support), re-exported for the tests that use them as fl.*.
from tests.support import CLI, REPO, WRITE_METHODS, request_count, state_dir, writes_since  # noqa: F401

ARTIFACTS = REPO / "test-artifacts"
CHILD_TYPES = ("dataset", "managed_folder", "recipe", "scenario")

# Unique canaries: if any of these strings shows up anywhere the tool writes, a secret leaked.
CANARY_VARIABLE = "canary-var-7f3c9a1e5d2b4f60a8c1"
CANARY_CONNECTION = "canary-conn-2b8e6d4a0c9f1e37b5d2"
CANARY_CONNECTION_PROP = "canary-prop-91d4c7e2a6b05f38e1c4"
CANARY_API_KEY = "canary-apikey-5e0a3b7d9c1f2486ad0e"
CANARIES = (CANARY_VARIABLE, CANARY_CONNECTION, CANARY_CONNECTION_PROP, CANARY_API_KEY)
SECRET_ENV = "IAC_SECRET_FAULT_SUITE_TOKEN"
SECRET_CONNECTION = "pg_canary"


# -- the configuration under test ------------------------------------------------------------
def main_project_yaml(key: str = "FAULT", *, pairs: int = 7, folders: int = 4, scenarios: int = 4, variant: int = 0) -> str:
    """A project whose apply exercises every resource type, folder ids, secrets and a SQL connection.

    variant 0: the initial configuration. variant 1: a second version with updates of every kind,
    deletions, a replacement (connection change) and new objects, for the "change" sweeps.
    """
    v2 = variant == 1
    out = [
        "project:\n",
        f"  key: {key}\n",
        f"  name: Fault project {key}{' v2' if v2 else ''}\n",
        f"  description: {'second' if v2 else 'first'} version\n",
        "  tags: [fault]\n",
        "  variables:\n",
        "    standard:\n",
        f"      size: {pairs + (1 if v2 else 0)}\n",
        "      region: eu\n",
        "    local:\n",
        f"      token: {{secret_env: {SECRET_ENV}}}\n",
        "  permissions:\n",
        "    - {group: readers, role: reader}\n" if not v2 else "    - {group: readers, role: contributor}\n",
    ]
    out.append("managed_folders:\n")
    folder_names = [f"f_{k}" for k in range(folders)]
    if v2:
        folder_names = folder_names[:-1] + ["f_new"]
    for name in folder_names:
        desc = f"folder {name}" + (" (v2)" if v2 and name == "f_0" else "")
        out.append(f"  - name: {name}\n    description: {desc}\n")
    out.append("datasets:\n")
    dataset_names: list[str] = []
    for i in range(pairs):
        if v2 and i == pairs - 1:
            continue  # removed in v2 (with its recipe)
        fmt = "parquet" if v2 and i == 0 else "csv"
        out.append(f"  - name: raw_{i}\n    type: managed\n    format: {fmt}\n")
        tags = "[clean, v2]" if v2 and i == 1 else "[clean]"
        out.append(f"  - name: clean_{i}\n    type: managed\n    format: parquet\n    tags: {tags}\n")
        dataset_names += [f"raw_{i}", f"clean_{i}"]
    # A SQL dataset on the canary connection: its connection info (with secrets) is read.
    out.append(f"  - name: customers\n    type: sql_table\n    connection: {SECRET_CONNECTION}\n    schema_name: public\n    table: customers\n")
    if v2:
        # Replacement: a dataset's connection forces delete + create.
        out.append("  - name: lookup\n    type: managed\n    connection: filesystem_alt\n    format: csv\n")
        out.append("  - name: extra\n    type: managed\n    format: csv\n")
    else:
        out.append("  - name: lookup\n    type: managed\n    format: csv\n")
    out.append("recipes:\n")
    for i in range(pairs):
        if v2 and i == pairs - 1:
            continue
        code = f"# prep {i}{' v2' if v2 and i == 2 else ''}"
        out.append(f"  - name: prep_{i}\n    type: python\n    inputs: [raw_{i}]\n    outputs: [clean_{i}]\n    code: |\n      {code}\n")
    for k, folder in enumerate(folder_names):
        out.append(f"  - name: report_{folder}\n    type: python\n    inputs: [clean_{k % (pairs - 1)}]\n    outputs: [{folder}]\n    code: |\n      # report {folder}\n")
    out.append("scenarios:\n")
    for s in range(scenarios):
        folder = folder_names[s % len(folder_names)]
        trigger = (
            f"      - {{type: dataset_change, datasets: [raw_{s % (pairs - 1)}]}}\n"
            if s % 2 == 0
            else f"      - {{type: dataset_change, folders: [{folder}]}}\n"
        )
        if v2 and s == 1:
            trigger = "      - {type: periodic, every_minutes: 30}\n"
        steps = f"      - {{type: build, datasets: [clean_{s % (pairs - 1)}]}}\n"
        if s > 0:
            steps += f"      - {{type: run_scenario, scenario: S_{s - 1}}}\n"
        out.append(f"  - id: S_{s}\n    name: Scenario {s}\n    triggers:\n{trigger}    steps:\n{steps}")
    return "".join(out)


def side_project_yaml(key: str = "SIDE", variant: int = 0) -> str:
    """A small second project, applied in parallel with the main one."""
    note = " v2" if variant == 1 else ""
    return (
        f"project:\n  key: {key}\n  name: Side project{note}\n"
        "managed_folders:\n  - name: drop\n"
        "datasets:\n"
        "  - name: a\n    type: managed\n    format: csv\n"
        "  - name: b\n    type: managed\n    format: parquet\n"
        "recipes:\n"
        "  - name: a_to_b\n    type: python\n    inputs: [a]\n    outputs: [b]\n    code: |\n      # a to b\n"
        "  - name: b_to_drop\n    type: python\n    inputs: [b]\n    outputs: [drop]\n    code: |\n"
        f"      # b to drop{note}\n"
        "scenarios:\n  - id: NIGHTLY\n    name: Nightly\n    steps:\n      - {type: build, datasets: [b]}\n"
    )


def write_config(root: Path, *, variant: int = 0, main_key: str = "FAULT", side_key: str = "SIDE") -> Path:
    """`dataiku-iac init`'s iac.yml and environments/dev.yml, projects/main.yml and projects/side.yml."""
    projects = {"main.yml": main_project_yaml(main_key, variant=variant), "side.yml": side_project_yaml(side_key, variant=variant)}
    return support.write_config(root, projects)


def seed_dss(dss: Any) -> None:
    """Instance objects the configuration needs, and the connection canaries."""
    dss.admin.seed(
        connections=[
            {
                "name": SECRET_CONNECTION,
                "type": "PostgreSQL",
                "params": {
                    "host": "db.internal",
                    "port": 5432,
                    "db": "dw",
                    "user": "svc",
                    "password": CANARY_CONNECTION,
                    "properties": [{"name": "sslpassword", "value": CANARY_CONNECTION_PROP, "secret": True}],
                },
                "allowManagedDatasets": True,
                "allowManagedFolders": False,
            },
            {"name": "filesystem_alt", "type": "Filesystem", "params": {"root": "/data/alt"}, "allowManagedDatasets": True},
        ],
        groups=[{"name": "readers"}],
    )


# -- running the CLI -------------------------------------------------------------------------
# A finished run (args, returncode, stdout, stderr, seconds, output); the shared result class.
Run = support.CliResult


def cli_env(dss: Any, **extra: str) -> dict:
    """The shared CLI environment, plus the secret the configuration reads (a canary)."""
    return support.cli_env(dss, **{SECRET_ENV: CANARY_VARIABLE, **extra})


def run_cli(dss: Any, root: Path, *args: str, env: Optional[dict] = None, timeout: float = 180) -> Run:
    """Run the CLI and return the run, whatever its exit code or output (nothing asserted)."""
    return support.run_cli(root, *args, env=env or cli_env(dss), expect=None, timeout=timeout, forbid=())


def spawn_cli(dss: Any, root: Path, *args: str, env: Optional[dict] = None, log: Optional[Path] = None) -> subprocess.Popen:
    """Start the CLI without waiting; its output is appended to `log` (default root/cli.log)."""
    return support.spawn_cli(root, *args, env=env or cli_env(dss), log=log, append=True)


def wait_for(predicate: Callable[[], Any], *, timeout: float = 60, interval: float = 0.01, what: str = "condition") -> Any:
    """The shared `wait_for` with this suite's defaults: 60 s, polling every 10 ms."""
    return support.wait_for(predicate, timeout=timeout, interval=interval, what=what)


# -- deterministic kills ---------------------------------------------------------------------
INFLIGHT_DELAY_MS = 700


@dataclass
class Kill:
    """The outcome of one killed run."""

    point: int  # k
    mode: str  # "before" (k answered, k+1 parked) or "inflight" (k executed after the kill)
    killed: bool  # False if the run ended before reaching the kill point
    confirmed: bool  # before: k+1 was parked; inflight: the CLI died before DSS answered k
    returncode: Optional[int]
    log: str


def kill_apply_at(dss: Any, root: Path, point: int, *, mode: str = "before", args: Iterable[str] = (), env: Optional[dict] = None) -> Kill:
    """Run `apply`, SIGKILL it deterministically around its request `point` (see module doc)."""
    if mode not in ("before", "inflight"):
        raise ValueError(mode)
    dss.admin.clear_faults()
    base = request_count(dss)
    hang = dss.admin.add_fault(method="*", path=".*", mode="hang", nth=point + 1, times=0, status=503, hang_seconds=120)
    trigger = hang
    if mode == "inflight":
        trigger = dss.admin.add_fault(method="*", path=".*", mode="latency", nth=point, times=1, latency_ms=INFLIGHT_DELAY_MS)
    log = root / f"kill-{mode}-{point}.log"
    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve", *args, env=env, log=log)

    def reached() -> bool:
        if proc.poll() is not None:
            return True
        return any(r["id"] == trigger["id"] and r["fired"] >= 1 for r in dss.admin.faults())

    killed_at = 0.0
    try:
        wait_for(reached, timeout=180, interval=0.005, what=f"request {point} of the apply")
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.time() * 1000
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        dss.admin.clear_faults()  # parked requests answer an error to a dead socket
    # DSS finishes what it was given before anyone looks (the in-flight request k, if any).
    wait_for(lambda: len(dss.admin.requests(since=base)) >= request_count(dss) - base, timeout=60, what="DSS to finish in-flight requests")
    confirmed = killed
    if killed and mode == "inflight":
        entry = next((e for e in dss.admin.requests(since=base) if e["seq"] == base + point), None)
        confirmed = entry is not None and killed_at < entry["time"] + entry["duration_ms"]
    return Kill(point, mode, killed, confirmed, proc.returncode, log.read_text(errors="replace"))


# -- recovery ----------------------------------------------------------------------------------
_UNLOCK_RE = re.compile(r"dataiku-iac state unlock (\S+) -e dev")


@dataclass
class Recovery:
    runs: list  # every CLI run of the recovery, in order
    unlocked: bool  # the documented `state unlock <ID>` was needed (a killed run keeps its lock)
    seconds: float

    @property
    def final(self) -> Run:
        return self.runs[-1]

    @property
    def output(self) -> str:
        return "".join(r.output for r in self.runs)


def recover(dss: Any, root: Path, *args: str, env: Optional[dict] = None) -> Recovery:
    """The documented procedure after a killed apply: `apply`; if it reports the killed run's lock
    as stale, `state unlock <ID>` with the ID from that message, then `apply` again."""
    started = time.monotonic()
    runs = [run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", *args, env=env)]
    unlocked = False
    match = _UNLOCK_RE.search(runs[0].stderr)
    if runs[0].returncode == 1 and "looks stale" in runs[0].stderr and match:
        runs.append(run_cli(dss, root, "state", "unlock", match.group(1), "-e", "dev", env=env))
        unlocked = runs[-1].returncode == 0
        runs.append(run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", *args, env=env))
    return Recovery(runs, unlocked, time.monotonic() - started)


# -- what DSS and the state hold ---------------------------------------------------------------
def live_objects(client: Any, project_keys: Iterable[str]) -> dict:
    """(type, project, name) -> count, as DSS lists them (a duplicate shows as count 2)."""
    counts: Counter = Counter()
    existing = set(client.list_project_keys())
    for key in project_keys:
        if key not in existing:
            continue
        counts[("project", key, key)] += 1
        project = client.get_project(key)
        for item in project.list_datasets():
            counts[("dataset", key, item["name"])] += 1
        for item in project.list_managed_folders():
            counts[("managed_folder", key, item["name"])] += 1
        for item in project.list_recipes():
            counts[("recipe", key, item["name"])] += 1
        for item in project.list_scenarios():
            counts[("scenario", key, item["id"])] += 1
    return dict(counts)


def read_state(root: Path, env: str = "dev") -> dict:
    path = state_dir(root, env) / "state.json"
    if not path.exists():
        return {"serial": 0, "resources": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def state_objects(state: dict) -> dict:
    """(type, project, name) -> dss_id of every resource the state owns."""
    return {(r["type"], r["project_key"], r["name"]): r["dss_id"] for r in state["resources"].values()}


@dataclass
class Check:
    """Integrity of DSS + state after a recovery, against the configuration."""

    duplicates: list = field(default_factory=list)  # (type, project, name) listed more than once
    orphans_dss: list = field(default_factory=list)  # in DSS, declared, but not owned by the state
    orphans_state: list = field(default_factory=list)  # owned by the state but absent from DSS
    missing: list = field(default_factory=list)  # declared but absent from DSS
    unexpected: list = field(default_factory=list)  # in DSS, not declared (e.g. left after a delete)
    bad_ids: list = field(default_factory=list)  # state dss_id that is not the live object's id
    plan_empty: bool = False
    plan_output: str = ""

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.orphans_dss or self.orphans_state or self.missing or self.unexpected or self.bad_ids) and self.plan_empty

    def summary(self) -> dict:
        return {
            "duplicates": len(self.duplicates),
            "orphans_dss": len(self.orphans_dss),
            "orphans_state": len(self.orphans_state),
            "missing": len(self.missing),
            "unexpected": len(self.unexpected),
            "bad_ids": len(self.bad_ids),
            "plan_empty": self.plan_empty,
        }

    def __str__(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v and k != "plan_output"]
        if not self.plan_empty:
            parts.append("follow-up plan:\n" + self.plan_output[-3000:])
        return "; ".join(parts)


def declared_objects(variant: int = 0, main_key: str = "FAULT", side_key: str = "SIDE") -> set:
    """(type, project, name) of everything the configuration declares, read through the engine."""
    import tempfile

    from dataiku_iac.builder import build_desired
    from dataiku_iac.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        root = write_config(Path(tmp), variant=variant, main_key=main_key, side_key=side_key)
        desired = build_desired(load_config(root, "dev"), {SECRET_ENV: CANARY_VARIABLE})
    return {(r.type, r.project_key, r.name) for r in desired.resources.values()}


def folder_ids(client: Any, project_keys: Iterable[str]) -> dict:
    ids = {}
    existing = set(client.list_project_keys())
    for key in project_keys:
        if key in existing:
            for item in client.get_project(key).list_managed_folders():
                ids.setdefault(("managed_folder", key, item["name"]), set()).add(item["id"])
    return ids


def check_integrity(dss: Any, root: Path, declared: set, *, plan: bool = True) -> Check:
    client = dss.client()
    keys = sorted({k for _t, k, _n in declared})
    live = live_objects(client, keys)
    owned = state_objects(read_state(root))
    check = Check()
    check.duplicates = sorted(o for o, n in live.items() if n > 1)
    check.missing = sorted(o for o in declared if o not in live)
    check.unexpected = sorted(o for o in live if o not in declared)
    check.orphans_dss = sorted(o for o in live if o in declared and o not in owned)
    check.orphans_state = sorted(o for o in owned if o not in live)
    ids = folder_ids(client, keys)
    check.bad_ids = sorted(o for o, dss_id in owned.items() if o in ids and dss_id not in ids[o])
    if plan:
        result = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
        check.plan_output = str(result)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        check.plan_empty = result.returncode == 0 and bool(lines) and lines[-1].startswith("No changes.")
    return check


# -- trials --------------------------------------------------------------------------------------
def fresh(dss: Any, root: Path, *, variant: int = 0) -> Path:
    """A reset emulator (seeded) and a new config directory without state."""
    dss.reset_all()
    seed_dss(dss)
    shutil.rmtree(root, ignore_errors=True)
    return write_config(root, variant=variant)


def prepare(dss: Any, root: Path, scenario: str) -> int:
    """Set up `scenario` ("create": nothing applied yet; "change": variant 0 applied, config now
    variant 1); return the variant the next apply converges to."""
    fresh(dss, root)
    if scenario == "create":
        return 0
    first = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert first.returncode == 0, str(first)
    write_config(root, variant=1)
    return 1


def apply_requests(dss: Any, root: Path, scenario: str) -> int:
    """How many DSS requests an undisturbed apply of `scenario` makes (the positions to sweep)."""
    prepare(dss, root, scenario)
    base = request_count(dss)
    run = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert run.returncode == 0, str(run)
    return request_count(dss) - base


def request_log(dss: Any, root: Path, scenario: str, *args: str) -> list:
    """(method, path) of every request of an undisturbed apply of `scenario`, in order."""
    prepare(dss, root, scenario)
    base = request_count(dss)
    run = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", *args)
    assert run.returncode == 0, str(run)
    return [(e["method"], e["path"]) for e in dss.admin.requests(since=base)]


def position(log: list, method: str, pattern: str, nth: int = 1) -> int:
    """1-based position of the nth request of `log` matching method and path regex."""
    seen = 0
    for index, (m, path) in enumerate(log, start=1):
        if m == method and re.search(pattern, path):
            seen += 1
            if seen == nth:
                return index
    raise AssertionError(f"no request #{nth} {method} {pattern} in the apply: {log}")


def _integrity_record(check: Check) -> dict:
    record = check.summary()
    record["problems"] = str(check)[:1500] if not check.ok else ""
    return record


def kill_trial(dss: Any, root: Path, declared: dict, point: int, mode: str, scenario: str = "create", args: tuple = ()) -> dict:
    """SIGKILL an apply around request `point`, recover with the documented procedure, check."""
    variant = prepare(dss, root, scenario)
    kill = kill_apply_at(dss, root, point, mode=mode, args=args)
    recovery = recover(dss, root)
    check = check_integrity(dss, root, declared[variant])
    state = state_dir(root)
    clean = not (state / "lock.json").exists() and not (state / "journal.jsonl").exists()
    recovered = recovery.final.returncode == 0 and check.ok and clean
    record = {
        "scenario": scenario,
        "k": point,
        "mode": mode,
        "killed": kill.killed,
        "confirmed": kill.confirmed,
        "recovered": recovered,
        "unlock_needed": recovery.unlocked,
        "resume_seconds": round(recovery.seconds, 2),
        "clean": clean,
        "traceback": "Traceback" in recovery.output,
    }
    record.update(_integrity_record(check))
    if not recovered:
        record["output"] = recovery.output[-2000:] + "\n--- killed run\n" + kill.log[-1500:]
    return record


# Fault kinds of the transient sweep: (name, fault rule without nth, HTTP timeout for the CLI).
FAULT_KINDS: dict = {
    "503": ({"mode": "error", "status": 503}, None),
    "429": ({"mode": "error", "status": 429}, None),
    "502": ({"mode": "error", "status": 502}, None),
    "500": ({"mode": "error", "status": 500}, None),
    "timeout": ({"mode": "hang", "status": 504, "hang_seconds": 1.0}, "0.5"),
    "after-504": ({"mode": "after", "status": 504}, None),
    "after-500": ({"mode": "after", "status": 500}, None),
    "late-commit": ({"mode": "latency", "latency_ms": 1200}, "0.5"),
}


def fault_trial(dss: Any, root: Path, declared: dict, point: int, kind: str, times: int, scenario: str = "create", args: tuple = ()) -> dict:
    """Inject `kind` on requests point..point+times-1 of an apply; the apply must succeed (retries,
    adoption) or fail cleanly; then an undisturbed apply converges. Nothing may be duplicated."""
    variant = prepare(dss, root, scenario)
    rule, timeout = FAULT_KINDS[kind]
    env = cli_env(dss, **({"DATAIKU_IAC_HTTP_TIMEOUT": timeout} if timeout else {}))
    dss.admin.add_fault(method="*", path=".*", nth=point, times=times, **rule)
    base = request_count(dss)
    first = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", *args, env=env)
    fired = sum(r["fired"] for r in dss.admin.faults())
    dss.admin.clear_faults()
    # Late commits land after the CLI gave up: let DSS finish before anything looks.
    wait_for(lambda: len(dss.admin.requests(since=base)) >= request_count(dss) - base, timeout=60, what="DSS to finish")
    runs = [first]
    if first.returncode != 0:
        runs.append(run_cli(dss, root, "apply", "-e", "dev", "--auto-approve"))
    check = check_integrity(dss, root, declared[variant])
    output = "".join(r.output for r in runs)
    clean_failure = first.returncode == 1 and "Traceback" not in first.output and "Error" in first.output + "incomplete"
    recovered = runs[-1].returncode == 0 and check.ok and "Traceback" not in output
    record = {
        "scenario": scenario,
        "k": point,
        "kind": kind,
        "times": times,
        "fired": fired,
        "retried_ok": first.returncode == 0,
        "failed_cleanly": first.returncode != 0 and clean_failure,
        "recovered": recovered,
        "first_seconds": round(first.seconds, 2),
    }
    record.update(_integrity_record(check))
    if not recovered or (first.returncode != 0 and not clean_failure):
        record["output"] = output[-3000:]
    return record


def sweep_positions(total: int) -> range:
    """1..total, or every FAULT_SWEEP_STEP-th position (a quick smoke run of a sweep)."""
    return range(1, total + 1, max(1, int(os.environ.get("FAULT_SWEEP_STEP", "1"))))


def run_sweep(pool: list, tmp: Path, trials: list, fn: Callable[..., dict]) -> list:
    """Run `fn(dss, root, *trial)` for every trial, one worker per emulator of `pool`."""
    import queue
    import threading

    todo: queue.Queue = queue.Queue()
    for trial in trials:
        todo.put(trial)
    records: list = []
    lock = threading.Lock()

    def worker(index: int, dss: Any) -> None:
        root = tmp / f"w{index}" / "cfg"
        while True:
            try:
                trial = todo.get_nowait()
            except queue.Empty:
                return
            try:
                record = fn(dss, root, *trial)
            except Exception as exc:  # a trial that cannot even run is a failed trial, not a lost one
                record = {"trial": repr(trial), "recovered": False, "error": f"{type(exc).__name__}: {exc}"[:3000]}
            with lock:
                records.append(record)
                if not record.get("recovered", True):
                    # long sweeps: show failures as they happen, not only at the end
                    ARTIFACTS.mkdir(parents=True, exist_ok=True)
                    with open(ARTIFACTS / "fault-failures.jsonl", "a", encoding="utf-8") as out:
                        out.write(json.dumps({"fn": fn.__name__, **record}, default=str) + "\n")

    threads = [threading.Thread(target=worker, args=(i, d), daemon=True) for i, d in enumerate(pool)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return records


# -- secret canaries ---------------------------------------------------------------------------
def canary_hits(*texts: str) -> list:
    return [c for c in CANARIES if any(c in t for t in texts)]


def scan_tree(root: Path) -> dict:
    """file -> canaries found, for every file under `root` (state, journal, plans, logs)."""
    hits = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes().decode("utf-8", "replace")
            found = canary_hits(data)
            if found:
                hits[str(path.relative_to(root))] = found
    return hits


# -- the report --------------------------------------------------------------------------------
class Report:
    """Figures of the sweeps, written to test-artifacts/fault-report.json and .md at the end."""

    def __init__(self) -> None:
        self.sections: dict = {}
        self.seconds: dict = {}
        self.started = time.time()

    def add(self, section: str, record: dict) -> None:
        self.sections.setdefault(section, []).append(record)

    def timed(self, section: str, seconds: float) -> None:
        self.seconds[section] = round(self.seconds.get(section, 0.0) + seconds, 1)

    def write(self, path: Path = ARTIFACTS / "fault-report.json") -> Optional[Path]:
        if not self.sections:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = {}
        for name, records in self.sections.items():
            summary[name] = summarize(records)
            if name in self.seconds:
                summary[name]["wall_seconds"] = self.seconds[name]
        body = {
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "wall_seconds": round(time.time() - self.started, 1),
            "workers": int(os.environ.get("FAULT_WORKERS", "2")),
            "summary": summary,
            "trials": self.sections,
        }
        path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
        path.with_suffix(".md").write_text(render_markdown(body), encoding="utf-8")
        return path


RATIOS = (
    "recovered", "killed", "confirmed", "unlock_needed", "clean", "plan_empty", "detected",
    "no_write_before_detection", "restored", "damaged_file_kept", "stopped_before_next_call",
    "lock_released", "winner_succeeded", "retried_ok", "failed_cleanly",
)
SUMS = (
    "duplicates", "orphans_dss", "orphans_state", "missing", "unexpected", "bad_ids", "double_holders",
    "lost_updates", "losers", "losers_named_holder", "untracked_changes", "leaks", "scanned", "traceback",
)


def summarize(records: list) -> dict:
    out: dict = {"trials": len(records)}
    for key in RATIOS:
        values = [r[key] for r in records if key in r]
        if values:
            out[key] = f"{sum(bool(v) for v in values)}/{len(values)}"
    for key in SUMS:
        values = [r[key] for r in records if key in r]
        if values:
            out[key] = sum(int(v) for v in values)
    errors = [r for r in records if "error" in r and "trial" in r]
    if errors:
        out["trials_that_could_not_run"] = len(errors)
    times = sorted(r["resume_seconds"] for r in records if "resume_seconds" in r)
    if times:
        out["median_resume_seconds"] = round(times[len(times) // 2], 2)
        out["max_resume_seconds"] = round(times[-1], 2)
    if any("kind" in r for r in records):
        by_kind: dict = {}
        for r in records:
            if "kind" not in r:
                continue
            row = by_kind.setdefault(f"{r['kind']} x{r['times']}", {"trials": 0, "retried_ok": 0, "failed_cleanly": 0, "recovered": 0})
            row["trials"] += 1
            row["retried_ok"] += int(bool(r.get("retried_ok")))
            row["failed_cleanly"] += int(bool(r.get("failed_cleanly")))
            row["recovered"] += int(bool(r.get("recovered")))
        out["by_kind"] = by_kind
    return out


def render_markdown(body: dict) -> str:
    lines = [
        "# Fault-injection report",
        "",
        f"Generated {body['generated_at']}; wall time {body['wall_seconds']} s with {body['workers']} emulator workers.",
        "Produced by `make fault` (tests/fault, `pytest -m slow`); trial records are in fault-report.json.",
        "",
    ]
    for name, summary in body["summary"].items():
        lines += [f"## {name}", "", "| figure | value |", "| --- | --- |"]
        for key, value in summary.items():
            if key != "by_kind":
                lines.append(f"| {key} | {value} |")
        lines.append("")
        if "by_kind" in summary:
            lines += ["| fault | trials | retried ok | failed cleanly | recovered |", "| --- | --- | --- | --- | --- |"]
            for kind, row in summary["by_kind"].items():
                lines.append(f"| {kind} | {row['trials']} | {row['retried_ok']} | {row['failed_cleanly']} | {row['recovered']} |")
            lines.append("")
    return "\n".join(lines)
