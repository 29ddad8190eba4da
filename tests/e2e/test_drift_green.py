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


LEGACY = "LEGACY_FLOW"


def _imported_with_strangers(dss: Any, tmp_path: Path) -> tuple[Path, Path]:
    """A project built in DSS and imported; then the team adds objects it does not manage."""
    client = dss.client()
    project = client.create_project(LEGACY, "legacy flow", "admin")
    project.new_managed_dataset("orders").with_store_into("filesystem_managed").create()
    root = write_config(tmp_path / "cfg", {})
    run_cli(dss, root, "import", "project", LEGACY, "-e", "dev")
    project.new_managed_dataset("tmp_scratch").with_store_into("filesystem_managed").create()
    project.new_recipe("sync", "copy_orders").with_input("orders").with_new_output("orders_copy", "filesystem_managed").create()
    return root, root / "projects" / f"{LEGACY.lower()}.yml"


def _with_policy(project_file: Path, text: str) -> None:
    body = project_file.read_text(encoding="utf-8").split("\nunmanaged:")[0].rstrip("\n")
    project_file.write_text(body + "\n" + text, encoding="utf-8")


STRANGERS = [f"dataset.{LEGACY}.orders_copy", f"dataset.{LEGACY}.tmp_scratch", f"recipe.{LEGACY}.copy_orders"]


def test_unmanaged_policy_makes_an_imported_project_green_or_red(dss: Any, tmp_path: Path) -> None:
    root, project_file = _imported_with_strangers(dss, tmp_path)
    reported = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=2).json()  # default: report
    assert sorted(r["address"] for r in reported["resources"]) == STRANGERS

    _with_policy(project_file, "unmanaged: ignore\n")
    green = run_cli(dss, root, "drift", "-e", "dev")
    assert green.stdout.startswith("No drift.") and "3 unmanaged objects ignored by policy" in green.stdout, str(green)
    assert run_cli(dss, root, "drift", "-e", "dev", "--json").json()["ignored_unmanaged"] == STRANGERS

    _with_policy(project_file, "unmanaged: {policy: fail, ignore: {datasets: [tmp_*]}}\n")
    write_config(root, {}, env="policies: {drift: warn}\n")  # the policy fails drift even so
    red = run_cli(dss, root, "drift", "-e", "dev", expect=2)
    for address in (f"dataset.{LEGACY}.orders_copy", f"recipe.{LEGACY}.copy_orders"):
        assert f"! {address} exists in DSS but is not managed by dataiku-iac, which its project's `unmanaged: fail`" in red.stdout
    assert "tmp_scratch" not in red.stdout.split("ignored by")[0], str(red)
    plan = run_cli(dss, root, "plan", "-e", "dev")
    assert "its `unmanaged: fail` policy forbids (dataset orders_copy, recipe copy_orders)" in plan.output
    assert plan.stdout.rstrip().endswith("No changes."), "a plan leaves unmanaged objects alone"
