"""Security (issue 10): the tool never deletes its own state, nor a project its state merely
claims. Each test reproduces the attack or the accident through the CLI against the emulator.

- security 5: `import project OPS` used to adopt the managed folder holding the state, and a
  config omitting it then deleted the state and its history;
- security 6: a state edited to claim a foreign project (or pushed as serial+1 of the same
  lineage) made `apply` delete a project the configuration never named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import DEMO_YAML, cli_env, state_dir, write_config
from tests.support import run_cli

OPS = "OPS"
STATE_BACKEND = f"state:\n  backend: managed_folder\n  project_key: {OPS}\n  folder: iac_state\n"


def _ops_project(dss: Any) -> str:
    project = dss.client().create_project(OPS, "Operations", "admin")
    project.create_dataset("runbook", "Inline")  # something else the team keeps there
    return project.create_managed_folder("iac_state").id


def test_import_adopts_the_state_folder_as_protected_and_no_plan_deletes_it(dss: Any, tmp_path: Path) -> None:
    folder_id = _ops_project(dss)
    root = write_config(tmp_path / "cfg", {}, iac=STATE_BACKEND)
    env = cli_env(dss)
    imported = run_cli(root, "import", "project", OPS, "-e", "dev", env=env)
    assert "holds the state" in imported.stdout, str(imported)
    yml = (root / "projects" / "ops.yml").read_text()
    assert "- name: iac_state\n" in yml and "protect: true" in yml, yml
    listed = run_cli(root, "state", "list", "-e", "dev", env=env).stdout
    assert "managed_folder.OPS.iac_state" in listed and "(protected)" in listed

    # A config that stops declaring the folder (the accident of the issue): refused, not deleted.
    (root / "projects" / "ops.yml").write_text(yml.replace("managed_folders:\n", "x_folders:\n").split("x_folders:")[0])
    refused = run_cli(root, "plan", "-e", "dev", env=env, expect=1)
    assert "managed_folder.OPS.iac_state is protected" in refused.stderr, str(refused)
    # Even with the protection removed from the state, the planner's own rule holds.
    run_cli(root, "state", "protect", "--off", "managed_folder.OPS.iac_state", "-e", "dev", env=env)
    refused = run_cli(root, "plan", "-e", "dev", env=env, expect=1)
    assert "managed_folder.OPS.iac_state is the managed folder holding the state of this environment" in refused.stderr
    # A destroy deletes the rest and keeps the state's folder and project, saying so.
    destroy = run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=env)
    assert "project.OPS is kept: it holds the state of this environment" in destroy.stdout, str(destroy)
    assert "managed_folder.OPS.iac_state is kept" in destroy.stdout
    folders = dss.client().get_project(OPS).list_managed_folders()
    assert [f["id"] for f in folders] == [folder_id]
    assert len(run_cli(root, "state", "history", "-e", "dev", "--json", env=env).json()) >= 2


# -- security 6: a crafted state ---------------------------------------------------------------------
FOREIGN = "PAYROLL"  # another team's project, never named by this configuration


def _craft(root: Path, change) -> None:
    """Edit state.json and its history entry consistently (the same bytes), as an attacker with
    write access to the state storage would: the state's own checks see nothing wrong."""
    current = state_dir(root) / "state.json"
    doc = json.loads(current.read_text())
    change(doc)
    raw = json.dumps(doc, indent=2) + "\n"
    current.write_text(raw)
    (state_dir(root) / "history" / f"{doc['serial']:010d}.json").write_text(raw)


def _claim(project_key: str, config_key: str = "") -> dict:
    config_key = config_key or project_key
    return {
        "address": f"project.{config_key}", "type": "project", "project_key": project_key, "name": project_key,
        "dss_id": project_key, "attributes": {"name": "whatever"}, "version_tag": None, "depends_on": [],
        "origin": "created", "protect": False, "secret_fingerprints": {},
    }


