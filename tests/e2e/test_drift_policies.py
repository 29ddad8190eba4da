"""Drift policies (issue 15, item 5): `policies.drift: fail | alert | revert` per environment and
`drift_resources` per resource; `drift --revert` re-applies the configuration through the apply
pipeline (the state lock, a serial "revert drift") and really puts DSS's values back; a revert
that would delete or replace more objects than `drift_revert_max_deletions`, or apply a
configuration change nobody reviewed, is refused and fails the check instead."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dataiku_iac.state import open_state

from tests.e2e.helpers import run_cli, write_config

KEY = "POLICED"
PROJECT = f"""\
project:
  key: {KEY}
  name: Policed
  description: kept as written
datasets:
  - name: orders
    type: managed
    format: csv
    description: raw orders
  - name: scratch
    type: managed
    format: csv
    description: scratch data
"""


def _applied(dss: Any, tmp_path: Path, policies: str) -> Path:
    env = f"dss:\n  api_key_env: DKU_API_KEY\npolicies:\n{policies}"
    root = write_config(tmp_path / "cfg", {"policed.yml": PROJECT}, env=env)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    return root


def _describe(dss: Any, dataset: str, text: str) -> None:
    settings = dss.client().get_project(KEY).get_dataset(dataset).get_settings()
    settings.get_raw()["description"] = text
    settings.save()


def _description(dss: Any, dataset: str) -> str:
    return str(dss.client().get_project(KEY).get_dataset(dataset).get_settings().get_raw().get("description"))


def _drift(dss: Any, root: Path, *args: str, expect: int) -> dict:
    return run_cli(dss, root, "drift", "-e", "dev", "--json", *args, expect=expect).json()


def test_alert_reports_and_exits_0(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, "  drift: alert\n")
    _describe(dss, "orders", "edited in the UI")
    body = _drift(dss, root, expect=0)
    assert [(r["address"], r["on_drift"]) for r in body["resources"]] == [(f"dataset.{KEY}.orders", "alert")]
    text = run_cli(dss, root, "drift", "-e", "dev", expect=0).stdout
    assert "Warning: drift is reported, not failed (policies.drift in environments/dev.yml: alert); exit code 0." in text


def test_per_resource_policies_the_strictest_match_wins(dss: Any, tmp_path: Path) -> None:
    policies = f'  drift: alert\n  drift_resources:\n    "dataset.{KEY}.*": alert\n    "dataset.{KEY}.orders": fail\n'
    root = _applied(dss, tmp_path, policies)
    _describe(dss, "scratch", "edited in the UI")
    assert _drift(dss, root, expect=0)["resources"][0]["on_drift"] == "alert"
    _describe(dss, "orders", "edited too")
    body = _drift(dss, root, expect=2)
    assert {r["address"]: r["on_drift"] for r in body["resources"]} == {
        f"dataset.{KEY}.orders": "fail", f"dataset.{KEY}.scratch": "alert"}


def test_revert_restores_the_dss_value_through_the_pipeline(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, "  drift: revert\n")
    _describe(dss, "orders", "edited in the UI")
    dss.client().get_project(KEY).get_dataset("scratch").delete()

    waiting = run_cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert "2 drifted resource(s) have the drift policy revert: `dataiku-iac drift -e dev --revert` reverts them." in waiting
    assert _description(dss, "orders") == "edited in the UI"  # drift alone never writes

    writer = open_state({"backend": "local", "path": ".dataiku-iac/state"}, environment="dev", config_root=root)
    held = writer.lock("someone else's apply", ttl_seconds=600)
    locked = _drift(dss, root, "--revert", expect=2)  # a revert takes the state lock, as an apply does
    assert "someone else's apply" in locked["revert_refused"] and locked["reverted"] == [], locked
    assert _description(dss, "orders") == "edited in the UI"
    writer.unlock(held.id)

    body = _drift(dss, root, "--revert", expect=0)
    assert body["reverted"] == [f"dataset.{KEY}.orders", f"dataset.{KEY}.scratch"] and body["revert_refused"] is None
    # what an apply would still revert: nothing (the counts were taken before the revert)
    assert body["pending_reverts"] == {"add": 0, "change": 0, "destroy": 0, "forget": 0}, body
    assert _description(dss, "orders") == "raw orders"
    assert _description(dss, "scratch") == "scratch data"  # re-created
    assert run_cli(dss, root, "drift", "-e", "dev").stdout.startswith("No drift.")


def test_a_revert_beyond_the_deletion_limit_is_refused_and_fails(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, "  drift: revert\n")
    settings = dss.client().get_project(KEY).get_dataset("orders").get_settings()
    settings.get_raw()["params"]["connection"] = "filesystem_folders"  # the connection forces a replacement
    settings.save()
    body = _drift(dss, root, "--revert", expect=2)
    assert body["reverted"] == []
    assert body["revert_refused"].startswith(
        f"the revert would delete or replace 1 DSS object(s) (dataset.{KEY}.orders), more than "
        "policies.drift_revert_max_deletions (not set in iac.yml nor in the file of environment 'dev': the default) "
        "allows (0)"), body["revert_refused"]
    raw = dss.client().get_project(KEY).get_dataset("orders").get_settings().get_raw()
    assert raw["params"]["connection"] == "filesystem_folders"  # nothing was done
    text = run_cli(dss, root, "drift", "-e", "dev", "--revert", expect=2).stdout
    assert "Revert refused: the revert would delete or replace 1 DSS object(s)" in text


def test_a_revert_never_applies_configuration_changes(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, "  drift: revert\n")
    _describe(dss, "orders", "edited in the UI")
    project_file = root / "projects" / "policed.yml"
    project_file.write_text(project_file.read_text().replace("description: raw orders", "description: reviewed later"))
    body = _drift(dss, root, "--revert", expect=2)
    assert body["revert_refused"].startswith(
        f"the revert would also apply configuration changes not yet applied (dataset.{KEY}.orders)"), body
    assert _description(dss, "orders") == "edited in the UI"
    assert json.loads(run_cli(dss, root, "state", "history", "-e", "dev", "--json").stdout)[0]["serial"] == 1


def test_every_failing_exit_says_why(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, f'  drift: fail\n  drift_resources:\n    "dataset.{KEY}.hand*": revert\n')
    _describe(dss, "orders", "edited in the UI")
    failed = run_cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert (f"Drift fails: dataset.{KEY}.orders drifted, and their drift policy is fail (policies.drift in "
            "environments/dev.yml or its drift_resources).") in failed, failed
    assert failed.rstrip().endswith("Exit code 2.")
    as_json = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2)
    assert json.loads(as_json.stdout)["resources"] and "Drift fails: " in as_json.stderr  # the JSON stays whole

    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dss.client().get_project(KEY).create_dataset("handmade", "Inline", params={}, formatType="csv")
    unmanaged = run_cli(dss, root, "drift", "-e", "dev", "--revert", expect=2).stdout
    assert (f"Drift fails: dataset.{KEY}.handmade are not managed by dataiku-iac and their drift policy is revert, "
            "but a revert never deletes what the state does not own") in unmanaged, unmanaged
    assert "--revert: no drifted resource has the drift policy revert (nor one an apply can undo): nothing was " \
           "reverted." in unmanaged
    _assert_documented(_drift(dss, root, expect=2))


def _assert_documented(body: dict) -> None:
    """Every key of the JSON is one docs/cli-reference.md's `drift --json` describes."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli-reference.md").read_text()
    described = doc.split("`drift --json` gives `", 1)[1].split("`;", 1)[0]
    words = set(re.findall(r"[a-z_]+", described))
    keys = set(body) | {k for r in body["resources"] for k in r} | {k for r in body["resources"] for f in r["fields"] for k in f}
    assert {"policy", "on_drift", "reverted", "revert_refused"} <= keys and keys <= words, keys - words


