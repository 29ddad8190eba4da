"""Fixtures of the fault-injection suite: a seeded emulator, the declared objects, a pool of
extra emulators for the sweeps, and the report the slow sweeps write (test-artifacts/)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from dss_emulator.pytest_plugin import start_subprocess, stop_subprocess

from tests.fault import faultlib as fl


@pytest.fixture
def seeded(dss: Any) -> Any:
    """The per-test emulator (reset), with the suite's connections (and canaries) and groups."""
    fl.seed_dss(dss)
    return dss


@pytest.fixture(scope="session")
def declared() -> dict:
    """variant -> (type, project, name) of every object that variant of the configuration declares."""
    return {0: fl.declared_objects(0), 1: fl.declared_objects(1)}


@pytest.fixture(scope="session")
def fault_report() -> Iterator[fl.Report]:
    report = fl.Report()
    yield report
    path = report.write()
    if path is not None:
        print(f"\nfault report: {path} (+ {path.with_suffix('.md').name})")


@pytest.fixture(scope="session")
def emulator_pool(dss_emulator: Any) -> Iterator[list]:
    """The session emulator plus FAULT_WORKERS-1 more (default 2 in all), for sweeps that run
    trials side by side. Each trial resets the emulator it runs on."""
    workers = max(1, int(os.environ.get("FAULT_WORKERS", "2")))
    tmp = Path(tempfile.mkdtemp(prefix="fault-emulators-"))
    extra = [start_subprocess(tmp / f"data{i}") for i in range(workers - 1)]
    try:
        yield [dss_emulator, *extra]
    finally:
        for handle in extra:
            stop_subprocess(handle)
        shutil.rmtree(tmp, ignore_errors=True)
