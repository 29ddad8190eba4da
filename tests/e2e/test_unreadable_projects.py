"""A project the state holds but the key's user may not read is a permission error, never "to add"
nor "deleted".

DSS lists only the projects a user may read and answers "Failed to read project permissions" for
any other, existing or not (tests/emulator/test_emu_auth.py). So when the state holds a project
the list does not show, the tool asks who the key's user is: an administrator sees every project
(the project is gone: planned for creation, reported deleted); anyone else gets an error naming
the project and the user. The normal path (every recorded project listed) costs no extra request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import cli_env, run_cli, write_config, writes_since

PROJECT = """\
project:
  key: {key}
  name: Project {key}
datasets:
  - {{name: raw, type: managed, format: csv}}
"""
BOB = "bob-key"


@pytest.fixture
def applied(dss: Any, tmp_path: Path) -> Path:
    """Two projects applied by the admin; bob (no admin, group readers) may read only OPEN."""
    dss.admin.seed(api_keys=[{"key": BOB, "login": "bob", "groups": ["readers"]}])
    root = write_config(
        tmp_path / "cfg", {"open.yml": PROJECT.format(key="OPEN"), "hidden.yml": PROJECT.format(key="HIDDEN")}
    )
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("OPEN")
    permissions = project.get_permissions()
    permissions["permissions"].append({"user": "bob", "readProjectContent": True})
    project.set_permissions(permissions)
    return root


def _auth_info_requests(dss: Any, since: int) -> int:
    return sum(1 for e in dss.admin.requests(since) if e["path"] == "/auth/info")


@pytest.mark.parametrize("command", [["plan"], ["drift"], ["apply", "--auto-approve"], ["plan", "--json"], ["destroy", "--auto-approve"]])
def test_an_unreadable_project_is_a_permission_error(dss: Any, applied: Path, command: list) -> None:
    before = dss.admin.stats()["requests"]
    result = run_cli(dss, applied, command[0], "-e", "dev", *command[1:], expect=1, env=cli_env(dss, DKU_API_KEY=BOB))
    text = result.output
    assert "the state holds project HIDDEN, but DSS does not show it to 'bob', the user of this API key" in text, text
    if "--json" in command:
        assert result.json()["error"]["kind"] == "UnreadableProjects", text  # a DssPermissionError
    else:
        assert "\nError: the state holds project HIDDEN" in "\n" + text, text
    for wrong in ("Plan:", "to add", "will be created", '"deleted"', "complete!"):
        assert wrong not in text, text
    assert writes_since(dss, before) == []
    assert "HIDDEN" in dss.client().list_project_keys()


def test_the_normal_path_asks_nothing_more(dss: Any, applied: Path) -> None:
    """Every recorded project listed: no question about the user, for the admin or for bob once he
    may read both projects."""
    seq = dss.admin.requests()[-1]["seq"]
    run_cli(dss, applied, "plan", "-e", "dev")
    assert _auth_info_requests(dss, seq) == 0

    project = dss.client().get_project("HIDDEN")
    permissions = project.get_permissions()
    permissions["permissions"].append({"user": "bob", "readProjectContent": True})
    project.set_permissions(permissions)
    seq = dss.admin.requests()[-1]["seq"]
    plan = run_cli(dss, applied, "plan", "-e", "dev", env=cli_env(dss, DKU_API_KEY=BOB))
    assert plan.last_line().startswith("No changes."), str(plan)
    assert _auth_info_requests(dss, seq) == 0


def test_for_an_administrator_a_missing_project_is_gone(dss: Any, applied: Path) -> None:
    dss.client().get_project("HIDDEN").delete()
    seq = dss.admin.requests()[-1]["seq"]
    drift = run_cli(dss, applied, "drift", "-e", "dev", "--json", expect=2).json()
    assert ("project.HIDDEN", "deleted") in [(r["address"], r["kind"]) for r in drift["resources"]], drift
    assert _auth_info_requests(dss, seq) == 1  # only because a recorded project was missing
    plan = run_cli(dss, applied, "plan", "-e", "dev")
    assert "project.HIDDEN will be created" in plan.output, str(plan)


def test_a_state_project_the_user_cannot_read_is_said_once_with_the_user_and_the_permission(dss: Any, tmp_path: Path) -> None:
    from tests.support.emulator import ensure_state_folder

    dss.admin.seed(api_keys=[{"key": BOB, "login": "bob", "groups": ["readers"]}])
    ensure_state_folder(dss, "OPS", "iac_state")
    iac = "state:\n  backend: managed_folder\n  project_key: OPS\n  folder: iac_state\n"
    root = write_config(tmp_path / "cfg", {"open.yml": PROJECT.format(key="OPEN")}, iac=iac)
    for command in (["plan"], ["state", "list"]):
        result = run_cli(dss, root, *command, "-e", "dev", expect=1, env=cli_env(dss, DKU_API_KEY=BOB))
        text = result.stderr
        assert text.count("project OPS") == 1, text
        assert "'bob', the user of this API key," in text and "'Read project content'" in text, text


def test_a_key_that_is_not_an_administrator_is_told_a_project_create_may_be_refused(dss: Any, tmp_path: Path) -> None:
    dss.admin.seed(api_keys=[{"key": BOB, "login": "bob", "groups": ["readers"]}])
    root = write_config(tmp_path / "cfg", {"new.yml": PROJECT.format(key="NEWONE")})
    as_bob = run_cli(dss, root, "plan", "-e", "dev", env=cli_env(dss, DKU_API_KEY=BOB))
    assert "Note: this plan creates project NEWONE: creating a project needs a DSS administrator" in as_bob.stdout, str(as_bob)
    assert "'bob', the user of this API key, is not an administrator" in as_bob.stdout
    as_admin = run_cli(dss, root, "plan", "-e", "dev")
    assert "creating a project needs" not in as_admin.output, str(as_admin)


def test_a_missing_state_project_is_said_to_be_missing_first(dss: Any, tmp_path: Path) -> None:
    """An administrator's first run before the state's project exists: the message leads with that."""
    iac = "state:\n  backend: managed_folder\n  project_key: NOSTATE\n  folder: iac_state\n"
    root = write_config(tmp_path / "cfg", {"open.yml": PROJECT.format(key="OPEN")}, iac=iac)
    text = run_cli(dss, root, "plan", "-e", "dev", expect=1).stderr
    assert "project NOSTATE, which holds the state of this environment (managed folder 'iac_state', path /dev), " \
           "does not exist or 'admin', the user of this API key, may not read it: create the project" in text, text
