"""tests/*.yml: the schema and the loader's checks against the configuration, every problem at
once with file:line, and the records a valid file becomes."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataiku_iac.config import load_config
from dataiku_iac.errors import ConfigError
from dataiku_iac.testing.loader import load_tests
from dataiku_iac.testing.model import PIPELINE, QUALITY, SCHEMA

PROJECT = """\
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
        - {name: status, type: string}
  - name: orders
    type: managed
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
        - {name: status, type: string}
  - name: customers
    type: managed
recipes:
  - name: copy_orders
    type: sync
    inputs: [orders_raw]
    outputs: [orders]
"""


def _config(tmp_path: Path, tests: dict[str, str], files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "cfg"
    for rel, text in {"projects/shop.yml": PROJECT, "environments/dev.yml": "{}\n", **tests, **(files or {})}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _load(root: Path):
    return load_tests(root, load_config(root, "dev"))


def _errors(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(root)
    return [d.render() for d in caught.value.diagnostics]


def test_a_valid_file_becomes_one_record_per_test(tmp_path: Path) -> None:
    root = _config(tmp_path, {"tests/orders.yml": """\
tests:
  - name: shape
    schema: {dataset: orders, columns: [{name: id, type: bigint, nullable: false}], exact: false}
  - name: clean
    given: {orders_raw: tests/fixtures/raw.csv}
    build: [orders]
    quality:
      dataset: orders
      rules:
        - not_null: id
        - in_range: {column: amount, min: 0}
        - references: {column: id, dataset: orders_raw}
  - name: copies
    given:
      orders_raw: [{id: 1, amount: 2.5, status: NEW}]
    build: {datasets: [orders], recursive: false, timeout: 30}
    expect:
      orders: {rows: [{id: 1, amount: 2.5}], columns: [id, amount], tolerance: 0.01}
  - name: refuses_bad_rows
    given: {orders_raw: {rows: [{id: x}]}}
    build: [orders]
    expect_failure: {message: "cannot parse"}
"""}, {"tests/fixtures/raw.csv": "id,amount,status\n1,2.5,NEW\n2,,PAID\n"})
    suite = _load(root)
    assert suite.files == ("tests/orders.yml",)
    shape, clean, copies, refuses = suite.tests
    assert (shape.kind, clean.kind, copies.kind, refuses.kind) == (SCHEMA, QUALITY, PIPELINE, PIPELINE)
    assert shape.id == "tests/orders.yml::shape" and shape.line == 2 and shape.project == "SHOP"
    assert shape.schema is not None and shape.schema.columns[0].nullable is False
    assert clean.given["orders_raw"].file == "tests/fixtures/raw.csv"
    assert clean.given["orders_raw"].rows == ({"id": "1", "amount": "2.5", "status": "NEW"}, {"id": "2", "amount": None, "status": "PAID"})
    assert clean.quality is not None
    assert [r.name for r in clean.quality.rules] == ["not_null(id)", "in_range(amount)", "references(id->orders_raw.id)"]
    assert copies.build is not None and (copies.build.recursive, copies.build.timeout) == (False, 30.0)
    assert copies.expect[0].columns == ("id", "amount") and copies.expect[0].tolerance == 0.01
    assert refuses.expect_failure and refuses.failure_message == "cannot parse"
    assert suite.selected("copies").tests == (copies,)
    assert suite.selected("not copies").tests == (shape, clean, refuses)


def test_every_problem_of_every_file_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    root = _config(tmp_path, {
        "tests/a.yml": """\
tests:
  - name: one
    schema: {dataset: ordrs, columns: [{name: id}]}
  - name: two
    given: {orders_raw: tests/missing.csv}
    build: [orders]
    quality:
      dataset: orders
      rules:
        - unique: idd
        - in_range: {column: amount, min: 5, max: 1}
        - regex: {column: status, pattern: "(["}
        - not_null: id
          unique: id
  - name: one
    expect: {orders: {row_count: 1}}
  - name: three
    build: [orders_raw]
    expect: {orders: {row_count: -1}}
""",
        "tests/b.yml": "tests:\n  - name: x\n    schema: {dataset: orders, columns: []}\n    colour: red\n",
        "tests/c.yml": "project: SHOPP\ntests:\n  - {name: y, schema: {dataset: orders, columns: [{name: id}]}}\n",
    })
    errors = _errors(root)
    assert errors == [
        "tests/a.yml:3:23: error: tests[0].schema.dataset: no dataset 'ordrs' in project SHOP (did you mean 'orders'?)",
        "tests/a.yml:5:25: error: tests[1].given.orders_raw: fixture file: file not found: 'tests/missing.csv'",
        "tests/a.yml:10:19: error: tests[1].quality.rules[0].unique: dataset orders declares no column 'idd' in its schema (did you mean 'id'?)",
        "tests/a.yml:11:51: error: tests[1].quality.rules[1].in_range.max: max (1) is below min (5)",
        "tests/a.yml:12:44: error: tests[1].quality.rules[2].regex.pattern: not a valid regular expression: unterminated character set at position 1",
        "tests/a.yml:13:11: error: tests[1].quality.rules[3]: a rule has exactly one kind; this one has not_null and unique (one of: not_null, unique, in_range, in_set, row_count, regex, references, sql)",
        "tests/a.yml:15:11: error: tests[2].name: the test name 'one' is used twice in this file (first as tests[0])",
        "tests/a.yml:19:34: error: tests[3].expect.orders.row_count: must be at least 0 (got -1)",
        "tests/b.yml:3:40: error: tests[0].schema.columns: must have at least 1 item(s) (got a list)",
        "tests/b.yml:4:5: error: tests[0].colour: unknown key 'colour' for a test (name, then one of schema, quality, expect, expect_failure)",
        "tests/c.yml:1:10: error: project: no project 'SHOPP' in the configuration (projects/*.yml) (did you mean 'SHOP'?)",
    ]


def test_a_test_asserts_one_thing_and_a_pipeline_test_builds(tmp_path: Path) -> None:
    root = _config(tmp_path, {"tests/a.yml": """\
