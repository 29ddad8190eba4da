"""Issue 15 §7, Terraform's habits against the emulator, through the CLI as a user runs it:

- `plan/apply --exclude ADDR` leaves ADDR and what depends on it out (recorded in a saved plan);
- `plan/apply --replace ADDR` deletes and re-creates the DSS object (a folder gets a new id),
  refused for a protected resource;
- `plan/apply --refresh-only` records DSS's values in the state and changes nothing in DSS: drift is
  then clean, a refresh-only plan says `No changes.`, and a plan proposes what the configuration
  asks as a configuration change (no longer a revert of drift); an object deleted in DSS is forgotten.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import list_names, request_count, run_cli, state_dir, write_config, writes_since

KEY = "HABITS"
PROJECT = f"""\
project:
  key: {KEY}
  name: Terraform habits
managed_folders:
  - name: exports
    description: monthly exports
datasets:
  - name: a
    type: managed
    format: csv
  - name: b
    type: managed
    format: parquet
  - name: c
    type: managed
    description: first words
recipes:
  - name: a_to_b
    type: python
    inputs: [a]
    outputs: [b]
    code: "print('a to b')\\n"
"""


def _config(tmp_path: Path) -> Path:
    return write_config(tmp_path / "cfg", {"habits.yml": PROJECT})


def _applied(dss: Any, tmp_path: Path) -> Path:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    return root


def _state(root: Path) -> dict:
    return json.loads((state_dir(root) / "state.json").read_text())


def _by_action(plan_json: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for change in plan_json["resource_changes"]:
        found.setdefault(change["action"], set()).add(change["address"])
    return found


# -- --exclude ---------------------------------------------------------------------------------
def test_exclude_leaves_the_resource_and_its_dependents_out(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    plan_file = root / "without-a.json"
    planned = run_cli(dss, root, "plan", "-e", "dev", "--exclude", f"dataset.{KEY}.a", "--out", str(plan_file))
    assert planned.stdout.splitlines()[-3] == "Plan: 4 to add, 0 to change, 0 to destroy.", str(planned)
    saved = json.loads(plan_file.read_text())
    assert saved["options"]["excludes"] == [f"dataset.{KEY}.a"]
    # the recipe reads a: it depends on a, so it is left out too; b (which it writes) does not
    assert _by_action(saved)["create"] == {
        f"project.{KEY}", f"managed_folder.{KEY}.exports", f"dataset.{KEY}.b", f"dataset.{KEY}.c",
    }
    assert f"recipe.{KEY}.a_to_b" not in {c["address"] for c in saved["resource_changes"]}
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    assert "Apply complete! Resources: 4 added" in applied.stdout, str(applied)
    names = list_names(dss.client(), KEY)
    assert names["dataset"] == ["b", "c"] and names["recipe"] == []
    rest = run_cli(dss, root, "plan", "-e", "dev")
    assert rest.last_line() == "Plan: 2 to add, 0 to change, 0 to destroy.", str(rest)
    # the excluded part comes back when no longer excluded; an exclude can also be applied directly
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--exclude", f"recipe.{KEY}.a_to_b")
    assert list_names(dss.client(), KEY)["dataset"] == ["a", "b", "c"]
    assert list_names(dss.client(), KEY)["recipe"] == []


def test_exclude_refuses_unknown_addresses_and_target(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    unknown = run_cli(dss, root, "plan", "-e", "dev", "--exclude", f"dataset.{KEY}.nope", expect=1)
    assert "--exclude dataset.HABITS.nope: no such resource" in unknown.stderr
    both = run_cli(dss, root, "plan", "-e", "dev", "--exclude", f"dataset.{KEY}.a", "--target", f"dataset.{KEY}.c", expect=1)
    assert "--target and --exclude cannot be used together" in both.stderr


def test_destroy_with_exclude_keeps_it_and_what_it_needs(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    destroyed = run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve", "--exclude", f"dataset.{KEY}.c")
    assert destroyed.last_line() == "Destroy complete! Resources: 4 destroyed.", str(destroyed)
    names = list_names(dss.client(), KEY)  # the project stays: deleting it would delete c
    assert names["dataset"] == ["c"] and names["managed_folder"] == [] and names["recipe"] == []
    assert set(_state(root)["resources"]) == {f"project.{KEY}", f"dataset.{KEY}.c"}


# -- --replace ---------------------------------------------------------------------------------
def test_replace_really_recreates_the_dss_object(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    folder = f"managed_folder.{KEY}.exports"
    old_id = _state(root)["resources"][folder]["dss_id"]
    plan_file = root / "replace.json"
    planned = run_cli(dss, root, "plan", "-e", "dev", "--replace", folder, "--out", str(plan_file))
    assert f"# {folder} must be replaced" in planned.stdout and "(replacement requested with --replace)" in planned.stdout
    saved = json.loads(plan_file.read_text())
    assert saved["options"]["replace"] == [folder]
    assert saved["summary"] == {"add": 1, "change": 0, "destroy": 1, "forget": 0}
    (change,) = [c for c in saved["resource_changes"] if c["action"] == "replace"]
    assert change["address"] == folder and change["change"]["actions"] == ["delete", "create"]
    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in applied.stdout, str(applied)
    writes = writes_since(dss, before)
    assert ("DELETE", f"/projects/{KEY}/managedfolders/{old_id}") in writes, writes
    assert ("POST", f"/projects/{KEY}/managedfolders/") in writes, writes
    new_id = _state(root)["resources"][folder]["dss_id"]
    folders = dss.client().get_project(KEY).list_managed_folders()
    assert new_id != old_id and [f["id"] for f in folders] == [new_id]
    assert folders[0]["name"] == "exports"
    assert run_cli(dss, root, "plan", "-e", "dev").last_line().startswith("No changes.")


def test_replace_of_a_folder_replaces_the_recipes_dss_deletes_with_it(dss: Any, tmp_path: Path) -> None:
    """DSS deletes the recipes that read or write a managed folder it deletes: the plan replaces
    them too, so that the apply leaves the Flow as configured (it used to leave them deleted)."""
    project = PROJECT + """\
  - name: export_b
    type: python
    inputs: [b]
    outputs: [exports]
    code: "print('export')\\n"
