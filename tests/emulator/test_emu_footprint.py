"""The data-directories footprint of a project, through dataikuapi (`compute_project_footprint`):
an administrator's call; the emulator counts the files it holds (docs/emulator.md)."""

from __future__ import annotations

import io

from emu_helpers import UNAUTHORIZED, raises_dss


def test_a_projects_footprint_counts_its_folder_files(dss):
    client = dss.client()
    project = client.create_project("FP", "Footprint", "admin")
    folder = project.create_managed_folder("exports")
    folder.put_file("a.csv", io.BytesIO(b"x" * 1200))
    folder.put_file("sub/b.csv", io.BytesIO(b"y" * 300))
    found = client.get_data_directories_footprint().compute_project_footprint("FP")
    assert found["projectKey"] == "FP"
    assert (found.size, found.get_size("KB"), found["nbFiles"], found["nbErrors"]) == (1500, 1.5, 2, 0)
    assert found["managedFolders"]["size"] == 1500 and found["datasets"]["size"] == 0


def test_the_footprint_is_for_administrators(dss):
    dss.client().create_project("FP", "Footprint", "admin")
    dss.admin.seed(api_keys=[{"key": "bob-key", "login": "bob", "admin": False}])
    raises_dss(UNAUTHORIZED, lambda: dss.client_for("bob-key").get_data_directories_footprint().compute_project_footprint("FP"))
