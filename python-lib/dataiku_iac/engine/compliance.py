"""`report compliance`: the rules (compliance/rules.py) over the configuration, the state and live
DSS, and DSS's own Project Standards where the instance has them (DSS 13.x+): each managed
project's checks are run by DSS (`DSSProject.start_run_project_standards_checks`, its scope's
checks) and their report included as DSS gives it, never re-implemented. A DSS without the
feature answers 404: the report says they were not run, and why.

Read-only: the state is read (a leftover journal folded in memory, as `plan` does), DSS is
observed with the same requests as a plan, nothing is written.
"""

from __future__ import annotations

from typing import Any

from dataiku_iac import defaults
from dataiku_iac.compliance.report import ComplianceReport, evaluate
from dataiku_iac.compliance.rules import load_rules
from dataiku_iac.dssclient import last_status
from dataiku_iac.engine.pipeline import state_with_journal
from dataiku_iac.engine.reconcile import adopt_pending


def compliance_report(session: Any) -> ComplianceReport:
    """The compliance of `session`'s environment: the session loads its configuration with the
    rules' violations kept out of the configuration's problems (they are this report's findings)."""
    reader = session.config_errors_first(session.state_reader)
    state, pending, _interrupted = session.config_errors_first(lambda: state_with_journal(reader))
    desired = session.desired  # before the first DSS request: a bad configuration makes none
    observation, _contexts = session.observe(desired, state)
    if pending:
        state, _notes = adopt_pending(state, pending, observation)
    rules, _problems = load_rules(session.config)  # their problems were the configuration's errors
    policies = {**defaults.POLICIES, **session.config.policies}
    documents = {doc.file: doc for doc in session.config.projects}
    report = evaluate(rules, session.environment, policies, desired=desired, state=state, observation=observation,
                      documents=documents)
    settings = standards_settings(session.config)
    if settings["run"]:
        keys = sorted(k for k, p in observation.projects.items() if p.exists)
        report.project_standards = project_standards(session.connection().client(), keys, settings["fail_at_severity"])
    else:
        report.project_standards = {"status": "disabled", "available": None, "reason": NOT_ASKED,
                                    "fail_at_severity": settings["fail_at_severity"], "projects": {}}
    return report


def standards_settings(cfg: Any) -> dict:
    """`compliance.project_standards` of iac.yml, the environment file's keys on top."""
    base = ((cfg.settings or {}).get("compliance") or {}).get("project_standards") or {}
    env = ((cfg.environment.data if cfg.environment is not None else {}).get("compliance") or {}).get("project_standards") or {}
    return {"run": True, "fail_at_severity": FAIL_AT_SEVERITY, **base, **env}


FAIL_AT_SEVERITY = 4  # DSS's HIGH: a failed check of this severity or more makes the report non-compliant
NOT_ASKED = "compliance.project_standards.run is false: DSS's own checks were not asked for"
NO_PROJECT_STANDARDS = ("this DSS has no Project Standards (DSS 13.x or later; its API answered 404): "
                        "DSS's own checks were not run")


def project_standards(client: Any, project_keys: list[str], fail_at: int) -> dict:
    """Run each project's Project Standards checks in DSS; {status (ran | unavailable), available,
    reason, fail_at_severity, projects: {KEY:
    {scope, checks: [{id, name, status, severity, severity_category, message, failed, blocking}]}
    or {error}}}. A check fails when DSS ran it and found an issue (severity 1-5) or could not run
    it (RUN_ERROR); it is blocking from severity `fail_at`."""
    projects: dict[str, Any] = {}
    for key in project_keys:
        try:
            ran = client.get_project(key).start_run_project_standards_checks().wait_for_result()
        except Exception as exc:  # dataikuapi raises its own errors; the status tells a missing feature
            if last_status() == 404:
                return {"status": "unavailable", "available": False, "reason": NO_PROJECT_STANDARDS,
                        "fail_at_severity": fail_at, "projects": {}}
            projects[key] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        projects[key] = {"scope": ran.scope, "checks": [_check(i, info, fail_at) for i, info in sorted(ran.checks_run_info.items())]}
    return {"status": "ran", "available": True, "reason": "", "fail_at_severity": fail_at, "projects": projects}


def _check(check_id: str, info: Any, fail_at: int) -> dict:
    result, check = info.result, info.check
    status = result.status if result is not None else "RUN_ERROR"
    severity = result.severity if result is not None else None
    issue = status == "RUN_SUCCESS" and bool(severity)
    return {
        "id": check_id, "name": check.name if check is not None else check_id, "status": status,
        "severity": severity, "severity_category": result.severity_category if result is not None else None,
        "message": result.message if result is not None else "", "failed": issue or status == "RUN_ERROR",
        "blocking": issue and int(severity or 0) >= fail_at,
    }
