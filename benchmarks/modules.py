"""What modules cost `validate` and `plan` (issue 15: within 1.5x of the same configuration flat).

    .venv/bin/python benchmarks/modules.py [--instances 50] [--projects 5] [--repeat 3]

Two configurations of the same resources:

- modular: PROJECTS project files calling one local module INSTANCES times in all (spread evenly),
  the module declaring 50 objects (25 managed datasets, 24 sync recipes chaining them, one
  scenario building the last): INSTANCES x 50 resources, 2,500 at the defaults;
- flat: the same projects with every module call expanded and written out as plain sections
  (the documents the loader makes of the modular one, dumped to YAML), so both plan the same
  resources.

For each, best of REPEAT: the configuration loaded and checked in-process (`check_config`, the
whole of `validate --offline` but the process start), and through the CLI (a new process each
run, as in CI): `validate --offline` with the config cache off and warm, and `plan` against an
empty emulator (every object to create: the observation is the same for both, a list per project).
The figure that matters is the ratio modular / flat, of the CPU time above all on a shared
machine (the wall time of a CLI run there mostly measures the other jobs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Tuple

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from dataiku_iac.builder import check_config  # noqa: E402
from emulator_process import Emulator, cli  # noqa: E402

DATASETS = 25


def module_files() -> dict[str, str]:
    datasets = [{"name": f"d{i}", "type": "managed", "format": "${inputs.format}",
                 "description": f"step {i} of ${{inputs.table}}"} for i in range(DATASETS)]
    recipes = [{"name": f"r{i}", "type": "sync", "inputs": [f"d{i}"], "outputs": [f"d{i + 1}"]} for i in range(DATASETS - 1)]
    scenario = {"id": "build", "name": "build ${module.name}", "triggers": [{"type": "temporal", "cron": "${inputs.schedule}"}],
                "steps": [{"type": "build", "datasets": [f"d{DATASETS - 1}"]}]}
    definition = {
        "module": "pipeline", "version": "1.0.0",
        "inputs": {"table": {"type": "string", "pattern": "^[A-Z0-9_]+$"},
                   "format": {"type": "string", "enum": ["parquet", "csv"], "default": "parquet"},
                   "schedule": {"type": "string", "default": "0 3 * * *"}},
        "outputs": {"last": "${module.prefix}d24"},
        "resources": ["resources.yml"],
    }
    resources = {"datasets": datasets, "recipes": recipes, "scenarios": [scenario]}
    return {"modules/pipeline/module.yml": yaml.safe_dump(definition, sort_keys=False),
            "modules/pipeline/resources.yml": yaml.safe_dump(resources, sort_keys=False)}


def write_modular(root: Path, instances: int, projects: int) -> None:
    files = {"iac.yml": "state: {backend: local}\n", "environments/dev.yml": "variables: {}\n", **module_files()}
    for p in range(projects):
        calls = [{"name": f"m{i}", "source": "../modules/pipeline", "inputs": {"table": f"T{i}"}}
                 for i in range(p, instances, projects)]
        files[f"projects/p{p}.yml"] = yaml.safe_dump({"project": {"key": f"BENCH_MOD_{p}", "name": f"Bench {p}"},
                                                      "modules": calls}, sort_keys=False)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


def write_flat(modular: Path, root: Path) -> None:
    """The modular configuration's expanded documents (after the model builder, which resolved
    the references of the modules' items to the instances' own objects), as plain project files."""
    cfg = check_config(modular, "dev")[0]
    (root / "projects").mkdir(parents=True)
    (root / "environments").mkdir()
    shutil.copy(modular / "iac.yml", root / "iac.yml")
    shutil.copy(modular / "environments" / "dev.yml", root / "environments" / "dev.yml")
    for doc in cfg.projects:
        data = {k: v for k, v in doc.data.items() if k != "modules"}
        (root / doc.file).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


Timing = Tuple[float, float]  # (wall, CPU) seconds


def best(repeat: int, run: Callable[[], Timing]) -> Timing:
    """The fastest wall time and the least CPU of `repeat` runs (on a loaded machine the wall
    time mostly measures the other jobs; the CPU time is what the run costs)."""
    runs = [run() for _ in range(repeat)]
    return min(w for w, _ in runs), min(c for _, c in runs)


def in_process(root: Path) -> Timing:
    started, cpu = time.perf_counter(), time.process_time()
    check_config(root, "dev")
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC"))}
    with tempfile.TemporaryDirectory() as tmp, Emulator() as dss:
        modular, flat = Path(tmp) / "modular", Path(tmp) / "flat"
        write_modular(modular, args.instances, args.projects)
        write_flat(modular, flat)
        count = len(check_config(modular, "dev")[1].resources)
        assert count == len(check_config(flat, "dev")[1].resources)
        env = {**base_env, "DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "NO_COLOR": "1"}
        rows = []
        for label, runner in (
            ("check_config, in-process", lambda root: best(args.repeat, lambda: in_process(root))),
            ("validate --offline, cache off", lambda root: best(args.repeat, lambda: cli(
                root, {**env, "DATAIKU_IAC_CONFIG_CACHE": "off"}, "validate", "-e", "dev", "--offline"))),
            ("validate --offline, cache warm", lambda root: best(args.repeat, lambda: cli(
                root, {**env, "DATAIKU_IAC_CONFIG_CACHE": str(Path(tmp) / f"cache-{root.name}")}, "validate", "-e", "dev", "--offline"))),
            ("plan (empty DSS), cache warm", lambda root: best(args.repeat, lambda: cli(
                root, {**env, "DATAIKU_IAC_CONFIG_CACHE": str(Path(tmp) / f"cache-{root.name}")}, "plan", "-e", "dev"))),
        ):
            modular_s, flat_s = runner(modular), runner(flat)
            rows.append((label, modular_s, flat_s))
    load = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{args.instances} module instances in {args.projects} projects: {count} resources "
          f"(best of {args.repeat}; load average {load:.1f}; this process's peak RSS {peak} MB)\n")
    print("| step | modular: wall, CPU | flat: wall, CPU | ratio of wall | ratio of CPU |")
    print("|---|---:|---:|---:|---:|")
    for label, (m_wall, m_cpu), (f_wall, f_cpu) in rows:
        print(f"| {label} | {m_wall:.2f} s, {m_cpu:.2f} s | {f_wall:.2f} s, {f_cpu:.2f} s "
              f"| x{m_wall / f_wall:.2f} | x{m_cpu / f_cpu:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
