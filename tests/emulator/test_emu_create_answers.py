"""What a create request answers: the created document, or (switch `create_answer: identity`) only
the key naming the object, which is all dataikuapi reads of it (docs/emulator.md, doubts)."""

from __future__ import annotations

import pytest


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("CA", "Create answers", "admin")


def _post(client, path, body):
    return client._perform_json("POST", "/projects/CA/" + path, body=body)


def test_creates_answer_the_created_document(dss, dss_client, project):
    assert dss.admin.behaviour()["create_answer"] == "document"
    managed = _post(dss_client, "datasets/managed", {"name": "m", "creationSettings": {"connectionId": "filesystem_managed"}})
    assert managed == project.get_dataset("m").get_settings().get_raw()  # versionNumber 1 already
    generic = {"name": "g", "projectKey": "CA", "type": "Filesystem", "params": {"connection": "filesystem_managed", "path": "/g"}}
    assert _post(dss_client, "datasets/", generic) == project.get_dataset("g").get_settings().get_raw()
    folder = _post(dss_client, "managedfolders/", {"name": "f", "params": {"connection": "filesystem_folders"}})
    assert folder == project.get_managed_folder(folder["id"]).get_settings().get_raw()
    scenario = _post(dss_client, "scenarios/", {"name": "S", "type": "step_based", "id": "S", "params": {"steps": []}})
    assert scenario == project.get_scenario("S").get_settings().get_raw()
    recipe = _post(
        dss_client,
        "recipes/",
        {"recipePrototype": {"type": "sync", "name": "r", "inputs": {}, "outputs": {}}, "creationSettings": {"rawCreation": True}},
    )
    assert recipe == {"name": "r", "recipe": project.get_recipe("r").get_settings().data["recipe"]}


def test_creates_answer_only_the_identity_when_switched(dss, dss_client, project):
    dss.admin.set_behaviour(create_answer="identity")
    assert _post(dss_client, "datasets/managed", {"name": "m", "creationSettings": {"connectionId": "filesystem_managed"}}) == {"name": "m"}
    folder = _post(dss_client, "managedfolders/", {"name": "f", "params": {"connection": "filesystem_folders"}})
    assert list(folder) == ["id"] and project.get_managed_folder(folder["id"]).get_settings().get_raw()["name"] == "f"
    assert _post(dss_client, "scenarios/", {"name": "S", "type": "step_based", "id": "S"}) == {"id": "S"}
    # dataikuapi's creators work the same, reading only those keys.
    assert project.create_scenario("Other", "step_based").id == "Other"
    assert project.create_managed_folder("g").get_settings().get_raw()["name"] == "g"
