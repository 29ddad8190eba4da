"""Flow zones, a built-in type written as docs/architecture.md "Adding a resource type" says
(resources/flow_zone.py and one registry line): validate with file:line errors, plan, apply, no
changes, drift, import and the state commands, run as a user does (the CLI in a subprocess)
against the emulator. Membership is on the member's side: a dataset, folder or recipe says
`zone: NAME`; a recipe's outputs are in its zone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.cli import cli_env, run_cli, write_config

KEY = "ZF"
PROJECT = f"""\
project:
  key: {KEY}
  name: Zoned

flow_zones:
  - name: raw
    color: "#FF0000"
  - name: clean

managed_folders:
  - name: files
    zone: clean

datasets:
  - name: orders
    type: managed
    zone: raw
  - name: orders_clean
    type: managed

recipes:
  - name: compute_orders_clean
    type: python
    inputs: [orders]
    outputs: [orders_clean]
    code: "print(1)"
    zone: clean
"""


def last_line(dss: Any, root: Path, *args: str, expect: int = 0) -> str:
    return run_cli(root, *args, env=cli_env(dss), expect=expect).last_line()


def zones(dss: Any, key: str = KEY) -> dict[str, dict[str, Any]]:
    """name -> {color, items: {"TYPE:id"}} of the project's zones in DSS (the default zone left out)."""
    listed = dss.client().get_project(key).get_flow().list_zones()
    return {
        z.name: {"color": z.color, "items": {f"{i['objectType']}:{i['objectId']}" for i in z._raw["items"]}}
        for z in listed
        if z.id != "default"
    }


def test_validate_reports_each_mistake_at_its_file_and_line(dss: Any, tmp_path: Path) -> None:
    bad = (
        PROJECT.replace("    zone: raw\n", "    zone: rwa\n")  # a typo: unknown zone, did you mean raw
        .replace("  - name: clean\n", '  - name: clean\n  - name: clean\n  - name: sky\n    color: blue\n  - name: default\n')
        .replace("  - name: orders_clean\n    type: managed\n", "  - name: orders_clean\n    type: managed\n    zone: raw\n")
    )
    root = write_config(tmp_path / "cfg", {"zf.yml": bad})
    out = run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss), expect=1).output
    assert "5 problems" in out, out
    assert re.search(r"projects/zf\.yml:9:11\b.*duplicate flow zone name 'clean'", out), out
    assert re.search(r"projects/zf\.yml:11:12\b.*a colour is written #RRGGBB", out), out
    assert re.search(r"projects/zf\.yml:12:5\b.*'default' is the name of DSS's own zone", out), out
    assert re.search(r"projects/zf\.yml:21:\d+\b.*datasets\[0\]\.zone: its zone names an unknown flow zone 'rwa'.*did you mean 'raw'", out), out
    assert re.search(r"projects/zf\.yml:24:\d+\b.*datasets\[1\]\.zone: 'orders_clean' declares zone 'raw' and 'compute_orders_clean' zone 'clean'.*one flow zone", out), out
    run_cli(write_config(tmp_path / "good", {"zf.yml": PROJECT}), "validate", "-e", "dev", "--offline", env=cli_env(dss))


