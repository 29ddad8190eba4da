"""The JSON schemas and the human messages made from jsonschema errors."""

from __future__ import annotations

import pytest
from dataiku_iac.config.schema import check, load_schema
from jsonschema import Draft202012Validator

KINDS = ["project", "iac", "environment"]


@pytest.mark.parametrize("kind", KINDS)
def test_schemas_are_valid_draft_2020_12(kind):
    schema = load_schema(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _objects(node, path=()):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _objects(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, (*path, i))


@pytest.mark.parametrize("kind", KINDS)
def test_every_mapping_with_properties_is_closed(kind):
    """Unknown keys are errors: a schema listing properties forbids others, except the
    discriminating shells of typed items, whose per-type definitions are closed."""
    for path, node in _objects(load_schema(kind)):
        if node.get("type") != "object" or "properties" not in node or path[-1:] == ("if",):
            continue  # not a mapping definition (an `if` condition only tests a discriminator)
        if any("if" in rule for rule in node.get("allOf", [])) and "additionalProperties" not in node:
            continue  # a typed item's shell: each per-type definition it routes to is closed
        assert node.get("additionalProperties") is False, f"{kind}: {'/'.join(map(str, path))} is open"


FULL_PROJECT = {
    "project": {
        "key": "SALES", "name": "Sales", "description": "d", "short_description": "s", "owner": "admin",
        "tags": ["a"], "variables": {"standard": {"k": [1, {"x": 2}]}, "local": {"t": {"secret_env": "IAC_SECRET_TOKEN"}}},
        "permissions": [{"group": "g", "role": "reader"}, {"user": "u", "permissions": ["admin", "run_scenarios"]}],
        "code_env": "py39", "container": "inherit", "protect": True,
    },
    "datasets": [
        {"name": "M", "type": "managed", "connection": "c", "format": "parquet", "format_params": {"anyKey": 1},
         "path": "${projectKey}/m", "description": "d", "tags": [], "params": {"x": 1}, "protect": False,
         "partitioning": {"dimensions": [{"name": "day", "type": "time", "period": "DAY"},
                                         {"name": "country", "type": "value"}], "file_path_pattern": "%Y/.*"},
         "schema": {"columns": [{"name": "id", "type": "bigint", "comment": "c", "meaning": "Text"}]}},
        {"name": "F", "type": "filesystem", "path": "/data/f", "format": "csv"},
        {"name": "U", "type": "uploaded", "format": "excel"},
        {"name": "T", "type": "sql_table", "connection": "pg", "table": "t", "schema_name": "s", "catalog": "c"},
        {"name": "Q", "type": "sql_query", "connection": "pg", "query": "SELECT 1"},
    ],
    "managed_folders": [{"name": "models", "connection": "fs", "path": "${projectKey}/${odbId}",
                         "description": "d", "tags": ["t"], "protect": True}],
    "recipes": [
        {"name": "p", "type": "python", "inputs": ["M", "OTHER.X"], "outputs": ["F"], "code": "x", "code_env": "builtin"},
        {"name": "r", "type": "r", "inputs": {"main": ["M"]}, "outputs": {"main": ["U"]}, "code_file": "x.R"},
        {"name": "s", "type": "sql_query", "inputs": ["T"], "outputs": ["Q"], "sql_file": "q.sql"},
        {"name": "ss", "type": "sql_script", "outputs": ["Q"], "sql": "x"},
        {"name": "y", "type": "sync", "inputs": ["M"], "outputs": ["T"], "params": {"a": 1}},
        {"name": "sh", "type": "shell", "outputs": ["models"], "code": "ls", "description": "d", "tags": [], "protect": False},
    ],
    "scenarios": [{
        "id": "S", "name": "s", "active": True, "run_as": "bob", "description": "d", "tags": ["x"], "protect": False,
        "triggers": [
            {"type": "temporal", "name": "t", "active": False, "frequency": "Weekly", "repeat_every": 2, "hour": 3,
             "minute": 30, "days": ["Monday", "Friday"], "timezone": "UTC", "starting_from": "2024-01-01T03:00:00+01:00"},
            {"type": "temporal", "cron": "0 3 * * 1-5", "timezone": "UTC"},
            {"type": "periodic", "every_minutes": 5},
            {"type": "dataset_change", "datasets": ["M"], "folders": ["models"], "grace_delay_seconds": 0},
        ],
        "steps": [
            {"type": "build", "name": "b", "enabled": True, "run_condition": "always", "datasets": ["M"],
             "folders": ["models"], "job_type": "RECURSIVE_BUILD"},
            {"type": "run_scenario", "scenario": "OTHER", "project": "OTHERP", "run_condition": "on_failure"},
            {"type": "run_macro", "macro": "pyrunnable_x", "params": {"anything": [1]}},
            {"type": "set_variables", "variables": {"k": "v"}},
        ],
        "reporters": [{"any": {"dss": "shape"}}],
    }],
}


def test_every_documented_project_key_is_accepted():
    assert check(FULL_PROJECT, "project") == []


def test_code_env_may_be_a_mapping():
    doc = {"project": {"key": "P", "name": "p", "code_env": {"python": "py", "r": "inherit"}}}
    assert check(doc, "project") == []


def test_full_settings_and_environment_are_accepted():
    iac = {"version": 1, "defaults": {"dataset": {"connection": "c", "format": "csv"},
                                      "managed_folder": {"connection": "f"}, "sql_connection": "pg"},
           "state": {"backend": "s3", "bucket": "b", "key_prefix": "p/", "region": "eu", "endpoint_url": "http://minio:9000"},
           "policies": {"require_saved_plan": True, "allow_destroy": False, "drift": "warn"}}
    env = {"dss": {"url": "https://dss", "api_key_env": "DKU_API_KEY_MINE", "verify_tls": False},
           "project_key": {"prefix": "", "suffix": "_FEATURE_X"}, "variables": {"A": 1, "B": "x", "C": None},
           "connections": {"a": "b"}, "code_envs": {"a": "b"}, "containers": {"a": "b"},
           "overrides": {"project.P": {}, "dataset.P.X": {"format": "csv"}, "managed_folder.P.f": {},
                         "recipe.P.r": {}, "scenario.P.S": {}},
           "policies": {"drift": "fail"}, "state": {"backend": "managed_folder", "project_key": "ST", "folder": "f"}}
    assert check(iac, "iac") == []
    assert check(env, "environment") == []


def one(doc, kind="project"):
    issues = check(doc, kind)
    assert len(issues) == 1, issues
    return issues[0]


def base(**extra):
    return {"project": {"key": "P", "name": "p"}, **extra}


def test_unknown_key_with_suggestion_points_at_the_key():
    issue = one(base(datasets=[{"name": "X", "type": "managed", "fromat": "csv"}]))
    assert issue.path == ("datasets", 0, "fromat") and issue.where == "key"
    assert issue.message == "unknown key 'fromat' for a dataset of type managed"
    assert issue.hint == "did you mean 'format'?"


def test_unknown_key_of_an_unknown_type_still_suggests():
    issues = check(base(recipes=[{"name": "r", "typ": "sync", "outputs": ["a"]}]), "project")
    assert {i.message for i in issues} == {"missing required key 'type'", "unknown key 'typ'"}


def test_type_specific_required_key_names_the_type():
    issue = one(base(datasets=[{"name": "X", "type": "sql_table"}]))
    assert issue.message == "'table' is required for a dataset of type sql_table"


def test_type_message():
    issue = one(base(datasets="X"))
    assert issue.message == "expected a list, got a string"


def test_enum_message():
    issue = one(base(datasets=[{"name": "X", "type": "csv"}]))
    assert issue.message.startswith("must be one of: managed, sql_table, sql_query, filesystem, uploaded")


def test_column_type_enum_suggests():
    doc = base(datasets=[{"name": "X", "type": "managed", "schema": {"columns": [{"name": "a", "type": "strin"}]}}])
    assert one(doc).hint == "did you mean 'string'?"


def test_anyof_descends_into_the_branch_of_the_right_type():
    issue = one(base(recipes=[{"name": "r", "type": "sync", "inputs": {"main": "A"}, "outputs": ["B"]}]))
    assert issue.path == ("recipes", 0, "inputs", "main")
    assert issue.message == "expected a list, got a string"


def test_secret_env_must_name_an_iac_secret_variable():
    issue = one(base(project={"key": "P", "name": "p", "variables": {"local": {"t": {"secret_env": "1X"}}}}))
    assert "must start with IAC_SECRET_" in issue.message


def test_secret_env_outside_the_prefix_is_refused_with_the_new_name():
    # Security: a config may not read GITHUB_TOKEN (or DKU_API_KEY) into a DSS project variable.
    for name in ("GITHUB_TOKEN", "DKU_API_KEY", "DB_PASSWORD", "IAC_SECRET_"):
        issue = one(base(project={"key": "P", "name": "p", "variables": {"local": {"t": {"secret_env": name}}}}))
        assert issue.path == ("project", "variables", "local", "t", "secret_env")
        assert "must start with IAC_SECRET_" in issue.message
    issue = one(base(project={"key": "P", "name": "p", "variables": {"local": {"t": {"secret_env": "DB_PASSWORD"}}}}))
    assert issue.hint.startswith("rename the variable to IAC_SECRET_DB_PASSWORD")
    assert check(base(project={"key": "P", "name": "p", "variables": {"local": {"t": {"secret_env": "IAC_SECRET_DB"}}}}), "project") == []


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DKU_API_KEYX", "DKU_API_KEY_", "dku_api_key", "MY_KEY"])
def test_api_key_env_may_only_name_dku_api_key_variables(name):
    issues = check({"dss": {"api_key_env": name}}, "environment")
    assert [i.path for i in issues] == [("dss", "api_key_env")]
    assert "DKU_API_KEY or DKU_API_KEY_<SUFFIX>" in issues[0].message


@pytest.mark.parametrize("name", ["DKU_API_KEY", "DKU_API_KEY_PROD", "DKU_API_KEY_team_2"])
def test_api_key_env_accepts_the_documented_names(name):
    assert check({"dss": {"api_key_env": name}}, "environment") == []


def test_cron_fields_conflict():
    doc = base(scenarios=[{"id": "S", "name": "s", "triggers": [{"type": "temporal", "cron": "0 3 * * *", "hour": 3}]}])
    assert "cannot be combined with 'cron'" in one(doc).message


def test_literal_api_key_anywhere_in_the_environment_file():
    issues = check({"api_key": "x", "dss": {"api_key": "y"}}, "environment")
    assert {i.path for i in issues} == {("api_key",), ("dss", "api_key")}
    assert all("api_key_env" in i.hint for i in issues)