def _applied_demo(dss: Any, tmp_path: Path) -> Path:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    dss.client().create_project(FOREIGN, "Payroll", "admin")
    return root


def _projects(dss: Any) -> set:
    return {p["projectKey"] for p in dss.client().list_projects()}


def test_a_state_edited_to_claim_a_foreign_project_cannot_delete_it(dss: Any, tmp_path: Path) -> None:
    root = _applied_demo(dss, tmp_path)
    env = cli_env(dss)
    _craft(root, lambda doc: doc["resources"].update({f"project.{FOREIGN}": _claim(FOREIGN)}))

    refused = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env, expect=1)
    assert f"project {FOREIGN} is not marked as managed by this state" in refused.stderr, str(refused)
    assert f"--force-delete project.{FOREIGN}" in refused.stderr
    assert FOREIGN in _projects(dss)
    # The managed project carries this state's marker, written when the tool created it.
    lineage = json.loads((state_dir(root) / "state.json").read_text())["lineage"]
    kv = dss.client().get_project("DEMO_PROJECT").get_metadata()["custom"]["kv"]
    assert kv == {"dataiku-iac.lineage": lineage}
    # Deleting it anyway takes a flag naming it, recorded in the saved plan for review.
    run_cli(root, "plan", "-e", "dev", "--force-delete", f"project.{FOREIGN}", "--out", "forced.json", env=env)
    assert json.loads((root / "forced.json").read_text())["options"]["force_delete"] == [f"project.{FOREIGN}"]
    run_cli(root, "apply", "-e", "dev", "forced.json", env=env)
    assert FOREIGN not in _projects(dss)


def test_state_push_of_the_next_serial_cannot_delete_a_foreign_project(dss: Any, tmp_path: Path) -> None:
    root = _applied_demo(dss, tmp_path)
    env = cli_env(dss)
    pulled = json.loads(run_cli(root, "state", "pull", "-e", "dev", env=env).stdout)
    pulled["serial"] += 1
    pulled["resources"][f"project.{FOREIGN}"] = _claim(FOREIGN)
    (root / "crafted.json").write_text(json.dumps(pulled))
    run_cli(root, "state", "push", "crafted.json", "-e", "dev", env=env)  # same lineage, serial+1: accepted

    refused = run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=env, expect=1)
    assert f"project {FOREIGN} is not marked as managed by this state" in refused.stderr, str(refused)
    assert FOREIGN in _projects(dss) and "DEMO_PROJECT" in _projects(dss)


def test_a_crafted_state_cannot_mark_then_delete_in_the_same_apply(dss: Any, tmp_path: Path) -> None:
    """The config names the foreign project (say, to manage its description); the crafted state
    claims it and a dataset in it. The apply would write in the project (and so mark it), but
    the delete is judged on the marker as observed before: refused."""
    dss.client().create_project(FOREIGN, "Payroll", "admin").create_dataset("salaries", "Inline")
    root = write_config(tmp_path / "cfg", {"p.yml": f"project:\n  key: {FOREIGN}\n  name: Payroll\n  description: managed now\n"})
    env = cli_env(dss)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env, expect=1)  # conflict: import it first
    run_cli(root, "state", "push", "-", "-e", "dev", env=env, stdin=json.dumps(_state_claiming(FOREIGN, "salaries")))
    refused = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env, expect=1)
    assert f"project {FOREIGN} is not marked as managed by this state" in refused.stderr, str(refused)
    assert f"it would delete dataset.{FOREIGN}.salaries" in refused.stderr
    assert [d["name"] for d in dss.client().get_project(FOREIGN).list_datasets()] == ["salaries"]
    assert "custom" not in dss.client().get_project(FOREIGN).get_metadata() or not dss.client().get_project(FOREIGN).get_metadata()["custom"]["kv"]


