"""What a test run reports: the offline schema checks, coverage, a pytest-like summary, JSON and
JUnit XML (the shape Jenkins and GitLab read; validated against Jenkins' xUnit junit-10.xsd in
tests/unit/testing)."""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .checks import schema_problems
from .flow import recipes_to_run
from .loader import ProjectView
from .model import ERROR, FAILED, PASSED, SCHEMA, SKIPPED, Outcome, TestCase, TestSuite

STATUSES = (PASSED, FAILED, ERROR, SKIPPED)


# -- offline ----------------------------------------------------------------------------------
def offline_schema_outcomes(suite: TestSuite, views: dict[str, ProjectView]) -> dict[str, Outcome]:
    """Schema tests the configuration already fails (the dataset's declared schema lacks a
    column, or declares another type): decided before anything is applied. Those it passes,
    and those whose dataset declares no schema, are checked online."""
    found = {}
    for test in suite.tests:
        if test.kind != SCHEMA or test.schema is None or test.skip:
            continue
        view = views[test.project]
        declared = view.datasets.get(test.schema.dataset)
        if declared is None:
            continue
        types = view.column_types.get(test.schema.dataset, {})
        problems = schema_problems(test.schema, [{"name": c, "type": types.get(c)} for c in declared])
        if problems:
            found[test.id] = Outcome(test, test.name, FAILED,
                                     f"{test.schema.dataset} (as configured): {'; '.join(problems)}", offline=True)
    return found


# -- coverage ---------------------------------------------------------------------------------
@dataclass
class Coverage:
    datasets: tuple[int, int]  # (tested, total)
    recipes: tuple[int, int]  # (run by a build of a test, total)
    columns: tuple[int, int]  # (declared columns under a quality rule, declared columns)
    untested_datasets: list[str]
    unexercised_recipes: list[str]

    def to_json(self) -> dict[str, Any]:
        def part(pair: tuple[int, int]) -> dict[str, Any]:
            return {"covered": pair[0], "total": pair[1], "percent": _percent(pair)}

        return {"datasets": part(self.datasets), "recipes": part(self.recipes), "columns": part(self.columns),
                "untested_datasets": self.untested_datasets, "unexercised_recipes": self.unexercised_recipes}

    def line(self) -> str:
        return (f"coverage: datasets {self.datasets[0]}/{self.datasets[1]} ({_percent(self.datasets):.0f}%), "
                f"recipes {self.recipes[0]}/{self.recipes[1]} ({_percent(self.recipes):.0f}%), "
                f"columns {self.columns[0]}/{self.columns[1]} ({_percent(self.columns):.0f}%)")


def _percent(pair: tuple[int, int]) -> float:
    return 100.0 * pair[0] / pair[1] if pair[1] else 100.0


def coverage(tests: Sequence[TestCase], views: dict[str, ProjectView], outcomes: Sequence[Outcome] = ()) -> Coverage:
    """Datasets a test asserts on (schema, quality, expect); recipes a test's build runs;
    declared columns (datasets with a schema in the configuration) under a quality rule. A
    Python test's are known once it ran: what its `outcomes` recorded (datasets it read or
    checked, recipes its builds ran, columns under its rules)."""
    tested: set[tuple[str, str]] = set()
    run: set[tuple[str, str]] = set()
    ruled: set[tuple[str, str, str]] = set()
    for outcome in outcomes:
        project = outcome.test.project
        tested |= {(project, d) for d in outcome.datasets}
        run |= {(project, r) for r in outcome.recipes}
        ruled |= {(project, d, c) for d, c in outcome.columns}
    for test in tests:
        project = test.project
        if test.schema is not None:
            tested.add((project, test.schema.dataset))
        if test.quality is not None:
            tested.add((project, test.quality.dataset))
            for rule in test.quality.rules:
                if rule.column:
                    ruled.add((project, test.quality.dataset, rule.column))
        tested |= {(project, e.dataset) for e in test.expect}
        if test.build is not None and project in views:
            run |= {(project, r) for r in recipes_to_run(views[project], test.build.datasets, test.build.recursive, set(test.given))}
    all_datasets = {(p, d) for p, v in views.items() for d in v.datasets}
    all_recipes = {(p, r) for p, v in views.items() for r in v.recipes}
    all_columns = {(p, d, c) for p, v in views.items() for d, cols in v.datasets.items() for c in cols or []}
    return Coverage(
        (len(tested & all_datasets), len(all_datasets)),
        (len(run & all_recipes), len(all_recipes)),
        (len(ruled & all_columns), len(all_columns)),
        sorted(f"{p}.{d}" for p, d in all_datasets - tested),
        sorted(f"{p}.{r}" for p, r in all_recipes - run),
    )


