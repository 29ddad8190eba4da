"""Impact analysis (issue 15, item 4) as a CI pipeline runs it against DSS:

- a column removed from a dataset's schema is a breaking change: the plan names the recipes below
  it (the managed one, and one dataiku-iac does not manage that DSS shows reading it), the
  datasets they write, and the scenario that builds them, in text, JSON, the saved plan, `show`
  and Markdown; `plan --fail-on breaking` exits 6 after printing and saving the plan, `--fail-on
  destructive` does not;
- a dataset deleted with `--drop-data` is destructive: `--fail-on destructive` exits 6.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.e2e.helpers import EXAMPLES, run_cli

KEY = "IMPACT"
EXAMPLE = EXAMPLES / "impact-analysis"  # the example's Flow, as its README runs it
PROJECT = (EXAMPLE / "projects" / "impact.yml").read_text()
WITHOUT_AMOUNT = PROJECT.replace("        - {name: amount, type: double}\n", "")
WITHOUT_SCRATCH = PROJECT.replace("  - {name: scratch, type: managed, format: csv}\n", "")


def _applied(dss: Any, tmp_path: Path) -> Path:
    root = tmp_path / "cfg"
    shutil.copytree(EXAMPLE, root)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    return root


def _edit(root: Path, text: str) -> None:
    path = root / "projects" / "impact.yml"
    assert path.read_text() != text, "the edit changes nothing"
    path.write_text(text)


def test_a_removed_column_is_breaking_and_names_what_sits_downstream(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    # A recipe made in DSS's UI, that dataiku-iac does not manage, also reads the orders.
    project = dss.client().get_project(KEY)
    project.new_recipe("sync", "adhoc_copy").with_input("orders").with_new_output("orders_copy", "filesystem_managed").create()
    _edit(root, WITHOUT_AMOUNT)

    failed = run_cli(dss, root, "plan", "-e", "dev", "--fail-on", "breaking", "--out", "impact.plan", expect=6)
    text = failed.stdout
    assert "Impact: 1 breaking.\n" in text
    assert f"  ! dataset.{KEY}.orders: breaking\n      schema: column 'amount' removed\n" in text
    for line in (f"recipe.{KEY}.enrich reads dataset.{KEY}.orders",
                 f"recipe.{KEY}.adhoc_copy (not managed by dataiku-iac) reads dataset.{KEY}.orders",
                 f"dataset.{KEY}.enriched is written by recipe.{KEY}.enrich",
                 f"recipe.{KEY}.per_customer reads dataset.{KEY}.enriched",
                 f"dataset.{KEY}.by_customer is written by recipe.{KEY}.per_customer",
                 f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.by_customer"):
        assert line in text, f"{line!r} not in the plan:\n{text}"
    assert "Saved the plan to impact.plan" in text  # the plan is saved even so: a reviewer reads it
    assert failed.stderr.strip().endswith(
        f"Error: --fail-on breaking: the plan has 1 change(s) that are breaking or worse: dataset.{KEY}.orders (breaking)")

    saved = json.loads((root / "impact.plan").read_text())
    assert saved["impact"] == {"highest": "breaking", "non-breaking": 0, "breaking": 1, "destructive": 0}
    orders = next(c for c in saved["resource_changes"] if c["address"] == f"dataset.{KEY}.orders")
    downstream = {d["address"]: d for d in orders["impact"]["downstream"]}
    assert downstream[f"recipe.{KEY}.adhoc_copy"]["managed"] is False
    assert downstream[f"scenario.{KEY}.NIGHTLY"] == {"address": f"scenario.{KEY}.NIGHTLY", "relation": "builds",
                                                     "via": f"dataset.{KEY}.by_customer", "depth": 5, "managed": True,
                                                     "columns": []}

    shown = run_cli(dss, root, "show", "impact.plan")
    assert f"scenario.{KEY}.NIGHTLY builds dataset.{KEY}.by_customer" in shown.stdout  # offline, from the file
    markdown = run_cli(dss, root, "show", "impact.plan", "--format", "markdown").stdout
    assert f"> - `dataset.{KEY}.orders` **breaking**: schema: column 'amount' removed — 7 objects downstream" in markdown

    as_json = run_cli(dss, root, "plan", "-e", "dev", "--json", "--fail-on", "destructive")  # breaking only: exit 0
    assert json.loads(as_json.stdout)["impact"]["highest"] == "breaking"
    run_cli(dss, root, "plan", "-e", "dev", "--fail-on", "breaking", "--detailed-exitcode", expect=6)  # 6 wins over 2
    run_cli(dss, root, "apply", "-e", "dev", "impact.plan")  # the saved plan still applies (the pipeline decides)


def test_a_dataset_deleted_with_drop_data_is_destructive(dss: Any, tmp_path: Path) -> None:
    root = _applied(dss, tmp_path)
    _edit(root, WITHOUT_SCRATCH)

    kept = run_cli(dss, root, "plan", "-e", "dev", "--json", "--fail-on", "destructive")  # data kept: breaking
    scratch = next(c for c in json.loads(kept.stdout)["resource_changes"] if c["address"] == f"dataset.{KEY}.scratch")
    assert scratch["impact"] == {"category": "breaking", "reasons": ["the dataset is deleted"], "downstream": []}

    dropped = run_cli(dss, root, "plan", "-e", "dev", "--drop-data", "--fail-on", "destructive", expect=6)
    assert f"  !! dataset.{KEY}.scratch: destructive\n" in dropped.stdout
    assert "--drop-data: DSS deletes its stored data" in dropped.stdout
    assert "Impact: 1 destructive.\n" in dropped.stdout
    assert f"dataset.{KEY}.scratch (destructive)" in dropped.stderr
