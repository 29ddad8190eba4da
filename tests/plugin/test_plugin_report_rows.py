"""The drift-report recipe's rows (pure functions, no DSS)."""

from __future__ import annotations

from dataiku_iac.dss.report import COLUMNS, MAX_VALUE_CHARS, drift_rows, state_rows
from plugin_helpers import small_state

REPORT = {
    "environment": "prod",
    "resources": [
        {"address": "dataset.S.orders", "type": "dataset", "project_key": "S_PROD", "kind": "changed",
         "fields": [{"name": "format", "recorded": "csv", "live": "parquet"},
                    {"name": "params", "recorded": {"a": 1}, "live": "x" * (MAX_VALUE_CHARS + 10)}]},
        {"address": "recipe.S.old", "type": "recipe", "project_key": "S_PROD", "kind": "deleted", "fields": []},
    ],
}


def test_one_row_per_resource_and_field():
    rows = drift_rows(REPORT, "2026-01-01T00:00:00Z")
    assert [tuple(r) for r in rows] == [COLUMNS] * 3
    assert [(r["address"], r["kind"], r["field"]) for r in rows] == [
        ("dataset.S.orders", "changed", "format"),
        ("dataset.S.orders", "changed", "params"),
        ("recipe.S.old", "deleted", ""),
    ]
    assert rows[1]["recorded"] == '{"a": 1}' and rows[1]["live"].endswith("…")
    assert {r["environment"] for r in rows} == {"prod"} and {r["checked_at"] for r in rows} == {"2026-01-01T00:00:00Z"}


def test_no_drift_still_gives_a_point_in_time():
    [row] = drift_rows({"environment": "dev", "resources": []}, "t")
    assert row["kind"] == "none" and row["address"] == ""


def test_state_rows():
    rows = state_rows(small_state("dev"), "t", "dev")
    assert rows == [{"checked_at": "t", "environment": "dev", "address": "project.DEMO", "type": "project",
                     "project_key": "DEMO", "kind": "state", "field": "dss_id", "recorded": "DEMO", "live": ""}]
