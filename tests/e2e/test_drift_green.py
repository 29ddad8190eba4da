"""Drift that can be green (issue 12, item 6), as a user runs the CLI against DSS:
`ignore_changes` hides a change made in the UI from plan and drift, attribute by attribute."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import run_cli, write_config

KEY = "GREEN"
PROJECT = f"""\
project: {{key: {KEY}, name: green}}
datasets:
  - name: orders
    type: managed
    format: csv
    description: raw orders
    tags: [raw]
    ignore_changes: [description, format_params.separator]
"""


def _edit_in_dss(dss: Any, change: Any) -> None:
    settings = dss.client().get_project(KEY).get_dataset("orders").get_settings()
    change(settings.get_raw())
    settings.save()


def test_ignore_changes_hides_a_ui_change_from_plan_and_drift_but_not_another_attribute(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"p.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    raw = dss.client().get_project(KEY).get_dataset("orders").get_settings().get_raw()
    assert raw["description"] == "raw orders", "created with the declared value"

    def ui_edit(doc: dict) -> None:
        doc["description"] = "edited in the UI"
        doc["formatParams"]["separator"] = ";"

    _edit_in_dss(dss, ui_edit)
    assert run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode").stdout.rstrip().endswith("No changes.")
    assert run_cli(dss, root, "drift", "-e", "dev").stdout.startswith("No drift.")

    _edit_in_dss(dss, lambda doc: doc.update(tags=["raw", "ui"]))
    plan = run_cli(dss, root, "plan", "-e", "dev", "--json", expect=None).json()
    changes = [c for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]]
    assert [c["address"] for c in changes] == [f"dataset.{KEY}.orders"]
    drift = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2).json()
    assert [(r["address"], [f["name"] for f in r["fields"]]) for r in drift["resources"]] == [(f"dataset.{KEY}.orders", ["tags"])]

    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")  # puts the tags back, keeps the UI's description
    raw = dss.client().get_project(KEY).get_dataset("orders").get_settings().get_raw()
    assert raw["tags"] == ["raw"] and raw["description"] == "edited in the UI" and raw["formatParams"]["separator"] == ";"
