"""Compliance rules (compliance/rules.py): each kind against objects that keep and break it, the
definitions' problems at their file and line, the environment file's merge, and validate's
errors and warnings (check_config) all in one run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.builder import check_config
from dataiku_iac.compliance.report import evaluate
from dataiku_iac.compliance.rules import Rule, check_policies, check_subject, load_rules
from dataiku_iac.config import load_config
from dataiku_iac.errors import ConfigError
from dataiku_iac.resources import registry
from dataiku_iac.resources.base import Observed


def _object(type_: str = "dataset", name: str = "orders", **attributes: Any) -> Observed:
    return Observed(type=type_, project_key="P", name=name, dss_id=name, attributes=attributes)


def _messages(rule: Rule, subject: Observed) -> list[str]:
    return [v.message for v in check_subject(rule, f"{subject.type}.P.{subject.name}", subject)]


def test_naming_matches_the_whole_name() -> None:
    rule = Rule("names", "naming", "error", types=("dataset",), pattern="[a-z_]+")
    assert _messages(rule, _object(name="orders")) == []
    assert _messages(rule, _object(name="Orders")) == ["name 'Orders' does not match '[a-z_]+'"]
    assert _messages(rule, _object(name="orders2")) == ["name 'orders2' does not match '[a-z_]+'"]  # fullmatch
    assert _messages(rule, _object("recipe", name="Orders")) == []  # another type


def test_required_tags_each_glob_matches_a_tag() -> None:
    rule = Rule("tags", "required_tags", "error", types=("dataset",), tags=("team:*", "pii"))
    assert _messages(rule, _object(tags=["team:data", "pii"])) == []
    assert _messages(rule, _object(tags=["pii"])) == ["no tag matches 'team:*'"]
    assert _messages(rule, _object()) == ["no tag matches 'team:*'", "no tag matches 'pii'"]


def test_required_attribute_set_and_among_the_values() -> None:
    rule = Rule("owner", "required_attribute", "error", types=("project",), attribute="owner", values=("*@corp",))
    assert _messages(rule, _object("project", "P", owner="ann@corp")) == []
    assert _messages(rule, _object("project", "P", owner="")) == ["owner is not set"]
    assert _messages(rule, _object("project", "P")) == ["owner is not set"]
    assert _messages(rule, _object("project", "P", owner="bob")) == ["owner 'bob' is not one of *@corp"]


def test_forbidden_permission_by_group_or_user() -> None:
    rule = Rule("admins", "forbidden_permission", "error", types=("project",), attribute="permissions",
                groups=("data_*",), permissions=("admin", "write_project_content"))
    rows = [{"group": "data_team", "permissions": ["admin", "read_project_content"]},
            {"group": "administrators", "permissions": ["admin"]},
            {"user": "bob", "permissions": ["admin"]}]
    assert _messages(rule, _object("project", "P", permissions=rows)) == ["group 'data_team' has admin"]
    everyone = Rule("admins", "forbidden_permission", "error", types=("project",), attribute="permissions", permissions=("admin",))
    assert _messages(everyone, _object("project", "P", permissions=rows)) == [
        "group 'data_team' has admin", "group 'administrators' has admin", "user 'bob' has admin"]
    assert _messages(everyone, _object("project", "P", permissions=[{"group": "g", "permissions": ["read_project_content"]}])) == []


def test_environment_policy_against_the_effective_policies() -> None:
    rule = Rule("saved", "environment_policy", "error", policy="require_saved_plan", value=True)
    assert check_policies(rule, "prod", {"require_saved_plan": True}) == []
    [violation] = check_policies(rule, "prod", {})  # the default, false
    assert violation.address == "environment.prod"
    assert violation.message == "policies.require_saved_plan is false, the rule requires true"


def test_environments_and_severity_off() -> None:
    rule = Rule("r", "naming", "error", environments=("prod*",), types=("dataset",), pattern="x")
    assert rule.applies_to("prod-eu") and not rule.applies_to("dev")
    assert not Rule("r", "naming", "off", pattern="x").applies_to("dev")


IAC = """\
version: 1
compliance:
  rules:
    - id: names
      kind: naming
      types: [dataset]
      pattern: "[a-z_]+"
    - id: tags
      kind: required_tags
      tags: [team]
      severity: warning
    - id: typo
      kind: naming
      types: [datasets]
      pattern: "(["
    - id: wrong-key
      kind: required_tags
      tags: [x]
      pattern: y
    - id: no-attr
      kind: required_attribute
      types: [dataset]
      attribute: owner
    - id: saved
      kind: environment_policy
      policy: require_saved_plan
      value: "yes"
"""

PROJECT = """\
project:
  key: P
  name: P
  tags: [team]
datasets:
  - name: Orders
    type: managed
    connection: filesystem_managed
