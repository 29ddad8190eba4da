"""JUnit XML valid against the schema Jenkins' xUnit plugin reads (vendored in
tests/fixtures/junit), the summary line, coverage, the JSON answer."""

from __future__ import annotations

from pathlib import Path

import xmlschema
from dataiku_iac.testing.loader import ProjectView
from dataiku_iac.testing.model import (
    ERROR,
    FAILED,
    PASSED,
    PIPELINE,
    QUALITY,
    SCHEMA,
    SKIPPED,
    Build,
    Expectation,
    Outcome,
    QualityCheck,
    Rule,
    SchemaCheck,
    SchemaColumn,
    TestCase,
)
from dataiku_iac.testing.report import coverage, junit_xml, summary_line, to_json

XSD = Path(__file__).resolve().parents[2] / "fixtures" / "junit" / "junit-10.xsd"


def _case(name: str, kind: str = SCHEMA, file: str = "tests/orders.yml", **fields: object) -> TestCase:
    return TestCase(name=name, file=file, line=3, project="SHOP", kind=kind, **fields)


def _outcomes() -> list[Outcome]:
    quality = _case("q", QUALITY)
    return [
        Outcome(_case("shape"), "shape", PASSED, seconds=0.5),
        Outcome(quality, "q[not_null(id)]", FAILED, "orders: 2 of 3 row(s) have an empty id", seconds=0.25),
        Outcome(quality, "q[unique(id)]", PASSED, seconds=0.25),
        Outcome(_case("p", PIPELINE, file="tests/more.yml"), "p", ERROR, "the build failed: job X ended FAILED",
                details="log \x1b[31m line\x00 ]]> <tag> & stuff"),
        Outcome(_case("s", file="tests/more.yml"), "s", SKIPPED, "not ready"),
    ]


def test_the_junit_report_is_valid_against_jenkins_schema_and_counts_right() -> None:
    schema = xmlschema.XMLSchema(str(XSD))
    body = junit_xml(_outcomes(), ["tests/orders.yml", "tests/more.yml", "tests/empty.yml"], 1.5, {"environment": "dev"})
    schema.validate(body.decode("utf-8"))
    root = schema.to_dict(body.decode("utf-8"))
    assert (root["@tests"], root["@failures"], root["@errors"]) == ("5", "1", "1")
    orders, more, empty = root["testsuite"]
    assert (orders["@name"], orders["@tests"], orders["@failures"]) == ("tests/orders.yml", "3", "1")
    assert [c["@name"] for c in orders["testcase"]] == ["shape", "q[not_null(id)]", "q[unique(id)]"]
    assert {c["@classname"] for c in orders["testcase"]} == {"tests_orders_yml"}  # no dots: Jenkins packages
    assert orders["testcase"][1]["failure"][0]["@message"] == "orders: 2 of 3 row(s) have an empty id"
    assert (more["@errors"], more["@skipped"], empty["@tests"]) == ("1", "1", "0")


def test_a_run_that_stopped_early_still_writes_a_valid_report_saying_why() -> None:
    body = junit_xml([], [], 0.0, error="applying the configuration to the test environment failed")
    xmlschema.XMLSchema(str(XSD)).validate(body.decode("utf-8"))
    assert b'errors="1"' in body and b"applying the configuration" in body


def test_the_schema_check_can_fail() -> None:
    """The vendored schema refuses what Jenkins refuses (a testsuite without its counts)."""
    assert not xmlschema.XMLSchema(str(XSD)).is_valid('<testsuites><testsuite name="x"/></testsuites>')


def test_the_summary_line_reads_like_pytest() -> None:
    assert summary_line(_outcomes(), 3.214) == "1 failed, 2 passed, 1 skipped, 1 error in 3.21s"
    assert summary_line([], 0) == "no tests ran in 0.00s"


def test_coverage_of_datasets_recipes_and_columns() -> None:
    view = ProjectView("SHOP", datasets={"raw": ["id", "amount"], "clean": ["id", "amount"], "report": None},
                       recipes={"clean_it": (["raw"], ["clean"]), "report_it": (["clean"], ["report"])})
    tests = [
        _case("shape", schema=SchemaCheck("raw", (SchemaColumn("id"),))),
        _case("q", QUALITY, quality=QualityCheck("clean", (Rule("not_null", {"column": "id"}, "n"), Rule("row_count", {"min": 1}, "c"))),
              build=Build(("clean",))),
        _case("p", PIPELINE, build=Build(("clean",)), expect=(Expectation("clean", row_count=1),)),
    ]
    cov = coverage(tests, {"SHOP": view})
    assert (cov.datasets, cov.recipes, cov.columns) == ((2, 3), (1, 2), (1, 4))
    assert cov.untested_datasets == ["SHOP.report"] and cov.unexercised_recipes == ["SHOP.report_it"]
    assert cov.line() == "coverage: datasets 2/3 (67%), recipes 1/2 (50%), columns 1/4 (25%)"
    body = to_json(_outcomes(), cov, 1.0, {"environment": "dev"})
    assert body["ok"] is False and body["counts"] == {"passed": 2, "failed": 1, "error": 1, "skipped": 1}
    assert body["coverage"]["recipes"] == {"covered": 1, "total": 2, "percent": 50.0}
    assert body["tests"][1]["id"] == "tests/orders.yml::q[not_null(id)]"