def test_after_a_revert_nothing_is_announced_as_left_to_revert(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path, "  drift: revert\n")
    _describe(dss, "orders", "edited in the UI")
    text = run_cli(dss, root, "drift", "-e", "dev", "--revert").stdout
    assert f"Reverted (drift policy revert): dataset.{KEY}.orders." in text
    assert "An apply would revert" not in text and "Nothing is left to revert: DSS matches what was last applied." in text


def test_a_drift_resources_glob_matching_no_resource_is_a_located_warning(dss: Any, tmp_path: Path) -> None:
    policies = f'  drift: alert\n  drift_resources:\n    "dataset.{KEY}.*": fail\n    "dataset.POLICDE.*": revert\n'
    env = f"dss:\n  api_key_env: DKU_API_KEY\npolicies:\n{policies}"
    root = write_config(tmp_path / "cfg", {"policed.yml": PROJECT}, env=env)
    result = run_cli(dss, root, "validate", "-e", "dev", "--offline")
    assert ('environments/dev.yml:7:5: warning: policies.drift_resources["dataset.POLICDE.*"]: '
            "'dataset.POLICDE.*' matches no resource of the configuration") in result.stderr, result.stderr
    assert f"did you mean 'dataset.{KEY}.*'?" in result.stderr
    assert f"'dataset.{KEY}.*' matches" not in result.stderr