tests:
  - name: nothing
    description: asserts nothing
  - name: both
    schema: {dataset: orders, columns: [{name: id}]}
    expect: {orders: {row_count: 1}}
  - name: no_build
    expect: {orders: {row_count: 1}}
  - name: given_and_built
    given: {orders: []}
    build: [orders]
    expect: {orders: {row_count: 0}}
  - name: unknown_column
    build: [orders]
    expect: {orders: {rows: [{idd: 1}]}}
"""})
    assert _errors(root) == [
        "tests/a.yml:2:5: error: tests[0]: the test 'nothing' asserts nothing (give it one of: schema, quality, expect, expect_failure)",
        "tests/a.yml:6:5: error: tests[1].expect: a test has one of schema, quality, expect or expect_failure; this one has schema and expect (split it into several tests)",
        "tests/a.yml:7:5: error: tests[2]: a pipeline test (expect, expect_failure) needs 'build': the datasets to build",
        "tests/a.yml:10:13: error: tests[3].given.orders: dataset orders is both given and built: the build would overwrite its rows",
        "tests/a.yml:15:29: error: tests[4].expect.orders.rows: rows for dataset orders name columns its schema lacks: idd (its columns: id, amount, status)",
    ]


def test_a_bad_fixture_file_is_named_with_its_line(tmp_path: Path) -> None:
    root = _config(tmp_path, {"tests/a.yml": """\
tests:
  - name: csv
    given: {orders_raw: tests/bad.csv}
    build: [orders]
    expect: {orders: {row_count: 1}}
  - name: json
    given: {orders_raw: tests/bad.json}
    build: [orders]
    expect: {orders: {row_count: 1}}
  - name: outside
    given: {orders_raw: ../secret.csv}
    build: [orders]
    expect: {orders: {row_count: 1}}
"""}, {"tests/bad.csv": "id,amount\n1,2\n3\n", "tests/bad.json": '[{"id": 1},\n {"id": }]'})
    assert _errors(root) == [
        "tests/a.yml:3:25: error: tests[0].given.orders_raw: fixture file: tests/bad.csv:3: 1 cells, but the header has 2 columns",
        "tests/a.yml:7:25: error: tests[1].given.orders_raw: fixture file: tests/bad.json:2: not valid JSON (Expecting value)",
        "tests/a.yml:11:25: error: tests[2].given.orders_raw: fixture file: '..' is not allowed in a path ('../secret.csv'): files must stay inside the config root",
    ]


def test_several_projects_need_the_file_to_name_one(tmp_path: Path) -> None:
    root = _config(tmp_path, {"tests/a.yml": "tests:\n  - {name: y, schema: {dataset: orders, columns: [{name: id}]}}\n"},
                   {"projects/other.yml": "project: {key: OTHER, name: Other}\n"})
    assert _errors(root) == [
        "tests/a.yml:1:1: error: tests: 'project' is required: the configuration has several projects (name one of: OTHER, SHOP)",
    ]


def test_no_tests_directory_is_an_empty_suite(tmp_path: Path) -> None:
    suite = _load(_config(tmp_path, {}))
    assert suite.tests == () and suite.files == ()


def test_a_given_value_the_column_type_cannot_hold_is_refused_with_its_place(tmp_path: Path) -> None:
    """Issue 13: `amount: warm` for a double column failed at run time inside DSS; it is refused
    before the apply, with file:line (inline rows) or the fixture file's line (CSV)."""
    root = _config(tmp_path, {"tests/a.yml": """\
tests:
  - name: inline
    given:
      orders_raw: [{id: 1, amount: warm, status: NEW}]
    build: [orders]
    expect: {orders: {rows: []}}
  - name: from_csv
    given: {orders_raw: tests/raw.csv}
    build: [orders]
    expect: {orders: {rows: []}}
"""}, {"tests/raw.csv": "id,amount,status\n1,2.5,NEW\nx,,PAID\n"})
    errors = _errors(root)
    assert any("tests/a.yml:4:" in e and "tests[0].given.orders_raw[0].amount: 'warm' is no double" in e for e in errors), errors
    assert any("fixture file tests/raw.csv, line 3: 'x' is no bigint" in e for e in errors), errors
    assert len(errors) == 2, errors


def test_an_empty_test_file_is_refused_on_one_readable_line(tmp_path: Path) -> None:
    """Issue 13: the hint showed a literal `\\n` (a newline escaped by the one-line rendering)."""
    errors = _errors(_config(tmp_path, {"tests/empty.yml": ""}))
    assert errors == ["tests/empty.yml: error: a test file must be a YAML mapping with a 'tests' list "
                      "(e.g. `tests: [{name: ..., schema: ...}]`)"], errors
    assert "\\n" not in errors[0]