"""


def _write(tmp_path: Path, iac: str, env: str = "dss: {url: 'http://localhost:1'}\n") -> Path:
    (tmp_path / "projects").mkdir()
    (tmp_path / "environments").mkdir()
    (tmp_path / "iac.yml").write_text(iac)
    (tmp_path / "environments" / "dev.yml").write_text(env)
    (tmp_path / "projects" / "p.yml").write_text(PROJECT)
    return tmp_path


def test_definition_problems_are_located_and_their_rules_left_out(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, IAC), "dev")
    rules, problems = load_rules(cfg)
    assert [r.id for r in rules] == ["names", "tags"]
    # every type with tags, in registry order (not a flow zone, ML task, saved model, API service or deployment, wiki article)
    assert rules[1].types == ("project", "managed_folder", "dataset", "model_evaluation_store", "recipe", "scenario",
                              "insight", "dashboard", "webapp")
    rendered = [p.render() for p in problems]
    assert rendered == [
        "iac.yml:14:14: error: compliance.rules[2].types: unknown resource type 'datasets' (known types: "
        f"{', '.join(registry.types())})",
        "iac.yml:15:16: error: compliance.rules[2].pattern: not a regular expression: unterminated character set at position 1",
        "iac.yml:19:16: error: compliance.rules[3].pattern: `pattern` is not a key of a required_tags rule "
        "(a required_tags rule takes types, tags)",
        "iac.yml:22:14: error: compliance.rules[4].types: a dataset has no attribute 'owner' (its attributes: kind, "
        "connection, format, format_params, path, table, schema_name, catalog, query, partitioning, schema, description, "
        "short_description, tags, params, zone)",
        "iac.yml:27:14: error: compliance.rules[5].value: policies.require_saved_plan is a bool, not 'yes'",
    ], rendered


def test_the_environment_file_merges_rules_by_id(tmp_path: Path) -> None:
    iac = IAC.split("    - id: typo")[0]
    env = ("dss: {url: 'http://localhost:1'}\ncompliance:\n  rules:\n    - id: names\n      severity: warning\n"
           "    - id: tags\n      severity: 'off'\n    - id: fresh\n      tags: [x]\n")
    cfg = load_config(_write(tmp_path, iac, env), "dev")
    rules, problems = load_rules(cfg)
    assert {r.id: r.severity for r in rules} == {"names": "warning", "tags": "off"}
    assert rules[0].pattern == "[a-z_]+"  # kept from iac.yml
    assert [p.render() for p in problems] == [
        "environments/dev.yml:8:11: error: compliance.rules[2].id: compliance rule 'fresh' has no kind (add `kind:` (naming, required_tags, "
        "required_attribute, forbidden_permission, environment_policy) where iac.yml or the environment file defines it)"]


def test_validate_reports_errors_and_warnings_of_the_rules_in_one_run(tmp_path: Path) -> None:
    iac = IAC.split("    - id: typo")[0]
    root = _write(tmp_path, iac.replace("tags: [team]", "tags: [team, pii]"))
    with pytest.raises(ConfigError) as caught:
        check_config(root, "dev", secret_values=False)
    assert [d.render() for d in caught.value.diagnostics] == [
        "projects/p.yml:6:5: error: name: dataset.P.Orders: name 'Orders' does not match '[a-z_]+' (compliance rule 'names', naming)"]
    assert [d.render() for d in caught.value.warnings] == [
        "projects/p.yml:4:3: warning: tags: project.P: no tag matches 'pii' (compliance rule 'tags', required_tags)",
        "projects/p.yml:6:5: warning: tags: dataset.P.Orders: no tag matches 'pii' (compliance rule 'tags', required_tags)",
        "projects/p.yml:6:5: warning: tags: dataset.P.Orders: no tag matches 'team' (compliance rule 'tags', required_tags)"]
    cfg, desired = check_config(root, "dev", secret_values=False, compliance=False)  # report compliance's view
    report = evaluate(load_rules(cfg)[0], "dev", cfg.policies, desired=desired)
    assert [(f.rule, f.address, f.seen_in, f.location) for f in report.errors] == [
        ("names", "dataset.P.Orders", ["config"], "projects/p.yml:6")]
    assert report.exit_code() == 2 and not report.live


def test_a_rule_from_a_project_standards_checks_parameters() -> None:
    from dataiku_iac.compliance.rules import rule_from_params

    rule, problems = rule_from_params({"kind": "forbidden_permission", "groups": "ops, data_*", "permissions": "admin"})
    assert problems == [] and rule is not None
    assert rule.groups == ("ops", "data_*") and rule.attribute == "permissions" and rule.types == ("project",)
    rows = [{"group": "data_team", "permissions": ["admin"]}]
    assert _messages(rule, _object("project", "P", permissions=rows)) == ["group 'data_team' has admin"]
    assert rule_from_params({"kind": "environment_policy"})[1][0].startswith("kind must be one of naming, ")
    assert rule_from_params({"kind": "naming"})[1] == ["a naming rule needs pattern"]
    assert rule_from_params({"kind": "required_attribute", "types": "dataset", "attribute": "owner"})[1] == [
        "a dataset has no attribute 'owner'"]
    assert rule_from_params({"kind": "naming", "types": ["datasets"], "pattern": "(["})[1] == [
        "unknown resource type 'datasets'", "pattern: not a regular expression: unterminated character set at position 1"]
