"""Findings of a user trial of modules, impact analysis and the Terraform habits, end to end:
a plan left short by --exclude or --target does not claim that DSS matches the configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.helpers import run_cli, write_config

PROJECT = """\
project:
  key: TRIAL
  name: Trial
datasets:
  - {name: sales, type: managed, description: one}
  - {name: other, type: managed}
"""


def test_a_plan_left_short_by_exclude_or_target_says_others_may_have_changes(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"trial.yml": PROJECT})
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    (root / "projects" / "trial.yml").write_text(PROJECT.replace("one", "two"))
    for flag, address in (("--exclude", "dataset.TRIAL.sales"), ("--target", "dataset.TRIAL.other")):
        short = run_cli(dss, root, "plan", "-e", "dev", flag, address)
        assert "DSS matches the configuration" not in short.stdout, str(short)
        assert f"Warning: {flag} is in effect" in short.stdout and "may have changes of their own" in short.stdout, str(short)
        assert short.last_line() == "No changes in the objects this plan covers.", str(short)
        saved = root / f"short{flag}.json"
        run_cli(dss, root, "plan", "-e", "dev", flag, address, "--out", str(saved))
        markdown = run_cli(dss, root, "show", str(saved), "--format", "markdown")
        assert "DSS matches the configuration" not in markdown.stdout, str(markdown)
        assert "those left out may have changes" in markdown.stdout, str(markdown)
    whole = run_cli(dss, root, "plan", "-e", "dev", "--exclude", "dataset.TRIAL.other")
    assert "Warning: --exclude is in effect" in whole.stdout and '~ description = "one" -> "two"' in whole.stdout, str(whole)
