"""The test runner's own DSS calls, through dataikuapi against the emulator: fixture rows written
through an UploadedFiles dataset and `copy_to`, read back typed by `iter_rows`, and quality rules
evaluated on them by the runner (as for a DSS before 12.6, without the data-quality API).
Builds are covered by tests/e2e/test_test_pipelines.py."""

from __future__ import annotations

from typing import Any

from dataiku_iac.testing.compare import compare_rows
from dataiku_iac.testing.loader import ProjectView
from dataiku_iac.testing.model import (
    ERROR,
    FAILED,
    PASSED,
    QUALITY,
    SCHEMA,
    QualityCheck,
    Rule,
    SchemaCheck,
    SchemaColumn,
    TestCase,
)
from dataiku_iac.testing.runner import Target, read_rows, run_tests, write_rows

KEY = "RUNNER"
COLUMNS = [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "double"}, {"name": "status", "type": "string"}]


def _target(dss: Any) -> Target:
    client = dss.client()
    project = client.create_project(KEY, "Runner", "admin")
    for name in ("orders", "customers"):
        project.create_dataset(name, "Filesystem", params={"connection": "filesystem_managed", "path": f"{KEY}/{name}"},
                               formatType="csv", formatParams={"separator": "\t", "style": "unix"})
        project.get_dataset(name).set_schema({"columns": COLUMNS if name == "orders" else [{"name": "id", "type": "bigint"}]})
    view = ProjectView(KEY, datasets={"orders": ["id", "amount", "status"], "customers": ["id"]})
    return Target(dss.client, {KEY: KEY}, {KEY: view})


def _test(name: str, kind: str = QUALITY, **fields: Any) -> TestCase:
    return TestCase(name=name, file="tests/runner.yml", line=1, project=KEY, kind=kind, **fields)


def test_fixture_rows_go_in_and_come_back_typed_and_rules_judge_them(dss: Any) -> None:
    target = _target(dss)
    target.data_quality_api = False  # every rule judged on the rows read, as for a DSS before 12.6
    probe = _test("probe", SCHEMA)
    rows = [{"id": "1", "amount": "2.5", "status": "NEW"}, {"id": "2", "amount": "-1", "status": None},
            {"id": "2", "amount": "7", "status": "LOST"}]
    write_rows(target, probe, "orders", rows)
    write_rows(target, probe, "customers", [{"id": 1}, {"id": 2}])
    back = read_rows(target, probe, "orders")
    assert [type(r["id"]) for r in back] == [int, int, int]
    assert compare_rows(rows, back).equal
    assert sorted(d["name"] for d in dss.client().get_project(KEY).list_datasets()) == ["customers", "orders"], \
        "the temporary fixture dataset is deleted"

    rules = (Rule("not_null", {"column": "status"}, "nn"), Rule("unique", {"column": "id"}, "uq"),
             Rule("in_range", {"column": "amount", "min": 0}, "rg"), Rule("in_set", {"column": "status", "values": ["NEW", "LOST"]}, "st"),
             Rule("row_count", {"min": 1, "max": 3}, "rc"), Rule("regex", {"column": "status", "pattern": "[A-Z]+"}, "rx"),
             Rule("references", {"column": "id", "dataset": "customers", "to_column": "id"}, "ref"),
             Rule("sql", {"query": "SELECT id, amount FROM orders WHERE amount < 0 AND id IN (SELECT id FROM customers)"}, "neg"))
    quality = _test("q", quality=QualityCheck("orders", rules))
    schema_ok = _test("s", SCHEMA, schema=SchemaCheck("orders", (SchemaColumn("id", "bigint"), SchemaColumn("id", nullable=False))))
    schema_bad = _test("t", SCHEMA, schema=SchemaCheck("orders", (SchemaColumn("status", nullable=False),)))
    outcomes = run_tests([quality, schema_ok, schema_bad], target, parallel=2)
    assert {o.name: o.status for o in outcomes} == {
        "q[nn]": FAILED, "q[uq]": FAILED, "q[rg]": FAILED, "q[st]": PASSED, "q[rc]": PASSED, "q[rx]": PASSED, "q[ref]": PASSED,
        "q[neg]": FAILED,
        "s": PASSED, "t": FAILED,
    }
    messages = {o.name: o.message for o in outcomes}
    assert messages["q[nn]"] == "orders: 1 of 3 row(s) have an empty status"
    assert messages["q[rg]"] == "orders: 1 value(s) of amount outside [0, +inf]: -1.0"
    assert messages["q[neg]"] == "orders: the query returned 1 failing row(s): {'id': 2, 'amount': -1.0}"
    assert messages["t"] == "orders: column 'status' is not nullable, but 1 row(s) have it empty"


def test_reading_a_dataset_dss_cannot_serve_is_an_error_not_a_failure(dss: Any) -> None:
    target = _target(dss)
    outcomes = run_tests([_test("q", quality=QualityCheck("missing", (Rule("row_count", {"min": 1}, "rc"),)))], target)
    assert [o.status for o in outcomes] == [ERROR], outcomes
