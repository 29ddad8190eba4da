"""`report compliance` over the configuration, the state and live DSS (issue 15, item 5).

The configuration keeps every rule; then an admin permission is granted and a dataset created
with a name the naming rule refuses, both in DSS behind the tool's back: the report finds them,
seen in `live` only, in every format (the JSON loads, the JUnit XML parses, the Markdown has the
table), and exits 2. A warning alone exits 0. `validate` and `plan` refuse a configuration that
breaks an error rule, naming file and line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from dataiku_iac.cli import scaffold

from tests.e2e.helpers import run_cli, write_config

RULES = """\
compliance:
  rules:
    - id: dataset-names
      kind: naming
      types: [dataset]
      pattern: "[a-z][a-z0-9_]*"
    - id: no-admin-groups
      kind: forbidden_permission
      groups: ["*"]
      permissions: [admin]
    - id: project-owner
      kind: required_attribute
      types: [project]
      attribute: owner
    - id: team-tag
      kind: required_tags
      types: [project]
      tags: ["team:*"]
      severity: warning
"""

PROJECT = """\
project:
  key: RULED
  name: Ruled
  owner: admin
  tags: ["team:data"]
  permissions:
    - group: data_team
      role: contributor
datasets:
  - name: orders
    type: managed
    format: csv
