"""Types DSS gives an id of its own (managed folders, flow zones) are found by that id, so their
name is one more attribute: a config that renames one (and `state mv` that follows it) plans a
rename in place, never a silent "No changes." with DSS keeping the old name; a rename made in DSS
is drift, put back by the next apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli import cli_env, run_cli, write_config

KEY = "RN"
PROJECT = f"""\
project:
  key: {KEY}
  name: Renames

flow_zones:
  - name: z1
    color: "#ff0000"

managed_folders:
  - name: fold1
    zone: z1

datasets:
  - name: orders
    type: managed
    zone: z1
"""


def run(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    return run_cli(root, *args, env=cli_env(dss), expect=expect).stdout


def names(dss: Any) -> tuple[set[str], set[str]]:
    project = dss.client().get_project(KEY)
    folders = {f["name"] for f in project.list_managed_folders()}
    zones = {z.name for z in project.get_flow().list_zones() if z.id != "default"}
    return folders, zones


def test_a_renamed_folder_and_zone_are_renamed_in_dss_in_place(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"rn.yml": PROJECT})
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(KEY)
    folder_id = project.list_managed_folders()[0]["id"]

    renamed = PROJECT.replace("name: z1", "name: z2").replace("zone: z1", "zone: z2").replace("fold1", "fold2")
    (root / "projects" / "rn.yml").write_text(renamed, encoding="utf-8")
    run(dss, root, "state", "mv", "-e", "dev", "managed_folder.RN.fold1", "managed_folder.RN.fold2")
    run(dss, root, "state", "mv", "-e", "dev", "flow_zone.RN.z1", "flow_zone.RN.z2")

    plan = run(dss, root, "plan", "-e", "dev", "--detailed-exitcode", expect=2)
    assert '~ name = "fold1" -> "fold2"' in plan and '~ name = "z1" -> "z2"' in plan, plan
    assert "0 to add" in plan and "0 to destroy" in plan, plan  # in place: the folder's files stay

    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert names(dss) == ({"fold2"}, {"z2"})
    assert project.list_managed_folders()[0]["id"] == folder_id
    assert project.get_dataset("orders").get_zone().name == "z2"
    assert run(dss, root, "plan", "-e", "dev", "--detailed-exitcode").strip().splitlines()[-1].startswith("No changes.")

    # Renamed in DSS behind the tool's back: drift names it, apply puts the configured name back.
    project.get_managed_folder(folder_id).rename("by_hand")
    drift = run(dss, root, "drift", "-e", "dev", expect=2)
    assert "managed_folder.RN.fold2" in drift and "by_hand" in drift, drift
    run(dss, root, "apply", "-e", "dev", "--auto-approve")
    assert names(dss) == ({"fold2"}, {"z2"})
