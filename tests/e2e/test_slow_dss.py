"""A slow or hung DSS, through the CLI (acceptance points 1 and 8 at the edges).

The CLI's HTTP timeout is lowered to 1 s (DATAIKU_IAC_HTTP_TIMEOUT); the emulator holds chosen
requests longer than that:
- a create DSS carries out after the client gave up: a dataset (unique name) is retried and
  exists once; a managed folder (server-assigned id, names not unique) is not retried blindly,
  its action fails, and the next apply adopts the folder DSS made: never two folders;
- a read that hangs fails the plan cleanly (exit 1, no traceback, nothing written);
- SIGTERM (a CI job cancelled) stops an apply as cleanly as Ctrl-C;
- a refused API key or an unreachable DSS fails cleanly, never prints the key, and leaves the
  state and its lock as they were.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import (
    assert_no_changes,
    big_project_yaml,
    cli_env,
    kill_group,
    list_names,
    request_count,
    run_cli,
    spawn_cli,
    state_dir,
    wait_for,
    write_config,
    writes_since,
)

PROJECT = """\
project:
  key: SLOW
  name: Slow DSS
managed_folders:
  - name: inbox
datasets:
  - name: events
    type: managed
  - name: daily
    type: managed
    format: parquet
recipes:
  - name: roll_up
    type: python
    inputs: [events]
    outputs: [daily]
    code: "print('roll up')\\n"
  - name: file_it
    type: python
    inputs: [daily]
    outputs: [inbox]
    code: "print('file it')\\n"
"""


def _env(dss: Any) -> dict:
    return cli_env(dss, DATAIKU_IAC_HTTP_TIMEOUT="1")


def test_a_dataset_create_that_outlives_the_client_timeout_exists_once(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"slow.yml": PROJECT})
    dss.admin.add_fault(method="POST", path=r"/datasets/managed$", nth=1, times=1, mode="latency", latency_ms=2500)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss))
    assert "Apply complete!" in applied.stdout
    wait_for(lambda: len(dss.admin.requests()) == request_count(dss), what="the slow create to finish")
    slow = [e for e in dss.admin.requests() if e["method"] == "POST" and e["path"].endswith("/datasets/managed")]
    assert len(slow) == 3 and sorted(e["status"] for e in slow)[-1] >= 400, slow  # the late first create was refused
    assert list_names(dss.client(), "SLOW") == {"dataset": ["daily", "events"], "managed_folder": ["inbox"], "recipe": ["file_it", "roll_up"], "scenario": []}
    assert_no_changes(dss, root)


def test_a_folder_create_that_outlives_the_client_timeout_is_adopted_not_duplicated(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"slow.yml": PROJECT})
    dss.admin.add_fault(method="POST", path=r"/managedfolders/$", nth=1, times=1, mode="latency", latency_ms=2500)
    first = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss), expect=1)
    assert "managed_folder.SLOW.inbox: failed" in first.stdout, str(first)
    assert "recipe.SLOW.file_it" in first.stdout  # its dependent is skipped
    wait_for(lambda: len(dss.admin.requests()) == request_count(dss), what="the slow create to finish")
    assert list_names(dss.client(), "SLOW")["managed_folder"] == ["inbox"], "DSS carried out the create after all"
    assert not (state_dir(root) / "lock.json").exists()
    second = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=_env(dss))
    assert "Apply complete!" in second.stdout, str(second)
    names = list_names(dss.client(), "SLOW")
    assert names["managed_folder"] == ["inbox"], f"the folder was duplicated: {names}"
    assert names["recipe"] == ["file_it", "roll_up"]
    assert_no_changes(dss, root)


def test_a_hung_read_fails_the_plan_cleanly(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"slow.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    dss.admin.add_fault(method="GET", path=r"/projects/SLOW/datasets/$", nth=1, times=0, mode="hang", hang_seconds=30, status=504)
    before = request_count(dss)
    try:
        failed = run_cli(dss, root, "plan", "-e", "dev", env=_env(dss), expect=1)
    finally:
        dss.admin.clear_faults()  # releases the hung requests
    host, error = failed.stderr.splitlines()  # where the key went, then one clear error
    assert host == f"Using DSS at {dss.url} (key from DKU_API_KEY)", str(failed)
    assert error.startswith("Error:") and "unreachable" in error.lower(), str(failed)
    assert writes_since(dss, before) == []
    assert_no_changes(dss, root)


@pytest.mark.parametrize("sig", [signal.SIGTERM], ids=["SIGTERM"])
def test_sigterm_stops_an_apply_like_ctrl_c(dss: Any, tmp_path: Path, sig: int) -> None:
    root = write_config(tmp_path / "cfg", {"bulk.yml": big_project_yaml("BULK")})
    dss.admin.set_latency(100)
    proc = spawn_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    try:
        wait_for(lambda: request_count(dss) >= 40 or proc.poll() is not None, timeout=60, what="mid-apply")
        assert proc.poll() is None, "the apply finished before it could be stopped"
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            kill_group(proc)
            proc.wait()
    output = (root / "cli.log").read_text()
    assert proc.returncode == 1 and "interrupted" in output.lower() and "Traceback" not in output, output
    assert not (state_dir(root) / "lock.json").exists() and not (state_dir(root) / "journal.jsonl").exists()
    dss.admin.set_latency(0)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert_no_changes(dss, root)


def test_a_refused_key_or_an_unreachable_dss_fails_cleanly(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"slow.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    serial = (state_dir(root) / "state.json").read_bytes()
    wrong_key = cli_env(dss, DKU_API_KEY="not-a-key")
    for args in (("plan", "-e", "dev"), ("apply", "-e", "dev", "--auto-approve"), ("drift", "-e", "dev")):
        refused = run_cli(dss, root, *args, env=wrong_key, expect=1)
        host, error = refused.stderr.splitlines()
        assert host == f"Using DSS at {dss.url} (key from DKU_API_KEY)", str(refused)
        assert error.startswith("Error:") and "Unknown API Key" in error, str(refused)
        assert "not-a-key" not in refused.output, "the API key was printed"
    nowhere = cli_env(dss, DKU_DSS_URL="http://127.0.0.1:9")
    failed = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=nowhere, expect=1)
    assert failed.stderr.splitlines()[0] == "Using DSS at http://127.0.0.1:9 (key from DKU_API_KEY)", str(failed)
    assert failed.stderr.splitlines()[1].startswith("Error: DSS unreachable"), str(failed)
    assert (state_dir(root) / "state.json").read_bytes() == serial, "a failed run changed the state"
    assert not (state_dir(root) / "lock.json").exists()
    assert_no_changes(dss, root)
