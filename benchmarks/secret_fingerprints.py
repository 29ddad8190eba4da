"""What keyed, slow secret fingerprints cost a plan (docs/security.md, "Secret fingerprints").

    .venv/bin/python benchmarks/secret_fingerprints.py [--secrets 300] [--projects 30]

1. One fingerprint (scrypt N=2^14, r=8, p=1) on one thread, the median of 20.
2. `plan` through the CLI (a new process, as in CI) against the emulator, of a configuration of
   PROJECTS projects holding SECRETS secret variables in all, all applied and unchanged: the
   time of the plan, and of the same plan with the secrets turned into plain variables. The
   difference is what fingerprinting costs a plan: each (key, value) is computed once per
   process (the configuration's value, then DSS's, which is the same), on one thread per core (at most 8).
3. The same with every secret rotated (the values DSS holds differ: twice the fingerprints).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataiku_iac.secrets import Fingerprinter, new_key  # noqa: E402
from emulator_process import Emulator, cli  # noqa: E402


def one_fingerprint() -> tuple[float, float]:
    """(wall, CPU) seconds of one fingerprint, medians of 20. On a busy machine the wall time
    grows with the load; the CPU time is what the fingerprint costs."""
    fingerprinter = Fingerprinter(new_key())
    walls, cpus = [], []
    for i in range(20):
        started, cpu = time.perf_counter(), time.thread_time()
        fingerprinter(f"value-{i}-{time.time_ns()}")
        walls.append(time.perf_counter() - started)
        cpus.append(time.thread_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def write_config(root: Path, projects: int, secrets: int, *, secret: bool) -> None:
    (root / "projects").mkdir(parents=True, exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    (root / "iac.yml").write_text("version: 1\n")
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    per = secrets // projects
    for p in range(projects):
        key = f"{'FP' if secret else 'PL'}{p}"
        lines = [f"project:\n  key: {key}\n  name: Fingerprints {p}\n  variables:\n    local:\n"]
        for s in range(per):
            index = p * per + s
            value = f"{{secret_env: IAC_SECRET_V{index}}}" if secret else f"plain-{index}"
            lines.append(f"      v{s}: {value}\n")
        (root / "projects" / f"fp{p}.yml").write_text("".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secrets", type=int, default=300)
    parser.add_argument("--projects", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    wall, cpu = one_fingerprint()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"one fingerprint, one thread: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (medians of 20)")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    values = {f"IAC_SECRET_V{i}": f"value-{i}-of-a-secret" for i in range(args.secrets)}
    rotated = {k: v + "-rotated" for k, v in values.items()}
    with tempfile.TemporaryDirectory() as tmp, Emulator() as dss:
        env = {**base_env, "DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, **values}
        timings = {}
        for label, secret in (("plain variables", False), ("secret variables", True)):
            root = Path(tmp) / label.replace(" ", "_")
            write_config(root, args.projects, args.secrets, secret=secret)
            cli(root, env, "apply", "-e", "dev", "--auto-approve")
            timings[label] = min(cli(root, env, "plan", "-e", "dev") for _ in range(args.repeat))
        timings["secret variables, all rotated"] = min(
            cli(Path(tmp) / "secret_variables", {**env, **rotated}, "plan", "-e", "dev") for _ in range(args.repeat)
        )
    print(f"plan of {args.projects} projects, {args.secrets} variables, applied and unchanged (best of {args.repeat}):")
    for label, (wall, cpu) in timings.items():
        print(f"  {label:32s} {wall:6.2f} s wall {cpu:6.2f} s CPU")
    wall = timings["secret variables"][0] - timings["plain variables"][0]
    cpu = timings["secret variables"][1] - timings["plain variables"][1]
    print(f"fingerprinting {args.secrets} secrets costs a plan {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({cpu / args.secrets * 1000:.0f} ms CPU per secret)")
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
