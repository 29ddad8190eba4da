"""Golden-file tests for the planner: tests/golden/<case>/ holds the inputs (config/,
state.json, observed.json, options.json) and the expected plan.txt and plan.json (or
error.txt). Regenerate the expectations with UPDATE_GOLDEN=1 after a deliberate change,
and review the diff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dataiku_iac.errors import PlanError
from dataiku_iac.output.text import render_plan
from dataiku_iac.planner.plan import PlanOptions
from dataiku_iac.planner.planner import plan

from .golden_support import load_case

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "config").is_dir())
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))


def _options(case: Path) -> PlanOptions:
    path = case / "options.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return PlanOptions(targets=tuple(data.get("targets", ())), destroy=data.get("destroy", False), drop_data=data.get("drop_data", False))


def _stable_json(plan_record) -> str:
    body = plan_record.to_json()
    for volatile in ("created_at", "digest", "config_digest", "tool_version"):
        body.pop(volatile, None)
    body["source"] = {}
    return json.dumps(body, indent=2, sort_keys=True, default=str) + "\n"


def _check(path: Path, actual: str) -> None:
    if UPDATE or not path.exists():
        path.write_text(actual)
        if not UPDATE:
            pytest.fail(f"{path} did not exist: written; review it and re-run")
    assert actual == path.read_text(), f"{path.name} differs (UPDATE_GOLDEN=1 to accept a deliberate change)"


@pytest.mark.parametrize("name", CASES)
def test_golden_plan(name: str) -> None:
    case = GOLDEN / name
    desired, state, observed = load_case(case)
    try:
        result = plan(desired, state, observed, _options(case), created_at="2026-01-01T00:00:00+00:00")
    except PlanError as exc:
        _check(case / "error.txt", f"{type(exc).__name__}: {exc}\n")
        return
    assert not (case / "error.txt").exists(), "the case expected an error"
    _check(case / "plan.txt", render_plan(result))
    _check(case / "plan.json", _stable_json(result))


def test_every_case_has_an_expectation() -> None:
    for name in CASES:
        case = GOLDEN / name
        assert (case / "plan.txt").exists() or (case / "error.txt").exists(), name
