"""Apply order against DSS behaviour: DSS deletes the recipes that read or write a managed folder
with the folder (reference/dataikuapi-surface.md 10.4), so a recipe that stops writing a folder
the same apply deletes must be saved before the folder goes: before, the folder's delete took the
recipe with it and the recipe's update failed ("recipe does not exist")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.engine.session import Session

from tests.e2e.helpers import list_names, write_config

KEY = "ORDER"
BEFORE = f"""\
project: {{key: {KEY}, name: order}}
managed_folders:
  - {{name: exports}}
datasets:
  - {{name: a, type: managed}}
  - {{name: b, type: managed}}
recipes:
  - {{name: r, type: python, inputs: [a], outputs: [exports, b], code: "print(1)"}}
"""
AFTER = BEFORE.replace("managed_folders:\n  - {name: exports}\n", "").replace("outputs: [exports, b]", "outputs: [b]")


def _session(dss: Any, root: Path, parallelism: int) -> Session:
    return Session(root, "dev", environ={"DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}, parallelism=parallelism)


@pytest.mark.parametrize("parallelism", [1, 4])
def test_a_recipe_stops_writing_a_folder_the_same_apply_deletes(dss: Any, tmp_path: Path, parallelism: int) -> None:
    root = write_config(tmp_path / "cfg", {"order.yml": BEFORE})
    _, first = _session(dss, root, parallelism).apply()
    assert first.ok, first.failed
    write_config(root, {"order.yml": AFTER})
    review, applied = _session(dss, root, parallelism).apply()
    actions = {c.address: c.action.value for c in review.plan.actionable()}
    assert actions == {f"managed_folder.{KEY}.exports": "delete", f"recipe.{KEY}.r": "update"}
    assert applied.ok, applied.failed
    assert list_names(dss.client(), KEY)["recipe"] == ["r"] and list_names(dss.client(), KEY)["managed_folder"] == []
    assert not _session(dss, root, parallelism).plan().plan.has_changes
