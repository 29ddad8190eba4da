"""Inside DSS, `{secret_env: NAME}` reads the calling user's DSS user secret NAME, never the
process environment of the code DSS runs (issue 10, security 1).

The attack: a configuration in a project library says `leak: {secret_env: DKU_API_KEY}` (or
names any variable the DSS-side process holds) and a plan or apply through the plugin writes
that value into a project the author can read. These tests run the macros and the
apply-from-git step in an emulator whose process environment holds such values (the macro
processes inherit it, as plugin code inherits DSS's), and check that none of them reaches
DSS, a plan, the state or any output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dataiku_iac.dss.html import extract_plan_json
from dss_emulator.pytest_plugin import _extra_args, start_subprocess, stop_subprocess
from plugin_helpers import (
    ADMIN_USER_KEY,
    ALICE_KEY,
    STATE_FOLDER,
    STATE_PROJECT,
    git_repo,
    make_state_project,
    run_macro,
    seed_users,
    upload_library,
)

OPS = "OPS"
TARGET = "PLUG_SECRETS"
PROCESS_SECRET = "process-env-secret-must-not-leak-4f1c"  # what the DSS-side process holds
OPS_SECRET = "ops-own-user-secret-value-81d2"
ALICE_SECRET = "alice-own-user-secret-value-c7a9"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}


def config(variables: str) -> dict:
    return {
        "iac.yml": f"version: 1\nstate:\n  backend: managed_folder\n  project_key: {STATE_PROJECT}\n  folder: {STATE_FOLDER}\n",
        "environments/dev.yml": "variables: {}\n",
        "projects/secrets.yml": f"project:\n  key: {TARGET}\n  name: Secrets\n  variables:\n    local:\n{variables}",
    }


USES_X = config("      x: {secret_env: IAC_SECRET_X}\n")
USES_DKU_API_KEY = config("      leak: {secret_env: DKU_API_KEY}\n")
USES_NOTHING = config("      plain: value\n")


@pytest.fixture(scope="module")
def leaky_emulator(request, tmp_path_factory):
    """An emulator whose process environment (and so every macro's and step's) holds a value
    under the name the configuration asks for."""
    saved = dict(os.environ)
    os.environ["IAC_SECRET_X"] = PROCESS_SECRET
    try:
        handle = start_subprocess(
            tmp_path_factory.mktemp("leaky") / "data", extra_args=_extra_args(Path(str(request.config.rootpath)))
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        yield handle
    finally:
        stop_subprocess(handle)


@pytest.fixture
def leaky(leaky_emulator):
    leaky_emulator.reset_all()
    seed_users(leaky_emulator)
    make_state_project(leaky_emulator.client())
    return leaky_emulator


def set_user_secret(client, login: str, name: str, value: str) -> None:
    """What a user does in Profile > My account > Other credentials (here by an admin, by API)."""
    settings = client.get_user(login).get_settings()
    settings.add_secret(name, value)
    settings.save()


def everything_dss_holds(client) -> str:
    """Every project's variables and every file of the state folder, as one text."""
    parts = []
    for key in client.list_project_keys():
        parts.append(repr(client.get_project(key).get_variables()))
    state = client.get_project(STATE_PROJECT)
    for folder in state.list_managed_folders():
        handle = state.get_managed_folder(folder["id"])
        for item in handle.list_contents()["items"]:
            parts.append(handle.get_file(item["path"]).content.decode("utf-8", "replace"))
    return "\n".join(parts)


def macro_error(client, macro: str, params: dict) -> str:
    with pytest.raises(Exception) as info:
        run_macro(client, OPS, macro, params)
    return str(info.value)


