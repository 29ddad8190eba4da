"""Acceptance point 5: bad input, through the CLI, for every case of tests/fixtures/malformed.

For each case, `validate -e dev` and `plan -e dev` must exit 1 with the expected file, line and
message on stderr, no traceback, and without a single request reaching DSS (the emulator's
request counter does not move), although DKU_DSS_URL/DKU_API_KEY point at it.

The CLI runs ~190 times; the runs go through a small pool (they are independent processes),
once per module, and each case is then checked by its own test.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import REPO, CliResult, request_count, run_cli

CORPUS = REPO / "tests" / "fixtures" / "malformed"
sys.path.insert(0, str(CORPUS))
from materialize import cases, expectations, materialize  # noqa: E402

CASES = cases()
# ~190 CLI runs happen in the first test's setup: give it room on a busy machine, and keep the
# module on one xdist worker (one batch, not one per worker).
pytestmark = [pytest.mark.timeout(900), pytest.mark.xdist_group("malformed")]

COMMANDS = (("validate", "-e", "dev"), ("plan", "-e", "dev"))


class Batch:
    def __init__(self) -> None:
        self.results: dict[tuple[str, str], CliResult] = {}
        self.requests_before = 0
        self.requests_after = 0
        self.log: list[dict] = []


@pytest.fixture(scope="module")
def batch(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Batch:
    dss_emulator.reset_all()
    result = Batch()
    roots = {case.name: materialize(case, tmp_path_factory.mktemp(case.name) / "cfg") for case in CASES}
    jobs = [(name, command) for name in roots for command in COMMANDS]
    result.requests_before = request_count(dss_emulator)

    def run(job: tuple[str, tuple]) -> CliResult:
        name, command = job
        return run_cli(dss_emulator, roots[name], *command, expect=None, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for (name, command), outcome in zip(jobs, pool.map(run, jobs)):
            result.results[(name, command[0])] = outcome
    result.requests_after = request_count(dss_emulator)
    result.log = dss_emulator.admin.requests(since=result.requests_before)
    return result


def test_the_corpus_is_complete() -> None:
    assert len(CASES) >= 90
    stages = {e["stage"] for case in CASES for e in expectations(case)}
    assert stages == {"loader", "model"}


def test_no_request_reached_dss(batch: Batch) -> None:
    assert len(batch.results) == 2 * len(CASES)
    assert batch.requests_after == batch.requests_before, f"bad configs reached DSS: {batch.log}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("command", [c[0] for c in COMMANDS])
def test_malformed_config_is_refused_with_its_location(batch: Batch, case: Path, command: str) -> None:
    result = batch.results[(case.name, command)]
    assert result.returncode == 1, str(result)
    assert "Traceback" not in result.output, str(result)
    assert "Internal error" not in result.output, str(result)
    stderr_lines = result.stderr.splitlines()
    for expected in expectations(case):
        where = expected["file"] + (f":{expected['line']}:" if expected.get("line") is not None else "")
        wanted = expected["message_contains"].lower()
        hits = [line for line in stderr_lines if line.startswith(where) and wanted in line.lower()]
        assert hits, f"expected a diagnostic at {where} containing {expected['message_contains']!r}\n{result}"
    assert stderr_lines[-1].startswith("Error: the configuration has"), str(result)
