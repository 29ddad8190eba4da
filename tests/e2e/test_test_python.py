"""`dataiku-iac test` with Python test files (tests/test_*.py) next to YAML ones, through the real
CLI against the emulator: one runner, one ephemeral environment, -k, --parallel, the rows diff of
YAML tests, plain asserts that explain themselves, JUnit valid against Jenkins' schema with the
file:line of the failing assert, JSON, coverage from what the Python tests built and read; and
bad Python files refused, with every other problem, before any DSS request."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import xmlschema

from tests import support
from tests.e2e.helpers import EXAMPLES, cli_env, request_count, run_cli, write_config
from tests.e2e.test_test_pipelines import FIXTURES, SALES

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"

YAML_TESTS = """\
project: SALES
tests:
  - name: dedup_and_cast
    given:
      orders_raw: tests/fixtures/orders_raw.csv
    build: [orders_clean]
    expect:
      orders_clean: {row_count: 3}
"""

PYTHON_TESTS = '''\
"""Python tests of the sales pipeline."""
from dataiku_iac.testing.api import BuildError, TestContext, skip, uses

PROJECT = "SALES"


@uses("by_customer")  # and what its recursive build reads and writes: under --parallel, its locks
def test_totals_per_customer(t: TestContext) -> None:
    t.given("orders_raw", "tests/fixtures/orders_raw.csv")
    result = t.build("by_customer")
    assert result.recipes == ("copy_orders", "clean_orders", "sum_by_customer")
    t.assert_rows("by_customer", [{"customer": "ann", "total": 30.1}, {"customer": "bob", "total": 5}],
                  columns=["customer", "total"], tolerance=0.001)
    assert t.project_key == "SALES_T" + t.run_id.upper()
    assert t.check("orders_clean", {"unique": "order_id"})
    assert not t.check("orders_clean", {"in_range": {"column": "amount", "max": 15}})


def test_from_the_middle_not_recursive(t):
    t.given("orders_clean", [{"order_id": 1, "customer": "zed", "amount": 2.5}])
    assert t.build("by_customer", recursive=False).recipes == ("sum_by_customer",)
    assert t.rows("by_customer") == [{"customer": "zed", "total": 2.5, "n": 1}]


def test_a_text_amount_fails_the_build(t):
    t.given("orders_raw", [{"order_id": 9, "customer": "eve", "amount": "lots"}])
    failure = t.build_fails("orders_clean", match="(?i)conver")
    assert not failure.ok and failure.recipes == ("copy_orders", "clean_orders")
    try:
        t.build("orders_clean")
    except BuildError as exc:
        assert "job" in exc.message
    else:
        raise AssertionError("the build should fail")


def test_wrong_totals(t):
    t.given("orders_raw", "tests/fixtures/orders_raw.csv")
    t.build("by_customer")
    t.assert_rows("by_customer", [{"customer": "ann", "total": 31}, {"customer": "bob", "total": 5}],
                  columns=["customer", "total"])


def test_plain_assert(t):
    t.given("orders_raw", "tests/fixtures/orders_raw.csv")
    t.build("orders_clean")
    names = sorted(row["customer"] for row in t.rows("orders_clean", columns=["customer"]))
    assert names == ["ann", "bob"]


def test_unknown_dataset(t):
    t.rows("orders_cleen")


@skip("not today")
def test_skipped(t):
    raise RuntimeError("never run")


def test_step_by_step(t):
    t.given("orders_raw", "tests/fixtures/orders_raw.csv")
    t.build("orders_clean")
    t.build("by_customer", recursive=False)  # reads what the first build made: not emptied
    t.assert_rows("by_customer", [{"customer": "ann", "n": 2}, {"customer": "bob", "n": 1}], columns=["customer", "n"])
'''


def test_python_tests_run_with_yaml_tests_in_one_environment(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"sales.yml": SALES},
                        files={**FIXTURES, "tests/pipelines.yml": YAML_TESTS, "tests/test_sales.py": PYTHON_TESTS})
    result = support.run_cli(root, "test", "-e", "dev", "--parallel", "2", "--junit-xml", "junit.xml", env=cli_env(dss),
                             expect=1, timeout=300, forbid=())
    out = result.stdout
    assert out.startswith("collected 9 tests\n"), str(result)
    assert out.count("\ntest environment ") == 1 and out.count("applying the configuration") == 1
    statuses = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("tests/") and "::" in line}
    assert statuses == {
        "tests/pipelines.yml::dedup_and_cast": "PASSED",
        "tests/test_sales.py::test_totals_per_customer": "PASSED",
        "tests/test_sales.py::test_from_the_middle_not_recursive": "PASSED",
        "tests/test_sales.py::test_a_text_amount_fails_the_build": "PASSED",
        "tests/test_sales.py::test_wrong_totals": "FAILED",
        "tests/test_sales.py::test_plain_assert": "FAILED",
        "tests/test_sales.py::test_unknown_dataset": "ERROR",
        "tests/test_sales.py::test_skipped": "SKIPPED",
        "tests/test_sales.py::test_step_by_step": "PASSED",
    }, str(result)
    assert (  # the diff a YAML test prints, and where the assertion failed
        "___ tests/test_sales.py::test_wrong_totals ___\n"
        "by_customer: 1 expected row(s) missing, 1 unexpected row(s) (expected 2 rows, got 2)\n"
        "  missing (expected, not found):\n"
        "    - {customer: 'ann', total: 31}\n"
        "  unexpected (found, not expected):\n"
        "    + {customer: 'ann', total: 30.1}\n"
        "tests/test_sales.py:40: RowsMismatch\n"
    ) in out, str(result)
    assert (
        "assert names == [\"ann\", \"bob\"]  (['ann', 'ann', 'bob'] == ['ann', 'bob'] is false)\n"
        "  lengths differ: 3 != 2\n"
        "tests/test_sales.py:48: AssertionError\n"
    ) in out, str(result)
    assert "ERROR tests/test_sales.py::test_unknown_dataset - ValueError: no dataset 'orders_cleen' in project SALES " \
           "(did you mean 'orders_clean'?)" in out
    # recipes: all three built by Python tests; datasets: orders_clean (YAML), by_customer and
    # orders_clean read by Python tests; columns: order_id and amount under t.check rules
    assert "coverage: datasets 2/4 (50%), recipes 3/3 (100%), columns 0/6 (0%)" in out, str(result)
    assert result.last_line().startswith("==================== 2 failed, 5 passed, 1 skipped, 1 error in "), str(result)

    body = (root / "junit.xml").read_text(encoding="utf-8")
    xmlschema.XMLSchema(str(XSD)).validate(body)
    assert '<testsuite name="tests/test_sales.py" tests="8" failures="2" errors="1" skipped="1"' in body
    assert "tests/test_sales.py:48: AssertionError</failure>" in body
    assert [p["projectKey"] for p in dss.client().list_projects() if p["projectKey"].startswith("SALES_T")] == []


def test_k_selects_python_tests_and_json_tells_where_they_failed(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"sales.yml": SALES},
                        files={**FIXTURES, "tests/pipelines.yml": YAML_TESTS, "tests/test_sales.py": PYTHON_TESTS})
    result = run_cli(dss, root, "test", "-e", "dev", "-k", "test_sales.py::test_wrong", "--json", expect=1, timeout=300)
    body = result.json()
    assert [(t["id"], t["kind"], t["line"], t["status"], t["where"]) for t in body["tests"]] == [
        ("tests/test_sales.py::test_wrong_totals", "python", 37, "failed", "tests/test_sales.py:40")]
    assert body["coverage"]["recipes"]["covered"] == 3 and body["coverage"]["untested_datasets"] == [
        "SALES.orders", "SALES.orders_clean", "SALES.orders_raw"]


BAD_PYTHON = '''\
PROJECT = "SALES"

def test_no_context():
    pass

def test_fine(t):
    pass
'''


def test_bad_python_files_are_refused_with_the_yaml_ones_before_any_request(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"sales.yml": SALES}, files={
        **FIXTURES,
        "tests/pipelines.yml": "tests:\n  - name: x\n    schema: {dataset: ordrs, columns: [{name: id}]}\n",
        "tests/test_signature.py": BAD_PYTHON,
        "tests/test_syntax.py": "def test_a(t):\n    return (\n",
        "tests/test_import.py": "import dataiku_iac.testing.apii\n",
        "tests/test_project.py": 'PROJECT = "SALE"\n',
    })
    before = request_count(dss)
    result = run_cli(dss, root, "test", "-e", "dev", "--junit-xml", "junit.xml", expect=1)
    assert result.stderr.splitlines() == [
        "tests/pipelines.yml:3:23: error: tests[0].schema.dataset: no dataset 'ordrs' in project SALES (did you mean 'orders'?)",
        "tests/test_import.py:1: error: importing the file failed: ModuleNotFoundError: No module named 'dataiku_iac.testing.apii'",
        "tests/test_project.py:1:11: error: PROJECT: no project 'SALE' in the configuration (projects/*.yml) (did you mean 'SALES'?)",
        "tests/test_signature.py:3:1: error: test function test_no_context: it takes no argument; it must take one, the test context "
        "(write it as: def test_no_context(t):  (t: the test context, dataiku_iac.testing.api.TestContext))",
        "tests/test_syntax.py:2:12: error: syntax error: '(' was never closed",
        "Error: the configuration has 5 problems.",
    ], str(result)
    assert request_count(dss) == before, "a bad test file must stop the run before DSS is contacted"
    assert not (root / ".dataiku-iac" / "test-runs").exists()
    xmlschema.XMLSchema(str(XSD)).validate((root / "junit.xml").read_text(encoding="utf-8"))


def test_the_documented_example_runs_as_documented(dss: Any, tmp_path: Path) -> None:
    """docs/testing.md's Python test file, in examples/tested-pipeline instead of its own."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text(encoding="utf-8")
    example = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if b.startswith("# tests/test_sales.py"))
    root = tmp_path / "example"
    shutil.copytree(EXAMPLES / "tested-pipeline", root)
    (root / "tests" / "test_sales.py").write_text(example, encoding="utf-8")
    result = run_cli(dss, root, "test", "-e", "dev", "-k", "test_sales.py", timeout=300)
    assert result.last_line().startswith("==================== 3 passed, 1 skipped in "), str(result)
