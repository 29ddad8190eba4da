"""CI smoke benchmark: at N = 100 resources, the DSS requests of every step against their limit.

Request counts do not depend on the machine, so unlike times they can gate CI: a change
that reads each object separately where a list would do (N+1 requests), re-reads what it
just observed, or writes what did not change, fails here. The full benchmark (times, CPU,
memory, N up to 10,000) is `make bench` (benchmarks/run.py); the limits are computed by
benchmarks/limits.py from the configuration, not from the engine's plan.

The engine runs in-process against the emulator (latency 0), through the same Session the
CLI uses; it takes a few seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from dataiku_iac.engine.session import Session
from dataiku_iac.planner.plan import PlanOptions

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import generate  # noqa: E402
import limits  # noqa: E402
from emulator_process import summarize  # noqa: E402

N = 100
ENV = "bench"
# Requests that are not observing or changing objects: the check that the environment's
# remapped connections and code envs exist (two lists, once per command).
ENVIRONMENT_CHECKS = 2
# An update reads the object first (read-modify-write on a fresh document); the limit counts a
# list per project for datasets and folders. So apply steps may exceed their limit by that, and
# no more.
APPLY_SLACK = 1.3
# A create-then-save starts from DSS's answer to the create when that is the document (the
# emulator's default, see docs/performance.md "Assumptions about DSS"): no read after a create
# but a recipe's (DSS answers its create with the name).
FIRST_APPLY_SLACK = 1.05


@pytest.fixture
def bench(dss, tmp_path):
    root = tmp_path / "config"
    generate.generate(root, N)
    environ = {"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}

    def session() -> Session:
        return Session(root, ENV, environ=environ)

    return root, session


def _requests(dss) -> dict:
    entries = dss.admin.requests()
    counts = summarize(entries)
    counts["total"] = len(entries)
    counts["objects"] = len(entries) - counts.get("environment_check", 0)
    return counts


def _step(dss, fn) -> dict:
    dss.admin.clear_requests()
    fn()
    return _requests(dss)


def test_request_counts_stay_at_their_limits(dss, bench):
    root, session = bench
    desired = session().desired
    assert len(desired.resources) == N

    first_plan = _step(dss, lambda: session().plan())
    assert first_plan["objects"] == limits.observation(desired.resources.values(), set()).requests

    def apply() -> None:
        _planned, applied = session().apply(PlanOptions())
        assert applied is not None and applied.ok and len(applied.done) == N

    first_apply = _step(dss, apply)
    limit = limits.first_apply(desired)
    assert first_apply["objects"] <= limit.requests * FIRST_APPLY_SLACK, (first_apply, limit.to_json(0, 4))
    assert first_apply.get("POST", 0) == N, first_apply  # one create per object
    assert first_apply.get("PUT", 0) <= limit.writes - N, first_apply  # no save beyond what creates cannot carry

    observe = limits.observation(desired.resources.values())
    noop = _step(dss, lambda: session().plan())
    # Observation is read-only and at (or under) its limit: no N+1, no re-read.
    assert noop["objects"] <= observe.requests, (noop, observe.to_json(0, 4))
    # Under it by the recipes and the scenarios: the apply recorded the versions it produced, and
    # the lists show them unchanged (the recipe list its versionTags, the scenario list, like DSS's,
    # only lastModifiedOn: observe.recorded_stand_ins), so none of them is read again.
    skipped = sum(1 for r in desired.resources.values() if r.type in ("recipe", "scenario"))
    assert noop["objects"] == observe.requests - skipped, (noop, observe.to_json(0, 4))
    assert noop["total"] <= observe.requests + ENVIRONMENT_CHECKS, noop
    assert not {"POST", "PUT", "DELETE"} & set(noop), noop

    drift = _step(dss, lambda: session().drift())
    assert drift["objects"] <= observe.requests, drift
    assert not {"POST", "PUT", "DELETE"} & set(drift), drift

    noop_apply = _step(dss, lambda: session().apply(PlanOptions()))
    assert noop_apply["objects"] <= observe.requests, noop_apply  # nothing to do: no write, no re-read

    generate.generate(root, N, changed=True)
    changed_desired = session().desired
    changed = limits.changed_addresses(desired, changed_desired)
    assert len(changed) == round(N * generate.CHANGED_FRACTION)
    update = _step(dss, apply_changes(session, len(changed)))
    limit = limits.update_apply(changed_desired, changed)
    assert update["objects"] <= limit.requests * APPLY_SLACK, (update, limit.to_json(0, 4))
    assert update.get("PUT", 0) == len(changed), update  # exactly the changed objects are written

    def destroy() -> None:
        _planned, applied = session().apply(PlanOptions(destroy=True))
        assert applied is not None and applied.ok and len(applied.done) == N

    removal = _step(dss, destroy)
    limit = limits.destroy(changed_desired)
    assert removal["objects"] <= limit.requests, (removal, limit.to_json(0, 4))
    assert removal.get("DELETE", 0) == N, removal


def apply_changes(session, expected: int):
    def run() -> None:
        planned, applied = session().apply(PlanOptions())
        assert planned.plan.summary()["change"] == expected, planned.plan.summary()
        assert applied is not None and applied.ok

    return run
