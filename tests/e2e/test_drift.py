"""Acceptance point 4: drift.

Changes made through dataikuapi behind the tool's back to managed fields are reported by
`drift -e dev` (exit 2; the JSON names the address and the field). DSS's own bookkeeping is
not drift: a no-op save (which bumps versionTag), a new key DSS adds to a document, key order
(exit 0). Objects deleted outside the tool and objects the tool does not own are reported too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

from tests.e2e.helpers import run_cli, write_config

PROJECT = """\
project:
  key: DRIFT
  name: Drift watch
  description: watched by drift
  tags: [iac]
  permissions:
    - group: data_team
      role: contributor
  variables:
    standard:
      min_amount: 10
      region: emea
managed_folders:
  - name: reports
    description: weekly reports
datasets:
  - name: orders
    type: managed
    format: csv
    description: raw orders
    tags: [raw]
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}
  - name: orders_clean
    type: managed
    format: parquet
recipes:
  - name: clean
    type: python
    inputs: [orders]
    outputs: [orders_clean]
    code: |
      print("clean")
scenarios:
  - id: NIGHTLY
    name: Nightly
    active: true
    triggers:
      - {type: temporal, frequency: Daily, hour: 2, minute: 30}
    steps:
      - {type: build, datasets: [orders_clean]}
