"""The `dataiku` stand-in (tests/stand_in) used by DSS component tests."""

from __future__ import annotations

import json

import dataiku
import pytest
from dataiku import customrecipe, customstep, customwebapp
from dataiku.runnables import ResultTable, Runnable


@pytest.fixture
def env(dss, monkeypatch):
    monkeypatch.setenv("DKU_DSS_URL", dss.url)
    monkeypatch.setenv("DKU_API_KEY", dss.api_key)
    monkeypatch.setenv("DKU_CURRENT_PROJECT_KEY", "STAND")
    monkeypatch.setattr(dataiku, "_remote", {})
    return dss


def test_api_client_and_default_project(env):
    client = dataiku.api_client()
    client.create_project("STAND", "s", "admin")
    assert dataiku.default_project_key() == "STAND"
    assert client.get_default_project().project_key == "STAND"
    client.get_project("STAND").set_variables({"standard": {"x": 1}, "local": {}})
    assert dataiku.get_custom_variables(typed=True) == {"x": 1}


def test_missing_location(monkeypatch):
    monkeypatch.delenv("DKU_DSS_URL", raising=False)
    monkeypatch.delenv("DKU_API_KEY", raising=False)
    monkeypatch.setattr(dataiku, "_remote", {})
    with pytest.raises(Exception, match="No DSS URL or API key"):
        dataiku.api_client()


def test_folder_over_public_api(env):
    project = dataiku.api_client().create_project("STAND", "s", "admin")
    project.create_managed_folder("state")
    folder = dataiku.Folder("state")
    folder.write_json("/a/state.json", {"serial": 3})
    assert folder.read_json("/a/state.json") == {"serial": 3}
    assert folder.list_paths_in_partition() == ["/a/state.json"]
    folder.delete_path("/a/state.json")
    assert folder.list_paths_in_partition() == []


def test_component_config_getters(monkeypatch):
    monkeypatch.setenv("DKU_PLUGIN_STEP_CONFIG", json.dumps({"a": 1}))
    monkeypatch.setenv("DKU_PLUGIN_CONFIG", json.dumps({"p": 2}))
    monkeypatch.setenv("DKU_CUSTOM_WEBAPP_CONFIG", json.dumps({"w": 3}))
    monkeypatch.setenv("DKU_CUSTOM_RECIPE_CONFIG", json.dumps({"r": 4}))
    monkeypatch.setenv("DKU_CUSTOM_RECIPE_INPUTS", json.dumps({"state": ["P.folder1"]}))
    assert customstep.get_step_config() == {"a": 1} and customstep.get_plugin_config() == {"p": 2}
    assert customwebapp.get_webapp_config() == {"w": 3}
    assert customrecipe.get_recipe_config() == {"r": 4}
    assert customrecipe.get_input_names_for_role("state") == ["P.folder1"]
    assert customrecipe.get_input_names_for_role("state", full=False) == ["folder1"]


def test_result_table_and_runnable():
    table = ResultTable()
    table.add_column("a", "A")
    table.add_record(["x"])
    table.set_header("h")
    assert table.to_json() == {
        "header": "h",
        "columns": [{"name": "a", "displayName": "A", "type": "STRING"}],
        "records": [["x"]],
        "name": "",
    }
    runnable = Runnable("P", {"c": 1}, {})
    assert runnable.get_progress_target() is None and runnable.config == {"c": 1}
