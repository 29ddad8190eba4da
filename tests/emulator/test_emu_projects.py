"""Projects: CRUD, metadata, settings, permissions, variables, tags, folders."""

from __future__ import annotations

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, UNAUTHORIZED, raises_dss


def test_create_list_and_summary(dss_client):
    dss_client.create_project("P1", "Project one", "admin", description="desc", tags=["a"])
    items = dss_client.list_projects()
    assert [i["projectKey"] for i in items] == ["P1"]
    item = items[0]
    # The list item keys Dataiku's monitoring plugin reads (findings section 5): the owner is
    # ownerLogin + ownerDisplayName, never `owner`.
    assert item["name"] == "Project one" and item["tags"] == ["a"] and "owner" not in item
    assert item["ownerLogin"] == "admin" and item["ownerDisplayName"] == "Administrator"
    assert item["projectType"] == "REGULAR" and item["projectAppType"] == "REGULAR"
    assert item["permissionsVersion"] == "V2" and item["commitMode"] == "AUTO"
    assert item["tutorialProject"] is False
    assert item["versionTag"]["versionNumber"] == 0 and item["creationTag"]["versionNumber"] == 0
    assert dss_client.get_project("P1").get_summary() == item
    assert dss_client.list_project_keys() == ["P1"]


def test_project_tags_come_back_sorted(dss_client):
    project = dss_client.create_project("TAGS", "Tags", "admin", tags=["zulu", "alpha", "mike"])
    assert project.get_metadata()["tags"] == ["alpha", "mike", "zulu"]
    metadata = project.get_metadata()
    metadata["tags"] = ["terraform", "smoke-test", "terraform"]
    project.set_metadata(metadata)
    assert project.get_metadata()["tags"] == ["smoke-test", "terraform"]  # a set: sorted, once each
    assert dss_client.list_projects()[0]["tags"] == ["smoke-test", "terraform"]
    settings = project.get_settings()
    settings.settings["tags"] = ["b", "a"]
    settings.save()
    assert project.get_summary()["tags"] == ["a", "b"]


def test_duplicate_and_invalid_keys(dss_client):
    dss_client.create_project("DUP", "d", "admin")
    raises_dss(ILLEGAL_ARGUMENT, lambda: dss_client.create_project("DUP", "d", "admin"), "already exists")
    raises_dss(
        ILLEGAL_ARGUMENT, lambda: dss_client.create_project("BAD-KEY", "d", "admin"), "Invalid project key"
    )
    raises_dss(ILLEGAL_ARGUMENT, lambda: dss_client.create_project("", "d", "admin"))


def test_missing_project_errors(dss_client):
    p = dss_client.get_project("NOPE")
    for call in (
        p.get_metadata,
        p.get_settings,
        p.get_permissions,
        p.get_variables,
        p.list_datasets,
        p.get_summary,
    ):
        raises_dss(UNAUTHORIZED, call, "Failed to read project permissions")


def test_delete_project_deletes_its_objects(dss_client):
    p = dss_client.create_project("GONE", "g", "admin")
    p.create_dataset("d1", "Filesystem", params={"connection": "filesystem_managed", "path": "x"})
    folder = p.create_managed_folder("f")
    folder.put_file("a.txt", b"x")
    p.delete(clear_output_managed_folders=True)
    assert dss_client.list_project_keys() == []
    p2 = dss_client.create_project("GONE", "g", "admin")
    assert p2.list_datasets() == [] and p2.list_managed_folders() == []


def test_metadata_roundtrip_bumps_version(dss_client):
    p = dss_client.create_project("MD", "Meta", "admin")
    md = p.get_metadata()
    assert md["label"] == "Meta" and md["tags"] == [] and md["checklists"]["checklists"]
    assert md["custom"] == {"kv": {}}
    md["tags"] = ["x", "y"]
    md["description"] = "hello"
    md["custom"]["kv"]["team"] = "data"
    p.set_metadata(md)
    again = p.get_metadata()
    assert (
        again["tags"] == ["x", "y"]
        and again["description"] == "hello"
        and again["custom"]["kv"]["team"] == "data"
    )
    assert dss_client.list_projects()[0]["versionTag"]["versionNumber"] == 1


def test_settings_defaults_and_save(dss_client):
    p = dss_client.create_project("ST", "Settings", "admin")
    settings = p.get_settings()
    raw = settings.get_raw()
    assert "permissions" not in raw
    assert raw["settings"]["codeEnvs"]["python"] == {"mode": "INHERIT", "preventOverride": False}
    assert raw["exposedObjects"] == {"objects": []}
    before = raw["versionTag"]["versionNumber"]
    settings.set_python_code_env("py39_default")
    settings.save()
    raw2 = p.get_settings().get_raw()
    assert raw2["settings"]["codeEnvs"]["python"]["envName"] == "py39_default"
    assert raw2["versionTag"]["versionNumber"] == before + 1


def test_settings_unknown_code_env_rejected(dss_client):
    p = dss_client.create_project("STE", "Settings", "admin")
    settings = p.get_settings()
    settings.set_python_code_env("no_such_env")
    raises_dss(
        "com.dataiku.dip.exceptions.CodedIOException", settings.save, "PYTHON env no_such_env doesn't exist"
    )


def test_permissions_rows_spell_every_flag(dss_client):
    p = dss_client.create_project(
        "PERM", "Perm", "admin", permissions=[{"group": "analysts", "readProjectContent": True}]
    )
    perms = p.get_permissions()
    assert perms["owner"] == "admin"
    row = perms["permissions"][0]
    assert (
        row["group"] == "analysts"
        and row["readProjectContent"] is True
        and row["writeProjectContent"] is False
    )
    assert {"admin", "exportDatasetsData", "runScenarios", "readDashboards"} <= set(row)
    perms["permissions"].append({"group": "data_team", "writeProjectContent": True})
    p.set_permissions(perms)
    rows = p.get_permissions()["permissions"]
    assert [r["group"] for r in rows] == ["analysts", "data_team"]
    assert rows[1]["readDashboards"] is False


def test_variables_and_resolved(dss_client):
    p = dss_client.create_project("VARS", "Vars", "admin")
    assert p.get_variables() == {"standard": {}, "local": {}}
    p.set_variables({"standard": {"a": 1, "b": "x"}, "local": {"b": "local"}})
    p.update_variables({"c": True})
    assert p.get_variables()["standard"] == {"a": 1, "b": "x", "c": True}
    assert dss_client.get_resolved_variables("VARS", typed=True) == {"a": 1, "b": "local", "c": True}
    assert dss_client.get_resolved_variables("VARS") == {"a": "1", "b": "local", "c": "true"}
    with pytest.raises(ValueError):
        p.set_variables({"standard": {}})


def test_tags_roundtrip(dss_client):
    p = dss_client.create_project("TAGS", "Tags", "admin")
    tags = p.get_tags()
    tags["tags"]["gold"] = {"color": "#ff0000"}
    p.set_tags(tags)
    assert p.get_tags()["tags"]["gold"]["color"] == "#ff0000"


def test_project_folders(dss_client):
    p = dss_client.create_project("FLD", "F", "admin")
    root = dss_client.get_root_project_folder()
    assert "FLD" in root.list_project_keys()
    sub = root.create_sub_folder("team")
    p.move_to_folder(sub)
    assert p.get_project_folder().id == sub.id
    assert "FLD" not in dss_client.get_root_project_folder().list_project_keys()
