"""The assertions themselves, on values already read: schema checks (offline against the
configuration, or online against the schema DSS reports) and data-quality rules evaluated on
rows. Pure functions: the runner reads DSS, these decide.

Empty values follow DSS's data-quality rules: NULL and "" are both empty (a client reading rows
cannot tell them apart in a string column), and `unique`, `in_range`, `in_set`, `regex` and
`references` ignore empty values, as DSS's rules do.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional, Sequence

from .compare import canonical
from .model import Row, Rule, SchemaCheck

MAX_LISTED = 5  # offending values named in a message


def schema_problems(check: SchemaCheck, actual: Sequence[dict[str, Any]]) -> list[str]:
    """What differs between the expected columns and `actual` ({name, type} as DSS lists them)."""
    by_name = {str(c.get("name")): c for c in actual}
    problems = []
    for column in check.columns:
        found = by_name.get(column.name)
        if found is None:
            problems.append(f"column '{column.name}' is missing")
        elif column.type is not None and found.get("type") != column.type:
            problems.append(f"column '{column.name}' is {found.get('type')}, expected {column.type}")
    if check.exact:
        expected = [c.name for c in check.columns]
        extra = [n for n in by_name if n not in expected]
        if extra:
            problems.append(f"unexpected column(s): {', '.join(extra)}")
        elif not problems and list(by_name) != expected:
            problems.append(f"columns in another order: {', '.join(by_name)}")
    return problems


def is_empty(value: Any) -> bool:
    return value is None or value == ""


def _listed(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    return shown + (f" (+{len(values) - MAX_LISTED} more)" if len(values) > MAX_LISTED else "")


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def rule_problem(rule: Rule, rows: Sequence[Row], lookup: Callable[[str, str], list[Any]]) -> Optional[str]:
    """Why `rule` fails on `rows`, or None when it holds. `lookup(dataset, column)` reads another
    dataset's column (references). `sql` rules are not evaluated here (the runner's engine)."""
    params = rule.params
    column = rule.column
    values = [row.get(column) for row in rows] if column else []
    if rule.kind == "not_null":
        empty = sum(1 for v in values if is_empty(v))
        return f"{empty} of {len(values)} row(s) have an empty {column}" if empty else None
    if rule.kind == "unique":
        seen: dict[Any, int] = {}
        for value in values:
            if not is_empty(value):
                key = canonical(value, "number" if _number(value) is not None else "text")
                seen[key] = seen.get(key, 0) + 1
        twice = [k for k, n in seen.items() if n > 1]
        return f"{len(twice)} value(s) of {column} appear more than once: {_listed(twice)}" if twice else None
    if rule.kind == "in_range":
        low, high = params.get("min"), params.get("max")
        bad = [v for v in values if not is_empty(v) and not _within(v, low, high)]
        bounds = f"[{'-inf' if low is None else low}, {'+inf' if high is None else high}]"
        return f"{len(bad)} value(s) of {column} outside {bounds}: {_listed(bad)}" if bad else None
    if rule.kind == "in_set":
        allowed = {canonical(v, "text") for v in params["values"]}
        bad = [v for v in values if not is_empty(v) and canonical(v, "text") not in allowed]
        return f"{len(bad)} value(s) of {column} not in the set: {_listed(sorted(set(map(str, bad))))}" if bad else None
    if rule.kind == "row_count":
        low, high = params.get("min"), params.get("max")
        if (low is not None and len(rows) < low) or (high is not None and len(rows) > high):
            return f"{len(rows)} row(s), expected {_bounds_text(low, high)}"
        return None
    if rule.kind == "regex":
        pattern = re.compile(params["pattern"])
        bad = [v for v in values if not is_empty(v) and not pattern.fullmatch(str(v))]
        return f"{len(bad)} value(s) of {column} do not match /{params['pattern']}/: {_listed(bad)}" if bad else None
    if rule.kind == "references":
        known = {canonical(v, "text") for v in lookup(params["dataset"], params["to_column"]) if not is_empty(v)}
        bad = [v for v in values if not is_empty(v) and canonical(v, "text") not in known]
        where = f"{params['dataset']}.{params['to_column']}"
        return f"{len(bad)} value(s) of {column} not found in {where}: {_listed(sorted(set(map(str, bad))))}" if bad else None
    raise ValueError(f"rule kind {rule.kind!r} is not evaluated on rows")


def _within(value: Any, low: Any, high: Any) -> bool:
    number = _number(value)
    if number is None:
        return False
    return (low is None or number >= low) and (high is None or number <= high)


def _bounds_text(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"at least {low}" if low is not None else f"at most {high}"


# -- DSS data-quality rules -------------------------------------------------------------------
def dss_rule(rule: Rule) -> Optional[dict[str, Any]]:
    """The DSS data-quality rule (DSS 12.6+) that checks `rule`, or None when DSS has no such
    rule (regex, references, sql are evaluated by the runner). Shapes as DSS writes them
    (see docs/testing.md); autoRun off: the rule is computed when the test asks, not on builds."""
    base = {"displayName": f"dataiku-iac test: {rule.name}", "enabled": True, "autoRun": False,
            "computeOnBuildMode": "PARTITION"}
    params = rule.params
    if rule.kind == "not_null":
        return {**base, "type": "ColumnNotEmptyRule", "columns": [params["column"]], "thresholdType": "ENTIRE_COLUMN_NOT_EMPTY"}
    if rule.kind == "unique":
        return {**base, "type": "ColumnUniqueValuesRule", "columns": [params["column"]], "thresholdType": "ENTIRE_COLUMN"}
    if rule.kind == "in_set":
        return {**base, "type": "ValuesInSetRule", "columns": [params["column"]], "valueSet": [str(v) for v in params["values"]]}
    if rule.kind in ("in_range", "row_count"):
        bounds = {"minimum": float(params.get("min", 0)), "minimumEnabled": "min" in params,
                  "maximum": float(params.get("max", 0)), "maximumEnabled": "max" in params,
                  "softMinimumEnabled": False, "softMaximumEnabled": False}
        if rule.kind == "row_count":
            return {**base, "type": "RecordCountInRangeRule", **bounds}
        return {**base, "type": "ValuesInRangeRule", "columns": [params["column"]], "thresholdType": "ENTIRE_COLUMN", **bounds}
    return None
