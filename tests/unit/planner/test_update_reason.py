"""An update's reason says which side moved since the last apply, as the state tells it: the
configuration (DSS still holds what was applied), DSS (the configuration still says it), or both."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dataiku_iac.planner.planner import plan

from .test_impact import KEY, PROJECT, _applied, _datasets, _desired


def _reason(tmp_path: Path, config_format: str, dss_format: str) -> str:
    state, observation = _applied(_desired(tmp_path / "before", PROJECT))
    for obj in observation.projects[KEY].objects["dataset"]:
        if obj.name == "totals":
            obj.attributes["format"] = dss_format
    after: dict[str, Any] = copy.deepcopy(PROJECT)
    _datasets(after)["totals"]["format"] = config_format
    result = plan(_desired(tmp_path / "after", after), state, observation)
    return next(c.reason for c in result.changes if c.address == f"dataset.{KEY}.totals")


def test_a_change_of_the_config_is_said_so(tmp_path: Path) -> None:
    assert _reason(tmp_path, "csv", "parquet") == "the config changed: format"


def test_a_change_made_in_dss_is_said_so(tmp_path: Path) -> None:
    assert _reason(tmp_path, "parquet", "csv") == "changed in DSS since the last apply: format"


def test_both_sides_changed(tmp_path: Path) -> None:
    assert _reason(tmp_path, "csv", "json") == "DSS differs from the config on: format"
