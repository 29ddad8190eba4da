"""Lifecycle (issue 10): apply, destroy and apply again, over and over, on every state backend.

Per-branch copies and test environments are created and torn down all the time: destroy leaves a
state that holds no resources, and the next apply must continue that state (one lineage, serials
without a gap), not start a new one that the stored state then refuses.
"""

from __future__ import annotations

import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.dssclient import DssConnection, DssTarget
from dataiku_iac.state import open_state

from tests.e2e.helpers import DEMO_YAML, cli_env, kill_group, request_count, state_dir, wait_for, write_config
from tests.support import run_cli, spawn_cli
from tests.support.emulator import ensure_state_folder

STATE_PROJECT = "IAC_STATE"


def _state_block(backend: str, dss: Any, request: pytest.FixtureRequest) -> tuple[dict, dict]:
    """(state spec, extra CLI environment) for `backend`."""
    if backend == "local":
        return {"backend": "local"}, {}
    if backend == "managed_folder":
        ensure_state_folder(dss, STATE_PROJECT, "iac_state")
        return {"backend": "managed_folder", "project_key": STATE_PROJECT, "folder": "iac_state"}, {}
    from tests.s3_server import BUCKET, CREDENTIALS

    server = request.getfixturevalue("s3_server")
    spec = {"backend": "s3", "bucket": BUCKET, "key_prefix": f"cycle/{uuid.uuid4().hex}", "endpoint_url": server.url}
    return spec, dict(CREDENTIALS)


def _iac_yml(spec: dict) -> str:
    lines = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return f"state:\n{lines}"


@pytest.mark.parametrize("backend", ["local", "managed_folder", "s3"])
def test_destroy_then_apply_converges_on_one_lineage(
    dss: Any, tmp_path: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, extra = _state_block(backend, dss, request)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)  # for the reader below
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, iac=_iac_yml(spec))
    env = cli_env(dss, **extra)
    for _round in range(2):
        applied = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
        assert "Resources: 2 added" in applied.stdout, str(applied)
        run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=env)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert run_cli(root, "plan", "-e", "dev", env=env).last_line().startswith("No changes."), "converged"

    connection = DssConnection(DssTarget(url=dss.url, api_key=dss.api_key))
    reader = open_state(spec, environment="dev", config_root=root, connection=connection)
    history = reader.history()
    assert [h.serial for h in history] == [1, 2, 3, 4, 5]
    assert len({h.lineage for h in history}) == 1
    assert [h.resource_count for h in history] == [2, 0, 2, 0, 2]


# -- lifecycle 7: what a Terraform user notices ----------------------------------------------
TWO = """\
project:
  key: LIFE
  name: Lifecycle
datasets:
  - name: a
    type: managed
"""
FOUR = TWO + "".join(f"  - name: {n}\n    type: managed\n" for n in ("b", "c", "d"))


