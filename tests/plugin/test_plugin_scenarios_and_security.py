"""Scheduled drift checks, concurrent applies on one managed-folder state, and who may apply."""

from __future__ import annotations

import json
import threading
import time

import pytest
from dataiku_iac.dss import service
from dataiku_iac.dss.html import extract_plan_json
from dataiku_iac.planner.plan import Plan
from plugin_helpers import ALICE_KEY, demo_config, run_macro, upload_library

OPS = "OPS"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}
SPEC = {"kind": "library", "project_key": OPS, "path": "iac"}


@pytest.fixture
def applied(dss, state_project):
    """The demo config in OPS's library, applied once (so there is a state to drift from)."""
    client = dss.client()
    upload_library(client, OPS, "iac", demo_config())
    reviewed = extract_plan_json(run_macro(client, OPS, "plan", LIBRARY))
    run_macro(client, OPS, "apply", {**LIBRARY, "dry_run": False, "plan_json": reviewed})
    client.get_project(OPS).create_managed_folder("iac_reports")
    return client


def _drift_behind_the_back(client):
    """Someone adds a dataset by hand in a project dataiku-iac manages."""
    client.get_project("PLUG_DEMO").create_dataset("HAND_MADE", "Inline")


@pytest.mark.parametrize("policy,outcome", [("fail", "FAILED"), ("warn", "SUCCESS")])
def test_one_click_drift_scenario_reports_drift(dss, applied, policy, outcome):
    client = applied
    params = {**LIBRARY, "policy": policy, "report_folder": "iac_reports", "frequency": "Daily", "hour": 5}
    run_macro(client, OPS, "setup-drift-check", params)
    project = client.get_project(OPS)
    [item] = [s for s in project.list_scenarios() if s["name"] == "IaC drift check (dev)"]
    scenario = project.get_scenario(item["id"])
    settings = scenario.get_settings()
    assert settings.raw_triggers[0]["type"] == "temporal" and settings.raw_triggers[0]["params"]["hour"] == 5
    assert settings.raw_steps[0]["type"] == "pystep_dataiku-iac_check-drift"
    assert scenario.run_and_wait().outcome == "SUCCESS"  # no drift yet

    _drift_behind_the_back(client)
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == outcome
    details = run.get_details()
    step = details["stepRuns"][-1]
    if policy == "fail":
        assert "drift in environment dev" in step["result"]["thrown"]["message"]
        assert "dataset.PLUG_DEMO.HAND_MADE" in step["result"]["thrown"]["message"]
    # The report is readable by people and by DSS reporters: JSON and HTML in the folder.
    folder = project.get_managed_folder(next(f["id"] for f in project.list_managed_folders() if f["name"] == "iac_reports"))
    report = json.loads(folder.get_file("/drift/dev/latest.json").content)
    assert report["drift"] is True and report["summary"]["unmanaged"] == 1
    assert "dataset.PLUG_DEMO.HAND_MADE" in folder.get_file("/drift/dev/latest.html").content.decode()
    # Setting it up again updates the same scenario instead of adding one.
    run_macro(client, OPS, "setup-drift-check", params)
    assert len([s for s in project.list_scenarios() if s["name"] == "IaC drift check (dev)"]) == 1