"""
KEY = "DRIFT"


def _applied(dss: Any, tmp_path: Path) -> Path:
    root = write_config(tmp_path / "cfg", {"drift.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    clean = run_cli(dss, root, "drift", "-e", "dev")
    assert clean.stdout.startswith("No drift."), str(clean)
    return root


def _drift(dss: Any, root: Path, expect: int) -> dict:
    return run_cli(dss, root, "drift", "-e", "dev", "--json", expect=expect).json()


def _edit(settings: Any, change: Callable[[dict], None]) -> None:
    change(settings.get_raw())
    settings.save()


def test_managed_changes_made_behind_the_tools_back_are_drift(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    dataset = project.get_dataset("orders")
    _edit(dataset.get_settings(), lambda raw: raw.update(description="edited in the UI"))
    _edit(dataset.get_settings(), lambda raw: raw["schema"]["columns"][1].update(type="string"))
    project.set_variables({**project.get_variables(), "standard": {"min_amount": 99, "region": "emea"}})
    metadata = project.get_metadata()
    metadata["tags"] = ["iac", "hand-made"]
    project.set_metadata(metadata)
    folder = project.get_managed_folder(project.list_managed_folders()[0]["id"])
    _edit(folder.get_settings(), lambda raw: raw.update(description="moved"))
    recipe = project.get_recipe("clean").get_settings()
    recipe.set_payload('print("hot fix")\n')
    recipe.save()
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw.update(active=False))
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw["triggers"][0]["params"].update(hour=4))

    report = _drift(dss, root, expect=2)
    changed = {(r["address"], f["name"]) for r in report["resources"] if r["kind"] == "changed" for f in r["fields"]}
    assert changed == {
        ("dataset.DRIFT.orders", "description"),
        ("dataset.DRIFT.orders", "schema"),
        ("project.DRIFT", "variables"),
        ("project.DRIFT", "tags"),
        ("managed_folder.DRIFT.reports", "description"),
        ("recipe.DRIFT.clean", "code"),
        ("scenario.DRIFT.NIGHTLY", "active"),
        ("scenario.DRIFT.NIGHTLY", "triggers"),
    }
    assert report["summary"] == {"changed": 5, "deleted": 0, "unmanaged": 0}
    fields = {(r["address"], f["name"]): f for r in report["resources"] for f in r["fields"]}
    assert fields[("dataset.DRIFT.orders", "description")] == {"name": "description", "recorded": "raw orders", "live": "edited in the UI"}
    assert fields[("project.DRIFT", "variables")]["live"]["standard"]["min_amount"] == 99
    text = run_cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert text.startswith("Drift detected") and "~ dataset.DRIFT.orders changed outside dataiku-iac" in text
    assert '~ description: "raw orders" (applied) -> "edited in the UI" (in DSS)' in text
    # The plan puts the config back; then there is no drift.
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert _drift(dss, root, expect=0)["drift"] is False


def _reorder(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _reorder(node[k]) for k in reversed(list(node))}
    if isinstance(node, list):
        return [_reorder(v) for v in node]
    return node


def test_dss_bookkeeping_is_not_drift(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    folder_id = project.list_managed_folders()[0]["id"]
    handles = {
        "dataset": lambda: project.get_dataset("orders").get_settings(),
        "folder": lambda: project.get_managed_folder(folder_id).get_settings(),
        "scenario": lambda: project.get_scenario("NIGHTLY").get_settings(),
        "project settings": lambda: project.get_settings(),
    }
    for what, handle in handles.items():  # no-op saves: DSS bumps versionTag
        settings = handle()
        tag = copy.deepcopy(settings.get_raw().get("versionTag"))
        settings.save()
        assert handle().get_raw().get("versionTag") != tag, f"a save of the {what} did not move its versionTag"
    recipe = project.get_recipe("clean").get_settings()
    tag = copy.deepcopy(recipe.data["recipe"].get("versionTag"))
    recipe.save()
    assert project.get_recipe("clean").get_settings().data["recipe"].get("versionTag") != tag
    project.set_metadata(project.get_metadata())
    project.set_permissions(project.get_permissions())
    project.set_variables(project.get_variables())

    # DSS adds keys on upgrades: unmanaged defaults inside and beside managed documents.
    def add_defaults(raw: dict) -> None:
        raw["featureGroup"] = False
        raw["typeSystemVersion"] = "V2"
        raw["params"]["newDefaultOption"] = {"enabled": False}
        raw["formatParams"]["someNewFlag"] = True
        raw["schema"]["columns"][0]["meaning"] = None
        raw["schema"]["userModified"] = True

    _edit(project.get_dataset("orders").get_settings(), add_defaults)
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw["params"]["steps"][0].update(maxRetriesOnFail=0, newStepFlag=True))
    _edit(project.get_scenario("NIGHTLY").get_settings(), lambda raw: raw["triggers"][0]["params"].update(lastUpdate=1766784000000))

    # Key order: the same documents, every mapping's keys reversed.
    for name in ("orders", "orders_clean"):
        settings = project.get_dataset(name).get_settings()
        reordered = _reorder(settings.get_raw())
        settings.get_raw().clear()
        settings.get_raw().update(reordered)
        settings.save()
    settings = project.get_scenario("NIGHTLY").get_settings()
    reordered = _reorder(settings.get_raw())
    settings.get_raw().clear()
    settings.get_raw().update(reordered)
    settings.save()

    report = _drift(dss, root, expect=0)
    assert report["drift"] is False and report["resources"] == [], report
    assert report["checked"] == 6
    assert run_cli(dss, root, "plan", "-e", "dev").last_line().startswith("No changes.")


def test_deleted_outside_and_unmanaged_objects_are_drift(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    project = dss.client().get_project(KEY)
    project.get_recipe("clean").delete()
    project.get_dataset("orders_clean").delete()
    project.create_dataset("stranger", "Filesystem", params={"connection": "filesystem_managed", "path": "/x"}, formatType="csv")
    project.create_managed_folder("hand_made")
    project.create_scenario("Made by hand", "step_based", definition={"id": "HAND_MADE", "params": {"steps": []}})

    report = _drift(dss, root, expect=2)
    kinds = {(r["address"], r["kind"]) for r in report["resources"]}
    assert kinds == {
        ("recipe.DRIFT.clean", "deleted"),
        ("dataset.DRIFT.orders_clean", "deleted"),
        ("dataset.DRIFT.stranger", "unmanaged"),
        ("managed_folder.DRIFT.hand_made", "unmanaged"),
        ("scenario.DRIFT.HAND_MADE", "unmanaged"),
    }
    assert report["summary"] == {"changed": 0, "deleted": 2, "unmanaged": 3}
    text = run_cli(dss, root, "drift", "-e", "dev", expect=2).stdout
    assert "- dataset.DRIFT.orders_clean was deleted outside dataiku-iac" in text
    assert "? dataset.DRIFT.stranger exists in DSS but is not managed by dataiku-iac" in text
    # apply re-creates what was deleted and never touches the strangers
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    names = {d["name"] for d in project.list_datasets()}
    assert names == {"orders", "orders_clean", "stranger"}
    assert {f["name"] for f in project.list_managed_folders()} == {"reports", "hand_made"}
    after = _drift(dss, root, expect=2)
    assert {r["kind"] for r in after["resources"]} == {"unmanaged"}
