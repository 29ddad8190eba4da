"""The CLI runs of the test suites are forked from a server that imported the CLI once
(tests/support/cli_forkserver.py). These tests hold it to the installed `dataiku-iac` script:
same output, exit codes and effects on DSS, a new process per run (nothing carried over from one
run to the next), timeouts that kill the run. They are also the suite's runs of the real entry
point, started from the shell's way (`subprocess`), like `spawn_cli`'s kill tests."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import DEMO_YAML, cli_env, list_names, write_config
from tests.support import run_cli
from tests.support.cli_forkserver import receive_message, send_message

BOTH = ("subprocess", "forkserver")


def _both(root: Path, *args: str, env: dict, **kwargs: Any) -> dict[str, Any]:
    return {via: run_cli(root, *args, env=env, via=via, expect=None, forbid=(), **kwargs) for via in BOTH}


def _same(results: dict[str, Any]) -> Any:
    real, forked = results["subprocess"], results["forkserver"]
    assert (forked.returncode, forked.stdout, forked.stderr) == (real.returncode, real.stdout, real.stderr), f"{real}\n{forked}"
    return real


def test_help_and_a_usage_error_are_those_of_the_installed_script(dss: Any, tmp_path: Path) -> None:
    env = cli_env(dss)
    assert _same(_both(tmp_path, "--help", env=env)).returncode == 0
    usage = _same(_both(tmp_path, "plan", "--no-such-option", env=env))
    assert usage.returncode == 1 and "Usage: dataiku-iac" in usage.stderr


def test_validate_plan_and_apply_match_the_installed_script(dss: Any, tmp_path: Path) -> None:
    env = cli_env(dss)
    roots = {via: write_config(tmp_path / via, {"demo.yml": DEMO_YAML}) for via in BOTH}
    for args in (("validate", "-e", "dev", "--offline"), ("validate", "-e", "dev"), ("plan", "-e", "dev")):
        real = run_cli(roots["subprocess"], *args, env=env, via="subprocess")
        forked = run_cli(roots["forkserver"], *args, env=env, via="forkserver")
        assert (forked.stdout, forked.stderr) == (real.stdout, real.stderr)
    # What a forked apply did, the installed script sees: the state and DSS agree.
    applied = run_cli(roots["forkserver"], "apply", "-e", "dev", "--auto-approve", env=env, via="forkserver")
    assert "Apply complete" in applied.stdout, str(applied)
    assert "TEST_DATA" in list_names(dss.client(), "DEMO_PROJECT")["dataset"]
    after = run_cli(roots["forkserver"], "plan", "-e", "dev", "--detailed-exitcode", env=env, via="subprocess")
    assert after.last_line().startswith("No changes."), str(after)


def test_each_run_gets_its_own_environment_and_directory(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    wrong = run_cli(root, "plan", "-e", "dev", env=cli_env(dss, DKU_API_KEY="not-a-key"), expect=1)
    assert "DKU_API_KEY" in wrong.output
    right = run_cli(root, "plan", "-e", "dev", env=cli_env(dss))  # the bad key did not stay behind
    assert right.last_line().startswith("Plan: 2 to add")
    # A run reads its own directory (-C) and its working directory is the root, as with subprocess.
    elsewhere = write_config(tmp_path / "other", {"other.yml": "project:\n  key: OTHER\n  name: Other\n"})
    other = run_cli(elsewhere, "plan", "-e", "dev", env=cli_env(dss))
    assert other.last_line() == "Plan: 1 to add, 0 to change, 0 to destroy." and "project.OTHER" in other.stdout
    # An environment variable unset by the caller is unset in the run (not the server's value).
    env = cli_env(dss)
    del env["DKU_API_KEY"]
    assert run_cli(root, "plan", "-e", "dev", env=env, expect=1).returncode == 1


def test_stdin_reaches_the_run(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    env = cli_env(dss)
    results = _both(root, "state", "push", "-", "-e", "dev", env=env, stdin="this is not a state document\n")
    refused = _same(results)
    assert refused.returncode == 1 and refused.stderr, str(refused)


def test_a_run_past_its_timeout_is_killed(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    dss.admin.set_latency(5000)
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        run_cli(root, "plan", "-e", "dev", env=cli_env(dss), timeout=1, via="forkserver")
    with pytest.raises(ProcessLookupError):  # killed and reaped before run_cli returned
        os.kill(expired.value.pid, 0)  # type: ignore[attr-defined]


def test_a_run_that_changes_what_python_reads_at_start_up_gets_a_new_interpreter(dss: Any, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.stderr.write('started afresh\\n')\n", encoding="utf-8")
    env = cli_env(dss, PYTHONPATH=str(site))
    assert "started afresh" in run_cli(tmp_path, "--help", env=env).stderr
    assert "started afresh" not in run_cli(tmp_path, "--help", env=cli_env(dss)).stderr


@pytest.mark.parametrize("via", BOTH)
def test_the_runner_can_be_chosen_by_the_environment(via: str, dss: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAIKU_IAC_TEST_CLI", via)
    assert run_cli(tmp_path, "--help", env=cli_env(dss)).returncode == 0
    monkeypatch.setenv("DATAIKU_IAC_TEST_CLI", "nonsense")
    with pytest.raises(ValueError, match="forkserver or subprocess"):
        run_cli(tmp_path, "--help", env=cli_env(dss))
    assert os.environ["DATAIKU_IAC_TEST_CLI"] == "nonsense"


def test_a_pid_and_a_status_sent_back_to_back_are_both_received() -> None:
    """A fast run (a config refused at once, on a loaded machine): the supervisor has sent both
    messages and closed before the client reads; a read past the first swallowed the second."""
    sender, receiver = socket.socketpair()
    with receiver:
        with sender:
            send_message(sender, {"pid": 7})
            send_message(sender, {"returncode": 1, "cpu_seconds": 0.1})
        assert receive_message(receiver)[0] == {"pid": 7}
        assert receive_message(receiver)[0] == {"returncode": 1, "cpu_seconds": 0.1}
        with pytest.raises(EOFError):
            receive_message(receiver)