"""
    root = write_config(tmp_path / "cfg", {"habits.yml": project})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    folder, recipe = f"managed_folder.{KEY}.exports", f"recipe.{KEY}.export_b"
    plan_file = root / "replace.json"
    planned = run_cli(dss, root, "plan", "-e", "dev", "--replace", folder, "--out", str(plan_file))
    assert f"# {recipe} must be replaced" in planned.stdout, str(planned)
    assert f"DSS deletes it with the managed folder the plan replaces: {folder}" in planned.stdout
    assert _by_action(json.loads(plan_file.read_text()))["replace"] == {folder, recipe}
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    assert "Apply complete! Resources: 2 added, 0 changed, 2 destroyed." in applied.stdout, str(applied)
    assert list_names(dss.client(), KEY)["recipe"] == ["a_to_b", "export_b"]
    assert run_cli(dss, root, "plan", "-e", "dev").last_line().startswith("No changes.")


def test_replace_of_a_dataset_deletes_then_creates_it(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    before = request_count(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--replace", f"dataset.{KEY}.c")
    writes = writes_since(dss, before)
    deleted = writes.index(("DELETE", f"/projects/{KEY}/datasets/c"))
    created = writes.index(("POST", f"/projects/{KEY}/datasets/managed"))
    assert deleted < created, writes
    assert list_names(dss.client(), KEY)["dataset"] == ["a", "b", "c"]


def test_replace_is_refused_for_a_protected_resource(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    run_cli(dss, root, "state", "protect", f"dataset.{KEY}.c", "-e", "dev")
    before = request_count(dss)
    refused = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--replace", f"dataset.{KEY}.c", expect=1)
    assert f"dataset.{KEY}.c is protected and would be replaced" in refused.stderr, str(refused)
    assert writes_since(dss, before) == []
    unknown = run_cli(dss, root, "plan", "-e", "dev", "--replace", f"dataset.{KEY}.nope", expect=1)
    assert "no such resource in the configuration" in unknown.stderr


# -- --refresh-only ----------------------------------------------------------------------------
def _edit_in_dss(dss: Any) -> None:
    """Someone edits c's description in the DSS UI and deletes the recipe."""
    project = dss.client().get_project(KEY)
    settings = project.get_dataset("c").get_settings()
    settings.get_raw()["description"] = "edited in the UI"
    settings.save()
    project.get_recipe("a_to_b").delete()


