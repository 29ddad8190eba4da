"""The run-tests macro and scenario step (issue 13 item 4), driven through the emulator as DSS runs
them: the configuration comes from a project library, the tests run in an ephemeral environment
of the same DSS, the report (JUnit XML valid against Jenkins' schema, JSON, coverage) lands in a
managed folder read back through dataikuapi, a failing test fails the step with its name, and
the test projects are gone afterwards, also after an abort. Python test files run only when a
DSS administrator allows them in the plugin's settings."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dataikuapi
import pytest
import xmlschema
from plugin_helpers import PLUGIN_ID, run_macro, seed_users, upload_library

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"
QA = "QA"
STEP_TYPE = f"pystep_{PLUGIN_ID}_run-tests"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}

SHOP = """\
project:
  key: SHOP
  name: Shop
datasets:
  - name: orders_raw
    type: managed
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
  - name: orders
    type: managed
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
recipes:
  - name: copy_orders
    type: sync
    inputs: [orders_raw]
    outputs: [orders]
"""

PASSING = """\
tests:
  - name: orders_has_id
    schema:
      dataset: orders
      columns: [{name: id, type: bigint}, {name: amount}]
  - name: raw_exact
    schema:
      dataset: orders_raw
      exact: true
      columns: [{name: id, type: bigint}, {name: amount, type: double}]
"""

FAILING = PASSING + """\
  - name: amount_is_text
    schema:
      dataset: orders
      columns: [{name: amount, type: string}]