def _kill_apply_at_second_dataset_create(dss: Any, root: Path) -> None:
    """SIGKILL an apply while DSS holds its second dataset create: the first create is journaled
    with its outcome, the second has only its intent (DSS still makes it after the kill)."""
    dss.admin.add_fault(method="POST", path=r"/datasets/managed$", nth=2, times=1, mode="latency", latency_ms=800)
    proc = spawn_cli(root, "apply", "-e", "dev", "--auto-approve", "--parallelism", "1", env=cli_env(dss), new_session=True)
    try:
        wait_for(lambda: dss.admin.faults()[0]["fired"] == 1 or proc.poll() is not None, what="the second create")
    finally:
        kill_group(proc, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, (root / "cli.log").read_text()
    wait_for(lambda: len(dss.admin.requests()) == request_count(dss), what="DSS to finish the held create")
    dss.admin.clear_faults()
    assert (state_dir(root) / "journal.jsonl").exists()


def test_a_plan_saved_after_a_crashed_apply_applies(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"life.yml": TWO})
    env = cli_env(dss)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    run_cli(root, "plan", "-e", "dev", "--out", "before.json", env=env)
    (root / "projects" / "life.yml").write_text(FOUR)
    run_cli(root, "plan", "-e", "dev", "--out", "before-crash.json", env=env)
    _kill_apply_at_second_dataset_create(dss, root)

    planned = run_cli(root, "plan", "-e", "dev", "--out", "after-crash.json", env=env)
    assert "an earlier apply was interrupted" in planned.stdout, str(planned)
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.stdout, str(planned)  # d; b replayed, c adopted
    # The plan made before the crash did not see what the crashed apply did: stale, and the
    # message says what to do.
    stale = run_cli(root, "apply", "-e", "dev", "before-crash.json", env=env, expect=1)
    assert "stale" in stale.stderr and "dataiku-iac plan -e dev --out" in stale.stderr, str(stale)
    # The one made after it expected exactly the reconciliation that apply records first.
    applied = run_cli(root, "apply", "-e", "dev", "after-crash.json", env=env)
    assert "Apply complete! Resources: 1 added" in applied.stdout, str(applied)
    assert run_cli(root, "plan", "-e", "dev", env=env).last_line().startswith("No changes."), "converged"
    assert sorted(d["name"] for d in dss.client().get_project("LIFE").list_datasets()) == ["a", "b", "c", "d"]


def test_state_list_shows_what_an_interrupted_first_apply_did(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"life.yml": FOUR})
    env = cli_env(dss)
    _kill_apply_at_second_dataset_create(dss, root)
    assert not (state_dir(root) / "state.json").exists(), "killed before its first state write"

    listed = run_cli(root, "state", "list", "-e", "dev", env=env)
    assert listed.stdout.splitlines() == [
        "dataset.LIFE.a (from the journal of an interrupted apply)",
        "project.LIFE (from the journal of an interrupted apply)",
    ], str(listed)
    assert "an apply was interrupted (no state written yet)" in listed.stderr, str(listed)
    assert "outcome unknown until checked in DSS: create dataset.LIFE.b" in listed.stderr, str(listed)
    assert "`dataiku-iac apply -e dev`" in listed.stderr, str(listed)
    as_json = run_cli(root, "state", "list", "-e", "dev", "--json", env=env).json()
    assert [r["address"] for r in as_json["resources"] if r["journal"]] == ["dataset.LIFE.a", "project.LIFE"]
    assert as_json["interrupted_apply"]["unknown_outcomes"] == ["create dataset.LIFE.b"]

    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    listed = run_cli(root, "state", "list", "-e", "dev", env=env)
    assert listed.stdout.splitlines() == [f"dataset.LIFE.{n}" for n in "abcd"] + ["project.LIFE"], str(listed)
    assert listed.stderr == ""


def test_drift_tells_reverts_of_the_drift_from_config_changes(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"life.yml": TWO.replace("    type: managed\n", "    type: managed\n    description: kept\n")})
    env = cli_env(dss)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    settings = dss.client().get_project("LIFE").get_dataset("a").get_settings()
    settings.get_raw()["description"] = "edited in DSS"
    settings.save()

    drift = run_cli(root, "drift", "-e", "dev", env=env, expect=2)
    assert "An apply would revert the drift above (the configuration did not change): 0 to add, 1 to change, 0 to destroy." in drift.stdout, str(drift)
    assert "Config changes not yet applied" not in drift.stdout, str(drift)
    body = run_cli(root, "drift", "-e", "dev", "--json", env=env, expect=2).json()
    assert body["pending_config_changes"] == {"add": 0, "change": 0, "destroy": 0, "forget": 0}
    assert body["pending_reverts"] == {"add": 0, "change": 1, "destroy": 0, "forget": 0}

    with (root / "projects" / "life.yml").open("a") as config:
        config.write("  - name: b\n    type: managed\n")
    drift = run_cli(root, "drift", "-e", "dev", env=env, expect=2)
    assert "revert the drift above (the configuration did not change): 0 to add, 1 to change" in drift.stdout, str(drift)
    assert "Config changes not yet applied: 1 to add, 0 to change, 0 to destroy." in drift.stdout, str(drift)
