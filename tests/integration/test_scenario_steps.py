"""Scenarios with every step kind, script scenarios and reporters (issue 12, item 3).

A project is built only with dataikuapi against the emulator: a step-based scenario holding a
step of each kind the configuration types (build, run_checks, compute_metrics, set_variables,
define_variables, sql, python, run_scenario, run_macro) and two raw ones (DSS types without a
typed config), a mail and a webhook reporter (its URL carries a token), a raw trigger; and a
script scenario. `import project` writes it as YAML (code into files, the webhook URL as a secret
reference) and plans `No changes.`; the imported configuration applied to a second project key
reads back equal.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from dataiku_iac.resources.base import ProjectContext
from dataiku_iac.resources.scenario import ScenarioHandler, _document

from tests.e2e.helpers import cli_env, run_cli, write_config

KEY = "STEPS"
HOOK_URL = "https://hooks.example.com/services/T000/B000/s3cr3t-token"
PYTHON_STEP = "from dataiku.scenario import Scenario\n\nScenario().set_scenario_variables(ok=1)\n"
SCRIPT = "from dataiku.scenario import Scenario\n\nscenario = Scenario()\nscenario.build_dataset('orders')\n"
SQL = "DELETE FROM staging WHERE day < CURRENT_DATE - 30"
SECOND_ENV = "dss:\n  api_key_env: DKU_API_KEY\nproject_key:\n  suffix: _COPY\n"


def _step(type_: str, name: str, params: dict, **more: Any) -> dict:
    return {"type": type_, "name": name, "params": params, **more}


STEPS = [
    _step("build_flowitem", "Build orders", {"builds": [{"type": "DATASET", "itemId": "orders", "partitionsSpec": ""}],
                                              "jobType": "RECURSIVE_BUILD"}),
    _step("check_dataset", "Check orders", {"checks": [{"type": "DATASET", "itemId": "orders", "partitionsSpec": ""}],
                                             "handleWarningsAs": "FAILED", "proceedOnFailure": False}),
    _step("compute_metrics", "Metrics", {"computes": [{"type": "DATASET", "itemId": "orders", "partitionsSpec": ""}]}),
    _step("set_project_vars", "Set vars", {"variables": {"last_run": "today"}}),
    _step("define_vars", "Define vars", {"variables": {"limit": 10}, "definitions": [{"key": "day", "value": "now()"}],
                                         "evaluateValues": True}),
    _step("exec_sql", "Purge staging", {"connection": "warehouse", "sql": SQL}),
    _step("custom_python", "Python", {"script": PYTHON_STEP, "envSelection": {"envMode": "INHERIT"}},
          runConditionType="RUN_ALWAYS"),
    _step("run_scenario", "Then the script", {"scenarioId": "SCRIPTED"}),
    _step("runnable", "Macro", {"runnableType": "pyrunnable_builtin-macros_list-datasets-using-connection",
                                "config": {"connection": "filesystem_managed"}, "adminConfig": {}}),
    _step("clear_items", "Clear", {"items": [{"type": "DATASET", "itemId": "orders"}]}),
    _step("send_report", "Report", {"messaging": {"type": "mail-scenario", "configuration": {
        "channelId": "smtp", "recipient": "ops@example.com", "subject": "run ${scenarioName}"}}}),
]
REPORTERS = [
    {"name": "Mail on failure", "active": True, "phase": "END", "runConditionEnabled": True,
     "runCondition": "outcome != 'SUCCESS'",
     "messaging": {"type": "mail-scenario", "configuration": {
         "channelId": "smtp", "recipient": "ops@example.com", "sender": "dss@example.com",
         "subject": "DSS scenario ${scenarioName}: ${outcome}", "message": "See ${scenarioRunURL}",
         "messageSource": "INLINE", "sendAsHTML": False}}},
    {"name": "Hook", "active": True, "phase": "END",
     "messaging": {"type": "webhook-scenario", "configuration": {"url": HOOK_URL, "method": "POST",
                                                                 "payload": "{\"text\": \"${outcome}\"}"}}},
]
TRIGGERS = [
    {"type": "temporal", "name": "Nightly", "active": True,
     "params": {"frequency": "Daily", "hour": 2, "minute": 30, "timezone": "SERVER", "repeatFrequency": 1,
                "startingFrom": "2026-01-01T00:00:00.000Z"}},
    {"type": "sql_query", "name": "New rows", "active": False,
     "params": {"connection": "warehouse", "sql": "SELECT max(id) FROM orders", "repeatFrequency": 900}},
]


def _build_project(client: Any) -> None:
    project = client.create_project(KEY, "Every step", "admin")
    for name in ("orders", "staging"):
        project.create_dataset(name, "Filesystem", params={"connection": "filesystem_managed", "path": f"/{name}"})
    script = project.create_scenario("Scripted", "custom_python", definition={"id": "SCRIPTED"})
    settings = script.get_settings()
    settings.code = SCRIPT
    settings.save()
    definition = {"id": "EVERYTHING", "params": {"steps": copy.deepcopy(STEPS)}, "triggers": copy.deepcopy(TRIGGERS),
                  "reporters": copy.deepcopy(REPORTERS), "active": True}
    project.create_scenario("Everything", "step_based", definition=definition)


def _read_back(client: Any, project_key: str, scenario_id: str) -> dict:
    """What the tool reads of a scenario (its logical attributes), and the raw document's typed parts."""
    settings = client.get_project(project_key).get_scenario(scenario_id).get_settings()
    logical = ScenarioHandler().to_logical(_document(settings), ProjectContext(project_key))
    for trigger in logical["triggers"]:
        trigger.pop("starting_from", None)  # a date the create stamps (today): never configured here
    return logical


