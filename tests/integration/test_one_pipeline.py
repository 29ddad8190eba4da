"""Apply, destroy and rollback run on one pipeline (engine/pipeline.py), through the real client
against the emulator: the journal, its checkpoint (the serial a run writes) and the resume of an
interrupted run behave the same whichever of the three made the change; a saved plan of either kind
goes stale by the same rule, with the same message.

The interruption: DSS deletes dataset `side` but the answer is lost (a 500 after the change), and
every retry fails too. The run cannot know whether the delete happened: its intent stays open in
the journal on the serial it writes, and the next run of any kind looks it up in DSS and settles it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from dataiku_iac.engine.rollback import apply_rollback, plan_rollback
from dataiku_iac.engine.session import Session
from dataiku_iac.errors import StalePlanError
from dataiku_iac.planner.plan import PlanOptions

from tests.e2e.helpers import list_names, write_config

KEY = "ONEPIPE"
SIDE = f"dataset.{KEY}.side"
ONE = f"""\
project:
  key: {KEY}
  name: One pipeline
datasets:
  - name: raw
    type: managed
    description: as in serial 1
"""
TWO = ONE.replace("as in serial 1", "as in serial 2") + """\
  - name: side
    type: managed
    description: added by serial 2
"""
DESTROY = PlanOptions(destroy=True)

# Each run deletes `side` and changes `raw`: apply (the configuration is serial 1's again),
# destroy (everything), and a rollback to serial 1.
RUNS: dict[str, Callable[..., Any]] = {
    "apply": lambda session, **kw: session.apply(**kw),
    "destroy": lambda session, **kw: session.apply(DESTROY, **kw),
    "rollback": lambda session, **kw: apply_rollback(session, 1, **kw),
}
PLANS: dict[str, Callable[[Session], Any]] = {
    "apply": lambda session: session.plan(),
    "destroy": lambda session: session.plan(DESTROY),
    "rollback": lambda session: plan_rollback(session, 1),
}
# The operation of the serial each run writes (`state history`).
OPERATIONS = {"apply": "apply", "destroy": "destroy", "rollback": "rollback to serial 1"}


def _session(dss: Any, root: Path) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}, parallelism=2)


@pytest.fixture
def root(dss: Any, tmp_path: Path) -> Path:
    """Serial 1 has dataset raw, serial 2 raw and side; the configuration still says serial 2's."""
    root = write_config(tmp_path / "cfg", {"one.yml": ONE})
    assert _session(dss, root).apply()[1].ok
    (root / "projects" / "one.yml").write_text(TWO, encoding="utf-8")
    assert _session(dss, root).apply()[1].ok
    return root


def _prepare(run: str, root: Path) -> None:
    if run == "apply":
        (root / "projects" / "one.yml").write_text(ONE, encoding="utf-8")


def _lose_the_delete_of_side(dss: Any) -> None:
    dss.admin.add_fault(method="DELETE", path=r"/datasets/side$", status=500, nth=1, times=1, mode="after")
    dss.admin.add_fault(method="DELETE", path=r"/datasets/side$", status=500, nth=2, times=0)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_an_interrupted_run_is_journaled_checkpointed_and_resumed_alike(dss: Any, root: Path, run: str) -> None:
    _prepare(run, root)
    _lose_the_delete_of_side(dss)
    _planned, applied = RUNS[run](_session(dss, root))
    assert set(applied.failed) == {SIDE}
    assert "side" not in list_names(dss.client(), KEY)["dataset"]  # DSS did delete it

    # The checkpoint: one serial with what is known, labelled for the run; the unknown outcome
    # stays open in the journal on that serial, for the next run to look up.
    reader = _session(dss, root).state_reader()
    state = reader.read()
    assert state.serial == 3 and reader.history_entry(3).operation == OPERATIONS[run]
    assert SIDE in state.resources
    assert [(i["address"], i["action"]) for i in reader.read_journal().pending_intents()] == [(SIDE, "delete")]

    # The resume: a plan of the same kind settles it in memory, the next run records it.
    dss.admin.clear_faults()
    notes = PLANS[run](_session(dss, root)).notes
    assert f"{SIDE}: deleted by the interrupted apply; removed from state" in notes, notes
    _planned, again = RUNS[run](_session(dss, root))
    assert again is None or again.ok, again.failed
    state = reader.read()
    assert SIDE not in state.resources and reader.read_journal().pending_intents() == []
    assert "reconcile interrupted apply" in [reader.history_entry(s).operation for s in range(4, state.serial + 1)]
    assert not PLANS[run](_session(dss, root)).plan.has_changes


@pytest.mark.parametrize("run", sorted(RUNS))
def test_a_saved_plan_made_before_another_run_is_stale_by_the_same_rule(dss: Any, root: Path, run: str) -> None:
    _prepare(run, root)
    saved = PLANS[run](_session(dss, root)).plan.to_json()
    # Another run writes serial 3 meanwhile (the configuration is as the plan saw it).
    (root / "projects" / "one.yml").write_text(TWO.replace("added by serial 2", "described again"), encoding="utf-8")
    assert _session(dss, root).apply()[1].ok
    _prepare(run, root)
    dss.admin.clear_requests()
    with pytest.raises(StalePlanError) as refused:
        RUNS[run](_session(dss, root), saved_plan=saved)
    what, remake = {
        "apply": ("saved plan", "make a new plan with `dataiku-iac plan -e dev --out FILE` and apply that file"),
        "destroy": ("saved plan", "make a new plan with `dataiku-iac plan -e dev --destroy --out FILE` and apply that file"),
        "rollback": ("saved rollback plan", "make a new one with `dataiku-iac state rollback 1 -e dev --out FILE`"),
    }[run]
    assert str(refused.value) == f"{what} is stale: it was made against state serial 2, the state is now at serial 3; {remake}"
    assert [r for r in dss.admin.requests() if r["method"] in ("POST", "PUT", "DELETE")] == []