def test_plan_apply_drift_membership_and_state_commands(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"zf.yml": PROJECT})
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "flow_zone.ZF.raw" in plan and "flow_zone.ZF.clean" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    live = zones(dss)
    assert live["raw"] == {"color": "#ff0000", "items": {"DATASET:orders"}}, live  # the colour as the tool speaks it
    folder_id = next(f["id"] for f in dss.client().get_project(KEY).list_managed_folders() if f["name"] == "files")
    # The recipe's output went with it (DSS moves a recipe and its outputs together).
    assert live["clean"]["items"] == {"RECIPE:compute_orders_clean", "DATASET:orders_clean", f"MANAGED_FOLDER:{folder_id}"}, live
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # Drift: a member moved in DSS, a colour changed, a zone made by hand.
    flow = dss.client().get_project(KEY).get_flow()
    by_name = {z.name: z for z in flow.list_zones()}
    dss.client().get_project(KEY).get_dataset("orders").move_to_zone(by_name["clean"])
    settings = by_name["raw"].get_settings()
    settings.color = "#00ff00"
    settings.save()
    flow.create_zone("by_hand")
    drift = run_cli(root, "drift", "-e", "dev", env=cli_env(dss), expect=2).stdout
    assert "dataset.ZF.orders" in drift and "flow_zone.ZF.raw" in drift and "flow_zone.ZF.by_hand" in drift, drift
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert re.search(r"zone.*clean.*raw", plan) and "#00ff00" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert zones(dss)["raw"] == {"color": "#ff0000", "items": {"DATASET:orders"}}

    # A member that stops declaring its zone goes back to the default zone; a deleted zone's
    # objects too (as DSS does), and the recipe's zone changes with its outputs.
    changed = PROJECT.replace("    type: managed\n    zone: raw\n", "    type: managed\n").replace(
        "  - name: clean\n", "  - name: clean\n  - name: serving\n    color: \"#123456\"\n"
    ).replace('    code: "print(1)"\n    zone: clean\n', '    code: "print(1)"\n    zone: serving\n')
    (root / "projects" / "zf.yml").write_text(changed, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "dataset.ZF.orders" in plan and "recipe.ZF.compute_orders_clean" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    live = zones(dss)
    assert live["raw"]["items"] == set() and live["clean"]["items"] == {f"MANAGED_FOLDER:{folder_id}"}, live
    assert live["serving"]["items"] == {"RECIPE:compute_orders_clean", "DATASET:orders_clean"}, live
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")

    # The state commands: list, show, mv (a zone has a DSS id: renamed in DSS, its address follows), rm.
    listed = run_cli(root, "state", "list", "-e", "dev", env=cli_env(dss)).stdout
    assert "flow_zone.ZF.raw" in listed and "flow_zone.ZF.serving" in listed, listed
    raw_id = next(z.id for z in flow.list_zones() if z.name == "raw")
    shown = run_cli(root, "state", "show", "-e", "dev", "flow_zone.ZF.raw", env=cli_env(dss)).stdout
    assert raw_id in shown and "#ff0000" in shown, shown
    settings = flow.get_zone(raw_id).get_settings()
    settings.name = "landing"
    settings.save()
    run_cli(root, "state", "mv", "-e", "dev", "flow_zone.ZF.raw", "flow_zone.ZF.landing", env=cli_env(dss))
    (root / "projects" / "zf.yml").write_text(changed.replace("name: raw", "name: landing"), encoding="utf-8")
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
    run_cli(root, "state", "rm", "-e", "dev", "flow_zone.ZF.landing", env=cli_env(dss))
    assert "flow_zone.ZF.landing" not in run_cli(root, "state", "list", "-e", "dev", env=cli_env(dss)).stdout
    assert "landing" in zones(dss)  # rm forgets, DSS keeps it


def test_removing_a_zone_sends_its_objects_back_to_the_default_zone(dss: Any, tmp_path: Path) -> None:
    config = PROJECT.replace(f"key: {KEY}", "key: ZD")
    root = write_config(tmp_path / "cfg", {"zd.yml": config})
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    gone = config.replace('  - name: raw\n    color: "#FF0000"\n', "").replace("    type: managed\n    zone: raw\n", "    type: managed\n")
    (root / "projects" / "zd.yml").write_text(gone, encoding="utf-8")
    plan = run_cli(root, "plan", "-e", "dev", "--detailed-exitcode", env=cli_env(dss), expect=2).stdout
    assert "flow_zone.ZD.raw" in plan and "dataset.ZD.orders" in plan, plan
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert "raw" not in zones(dss, "ZD")
    assert dss.client().get_project("ZD").get_dataset("orders").get_zone().id == "default"
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")


def test_import_writes_zones_and_memberships_and_plans_no_changes(dss: Any, tmp_path: Path) -> None:
    """A project made with dataikuapi: zones (a mixed-case colour, DSS's default one, a name the
    schema refuses) and objects moved into them, a recipe with its output."""
    client = dss.client()
    project = client.create_project("ZI", "Imported zones", "admin")
    flow = project.get_flow()
    landing = flow.create_zone("landing", color="#31439C")
    plain = flow.create_zone("plain")
    free = flow.create_zone("Plain Zone")
    project.new_managed_dataset("src").with_store_into("filesystem_managed").create()
    project.new_managed_dataset("out").with_store_into("filesystem_managed").create()
    project.new_managed_dataset("loose").with_store_into("filesystem_managed").create()
    builder = project.new_recipe("python", "compute_out")
    builder.with_input("src")
    builder.with_output("out")
    builder.with_script("print(1)")
    builder.create()
    project.get_dataset("src").move_to_zone(landing)
    project.get_recipe("compute_out").move_to_zone(plain)
    project.get_dataset("loose").move_to_zone(free)

    root = write_config(tmp_path / "cfg", {})
    output = run_cli(root, "import", "project", "ZI", "-e", "dev", env=cli_env(dss)).output
    assert "flow_zone Plain Zone" in output, output  # reported, left unmanaged
    written = yaml.safe_load((root / "projects" / "zi.yml").read_text(encoding="utf-8"))
    assert written["flow_zones"] == [{"name": "landing", "color": "#31439c"}, {"name": "plain"}]
    members = {item["name"]: item.get("zone") for section in ("datasets", "recipes") for item in written[section]}
    # The output is in its recipe's zone (they move together); `loose` is in a zone import cannot write.
    assert members == {"src": "landing", "out": "plain", "loose": None, "compute_out": "plain"}, members
    run_cli(root, "validate", "-e", "dev", "--offline", env=cli_env(dss))
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
    assert "Plain Zone" in zones(dss, "ZI")  # left alone in DSS


def test_a_recipes_outputs_are_in_its_zone_without_declaring_it(dss: Any, tmp_path: Path) -> None:
    """The recipe declares the zone: its outputs get it in the plan (they move with it in DSS), so
    none of them ever falls back to the default zone alone; the plan converges."""
    root = write_config(tmp_path / "cfg", {"zo.yml": PROJECT.replace(f"key: {KEY}", "key: ZO")})
    plan = run_cli(root, "plan", "-e", "dev", "--json", env=cli_env(dss), expect=None).json()
    after = {c["address"]: (c["change"]["after"] or {}).get("zone") for c in plan["resource_changes"]}
    assert after["dataset.ZO.orders_clean"] == "clean" and after["recipe.ZO.compute_orders_clean"] == "clean", after
    depends = {c["address"]: c["depends_on"] for c in plan["resource_changes"]}
    assert "flow_zone.ZO.clean" in depends["dataset.ZO.orders_clean"], depends  # the zone is created first
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=cli_env(dss))
    assert last_line(dss, root, "plan", "-e", "dev", "--detailed-exitcode").startswith("No changes.")
