"""State operations through the CLI against the emulator: rollback to a recorded serial (DSS
follows, data does not), saved rollback plans, backup and restore (pull/push/restore), address
moves, and protection markers that survive the removal of their YAML."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.promotion.helpers import cli_env, run_cli, writes

# On one xdist worker: one set of dev/staging/prod emulators for the module.
pytestmark = pytest.mark.xdist_group("test_state_ops")

KEY = "OPS"


def _project(description: str = "first", *, extra: str = "", code: str = "print('v1')", protect_extra: bool = False) -> str:
    text = f"""\
project:
  key: {KEY}
  name: Ops project
  description: {description}
datasets:
  - name: raw
    type: managed
    format: csv
    description: raw {description}
  - name: clean
    type: managed
    format: parquet
recipes:
  - name: prepare
    type: python
    inputs: [raw]
    outputs: [clean]
    code: "{code}"
"""
    if extra:
        text += f"""\
  - name: more
    type: python
    inputs: [clean]
    outputs: [{extra}]
    code: "print('more')"
"""
        text = text.replace("recipes:\n", f"""\
  - name: {extra}
    type: managed
    format: csv
{'    protect: true' + chr(10) if protect_extra else ''}recipes:
""")
    return text


def _config(root: Path, project: str, env: str = "") -> Path:
    (root / "projects").mkdir(parents=True, exist_ok=True)
    (root / "environments").mkdir(exist_ok=True)
    (root / "iac.yml").write_text("version: 1\n")
    (root / "environments" / "dev.yml").write_text(env or "dss:\n  api_key_env: DKU_API_KEY\n")
    (root / "projects" / "ops.yml").write_text(project)
    return root


def _run(dss, root: Path, *args: str, expect: int = 0, **kw):
    return run_cli(root, *args, env=cli_env(dss), expect=expect, **kw)


def _dataset(dss, name: str) -> dict:
    return dss.client().get_project(KEY).get_dataset(name).get_settings().get_raw()


def _recipe_code(dss, name: str) -> str:
    return dss.client().get_project(KEY).get_recipe(name).get_settings().get_code()


@pytest.fixture
def two_serials(dss, tmp_path):
    """Serial 1: the first configuration; serial 2: description, code and a new dataset+recipe."""
    root = _config(tmp_path / "cfg", _project())
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "ops.yml").write_text(_project("second", extra="report", code="print('v2')"))
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert _dataset(dss, "raw")["description"] == "raw second"
    return root


def test_rollback_restores_the_recorded_configuration_in_dss(dss, two_serials):
    root = two_serials
    rolled = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--auto-approve")
    assert "Rollback to the configuration recorded at serial 1" in rolled.stdout
    assert "Data is not rolled back" in rolled.stdout
    assert "Apply complete! Resources: 0 added, 3 changed, 2 destroyed." in rolled.stdout, str(rolled)
    project = dss.client().get_project(KEY)
    assert _dataset(dss, "raw")["description"] == "raw first"
    assert _recipe_code(dss, "prepare") == "print('v1')"
    assert sorted(d["name"] for d in project.list_datasets()) == ["clean", "raw"]
    assert sorted(r["name"] for r in project.list_recipes()) == ["prepare"]
    # Against the configuration of serial 1, nothing is left to do.
    dss.admin.clear_requests()
    again = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--dry-run")
    assert again.last_line() == "No changes.", str(again)
    assert writes(dss) == []
    history = _run(dss, root, "state", "history", "-e", "dev")
    assert "rollback to serial 1" in history.stdout.splitlines()[-1]
    # The YAML still says serial 2's configuration: a plan rolls forward again.
    assert _run(dss, root, "plan", "-e", "dev").last_line() == "Plan: 2 to add, 3 to change, 0 to destroy."


def test_rollback_is_subject_to_the_safety_checks(dss, tmp_path):
    root = _config(tmp_path / "cfg", _project())
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "ops.yml").write_text(_project("second", extra="report", protect_extra=True))
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    dss.admin.clear_requests()
    refused = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--auto-approve", expect=1)
    assert "dataset.OPS.report is protected and would be deleted" in refused.stderr
    assert writes(dss) == []
    assert _run(dss, root, "state", "list", "-e", "dev").stdout.count("(protected)") == 1


def test_saved_rollback_plans_apply_exactly_or_are_refused_as_stale(dss, two_serials):
    root = two_serials
    saved = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--out", "rb.plan")
    assert "Saved the rollback plan to rb.plan" in saved.stdout
    body = json.loads((root / "rb.plan").read_text())
    assert body["source"]["kind"] == "rollback" and body["source"]["serial"] == 1
    wrong = _run(dss, root, "apply", "-e", "dev", "rb.plan", expect=1)
    assert "is a rollback plan: apply it with `dataiku-iac state rollback 1 -e dev --plan rb.plan`" in wrong.stderr
    _run(dss, root, "state", "rollback", "1", "-e", "dev", "--plan", "rb.plan")
    assert _recipe_code(dss, "prepare") == "print('v1')"
    stale = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--plan", "rb.plan", expect=1)
    assert "saved rollback plan is stale" in stale.stderr


def test_rollback_under_require_saved_plan_needs_a_saved_plan(dss, two_serials):
    root = two_serials
    env = root / "environments" / "dev.yml"
    env.write_text(env.read_text() + "policies:\n  require_saved_plan: true\n")
    refused = _run(dss, root, "state", "rollback", "1", "-e", "dev", "--auto-approve", expect=1)
    assert "state rollback 1 -e dev --out rollback.plan" in refused.stderr


def test_pull_push_and_restore(dss, two_serials, tmp_path):
    root = two_serials
    backup = tmp_path / "backup.json"
    backup.write_text(_run(dss, root, "state", "pull", "-e", "dev").stdout)
    pulled = json.loads(backup.read_text())
    assert pulled["serial"] == 2 and len(pulled["resources"]) == 6
    same = _run(dss, root, "state", "push", "-e", "dev", str(backup))
    assert "nothing written" in same.stdout
    # Lower serial: refused unless forced.
    older = dict(pulled, serial=1)
    (tmp_path / "older.json").write_text(json.dumps(older))
    refused = _run(dss, root, "state", "push", "-e", "dev", str(tmp_path / "older.json"), expect=1)
    assert "older than the stored serial 2" in refused.stderr
    # Another lineage: refused unless forced; forced keeps this state's lineage.
    foreign = dict(pulled, lineage="00000000-0000-4000-8000-000000000000", serial=9)
    foreign["resources"] = {a: r for a, r in pulled["resources"].items() if "report" not in a and "more" not in a}
    (tmp_path / "foreign.json").write_text(json.dumps(foreign))
    refused = _run(dss, root, "state", "push", "-e", "dev", str(tmp_path / "foreign.json"), expect=1)
    assert "is state lineage 00000000-0000-4000-8000-000000000000" in refused.stderr
    forced = _run(dss, root, "state", "push", "-e", "dev", str(tmp_path / "foreign.json"), "--force")
    assert "State written as serial 3." in forced.stdout
    now = json.loads(_run(dss, root, "state", "pull", "-e", "dev").stdout)
    assert now["lineage"] == pulled["lineage"] and len(now["resources"]) == 4
    # state.json damaged: every command names the recovery; `state restore` brings serial 3 back.
    state_file = root / ".dataiku-iac" / "state" / "dev" / "state.json"
    state_file.write_text(state_file.read_text()[:100])
    broken = _run(dss, root, "plan", "-e", "dev", expect=1)
    assert "state restore SERIAL" in broken.stderr
    restored = _run(dss, root, "state", "restore", "3", "-e", "dev")
    assert "Restored serial 3 as serial 4. DSS was not changed" in restored.stdout
    assert json.loads(_run(dss, root, "state", "pull", "-e", "dev").stdout)["serial"] == 4


def test_state_mv_follows_a_config_key_change(dss, tmp_path):
    root = _config(tmp_path / "cfg", _project(), env="dss:\n  api_key_env: DKU_API_KEY\nproject_key:\n  suffix: _DEV\n")
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    _run(dss, root, "state", "protect", "dataset.OPS.raw", "-e", "dev")
    # The config key becomes OPS_DEV and the suffix goes: the DSS project is still OPS_DEV.
    (root / "projects" / "ops.yml").write_text(_project().replace(f"key: {KEY}", "key: OPS_DEV"))
    (root / "environments" / "dev.yml").write_text("dss:\n  api_key_env: DKU_API_KEY\n")
    before = _run(dss, root, "plan", "-e", "dev", expect=1)
    # The plan refuses, and names the command that follows the rename.
    assert "is managed as project.OPS" in before.stderr, str(before)
    assert "`dataiku-iac state mv -e dev project.OPS project.OPS_DEV`" in before.stderr, str(before)
    moved = _run(dss, root, "state", "mv", "project.OPS", "project.OPS_DEV", "-e", "dev")
    assert "Moved dataset.OPS.raw to dataset.OPS_DEV.raw." in moved.stdout
    assert _run(dss, root, "plan", "-e", "dev").last_line() == "No changes."
    listed = _run(dss, root, "state", "list", "-e", "dev").stdout
    assert "dataset.OPS_DEV.raw (protected)" in listed
    renamed = _run(dss, root, "state", "mv", "dataset.OPS_DEV.raw", "dataset.OPS_DEV.raw2", "-e", "dev", expect=1)
    assert "a dataset's name is its identity in DSS" in renamed.stderr


def test_protection_survives_the_removal_of_its_yaml(dss, tmp_path):
    root = _config(tmp_path / "cfg", _project("first", extra="report", protect_extra=True))
    _run(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "ops.yml").write_text(_project("first"))  # `protect: true` and the dataset are gone
    dss.admin.clear_requests()
    refused = _run(dss, root, "plan", "-e", "dev", expect=1)
    assert "dataset.OPS.report is protected and would be deleted" in refused.stderr
    assert "dataiku-iac state protect -e dev --off dataset.OPS.report" in refused.stderr
    _run(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1)
    assert writes(dss) == []
    _run(dss, root, "state", "protect", "--off", "dataset.OPS.report", "-e", "dev")
    assert _run(dss, root, "plan", "-e", "dev").last_line() == "Plan: 0 to add, 0 to change, 2 to destroy."
