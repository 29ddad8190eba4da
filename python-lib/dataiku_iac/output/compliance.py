"""The compliance report as text, Markdown and JUnit XML (its JSON is `ComplianceReport.to_json`).

JUnit: one test suite per rule, one test case per object the rule checked (plus one per
environment policy it checked); a finding of severity error is a `<failure>`, one of severity
warning a passing case whose `<system-out>` says WARNING (JUnit has no warning outcome, and a
CI must not fail on one). DSS Project Standards make one more suite, a case per check and project.
"""

from __future__ import annotations

import html
import re
from typing import Any
from xml.etree import ElementTree as ET

from dataiku_iac.compliance.report import ComplianceReport, Finding, count_checks
from dataiku_iac.errors import printable
from dataiku_iac.output.text import Style, plural


def render_text(report: ComplianceReport, style: Style = Style()) -> str:
    lines = [style(f"Compliance of environment {report.environment!r}", bold=True) + _scope(report)]
    for finding in report.findings:
        color = "red" if finding.severity == "error" else "yellow"
        where = f" [{finding.location}]" if finding.location else ""
        lines.append(style(f"  {finding.severity}: ", color) + style(
            f"{finding.address}: {finding.message} (rule {finding.rule}; seen in {', '.join(finding.seen_in)}){where}"))
    lines += _standards_text(report, style)
    lines.append(_summary(report, style))
    return "\n".join(lines) + "\n"


def _scope(report: ComplianceReport) -> str:
    return f": {_checked(report)}"


def _checked(report: ComplianceReport) -> str:
    checked = sum(len(a) for a in report.checked.values())
    sources = "configuration, state and live DSS" if report.live else "configuration and state"
    return f"{plural(len(report.rules), 'rule')}, {plural(checked, 'check')} over the {sources}"


def _summary(report: ComplianceReport, style: Style) -> str:
    text = f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')}{_standards_summary(report)}."
    if report.compliant:
        return style("Compliant: ", "green", bold=True) + text
    return style("Not compliant: ", "red", bold=True) + text


def _standards_summary(report: ComplianceReport) -> str:
    """'; Project Standards: 2 of 3 checks failed or not run, 1 blocking (DSS severity 4 or more)':
    the same counts as each project's line, and which of them make the report non-compliant."""
    counts = report.standards_counts()
    bad = counts["failed"] + counts["not_run"]
    if not bad:
        return ""
    fail_at = report.project_standards.get("fail_at_severity", "?")
    return (f"; Project Standards: {bad} of {plural(counts['checks'], 'check')} failed or not run, "
            f"{counts['blocking']} blocking (DSS severity {fail_at} or more)")


def _project_line(key: str, project: dict[str, Any]) -> str:
    checks = project.get("checks") or []
    counts = count_checks(checks)
    scope = f" (scope {project['scope']})" if project.get("scope") else ""
    return (f"Project Standards of {key}{scope}: {plural(len(checks), 'check')}, {counts['passed']} passed, "
            f"{counts['failed']} failed ({counts['blocking']} blocking), {counts['not_run']} not run")


def _check_status(check: dict[str, Any]) -> str:
    """What DSS said of one check: its status, its severity when it ran, and whether it blocks."""
    if check.get("status") == "RUN_ERROR":
        return "RUN_ERROR (DSS could not run the check)"
    severity = check.get("severity")
    category = f" ({check['severity_category']})" if check.get("severity_category") else ""
    outcome = "failed, blocking" if check.get("blocking") else ("failed" if check.get("failed") else "passed")
    return f"{check.get('status')}, severity {severity}{category}, {outcome}" if severity else f"{check.get('status')}, {outcome}"


def _not_run(standards: dict[str, Any]) -> str:
    return f"DSS Project Standards: not run ({standards.get('reason') or 'unavailable'})"


def _standards_text(report: ComplianceReport, style: Style) -> list[str]:
    standards = report.project_standards
    if not standards:
        return []
    if not standards.get("available"):
        return [style(f"  {_not_run(standards)}")]
    lines = []
    for key, project in sorted((standards.get("projects") or {}).items()):
        if project.get("error"):
            lines.append(style(f"  Project Standards of {key}: not run ({project['error']})", "yellow"))
            continue
        lines.append(style(f"  {_project_line(key, project)}"))
        for check in project.get("checks") or []:
            if check.get("failed"):
                color = "red" if check.get("blocking") else "yellow"
                lines.append(style(f"    {_check_status(check)}: {check.get('name')}: {check.get('message') or ''}", color))
    return lines


