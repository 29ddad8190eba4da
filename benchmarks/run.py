"""The performance benchmark: `make bench`, or `python benchmarks/run.py [--sizes 100,1000] [--latency 20,0]`.

For each size N and each injected latency, against a fresh in-memory DSS emulator (a
subprocess), it generates a configuration of N resources (benchmarks/generate.py) and runs
the real CLI, one subprocess per step:

  validate, first plan, first apply, no-op plan, drift, apply changing 5%, destroy

and for each step measures the wall time, the DSS requests made (the emulator's request
log, classified by verb and path), the peak RSS and the CPU time of the CLI process
(`os.wait4` on the child), and computes the step's two limits (benchmarks/limits.py): the
fewest requests and the critical-path time at the chosen parallelism. Results go to
benchmarks/results/bench-N<n>-L<ms>.json; `benchmarks/report.py` turns them into the
tables and the plot of docs/performance.md.

Not part of the unit tests (tests/bench/ has the fast CI check of request counts).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "python-lib"))

import generate  # noqa: E402
import limits  # noqa: E402
from emulator_process import Emulator, summarize  # noqa: E402

CLI = str(Path(sys.executable).parent / "dataiku-iac")
RESULTS = HERE / "results"
ENV_NAME = "bench"
STEPS = ("validate", "first plan", "first apply", "no-op plan", "drift", "apply 5% change", "destroy")


@dataclass
class ChildRun:
    returncode: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    stdout: str


def run_child(argv: list[str], env: dict, out_dir: Path, label: str, timeout: float) -> ChildRun:
    """Run the CLI; its own CPU time and peak RSS come from wait4 (exact, no sampling)."""
    out_path = out_dir / f"{label.replace(' ', '_').replace('%', 'pct')}.out"
    with open(out_path, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{label}: timed out after {timeout:.0f} s")
            time.sleep(0.005)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / (1024 * 1024)
    text = out_path.read_text(encoding="utf-8", errors="replace")
    return ChildRun(proc.returncode, wall, usage.ru_utime + usage.ru_stime, rss, text)


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _desired(root: Path, environ: dict) -> Any:
    from dataiku_iac.builder import build_desired
    from dataiku_iac.config import load_config

    return build_desired(load_config(root, ENV_NAME), environ)


class Bench:
    def __init__(self, n: int, latency_ms: int, parallelism: int, work: Path, timeout: float):
        self.n = n
        self.latency_ms = latency_ms
        self.parallelism = parallelism
        self.work = work
        self.timeout = timeout
        self.root = work / "config"
        self.rows: list[dict] = []

    def run(self) -> dict:
        self.load_start = [round(x, 2) for x in os.getloadavg()]
        generate.generate(self.root, self.n)
        with Emulator(self.latency_ms, log=self.work / "emulator.log") as dss:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
            env.update(DKU_DSS_URL=dss.url, DKU_API_KEY=dss.api_key, NO_COLOR="1")
            desired = _desired(self.root, env)
            assert len(desired.resources) == self.n, len(desired.resources)
            p = ["--parallelism", str(self.parallelism)]
            self.step(dss, env, "validate", ["validate", "-e", ENV_NAME], limits.Limit(), expect=0)
            self.step(dss, env, "first plan", ["plan", "-e", ENV_NAME, "--detailed-exitcode", *p], limits.observation(desired.resources.values(), set()), expect=2)
            run = self.step(dss, env, "first apply", ["apply", "-e", ENV_NAME, "--auto-approve", *p], limits.first_apply(desired), expect=0)
            _expect(run, f"Resources: {self.n} added, 0 changed, 0 destroyed.")
            observe = limits.observation(desired.resources.values())
            run = self.step(dss, env, "no-op plan", ["plan", "-e", ENV_NAME, "--detailed-exitcode", *p], observe, expect=0)
            _expect(run, "No changes.")
            self.step(dss, env, "drift", ["drift", "-e", ENV_NAME], observe, expect=0)
            generate.generate(self.root, self.n, changed=True)
            changed_desired = _desired(self.root, env)
            changed = limits.changed_addresses(desired, changed_desired)
            run = self.step(dss, env, "apply 5% change", ["apply", "-e", ENV_NAME, "--auto-approve", *p], limits.update_apply(changed_desired, changed), expect=0)
            _expect(run, f"Resources: 0 added, {len(changed)} changed, 0 destroyed.")
            run = self.step(dss, env, "destroy", ["destroy", "-e", ENV_NAME, "--auto-approve", *p], limits.destroy(changed_desired), expect=0)
            _expect(run, f"Destroy complete! Resources: {self.n} destroyed.")
        return {
            "n": self.n,
            "projects": generate.project_count(self.n),
            "types": _type_counts(desired),
            "latency_ms": self.latency_ms,
            "parallelism": self.parallelism,
            "changed": len(changed),
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "load_average": {"start": self.load_start, "end": [round(x, 2) for x in os.getloadavg()]},
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "steps": self.rows,
        }

    def step(self, dss: Emulator, env: dict, label: str, args: list[str], limit: limits.Limit, *, expect: int) -> ChildRun:
        dss.clear_requests()
        emulator_cpu = dss.cpu_seconds()
        run = run_child([CLI, "--no-color", "-C", str(self.root), *args], env, self.work, label, self.timeout)
        emulator_after = dss.cpu_seconds()
        if run.returncode != expect:
            raise RuntimeError(f"{label}: exit {run.returncode}, expected {expect}\n{run.stdout[-3000:]}")
        entries = dss.requests()
        requests = len(entries)
        latency_s = self.latency_ms / 1000
        limit_time = limit.time(latency_s, self.parallelism)
        row = {
            "step": label,
            "wall_s": round(run.wall_s, 3),
            "cpu_s": round(run.cpu_s, 3),
            "max_rss_mb": round(run.max_rss_mb, 1),
            # The emulator shares the machine: its CPU (about 1 ms per request) is DSS's work,
            # which the limits do not count; on 2 cores it competes with ours.
            "emulator_cpu_s": round(emulator_after - emulator_cpu, 3) if emulator_cpu is not None and emulator_after is not None else None,
            "requests": requests,
            "by_kind": summarize(entries),
            "limit": limit.to_json(latency_s, self.parallelism),
            "requests_ratio": round(requests / limit.requests, 3) if limit.requests else None,
            "time_ratio": round(run.wall_s / limit_time, 3) if limit_time else None,
        }
        self.rows.append(row)
        print(
            f"  N={self.n:<6} L={self.latency_ms:>2}ms {label:<16} {run.wall_s:8.2f}s  cpu {run.cpu_s:7.2f}s (emulator {row['emulator_cpu_s'] or 0:6.2f}s)  "
            f"rss {run.max_rss_mb:6.1f}MB  req {requests:>6} (limit {limit.requests:>6}, x{row['requests_ratio'] or 0:.2f})  "
            f"time limit {limit_time:7.2f}s (x{row['time_ratio'] or 0:.2f})",
            flush=True,
        )
        return run


def _fastest(runs: list[dict]) -> dict:
    """One result, each step from the run where it was fastest (the machine is shared: the
    minimum is the least disturbed measure). Request counts do not vary between runs."""
    best = dict(runs[0], runs=len(runs))
    best["steps"] = [min((r["steps"][i] for r in runs), key=lambda s: s["wall_s"]) for i in range(len(runs[0]["steps"]))]
    best["load_average"] = [r["load_average"] for r in runs]
    return best


def _expect(run: ChildRun, text: str) -> None:
    if text not in run.stdout:
        raise RuntimeError(f"expected {text!r} in the output; got: {_last_line(run.stdout)}")


def _type_counts(desired: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in desired.resources.values():
        counts[r.type] = counts.get(r.type, 0) + 1
    return counts


def compile_bytecode() -> None:
    """Compile the tool's and the emulator's modules to bytecode first, as `pip install` does.

    From a source checkout (`make dev` installs it editable) nothing else does when
    PYTHONDONTWRITEBYTECODE is set, as on the machines this runs on: every CLI step then compiled
    its 77 modules again, 0.17 s of CPU at each start that no installed copy spends."""
    import compileall

    import dss_emulator

    for package in (HERE.parent / "python-lib" / "dataiku_iac", Path(dss_emulator.__file__).parent):
        compileall.compile_dir(str(package), quiet=1)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="dataiku-iac performance benchmark")
    parser.add_argument("--sizes", default="100,1000,10000", help="comma-separated resource counts")
    parser.add_argument("--latency", default="20,0", help="comma-separated injected latencies (ms)")
    parser.add_argument("--parallelism", type=int, default=4, help="the CLI's --parallelism (default: its default, 4)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of the result files")
    parser.add_argument("--keep", action="store_true", help="keep the work directories (configs, outputs)")
    parser.add_argument("--timeout", type=float, default=3600, help="per-step timeout (s)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each size/latency this many times; keep each step's fastest run"
    )
    parser.add_argument("--no-report", action="store_true", help="do not regenerate docs/performance.md and the plot")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    for n in (int(s) for s in args.sizes.split(",")):
        for latency in (int(s) for s in args.latency.split(",")):
            runs = []
            for attempt in range(max(1, args.repeat)):
                work = Path(tempfile.mkdtemp(prefix=f"dataiku-iac-bench-{n}-"))
                try:
                    print(f"N={n} latency={latency}ms parallelism={args.parallelism} run {attempt + 1} (work dir {work})", flush=True)
                    runs.append(Bench(n, latency, args.parallelism, work, args.timeout).run())
                finally:
                    if not args.keep:
                        shutil.rmtree(work, ignore_errors=True)
            target = args.out / f"bench-N{n}-L{latency}.json"
            target.write_text(json.dumps(_fastest(runs), indent=1) + "\n", encoding="utf-8")
    if not args.no_report:
        import report

        report.main([str(args.out)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