def test_plan_and_apply_macros_read_the_callers_user_secret_never_the_process_env(leaky):
    admin, ops, alice = leaky.client(), leaky.client_for(ADMIN_USER_KEY), leaky.client_for(ALICE_KEY)
    upload_library(admin, OPS, "iac", USES_X)
    perms = admin.get_project(OPS).get_permissions()
    perms["permissions"] = [{"group": "data_team", "readProjectContent": True}]  # alice may run the plan macro
    admin.get_project(OPS).set_permissions(perms)

    # Nobody has the user secret yet: the plan fails and says where to set it, even for a DSS
    # admin, though the macro's process holds IAC_SECRET_X.
    for client in (ops, alice):
        message = macro_error(client, "plan", LIBRARY)
        assert "DSS user secret 'IAC_SECRET_X'" in message and "Other credentials" in message
        assert PROCESS_SECRET not in message
    assert TARGET not in admin.list_project_keys()

    set_user_secret(admin, "ops", "IAC_SECRET_X", OPS_SECRET)
    reviewed = run_macro(ops, OPS, "plan", LIBRARY)
    assert PROCESS_SECRET not in reviewed and OPS_SECRET not in reviewed
    applied = run_macro(ops, OPS, "apply", {**LIBRARY, "dry_run": False, "plan_json": extract_plan_json(reviewed)})
    assert PROCESS_SECRET not in applied and OPS_SECRET not in applied
    assert admin.get_project(TARGET).get_variables()["local"] == {"x": OPS_SECRET}

    # Each caller's own value: alice's differs from what ops applied, so her plan changes it.
    set_user_secret(admin, "alice", "IAC_SECRET_X", ALICE_SECRET)
    target = admin.get_project(TARGET)
    perms = target.get_permissions()
    perms["permissions"] = [{"user": "alice", "readProjectContent": True}]
    target.set_permissions(perms)
    for client, changes in ((ops, 0), (alice, 1)):
        summary = extract_plan_json(run_macro(client, OPS, "plan", LIBRARY))["summary"]
        assert (summary["add"], summary["change"], summary["destroy"]) == (0, changes, 0)

    held = everything_dss_holds(admin)
    assert PROCESS_SECRET not in held and OPS_SECRET in held  # the variable, not the state
    assert OPS_SECRET not in held.replace(repr({"x": OPS_SECRET}), "")


def test_rollback_macro_reads_the_administrators_user_secret(leaky):
    """Rolling back to a serial that recorded a secret variable writes it from the user secret of
    the administrator running the state macro, as a plan does."""
    from dataiku_iac.dss import service
    from dataiku_iac.planner.plan import Plan

    admin, ops = leaky.client(), leaky.client_for(ADMIN_USER_KEY)
    set_user_secret(admin, "ops", "IAC_SECRET_X", OPS_SECRET)
    for files in (USES_X, USES_NOTHING):
        upload_library(admin, OPS, "iac", files)
        reviewed = extract_plan_json(run_macro(ops, OPS, "plan", LIBRARY))
        run_macro(ops, OPS, "apply", {**LIBRARY, "dry_run": False, "plan_json": reviewed})
    assert admin.get_project(TARGET).get_variables()["local"] == {"plain": "value"}

    params = {**LIBRARY, "state_action": "rollback", "serial": 1}
    review = run_macro(ops, OPS, "state", params)
    token = service.plan_token(Plan.from_json(extract_plan_json(review)))
    done = run_macro(ops, OPS, "state", {**params, "rollback_token": token})
    assert "Apply complete" in done and PROCESS_SECRET not in review + done and OPS_SECRET not in review + done
    assert admin.get_project(TARGET).get_variables()["local"] == {"x": OPS_SECRET}
    assert PROCESS_SECRET not in everything_dss_holds(admin)


def test_dku_api_key_of_the_macro_process_is_never_a_secret_value(leaky):
    """The macro's own API key/ticket (DKU_API_KEY in its environment) is not the user's secret."""
    admin, ops = leaky.client(), leaky.client_for(ADMIN_USER_KEY)
    upload_library(admin, OPS, "iac", USES_DKU_API_KEY)
    message = macro_error(ops, "plan", LIBRARY)
    assert "DKU_API_KEY" in message and "ticket-" not in message
    with pytest.raises(Exception, match="DKU_API_KEY"):
        run_macro(ops, OPS, "apply", {**LIBRARY, "dry_run": False, "confirm_token": "x"})
    assert TARGET not in admin.list_project_keys()
    assert "ticket-" not in everything_dss_holds(admin)


def test_apply_from_git_step_reads_the_run_as_users_secret(leaky, tmp_path):
    admin, ops = leaky.client(), leaky.client_for(ADMIN_USER_KEY)
    url = git_repo(tmp_path / "repo", USES_X)
    admin.create_project(OPS, OPS, "admin")
    scenario = ops.get_project(OPS).create_scenario("deploy", "step_based")  # runs as ops, its last modifier
    settings = scenario.get_settings()
    step_config = {"source_kind": "git", "git_url": url, "git_ref": "main", "environment": "dev", "policy": "apply_always"}
    settings.raw_steps.append({"id": "cd", "type": "pystep_dataiku-iac_apply-from-git", "name": "deploy",
                               "params": {"config": step_config}})
    settings.save()

    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    thrown = run.get_details()["stepRuns"][-1]["result"]["thrown"]["message"]
    assert "DSS user secret 'IAC_SECRET_X'" in thrown and PROCESS_SECRET not in thrown
    assert TARGET not in admin.list_project_keys()

    set_user_secret(admin, "ops", "IAC_SECRET_X", OPS_SECRET)
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "SUCCESS", run.get_details()
    assert admin.get_project(TARGET).get_variables()["local"] == {"x": OPS_SECRET}
    assert PROCESS_SECRET not in everything_dss_holds(admin)
    assert PROCESS_SECRET not in repr(run.get_details())
