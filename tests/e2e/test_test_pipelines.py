"""`dataiku-iac test` with rows and jobs: fixtures in, builds, expectations on what comes out (a
readable diff when they fail), quality rules on built data, a build that must fail, a fixture
given to an intermediate dataset, parallel runs, JUnit valid against Jenkins' schema. Against the
emulator, which holds rows and runs sync and SQL recipes on DuckDB."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import xmlschema

from tests import support
from tests.e2e.helpers import EXAMPLES, cli_env, request_count, run_cli, write_config

XSD = Path(__file__).resolve().parents[1] / "fixtures" / "junit" / "junit-10.xsd"

SALES = """\
project:
  key: SALES
  name: Sales
datasets:
  - name: orders_raw
    type: managed
    schema:
      columns:
        - {name: order_id, type: bigint}
        - {name: customer, type: string}
        - {name: amount, type: string}
  - name: orders
    type: managed
    schema:
      columns:
        - {name: order_id, type: bigint}
        - {name: customer, type: string}
        - {name: amount, type: string}
  - name: orders_clean
    type: managed
  - name: by_customer
    type: managed
recipes:
  - name: copy_orders
    type: sync
    inputs: [orders_raw]
    outputs: [orders]
  - name: clean_orders
    type: sql_query
    inputs: [orders]
    outputs: [orders_clean]
    sql: |
      SELECT DISTINCT order_id, customer, CAST(amount AS DOUBLE) AS amount FROM orders
  - name: sum_by_customer
    type: sql_query
    inputs: [orders_clean]
    outputs: [by_customer]
    sql: |
      SELECT customer, SUM(amount) AS total, COUNT(*) AS n FROM orders_clean GROUP BY customer
"""

TESTS = """\
project: SALES
tests:
  - name: dedup_and_cast
    given:
      orders_raw: tests/fixtures/orders_raw.csv
    build: [orders_clean]
    expect:
      orders_clean:
        row_count: 3
        rows: tests/fixtures/orders_clean.csv
  - name: totals
    given:
      orders_raw: tests/fixtures/orders_raw.csv
    build: [by_customer]
    expect:
      by_customer:
        rows: [{customer: ann, total: 30.1, n: 2}, {customer: bob, total: 5, n: 1}]
        tolerance: 0.001
        values: {customer: [bob, ann]}
  - name: totals_wrong
    given:
      orders_raw: tests/fixtures/orders_raw.csv
    build: [by_customer]
    expect:
      by_customer:
        rows: [{customer: ann, total: 31}, {customer: bob, total: 5}]
        columns: [customer, total]
  - name: clean_quality
    given:
      orders_raw: tests/fixtures/orders_raw.csv
    build: [orders_clean]
    quality:
      dataset: orders_clean
      rules:
        - not_null: order_id
        - unique: order_id
        - in_range: {column: amount, min: 0, max: 15}
        - row_count: {min: 1, max: 10}
        - references: {column: order_id, dataset: orders, to_column: order_id}
        - sql: "SELECT * FROM orders_clean WHERE customer = 'bob' AND amount < 1"
  - name: text_amount_fails
    given:
      orders_raw: [{order_id: 9, customer: eve, amount: lots}]
    build: [orders_clean]
    expect_failure: {message: "(?i)conver"}
  - name: quality_of_a_failed_build
    given:
      orders_raw: [{order_id: 9, customer: eve, amount: lots}]
    build: [orders_clean]
    quality: {dataset: orders_clean, rules: [{row_count: {min: 1}}]}
  - name: from_the_middle
    given:
      orders_clean: [{order_id: 1, customer: zed, amount: 2.5}, {order_id: 2, customer: zed, amount: 1.5}]
    build: [by_customer]
    expect:
      by_customer: {rows: [{customer: zed, total: 4.0, n: 2}]}
