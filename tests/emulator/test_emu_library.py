"""The project library."""

from __future__ import annotations

import json

import pytest
from dataikuapi.utils import DataikuException
from emu_helpers import CODED_IO, ILLEGAL_ARGUMENT, NOT_FOUND, raises_dss

from tests.support.gitrepo import BareRepo
from tests.support.gitrepo import git as git_cmd


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


# -- Git references (external libraries) --------------------------------------------------


@pytest.fixture
def upstream(tmp_path):
    repo = BareRepo(tmp_path)
    repo.first = repo.commit({"lib/helpers.py": "X = 1\n", "README.md": "top\n"}, "first")
    return repo


def test_add_library_imports_the_repository_into_the_library(project, upstream):
    git = project.get_project_git()
    future = git.add_library(upstream.url, "python/shared", "main", path_in_git_repository="lib", as_type="object")
    future.wait_for_result()
    lib = project.get_library()
    assert [i.name for i in lib.get_folder("/python/shared").list()] == ["helpers.py"]
    assert lib.get_file("/python/shared/helpers.py").read() == "X = 1\n"
    refs = git.list_libraries()
    assert refs["gitReferences"] == {
        "python/shared": {
            "remote": upstream.url, "checkout": "main", "remotePath": "lib", "isDirty": False,
            "lastHash": upstream.first, "conflictingFiles": [], "resolvedFiles": [], "faultyHash": "",
        }
    }
    assert refs["pythonPath"] == ["python", "python/shared"]
    # DSS's own settings file holds the same document (lib/external-libraries.json in DSS's Git).
    assert json.loads(lib.get_file("/external-libraries.json").read()) == refs


def test_reset_library_follows_upstream_and_replaces_the_folder(project, upstream):
    git = project.get_project_git()
    git.add_library(upstream.url, "cfg", "refs/heads/main", add_to_python_path=False, as_type="object").wait_for_result()
    project.get_library().get_folder("/cfg").add_file("local-edit.txt").write("mine")
    second = upstream.commit({"README.md": "changed\n", "lib/helpers.py": None}, "second")
    git.reset_library("cfg").wait_for_result()
    lib = project.get_library()
    assert sorted(i.name for i in lib.get_folder("/cfg").list()) == ["README.md"]
    assert lib.get_file("/cfg/README.md").read() == "changed\n"
    assert git.list_libraries()["gitReferences"]["cfg"]["lastHash"] == second
    assert git.list_libraries()["pythonPath"] == ["python"]


def test_checkout_by_tag_and_by_commit(project, upstream):
    git_cmd(upstream.work, "tag", "v1")
    git_cmd(upstream.work, "push", "--quiet", str(upstream.path), "v1")
    upstream.commit({"README.md": "later\n"}, "later")
    git = project.get_project_git()
    git.add_library(upstream.url, "tagged", "v1", as_type="object").wait_for_result()
    git.add_library(upstream.url, "pinned", upstream.first[:12], as_type="object").wait_for_result()
    refs = git.list_libraries()["gitReferences"]
    assert refs["tagged"]["lastHash"] == refs["pinned"]["lastHash"] == upstream.first
    assert project.get_library().get_file("/tagged/README.md").read() == "top\n"


def test_failed_pull_keeps_the_reference_without_a_commit_and_fails_the_future(project, tmp_path):
    git = project.get_project_git()
    missing = (tmp_path / "nowhere.git").as_uri()
    future = git.add_library(missing, "cfg", "main", as_type="object")
    raises_dss(CODED_IO, future.wait_for_result, match="Failed to pull Git reference cfg")
    ref = git.list_libraries()["gitReferences"]["cfg"]
    assert ref["remote"] == missing and "lastHash" not in ref
    raises_dss(CODED_IO, lambda: git.reset_library("cfg").wait_for_result(), match="git fetch failed")


def test_unknown_checkout_fails_and_network_remotes_are_never_fetched(project, upstream):
    git = project.get_project_git()
    raises_dss(CODED_IO, lambda: git.add_library(upstream.url, "a", "nope", as_type="object").wait_for_result(),
               match="no branch, tag or commit 'nope'")
    failed = git.add_library("https://user:s3cret@git.example.com/x.git", "b", "main", as_type="object")
    error = raises_dss(CODED_IO, failed.wait_for_result, match="only local repositories")
    assert "s3cret" not in str(error) and "https://git.example.com/x.git" in str(error)


def test_set_and_remove_library(project, upstream):
    git = project.get_project_git()
    git.add_library(upstream.url, "python/shared", "main", as_type="object").wait_for_result()
    git.set_library("python/shared", upstream.url, "lib", "main")
    assert git.list_libraries()["gitReferences"]["python/shared"]["remotePath"] == "lib"
    git.reset_library("python/shared").wait_for_result()
    assert [i.name for i in project.get_library().get_folder("/python/shared").list()] == ["helpers.py"]
    git.remove_library("python/shared", False)
    assert git.list_libraries()["gitReferences"] == {}
    assert git.list_libraries()["pythonPath"] == ["python"]
    assert project.get_library().get_folder("/python/shared") is not None  # the folder stays
    git.add_library(upstream.url, "other", "main", as_type="object").wait_for_result()
    git.remove_library("other", True)
    assert project.get_library().get_folder("/other") is None


def test_reference_errors(project, upstream, dss_client):
    git = project.get_project_git()
    git.add_library(upstream.url, "cfg", "main", as_type="object").wait_for_result()
    raises_dss(ILLEGAL_ARGUMENT, lambda: git.add_library(upstream.url, "cfg", "main"), match="already exists")
    raises_dss(NOT_FOUND, lambda: git.reset_library("other"), match="Git reference does not exist: other")
    raises_dss(NOT_FOUND, lambda: git.remove_library("other", False))
    raises_dss(ILLEGAL_ARGUMENT, lambda: git.add_library(upstream.url, "", "main"))


def test_reset_all_libraries(project, upstream):
    git = project.get_project_git()
    git.add_library(upstream.url, "a", "main", as_type="object").wait_for_result()
    git.add_library(upstream.url, "b", "main", path_in_git_repository="lib", as_type="object").wait_for_result()
    second = upstream.commit({"lib/helpers.py": "X = 2\n"}, "second")
    git.reset_all_libraries().wait_for_result()
    refs = git.list_libraries()["gitReferences"]
    assert refs["a"]["lastHash"] == refs["b"]["lastHash"] == second
    assert project.get_library().get_file("/b/helpers.py").read() == "X = 2\n"
