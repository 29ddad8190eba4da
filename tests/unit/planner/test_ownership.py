"""Ownership rules of the planner (issue 10, security 5 and 6), without DSS:

- the managed folder holding the state, and its project, are never deleted or replaced;
- nothing is deleted in a project whose marker does not name this state's lineage, unless
  `--force-delete` names the object or its project; a typo in `--force-delete` is an error;
- existing projects without a marker that the plan writes in are marked (`mark_projects`),
  never one it only deletes in.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from dataiku_iac.errors import PlanError, UnsafeOperationError
from dataiku_iac.model import StateHome
from dataiku_iac.planner.plan import Action, Plan, PlanOptions
from dataiku_iac.planner.planner import plan
from dataiku_iac.resources.base import Observed
from dataiku_iac.state import ResourceState

from .golden_support import load_case

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
KEY = "DEMO_PROJECT"
OTHER_LINEAGE = "11111111-1111-4111-8111-111111111111"


def _case(name: str, marker="state"):
    desired, state, observed = load_case(GOLDEN / name)
    project = observed.projects[KEY]
    project.marker = state.lineage if marker == "state" else marker
    return desired, state, observed


def _refusal(*args, **kwargs) -> str:
    with pytest.raises(UnsafeOperationError) as caught:
        plan(*args, **kwargs)
    return str(caught.value)


# -- the state's own folder and project --------------------------------------------------------


def _with_state_folder(name: str = "dataset_removed_from_config"):
    """The state owns a managed folder `iac_state` (id abc123) that the config does not declare."""
    desired, state, observed = _case(name)
    folder = ResourceState(
        address=f"managed_folder.{KEY}.iac_state", type="managed_folder", project_key=KEY, name="iac_state",
        dss_id="abc123", attributes={"connection": "filesystem_folders"}, version_tag=None, depends_on=[f"project.{KEY}"],
    )
    state.put(folder)
    observed.projects[KEY].objects.setdefault("managed_folder", []).append(
        Observed("managed_folder", KEY, "iac_state", "abc123", {"connection": "filesystem_folders"})
    )
    return desired, state, observed


HOME = StateHome(project_key=KEY, folder_id="abc123", where="managed folder 'iac_state' of project DEMO_PROJECT, path /dev")


def test_the_folder_holding_the_state_is_never_deleted() -> None:
    desired, state, observed = _with_state_folder()
    message = _refusal(desired, state, observed, state_home=HOME)
    assert f"managed_folder.{KEY}.iac_state is the managed folder holding the state of this environment" in message
    assert "never deleted" in message and f"dataiku-iac state rm -e dev managed_folder.{KEY}.iac_state" in message
    # No flag overrides it, and without the home (another backend) the folder is an ordinary one.
    assert "never deleted" in _refusal(desired, state, observed, PlanOptions(force_delete=(f"project.{KEY}",)), state_home=HOME)
    assert plan(desired, state, observed).summary()["destroy"] == 2


def test_destroy_keeps_the_folder_and_project_holding_the_state_with_a_note() -> None:
    desired, state, observed = _with_state_folder("destroy_all")
    result = plan(desired, state, observed, PlanOptions(destroy=True, drop_data=True), state_home=HOME)
    kept = {c.address for c in result.changes if c.action == Action.NOOP}
    assert kept == {f"project.{KEY}", f"managed_folder.{KEY}.iac_state"}
    assert result.summary()["destroy"] == len(state.resources) - 2 > 0, "everything else is destroyed"
    notes = [w for w in result.warnings if "is kept: it holds the state of this environment" in w]
    assert len(notes) == 2 and any(f"dataiku-iac state rm -e dev managed_folder.{KEY}.iac_state" in n for n in notes)


def test_another_folder_of_the_state_project_can_be_deleted() -> None:
    desired, state, observed = _with_state_folder()
    elsewhere = StateHome(project_key=KEY, folder_id="zzz999", where="another folder")
    assert plan(desired, state, observed, state_home=elsewhere).summary()["destroy"] == 2


# -- markers -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dataset_removed_from_config", "destroy_all", "dataset_connection_replaced"])
def test_deletes_in_an_unmarked_project_are_refused(name: str) -> None:
    desired, state, observed = _case(name, marker=None)
    options = PlanOptions(destroy=name == "destroy_all")
    message = _refusal(desired, state, observed, options)
    assert f"project {KEY} is not marked as managed by this state" in message
    assert f"--force-delete project.{KEY}" in message


def test_deletes_in_a_project_marked_by_another_state_are_refused() -> None:
    desired, state, observed = _case("destroy_all", marker=OTHER_LINEAGE)
    message = _refusal(desired, state, observed, PlanOptions(destroy=True))
    assert f"marked as managed by another dataiku-iac state (lineage {OTHER_LINEAGE})" in message
    assert f"it would delete project.{KEY}, dataset.{KEY}.TEST_DATA." in message


def test_force_delete_naming_the_project_covers_its_objects_and_is_recorded() -> None:
    desired, state, observed = _case("destroy_all", marker=None)
    options = PlanOptions(destroy=True, force_delete=(f"project.{KEY}",))
    result = plan(desired, state, observed, options)
    assert result.summary()["destroy"] == 2
    assert any("--force-delete" in w for w in result.warnings)
    saved = result.to_json()
    assert saved["options"]["force_delete"] == [f"project.{KEY}"]
    assert Plan.from_json(saved).options.forces_delete(f"dataset.{KEY}.TEST_DATA")


def test_force_delete_of_one_object_leaves_the_others_refused() -> None:
    desired, state, observed = _case("destroy_all", marker=None)
    message = _refusal(desired, state, observed, PlanOptions(destroy=True, force_delete=(f"dataset.{KEY}.TEST_DATA",)))
    assert f"it would delete project.{KEY}." in message


def test_force_delete_naming_nothing_deleted_is_an_error() -> None:
    desired, state, observed = _case("dataset_removed_from_config")
    with pytest.raises(PlanError, match=r"--force-delete dataset.DEMO_PROJECT.TYPO: this plan deletes nothing there"):
        plan(desired, state, observed, PlanOptions(force_delete=(f"dataset.{KEY}.TYPO",)))


def test_a_marked_project_needs_no_flag_and_is_not_marked_again() -> None:
    desired, state, observed = _case("dataset_removed_from_config")
    result = plan(desired, state, observed)
    assert [c.action for c in result.actionable()] == [Action.DELETE]
    assert result.mark_projects == ()


def test_an_unmarked_project_the_plan_writes_in_is_marked_first() -> None:
    desired, state, observed = _case("description_reset", marker=None)
    result = plan(desired, state, observed)
    assert result.mark_projects == (KEY,)
    assert Plan.from_json(result.to_json()).mark_projects == (KEY,)


def test_a_project_the_plan_only_deletes_in_is_not_marked() -> None:
    desired, state, observed = _case("dataset_removed_from_config", marker=None)
    result = plan(desired, state, observed, PlanOptions(force_delete=(f"dataset.{KEY}.TEST_DATA",)))
    assert result.mark_projects == ()


def test_a_project_marked_by_another_state_is_never_remarked_and_writes_in_it_are_flagged() -> None:
    desired, state, observed = _case("description_reset", marker=OTHER_LINEAGE)
    result = plan(desired, state, observed)
    assert result.mark_projects == ()
    assert any(f"lineage {OTHER_LINEAGE}" in w for w in result.warnings)


def test_the_marker_is_not_an_attribute_so_it_is_never_drift() -> None:
    desired, state, observed = _case("demo_in_sync", marker=None)
    unmarked = plan(desired, state, observed)
    observed = copy.deepcopy(observed)
    observed.projects[KEY].marker = state.lineage
    assert not unmarked.has_changes and not plan(desired, state, observed).has_changes


def test_a_destroy_that_only_keeps_the_state_home_says_so_and_no_objects_need_destroying() -> None:
    from dataiku_iac.output.text import render_plan

    desired, state, observed = _with_state_folder("destroy_all")
    for address in [a for a in state.resources if a not in (f"project.{KEY}", f"managed_folder.{KEY}.iac_state")]:
        state.resources.pop(address)
    text = render_plan(plan(desired, state, observed, PlanOptions(destroy=True), state_home=HOME))
    assert f"Note: project.{KEY} is kept: it holds the state of this environment" in text
    assert text.splitlines()[-1] == "No changes. No objects need to be destroyed."


# -- objects used by recipes the state does not own (issue 12, item 7) --------------------------


def _with_stranger_recipe(name: str = "dataset_removed_from_config", *, reads: str = "TEST_DATA", owned: bool = False):
    """A recipe `compute_report` reads `reads`; the state owns it only if `owned`."""
    desired, state, observed = _case(name)
    recipe = Observed("recipe", KEY, "compute_report", "compute_report",
                      {"kind": "python", "inputs": {"main": [reads]}, "outputs": {"main": ["REPORT"]}})
    observed.projects[KEY].objects.setdefault("recipe", []).append(recipe)
    if owned:
        state.put(ResourceState(
            address=f"recipe.{KEY}.compute_report", type="recipe", project_key=KEY, name="compute_report",
            dss_id="compute_report", attributes={"kind": "python"}, version_tag=None, depends_on=[f"project.{KEY}"],
        ))
    return desired, state, observed


def test_deleting_a_dataset_an_unmanaged_recipe_reads_is_refused_naming_the_recipe() -> None:
    message = _refusal(*_with_stranger_recipe())
    assert f"dataset TEST_DATA in {KEY} is used by recipe(s) not managed by dataiku-iac (compute_report)" in message
    assert f"--force-delete dataset.{KEY}.TEST_DATA" in message


def test_replacing_a_dataset_an_unmanaged_recipe_reads_is_refused() -> None:
    message = _refusal(*_with_stranger_recipe("dataset_connection_replaced"))
    assert "(compute_report) and would be replaced" in message


def test_force_delete_allows_deleting_a_dataset_an_unmanaged_recipe_reads_and_says_so() -> None:
    desired, state, observed = _with_stranger_recipe()
    result = plan(desired, state, observed, PlanOptions(force_delete=(f"dataset.{KEY}.TEST_DATA",)))
    assert [c.address for c in result.actionable()] == [f"dataset.{KEY}.TEST_DATA"]
    assert any("nor that no recipe dataiku-iac does not manage uses them" in w for w in result.warnings)


def test_a_dataset_only_managed_or_unrelated_recipes_use_is_deleted() -> None:
    owned = plan(*_with_stranger_recipe(owned=True))  # the config declares neither: both go
    assert {c.address for c in owned.actionable()} == {f"dataset.{KEY}.TEST_DATA", f"recipe.{KEY}.compute_report"}
    assert plan(*_with_stranger_recipe(reads="SOMETHING_ELSE")).summary()["destroy"] == 1
