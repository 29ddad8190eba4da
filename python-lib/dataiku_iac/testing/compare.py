"""Comparing the rows a dataset holds with the rows a test expects, and saying how they differ.

Values are compared as DSS lets a client read them (`DSSDataset.iter_rows`): an empty cell is
None for every type and "" for strings, so None and "" are one "empty" value; numbers compare
within an absolute tolerance, whatever their type (1 == 1.0 == "1"); booleans accept
"true"/"false"; dates compare by their ISO text. Which reading applies to a column is decided by
the values actually read (a number read from DSS makes the expected "10" a number too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from .model import Row

EMPTY = ("empty",)
MAX_SHOWN = 10  # rows shown per side of a diff


def _column_kinds(actual: Sequence[Row], columns: Sequence[str]) -> dict[str, str]:
    kinds = {}
    for column in columns:
        kind = "text"
        for row in actual:
            value = row.get(column)
            if value is None or value == "":
                continue
            if isinstance(value, bool):
                kind = "bool"
            elif isinstance(value, (int, float)):
                kind = "number"
            elif hasattr(value, "isoformat"):
                kind = "date"
            break
        kinds[column] = kind
    return kinds


def canonical(value: Any, kind: str) -> Any:
    """The comparable form of `value` read as a column of `kind` (number, bool, date, text)."""
    if value is None or value == "":
        return EMPTY
    if kind == "number":
        number = _number(value)
        if number is not None:
            return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    if hasattr(value, "isoformat"):
        return _iso(value.isoformat())
    if kind == "date" and isinstance(value, str):
        return _iso(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _iso(text: str) -> str:
    text = text.replace(" ", "T")
    for utc in ("Z", "+00:00"):
        if text.endswith(utc):
            text = text[: -len(utc)]
    if text.endswith(".000"):
        text = text[:-4]
    return text


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return abs(a - b) <= tolerance
    return bool(a == b)


def _rows_close(a: tuple, b: tuple, tolerance: float) -> bool:
    return all(_close(x, y, tolerance) for x, y in zip(a, b))


@dataclass
class RowsDiff:
    """How the rows differ: empty lists mean equal."""

    columns: list[str]
    missing: list[Row]  # expected, not found
    unexpected: list[Row]  # found, not expected
    misplaced: list[tuple[int, Row, Row]]  # ordered comparison: (position, expected, actual)
    expected_count: int
    actual_count: int

    @property
    def equal(self) -> bool:
        return not (self.missing or self.unexpected or self.misplaced) and self.expected_count == self.actual_count

    def summary(self, dataset: str) -> str:
        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} expected row(s) missing")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected row(s)")
        if self.misplaced:
            parts.append(f"{len(self.misplaced)} row(s) differ by position")
        if not parts:
            parts.append("the row counts differ")
        return f"{dataset}: {', '.join(parts)} (expected {self.expected_count} rows, got {self.actual_count})"

    def render(self, dataset: str) -> str:
        """The diff as text: the summary, then the missing (-) and unexpected (+) rows, or for
        an ordered comparison each differing position with the columns that differ."""
        lines = [self.summary(dataset)]
        if self.misplaced:
            for position, expected, actual in self.misplaced[:MAX_SHOWN]:
                changed = [c for c in self.columns if _show(expected.get(c)) != _show(actual.get(c))]
                lines.append(f"  row {position + 1}: columns {', '.join(changed) or '(none)'} differ")
                lines.append(f"    - expected {_render_row(expected, self.columns)}")
                lines.append(f"    + actual   {_render_row(actual, self.columns)}")
            _more(lines, len(self.misplaced))
        for sign, title, rows in (("-", "missing (expected, not found)", self.missing),
                                  ("+", "unexpected (found, not expected)", self.unexpected)):
            if not rows:
                continue
            lines.append(f"  {title}:")
            lines.extend(f"    {sign} {_render_row(row, self.columns)}" for row in rows[:MAX_SHOWN])
            _more(lines, len(rows))
        return "\n".join(lines)


def _more(lines: list[str], count: int) -> None:
    if count > MAX_SHOWN:
        lines.append(f"    ... and {count - MAX_SHOWN} more")


def _show(value: Any) -> str:
    if value is None or value == "":
        return "∅"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return repr(value) if isinstance(value, str) else str(value)


def _render_row(row: Row, columns: Sequence[str]) -> str:
    return "{" + ", ".join(f"{c}: {_show(row.get(c))}" for c in columns) + "}"


def compare_rows(expected: Sequence[Row], actual: Sequence[Row], *, columns: Optional[Sequence[str]] = None,
                 ordered: bool = False, tolerance: float = 1e-9) -> RowsDiff:
    """Compare two row lists on `columns` (default: the expected rows' columns)."""
    if columns is None:
        seen: dict[str, None] = {}
        for row in expected:
            for name in row:
                seen.setdefault(name, None)
        columns = list(seen) or sorted({k for row in actual for k in row})
    columns = list(columns)
    kinds = _column_kinds(actual, columns)
    exp = [tuple(canonical(row.get(c), kinds[c]) for c in columns) for row in expected]
    act = [tuple(canonical(row.get(c), kinds[c]) for c in columns) for row in actual]
    diff = RowsDiff(columns, [], [], [], len(expected), len(actual))
    if ordered:
        for position, (e, a) in enumerate(zip(exp, act)):
            if not _rows_close(e, a, tolerance):
                diff.misplaced.append((position, dict(expected[position]), dict(actual[position])))
        diff.missing = [dict(r) for r in expected[len(actual):]]
        diff.unexpected = [dict(r) for r in actual[len(expected):]]
        return diff
    missing, unexpected = _match(exp, act, tolerance)
    diff.missing = [dict(expected[i]) for i in missing]
    diff.unexpected = [dict(actual[i]) for i in unexpected]
    return diff


def _match(expected: list[tuple], actual: list[tuple], tolerance: float) -> tuple[list[int], list[int]]:
    """Indexes of expected rows left unmatched and of actual rows left unmatched (multisets).
    Exact matches first through a hash (fast for 10^5 rows), then the rest pairwise within
    the tolerance (few rows: only those that differ by a float's last digits)."""
    pool: dict[tuple, list[int]] = {}
    for index, row in enumerate(actual):
        pool.setdefault(row, []).append(index)
    left_expected = []
    for index, row in enumerate(expected):
        bucket = pool.get(row)
        if bucket:
            bucket.pop()
        else:
            left_expected.append(index)
    left_actual = sorted(i for bucket in pool.values() for i in bucket)
    still_expected = []
    for e in left_expected:
        found = next((a for a in left_actual if _rows_close(expected[e], actual[a], tolerance)), None)
        if found is None:
            still_expected.append(e)
        else:
            left_actual.remove(found)
    return still_expected, left_actual


def compare_values(expected: Sequence[Any], actual: Sequence[Any], *, ordered: bool, tolerance: float) -> RowsDiff:
    """The values of one column against a list (as one-column rows)."""
    return compare_rows([{"value": v} for v in expected], [{"value": v} for v in actual],
                        columns=["value"], ordered=ordered, tolerance=tolerance)
