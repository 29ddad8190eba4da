"""Schema checks and data-quality rules evaluated on rows; the DSS rules they map to."""

from __future__ import annotations

from dataiku_iac.testing.checks import dss_rule, rule_problem, schema_problems
from dataiku_iac.testing.model import Rule, SchemaCheck, SchemaColumn

ROWS = [
    {"id": 1, "email": "a@x.io", "amount": 5.0, "status": "NEW", "customer": 10},
    {"id": 2, "email": "", "amount": 50.0, "status": "PAID", "customer": 11},
    {"id": 2, "email": "bad", "amount": None, "status": "LOST", "customer": 99},
]


def _problem(kind: str, lookup=lambda d, c: [], **params: object) -> object:
    return rule_problem(Rule(kind, dict(params), kind), ROWS, lookup)


def test_each_rule_kind_passes_and_fails() -> None:
    assert _problem("not_null", column="id") is None
    assert _problem("not_null", column="email") == "1 of 3 row(s) have an empty email"
    assert _problem("unique", column="email") is None  # empty values are ignored, as DSS does
    assert _problem("unique", column="id") == "1 value(s) of id appear more than once: 2.0"
    assert _problem("in_range", column="amount", min=0, max=100) is None
    assert _problem("in_range", column="amount", max=10) == "1 value(s) of amount outside [-inf, 10]: 50.0"
    assert _problem("in_set", column="status", values=["NEW", "PAID"]) == "1 value(s) of status not in the set: 'LOST'"
    assert _problem("row_count", min=1, max=3) is None
    assert _problem("row_count", min=4) == "3 row(s), expected at least 4"
    assert _problem("regex", column="email", pattern=r"[^@]+@[^@]+") == "1 value(s) of email do not match /[^@]+@[^@]+/: 'bad'"
    assert _problem("references", column="customer", dataset="customers", to_column="id",
                    lookup=lambda d, c: [10, 11] if (d, c) == ("customers", "id") else []) == \
        "1 value(s) of customer not found in customers.id: '99'"


def test_schema_checks() -> None:
    actual = [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "double"}]
    check = SchemaCheck("orders", (SchemaColumn("id", "bigint"), SchemaColumn("amount", "string"), SchemaColumn("status")))
    assert schema_problems(check, actual) == ["column 'amount' is double, expected string", "column 'status' is missing"]
    exact = SchemaCheck("orders", (SchemaColumn("amount"), SchemaColumn("id")), exact=True)
    assert schema_problems(exact, actual) == ["columns in another order: id, amount"]
    assert schema_problems(SchemaCheck("o", (SchemaColumn("id"),), exact=True), actual) == ["unexpected column(s): amount"]


def test_rules_dss_has_map_to_its_rule_types_and_the_others_do_not() -> None:
    assert dss_rule(Rule("not_null", {"column": "id"}, "n"))["type"] == "ColumnNotEmptyRule"
    assert dss_rule(Rule("unique", {"column": "id"}, "u"))["type"] == "ColumnUniqueValuesRule"
    in_set = dss_rule(Rule("in_set", {"column": "s", "values": ["A", 1]}, "s"))
    assert in_set["type"] == "ValuesInSetRule" and in_set["valueSet"] == ["A", "1"]
    count = dss_rule(Rule("row_count", {"min": 2}, "c"))
    assert (count["type"], count["minimum"], count["minimumEnabled"], count["maximumEnabled"]) == ("RecordCountInRangeRule", 2.0, True, False)
    assert dss_rule(Rule("in_range", {"column": "a", "max": 3}, "r"))["type"] == "ValuesInRangeRule"
    assert all(dss_rule(Rule(k, {"column": "a"}, k)) is None for k in ("regex", "references", "sql"))
