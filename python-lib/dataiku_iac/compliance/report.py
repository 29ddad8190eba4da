"""`report compliance`: the rules over the configuration, the state and live DSS (pure).

One finding per rule, object and problem, with where it was seen: `config` (the desired model,
located at its file and line), `state` (what the last apply recorded) and `live` (DSS now). A
live object can break a rule the configuration keeps (an admin permission added in the UI, a
dataset created by hand with a name the naming rule refuses): it is reported, `live` only.
DSS's own Project Standards, where the instance has them, are run by the engine and attached
as they come (`project_standards`), never re-implemented here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional

from dataiku_iac.address import address_of, project_of
from dataiku_iac.compliance.rules import Rule, Violation, check_policies, check_subject, locate_violation

WHERE = ("config", "state", "live")
EXIT_VIOLATIONS = 2  # an error-severity finding (or a failed Project Standards check of severity error)


@dataclass
class Finding:
    rule: str
    kind: str
    severity: str  # error | warning
    address: str
    attribute: str
    message: str
    seen_in: list[str] = field(default_factory=list)  # config | state | live
    location: str = ""  # file:line of the object in the configuration, when it is there

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "kind": self.kind, "severity": self.severity, "address": self.address,
            "attribute": self.attribute, "message": self.message, "seen_in": list(self.seen_in),
            "location": self.location or None,
        }


@dataclass
class ComplianceReport:
    environment: str
    rules: list[Rule]
    findings: list[Finding] = field(default_factory=list)
    # rule id -> the addresses it checked (each a test case of the JUnit report)
    checked: dict[str, list[str]] = field(default_factory=dict)
    live: bool = True  # whether live DSS was read
    # DSS Project Standards: {"status": ran | unavailable | disabled, "available", "reason",
    # "fail_at_severity", "projects": {KEY: {...}}} (engine/compliance.py); {}: not asked (offline)
    project_standards: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def standards_failures(self) -> list[dict[str, Any]]:
        """The failed Project Standards checks whose DSS severity is an error (engine/compliance.py)."""
        return [c for p in (self.project_standards.get("projects") or {}).values()
                for c in p.get("checks") or [] if c.get("failed") and c.get("blocking")]

    def standards_counts(self) -> dict[str, int]:
        """The Project Standards checks: how many DSS ran, passed, found an issue (failed), could
        not run (not_run: RUN_ERROR), and of the failed how many block (DSS severity >= fail_at)."""
        checks = [c for p in (self.project_standards.get("projects") or {}).values() for c in p.get("checks") or []]
        return count_checks(checks)

    @property
    def compliant(self) -> bool:
        return not self.errors and not self.standards_failures

    def exit_code(self) -> int:
        return 0 if self.compliant else EXIT_VIOLATIONS

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": 1,
            "environment": self.environment,
            "compliant": self.compliant,
            "live_checked": self.live,
            "summary": {"rules": len(self.rules), "errors": len(self.errors), "warnings": len(self.warnings),
                        "checked": sum(len(a) for a in self.checked.values())},
            "rules": [r.to_json() | {"where": r.where} for r in self.rules],
            "findings": [f.to_json() for f in self.findings],
            "project_standards": self.project_standards or None,
        }


def count_checks(checks: list[dict[str, Any]]) -> dict[str, int]:
    not_run = sum(1 for c in checks if c.get("status") == "RUN_ERROR")
    failed = sum(1 for c in checks if c.get("failed")) - not_run
    return {"checks": len(checks), "passed": len(checks) - failed - not_run, "failed": failed, "not_run": not_run,
            "blocking": sum(1 for c in checks if c.get("failed") and c.get("blocking"))}


@dataclass(frozen=True)
class _Seen:
    """One object, as one of the three sources has it."""

    address: str
    subject: Any  # type, name, attributes
    where: str  # config | state | live
    location: str = ""


def evaluate(rules: list[Rule], environment: str, policies: Mapping[str, Any], *, desired: Any,
             state: Any = None, observation: Any = None, documents: Optional[Mapping[str, Any]] = None) -> ComplianceReport:
    """Every active rule of `environment` over the desired model, the state and the observation
    (either may be None: not read). `documents` (project file -> its ProjectDocument) locates a
    configured object's finding at the attribute's line, a module item's with its call site."""
    report = ComplianceReport(environment, [r for r in rules if r.applies_to(environment)], live=observation is not None)
    declared = list(_config(desired))
    located = {item.address: item.location for item in declared}
    seen = [*declared, *(_located(item, located) for item in
                         [*_state(state), *_live(observation, _config_keys(desired, state), _owners(desired, state))])]
    found: dict[tuple[str, str, str, str], Finding] = {}
    for rule in report.rules:
        checked = report.checked.setdefault(rule.id, [])
        for item in seen:
            if item.subject.type in rule.types and item.address not in checked:
                checked.append(item.address)
            for violation in check_subject(rule, item.address, item.subject):
                location = item.location
                if item.where == "config" and documents is not None:
                    location = locate_violation(violation, item.subject, documents)
                _record(found, violation, item.where, location)
        for violation in check_policies(rule, environment, policies):
            checked.append(violation.address)
            _record(found, violation, "config", "")
        checked.sort()
    report.findings = sorted(found.values(), key=lambda f: (f.severity != "error", f.rule, f.address, f.message))
    return report


