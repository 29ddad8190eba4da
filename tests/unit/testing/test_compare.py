"""Rows compared as DSS lets a client read them, and the diff a failing expectation prints."""

from __future__ import annotations

import datetime

from dataiku_iac.testing.compare import compare_rows, compare_values


def test_rows_match_in_any_order_across_types_and_empty_values() -> None:
    expected = [{"id": "2", "amount": "20.5", "ok": "true", "note": None}, {"id": "1", "amount": "10", "ok": "false", "note": "x"}]
    actual = [{"id": 1, "amount": 10.0, "ok": False, "note": "x"}, {"id": 2, "amount": 20.5, "ok": True, "note": ""}]
    assert compare_rows(expected, actual).equal


def test_order_matters_only_when_asked() -> None:
    expected = [{"id": 1}, {"id": 2}]
    actual = [{"id": 2}, {"id": 1}]
    assert compare_rows(expected, actual).equal
    diff = compare_rows(expected, actual, ordered=True)
    assert not diff.equal
    assert diff.render("orders") == (
        "orders: 2 row(s) differ by position (expected 2 rows, got 2)\n"
        "  row 1: columns id differ\n"
        "    - expected {id: 1}\n"
        "    + actual   {id: 2}\n"
        "  row 2: columns id differ\n"
        "    - expected {id: 2}\n"
        "    + actual   {id: 1}"
    )


def test_floats_compare_within_the_tolerance() -> None:
    assert compare_rows([{"x": 0.1 + 0.2}], [{"x": 0.3}]).equal
    assert not compare_rows([{"x": 1.0}], [{"x": 1.001}]).equal
    assert compare_rows([{"x": 1.0}], [{"x": 1.001}], tolerance=0.01).equal


def test_duplicates_count() -> None:
    diff = compare_rows([{"id": 1}, {"id": 1}], [{"id": 1}])
    assert not diff.equal and diff.missing == [{"id": 1}] and diff.unexpected == []


def test_the_diff_names_missing_and_unexpected_rows_on_the_compared_columns() -> None:
    expected = [{"id": 1, "amount": 10}, {"id": 2, "amount": 20}, {"id": 3, "amount": 30}]
    actual = [{"id": 1, "amount": 10.0, "extra": "a"}, {"id": 2, "amount": 21.0, "extra": "b"}, {"id": 4, "amount": None, "extra": "c"}]
    diff = compare_rows(expected, actual)
    assert diff.render("orders_clean") == (
        "orders_clean: 2 expected row(s) missing, 2 unexpected row(s) (expected 3 rows, got 3)\n"
        "  missing (expected, not found):\n"
        "    - {id: 2, amount: 20}\n"
        "    - {id: 3, amount: 30}\n"
        "  unexpected (found, not expected):\n"
        "    + {id: 2, amount: 21.0}\n"
        "    + {id: 4, amount: ∅}"
    )
    assert compare_rows(expected[:1], actual[:1], columns=["id"]).equal


def test_dates_compare_by_their_iso_text() -> None:
    actual = [{"d": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)}]
    assert compare_rows([{"d": "2024-01-02T03:04:05.000Z"}], actual).equal
    assert not compare_rows([{"d": "2024-01-03T03:04:05Z"}], actual).equal


def test_a_long_diff_is_cut() -> None:
    diff = compare_rows([{"id": i} for i in range(25)], [])
    text = diff.render("t")
    assert text.count("    - {id:") == 10 and text.endswith("    ... and 15 more")


def test_column_values() -> None:
    assert compare_values(["NEW", "PAID"], ["PAID", "NEW"], ordered=False, tolerance=0).equal
    assert not compare_values(["NEW", "PAID"], ["PAID", "NEW"], ordered=True, tolerance=0).equal