def _state_claiming(project_key: str, dataset: str) -> dict:
    import uuid

    return {
        "format_version": 1, "tool_version": "0", "lineage": str(uuid.uuid4()), "serial": 1, "environment": "dev",
        "written_at": None, "operation": None,
        "resources": {
            f"project.{project_key}": _claim(project_key),
            f"dataset.{project_key}.{dataset}": {
                **_claim(project_key), "address": f"dataset.{project_key}.{dataset}", "type": "dataset", "name": dataset,
                "dss_id": dataset, "attributes": {"kind": "managed"}, "depends_on": [f"project.{project_key}"],
            },
        },
    }


def test_a_project_from_before_markers_is_marked_by_the_next_apply_that_writes_in_it(dss: Any, tmp_path: Path) -> None:
    two = DEMO_YAML + "  - name: MORE\n    type: managed\n"
    root = write_config(tmp_path / "cfg", {"demo.yml": two})
    env = cli_env(dss)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    project = dss.client().get_project("DEMO_PROJECT")
    metadata = project.get_metadata()
    metadata["custom"]["kv"] = {}  # as a project created before dataiku-iac marked projects
    project.set_metadata(metadata)

    (root / "projects" / "demo.yml").write_text(DEMO_YAML)  # MORE leaves the config
    refused = run_cli(root, "plan", "-e", "dev", env=env, expect=1)
    assert "not marked as managed by this state" in refused.stderr and "--force-delete" in refused.stderr
    (root / "projects" / "demo.yml").write_text(two.replace("name: Demo Project", "name: Demo Project\n  description: now marked"))
    marking = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "Note: project DEMO_PROJECT will be marked as managed by this state" in marking.stdout, str(marking)
    assert project.get_metadata()["custom"]["kv"]["dataiku-iac.lineage"]
    (root / "projects" / "demo.yml").write_text(DEMO_YAML)
    removed = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "1 destroyed" in removed.stdout, str(removed)


def test_a_crafted_saved_plan_cannot_delete_a_foreign_project(dss: Any, tmp_path: Path) -> None:
    """A saved plan is applied without planning again: the executor checks the marker of a
    project before deleting it (the plan file's digest is no signature)."""
    from dataiku_iac.planner.plan import digest_of

    root = _applied_demo(dss, tmp_path)
    env = cli_env(dss)
    run_cli(root, "plan", "-e", "dev", "--destroy", "--out", "destroy.json", env=env)
    saved = json.loads((root / "destroy.json").read_text())
    for change in saved["resource_changes"]:
        change.update(project_key=FOREIGN, dss_id=FOREIGN if change["type"] == "project" else change["dss_id"])
    saved["digest"] = digest_of(saved)
    (root / "destroy.json").write_text(json.dumps(saved))
    applied = run_cli(root, "apply", "-e", "dev", "destroy.json", env=env, expect=1)
    assert f"refusing to delete dataset.DEMO_PROJECT.TEST_DATA: project {FOREIGN} is not marked as managed by this state" in applied.stdout, str(applied)
    assert "Skipped (a dependency failed or the run stopped): project.DEMO_PROJECT" in applied.stdout
    assert FOREIGN in _projects(dss)


def test_import_marks_the_project_and_refuses_one_marked_by_another_state(dss: Any, tmp_path: Path) -> None:
    project = dss.client().create_project(FOREIGN, "Payroll", "admin")
    root = write_config(tmp_path / "cfg", {})
    run_cli(root, "import", "project", FOREIGN, "-e", "dev", env=cli_env(dss))
    lineage = json.loads((state_dir(root) / "state.json").read_text())["lineage"]
    assert project.get_metadata()["custom"]["kv"] == {"dataiku-iac.lineage": lineage}

    other = write_config(tmp_path / "other", {})
    refused = run_cli(other, "import", "project", FOREIGN, "-e", "dev", env=cli_env(dss), expect=1)
    assert f"project {FOREIGN} is marked as managed by another dataiku-iac state (lineage {lineage}" in refused.stderr
    assert not (state_dir(other) / "state.json").exists() and not (other / "projects" / "payroll.yml").exists()
