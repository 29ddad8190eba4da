"""The console backend's routes through Flask's test client, against the DSS emulator.

The backend is built exactly as DSS builds it (backend.py executed with a predefined `app`);
identities come from the browser session cookie the emulator understands, resolved by DSS
(`/auth/info-from-browser-headers`), never from anything the page says.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from dataiku_iac.dss import service

from tests.webapp.conftest import Api, error_of
from tests.webapp.console_setup import (
    ADMIN,
    ALICE,
    CANARY,
    DEMO_KEY,
    FILES,
    MALLORY,
    OPS_PROJECT,
    RUNAS_KEY,
    World,
    write_library,
)
from tests.webapp.harness import CLIENT_HEADERS

ROUTES = {
    ("GET", "/api/context"),
    ("POST", "/api/plan"),
    ("POST", "/api/apply"),
    ("GET", "/api/jobs/<job_id>"),
    ("POST", "/api/history"),
    ("POST", "/api/lock"),
    ("POST", "/api/unlock"),
    ("POST", "/api/drift"),
    ("POST", "/api/graph"),
}


def wait_job(api: Api, job: dict, timeout: float = 60) -> dict:
    deadline = time.time() + timeout
    events: list = list(job["events"])
    while job["status"] == "running":
        assert time.time() < deadline, f"apply still running: {job}"
        time.sleep(0.1)
        response = api.get(f"/api/jobs/{job['id']}?since={job['next']}")
        assert response.status_code == 200, response.get_data(as_text=True)
        job = response.get_json()["job"]
        events.extend(job["events"])
    job["all_events"] = events
    return job


def plan(api: Api, world: World) -> dict:
    response = api.post("/api/plan", world.target())
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["plan"]


def approve(plan_view: dict) -> dict:
    return {"plan_id": plan_view["id"], "digest": plan_view["digest"], "serial": plan_view["serial"]}


def apply_plan(api: Api, plan_view: dict) -> dict:
    response = api.post("/api/apply", approve(plan_view))
    assert response.status_code == 202, response.get_data(as_text=True)
    return wait_job(api, response.get_json()["job"])


# -- wiring and identity --------------------------------------------------------------------------


def test_backend_py_registers_every_route_on_the_dss_app(backend: Any) -> None:
    rules = {(m, r.rule) for r in backend.url_map.iter_rules() for m in r.methods if m in ("GET", "POST")}
    assert rules >= ROUTES
    assert ("GET", "/__ping") in rules, "DSS's own route is kept"


def test_context_names_the_browser_user_and_the_defaults(as_user: Any) -> None:
    body = as_user(ALICE).get("/api/context").get_json()
    assert body["user"]["login"] == ALICE and body["user"]["admin"] is False
    assert body["user"]["display_name"] == "Alice Analyst"
    assert body["defaults"]["source"] == {"kind": "library", "project_key": OPS_PROJECT, "path": "iac"}
    assert body["defaults"]["environments"] == ["dev", "prod"]
    assert as_user(ADMIN).get("/api/context").get_json()["user"]["admin"] is True


def test_no_session_is_401_with_a_readable_message(as_user: Any) -> None:
    response = as_user(None).get("/api/context")
    assert response.status_code == 401
    assert error_of(response)["kind"] == "NotAuthenticated"
    assert "log in" in error_of(response)["message"]


def test_a_user_name_sent_by_the_page_is_ignored(as_user: Any, world: World) -> None:
    alice = as_user(ALICE)
    body = alice.get("/api/context?user=iac_admin&login=iac_admin").get_json()
    assert body["user"]["login"] == ALICE
    shown = plan(alice, world)
    forged = dict(approve(shown), user=ADMIN, login=ADMIN, caller={"login": ADMIN, "admin": True})
    response = alice.post("/api/apply", forged)
    assert response.status_code == 403
    assert not service_projects_exist(world)


def service_projects_exist(world: World) -> bool:
    import dataikuapi
    from dss_emulator.pytest_plugin import ADMIN_KEY

    return DEMO_KEY in dataikuapi.DSSClient(world.url, api_key=ADMIN_KEY).list_project_keys()


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"X-Requested-With": ""}, 403), ({"X-Requested-With": "XMLHttpRequest"}, 403)],
)
def test_calls_without_the_console_header_are_refused(backend: Any, headers: dict, status: int) -> None:
    client = backend.test_client()
    client.set_cookie("dss_emulator_user", ADMIN)
    response = client.get("/api/context", headers=headers)
    assert response.status_code == status
    assert error_of(response)["kind"] == "Forbidden"


def test_a_cross_site_form_post_is_refused(backend: Any, world: World) -> None:
    client = backend.test_client()
    client.set_cookie("dss_emulator_user", ADMIN)
    response = client.post("/api/unlock", data={"lock_id": "x"}, headers=CLIENT_HEADERS)
    assert response.status_code == 415


# -- plan ------------------------------------------------------------------------------------------


def test_plan_is_a_tree_of_projects_resources_and_fields(as_user: Any, world: World) -> None:
    shown = plan(as_user(ALICE), world)
    assert shown["summary"] == {"add": 3, "change": 0, "destroy": 0, "forget": 0}
    assert shown["has_changes"] and shown["serial"] == 0 and shown["environment"] == "dev"
    assert len(shown["digest"]) == 64 and shown["id"]
    [project] = shown["projects"]
    assert project["project_key"] == DEMO_KEY and project["counts"]["create"] == 3
    addresses = [r["address"] for r in project["resources"]]
    assert addresses == [
        "project.DEMO_PROJECT",
        "dataset.DEMO_PROJECT.ORDERS",
        "dataset.DEMO_PROJECT.TEST_DATA",
    ]
    fields = {f["name"]: f for f in project["resources"][2]["fields"]}
    assert fields["format"] == {
        "name": "format",
        "before": None,
        "after": '"parquet"',
        "kind": "add",
        "forces_replacement": False,
        "sensitive": False,
    }
    assert shown["source"]["kind"] == "library" and shown["source"]["project_key"] == OPS_PROJECT


def test_a_plan_asked_with_train_is_an_apply_train_plan(as_user: Any, world: World) -> None:
    """The console's "Retrain the saved models" box is `apply --train`: the plan records it (the
    apply of that exact plan retrains) and the page is told so; anything but a boolean is refused."""
    alice = as_user(ALICE)
    assert plan(alice, world)["train"] is False
    response = alice.post("/api/plan", world.target(train=True))
    assert response.status_code == 200, response.get_data(as_text=True)
    shown = response.get_json()["plan"]
    assert shown["train"] is True and shown["summary"]["add"] == 3
    refused = alice.post("/api/plan", world.target(train="yes"))
    assert refused.status_code == 400 and "'train' must be true or false" in error_of(refused)["message"]


def test_plan_of_an_update_shows_per_leaf_diffs(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    assert apply_plan(admin, plan(admin, world))["status"] == "succeeded"
    write_library(
        dss.client(),
        OPS_PROJECT,
        "iac",
        {"projects/demo.yml": FILES["projects/demo.yml"].replace("region: eu", "region: us")},
    )
    shown = plan(admin, world)
    assert shown["summary"]["change"] == 1
    [project] = shown["projects"]
    [change] = [r for r in project["resources"] if r["action"] != "no-op"]
    assert change["action"] == "update" and change["actions"] == ["update"]
    assert {
        "name": "variables.standard.region",
        "before": '"eu"',
        "after": '"us"',
        "kind": "change",
    }.items() <= change["fields"][0].items()


def test_a_config_error_is_a_400_with_diagnostics(as_user: Any, world: World, dss: Any) -> None:
    write_library(
        dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": "project:\n  key: DEMO\n  nmae: x\n"}
    )
    response = as_user(ADMIN).post("/api/plan", world.target())
    assert response.status_code == 400
    error = error_of(response)
    assert error["kind"] == "ConfigError" and error["diagnostics"]
    assert any("name" in d["message"] for d in error["diagnostics"])


def test_plan_needs_read_access_to_the_config_project(as_user: Any, world: World) -> None:
    response = as_user(MALLORY).post("/api/plan", world.target())
    assert response.status_code == 403
    assert f"may not read project(s) {OPS_PROJECT}" in error_of(response)["message"]


def test_config_errors_are_not_shown_to_who_may_not_read_the_config(
    as_user: Any, world: World, dss: Any
) -> None:
    write_library(
        dss.client(), OPS_PROJECT, "iac", {"projects/demo.yml": "project:\n  key: DEMO\n  secret_plan: x\n"}
    )
    response = as_user(MALLORY).post("/api/plan", world.target())
    assert response.status_code == 403 and "secret_plan" not in response.get_data(as_text=True)
    assert as_user(ALICE).post("/api/plan", world.target()).status_code == 400


def test_plan_needs_read_access_to_every_managed_project(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    apply_plan(admin, plan(admin, world))
    project = dss.client().get_project(DEMO_KEY)
    perms = project.get_permissions()
    perms["permissions"] = []  # alice's group loses its reader role on the managed project
    project.set_permissions(perms)
    response = as_user(ALICE).post("/api/plan", world.target())
    assert response.status_code == 403
    assert DEMO_KEY in error_of(response)["message"]


@pytest.mark.parametrize(
    ("target", "status", "fragment"),
    [
        (
            {"source": {"kind": "library", "project_key": OPS_PROJECT}, "environment": "../x"},
            400,
            "environment name",
        ),
        ({"source": {"kind": "library", "project_key": OPS_PROJECT}}, 400, "'environment' is required"),
        ({"source": {"kind": "directory", "path": "/etc"}, "environment": "dev"}, 400, "library, git"),
        (
            {"source": {"kind": "git", "url": "file:///srv/repo"}, "environment": "dev"},
            403,
            "network Git URLs",
        ),
        ({"source": {"kind": "git", "url": "/srv/repo"}, "environment": "dev"}, 403, "network Git URLs"),
        ({"source": "library", "environment": "dev"}, 400, "'source' must be an object"),
        (["not", "an", "object"], 400, "JSON object"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(as_user: Any, target: Any, status: int, fragment: str) -> None:
    response = as_user(ADMIN).post("/api/plan", target)
    assert response.status_code == status, response.get_data(as_text=True)
    assert fragment in error_of(response)["message"]


def test_git_urls_are_limited_to_the_allowed_prefixes(backend_factory: Any, world: World) -> None:
    config = {
        "source_kind": "library",
        "library_path": "iac",
        "git_url_prefixes": ["https://git.example.com/ops/"],
    }
    api = Api(backend_factory(config), ADMIN)
    target = {"source": {"kind": "git", "url": "https://evil.example.org/x.git"}, "environment": "dev"}
    response = api.post("/api/plan", target)
    assert (
        response.status_code == 403
        and "not among those the webapp settings allow" in error_of(response)["message"]
    )


# -- apply -----------------------------------------------------------------------------------------


def test_plan_apply_history_flow(as_user: Any, world: World) -> None:
    admin = as_user(ADMIN)
    shown = plan(admin, world)
    job = apply_plan(admin, shown)
    assert job["status"] == "succeeded", job
    assert job["completed"] == job["total"] == 3 and job["failed"] == 0
    assert job["serial_after"] == 1 and "Apply complete!" in job["message"]
    kinds = [(e["kind"], e["address"]) for e in job["all_events"]]
    assert kinds[0] == ("queued", "") and kinds[-1] == ("finished", "")
    assert {a for k, a in kinds if k == "done"} == {r["address"] for r in shown["projects"][0]["resources"]}
    assert [e["seq"] for e in job["all_events"]] == list(range(len(job["all_events"]))), (
        "polling loses no event"
    )

    history = admin.post("/api/history", world.target()).get_json()
    assert [h["serial"] for h in history["history"]] == [1] and history["serial"] == 1
    assert history["history"][0]["operation"] == "apply" and history["history"][0]["resource_count"] == 3

    again = plan(admin, world)
    assert again["has_changes"] is False and again["serial"] == 1


def test_a_non_admin_is_refused_apply_with_403_and_a_clear_message(as_user: Any, world: World) -> None:
    alice = as_user(ALICE)
    shown = plan(alice, world)  # she may read: she may plan
    response = alice.post("/api/apply", approve(shown))
    assert response.status_code == 403
    error = error_of(response)
    assert error["kind"] == "Forbidden"
    assert error["message"].startswith("You may not apply this plan:")
    assert f"{ALICE} may not apply" in error["message"] and "not a DSS administrator" in error["message"]
    assert not service_projects_exist(world)


def grant(dss: Any, project_key: str, row: dict) -> None:
    project = dss.client().get_project(project_key)
    perms = project.get_permissions()
    perms["permissions"].append(row)
    project.set_permissions(perms)


def test_a_project_admin_may_apply_to_their_own_project(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    apply_plan(admin, plan(admin, world))
    grant(dss, DEMO_KEY, {"user": ALICE, "admin": True})
    grant(dss, OPS_PROJECT, {"user": ALICE, "readProjectContent": True, "writeProjectContent": True})  # the state
    write_library(
        dss.client(),
        OPS_PROJECT,
        "iac",
        {"projects/demo.yml": FILES["projects/demo.yml"].replace("region: eu", "region: us")},
    )
    alice = as_user(ALICE)
    job = apply_plan(alice, plan(alice, world))
    assert job["status"] == "succeeded", job
    assert dss.client().get_project(DEMO_KEY).get_variables()["standard"]["region"] == "us"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda a: dict(a, digest="0" * 64),
        lambda a: dict(a, serial=a["serial"] + 1),
        lambda a: dict(a, serial=True),  # True == 1 in Python: not a serial
        lambda a: dict(a, plan_id="no-such-plan"),
        lambda a: {k: v for k, v in a.items() if k != "digest"},
    ],
)
def test_only_the_exact_plan_shown_can_be_applied(as_user: Any, world: World, tamper: Any) -> None:
    admin = as_user(ADMIN)
    response = admin.post("/api/apply", tamper(approve(plan(admin, world))))
    assert response.status_code in (400, 409)
    assert not service_projects_exist(world)


def test_a_plan_shown_to_someone_else_cannot_be_applied(as_user: Any, world: World) -> None:
    shown = plan(as_user(ALICE), world)
    response = as_user(ADMIN).post("/api/apply", approve(shown))
    assert response.status_code == 409
    assert error_of(response)["kind"] == "PlanNotApproved"
    assert "unknown or expired" in error_of(response)["message"]


def test_an_approval_is_used_once(as_user: Any, world: World) -> None:
    admin = as_user(ADMIN)
    shown = plan(admin, world)
    assert apply_plan(admin, shown)["status"] == "succeeded"
    assert admin.post("/api/apply", approve(shown)).status_code == 409


def test_a_plan_made_stale_by_another_apply_is_refused(as_user: Any, world: World) -> None:
    admin = as_user(ADMIN)
    first, second = plan(admin, world), plan(admin, world)
    assert apply_plan(admin, second)["status"] == "succeeded"
    job = apply_plan(admin, first)
    assert job["status"] == "failed"
    assert "make a new plan" in job["message"], "the engine refused the plan made before the other apply"


def test_someone_elses_apply_progress_is_not_visible(as_user: Any, world: World) -> None:
    admin = as_user(ADMIN)
    response = admin.post("/api/apply", approve(plan(admin, world)))
    job = response.get_json()["job"]
    assert as_user(MALLORY).get(f"/api/jobs/{job['id']}").status_code == 404
    wait_job(admin, job)


def test_unknown_job_is_404(as_user: Any) -> None:
    response = as_user(ADMIN).get("/api/jobs/nope")
    assert response.status_code == 404 and error_of(response)["kind"] == "NotFound"


# -- lock and unlock -------------------------------------------------------------------------------


def hold_lock(world: World, dss: Any) -> str:
    """Take the state lock the way a crashed apply leaves it."""
    import dataikuapi
    from dss_emulator.pytest_plugin import ADMIN_KEY

    factory = lambda: dataikuapi.DSSClient(world.url, api_key=ADMIN_KEY)  # noqa: E731
    with service.open_session(factory, world.source, world.environment) as session:
        return session.state_writer().lock("apply", ttl_seconds=600).id


def test_lock_shows_the_holder_and_only_admins_unlock(as_user: Any, world: World, dss: Any) -> None:
    alice, admin = as_user(ALICE), as_user(ADMIN)
    assert alice.post("/api/lock", world.target()).get_json()["lock"] is None
    lock_id = hold_lock(world, dss)
    lock = alice.post("/api/lock", world.target()).get_json()["lock"]
    assert lock["id"] == lock_id and lock["operation"] == "apply" and lock["who"]

    refused = alice.post("/api/unlock", world.target(lock_id=lock_id))
    assert refused.status_code == 403
    assert "only DSS administrators may" in error_of(refused)["message"]

    wrong = admin.post("/api/unlock", world.target(lock_id="not-the-id"))
    assert wrong.status_code == 409 and error_of(wrong)["kind"] == "LockError"

    done = admin.post("/api/unlock", world.target(lock_id=lock_id))
    assert done.status_code == 200 and done.get_json()["released"]["id"] == lock_id
    assert admin.post("/api/lock", world.target()).get_json()["lock"] is None


def test_a_held_lock_fails_the_apply_with_the_holder_named(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    shown = plan(admin, world)
    hold_lock(world, dss)
    job = apply_plan(admin, shown)
    assert job["status"] == "failed" and "lock" in job["message"].lower()


# -- drift -----------------------------------------------------------------------------------------


def test_drift_runs_and_the_last_result_is_kept(as_user: Any, world: World, dss: Any) -> None:
    admin = as_user(ADMIN)
    assert admin.post("/api/drift", world.target()).get_json()["drift"] is None
    apply_plan(admin, plan(admin, world))
    clean = admin.post("/api/drift", world.target(run=True)).get_json()["drift"]
    assert clean["drift"] is False and clean["checked"] == 3 and clean["checked_at"]

    project = dss.client().get_project(DEMO_KEY)
    variables = project.get_variables()
    variables["standard"]["region"] = "changed-by-hand"
    project.set_variables(variables)
    drifted = admin.post("/api/drift", world.target(run=True)).get_json()["drift"]
    assert drifted["drift"] is True and drifted["summary"]["changed"] == 1
    [item] = drifted["resources"]
    assert item["address"] == f"project.{DEMO_KEY}"
    assert item["fields"] == [
        {"name": "variables.standard.region", "recorded": '"eu"', "live": '"changed-by-hand"'}
    ]
    assert admin.post("/api/drift", world.target()).get_json()["drift"] == drifted
    assert as_user(MALLORY).post("/api/drift", world.target()).status_code == 403


# -- no secret, no traceback -------------------------------------------------------------------------


def test_the_secret_canary_never_appears_in_any_response(as_user: Any, world: World, dss: Any) -> None:
    admin, alice = as_user(ADMIN), as_user(ALICE)
    shown = plan(admin, world)
    apply_plan(admin, shown)
    assert dss.client().get_project(DEMO_KEY).get_variables()["local"]["api_token"] == CANARY, (
        "the secret reached DSS"
    )
    for api in (admin, alice):
        api.get("/api/context")
        plan(api, world)
        api.post("/api/history", world.target())
        api.post("/api/lock", world.target())
        api.post("/api/drift", world.target(run=True))
        api.post("/api/unlock", world.target(lock_id="x"))
    # a secret changed by hand in DSS is drift: the report names it, never its value
    project = dss.client().get_project(DEMO_KEY)
    variables = project.get_variables()
    variables["local"]["api_token"] = CANARY + "-tampered"
    project.set_variables(variables)
    drift = admin.post("/api/drift", world.target(run=True)).get_json()["drift"]
    assert drift["drift"] is True
    everything = admin.seen() + alice.seen()
    assert "api_token" in everything, "the secret variable is shown by name"
    assert CANARY not in everything


def test_an_unexpected_error_is_a_reference_not_a_traceback(
    as_user: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"internal detail /srv/secret/path token={CANARY}")

    monkeypatch.setattr(service, "state_history", explode)
    monkeypatch.setattr(service, "state_list", explode)
    response = as_user(ADMIN).post("/api/history", world.target())
    assert response.status_code == 500
    error = error_of(response)
    assert error["kind"] == "InternalError" and "reference" in error["message"]
    text = response.get_data(as_text=True)
    for leak in ("Traceback", 'File "', "RuntimeError", "/srv/secret", CANARY):
        assert leak not in text


def test_an_engine_error_carrying_a_secret_is_scrubbed(
    as_user: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataiku_iac.errors import StateError

    admin = as_user(ADMIN)
    plan(admin, world)  # the backend learns which variables hold secrets

    def leak(*args: Any, **kwargs: Any) -> Any:
        raise StateError(f"cannot read the state: got {CANARY}")

    monkeypatch.setattr(service, "state_list", leak)
    response = admin.post("/api/lock", world.target())
    assert response.status_code == 500 and error_of(response)["kind"] == "StateError"
    assert CANARY not in response.get_data(as_text=True)
    assert "(sensitive value)" in error_of(response)["message"]


def test_a_failing_apply_thread_reports_a_safe_message(
    as_user: Any, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = as_user(ADMIN)
    shown = plan(admin, world)

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise KeyError(f"deep internal {CANARY}")

    monkeypatch.setattr(service, "apply", explode)
    job = apply_plan(admin, shown)
    assert job["status"] == "failed" and "reference" in job["message"]
    assert CANARY not in json.dumps(job) and "KeyError" not in json.dumps(job)


# -- a Git source ------------------------------------------------------------------------------------


def git_repo(path: Any, files: dict) -> str:
    """A local repository holding the config under `dss/`, on branch main; returns its file:// URL."""
    import subprocess

    for rel, text in files.items():
        target = path / "dss" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "HOME": str(path),
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "config"]):
        subprocess.run(["git", *args], cwd=path, check=True, env=env)
    return f"file://{path}"


