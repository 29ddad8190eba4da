"""`dataiku-iac show PLANFILE [--format text|json|markdown|gitlab]` as a user runs it.

A saved plan made by `plan --out` against the emulator is shown in each format; `show` itself
never contacts DSS (it runs with no DSS URL at all); a plan file edited after it was written is
refused, as apply refuses it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tests.e2e.helpers import cli_env, run_cli, write_config
from tests.support.cli import run_cli as run_cli_offline

PROJECT = """\
project:
  key: SHOWN
  name: Shown plan
  variables:
    standard:
      token: {secret_env: IAC_SECRET_SHOW_TOKEN}
datasets:
  - name: a
    type: managed
    format: csv
"""
SECRET = "canary-show-4b1d-secret"


def _offline_env() -> dict[str, str]:
    """No DSS URL, no key: anything that tried to reach DSS would fail."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC", "IAC_SECRET_"))} | {"NO_COLOR": "1"}


def test_show_renders_a_saved_plan_in_every_format_offline(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"shown.yml": PROJECT})
    plan_file = tmp_path / "plan.json"
    planned = run_cli(dss, root, "plan", "-e", "dev", "--out", str(plan_file), env=cli_env(dss, IAC_SECRET_SHOW_TOKEN=SECRET))
    saved = json.loads(plan_file.read_text())
    offline = _offline_env()

    text = run_cli_offline(root, "show", str(plan_file), env=offline)
    assert text.stdout == planned.stdout.split("\nSaved the plan to")[0]  # what `plan` printed
    as_json = run_cli_offline(root, "show", str(plan_file), "--format", "json", env=offline)
    assert as_json.json() == saved

    markdown = run_cli_offline(root, "show", str(plan_file), "--format", "markdown", "--artifact", "plan-dev", env=offline)
    lines = markdown.stdout.rstrip("\n").splitlines()
    assert lines[0] == "**Plan: 2 to add, 0 to change, 0 to destroy.**"
    assert lines[-1] == f"<!-- dataiku-iac plan env=dev digest={saved['digest']} -->"
    assert "<code>+ dataset.SHOWN.a</code> will be created" in markdown.stdout

    gitlab = run_cli_offline(root, "show", str(plan_file), "--format", "gitlab", env=offline)
    assert gitlab.stdout == '{"create": 2, "update": 0, "delete": 0}\n'
    for result in (planned, text, as_json, markdown, gitlab):
        assert SECRET not in result.output


def test_show_refuses_an_edited_plan_and_what_is_no_plan(tmp_path: Path) -> None:
    offline = _offline_env()
    body = {"format_version": 1, "environment": "dev", "state": {"lineage": "l", "serial": 0}, "config_digest": "c",
            "resource_changes": [], "options": {}}
    from dataiku_iac.planner.plan import digest_of

    body["digest"] = digest_of(body)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(body))
    shown = run_cli_offline(tmp_path, "show", str(plan_file), "--format", "markdown", env=offline)
    assert shown.stdout.startswith("**No changes. DSS matches the configuration.**")

    body["state"]["serial"] = 7  # edited after it was written: the digest no longer matches
    plan_file.write_text(json.dumps(body))
    for output_format in ("text", "json", "markdown", "gitlab"):
        refused = run_cli_offline(tmp_path, "show", str(plan_file), "--format", output_format, env=offline, expect=1)
        assert refused.stdout == ""
        assert "was modified after it was written" in refused.stderr

    plan_file.write_text('{"hello": "world"}')
    refused = run_cli_offline(tmp_path, "show", str(plan_file), env=offline, expect=1)
    assert "is not a plan saved by `dataiku-iac plan --out`" in refused.stderr
    plan_file.write_text("{not json")
    refused = run_cli_offline(tmp_path, "show", str(plan_file), env=offline, expect=1)
    assert "cannot read the plan file" in refused.stderr
