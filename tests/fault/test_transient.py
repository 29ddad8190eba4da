"""Issue 5 §4, transient and ambiguous DSS failures: 5xx, 429, timeouts, lost answers.

Each trial injects one fault kind on `times` consecutive requests starting at a position of an
apply (faultlib.FAULT_KINDS): answered errors (503, 429, 502: transient; 500: not), a hang longer
than a short DATAIKU_IAC_HTTP_TIMEOUT (the request is never carried out), an ambiguous success
(`after`: DSS makes the change, then answers 504 or 500), and a late commit (DSS makes the change
after the client gave up waiting). The apply must either succeed (retries, adoption of what DSS
did) or fail cleanly (exit 1, a message, no traceback); an undisturbed apply then converges, and
nothing may exist twice in DSS, be left unowned, or be owned but missing.

Fast cases target one request of each interesting kind (positions from an undisturbed run at
--parallelism 1); the slow sweep injects every kind at every position of the create apply, and
the ambiguous kinds at every position of the change apply.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fault import faultlib as fl

# On one xdist worker: its module fixture (the request logs) is built once.
pytestmark = pytest.mark.xdist_group("test_transient")

SERIAL = ("--parallelism", "1")

# name: (scenario, kind, times, method, path regex, nth, expected first-run outcome)
CASES = {
    # (A created folder is no longer read back: DSS answers its create with the document.)
    "503x3-on-a-read": ("create", "503", 3, "GET", r"/projects/FAULT/metadata$", 1, "retried"),
    "429x3-on-a-dataset-create": ("create", "429", 3, "POST", r"/datasets/managed$", 2, "retried"),
    "timeout-x2-on-a-recipe-read": ("create", "timeout", 2, "GET", r"/recipes/prep_1$", 1, "retried"),
    "502x2-on-a-project-write": ("create", "502", 2, "PUT", r"/projects/FAULT/variables/$", 1, "retried"),
    # The POST went through, the follow-up save fails twice (not transient): the object exists
    # in DSS but the action failed. Its intent must survive so the next apply adopts it.
    "500x2-after-a-dataset-create": ("create", "500", 2, "PUT", r"/datasets/clean_1$", 1, "clean_failure"),
    # A folder create that DSS completes after the client timed out must not be retried (a
    # second folder of the same name would be made); the next apply adopts the late one.
    "late-commit-of-a-folder-create": ("create", "late-commit", 1, "POST", r"/managedfolders/$", 1, "clean_failure"),
    "after-504-dataset-create": ("create", "after-504", 1, "POST", r"/datasets/managed$", 1, "retried"),
    "after-504-folder-create": ("create", "after-504", 1, "POST", r"/managedfolders/$", 1, "retried"),
    "after-504-scenario-create": ("create", "after-504", 1, "POST", r"/scenarios/$", 1, "retried"),
    # A replacement whose delete answer is lost: DSS deletes the old dataset late, and would
    # delete the new one of the same name if it were created in the same run.
    "late-commit-of-a-replaced-dataset-delete": ("change", "late-commit", 1, "DELETE", r"/datasets/lookup$", 1, "clean_failure"),
    "after-500-delete": ("change", "after-500", 1, "DELETE", r"/datasets/", 1, "clean_failure"),
    "after-504-delete": ("change", "after-504", 1, "DELETE", r"/managedfolders/", 1, "retried"),
}


@pytest.fixture(scope="module")
def logs(dss_emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return {
        scenario: fl.request_log(dss_emulator, tmp_path_factory.mktemp("log") / "cfg", scenario, *SERIAL)
        for scenario in ("create", "change")
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_fault_at_one_request(seeded: Any, tmp_path: Path, declared: dict, logs: dict, name: str) -> None:
    scenario, kind, times, method, pattern, nth, expected = CASES[name]
    point = fl.position(logs[scenario], method, pattern, nth)
    record = fl.fault_trial(seeded, tmp_path / "cfg", declared, point, kind, times, scenario, SERIAL)
    assert record["fired"] == times, f"the fault did not hit the intended request: {record}"
    assert record["recovered"], record
    assert record["duplicates"] == 0 and record["orphans_dss"] == 0 and record["orphans_state"] == 0, record
    if expected == "retried":
        assert record["retried_ok"], f"expected the apply to absorb the fault: {record}"
    else:
        assert record["failed_cleanly"], f"expected a clean failure then a converging apply: {record}"


def test_ambiguous_create_is_adopted_not_repeated(seeded: Any, tmp_path: Path, logs: dict) -> None:
    """A create whose answer is lost (504 after DSS made it) is looked up and adopted: DSS
    receives exactly one create request for it."""
    root = fl.fresh(seeded, tmp_path / "cfg")
    point = fl.position(logs["create"], "POST", r"/recipes/$", 3)
    seeded.admin.add_fault(method="*", path=".*", nth=point, times=1, mode="after", status=504)
    base = fl.request_count(seeded)
    run = fl.run_cli(seeded, root, "apply", "-e", "dev", "--auto-approve", *SERIAL)
    assert run.returncode == 0, str(run)
    posts = [e for e in seeded.admin.requests(since=base) if e["method"] == "POST" and e["path"].endswith("/recipes/")]
    assert len(posts) == len([o for o in fl.declared_objects(0) if o[0] == "recipe"]), "a recipe create was repeated"


# -- the full sweep ---------------------------------------------------------------------------
# (kind, times) combinations swept at every position of the create apply; the ambiguous ones
# also over the change apply (deletes, replacement, updates).
# Every answered error and the timeout 1, 2 and 3 times in a row; the ambiguous kinds once
# (a lost answer is not repeated by a retry: the retry reads first) and the late commit twice.
CREATE_COMBOS = [(kind, times) for kind in ("503", "429", "502", "500", "timeout") for times in (1, 2, 3)] + [
    ("after-504", 1), ("after-500", 1), ("late-commit", 1), ("late-commit", 2),
]
CHANGE_COMBOS = [("500", 2), ("after-504", 1), ("after-500", 1), ("late-commit", 1)]


def selected(combos: list) -> list:
    """FAULT_COMBOS="429x1,502x3" runs only those (kind x times) of a sweep, e.g. to re-run one kind."""
    wanted = {c.strip() for c in os.environ.get("FAULT_COMBOS", "").split(",") if c.strip()}
    return [c for c in combos if not wanted or f"{c[0]}x{c[1]}" in wanted]


@pytest.mark.slow
@pytest.mark.timeout(8 * 3600)
@pytest.mark.parametrize("scenario", ["create", "change"])
def test_fault_sweep_every_position(emulator_pool: list, tmp_path: Path, declared: dict, fault_report: fl.Report, scenario: str) -> None:
    started = time.monotonic()
    total = fl.apply_requests(emulator_pool[0], tmp_path / "measure", scenario)
    combos = selected(CREATE_COMBOS if scenario == "create" else CHANGE_COMBOS)
    if not combos:
        pytest.skip(f"FAULT_COMBOS selects none of the {scenario} sweep's combinations")
    trials = [(declared, k, kind, times, scenario) for k in fl.sweep_positions(total) for kind, times in combos]
    records = fl.run_sweep(emulator_pool, tmp_path, trials, fl.fault_trial)
    for record in sorted(records, key=lambda r: (r.get("kind", ""), r.get("times", 0), r.get("k", 0))):
        fault_report.add(f"faults-{scenario}", record)
    fault_report.timed(f"faults-{scenario}", time.monotonic() - started)
    bad = [r for r in records if not r.get("recovered") or not (r.get("retried_ok") or r.get("failed_cleanly"))]
    assert len(records) == len(trials)
    assert not bad, f"{len(bad)}/{len(records)} fault trials failed; first: {bad[:3]}"