# -- summary ----------------------------------------------------------------------------------
def counts(outcomes: Sequence[Outcome]) -> dict[str, int]:
    return {s: sum(1 for o in outcomes if o.status == s) for s in STATUSES}


def summary_line(outcomes: Sequence[Outcome], seconds: float) -> str:
    """pytest's closing line: `2 failed, 5 passed, 1 skipped in 3.21s` (zeros left out)."""
    found = counts(outcomes)
    order = (FAILED, PASSED, SKIPPED, ERROR)
    words = {ERROR: "errors" if found[ERROR] != 1 else "error"}
    parts = [f"{found[s]} {words.get(s, s)}" for s in order if found[s]]
    return f"{', '.join(parts) or 'no tests ran'} in {seconds:.2f}s"


def run_json(result: Any, environment: str) -> dict[str, Any]:
    """A whole run's JSON (`dataiku-iac test --json`, the plugin's report.json): `result` is a
    `session.RunResult`."""
    extra = {"environment": environment, "run_id": result.run_id, "kept": result.kept, "error": result.error,
             "phases": {k: round(v, 3) for k, v in result.phases.items()}}
    body = to_json(result.outcomes, result.coverage, result.seconds, extra)
    body["ok"] = body["ok"] and result.error is None  # a run that stopped (the apply failed) is no success
    body["no_tests_ran"] = result.error is None and not result.outcomes  # the CLI then exits 5, as pytest
    return body


def run_properties(result: Any, environment: str) -> dict[str, str]:
    """The JUnit <properties> of a run: the environment, the run id, the test projects' keys
    and the coverage line."""
    props = {"environment": environment, "run_id": result.run_id}
    props.update({f"project.{k}": v for k, v in sorted(result.project_keys.items())})
    props["coverage"] = result.coverage.line()
    return props


def run_junit_xml(result: Any, environment: str) -> bytes:
    """A whole run's JUnit XML (`session.RunResult`)."""
    return junit_xml(result.outcomes, result.files, result.seconds, run_properties(result, environment), result.error)


def to_json(outcomes: Sequence[Outcome], cov: Coverage, seconds: float, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        **extra,
        "ok": not any(o.status in (FAILED, ERROR) for o in outcomes),
        "counts": counts(outcomes),
        "seconds": round(seconds, 3),
        "tests": [
            {"id": o.id, "file": o.test.file, "line": o.test.line, "name": o.name, "kind": o.test.kind,
             "status": o.status, "message": o.message, "details": o.details, "seconds": round(o.seconds, 3),
             "offline": o.offline, "phases": o.phases, **({"where": o.where} if o.where else {})}
            for o in outcomes
        ],
        "coverage": cov.to_json(),
    }


# -- JUnit XML --------------------------------------------------------------------------------
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    """XML 1.0 refuses most control characters: they are dropped."""
    return _XML_BAD.sub("", text)