def test_plan_and_apply_from_the_configured_git_repository(
    backend_factory: Any, world: World, tmp_path: Any
) -> None:
    url = git_repo(tmp_path / "repo", FILES)
    api = Api(
        backend_factory({"source_kind": "git", "git_url": url, "git_ref": "main", "git_subpath": "dss"}),
        ADMIN,
    )
    defaults = api.get("/api/context").get_json()["defaults"]
    assert defaults["source"] == {"kind": "git", "url": url, "ref": "main", "subpath": "dss"}
    target = {"source": defaults["source"], "environment": "dev"}
    response = api.post("/api/plan", target)
    assert response.status_code == 200, response.get_data(as_text=True)
    shown = response.get_json()["plan"]
    assert shown["summary"]["add"] == 3
    assert shown["source"]["kind"] == "git" and len(shown["source"]["commit"]) == 40
    assert apply_plan(api, shown)["status"] == "succeeded"
    assert [h["serial"] for h in api.post("/api/history", target).get_json()["history"]] == [1]


def test_drift_shows_the_last_scheduled_check_from_its_report_folder(
    backend_factory: Any, world: World, dss: Any
) -> None:
    from dataiku_iac.dss.components import write_report

    dss.client().get_project(OPS_PROJECT).create_managed_folder("iac_reports")
    config = {"source_kind": "library", "library_path": "iac", "drift_report_folder": "iac_reports"}
    admin = Api(backend_factory(config), ADMIN)
    assert admin.post("/api/drift", world.target()).get_json()["drift"] is None
    report = {"environment": "dev", "drift": True, "checked": 3, "summary": {"changed": 0, "deleted": 1, "unmanaged": 0},
              "resources": [{"address": "dataset.DEMO_PROJECT.ORDERS", "type": "dataset", "project_key": DEMO_KEY,
                             "name": "ORDERS", "kind": "deleted", "fields": []}]}  # fmt: skip
    factory = lambda: dss.client_for(RUNAS_KEY)  # noqa: E731
    write_report(factory, OPS_PROJECT, "iac_reports", "dev", report, "<p>report</p>")

    shown = admin.post("/api/drift", world.target()).get_json()["drift"]
    assert shown["summary"]["deleted"] == 1 and shown["resources"][0]["kind"] == "deleted"
    assert shown["origin"] == f"scheduled drift check (folder iac_reports of {OPS_PROJECT})"
    assert len(shown["checked_at"]) == 20 and shown["checked_at"].endswith("Z")
    assert Api(backend_factory(config), MALLORY).post("/api/drift", world.target()).status_code == 403

    fresh = admin.post("/api/drift", world.target(run=True)).get_json()["drift"]
    assert fresh["origin"] == "this console"
    assert admin.post("/api/drift", world.target()).get_json()["drift"]["origin"] == "this console", (
        "the newest wins"
    )
