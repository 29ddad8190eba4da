"""`--lock-timeout` on the CLI: an apply started while another run holds the state lock waits,
says so, and runs once the lock is free; with a short timeout it fails naming the holder.
Usage errors exit 1, never 2 (2 means "changes present" to a pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataiku_iac.state import open_state

from tests.e2e.helpers import run_cli, spawn_cli, state_dir, wait_for, write_config

PROJECT = "project:\n  key: WAITS\n  name: Waits\nmanaged_folders:\n  - name: drop\n"


def _hold_lock(root: Path) -> Any:
    writer = open_state({"backend": "local"}, environment="dev", config_root=root)
    return writer, writer.lock("apply (another pipeline)")


def test_apply_waits_for_the_lock_then_runs(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"waits.yml": PROJECT})
    writer, held = _hold_lock(root)
    log = tmp_path / "apply.log"
    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--lock-timeout", "2m", log=log)
    try:
        wait_for(lambda: "Waiting up to 2 min for the lock" in log.read_text(), timeout=60, what="the wait message")
        assert held.id in log.read_text(), "the wait names the holder's lock ID"
        assert proc.poll() is None, "it must wait, not fail"
    finally:
        writer.unlock(held.id)
    assert proc.wait(120) == 0, log.read_text()
    assert "Apply complete" in log.read_text()
    assert "WAITS" in {p["projectKey"] for p in dss.client().list_projects()}
    assert not (state_dir(root) / "lock.json").exists()


def test_apply_gives_up_after_the_timeout_and_changes_nothing(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"waits.yml": PROJECT})
    writer, held = _hold_lock(root)
    try:
        result = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--lock-timeout", "1s", expect=1)
    finally:
        writer.unlock(held.id)
    assert f"lock ID {held.id}" in result.stderr and "still held after waiting 1 s" in result.stderr, str(result)
    assert "WAITS" not in {p["projectKey"] for p in dss.client().list_projects()}


def test_the_timeout_comes_from_the_environment_too(dss: Any, tmp_path: Path) -> None:
    from tests.e2e.helpers import cli_env

    root = write_config(tmp_path / "cfg", {"waits.yml": PROJECT})
    writer, held = _hold_lock(root)
    try:
        env = cli_env(dss, DATAIKU_IAC_LOCK_TIMEOUT="500ms")
        result = run_cli(dss, root, "state", "rm", "-e", "dev", "project.WAITS", env=env, expect=1)
    finally:
        writer.unlock(held.id)
    assert "still held after waiting 0.5 s" in result.stderr, str(result)


def test_usage_errors_exit_1_not_the_changes_code(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"waits.yml": PROJECT})
    bad = run_cli(dss, root, "apply", "-e", "dev", "--lock-timeout", "soon", expect=1)
    assert "Invalid value for '--lock-timeout'" in bad.stderr and "examples: 30s, 5m, 1h" in bad.stderr
    unknown = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", "--bogus", expect=1)
    assert "No such option '--bogus'" in unknown.stderr
