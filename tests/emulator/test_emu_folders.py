"""Managed folders and their files."""

from __future__ import annotations

import io
import re

import pytest
from emu_helpers import ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("MF", "Folders", "admin")


def test_create_assigns_random_id_and_defaults(project):
    folder = project.create_managed_folder("state")
    assert re.match(r"^[A-Za-z0-9]{8}$", folder.id)
    raw = folder.get_settings().get_raw()
    assert raw["id"] == folder.id and raw["name"] == "state" and raw["projectKey"] == "MF"
    assert raw["type"] == "Filesystem" and raw["params"]["connection"] == "filesystem_folders"
    assert raw["params"]["path"] == "/${projectKey}/${odbId}"
    assert raw["checks"]["runOnBuild"] is False and "metricsChecks" not in raw
    assert raw["versionTag"] == raw["creationTag"]
    other = project.create_managed_folder("other")
    assert other.id != folder.id
    listed = project.list_managed_folders()
    assert {f["id"] for f in listed} == {folder.id, other.id} and all("params" in f for f in listed)


def test_unknown_connection(project):
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_managed_folder("x", connection_name="nope"))
    raises_dss(ILLEGAL_ARGUMENT, lambda: project.create_managed_folder("x", connection_name="postgres_dw"))


def test_files_put_get_list_delete(project):
    folder = project.create_managed_folder("files")
    res = folder.put_file("/state/terraform.json", b'{"serial": 1}')
    assert res["path"] == "/state/terraform.json" and res["size"] == 13
    folder.put_file("plain.txt", io.BytesIO(b"hello"))
    folder.put_file("/state/terraform.json", b'{"serial": 2}')  # overwrite
    items = folder.list_contents()["items"]
    assert [i["path"] for i in items] == ["/plain.txt", "/state/terraform.json"]
    assert all(isinstance(i["lastModified"], int) for i in items)
    assert folder.get_file("/state/terraform.json").content == b'{"serial": 2}'
    assert folder.get_file("state/terraform.json").content == b'{"serial": 2}'
    folder.delete_file("/plain.txt")
    folder.delete_file("/never-existed.txt")  # silent, like DSS
    assert [i["path"] for i in folder.list_contents()["items"]] == ["/state/terraform.json"]
    raises_dss(NOT_FOUND, lambda: folder.get_file("/missing.json"))


def test_settings_save_bumps_and_keeps_id(project):
    folder = project.create_managed_folder("s")
    settings = folder.get_settings()
    settings.get_raw()["id"] = "hijacked"
    settings.get_raw()["tags"] = ["t"]
    settings.save()
    raw = folder.get_settings().get_raw()
    assert raw["id"] == folder.id and raw["tags"] == ["t"] and raw["versionTag"]["versionNumber"] == 1


def test_rename(project):
    folder = project.create_managed_folder("before")
    folder.rename("after")
    assert folder.get_settings().get_raw()["name"] == "after"


def test_delete_drop_data_and_recipes(dss, project):
    folder = project.create_managed_folder("doomed")
    folder.put_file("a.txt", b"x")
    project.new_managed_dataset("out").with_store_into("filesystem_managed").create()
    project.new_recipe("python", "reader").with_input(folder.id).with_output("out").create()
    folder.delete(drop_data=True)
    assert project.list_managed_folders() == [] and project.list_recipes() == []
    assert [d["name"] for d in project.list_datasets()] == ["out"]
    raises_dss(NOT_FOUND, folder.list_contents)


def test_delete_without_drop_keeps_files_on_disk(dss, project):
    folder = project.create_managed_folder("kept")
    folder.put_file("a.txt", b"x")
    folder.delete(drop_data=False)
    assert (dss.data_dir / "managed_folders" / "MF" / folder.id / "a.txt").read_bytes() == b"x"
    folder2 = project.create_managed_folder("dropped")
    folder2.put_file("b.txt", b"y")
    folder2.delete(drop_data=True)
    assert not (dss.data_dir / "managed_folders" / "MF" / folder2.id).exists()
