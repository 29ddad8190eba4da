"""Recipes: python, sql_query, sync, grouping, join, split, raw creation; settings, delete, rename."""

from __future__ import annotations

import json

import pytest
from emu_helpers import CODED_IO, ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    p = dss_client.create_project("RC", "Recipes", "admin")
    p.new_managed_dataset("src").with_store_into("filesystem_managed").create()
    p.new_managed_dataset("other").with_store_into("filesystem_managed").create()
    return p


def test_python_recipe_with_new_output(project):
    recipe = (
        project.new_recipe("python", "compute_out")
        .with_input("src")
        .with_new_output_dataset("out", "filesystem_managed")
        .with_script("print('hi')")
        .create()
    )
    settings = recipe.get_settings()
    raw = settings.get_recipe_raw_definition()
    assert raw["type"] == "python" and raw["name"] == "compute_out" and raw["projectKey"] == "RC"
    assert raw["params"]["envSelection"] == {"envMode": "INHERIT"}
    assert raw["inputs"] == {"main": {"items": [{"ref": "src", "deps": []}]}}
    assert raw["outputs"]["main"]["items"] == [{"ref": "out", "appendMode": False}]
    assert raw["optionalDependencies"] is False and raw["versionTag"] == raw["creationTag"]
    assert settings.get_code() == "print('hi')"
    assert project.get_dataset("out").get_settings().get_raw()["managed"] is True


def test_list_has_recipe_objects_without_payload(project):
    project.new_recipe("sync", "s1").with_input("src").with_new_output("o1", "filesystem_managed").create()
    items = project.list_recipes()
    assert len(items) == 1
    item = items[0]
    assert item["name"] == "s1" and item["type"] == "sync" and "payload" not in item
    assert "inputs" in item and "params" in item and "versionTag" in item


def test_sync_and_sql_query_defaults(project):
    project.new_recipe("sync", "sync_r").with_input("src").with_new_output("synced", "postgres_dw").create()
    sync = project.get_recipe("sync_r").get_settings()
    assert sync.get_recipe_params()["schemaMode"] == "STRICT_SYNC"
    assert sync.get_payload() == ""
    project.new_managed_dataset("t_in").with_store_into("postgres_dw").create()
    (project.new_recipe("sql_query", "q").with_input("t_in").with_new_output("t_out", "postgres_dw").create())
    q = project.get_recipe("q").get_settings()
    q.set_payload("SELECT 1")
    q.save()
    again = project.get_recipe("q").get_settings()
    assert again.get_payload() == "SELECT 1"
    assert again.get_recipe_raw_definition()["versionTag"]["versionNumber"] == 1
    assert again.get_recipe_raw_definition()["hashPropagationBehavior"] == "INHERIT"


def test_grouping_and_join(project):
    (
        project.new_recipe("grouping", "grp")
        .with_input("src")
        .with_new_output("grouped", "filesystem_managed")
        .with_group_key("customer")
        .create()
    )
    grp = project.get_recipe("grp").get_settings()
    payload = grp.get_json_payload()
    assert [k["column"] for k in payload["keys"]] == ["customer"]
    assert payload["keys"][0]["count"] is False and "engineParams" in payload
    (
        project.new_recipe("join", "jn")
        .with_input("src")
        .with_input("other")
        .with_new_output("joined", "filesystem_managed")
        .create()
    )
    jn = project.get_recipe("jn").get_settings()
    assert jn.get_flat_input_refs() == ["src", "other"]
    jp = jn.get_json_payload()
    assert [v["index"] for v in jp["virtualInputs"]] == [0, 1] and len(jp["joins"]) == 1


def test_split_with_two_new_outputs(project):
    (
        project.new_recipe("split", "sp")
        .with_input("src")
        .with_new_output("train", "filesystem_managed")
        .with_new_output("test", "filesystem_managed")
        .create()
    )
    assert {d["name"] for d in project.list_datasets()} >= {"train", "test"}


def test_raw_creation(project):
    creator = project.new_recipe("python", "raw_r")
    creator.with_input("does_not_exist").with_output("neither")
    creator.set_raw_mode()
    creator.creation_settings["rawPayload"] = "x = 1"
    recipe = creator.create()
    assert recipe.get_settings().get_code() == "x = 1"


def test_checks_inputs_outputs_and_names(project):
    raises_dss(
        NOT_FOUND,
        lambda: (
            project.new_recipe("sync", "r1")
            .with_input("nope")
            .with_new_output("o", "filesystem_managed")
            .create()
        ),
    )
    assert "o" not in [d["name"] for d in project.list_datasets()]
    raises_dss(
        NOT_FOUND, lambda: project.new_recipe("sync", "r1").with_input("src").with_output("nope").create()
    )
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.new_recipe("sync", "bad name").with_input("src").with_output("other").create(),
    )
    project.new_recipe("sync", "r1").with_input("src").with_output("other").create()
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.new_recipe("sync", "r1").with_input("src").with_output("other").create(),
        "already exists",
    )
    raises_dss(
        ILLEGAL_ARGUMENT,
        lambda: project.new_recipe("sync", "r2").with_input("src").with_output("other").create(),
        "already the output",
    )


def test_unnamed_recipe_gets_a_name(project):
    recipe = (
        project.new_recipe("sync")
        .with_input("src")
        .with_new_output("named_out", "filesystem_managed")
        .create()
    )
    assert recipe.name == "compute_named_out"


def test_code_env_selection_checked(project):
    recipe = project.new_recipe("python", "env_r").with_input("src").with_output("other").create()
    settings = recipe.get_settings()
    settings.set_code_env(code_env="py39_default")
    settings.save()
    assert recipe.get_settings().get_recipe_params()["envSelection"]["envName"] == "py39_default"
    settings = recipe.get_settings()
    settings.set_code_env(code_env="missing_env")
    raises_dss(CODED_IO, settings.save, "PYTHON env missing_env doesn't exist")


def test_put_keeps_identity_and_delete_keeps_outputs(project):
    recipe = project.new_recipe("sync", "keep").with_input("src").with_output("other").create()
    settings = recipe.get_settings()
    settings.get_recipe_raw_definition()["name"] = "other_name"
    settings.get_recipe_raw_definition()["type"] = "python"
    settings.save()
    raw = project.get_recipe("keep").get_settings().get_recipe_raw_definition()
    assert raw["name"] == "keep" and raw["type"] == "sync"
    recipe.delete()
    assert project.list_recipes() == [] and {"src", "other"} <= {d["name"] for d in project.list_datasets()}
    raises_dss(NOT_FOUND, recipe.get_settings)


def test_rename_metadata_status_schema_update(project):
    recipe = (
        project.new_recipe("grouping", "g")
        .with_input("src")
        .with_new_output("g_out", "filesystem_managed")
        .create()
    )
    md = recipe.get_metadata()
    md["tags"] = ["x"]
    recipe.set_metadata(md)
    assert recipe.get_settings().get_recipe_raw_definition()["tags"] == ["x"]
    assert recipe.compute_schema_updates().any_action_required() is False
    recipe.get_status()
    project.get_recipe("g").rename("g2")
    assert [r["name"] for r in project.list_recipes()] == ["g2"]
    json.loads(project.get_recipe("g2").get_settings().get_payload())
