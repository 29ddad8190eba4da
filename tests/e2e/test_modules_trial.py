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


SECRET = "hunter2-trial-canary"
TOKEN_MODULE = f"""\
module: token
inputs:
  secret: {{type: string, sensitive: true, default: "{SECRET}"}}
  label: {{type: string, default: store}}
resources: [r.yml]
"""
TOKEN_RESOURCES = """\
datasets:
  - name: store
    type: managed
    description: "${inputs.label} key=${inputs.secret}"
"""
TOKEN_CALL = """\
project:
  key: TRIAL
  name: Trial
modules:
  - name: tok
    source: ../modules/token
"""


def _nowhere(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and "hunter2" not in text, text


def test_a_sensitive_module_input_is_never_shown(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"trial.yml": TOKEN_CALL},
                        files={"modules/token/module.yml": TOKEN_MODULE, "modules/token/r.yml": TOKEN_RESOURCES})
    created = run_cli(dss, root, "plan", "-e", "dev")
    assert "description = (sensitive value)" in created.stdout, str(created)
    saved = root / "create.json"
    as_json = run_cli(dss, root, "plan", "-e", "dev", "--json", "--out", str(saved))
    store = next(c for c in as_json.json()["resource_changes"] if c["name"] == "tok_store")
    assert store["sensitive_fields"] == ["description"] and store["change"]["after"]["description"] == "(sensitive value)"
    shown = [run_cli(dss, root, "show", str(saved), *fmt) for fmt in ((), ("--format", "markdown"), ("--format", "json"), ("--format", "gitlab"))]
    _nowhere(created.stdout, created.stderr, as_json.stdout, saved.read_text(), *(s.stdout for s in shown))

    # The saved plan holds "(sensitive value)": the apply writes the configuration's value.
    applied = run_cli(dss, root, "apply", "-e", "dev", str(saved))
    project = dss.client().get_project("TRIAL")
    assert project.get_dataset("tok_store").get_settings().get_raw()["description"] == f"store key={SECRET}"
    converged = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode")
    assert converged.last_line().startswith("No changes."), str(converged)

    # A change of another input is an update of a sensitive field; DSS's edit is drift of one.
    (root / "projects" / "trial.yml").write_text(TOKEN_CALL + "    inputs: {label: vault}\n")
    updated = run_cli(dss, root, "plan", "-e", "dev")
    assert "~ description = (sensitive value)" in updated.stdout, str(updated)
    settings = project.get_dataset("tok_store").get_settings()
    settings.get_raw()["description"] = f"edited key={SECRET}"
    settings.save()
    drift = run_cli(dss, root, "drift", "-e", "dev", expect=None)
    drift_json = run_cli(dss, root, "drift", "-e", "dev", "--json", expect=None)
    assert "(sensitive value)" in drift.stdout, str(drift)
    pulled = run_cli(dss, root, "pull", "-e", "dev", expect=None)
    pulled_json = run_cli(dss, root, "pull", "-e", "dev", "--json", expect=None)
    state = run_cli(dss, root, "state", "show", "module.tok.dataset.TRIAL.tok_store", "-e", "dev", expect=None)
    print(pulled.stdout, pulled.stderr, pulled_json.stdout, state.stdout, state.stderr)
    _nowhere(applied.stdout, converged.stdout, updated.stdout, drift.stdout, drift.stderr, drift_json.stdout,
             pulled.stdout, pulled.stderr, pulled_json.stdout)


def test_a_module_source_built_from_a_variable_is_an_error_at_its_line(dss: Any, tmp_path: Path) -> None:
    calling = ("project:\n  key: TRIAL\n  name: Trial\n  variables:\n    standard: {repo: mods}\nmodules:\n"
               "  - name: m\n    source: git+file:///tmp/${repo}.git\n")
    root = write_config(tmp_path / "cfg", {"trial.yml": calling})
    for args in (("validate", "-e", "dev", "--offline"), ("plan", "-e", "dev"), ("modules", "get")):
        refused = run_cli(dss, root, *args, expect=1)
        assert "projects/trial.yml:8:13: error: modules[0].source: a module's 'source' must be written out: it is resolved, and locked, " \
               "before any variable" in refused.stderr, str(refused)
        assert "iac.lock.yml:" not in refused.stderr and "warning" not in refused.stderr, str(refused)