def test_refresh_only_accepts_dss_values_into_the_state(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    _edit_in_dss(dss)
    run_cli(dss, root, "drift", "-e", "dev", expect=2)
    serial = _state(root)["serial"]

    shown = run_cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--detailed-exitcode", expect=2)
    assert "Objects have changed outside of dataiku-iac" in shown.stdout
    assert '~ description = "first words" -> "edited in the UI"' in shown.stdout, str(shown)
    assert shown.last_line() == "Refresh: 1 to record, 1 to forget (state only; DSS is not changed)."
    body = run_cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--json").json()
    assert body["options"]["refresh_only"] is True
    assert body["summary"] == {"add": 0, "change": 0, "destroy": 0, "forget": 1, "refresh": 1}
    assert _by_action(body)["refresh"] == {f"dataset.{KEY}.c"} and _by_action(body)["forget"] == {f"recipe.{KEY}.a_to_b"}

    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--refresh-only", "--auto-approve")
    assert applied.last_line() == ("Refresh complete! The state records DSS's values: 1 recorded, 1 forgotten; "
                                   "DSS was not changed."), str(applied)
    assert writes_since(dss, before) == [], "a refresh-only apply wrote to DSS"
    state = _state(root)
    assert state["serial"] == serial + 1
    assert state["resources"][f"dataset.{KEY}.c"]["attributes"]["description"] == "edited in the UI"
    assert f"recipe.{KEY}.a_to_b" not in state["resources"]
    history = run_cli(dss, root, "state", "history", "-e", "dev", "--json").json()
    assert history[-1]["operation"] == "refresh-only", history

    # What Terraform users expect next: no drift, nothing more to refresh, and a plan that
    # proposes what the configuration asks, as changes of the configuration (not reverts).
    assert run_cli(dss, root, "drift", "-e", "dev").stdout.startswith("No drift.")
    again = run_cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--detailed-exitcode", expect=0)
    assert again.last_line() == "No changes. The state already records DSS's values."
    drift = run_cli(dss, root, "drift", "-e", "dev", "--json").json()
    assert drift["pending_reverts"] == {"add": 0, "change": 0, "destroy": 0, "forget": 0}
    assert drift["pending_config_changes"] == {"add": 1, "change": 1, "destroy": 0, "forget": 0}
    planned = run_cli(dss, root, "plan", "-e", "dev")
    assert planned.last_line() == "Plan: 1 to add, 1 to change, 0 to destroy.", str(planned)


def test_a_saved_refresh_only_plan_is_applied_exactly_or_refused_as_stale(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    _edit_in_dss(dss)
    plan_file = root / "refresh.json"
    run_cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--out", str(plan_file))
    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file))
    assert applied.last_line().startswith("Refresh complete!"), str(applied)
    assert writes_since(dss, before) == []
    stale = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "stale" in stale.stderr
    flags = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), "--refresh-only", expect=1)
    assert "give them to `plan --out`" in flags.stderr
    both = run_cli(dss, root, "plan", "-e", "dev", "--refresh-only", "--replace", f"dataset.{KEY}.c", expect=1)
    assert "--refresh-only changes nothing in DSS" in both.stderr
