"""The first apply of a 41-resource project with the `managed_folder` state backend: wall time and
requests, split into the state folder's requests and the rest (docs/performance.md, "State in a
DSS managed folder"). Run from the repository root:

    .venv/bin/python -m benchmarks.managed_folder_journal [--latency-ms 20] [--repeat 3] [--pairs 10 --folders 4 --scenarios 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dataikuapi

from benchmarks.emulator_process import Emulator
from tests.e2e.helpers import big_project_yaml

IAC_YML = """version: 1
defaults:
  dataset:
    connection: filesystem_managed
  managed_folder:
    connection: filesystem_folders
state:
  backend: managed_folder
  project_key: IAC_STATE
  folder: iac_state
"""


def one_apply(latency_ms: int, project: str) -> dict[str, float]:
    with Emulator(latency_ms=latency_ms) as dss, tempfile.TemporaryDirectory() as tmp:
        client = dataikuapi.DSSClient(dss.url, api_key=dss.api_key)
        client.create_project("IAC_STATE", "IaC state", "admin").create_managed_folder("iac_state")
        root = Path(tmp)
        (root / "projects").mkdir()
        (root / "environments").mkdir()
        (root / "iac.yml").write_text(IAC_YML, encoding="utf-8")
        (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n", encoding="utf-8")
        (root / "projects" / "bulk.yml").write_text(project, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
        env.update(DKU_DSS_URL=dss.url, DKU_API_KEY=dss.api_key, NO_COLOR="1")
        dss.clear_requests()
        started = time.monotonic()
        cli = [str(Path(sys.executable).parent / "dataiku-iac"), "-C", str(root), "apply", "-e", "dev", "--auto-approve"]
        done = subprocess.run(cli, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(done.stdout + done.stderr)
        entries = dss.requests()
        folder = [e for e in entries if "/projects/IAC_STATE/managedfolders/" in e["path"]]
        resources = sum(1 for line in done.stdout.splitlines() if ": Creation complete" in line)
        return {"seconds": seconds, "requests": len(entries), "state_folder": len(folder), "resources": resources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    # the default, 41 resources: 1 project, 4 folders, 20 datasets, 14 recipes, 2 scenarios
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--folders", type=int, default=4)
    parser.add_argument("--scenarios", type=int, default=2)
    args = parser.parse_args()
    project = big_project_yaml("BULK", pairs=args.pairs, folders=args.folders, scenarios=args.scenarios)
    runs = [one_apply(args.latency_ms, project) for _ in range(args.repeat)]
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"latency {args.latency_ms} ms, {int(median['resources'])} resources: {median['seconds']:.1f} s, "
        f"{int(median['requests'])} requests, of which {int(median['state_folder'])} to the state folder"
    )


if __name__ == "__main__":
    main()
