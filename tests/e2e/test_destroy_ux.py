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