"""

FIXTURES = {
    "tests/fixtures/orders_raw.csv": "order_id,customer,amount\n1,ann,10.1\n1,ann,10.1\n2,ann,20\n3,bob,5\n",
    "tests/fixtures/orders_clean.csv": "order_id,customer,amount\n2,ann,20.0\n1,ann,10.1\n3,bob,5\n",
    "tests/pipelines.yml": TESTS,
}


def _projects(dss: Any) -> list[str]:
    return [p["projectKey"] for p in dss.client().list_projects() if p["projectKey"].startswith("SALES_T")]


def test_pipelines_build_and_assert_on_rows(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"sales.yml": SALES}, files=FIXTURES)
    # forbid nothing: the failed build's job log (DSS's, here the emulator's) may hold a traceback
    result = support.run_cli(root, "test", "-e", "dev", "--parallel", "3", "--junit-xml", "junit.xml", env=cli_env(dss),
                             expect=1, timeout=300, forbid=())
    out = result.stdout
    statuses = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith("tests/pipelines.yml::")}
    assert statuses == {
        "tests/pipelines.yml::dedup_and_cast": "PASSED",
        "tests/pipelines.yml::totals": "PASSED",
        "tests/pipelines.yml::totals_wrong": "FAILED",
        "tests/pipelines.yml::clean_quality[not_null(order_id)]": "PASSED",
        "tests/pipelines.yml::clean_quality[unique(order_id)]": "PASSED",
        "tests/pipelines.yml::clean_quality[in_range(amount)]": "FAILED",
        "tests/pipelines.yml::clean_quality[row_count]": "PASSED",
        "tests/pipelines.yml::clean_quality[references(order_id->orders.order_id)]": "PASSED",
        "tests/pipelines.yml::clean_quality[sql]": "PASSED",
        "tests/pipelines.yml::text_amount_fails": "PASSED",
        "tests/pipelines.yml::quality_of_a_failed_build": "ERROR",
        "tests/pipelines.yml::from_the_middle": "PASSED",
    }, str(result)
    assert "ERROR tests/pipelines.yml::quality_of_a_failed_build - the build failed: job " in out, str(result)
    assert (
        "by_customer: 1 expected row(s) missing, 1 unexpected row(s) (expected 2 rows, got 2)\n"
        "  missing (expected, not found):\n"
        "    - {customer: 'ann', total: 31}\n"
        "  unexpected (found, not expected):\n"
        "    + {customer: 'ann', total: 30.1}\n"
    ) in out, str(result)
    assert "FAILED tests/pipelines.yml::clean_quality[in_range(amount)] - orders_clean: " in out  # DSS's words or ours
    assert "coverage: datasets 2/4 (50%), recipes 3/3 (100%), columns 0/6 (0%)" in out
    assert result.last_line().startswith("==================== 2 failed, 9 passed, 1 error in ")
    xmlschema.XMLSchema(str(XSD)).validate((root / "junit.xml").read_text(encoding="utf-8"))
    assert _projects(dss) == []


def test_the_tested_pipeline_example(dss: Any, tmp_path: Path) -> None:
    """examples/tested-pipeline, as its README runs it: green, and its deliberate failure shows a diff."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLES / "tested-pipeline", root)
    before = request_count(dss)
    green = run_cli(dss, root, "test", "-e", "dev", "--junit-xml", "report.xml", timeout=300)
    # tests/orders.yml: 13 outcomes (a quality test has one per rule) and a skipped deliberate
    # failure; tests/test_sales.py: 3 Python tests and its own skipped deliberate failure
    assert green.last_line().startswith("==================== 16 passed, 2 skipped in "), str(green)
    uploads = [e for e in dss.admin.requests(since=before) if e["method"] == "POST" and e["path"].endswith("/uploaded/files")]
    # orders_raw and customers from their files once each (three YAML tests give them), then the
    # rows two YAML tests write inline; the first Python test gives orders_raw's file again (an
    # inline fixture replaced it; customers still holds its file: not uploaded again), the two
    # others write rows inline: a fixture a dataset already holds is not uploaded again
    assert len(uploads) == 7, [e["path"] for e in uploads]
    red = run_cli(dss, root, "test", "-e", "dev", "-k", "deliberately", "--run-skipped", expect=1, timeout=300)
    assert (
        "    - {country: 'FR', total: 40, orders: 3}\n"
        "  unexpected (found, not expected):\n"
        "    + {country: 'FR', total: 37.5, orders: 3}\n"
    ) in red.stdout, str(red)
    assert (  # the Python one: the same diff, and where it failed
        "    - {country: 'FR', total: 2.5, orders: 1}\n"
        "  unexpected (found, not expected):\n"
        "    + {country: 'FR', total: 2.0, orders: 1}\n"
        "tests/test_sales.py:48: RowsMismatch\n"
    ) in red.stdout, str(red)
    assert red.last_line().startswith("==================== 2 failed in "), str(red)
    assert _projects(dss) == []