"""


def _config(tmp_path: Path, project: str = PROJECT) -> Path:
    return write_config(tmp_path / "cfg", {"ruled.yml": project}, iac=scaffold.IAC_YML + RULES)


def _report(dss: Any, root: Path, fmt: str, expect: int) -> str:
    return run_cli(dss, root, "report", "compliance", "-e", "dev", "--format", fmt, expect=expect).stdout


def test_compliant_configuration_and_dss_exit_0_in_every_format(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    body = json.loads(_report(dss, root, "json", 0))
    assert body["compliant"] is True and body["findings"] == [], body
    assert body["summary"]["rules"] == 4 and body["live_checked"] is True
    suites = ET.fromstring(_report(dss, root, "junit", 0))
    names = {s.get("name") for s in suites.iter("testsuite")}
    assert "dataset-names (naming)" in names
    cases = [c.get("name") for c in suites.iter("testcase")]
    assert "dataset.RULED.orders" in cases and "project.RULED" in cases
    assert not list(suites.iter("failure"))
    assert "Compliant:" in _report(dss, root, "text", 0)
    assert "compliant" in _report(dss, root, "markdown", 0)


def test_changes_made_in_dss_break_rules_the_configuration_keeps(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    project = dss.client().get_project("RULED")
    permissions = project.get_permissions()
    permissions["permissions"].append({"group": "ops", "admin": True, "readProjectContent": True})
    project.set_permissions(permissions)
    project.create_dataset("Hand_Made", "Inline", params={}, formatType="csv")

    body = json.loads(_report(dss, root, "json", 2))
    assert body["compliant"] is False
    found = {(f["rule"], f["address"]): f for f in body["findings"]}
    admin = found[("no-admin-groups", "project.RULED")]
    assert admin["seen_in"] == ["live"] and admin["message"] == "group 'ops' has admin", admin
    named = found[("dataset-names", "dataset.RULED.Hand_Made")]
    assert named["seen_in"] == ["live"] and named["severity"] == "error"
    # seen only in DSS, yet located: at the object's item, else at its project's
    assert admin["location"] == named["location"] == "projects/ruled.yml:1", (admin, named)
    assert ("dataset-names", "dataset.RULED.orders") not in found

    suites = ET.fromstring(_report(dss, root, "junit", 2))
    failed = {c.get("name") for c in suites.iter("testcase") if c.find("failure") is not None}
    assert failed == {"project.RULED", "dataset.RULED.Hand_Made"}, failed
    markdown = _report(dss, root, "markdown", 2)
    assert "**not compliant**" in markdown and "| error | `no-admin-groups` | `project.RULED` |" in markdown
    assert "&#x27;" not in markdown and "group `ops` has admin" in markdown, markdown
    assert "`Hand_Made`" in markdown and "`[a-z][a-z0-9_]*`" in markdown
    text = _report(dss, root, "text", 2)
    assert "Not compliant: 2 errors, 0 warnings." in text, text


def test_a_warning_is_reported_and_exits_0(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path, PROJECT.replace('  tags: ["team:data"]\n', ""))
    applied = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    # a rule's warning is shown by the commands that change DSS (and validate), not by every command
    assert "compliance rule 'team-tag'" in applied.stderr
    assert "compliance rule 'team-tag'" in run_cli(dss, root, "validate", "-e", "dev").stderr
    for command in (("drift", "-e", "dev"), ("pull", "-e", "dev"), ("report", "footprint", "-e", "dev")):
        assert "compliance rule" not in run_cli(dss, root, *command).stderr, command
    body = json.loads(_report(dss, root, "json", 0))
    assert [(f["rule"], f["severity"], f["seen_in"]) for f in body["findings"]] == [
        ("team-tag", "warning", ["config", "state", "live"])]
    assert body["findings"][0]["location"] == "projects/ruled.yml:1"
    suites = ET.fromstring(_report(dss, root, "junit", 0))
    assert "WARNING no tag matches 'team:*'" in "".join(e.text or "" for e in suites.iter("system-out"))


def test_validate_and_plan_refuse_a_configuration_that_breaks_an_error_rule(dss: Any, tmp_path: Path) -> None:
    bad = PROJECT.replace("role: contributor", "role: admin").replace("  owner: admin\n", "")
    root = _config(tmp_path, bad)
    for command in (("validate", "-e", "dev", "--offline"), ("plan", "-e", "dev")):
        result = run_cli(dss, root, *command, expect=1)
        assert "projects/ruled.yml:5:3: error: permissions: project.RULED: group 'data_team' has admin " \
               "(compliance rule 'no-admin-groups', forbidden_permission)" in result.stderr, result.stderr
        assert "error: owner: project.RULED: owner is not set" in result.stderr
        assert "the configuration has 2 problems" in result.stderr
    assert run_cli(dss, root, "report", "compliance", "-e", "dev", expect=2).stdout.count("error:") == 2


def test_the_example_is_compliant_and_prod_refuses_a_group_admin(dss: Any, tmp_path: Path) -> None:
    root = tmp_path / "example"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "compliance", root)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    body = json.loads(_report(dss, root, "json", 0))
    assert body["compliant"] and body["summary"]["rules"] == 3  # the two prod rules are not dev's
    project = root / "projects" / "sales.yml"
    project.write_text(project.read_text().replace("role: contributor", "role: admin"))
    run_cli(dss, root, "validate", "-e", "dev", "--offline")
    refused = run_cli(dss, root, "validate", "-e", "prod", "--offline", expect=1)
    assert "group 'data_team' has admin (compliance rule 'no-group-admins-in-prod'" in refused.stderr


def test_a_rule_added_after_the_apply_does_not_stop_a_destroy(dss: Any, tmp_path: Path) -> None:
    root = _config(tmp_path)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    iac = root / "iac.yml"
    iac.write_text(iac.read_text() + "    - {id: no-orders, kind: naming, types: [dataset], pattern: 'x.*'}\n")
    assert "name 'orders' does not match 'x.*'" in run_cli(dss, root, "plan", "-e", "dev", expect=1).stderr
    run_cli(dss, root, "plan", "-e", "dev", "--destroy")
    run_cli(dss, root, "destroy", "-e", "dev", "--auto-approve")
    assert "RULED" not in {p["projectKey"] for p in dss.client().list_projects()}


def test_a_module_object_is_one_finding_seen_in_config_state_and_live(dss: Any, tmp_path: Path) -> None:
    """Live DSS names a module's object by its DSS name; the report matches it to the module
    address the state and the configuration use (as drift does), not a second, unlocated one."""
    root = tmp_path / "example"
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples" / "local-module", root)
    rule = "compliance:\n  rules:\n    - {id: team-tag, kind: required_tags, types: [dataset], tags: ['team:*'], severity: warning}\n"
    (root / "iac.yml").write_text((root / "iac.yml").read_text() + rule)
    run_cli(dss, root, "apply", "-e", "dev", "--auto-approve")
    body = json.loads(_report(dss, root, "json", 0))
    found = {f["address"]: f for f in body["findings"]}
    assert len(found) == len(body["findings"]) == 7, sorted(found)  # 3 instances x 2 datasets + orders_report
    raw = found["module.orders.dataset.LANDING.orders_raw"]
    assert raw["seen_in"] == ["config", "state", "live"], raw
    # at the item's tags: line, with the call site, as the module's other errors
    lines = (root / "modules" / "landing" / "resources.yml").read_text().splitlines()
    tags_line = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("tags:"))
    call_line = next(i for i, line in enumerate((root / "projects" / "landing.yml").read_text().splitlines(), 1)
                     if "- name: orders" in line)
    assert raw["location"] == (f"modules/landing/resources.yml:{tags_line} "
                               f"(in module.orders, called at projects/landing.yml:{call_line})"), raw
    validated = run_cli(dss, root, "validate", "-e", "dev", "--offline").stderr
    assert (f"modules/landing/resources.yml:{tags_line}:5: warning: tags: module.orders.dataset.LANDING.orders_raw: "
            "no tag matches 'team:*' (compliance rule 'team-tag', required_tags) (in module.orders, called at "
            f"projects/landing.yml:{call_line})") in validated, validated
    assert all(f["location"] for f in body["findings"]), body["findings"]
    assert "dataset.LANDING.orders_raw" not in found