def render_markdown(report: ComplianceReport) -> str:
    state = "compliant" if report.compliant else "**not compliant**"
    lines = [f"### Compliance of `{_code(report.environment)}`: {state}", "",
             f"{_checked(report)}; "
             f"{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')}"
             f"{_standards_summary(report)}.", ""]
    if report.findings:
        lines += ["| severity | rule | object | problem | seen in | where |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [_row(f) for f in report.findings]
        lines.append("")
    lines += _standards_markdown(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def _row(finding: Finding) -> str:
    cells = [finding.severity, f"`{_code(finding.rule)}`", f"`{_code(finding.address)}`", _cell(finding.message),
             ", ".join(finding.seen_in), f"`{_code(finding.location)}`" if finding.location else ""]
    return "| " + " | ".join(cells) + " |"


def _standards_markdown(report: ComplianceReport) -> list[str]:
    standards = report.project_standards
    if not standards:
        return []
    if not standards.get("available"):
        return [_cell(_not_run(standards)) + ".", ""]
    lines = ["#### DSS Project Standards", "", "| project | check | status | severity | result | message |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key, project in sorted((standards.get("projects") or {}).items()):
        if project.get("error"):
            lines.append(f"| `{_code(key)}` | | | | not run | {_cell(str(project['error']))} |")
        for check in project.get("checks") or []:
            lines.append(f"| `{_code(key)}` | {_cell(str(check.get('name')))} | {_cell(str(check.get('status') or ''))} | "
                         f"{check.get('severity') or ''} | {_result(check)} | {_cell(str(check.get('message') or ''))} |")
    return [*lines, ""]


def _result(check: dict[str, Any]) -> str:
    if check.get("status") == "RUN_ERROR":
        return "not run"
    return "**failed, blocking**" if check.get("blocking") else ("failed" if check.get("failed") else "passed")


_QUOTED = re.compile(r"(?<!\w)'([^'\n]*)'(?!\w)")  # 'Hand_Made', '[a-z][a-z0-9_]*' (not the ' of DSS's)


def _cell(text: str) -> str:
    """A table cell: the message's quoted names and patterns as code spans, the rest escaped
    for HTML (quotes left as they are) and `|` escaped for the table."""
    parts = _QUOTED.split(printable(text))
    cells = [f"`{_code(part)}`" if i % 2 else html.escape(part, quote=False) for i, part in enumerate(parts)]
    return "".join(cells).replace("|", "\\|")


def _code(text: str) -> str:
    return printable(text).replace("`", "'")


def render_junit(report: ComplianceReport) -> str:
    suites = ET.Element("testsuites", name=f"dataiku-iac compliance {report.environment}")
    by_case = {(f.rule, f.address): [] for f in report.findings}  # type: dict[tuple[str, str], list[Finding]]
    for finding in report.findings:
        by_case[(finding.rule, finding.address)].append(finding)
    for rule in report.rules:
        suite = ET.SubElement(suites, "testsuite", name=f"{rule.id} ({rule.kind})")
        addresses = report.checked.get(rule.id, [])
        failures = 0
        for address in addresses:
            case = ET.SubElement(suite, "testcase", classname=f"compliance.{rule.id}", name=address)
            failures += _outcome(case, by_case.get((rule.id, address), []))
        suite.set("tests", str(len(addresses)))
        suite.set("failures", str(failures))
    _standards_junit(suites, report.project_standards)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _outcome(case: ET.Element, findings: list[Finding]) -> int:
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        failure = ET.SubElement(case, "failure", message=_xml(errors[0].message), type="compliance")
        failure.text = _xml("\n".join(_line(f) for f in errors))
    warnings = [f for f in findings if f.severity == "warning"]
    if warnings:
        ET.SubElement(case, "system-out").text = _xml("\n".join(f"WARNING {_line(f)}" for f in warnings))
    return 1 if errors else 0


def _line(finding: Finding) -> str:
    where = f" at {finding.location}" if finding.location else ""
    return f"{finding.message} (seen in {', '.join(finding.seen_in)}){where}"


def _standards_junit(suites: ET.Element, standards: dict[str, Any]) -> None:
    """One suite, a case per check and project; when DSS's checks were not run (no Project
    Standards in this DSS, or `run: false`), one skipped case that says why."""
    if not standards:
        return
    suite = ET.SubElement(suites, "testsuite", name="DSS Project Standards")
    if not standards.get("available"):
        case = ET.SubElement(suite, "testcase", classname="project_standards", name="DSS Project Standards")
        ET.SubElement(case, "skipped", message=_xml(_not_run(standards)))
        suite.set("tests", "1")
        suite.set("failures", "0")
        suite.set("skipped", "1")
        return
    count = failures = 0
    for key, project in sorted((standards.get("projects") or {}).items()):
        for check in project.get("checks") or []:
            count += 1
            case = ET.SubElement(suite, "testcase", classname=f"project_standards.{key}", name=_xml(str(check.get("name"))))
            if check.get("failed") and check.get("blocking"):
                failures += 1
                ET.SubElement(case, "failure", message=_xml(str(check.get("message") or "")), type="project_standards")
            elif check.get("failed"):
                ET.SubElement(case, "system-out").text = _xml(f"WARNING {_check_status(check)}: {check.get('message') or ''}")
    suite.set("tests", str(count))
    suite.set("failures", str(failures))


def _xml(text: str) -> str:
    """Text XML 1.0 can hold (control characters escaped as printable does)."""
    return printable(text, keep_newlines=True)
