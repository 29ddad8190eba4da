"""`dataiku-iac import ADDRESS [ID]` (issue 12, item 5): adopt one object into a managed project.

The object's item is appended to its project's file (comments and layout kept), it is adopted
into the state, and the next plan is `No changes.`. Errors: an address that does not parse, an
object DSS does not have, a folder without its id, an address already in the configuration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.e2e.helpers import cli_env, request_count, run_cli, write_config, writes_since

PROJECT = """\
# The shop's project (hand-written: keep my comments)
project:
  key: SHOP
  name: Shop

datasets:
  - name: orders   # the raw export
    type: managed

# no folders yet
"""


def test_one_dataset_and_one_folder_adopted_into_a_managed_project(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"shop.yml": PROJECT})
    env = cli_env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    project = dss.client().get_project("SHOP")
    project.new_managed_dataset("returns").with_store_into("filesystem_managed", format_option_id="CSV_EXCEL_GZIP").create()
    settings = project.get_dataset("returns").get_settings()
    settings.get_raw()["formatParams"]["separator"] = ";"
    settings.get_raw()["description"] = "Returned orders"
    settings.save()
    folder = project.create_managed_folder("reports", connection_name="filesystem_folders")
    drift = run_cli(dss, root, "drift", "-e", "dev", env=env, expect=2)
    assert "returns" in drift.stdout

    adopted = run_cli(dss, root, "import", "dataset.SHOP.returns", "-e", "dev", env=env)
    assert "added dataset.SHOP.returns to projects/shop.yml (datasets)" in adopted.stdout, str(adopted)
    assert "Check: plan after import -> No changes." in adopted.stdout, str(adopted)
    text = (root / "projects" / "shop.yml").read_text()
    assert text.startswith(PROJECT.split("\n# no folders yet")[0]), text  # comments and layout kept
    assert "  - name: returns\n    type: managed\n" in text and "# no folders yet" in text
    returns = yaml.safe_load(text)["datasets"][-1]
    assert returns["format_params"] == {"separator": ";"} and returns["description"] == "Returned orders"

    missing_id = run_cli(dss, root, "import", "managed_folder.SHOP.reports", "-e", "dev", env=env, expect=1)
    assert "run `dataiku-iac import managed_folder.SHOP.reports ID` with its DSS id" in missing_id.stderr
    as_json = run_cli(dss, root, "import", "managed_folder.SHOP.reports", folder.id, "-e", "dev", "--json", env=env).json()
    assert as_json["dss_id"] == folder.id and as_json["section"] == "managed_folders"
    assert not any(as_json["plan_summary"].values())
    assert yaml.safe_load((root / "projects" / "shop.yml").read_text())["managed_folders"] == [
        {"name": "reports", "connection": "filesystem_folders"}
    ]

    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)
    state = run_cli(dss, root, "state", "list", "-e", "dev", env=env).stdout
    assert "dataset.SHOP.returns" in state and "managed_folder.SHOP.reports" in state

    # Errors: exit 1 with a message saying what is wrong, and the file untouched.
    text = (root / "projects" / "shop.yml").read_text()
    for args, message in (
        (("datset.SHOP.x",), "invalid address 'datset.SHOP.x'"),
        (("dataset.SHOP.nothere",), "dataset 'nothere' not found in project SHOP"),
        (("managed_folder.SHOP.other", "zzzzzzzz"), "managed folder with id 'zzzzzzzz' not found in project SHOP"),
        (("project.SHOP",), "to adopt a whole project, run `dataiku-iac import project KEY`"),
        (("managed_folder.SHOP.reports", "zzzzzzzz"), "already in the state"),
        (("dataset.SHOP.orders",), "already in the state"),
        (("dataset.OTHER.x",), "no project file declares project OTHER"),
        # a usage error (click's), reported as one, never as an internal error
        (("project.SHOP", "--output", str(tmp_path / "out")), "--output is for `import project KEY` only"),
    ):
        failed = run_cli(dss, root, "import", *args, "-e", "dev", env=env, expect=1)
        assert message in failed.stderr and "Internal error" not in failed.stderr, str(failed)
    assert (root / "projects" / "shop.yml").read_text() == text
    # In the configuration but not in the state: the error says how to adopt it (an import: entry).
    (root / "projects" / "shop.yml").write_text(text.replace("  - name: returns\n", "  - name: draft\n    type: managed\n  - name: returns\n"))
    failed = run_cli(dss, root, "import", "dataset.SHOP.draft", "-e", "dev", env=env, expect=1)
    assert "add `import: [{to: dataset.SHOP.draft}]` to that file and apply" in failed.stderr, str(failed)


DECLARED = """\
project:
  key: SHOP
  name: Shop

