"""DSS Project Standards in `report compliance` (issue 15, item 5): our rules shipped as a check
spec of the plugin (`python-project-standards-check-specs/compliance-rule`), imported into DSS's
check library and scoped to a project through dataikuapi; the report runs the project's checks
in DSS and includes their result (a failure of severity HIGH makes it non-compliant); a DSS
without Project Standards (the emulator's switch `project_standards: absent`) answers 404 and
the report says the checks were not run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataiku_iac.cli import scaffold

from tests.e2e.helpers import run_cli, write_config

KEY = "STANDARDS"
PROJECT = f"""\
project:
  key: {KEY}
  name: Standards
  permissions:
    - group: data_team
      role: contributor
"""
ELEMENT_TYPE = "dataiku-iac_compliance-rule"


def _scoped_check(client: Any, **params: Any) -> str:
    return _scoped_checks(client, params)[0]


def _scoped_checks(client: Any, *checks_params: dict[str, Any]) -> list[str]:
    standards = client.get_project_standards()
    assert ELEMENT_TYPE in [s["elementType"] for s in standards.list_check_specs()]
    ids = []
    for params in checks_params:
        [item] = standards.create_checks([ELEMENT_TYPE])
        check = item.to_check()
        check.check_params = {**check.check_params, **params}
        check.save()
        ids.append(check.id)
    standards.create_scope("iac", checks=ids, items=[KEY])
    return ids


def _report(dss: Any, root: Path, expect: int) -> dict:
    return json.loads(run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", "json", expect=expect).stdout)


def test_the_plugins_check_runs_in_dss_and_its_result_is_reported(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"standards.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    client = dss.client()
    check_id = _scoped_check(client, kind="forbidden_permission", groups="*", permissions="admin", severity=4)
    assert _report(dss, root, 0)["project_standards"]["projects"][KEY]["checks"][0]["failed"] is False

    project = client.get_project(KEY)
    permissions = project.get_permissions()
    permissions["permissions"].append({"group": "ops", "admin": True})
    project.set_permissions(permissions)
    body = _report(dss, root, 2)
    assert body["findings"] == [] and body["compliant"] is False  # no rule of ours: DSS's check found it
    standards = body["project_standards"]
    assert standards["available"] is True and standards["projects"][KEY]["scope"] == "iac"
    [check] = standards["projects"][KEY]["checks"]
    assert check["id"] == check_id and check["status"] == "RUN_SUCCESS" and check["severity"] == 4
    assert check["failed"] and check["blocking"] and "project.STANDARDS: group 'ops' has admin" in check["message"]
    text = run_cli(dss, root, "report", "compliance", "-e", "dev", expect=2).stdout
    assert "Project Standards of STANDARDS (scope iac): 1 check, 0 passed, 1 failed (1 blocking), 0 not run" in text
    assert "Not compliant: 0 errors, 0 warnings; Project Standards: 1 of 1 check failed or not run, 1 blocking" in text
    junit = run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", "junit", expect=2).stdout
    assert 'testsuite name="DSS Project Standards" tests="1" failures="1"' in junit
    # The same check's last report, as DSS keeps it for the project
    assert project.get_project_standards_last_report().checks_run_info[check_id].result.severity == 4


def test_a_low_severity_failure_is_reported_without_failing(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"standards.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    _scoped_check(dss.client(), kind="required_tags", types="project", tags="team:*", severity=2)
    [check] = _report(dss, root, 0)["project_standards"]["projects"][KEY]["checks"]
    assert check["failed"] and not check["blocking"] and check["severity_category"] == "LOW"


def test_a_dss_without_project_standards_is_said_so(dss: Any, tmp_path: Path) -> None:
    dss.admin.set_behaviour(project_standards="absent")
    root = write_config(tmp_path / "cfg", {"standards.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    standards = _report(dss, root, 0)["project_standards"]
    assert standards["available"] is False and "has no Project Standards" in standards["reason"]
    assert "DSS Project Standards: not run (this DSS has no Project Standards" in run_cli(
        dss, root, "report", "compliance", "-e", "dev").stdout
    junit = run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", "junit").stdout
    assert 'testsuite name="DSS Project Standards" tests="1" failures="0" skipped="1"' in junit
    assert '<skipped message="DSS Project Standards: not run (this DSS has no Project Standards' in junit


def test_project_standards_turned_off_are_said_so_in_every_format(dss: Any, tmp_path: Path) -> None:
    settings = "compliance:\n  project_standards: {run: false}\n"
    root = write_config(tmp_path / "cfg", {"standards.yml": PROJECT}, iac=scaffold.IAC_YML + settings)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    standards = _report(dss, root, 0)["project_standards"]
    assert standards["status"] == "disabled" and "project_standards.run is false" in standards["reason"], standards
    text = run_cli(dss, root, "report", "compliance", "-e", "dev").stdout
    assert "DSS Project Standards: not run (compliance.project_standards.run is false" in text
    junit = run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", "junit").stdout
    assert '<skipped message="DSS Project Standards: not run (compliance.project_standards.run is false' in junit


def test_a_check_dss_could_not_run_shows_its_status_and_the_counts_agree(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"standards.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    client = dss.client()
    _scoped_checks(client, {"kind": "forbidden_permission", "groups": "*", "permissions": "admin", "severity": 4},
                   {"kind": "not_a_kind"})
    project = client.get_project(KEY)
    permissions = project.get_permissions()
    permissions["permissions"].append({"group": "ops", "admin": True})
    project.set_permissions(permissions)
    text = run_cli(dss, root, "report", "compliance", "-e", "dev", expect=2).stdout
    assert "None" not in text, text
    assert "1 check" not in text and "2 checks, 0 passed, 1 failed (1 blocking), 1 not run" in text, text
    assert "    RUN_ERROR (DSS could not run the check): " in text
    assert "    RUN_SUCCESS, severity 4 (HIGH), failed, blocking: " in text
    assert "Not compliant: 0 errors, 0 warnings; Project Standards: 2 of 2 checks failed or not run, 1 blocking " \
           "(DSS severity 4 or more)." in text
    markdown = run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", "markdown", expect=2).stdout
    assert "; Project Standards: 2 of 2 checks failed or not run, 1 blocking (DSS severity 4 or more)." in markdown
    assert "| RUN_ERROR |  | not run |" in markdown and "| RUN_SUCCESS | 4 | **failed, blocking** |" in markdown
    assert "&#x27;" not in markdown and "group `ops` has admin" in markdown, markdown