def _classname(file: str) -> str:
    """tests/orders.yml -> tests_orders_yml: no dots (Jenkins splits a classname on the last dot
    into package and class)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", file)


def junit_xml(outcomes: Sequence[Outcome], files: Sequence[str], seconds: float,
              properties: Optional[dict[str, str]] = None, error: Optional[str] = None) -> bytes:
    """One <testsuite> per test file, one <testcase> per outcome (a quality test's rules each
    have their own); failure = an assertion false, error = the test could not run. `error`:
    the run stopped before or around the tests (apply failed): one errored testcase says so,
    so that the file exists and CI shows why."""
    root = ET.Element("testsuites", {"name": "dataiku-iac test", "time": f"{seconds:.3f}"})
    by_file: dict[str, list[Outcome]] = {f: [] for f in files}
    for outcome in outcomes:
        by_file.setdefault(outcome.test.file, []).append(outcome)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    totals: dict[str, int] = {"tests": 0, "failures": 0, "errors": 0}
    for file, items in by_file.items():
        found = counts(items)
        suite = ET.SubElement(root, "testsuite", {
            "name": file, "tests": str(len(items)), "failures": str(found[FAILED]), "errors": str(found[ERROR]),
            "skipped": str(found[SKIPPED]), "time": f"{sum(o.seconds for o in items):.3f}", "timestamp": stamp,
            "hostname": socket.gethostname(), "file": file,
        })
        if properties:
            props = ET.SubElement(suite, "properties")
            for name, value in properties.items():
                ET.SubElement(props, "property", {"name": name, "value": _clean(value)})
        for outcome in items:
            _testcase(suite, outcome)
        totals["tests"] += len(items)
        totals["failures"] += found[FAILED]
        totals["errors"] += found[ERROR]
    if error is not None:
        suite = ET.SubElement(root, "testsuite", {"name": "dataiku-iac", "tests": "1", "failures": "0", "errors": "1",
                                                  "skipped": "0", "time": "0.000", "timestamp": stamp})
        case = ET.SubElement(suite, "testcase", {"classname": "dataiku_iac", "name": "test_environment", "time": "0.000"})
        ET.SubElement(case, "error", {"message": _clean(error[:1000]), "type": "RunError"}).text = _clean(error)
        totals["tests"] += 1
        totals["errors"] += 1
    for key, total in totals.items():
        root.set(key, str(total))
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


def _testcase(suite: ET.Element, outcome: Outcome) -> None:
    case = ET.SubElement(suite, "testcase", {
        "classname": _classname(outcome.test.file), "name": outcome.name, "time": f"{outcome.seconds:.3f}",
    })
    message = _clean(outcome.message.splitlines()[0][:1000] if outcome.message else "")
    parts = (outcome.details,) if outcome.message and outcome.message in outcome.details else (outcome.message, outcome.details)
    text = _clean("\n".join(p for p in parts if p))  # the message once (a diff's text starts with it)
    if outcome.status == FAILED:
        ET.SubElement(case, "failure", {"message": message, "type": f"{outcome.test.kind}Failure"}).text = text
    elif outcome.status == ERROR:
        ET.SubElement(case, "error", {"message": message, "type": "TestError"}).text = text
    elif outcome.status == SKIPPED:
        ET.SubElement(case, "skipped", {"message": message}).text = text or None


# -- text ---------------------------------------------------------------------------------------
_MARK_COLORS = {PASSED: "green", FAILED: "red", ERROR: "red", SKIPPED: "yellow"}


def failing(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.status in (FAILED, ERROR)]


def render_run(result: Any, style: Any) -> str:
    """A finished run as pytest shows it: one line per outcome, the failures with their details,
    the short summary and the closing line (`result`: a `session.RunResult`; `style`: an
    `output.text.Style`). What the plugin's HTML page and its step's log show."""
    lines = []
    for outcome in result.outcomes:
        where = " (offline)" if outcome.offline else ""
        mark = style(outcome.status.upper(), _MARK_COLORS[outcome.status])
        lines.append(f"{style(outcome.id)} {mark}{style(where)} ({outcome.seconds:.2f}s)")
        if outcome.status == SKIPPED and outcome.message:
            lines.append(style(f"    {outcome.message}", "yellow"))
    bad = failing(result.outcomes)
    if bad:
        lines.append("\n" + style("=" * 35 + " FAILURES " + "=" * 35))
        for outcome in bad:
            lines.append(style(f"___ {outcome.id} ___", "red"))
            if outcome.message and outcome.message not in outcome.details:
                lines.append(style(outcome.message))
            if outcome.details:
                lines.append(style(outcome.details))
    if result.error:
        lines.append("\n" + style(f"Error: {result.error}", "red"))
    lines.append("\n" + style(result.coverage.line()))
    if bad:
        lines.append(style("short test summary info"))
        lines.extend(style(f"{o.status.upper()} {o.id} - {o.message.splitlines()[0] if o.message else ''}") for o in bad)
    color = "red" if bad or result.error else "green"
    lines.append(style(f"{'=' * 20} {summary_line(result.outcomes, result.seconds)} {'=' * 20}", color))
    return "\n".join(lines)
