"""`import:` entries (issue 12, item 5), without DSS: the planner adopts a declared object that
exists in DSS but not in the state (no-op or update, never a create or a replace), refuses one DSS
lacks, and does nothing once the state has it; a saved plan keeps `importing`."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataiku_iac.errors import PlanError
from dataiku_iac.output.text import render_plan
from dataiku_iac.planner.plan import Action, Plan
from dataiku_iac.planner.planner import plan

from .golden_support import load_case

CASE = Path(__file__).resolve().parents[2] / "golden" / "demo_in_sync"
ADDRESS = "dataset.DEMO_PROJECT.TEST_DATA"


def _not_in_state():
    desired, state, observed = load_case(CASE)
    del state.resources[ADDRESS]
    return desired, state, observed


def test_without_an_entry_an_unmanaged_object_in_the_way_is_refused() -> None:
    with pytest.raises(PlanError, match="already exists in DSS"):
        plan(*_not_in_state())


def test_an_entry_adopts_the_object_and_the_saved_plan_keeps_it() -> None:
    desired, state, observed = _not_in_state()
    desired.imports[ADDRESS] = None
    computed = plan(desired, state, observed)
    (change,) = [c for c in computed.changes if c.address == ADDRESS]
    assert (change.action, change.importing) == (Action.NOOP, True)
    assert computed.actionable() == [change] and computed.summary()["import"] == 1
    text = render_plan(computed)
    assert f"# {ADDRESS} will be imported in project DEMO_PROJECT" in text
    assert "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy." in text
    assert Plan.from_json(computed.to_json()).changes == computed.changes


def test_an_entry_whose_item_differs_is_an_import_and_an_update() -> None:
    desired, state, observed = _not_in_state()
    desired.imports[ADDRESS] = None
    desired.resources[ADDRESS].attributes["description"] = "from the config"
    (change,) = [c for c in plan(desired, state, observed).changes if c.address == ADDRESS]
    assert (change.action, change.importing) == (Action.UPDATE, True)
    assert [f.name for f in change.field_changes] == ["description"]


def test_an_entry_for_an_object_dss_lacks_or_that_would_be_replaced_is_refused() -> None:
    desired, state, observed = _not_in_state()
    desired.imports[ADDRESS] = None
    desired.resources[ADDRESS].attributes["kind"] = "filesystem"
    with pytest.raises(PlanError, match="which would replace the dataset"):
        plan(desired, state, observed)
    desired, state, observed = _not_in_state()
    desired.imports[ADDRESS] = None
    observed.projects["DEMO_PROJECT"].objects["dataset"] = []
    with pytest.raises(PlanError, match="cannot import: no dataset 'TEST_DATA'"):
        plan(desired, state, observed)


def test_once_in_the_state_an_entry_does_nothing() -> None:
    desired, state, observed = load_case(CASE)
    desired.imports[ADDRESS] = None
    assert not plan(desired, state, observed).actionable()
