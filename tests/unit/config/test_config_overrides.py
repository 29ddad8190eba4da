"""Per-resource overrides from the environment file."""

from __future__ import annotations

from cfg_helpers import messages

PROJECT = """\
project:
  key: P
  name: Demo
  variables:
    standard: {a: 1, keep: x}
datasets:
  - name: RAW
    type: managed
    format: parquet
    format_params: {sep: ",", quote: '"'}
    tags: [a, b]
scenarios:
  - id: DAILY
    name: Daily
    active: false
"""


def load(tree, env: str):
    return tree.write({"projects/p.yml": PROJECT}, env=env).load()


def test_deep_merge_rules(tree):
    cfg = load(tree, """\
        overrides:
          "dataset.P.RAW":
            format: csv
            format_params: {sep: ";", quote: null}
            tags: [c]
          "project.P": {variables: {standard: {env: dev, keep: null}}}
          "scenario.P.DAILY": {active: true}
        """)
    data = cfg.projects[0].data
    raw = data["datasets"][0]
    assert raw["format"] == "csv"
    assert raw["format_params"] == {"sep": ";"}  # mappings merge, null removes
    assert raw["tags"] == ["c"]  # lists replace
    assert data["project"]["variables"]["standard"] == {"a": 1, "env": "dev"}
    assert data["scenarios"][0]["active"] is True


def test_overridden_values_point_into_the_environment_file(tree):
    cfg = load(tree, """\
        overrides:
          "dataset.P.RAW":
            format_params: {sep: ";"}
        """)
    doc = cfg.projects[0]
    diag = doc.diagnostic(("datasets", 0, "format_params", "sep"), "bad separator")
    assert (diag.file, diag.line, diag.path) == ("environments/dev.yml", 3, 'overrides["dataset.P.RAW"].format_params.sep')
    untouched = doc.diagnostic(("datasets", 0, "format"), "x")
    assert (untouched.file, untouched.line) == ("projects/p.yml", 9)


def test_schema_errors_in_an_override_are_reported_in_the_environment_file(tree):
    tree.write({"projects/p.yml": PROJECT}, env='overrides:\n  "dataset.P.RAW": {type: sql_tabel}\n')
    diags = tree.errors()
    assert (diags[0].file, diags[0].line) == ("environments/dev.yml", 2)
    assert "did you mean 'sql_table'" in messages(diags)[0]


def test_unknown_address_with_suggestion(tree):
    tree.write({"projects/p.yml": PROJECT}, env='overrides:\n  "scenario.P.DAYLY": {active: true}\n')
    [diag] = tree.errors()
    assert diag.file == "environments/dev.yml" and diag.line == 2
    assert "unknown address 'scenario.P.DAYLY'" in diag.message
    assert diag.hint == "did you mean 'scenario.P.DAILY'?"


def test_unknown_address_is_not_claimed_while_a_project_file_is_unreadable(tree):
    tree.write({"projects/p.yml": PROJECT, "projects/q.yml": "project: [\n"},
               env='overrides:\n  "dataset.Q.X": {format: csv}\n')
    diags = tree.errors()
    assert [d.file for d in diags] == ["projects/q.yml"]


def test_an_override_may_not_rename_its_target(tree):
    tree.write({"projects/p.yml": PROJECT}, env='overrides:\n  "project.P": {key: Q}\n')
    [diag] = tree.errors()
    assert "cannot change 'key'" in diag.message


def test_override_values_use_environment_variables(tree):
    cfg = load(tree, 'variables: {FMT: parquet}\noverrides:\n  "dataset.P.RAW": {format: "${FMT}"}\n')
    assert cfg.projects[0].data["datasets"][0]["format"] == "parquet"


def test_overrides_are_keyed_before_prefix_and_suffix(tree):
    cfg = load(tree, 'project_key: {prefix: X_, suffix: _DEV}\noverrides:\n  "project.P": {description: d}\n')
    assert cfg.projects[0].data["project"]["description"] == "d"
