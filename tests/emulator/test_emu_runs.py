"""Scenario runs, jobs, futures and the flow graph."""

from __future__ import annotations

import time

import pytest
from dataikuapi.utils import DataikuException
from emu_helpers import NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    p = dss_client.create_project("RUN", "Runs", "admin")
    p.new_managed_dataset("src").with_store_into("filesystem_managed").create()
    return p


def _scenario_with_steps(project, name, steps):
    scenario = project.create_scenario(name, "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.extend(steps)
    settings.save()
    return scenario


def _build(item):
    return {
        "type": "build_flowitem",
        "name": "build " + item,
        "params": {"builds": [{"type": "DATASET", "itemId": item}]},
    }


def test_run_and_wait_success_and_details(project):
    scenario = _scenario_with_steps(project, "ok", [_build("src")])
    run = scenario.run_and_wait()
    assert run.outcome == "SUCCESS"
    details = run.get_details()
    assert details["scenarioRun"]["runId"] == run.id
    step = details["stepRuns"][0]
    assert step["result"]["outcome"] == "SUCCESS"
    assert step["additionalReportItems"][0]["type"] == "JOB_EXECUTED"
    last = scenario.get_last_runs()
    assert [r.id for r in last] == [run.id] and last[0].outcome == "SUCCESS"
    assert scenario.get_last_finished_run().id == run.id
    assert scenario.get_current_run() is None


def test_failed_build_fails_the_run_and_skips_later_steps(project):
    scenario = _scenario_with_steps(project, "bad", [_build("missing"), _build("src")])
    with pytest.raises(DataikuException, match="FAILED"):
        scenario.run_and_wait()
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    details = run.get_details()
    assert len(details["stepRuns"]) == 1 and "thrown" in details["stepRuns"][0]["result"]
    assert details.first_error_details["message"].startswith("DATASET RUN.missing does not exist")


def test_set_project_vars_and_run_scenario_steps(project):
    _scenario_with_steps(
        project, "child", [{"type": "set_project_vars", "params": {"variables": {"from": "child"}}}]
    )
    parent = _scenario_with_steps(
        project,
        "parent",
        [
            {"type": "set_project_vars", "params": {"variables": {"a": 1}}},
            {"type": "run_scenario", "params": {"scenarioId": "child"}},
        ],
    )
    assert parent.run_and_wait().outcome == "SUCCESS"
    assert project.get_variables()["standard"] == {"a": 1, "from": "child"}
    assert len(project.get_scenario("child").get_last_runs()) == 1


def test_builtin_macro_step_and_custom_python_step(project):
    ok = _scenario_with_steps(
        project,
        "macro",
        [
            {
                "type": "runnable",
                "params": {
                    "runnableType": "pyrunnable_builtin-macros_list-datasets-using-connection",
                    "config": {"connection": "filesystem_managed"},
                    "adminConfig": {},
                    "proceedOnFailure": False,
                },
            }
        ],
    )
    assert ok.run_and_wait().outcome == "SUCCESS"
    bad = _scenario_with_steps(project, "py", [{"type": "custom_python", "params": {"script": "print(1)"}}])
    assert bad.run_and_wait(no_fail=True).outcome == "FAILED"
    script = project.create_scenario("script", "custom_python")
    assert script.run_and_wait(no_fail=True).outcome == "FAILED"


def test_run_with_failed_macro_step(project):
    scenario = _scenario_with_steps(
        project,
        "nomacro",
        [{"type": "runnable", "params": {"runnableType": "pyrunnable_nope_nope", "config": {}}}],
    )
    assert scenario.run_and_wait(no_fail=True).outcome == "FAILED"


def test_disabled_and_run_always_steps(project):
    scenario = _scenario_with_steps(
        project,
        "cond",
        [
            dict(_build("missing")),
            {**_build("src"), "runConditionType": "RUN_ALWAYS"},
            {**_build("missing"), "enabled": False},
        ],
    )
    details = scenario.run_and_wait(no_fail=True).get_details()
    assert [s["result"]["outcome"] for s in details["stepRuns"]] == ["FAILED", "SUCCESS"]


def test_trigger_fire_and_status(project):
    scenario = _scenario_with_steps(project, "fire", [_build("src")])
    fire = scenario.run()
    assert fire.get_raw()["cancelled"] is False
    run = fire.wait_for_scenario_run()
    run.wait_for_completion()
    assert scenario.get_trigger_fire(fire.trigger_id, fire.run_id).get_raw()["runId"] == fire.run_id
    assert project.list_scenarios()[0]["running"] is False


def test_jobs_and_recipe_run(project):
    job = project.get_dataset("src").build()
    assert job.get_status()["baseStatus"]["state"] == "DONE"
    (project.new_recipe("sync", "s").with_input("src").with_new_output("dst", "filesystem_managed").create())
    project.get_dataset("src").set_schema({"columns": [{"name": "a", "type": "string"}]})  # a recipe reads it
    job = project.get_recipe("s").run()
    assert job.get_status()["baseStatus"]["def"]["outputs"][0]["id"] == "dst"
    assert len(project.list_jobs()) == 2
    raises_dss(NOT_FOUND, lambda: project.get_dataset("missing").build())
    graph = project.get_flow().get_graph()
    assert [n["ref"] for n in graph.get_successor_computables("s")] == ["dst"]


def test_futures(dss_client, dss):
    p = dss_client.create_project("FUT", "f", "admin")
    future = p.delete()
    assert future.wait_for_result()["deleted"] is True
    fut = dss_client.create_code_env("PYTHON", "async_env", "DESIGN_MANAGED", wait=False)
    state = dss_client.get_future(fut.job_id).get_state()
    assert state["hasResult"] is True and state["result"]["envName"] == "async_env"
    assert fut.wait_for_result()["envName"] == "async_env"
    fut.abort()
    raises_dss(NOT_FOUND, dss_client.get_future(fut.job_id).get_state)


def test_abort_and_concurrent_fire_is_cancelled(project):
    scenario = _scenario_with_steps(
        project,
        "slow",
        [
            {
                "type": "runnable",
                "params": {
                    "runnableType": "pyrunnable_builtin-macros_list-datasets-using-connection",
                    "config": {},
                },
            }
        ]
        * 3,
    )
    first = scenario.run()
    second = scenario.run()
    assert first.get_raw()["cancelled"] is False
    # The second fire is cancelled if the first run is still going, else it starts its own run.
    if second.get_raw()["cancelled"]:
        with pytest.raises(DataikuException, match="cancelled"):
            second.wait_for_scenario_run()
    scenario.abort()
    run = first.wait_for_scenario_run()
    deadline = time.time() + 10
    while run.running and time.time() < deadline:
        run.refresh()
        time.sleep(0.05)
    assert run.outcome in ("SUCCESS", "ABORTED")


def _mail(name, condition=None, **config):
    reporter = {"name": name, "messaging": {"type": "mail-scenario", "configuration": {
        "channelId": "smtp", "recipient": "ops@example.com; data@example.com",
        "subject": "DSS scenario ${scenarioName}: ${outcome}", "messageSource": "INLINE",
        "message": "Run ${scenarioRunId} of ${projectKey}.${scenarioId}: ${outcome} ${notAVariable}", **config}}}
    if condition is not None:
        reporter.update(runConditionEnabled=True, runCondition=condition)
    return reporter


def test_end_reporters_send_to_the_outbox_when_their_condition_holds(project, dss):
    """DSS runs a scenario's active END reporters whose run condition holds; the emulator keeps
    their messages (admin API) instead of delivering them."""
    scenario = _scenario_with_steps(project, "alerts", [_build("src")])
    settings = scenario.get_settings()
    settings.raw_reporters.extend([
        _mail("on problems", "outcome != 'SUCCESS'"),
        _mail("on success", "outcome == 'SUCCESS'"),
        _mail("on failure or abort", "outcome == 'FAILED' || outcome == 'ABORTED'"),
        _mail("always, from the template", None, messageSource="TEMPLATE_FILE", templateName="default.ftl"),
        {**_mail("switched off"), "active": False},
        {**_mail("at start"), "phase": "START"},
        {"name": "hook", "messaging": {"type": "webhook-scenario", "configuration": {
            "url": "https://hooks.example.com/x", "method": "POST", "payload": '{"text": "${scenarioName} ${outcome}"}'}}},
    ])
    settings.save()
    dss.admin.clear_messages()
    ok = scenario.run_and_wait()
    sent = dss.admin.messages()
    assert [m["reporterName"] for m in sent] == ["on success", "always, from the template", "hook"]
    mail = sent[0]
    assert mail["type"] == "mail-scenario" and mail["channelId"] == "smtp" and mail["outcome"] == "SUCCESS"
    assert mail["recipients"] == ["ops@example.com", "data@example.com"]
    assert mail["subject"] == "DSS scenario alerts: SUCCESS"
    assert mail["message"] == f"Run {ok.id} of RUN.{scenario.id}: SUCCESS ${{notAVariable}}"
    assert sent[1]["template"] == "default.ftl" and "message" not in sent[1]
    assert sent[2]["configuration"]["payload"] == '{"text": "alerts SUCCESS"}'

    settings = scenario.get_settings()
    settings.raw_steps[0]["params"]["builds"][0]["itemId"] = "missing"
    settings.save()
    dss.admin.clear_messages()
    assert scenario.run_and_wait(no_fail=True).outcome == "FAILED"
    names = [m["reporterName"] for m in dss.admin.messages()]
    assert names == ["on problems", "on failure or abort", "always, from the template", "hook"]