def test_every_step_kind_imports_plans_no_changes_and_applies_to_a_second_key(dss: Any, tmp_path: Path) -> None:
    """One apply for the module (the emulator is shared): build, import, plan, rotate, apply elsewhere."""
    client = dss.client()
    _build_project(client)
    root = write_config(tmp_path / "cfg", {}, files={"environments/copy.yml": SECOND_ENV})
    result = run_cli(dss, root, "import", "project", KEY, "-e", "dev")
    assert "Check: plan after import -> No changes." in result.stdout, str(result)
    assert "not imported" not in result.stdout, str(result)
    _assert_typed_yaml(root)

    secret = cli_env(dss, IAC_SECRET_STEPS_EVERYTHING_REPORTER2_URL=HOOK_URL)
    plan = run_cli(dss, root, "plan", "-e", "dev", env=secret)
    assert "No changes." in plan.stdout, plan.stdout

    rotated = run_cli(dss, root, "plan", "-e", "dev",
                      env=cli_env(dss, IAC_SECRET_STEPS_EVERYTHING_REPORTER2_URL=HOOK_URL + "-rotated"))
    assert "scenario.STEPS.EVERYTHING" in rotated.stdout and "reporters" in rotated.stdout, str(rotated)
    assert "hooks.example.com" not in rotated.stdout + rotated.stderr

    run_cli(dss, root, "apply", "-e", "copy", "--auto-approve", env=secret)
    for scenario_id in ("EVERYTHING", "SCRIPTED"):
        assert _read_back(client, f"{KEY}_COPY", scenario_id) == _read_back(client, KEY, scenario_id), scenario_id
    assert client.get_project(f"{KEY}_COPY").get_scenario("SCRIPTED").get_settings().code == SCRIPT
    hook = client.get_project(f"{KEY}_COPY").get_scenario("EVERYTHING").get_settings().get_raw()["reporters"][1]
    assert hook["messaging"]["configuration"]["url"] == HOOK_URL  # the secret's value reached DSS
    assert "No changes." in run_cli(dss, root, "plan", "-e", "copy", env=secret).stdout
    assert HOOK_URL not in "".join(p.read_text(errors="replace") for p in root.rglob("*") if p.is_file())


def _assert_typed_yaml(root: Path) -> None:
    """Each step kind the configuration types is written typed, code in files, the URL as a reference."""
    document = yaml.safe_load((root / "projects" / f"{KEY.lower()}.yml").read_text())
    scenarios = {s["id"]: s for s in document["scenarios"]}
    everything, script = scenarios["EVERYTHING"], scenarios["SCRIPTED"]
    assert [s["type"] for s in everything["steps"]] == [
        "build", "run_checks", "compute_metrics", "set_variables", "define_variables", "sql", "python",
        "run_scenario", "run_macro", "clear_items", "send_report"]
    sql, python = everything["steps"][5], everything["steps"][6]
    assert (root / sql["sql_file"]).read_text() == SQL and sql["connection"] == "warehouse"
    assert (root / python["code_file"]).read_text() == PYTHON_STEP and python["run_condition"] == "always"
    assert everything["steps"][4]["formulas"] == {"day": "now()"}
    assert everything["steps"][9]["params"]["items"] == [{"type": "DATASET", "itemId": "orders"}]
    assert (root / script["script_file"]).read_text() == SCRIPT and "steps" not in script
    mail, hook = everything["reporters"]
    assert mail == {"type": "mail", "name": "Mail on failure", "condition": "outcome != 'SUCCESS'", "channel": "smtp",
                    "to": "ops@example.com", "from": "dss@example.com", "subject": "DSS scenario ${scenarioName}: ${outcome}",
                    "message": "See ${scenarioRunURL}", "html": False}
    assert hook["url"] == {"secret_env": "IAC_SECRET_STEPS_EVERYTHING_REPORTER2_URL"}
    assert [t["type"] for t in everything["triggers"]] == ["temporal", "sql_query"]
