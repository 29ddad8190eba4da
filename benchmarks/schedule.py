"""How the first apply fills its parallelism: `python benchmarks/schedule.py [--n 1000] [--latency 20]`.

Wall times on a shared machine mostly measure the other jobs. What the load does not distort
is the schedule: how many requests DSS has in flight over the run, against the `parallelism`
allowed. This generates a configuration of N resources (benchmarks/generate.py), starts the
emulator with the given latency, runs the CLI's first apply (and, with --noop, the no-op plan
after it), and prints, from the emulator's request log (start time and duration of each
request): the time before the first request and after the last one, and the share of the
request phase spent with 0, 1, ..., p requests in flight; plus the CPU of the CLI and of the
emulator (exact, from wait4 and /proc). `--json FILE` keeps every request's start and end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from emulator_process import Emulator  # noqa: E402
from run import CLI, ENV_NAME, run_child  # noqa: E402


def in_flight(entries: list[dict], begin_ms: float, end_ms: float) -> dict[int, float]:
    """Seconds spent with k requests in flight, between begin_ms and end_ms."""
    events: list[tuple[float, int]] = []
    for e in entries:
        start = float(e["time"])
        events.append((start, 1))
        events.append((start + float(e["duration_ms"]), -1))
    events.sort()
    spent: dict[int, float] = {}
    level, last = 0, begin_ms
    for at, delta in events:
        at = min(max(at, begin_ms), end_ms)
        spent[level] = spent.get(level, 0.0) + (at - last) / 1000
        level, last = level + delta, at
    spent[level] = spent.get(level, 0.0) + (end_ms - last) / 1000
    return dict(sorted(spent.items()))


def describe(label: str, run: Any, entries: list[dict], started_ms: float, emulator_cpu: Optional[float], parallelism: int) -> dict:
    first = min(float(e["time"]) for e in entries)
    last = max(float(e["time"]) + float(e["duration_ms"]) for e in entries)
    spent = in_flight(entries, first, last)
    busy = sum(float(e["duration_ms"]) for e in entries) / 1000
    phase = (last - first) / 1000
    report = {
        "step": label,
        "wall_s": round(run.wall_s, 3),
        "cli_cpu_s": round(run.cpu_s, 3),
        "emulator_cpu_s": None if emulator_cpu is None else round(emulator_cpu, 3),
        "requests": len(entries),
        "before_first_request_s": round((first - started_ms) / 1000, 3),
        "request_phase_s": round(phase, 3),
        "after_last_request_s": round(run.wall_s - (last - started_ms) / 1000, 3),
        "mean_in_flight": round(busy / phase, 2) if phase else None,
        "mean_request_ms": round(1000 * busy / len(entries), 2),
        "seconds_at_in_flight": {str(k): round(v, 3) for k, v in spent.items()},
    }
    print(f"{label}: wall {run.wall_s:.2f}s, CLI CPU {run.cpu_s:.2f}s, emulator CPU {report['emulator_cpu_s']}s, {len(entries)} requests")
    print(
        f"  before the first request {report['before_first_request_s']:.2f}s, requests {phase:.2f}s, "
        f"after the last {report['after_last_request_s']:.2f}s; mean in flight {report['mean_in_flight']} of {parallelism}, "
        f"mean request {report['mean_request_ms']} ms (emulator side)"
    )
    print("  in flight: " + ", ".join(f"{k}: {v:.2f}s" for k, v in spent.items()))
    return report


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--latency", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=4)
    parser.add_argument("--noop", action="store_true", help="also run the no-op plan after the first apply")
    parser.add_argument("--json", type=Path, help="write the report and every request's start and duration here")
    args = parser.parse_args(argv)
    import time

    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    work = Path(tempfile.mkdtemp(prefix="dataiku-iac-schedule-"))
    out: dict[str, Any] = {"n": args.n, "latency_ms": args.latency, "parallelism": args.parallelism, "load": os.getloadavg()[0]}
    try:
        root = work / "config"
        generate.generate(root, args.n)
        with Emulator(args.latency, log=work / "emulator.log") as dss:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
            env.update(DKU_DSS_URL=dss.url, DKU_API_KEY=dss.api_key, NO_COLOR="1")
            p = ["--parallelism", str(args.parallelism)]
            steps = [("first apply", ["apply", "-e", ENV_NAME, "--auto-approve", *p])]
            if args.noop:
                steps.append(("no-op plan", ["plan", "-e", ENV_NAME, *p]))
            for label, cli_args in steps:
                dss.clear_requests()
                cpu_before = dss.cpu_seconds()
                started_ms = time.time() * 1000
                run = run_child([CLI, "--no-color", "-C", str(root), *cli_args], env, work, label, 3600)
                cpu_after = dss.cpu_seconds()
                if run.returncode != 0:
                    raise RuntimeError(f"{label}: exit {run.returncode}\n{run.stdout[-2000:]}")
                entries = dss.requests()
                cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
                out[label] = describe(label, run, entries, started_ms, cpu, args.parallelism)
                out[label]["entries"] = [[e["time"], e["duration_ms"], e["method"], e["path"]] for e in entries]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
