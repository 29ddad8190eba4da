"""The emulator's own cost per request, through the real dataikuapi client (docs/performance.md).

    .venv/bin/python benchmarks/emulator_overhead.py [--requests 2000] [--rounds 3]

Starts an in-memory emulator subprocess at 0 ms of latency, creates one project holding a
dataset, a scenario and a library file, then makes REQUESTS GETs through dataikuapi, spread over
routes of every shape (a list, a document under the project, a nested document, a file path, an
instance path). Per round: the wall time per request (client and emulator together, on a shared
machine) and the emulator's CPU time per request (from /proc: what the emulator itself spends,
the figure that matters to the benchmarks). Prints the best and the median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List

import dataikuapi

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_process import Emulator

PROJECT = "OVERHEAD"


def _prepare(client: dataikuapi.DSSClient) -> List[Callable[[], object]]:
    project = client.create_project(PROJECT, "Overhead", "admin")
    project.create_dataset("D", "Filesystem", params={"connection": "filesystem_managed", "path": "x"})
    scenario = project.create_scenario("S", "step_based")
    library = project.get_library()
    library.add_file("python/mod.py").write("x = 1\n")
    dataset, lib_file = project.get_dataset("D"), library.get_file("/python/mod.py")
    return [
        client.list_project_keys,  # GET /projects/
        project.get_metadata,  # GET /projects/{pk}/metadata
        dataset.get_settings,  # GET /projects/{pk}/datasets/{name}
        scenario.get_settings,  # GET /projects/{pk}/scenarios/{sid}
        lib_file.read,  # GET /projects/{pk}/libraries/contents/{path}
        client.get_instance_info,  # GET /instance-info
    ]


def one_round(requests: int) -> tuple[float, float]:
    """(wall ms, emulator CPU ms) per request."""
    with Emulator(latency_ms=0) as dss:
        client = dataikuapi.DSSClient(dss.url, dss.api_key)
        calls = _prepare(client)
        for call in calls:  # warm up: imports, connection pool
            call()
        cpu_before, started = dss.cpu_seconds() or 0.0, time.perf_counter()
        for i in range(requests):
            calls[i % len(calls)]()
        wall = time.perf_counter() - started
        cpu = (dss.cpu_seconds() or 0.0) - cpu_before
    return wall * 1000 / requests, cpu * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    walls, cpus = [], []
    for n in range(args.rounds):
        wall, cpu = one_round(args.requests)
        walls.append(wall)
        cpus.append(cpu)
        print(f"round {n + 1}: {wall:.3f} ms/request wall, {cpu:.3f} ms/request emulator CPU")
    print(
        f"{args.requests} GETs x {args.rounds} rounds: wall best {min(walls):.3f} median "
        f"{statistics.median(walls):.3f} ms/request; emulator CPU best {min(cpus):.3f} median "
        f"{statistics.median(cpus):.3f} ms/request"
    )


if __name__ == "__main__":
    main()
