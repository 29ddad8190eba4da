"""`dataiku-iac test` at scale (issue 13's goal: 50 tests over a 20-recipe pipeline with 100k-row
fixtures in under 60 s on 2 cores against the emulator). Not a timed test: it prints the time per
phase (cleanup, apply, tests, destroy, from `--json`) and, over the tests, how long fixtures,
builds and checks took.

    .venv/bin/python benchmarks/testing_run.py [--recipes 20] [--tests 50] [--rows 100000] [--parallel 2]

The pipeline: `raw` (given) -> sync -> `step_1` -> SQL -> `step_2` ... -> `step_N`, each SQL step
adding one to a column; tests alternate between a pipeline test building the last step from the
100k-row fixture and checking its row count and a column's range, a quality test on a middle
step, and a schema test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_process import BIN, Emulator


def write_config(root: Path, recipes: int, tests: int, rows: int) -> None:
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    (root / "tests" / "fixtures").mkdir(parents=True)
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    columns = "      columns:\n        - {name: id, type: bigint}\n        - {name: v, type: bigint}\n        - {name: label, type: string}\n"
    datasets = [f"  - name: raw\n    type: managed\n    schema:\n{columns}"]
    flow = []
    for i in range(1, recipes + 1):
        source = "raw" if i == 1 else f"step_{i - 1}"
        datasets.append(f"  - name: step_{i}\n    type: managed\n    schema:\n{columns}")
        if i == 1:
            flow.append(f"  - name: r_{i}\n    type: sync\n    inputs: [{source}]\n    outputs: [step_{i}]\n")
        else:
            flow.append(f"  - name: r_{i}\n    type: sql_query\n    inputs: [{source}]\n    outputs: [step_{i}]\n"
                        f"    sql: SELECT id, v + 1 AS v, label FROM {source}\n")
    (root / "projects" / "bench.yml").write_text(
        "project:\n  key: BENCH\n  name: Bench\ndatasets:\n" + "".join(datasets) + "recipes:\n" + "".join(flow))
    with open(root / "tests" / "fixtures" / "raw.csv", "w") as out:
        out.write("id,v,label\n")
        for i in range(rows):
            out.write(f"{i},{i % 1000},row{i % 97}\n")
    body = ["project: BENCH\ntests:\n"]
    last, middle = f"step_{recipes}", f"step_{max(1, recipes // 2)}"
    for t in range(tests):
        kind = t % 3
        if kind == 0:
            body.append(f"  - name: pipeline_{t}\n    given: {{raw: tests/fixtures/raw.csv}}\n    build: [{last}]\n"
                        f"    expect:\n      {last}: {{row_count: {rows}}}\n")
        elif kind == 1:
            body.append(f"  - name: quality_{t}\n    given: {{raw: tests/fixtures/raw.csv}}\n    build: [{middle}]\n"
                        f"    quality:\n      dataset: {middle}\n      rules:\n        - not_null: id\n"
                        f"        - in_range: {{column: v, min: 0, max: {1000 + recipes}}}\n        - row_count: {{min: {rows}}}\n")
        else:
            body.append(f"  - name: schema_{t}\n    schema: {{dataset: step_{1 + t % recipes}, columns: [{{name: id, type: bigint}}]}}\n")
    (root / "tests" / "bench.yml").write_text("".join(body))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", type=int, default=20)
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator() as dss:
        root = Path(tmp) / "cfg"
        write_config(root, args.recipes, args.tests, args.rows)
        env = {**os.environ, "DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "NO_COLOR": "1"}
        started = time.monotonic()
        done = subprocess.run([str(BIN / "dataiku-iac"), "-C", str(root), "test", "-e", "dev", "--json",
                               "--parallel", str(args.parallel)], env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        try:
            report = json.loads(done.stdout)
        except ValueError:
            print(done.stdout, done.stderr)
            raise SystemExit(1) from None
        by_kind: dict[str, float] = {}
        by_phase: dict[str, float] = {}
        for test in report["tests"]:
            by_kind[test["kind"]] = by_kind.get(test["kind"], 0.0) + test["seconds"]
            for phase, seconds in test["phases"].items():
                by_phase[phase] = by_phase.get(phase, 0.0) + seconds
        print(f"{args.tests} tests, {args.recipes} recipes, {args.rows} rows, --parallel {args.parallel}: "
              f"{wall:.1f} s wall (exit {done.returncode}, {report['counts']})")
        print("phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report["phases"].items()))
        print("test time by kind (summed over workers): " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(by_kind.items())))
        print("inside the tests (summed over workers): " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(by_phase.items())))
        failed = [t for t in report["tests"] if t["status"] not in ("passed", "skipped")]
        for test in failed[:5]:
            print(f"  {test['status']}: {test['id']}: {test['message']}")


if __name__ == "__main__":
    main()
