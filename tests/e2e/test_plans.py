"""Acceptance point 7: saved plans, --target, --detailed-exitcode, destroy.

- `plan --out f.json` then `apply -e dev f.json` applies exactly that plan;
- a saved plan made before another apply (state serial moved) or before a config edit is refused
  as stale (exit 1), and the lock is released (the next apply works);
- `--target` limits the plan to the target and what it depends on;
- `--detailed-exitcode` exits 2 with changes, 0 without;
- `destroy` deletes only owned objects and refuses while a project holds unmanaged objects;
  `--drop-data` reaches DSS as dropData.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import (
    assert_no_changes,
    list_names,
    request_count,
    run_cli,
    state_dir,
    write_config,
    writes_since,
)

PROJECT = """\
project:
  key: PLANS
  name: Saved plans
managed_folders:
  - name: exports
datasets:
  - name: a
    type: managed
    format: csv
  - name: b
    type: managed
    format: parquet
  - name: c
    type: managed
recipes:
  - name: a_to_b
    type: python
    inputs: [a]
    outputs: [b]
    code: "print('a to b')\\n"
"""
EXTRA_DATASET = """\
  - name: d
    type: managed
"""
KEY = "PLANS"


def _config(tmp_path: Path, text: str = PROJECT) -> Path:
    return write_config(tmp_path / "cfg", {"plans.yml": text})


def _addresses(plan_json: dict, *actions: str) -> set[str]:
    return {c["address"] for c in plan_json["resource_changes"] if c["change"]["actions"] in [[a] for a in actions]}


def _lock_free(root: Path) -> None:
    assert not (state_dir(root) / "lock.json").exists(), "the state lock was not released"


def test_saved_plan_is_applied_exactly(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    plan_file = root / "release.tfplan.json"
    shown = run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    assert shown.stdout.splitlines()[-1].startswith("Saved the plan to")
    saved = json.loads(plan_file.read_text())
    planned = _addresses(saved, "create")
    assert planned == {"project.PLANS", "managed_folder.PLANS.exports", "dataset.PLANS.a", "dataset.PLANS.b", "dataset.PLANS.c", "recipe.PLANS.a_to_b"}
    assert saved["summary"] == {"add": 6, "change": 0, "destroy": 0, "forget": 0}

    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), "--json")  # no TTY, no --auto-approve: the file is the approval
    body = applied.json()
    assert body["ok"] is True and set(body["done"]) == planned
    assert body["plan"]["digest"] == saved["digest"], "apply ran another plan than the saved one"
    created = {path for method, path in writes_since(dss, before) if method == "POST"}
    assert created == {
        "/projects/",
        "/projects/PLANS/managedfolders/",
        "/projects/PLANS/datasets/managed",
        "/projects/PLANS/recipes/",
    }
    names = list_names(dss.client(), KEY)
    assert names["dataset"] == ["a", "b", "c"] and names["managed_folder"] == ["exports"] and names["recipe"] == ["a_to_b"]
    assert_no_changes(dss, root)
    # A saved plan is single-use: once applied, the state moved on.
    again = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "stale" in again.stderr
    _lock_free(root)


def test_saved_plan_made_before_another_apply_is_stale(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    plan_file = root / "old.tfplan.json"
    run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")  # the state serial moves to 1
    before = request_count(dss)
    refused = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "stale" in refused.stderr and "serial 0" in refused.stderr, str(refused)
    assert writes_since(dss, before) == []
    _lock_free(root)
    after = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert after.last_line().startswith("No changes.")


def test_saved_plan_made_before_a_config_edit_is_stale(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    plan_file = root / "old.tfplan.json"
    run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    (root / "projects" / "plans.yml").write_text(PROJECT.replace("recipes:", EXTRA_DATASET + "recipes:"), encoding="utf-8")
    before = request_count(dss)
    refused = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "stale" in refused.stderr and "configuration changed" in refused.stderr, str(refused)
    assert writes_since(dss, before) == []
    _lock_free(root)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert "Resources: 7 added" in applied.stdout
    assert list_names(dss.client(), KEY)["dataset"] == ["a", "b", "c", "d"]


def test_tampered_saved_plan_is_refused(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    plan_file = root / "p.tfplan.json"
    run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file))
    body = json.loads(plan_file.read_text())
    body["resource_changes"] = [c for c in body["resource_changes"] if c["address"] != "dataset.PLANS.c"]
    plan_file.write_text(json.dumps(body))
    before = request_count(dss)
    refused = run_cli(dss, root, "apply", "-e", "dev", str(plan_file), expect=1)
    assert "modified" in refused.stderr
    assert writes_since(dss, before) == []
    _lock_free(root)


def test_target_limits_the_plan_to_the_target_and_its_dependencies(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    planned = run_cli(dss, root, "plan", "-e", "dev", "--target", "recipe.PLANS.a_to_b", "--json").json()
    assert _addresses(planned, "create") == {"project.PLANS", "dataset.PLANS.a", "dataset.PLANS.b", "recipe.PLANS.a_to_b"}
    human = run_cli(dss, root, "plan", "-e", "dev", "--target", "recipe.PLANS.a_to_b")
    assert human.last_line() == "Plan: 4 to add, 0 to change, 0 to destroy.", str(human)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--target", "dataset.PLANS.c")
    names = list_names(dss.client(), KEY)
    assert names["dataset"] == ["c"] and names["recipe"] == [] and names["managed_folder"] == []
    rest = run_cli(dss, root, "plan", "-e", "dev")
    assert rest.last_line() == "Plan: 4 to add, 0 to change, 0 to destroy.", str(rest)
    unknown = run_cli(dss, root, "plan", "-e", "dev", "--target", "dataset.PLANS.nope", expect=1)
    assert "--target dataset.PLANS.nope: no such resource" in unknown.stderr
    malformed = run_cli(dss, root, "plan", "-e", "dev", "--target", "dataset.PLANS", expect=1)
    assert "--target dataset.PLANS: invalid address" in malformed.stderr


def test_detailed_exitcode(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    with_changes = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert with_changes.last_line() == "Plan: 6 to add, 0 to change, 0 to destroy."
    json_changes = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", "--json", expect=2)
    assert json_changes.json()["summary"]["add"] == 6
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    without = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=0)
    assert without.last_line().startswith("No changes.")
    plain = run_cli(dss, root, "plan", "-e", "dev", expect=0)  # without the flag, changes are not an exit code
    assert plain.last_line().startswith("No changes.")


def test_destroy_deletes_only_owned_objects(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    client = dss.client()
    client.create_project("NEIGHBOUR", "not managed", "admin")
    client.get_project("NEIGHBOUR").new_managed_dataset("theirs").with_store_into("filesystem_managed").create()
    before = request_count(dss)
    destroyed = run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    assert destroyed.last_line() == "Destroy complete! Resources: 6 destroyed.", str(destroyed)
    assert client.list_project_keys() == ["NEIGHBOUR"]
    assert [d["name"] for d in client.get_project("NEIGHBOUR").list_datasets()] == ["theirs"]
    assert all("/NEIGHBOUR" not in path for _, path in writes_since(dss, before))
    state = json.loads((state_dir(root) / "state.json").read_text())
    assert state["resources"] == {}
    _lock_free(root)


def test_destroy_refuses_while_a_project_holds_unmanaged_objects(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(KEY)
    project.create_dataset("hand_made", "Filesystem", params={"connection": "filesystem_managed", "path": "/hand"}, formatType="csv")
    before = request_count(dss)
    refused = run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve", expect=1)
    assert "PLANS cannot be deleted" in refused.stderr and "dataset hand_made" in refused.stderr, str(refused)
    assert writes_since(dss, before) == []
    assert list_names(dss.client(), KEY)["dataset"] == ["a", "b", "c", "hand_made"]
    _lock_free(root)


def test_drop_data_reaches_dss(dss: Any, tmp_path: Path) -> None:
    text = PROJECT
    root = _config(tmp_path, text)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    # Removing a dataset from the config deletes it; without --drop-data its data is kept.
    (root / "projects" / "plans.yml").write_text(text.replace("  - name: c\n    type: managed\n", ""), encoding="utf-8")
    before = request_count(dss)
    kept = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert "keep their stored data" in kept.stdout
    deletes = [(e["path"], e["query"]) for e in dss.admin.requests(since=before) if e["method"] == "DELETE"]
    assert deletes == [("/projects/PLANS/datasets/c", "dropData=False")]
    before = request_count(dss)
    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve", "--drop-data")
    deletes = [(e["path"], e["query"]) for e in dss.admin.requests(since=before) if e["method"] == "DELETE"]
    by_path = dict(deletes)
    assert by_path["/projects/PLANS/datasets/a"] == "dropData=True" and by_path["/projects/PLANS/datasets/b"] == "dropData=True"
    assert "clearManagedDatasets=True" in by_path["/projects/PLANS"] and "clearOutputManagedFolders=True" in by_path["/projects/PLANS"]
    assert any(path.startswith("/projects/PLANS/managedfolders/") and query == "dropData=True" for path, query in deletes)
    assert dss.client().list_project_keys() == []
