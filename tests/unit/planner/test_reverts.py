"""Telling reverts of drift from config changes (issue 10, lifecycle 7): `drift` counts what an
apply would do in two parts, and a change whose config did not move is a revert of the drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataiku_iac.planner.planner import plan, split_reverts

from .golden_support import load_case

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
NONE = {"add": 0, "change": 0, "destroy": 0, "forget": 0}


def _split(case: str, edit_state=None) -> tuple[dict, dict]:
    desired, state, observed = load_case(GOLDEN / case)
    if edit_state is not None:
        edit_state(state)
    return split_reverts(plan(desired, state, observed), state)


@pytest.mark.parametrize(
    ("case", "config"),
    [
        ("dataset_format_changed", {**NONE, "change": 1}),
        ("description_reset", {**NONE, "change": 1}),
        ("variable_removed", {**NONE, "change": 1}),
        ("dataset_connection_replaced", {**NONE, "add": 1, "destroy": 1}),
        ("dataset_removed_from_config", {**NONE, "destroy": 1}),
        ("demo_add_dataset", {**NONE, "add": 1}),
    ],
)
def test_changes_of_the_config_are_not_reverts(case: str, config: dict) -> None:
    assert _split(case) == (config, NONE)


def test_recreating_what_was_deleted_outside_is_a_revert() -> None:
    assert _split("dataset_deleted_outside") == (NONE, {**NONE, "add": 1})


def test_changing_back_what_was_changed_in_dss_is_a_revert() -> None:
    def applied_csv(state):  # the config's csv was applied; DSS now says parquet
        state.resources["dataset.DEMO_PROJECT.TEST_DATA"].attributes["format"] = "csv"

    assert _split("dataset_format_changed", applied_csv) == (NONE, {**NONE, "change": 1})


def test_a_config_change_on_a_drifted_resource_is_a_config_change() -> None:
    def other_format(state):  # applied json, DSS says parquet, the config now says csv
        state.resources["dataset.DEMO_PROJECT.TEST_DATA"].attributes["format"] = "json"

    assert _split("dataset_format_changed", other_format) == ({**NONE, "change": 1}, NONE)