def test_two_applies_at_once_one_runs_the_other_names_the_holder(dss, state_project):
    client = dss.client()
    upload_library(client, OPS, "iac", demo_config())
    caller = service.current_caller(dss.client)
    results: dict = {}
    barrier = threading.Barrier(2)
    dss.admin.set_latency(30)  # make the applies overlap for sure

    def run(name):
        barrier.wait()
        try:
            report, _ = service.apply(dss.client, caller, SPEC, "dev", auto_approve=True)
            results[name] = ("ok", report)
        except Exception as exc:
            results[name] = ("error", exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dss.admin.set_latency(0)
    outcomes = sorted(r[0] for r in results.values())
    assert outcomes == ["error", "ok"], results
    [error] = [r[1] for r in results.values() if r[0] == "error"]
    [report] = [r[1] for r in results.values() if r[0] == "ok"]
    assert report.ok and len(report.result.done) == 3
    message = str(error)
    assert "Error acquiring the state lock" in message and "held by admin@" in message and "lock ID" in message


def test_non_admin_is_refused_apply(dss, applied):
    alice = lambda: dss.client_for(ALICE_KEY)  # noqa: E731 - a client factory acting as alice
    caller = service.current_caller(alice)
    assert caller.login == "alice" and not service.is_admin(alice, caller)
    # alice may read (she is in data_team, with read access on the projects below)...
    for key in (OPS, "PLUG_DEMO"):
        perms = dss.client().get_project(key).get_permissions()
        perms["permissions"] = [{"group": "data_team", "readProjectContent": True, "writeProjectContent": True}]
        dss.client().get_project(key).set_permissions(perms)
    result, _ = service.plan(alice, caller, SPEC, "dev")
    assert not result.plan.has_changes
    # ...but not apply: she is not a project admin of PLUG_DEMO nor a DSS admin.
    with pytest.raises(service.PermissionDenied, match=r"alice may not apply: it touches project\(s\) PLUG_DEMO"):
        service.apply(alice, caller, SPEC, "dev", auto_approve=True)
    # The apply macro needs project ADMIN where it runs: DSS refuses to start it for her...
    params = {**LIBRARY, "dry_run": False, "confirm_token": "x"}
    with pytest.raises(Exception, match="You may not run macro pyrunnable_dataiku-iac_apply"):
        run_macro(dss.client_for(ALICE_KEY), OPS, "apply", params)
    # ...and as admin of OPS only, the macro runs as her and refuses the projects she does not admin.
    perms = dss.client().get_project(OPS).get_permissions()
    perms["permissions"].append({"user": "alice", "admin": True})
    dss.client().get_project(OPS).set_permissions(perms)
    with pytest.raises(Exception, match=r"alice may not apply: it touches project\(s\) PLUG_DEMO"):
        run_macro(dss.client_for(ALICE_KEY), OPS, "apply", params)
    # State repair is for DSS admins only.
    with pytest.raises(service.PermissionDenied, match="only DSS administrators"):
        service.state_unlock(alice, caller, SPEC, "dev", "some-id")
    # Once project admin of every touched project, she may.
    perms = dss.client().get_project("PLUG_DEMO").get_permissions()
    perms["permissions"] = [{"user": "alice", "admin": True}]
    dss.client().get_project("PLUG_DEMO").set_permissions(perms)
    service.check_permission(alice, caller, "apply", ["PLUG_DEMO"])
    with pytest.raises(service.PermissionDenied):
        service.check_permission(alice, caller, "apply", ["PLUG_DEMO", "NOT_YET_CREATED"])


def test_stale_lock_from_a_killed_apply_is_released_by_id_only(dss, applied):
    caller = service.current_caller(dss.client)
    with service.open_session(dss.client, SPEC, "dev") as session:
        stale = session.state_writer().lock("apply")  # a run that died holding the lock
    with pytest.raises(Exception, match=stale.id):
        service.apply(dss.client, caller, SPEC, "dev", auto_approve=True)
    with pytest.raises(Exception, match="cannot release the state lock with lock ID nope"):
        service.state_unlock(dss.client, caller, SPEC, "dev", "nope")
    listing, _ = service.state_list(dss.client, caller, SPEC, "dev")
    assert listing["lock"]["id"] == stale.id
    html = run_macro(dss.client(), OPS, "state", {**LIBRARY, "state_action": "unlock", "lock_id": stale.id})
    assert f"Released lock {stale.id}" in html
    report, _ = service.apply(dss.client, caller, SPEC, "dev", auto_approve=True)
    assert report.ok and report.result is None  # nothing to do, and the lock was taken and released


def _dataset_description(client, key="PLUG_DEMO", name="TEST_DATA"):
    return client.get_project(key).get_dataset(name).get_settings().get_raw().get("description", "")


def test_rollback_macro_reviews_then_applies_the_recorded_configuration(dss, applied):
    """The state macro's rollback is the CLI's `state rollback`: a review with a token, then the
    reviewed plan applied; DSS ends at the configuration recorded at that serial."""
    client = applied
    caller = service.current_caller(dss.client)
    history, _ = service.state_history(dss.client, caller, SPEC, "dev")
    good = history[-1]["serial"]
    config = demo_config()
    config["projects/demo.yml"] = config["projects/demo.yml"].replace(
        "    format: parquet\n", "    format: parquet\n    description: second version\n"
    ).replace("  - name: models\n", "  - name: models\n  - name: scratch\n")
    upload_library(client, OPS, "iac", config)
    assert service.apply(dss.client, caller, SPEC, "dev", auto_approve=True)[0].ok
    assert _dataset_description(client) == "second version"

    params = {**LIBRARY, "state_action": "rollback", "serial": good, "allow_destroy": True}
    review = run_macro(client, OPS, "state", params)
    assert f"rollback to serial {good}" in review and "Data is not rolled back" in review
    assert "second version" in review and "scratch" in review
    token = service.plan_token(Plan.from_json(extract_plan_json(review)))
    assert _dataset_description(client) == "second version", "a review must not change DSS"

    done = run_macro(client, OPS, "state", {**params, "rollback_token": token})
    assert "Apply complete" in done, done
    assert _dataset_description(client) == ""
    assert "scratch" not in {f["name"] for f in client.get_project("PLUG_DEMO").list_managed_folders()}
    again = run_macro(client, OPS, "state", params)
    assert f"No changes: DSS already matches the configuration recorded at serial {good}" in again
    history, _ = service.state_history(dss.client, caller, SPEC, "dev")
    assert history[-1]["operation"] == f"rollback to serial {good}"


def test_rollback_token_is_refused_once_dss_changed(dss, applied):
    client = applied
    caller = service.current_caller(dss.client)
    good = service.state_history(dss.client, caller, SPEC, "dev")[0][-1]["serial"]
    config = demo_config()
    config["projects/demo.yml"] = config["projects/demo.yml"].replace("  - name: models\n", "  - name: models\n  - name: scratch\n")
    upload_library(client, OPS, "iac", config)
    service.apply(dss.client, caller, SPEC, "dev", auto_approve=True)
    review, _ = service.state_rollback(dss.client, caller, SPEC, "dev", good, allow_destroy=True)
    assert review.plan.plan.has_changes
    client.get_project("PLUG_DEMO").get_dataset("TEST_DATA").delete()  # by hand, after the review
    with pytest.raises(Exception, match="changed since it was reviewed"):
        service.state_rollback(dss.client, caller, SPEC, "dev", good, confirm_token=review.token, allow_destroy=True)
    assert "scratch" in {f["name"] for f in client.get_project("PLUG_DEMO").list_managed_folders()}


def test_restore_rewrites_the_state_only_and_both_are_admin_only(dss, applied):
    client = applied
    caller = service.current_caller(dss.client)
    first = service.state_history(dss.client, caller, SPEC, "dev")[0][-1]["serial"]
    tags = client.get_project("PLUG_DEMO").get_dataset("TEST_DATA").get_settings().get_raw()["versionTag"]
    html = run_macro(client, OPS, "state", {**LIBRARY, "state_action": "restore", "serial": first})
    assert f"Restored serial {first} as serial {first + 1}. DSS was not changed" in html
    assert client.get_project("PLUG_DEMO").get_dataset("TEST_DATA").get_settings().get_raw()["versionTag"] == tags
    with pytest.raises(Exception, match="serial: a state serial from the history"):
        run_macro(client, OPS, "state", {**LIBRARY, "state_action": "restore", "serial": ""})
    alice = lambda: dss.client_for(ALICE_KEY)  # noqa: E731 - a client factory acting as alice
    as_alice = service.current_caller(alice)
    for call in (service.state_rollback, service.state_restore):
        with pytest.raises(service.PermissionDenied, match="only DSS administrators may"):
            call(alice, as_alice, SPEC, "dev", first)


def test_apply_from_git_step_waits_for_a_held_lock_when_asked(dss, state_project):
    """Two deployment scenarios overlapping: with lock_timeout_seconds the second waits for the
    first to release the managed-folder lock, then applies; without, it fails naming the holder."""
    from dataiku_iac.dss import components

    client = dss.client()
    upload_library(client, OPS, "iac", demo_config())
    config = {**LIBRARY, "library_project": OPS, "policy": "apply_always"}
    with service.open_session(dss.client, SPEC, "dev") as session:
        writer = session.state_writer()
        held = writer.lock("apply (another scenario)")
    with pytest.raises(Exception, match=held.id):
        components.apply_from_git_step(config, dss.client, OPS, out=lambda text: None)
    said: list = []
    outcome: dict = {}
    worker = threading.Thread(
        target=lambda: outcome.update(
            result=components.apply_from_git_step({**config, "lock_timeout_seconds": 120}, dss.client, OPS, out=said.append)
        )
    )
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not any("Waiting up to 120 s for the lock" in s for s in said) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert any(held.id in s and "Waiting up to 120 s" in s for s in said), said
        assert worker.is_alive() and "PLUG_DEMO" not in {p["projectKey"] for p in client.list_projects()}
    finally:
        writer.unlock(held.id)
    worker.join(120)
    assert outcome["result"]["ok"] is True and outcome["result"]["applied"] is True
    assert "PLUG_DEMO" in {p["projectKey"] for p in client.list_projects()}
