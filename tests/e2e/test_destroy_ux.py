"""Destroy as a new user meets it (issue 10 follow-ups): it needs no project file, and a plan
with none says that deleting what the state holds is `destroy`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import DEMO_YAML, run_cli, write_config


def _applied_then_emptied(dss: Any, tmp_path: Path) -> Path:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "demo.yml").unlink()
    return root


def test_destroy_needs_no_project_file(dss: Any, tmp_path: Path) -> None:
    root = _applied_then_emptied(dss, tmp_path)
    planned = run_cli(dss, root, "plan", "-e", "dev", "--destroy", "--detailed-exitcode", expect=2)
    assert "2 to destroy" in planned.last_line(), str(planned)
    targeted = run_cli(dss, root, "plan", "-e", "dev", "--destroy", "--target", "dataset.DEMO_PROJECT.TEST_DATA")
    assert "1 to destroy" in targeted.last_line(), str(targeted)
    destroyed = run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    assert "Destroy complete! Resources: 2 destroyed." in destroyed.stdout, str(destroyed)
    assert "DEMO_PROJECT" not in dss.client().list_project_keys()


def test_a_plan_without_project_files_suggests_destroy_while_the_state_holds_resources(dss: Any, tmp_path: Path) -> None:
    root = _applied_then_emptied(dss, tmp_path)
    for command in (("plan",), ("apply", "--auto-approve")):
        refused = run_cli(dss, root, *command, "-e", "dev", expect=1)
        assert "no project files found under projects/" in refused.output, str(refused)
        assert "still holds 2 resources" in refused.output and "dataiku-iac destroy -e dev" in refused.output, str(refused)
    assert "DEMO_PROJECT" in dss.client().list_project_keys(), "nothing was deleted"
    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    empty = run_cli(dss, root, "plan", "-e", "dev", expect=1)
    assert "no project files found under projects/" in empty.output and "destroy" not in empty.output, str(empty)


def _on_a_terminal(dss: Any, root: Path, *args: str, answer: str) -> str:
    """Run the CLI with a terminal as its standard input (the interactive confirmation) and
    `answer` typed on it; returns its standard output."""
    import os
    import pty
    import subprocess

    from tests.support import CLI, cli_env

    leader, follower = pty.openpty()
    try:
        done = subprocess.Popen([CLI, "--no-color", "-C", str(root), *args], stdin=follower, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=cli_env(dss), text=True)
        os.write(leader, answer.encode() + b"\n")
        out, _ = done.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 1, out
    return out


def test_destroy_speaks_of_destroy(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    unattended = run_cli(dss, root, "destroy", "-e", "dev", expect=1)
    assert "destroy needs --auto-approve when not run interactively" in unattended.stderr, str(unattended)
    assert "plan -e dev --destroy" in unattended.stderr
    cancelled = _on_a_terminal(dss, root, "destroy", "-e", "dev", answer="no")
    assert "Destroy cancelled." in cancelled and "Apply cancelled." not in cancelled, cancelled
    assert "(destroy requested)" in cancelled and "(removed from config)" not in cancelled
    assert "DEMO_PROJECT" in dss.client().list_project_keys()

    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    history = run_cli(dss, root, "state", "history", "-e", "dev", "--json").json()
    assert [h["operation"] for h in history][-1] == "destroy", history
    again = run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    assert again.last_line() == "No changes. No objects need to be destroyed.", str(again)