def _record(found: dict[tuple[str, str, str, str], Finding], violation: Violation, where: str, location: str) -> None:
    rule = violation.rule
    key = (rule.id, violation.address, violation.attribute, violation.message)
    finding = found.setdefault(key, Finding(rule.id, rule.kind, rule.severity, violation.address, violation.attribute,
                                            violation.message))
    if where not in finding.seen_in:
        finding.seen_in.append(where)
        finding.seen_in.sort(key=WHERE.index)
    if location and not finding.location:
        finding.location = location


def _config(desired: Any) -> Iterable[_Seen]:
    for address, resource in sorted(desired.resources.items()):
        source = resource.source
        location = f"{source.file}:{source.line}" if source.line else source.file
        yield _Seen(address, resource, "config", location)


def _located(item: _Seen, located: Mapping[str, str]) -> _Seen:
    """An object of the state or of DSS at its item in the configuration, or else at its project's
    (where it would be declared): a finding seen only in DSS still says which file to look at."""
    location = located.get(item.address) or located.get(address_of("project", project_of(item.address))) or ""
    return dataclasses.replace(item, location=location)


def _state(state: Any) -> Iterable[_Seen]:
    if state is None:
        return
    for address, entry in sorted(state.resources.items()):
        yield _Seen(address, entry, "state")


def _config_keys(desired: Any, state: Any) -> dict[str, str]:
    """Effective DSS project key -> the key as the configuration writes it (addresses use it)."""
    keys = {} if state is None else {e.project_key: project_of(a) for a, e in state.resources.items() if e.type == "project"}
    keys.update({effective: written for written, effective in desired.project_keys().items()})
    return keys


def _owners(desired: Any, state: Any) -> dict[tuple[str, str, str], str]:
    """(effective project key, type, DSS id or name) -> the address the state or the configuration
    gives the object: a module's object is `module.NAME.…`, never a second, unlocated address
    built from its DSS name. The state's record wins (matched by DSS id, as drift matches)."""
    owners = {(r.project_key, r.type, r.name): a for a, r in desired.resources.items()}
    if state is not None:
        owners.update({(e.project_key, e.type, e.dss_id): a for a, e in state.resources.items()})
    return owners


def _live(observation: Any, config_keys: Mapping[str, str], owners: Mapping[tuple[str, str, str], str]) -> Iterable[_Seen]:
    if observation is None:
        return
    for key, project in sorted(observation.projects.items()):
        if not project.exists or project.project is None:
            continue
        written = config_keys.get(key, key)
        yield _Seen(owners.get((key, "project", key), address_of("project", written)), project.project, "live")
        for obj in sorted(project.all_objects(), key=lambda o: (o.type, o.name)):
            address = owners.get((key, obj.type, obj.dss_id)) or owners.get((key, obj.type, obj.name))
            yield _Seen(address or address_of(obj.type, written, obj.name), obj, "live")


def live_only(report: ComplianceReport) -> list[Finding]:
    """Findings that live DSS has and the configuration does not: changes made behind the tool."""
    return [f for f in report.findings if f.seen_in == ["live"] or ("live" in f.seen_in and "config" not in f.seen_in)]

