"""Never break what isn't ours (issue 12, item 7), as a user runs the CLI against DSS:
removing a dataset from the configuration while a recipe the state does not own reads it is
refused with the recipe named, nothing is applied, and `--force-delete` allows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import list_names, run_cli, write_config

KEY = "NOT_OURS"
PROJECT = f"""\
project: {{key: {KEY}, name: not ours}}
datasets:
  - {{name: raw, type: managed}}
  - {{name: kept, type: managed}}
"""


def test_deleting_a_dataset_an_unmanaged_recipe_reads_is_refused_unless_forced(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"p.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project(KEY)
    project.new_recipe("sync", "copy_raw").with_input("raw").with_new_output("raw_copy", "filesystem_managed").create()
    write_config(root, {"p.yml": PROJECT.replace("  - {name: raw, type: managed}\n", "")})

    refused = run_cli(dss, root, "plan", "-e", "dev", expect=1)
    assert f"dataset raw in {KEY} is used by recipe(s) not managed by dataiku-iac (copy_raw)" in refused.stderr
    assert f"--force-delete dataset.{KEY}.raw" in refused.stderr
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", expect=1)
    assert "raw" in list_names(dss.client(), KEY)["dataset"], "a refused plan applies nothing"

    forced = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", "--force-delete", f"dataset.{KEY}.raw")
    assert "nor that no recipe dataiku-iac does not manage uses them" in forced.output
    assert f"dataset.{KEY}.raw is used by recipe(s) dataiku-iac does not manage, which it leaves broken: copy_raw" in forced.output
    assert "raw" not in list_names(dss.client(), KEY)["dataset"]