"""

PYTHON_TEST = 'PROJECT = "SHOP"\n\n\ndef test_context_is_given(t):\n    assert t is not None\n'


def _config(tests: str, python: bool = False) -> dict:
    files = {"iac.yml": "version: 1\n", "environments/dev.yml": "variables:\n  team: qa\n",
             "projects/shop.yml": SHOP, "tests/shop.yml": tests}
    if python:
        files["tests/test_checks.py"] = PYTHON_TEST
        files["tests/helpers.py"] = "TEAM = 'qa'\n"  # a module a test file may import: withheld too
    return files


@pytest.fixture
def qa(dss: Any) -> dict:
    """Project QA: the configuration in its library, a managed folder for the reports."""
    client = dss.client()
    seed_users(dss)
    upload_library(client, QA, "iac", _config(PASSING, python=True))
    folder = client.get_project(QA).create_managed_folder("test_reports")
    return {"client": client, "folder": folder.id}


def _library(client: Any, tests: str) -> None:
    upload_library(client, QA, "iac", _config(tests))


def _read(client: Any, folder_id: str, path: str) -> bytes:
    return client.get_project(QA).get_managed_folder(folder_id).get_file(path).content


def _paths(client: Any, folder_id: str) -> list:
    return sorted(i["path"] for i in client.get_project(QA).get_managed_folder(folder_id).list_contents()["items"])


def _test_projects(client: Any) -> list:
    """Projects of an ephemeral environment (keys suffixed _T<run id>)."""
    return sorted(p["projectKey"] for p in client.list_projects() if "_T" in p["projectKey"])


def _step_scenario(client: Any, config: dict) -> Any:
    project = client.get_project(QA)
    scenario = project.create_scenario("Nightly tests", "step_based")
    settings = scenario.get_settings()
    settings.raw_steps.append({"id": "iac_tests", "type": STEP_TYPE, "name": "Run the IaC tests", "enabled": True,
                               "runConditionType": "RUN_IF_STATUS_MATCH", "runConditionStatuses": ["SUCCESS", "WARNING"],
                               "params": {"config": config}})
    settings.save()
    return scenario


def test_macro_writes_valid_junit_json_and_coverage_into_the_folder_and_leaves_no_test_project(dss, qa):
    client, folder = qa["client"], qa["folder"]
    html = run_macro(client, QA, "run-tests", {**LIBRARY, "report_folder": folder})
    assert "tests passed in environment dev: 2 passed, 1 skipped" in html, html
    assert "tests/shop.yml::orders_has_id" in html and "PASSED" in html

    junit = _read(client, folder, "/tests/dev/latest/junit.xml").decode("utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(junit)
    assert 'name="orders_has_id"' in junit and 'name="raw_exact"' in junit
    report = json.loads(_read(client, folder, "/tests/dev/latest/report.json"))
    assert report["ok"] is True and report["counts"] == {"passed": 2, "failed": 0, "error": 0, "skipped": 1}, report
    assert report["environment"] == "dev" and report["source"]["kind"] == "library"
    assert set(report["test_projects"]) == {"SHOP"} and report["test_projects"]["SHOP"].startswith("SHOP_T")
    coverage = json.loads(_read(client, folder, "/tests/dev/latest/coverage.json"))
    assert coverage["datasets"] == {"covered": 2, "total": 2, "percent": 100.0}, coverage
    assert coverage == report["coverage"]
    # One directory per run, the same files as latest/.
    paths = _paths(client, folder)
    runs = sorted({p.split("/")[4] for p in paths if p.startswith("/tests/dev/runs/")})
    assert len(runs) == 1 and runs[0].endswith("-" + report["run_id"]), paths
    for name in ("junit.xml", "report.json", "coverage.json", "report.html"):
        assert _read(client, folder, f"/tests/dev/runs/{runs[0]}/{name}") == _read(client, folder, f"/tests/dev/latest/{name}")
    assert _test_projects(client) == []  # the ephemeral environment was destroyed

    # The Python test file was not run (no administrator allowed it): skipped, with the reason.
    [python] = [t for t in report["tests"] if t["file"].endswith(".py")]
    assert python["id"] == "tests/test_checks.py::all tests of the file", python
    assert python["status"] == "skipped" and "a DSS administrator allows them" in python["message"], python
    assert report["python_tests"] == {"run": False, "withheld": ["tests/helpers.py", "tests/test_checks.py"]}
    assert "<skipped" in junit and "tests_test_checks_py" in junit


def test_python_test_files_run_only_when_an_administrator_allows_them(dss, qa):
    client = qa["client"]
    alice = dataikuapi.DSSClient(dss.url, api_key="alice-key")
    with pytest.raises(Exception, match=r"403|[Aa]dmin"):
        alice.get_plugin(PLUGIN_ID).get_settings()  # plugin settings: administrators only
    settings = client.get_plugin(PLUGIN_ID).get_settings()
    settings.get_raw()["config"]["allow_python_tests"] = True
    settings.save()
    html = run_macro(client, QA, "run-tests", LIBRARY)
    assert "tests passed in environment dev: 3 passed" in html, html
    assert "tests/test_checks.py::test_context_is_given" in html  # run, in the macro's process
    assert "all tests of the file" not in html and "a DSS administrator allows them" not in html, html


def test_failing_test_fails_the_step_with_its_name_and_the_report_says_why(dss, qa):
    client, folder = qa["client"], qa["folder"]
    _library(client, FAILING)
    scenario = _step_scenario(client, {**LIBRARY, "report_folder": folder})
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    step = run.get_details()["stepRuns"][-1]
    message = step["result"]["thrown"]["message"]
    assert "tests failed in environment dev: 1 failed, 2 passed" in message, message
    assert "tests/shop.yml::amount_is_text (failed)" in message, message
    assert "/tests/dev/latest/" in message  # where to read the whole report
    log = run.get_log(step["stepId"])
    assert "tests/shop.yml::amount_is_text FAILED" in log and "column 'amount'" in log, log
    report = json.loads(_read(client, folder, "/tests/dev/latest/report.json"))
    assert report["ok"] is False and report["counts"]["failed"] == 1
    junit = _read(client, folder, "/tests/dev/latest/junit.xml").decode("utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(junit)
    assert "<failure" in junit
    assert _test_projects(client) == []

    # The same step passes once the test passes.
    _library(client, PASSING)
    assert scenario.run_and_wait(no_fail=True).outcome == "SUCCESS"
    assert json.loads(_read(client, folder, "/tests/dev/latest/report.json"))["ok"] is True


def test_the_step_needs_a_report_folder(dss, qa):
    scenario = _step_scenario(qa["client"], LIBRARY)
    run = scenario.run_and_wait(no_fail=True)
    assert run.outcome == "FAILED"
    assert "report_folder" in run.get_details()["stepRuns"][-1]["result"]["thrown"]["message"]


def test_aborting_the_step_destroys_the_test_environment(dss, qa):
    client, folder = qa["client"], qa["folder"]
    scenario = _step_scenario(client, {**LIBRARY, "report_folder": folder})
    dss.admin.set_latency(150)  # slow enough to abort while the environment exists
    scenario.run()
    deadline = time.time() + 60
    while not _test_projects(client) and time.time() < deadline:
        time.sleep(0.1)
    assert _test_projects(client), "the test environment never appeared"
    scenario.abort()
    deadline = time.time() + 60
    while scenario.get_current_run() is not None and time.time() < deadline:
        time.sleep(0.2)
    dss.admin.set_latency(0)
    [last] = scenario.get_last_runs(limit=1)
    assert last.outcome == "ABORTED", last.get_details()
    assert _test_projects(client) == []  # destroyed on DSS's SIGINT, before the process ended


def test_kept_environment_stays_for_debugging_and_the_next_run_removes_it(dss, qa):
    client = qa["client"]
    html = run_macro(client, QA, "run-tests", {**LIBRARY, "keep": True})
    [kept] = _test_projects(client)
    assert kept.startswith("SHOP_T") and kept in html and "the next run removes them" in html
    run_macro(client, QA, "run-tests", LIBRARY)
    assert _test_projects(client) == []


def test_who_may_not_create_projects_gets_the_error_and_nothing_is_left(dss, qa):
    client, folder = qa["client"], qa["folder"]
    dss.admin.seed(groups=[{"name": "viewers", "mayCreateProjects": False}],
                   users=[{"login": "bob", "groups": ["viewers"]}],
                   api_keys=[{"key": "bob-key", "id": "bob01", "login": "bob"}])
    perms = client.get_project(QA).get_permissions()
    perms["permissions"].append({"group": "viewers", "readProjectContent": True, "writeProjectContent": True})
    client.get_project(QA).set_permissions(perms)
    bob = dataikuapi.DSSClient(dss.url, api_key="bob-key")
    html = run_macro(bob, QA, "run-tests", {**LIBRARY, "report_folder": folder})
    assert "tests failed in environment dev" in html and "the run stopped" in html, html
    report = json.loads(_read(client, folder, "/tests/dev/latest/report.json"))
    assert report["ok"] is False and "applying the configuration to the test environment failed" in report["error"]
    assert _test_projects(client) == []
