"""The project library."""

from __future__ import annotations

import pytest
from dataikuapi.utils import DataikuException
from emu_helpers import NOT_FOUND, raises_dss


@pytest.fixture
def project(dss_client):
    return dss_client.create_project("LIB", "Lib", "admin")


def test_default_tree(project):
    names = sorted(item.name for item in project.get_library().list())
    assert names == ["R", "external-libraries.json", "python"]


def test_add_write_read_files_and_folders(project):
    lib = project.get_library()
    python = lib.get_folder("/python")
    pkg = python.add_folder("iac")
    pkg.add_file("__init__.py").write("VERSION = 1\n")
    lib.add_file("root.txt").write(b"\x00\x01binary")
    lib = project.get_library()
    assert lib.get_file("/python/iac/__init__.py").read() == "VERSION = 1\n"
    assert lib.get_file("/root.txt").read(as_type="bytes") == b"\x00\x01binary"
    with pytest.raises(DataikuException, match="already exists"):
        lib.get_folder("/python/iac").add_file("__init__.py")


def test_rename_move_delete(project, dss_client):
    lib = project.get_library()
    f = lib.get_folder("/python").add_file("a.py")
    f.write("A = 1\n")
    f.rename("b.py")
    lib = project.get_library()
    assert lib.get_file("/python/b.py").read() == "A = 1\n"
    lib.get_file("/python/b.py").move_to(lib.get_folder("/R"))
    lib = project.get_library()
    assert [i.name for i in lib.get_folder("/R").list()] == ["b.py"]
    lib.get_file("/R/b.py").delete()
    assert project.get_library().get_folder("/R").list() == []
    assert project.get_library().get_file("/R/b.py") is None
    raises_dss(NOT_FOUND, lambda: dss_client._perform_json("GET", "/projects/LIB/libraries/contents//R/b.py"))