datasets:
  - name: orders
    type: managed
  - name: returns
    type: managed
    format_params: {separator: ";"}
    description: Returned orders (from the config)
managed_folders:
  - name: reports
    connection: filesystem_folders

import:
  - to: dataset.SHOP.returns
  - to: managed_folder.SHOP.reports
    id: FOLDER_ID
"""


def test_import_entries_of_the_config_adopt_at_apply_and_then_do_nothing(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"shop.yml": PROJECT})
    env = cli_env(dss)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    project = dss.client().get_project("SHOP")
    project.new_managed_dataset("returns").with_store_into("filesystem_managed", format_option_id="CSV_EXCEL_GZIP").create()
    settings = project.get_dataset("returns").get_settings()
    settings.get_raw()["formatParams"]["separator"] = ";"
    settings.save()
    folder = project.create_managed_folder("reports", connection_name="filesystem_folders")

    # Mistakes are refused before any DSS request, at their line.
    bad = DECLARED.replace("id: FOLDER_ID", "").replace("dataset.SHOP.returns", "dataset.SHOP.retruns")
    (root / "projects" / "shop.yml").write_text(bad)
    refused = run_cli(dss, root, "validate", "-e", "dev", "--offline", env=env, expect=1)
    assert "shop.yml:17:" in refused.stderr and "this file declares no dataset 'retruns'" in refused.stderr, str(refused)
    assert "shop.yml:18:" in refused.stderr and "needs the managed folder's DSS id" in refused.stderr, str(refused)

    (root / "projects" / "shop.yml").write_text(DECLARED.replace("FOLDER_ID", folder.id))
    plan = run_cli(dss, root, "plan", "-e", "dev", env=env)
    assert "# dataset.SHOP.returns will be imported and updated in-place" in plan.stdout, str(plan)
    assert "# managed_folder.SHOP.reports will be imported" in plan.stdout, str(plan)
    assert "Plan: 2 to import, 0 to add, 1 to change, 0 to destroy." in plan.stdout, str(plan)
    as_json = run_cli(dss, root, "plan", "-e", "dev", "--json", env=env).json()
    assert as_json["summary"]["import"] == 2
    assert {c["address"]: c["action"] for c in as_json["resource_changes"] if c.get("importing")} == {
        "dataset.SHOP.returns": "update", "managed_folder.SHOP.reports": "no-op"
    }

    before = request_count(dss)
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "Resources: 2 imported, 0 added, 1 changed, 0 destroyed." in applied.stdout, str(applied)
    assert writes_since(dss, before) == [("PUT", "/projects/SHOP/datasets/returns")]  # the folder: state only
    assert project.get_dataset("returns").get_settings().get_raw()["description"] == "Returned orders (from the config)"
    shown = run_cli(dss, root, "state", "show", "managed_folder.SHOP.reports", "-e", "dev", env=env).stdout
    assert folder.id in shown and "imported" in shown, shown

    again = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert again.last_line().startswith("No changes."), str(again)  # the entries are now no-ops


def test_an_import_entry_for_an_object_dss_lacks_is_a_plan_error(dss: Any, tmp_path: Path) -> None:
    text = PROJECT + "  - name: ghost\n    type: managed\nimport:\n  - to: dataset.SHOP.ghost\n"
    root = write_config(tmp_path / "cfg", {"shop.yml": text})
    failed = run_cli(dss, root, "plan", "-e", "dev", env=cli_env(dss), expect=1)
    assert "dataset.SHOP.ghost: cannot import: no dataset 'ghost' in DSS project SHOP" in failed.stderr, str(failed)
