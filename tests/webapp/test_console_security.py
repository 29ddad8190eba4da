"""The console's backend acts for other people (issue 10, security 1 and 7).

- `{secret_env: NAME}` resolves from the browsing user's DSS user secrets, never from the
  backend's process environment (which holds the run-as user's key and whatever else);
- a user who may only read the state project never takes its lock nor writes its state;
- a refused plan does not name what a project the caller cannot read holds.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import writes_since
from tests.webapp.conftest import Api, error_of
from tests.webapp.console_setup import (
    ADMIN,
    ALICE,
    DEMO_KEY,
    DEMO_YML,
    OPS_PROJECT,
    World,
    write_library,
)
from tests.webapp.test_console_api import apply_plan, approve, grant, plan

PROCESS_KEY = "process-admin-api-key-must-not-leak-0b7e"
PROCESS_SECRET = "process-env-secret-must-not-leak-5d2a"
ALICE_SECRET = "alice-own-user-secret-value-e41f"


def set_user_secret(dss: Any, login: str, name: str, value: str) -> None:
    settings = dss.client().get_user(login).get_settings()
    settings.add_secret(name, value)
    settings.save()


def everything_dss_holds(dss: Any) -> str:
    client = dss.client()
    parts = [repr(client.get_project(k).get_variables()) for k in client.list_project_keys()]
    ops = client.get_project(OPS_PROJECT)
    for folder in ops.list_managed_folders():
        handle = ops.get_managed_folder(folder["id"])
        for item in handle.list_contents()["items"]:
            parts.append(handle.get_file(item["path"]).content.decode("utf-8", "replace"))
    return "\n".join(parts)


def with_local_variables(lines: str) -> dict:
    demo = DEMO_YML.replace("    local:\n", "    local:\n" + lines)
    return {"projects/demo.yml": demo}


@pytest.fixture
def alice_administers_demo(as_user: Any, world: World, dss: Any) -> Api:
    """DEMO applied by an admin; alice is then a project admin of DEMO (not a DSS admin) who
    may write the state project."""
    admin = as_user(ADMIN)
    assert apply_plan(admin, plan(admin, world))["status"] == "succeeded"
    grant(dss, DEMO_KEY, {"user": ALICE, "admin": True})
    grant(dss, OPS_PROJECT, {"user": ALICE, "readProjectContent": True, "writeProjectContent": True})
    return as_user(ALICE)


def test_secret_env_reads_the_browsing_users_secret_never_the_backends_environment(
    alice_administers_demo: Api, world: World, dss: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = alice_administers_demo
    monkeypatch.setenv("DKU_API_KEY", PROCESS_KEY)  # the backend's own key, as DSS sets it
    monkeypatch.setenv("IAC_SECRET_X", PROCESS_SECRET)

    # The attack as reported: her library asks for the backend's key.
    write_library(dss.client(), OPS_PROJECT, "iac", with_local_variables("      leak: {secret_env: DKU_API_KEY}\n"))
    response = alice.post("/api/plan", world.target())
    assert response.status_code == 400 and "DKU_API_KEY" in error_of(response)["message"]

    # Any other name the process holds: the user's own secret or nothing.
    write_library(dss.client(), OPS_PROJECT, "iac", with_local_variables("      x: {secret_env: IAC_SECRET_X}\n"))
    response = alice.post("/api/plan", world.target())
    assert response.status_code == 400
    message = error_of(response)["message"]
    assert f"DSS user secret 'IAC_SECRET_X' of DSS user {ALICE}" in message
    assert "My account > Other credentials" in message

    set_user_secret(dss, ALICE, "IAC_SECRET_X", ALICE_SECRET)
    job = apply_plan(alice, plan(alice, world))
    assert job["status"] == "succeeded", job
    assert dss.client().get_project(DEMO_KEY).get_variables()["local"]["x"] == ALICE_SECRET

    held = everything_dss_holds(dss)
    seen = alice.seen()
    for leaked in (PROCESS_KEY, PROCESS_SECRET):
        assert leaked not in held and leaked not in seen
    assert ALICE_SECRET not in seen, "her own secret is written to DSS, never shown"


def test_a_reader_of_the_state_project_never_locks_or_writes_it(
    as_user: Any, world: World, dss: Any
) -> None:
    admin = as_user(ADMIN)
    apply_plan(admin, plan(admin, world))
    grant(dss, DEMO_KEY, {"user": ALICE, "admin": True})  # she administers DEMO, only reads IACOPS
    write_library(dss.client(), OPS_PROJECT, "iac", with_local_variables("      mode: fast\n"))
    alice = as_user(ALICE)
    since = int(dss.admin.stats()["requests"])

    shown = plan(alice, world)  # she may plan: read-only
    assert shown["has_changes"]
    assert shown["can_apply"]["allowed"] is False and OPS_PROJECT in shown["can_apply"]["reason"]
    response = alice.post("/api/apply", approve(shown))
    assert response.status_code == 403
    message = error_of(response)["message"]
    assert f"kept in project {OPS_PROJECT}, where {ALICE} may at most read" in message

    touched = [(m, p) for m, p in writes_since(dss, since) if f"/projects/{OPS_PROJECT}/" in p]
    assert touched == [], "no lock dataset, no journal, no state serial"
    history = admin.post("/api/history", world.target()).get_json()
    assert [h["serial"] for h in history["history"]] == [1]
    assert "mode" not in dss.client().get_project(DEMO_KEY).get_variables()["local"]


HIDDEN = "HIDDEN_HR"
HIDDEN_YML = f"project:\n  key: {HIDDEN}\n  name: HR\n"


def test_a_refused_plan_does_not_reveal_what_an_unreadable_project_holds(
    as_user: Any, world: World, dss: Any
) -> None:
    admin = as_user(ADMIN)
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/hidden.yml": HIDDEN_YML})
    apply_plan(admin, plan(admin, world))  # HIDDEN_HR is managed; alice has no right on it
    dss.client().get_project(HIDDEN).create_dataset("PAYROLL_2024", "Inline")  # made by hand
    library = dss.client().get_project(OPS_PROJECT).get_library()
    library.get_file("/iac/projects/hidden.yml").delete()  # the config now drops HIDDEN_HR

    refused = as_user(ALICE).post("/api/plan", world.target())
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "PAYROLL_2024" not in text and "not managed by dataiku-iac" not in text
    assert f"project.{HIDDEN}: refused because of what project {HIDDEN} holds" in error_of(refused)["message"]
    assert "may not read that project" in error_of(refused)["message"]

    full = admin.post("/api/plan", world.target())  # an administrator is told everything
    assert full.status_code == 409 and "dataset PAYROLL_2024" in error_of(full)["message"]


def test_a_conflict_in_an_unreadable_project_is_withheld_from_plan_and_drift(
    as_user: Any, world: World, dss: Any
) -> None:
    admin = as_user(ADMIN)
    apply_plan(admin, plan(admin, world))
    hand_made = dss.client().create_project(HIDDEN, "HR", ADMIN)  # not managed, alice may not read it
    hand_made.create_dataset("SALARIES", "Inline")
    write_library(dss.client(), OPS_PROJECT, "iac", {"projects/hidden.yml": HIDDEN_YML})
    alice = as_user(ALICE)

    refused = alice.post("/api/plan", world.target())
    assert refused.status_code == 409
    assert "already exists in DSS" not in refused.get_data(as_text=True)
    assert "may not read that project" in error_of(refused)["message"]

    drift = alice.post("/api/drift", world.target(run=True))
    assert drift.status_code == 200, drift.get_data(as_text=True)
    pending = drift.get_json()["drift"]["pending_config_changes"]
    assert "may not read that project" in pending["error"] and "already exists" not in pending["error"]
    assert "already exists in DSS" in error_of(admin.post("/api/plan", world.target()))["message"]
