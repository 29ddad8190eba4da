"""The project library source on a folder that DSS imports from Git (a library Git reference):
refresh from upstream on request, the commit read in the plan, clear failures. A local bare
repository stands for the upstream; DSS (the emulator) imports it through dataikuapi."""

from __future__ import annotations

import pytest
from dataiku_iac.dss.html import extract_plan_json
from dataiku_iac.sources import SourceError, describe_source, materialize
from plugin_helpers import demo_config, run_macro

from tests.support.gitrepo import BareRepo

OPS = "OPS"
REFRESH = {"source_kind": "library", "library_path": "iac", "library_git_refresh": True, "environment": "dev"}
NEW_DATASET = "  - name: MORE_DATA\n    type: managed\n    format: parquet\n"


@pytest.fixture
def upstream(tmp_path):
    repo = BareRepo(tmp_path)
    repo.first = repo.commit({f"dss/{k}": v for k, v in demo_config().items()}, "config")
    return repo


@pytest.fixture
def ops(dss, state_project):
    client = dss.client()
    client.create_project(OPS, OPS, "admin")
    return client.get_project(OPS).get_project_git()


def _import(project_git, upstream, folder="iac"):
    project_git.add_library(
        upstream.url, folder, "main", path_in_git_repository="dss", add_to_python_path=False, as_type="object"
    ).wait_for_result()


def test_plan_macro_refreshes_the_git_reference_and_says_which_commit_it_read(dss, ops, upstream):
    _import(ops, upstream)
    client = dss.client()
    first = extract_plan_json(run_macro(client, OPS, "plan", REFRESH))
    assert first["summary"]["add"] == 3
    assert first["source"]["git"] == {
        "reference": "iac", "remote": upstream.url, "checkout": "main", "commit": upstream.first, "refreshed": True,
    }
    demo = demo_config()["projects/demo.yml"]
    second = upstream.commit({"dss/projects/demo.yml": demo.replace("managed_folders:", NEW_DATASET + "managed_folders:")})
    # Without a refresh, the library still holds what DSS imported, and the plan says so.
    stale = extract_plan_json(run_macro(client, OPS, "plan", {**REFRESH, "library_git_refresh": False}))
    assert stale["summary"]["add"] == 3 and stale["source"]["git"]["commit"] == upstream.first
    assert stale["source"]["git"]["refreshed"] is False
    html = run_macro(client, OPS, "plan", REFRESH)
    fresh = extract_plan_json(html)
    assert fresh["summary"]["add"] == 4 and fresh["source"]["git"]["commit"] == second
    assert "dataset.PLUG_DEMO.MORE_DATA" in {c["address"] for c in fresh["resource_changes"]}
    assert f"Git reference iac: {upstream.url} @ main = {second[:12]}" in html


def _materialize(dss, tmp_path, **spec):
    spec = {"kind": "library", "project_key": OPS, "path": "iac", **spec}
    return materialize(spec, client_factory=dss.client, work_dir=tmp_path / "work")


def test_a_named_reference_sets_the_folder_and_a_subfolder_of_it_is_covered(dss, ops, upstream, tmp_path):
    _import(ops, upstream, folder="python/config")
    root, prov = _materialize(dss, tmp_path, path=None, git_reference="python/config")
    assert prov["path"] == "python/config" and prov["git"]["commit"] == upstream.first
    assert (root / "projects" / "demo.yml").is_file()
    _, sub = _materialize(dss, tmp_path, path="python/config/projects")
    assert sub["git"]["reference"] == "python/config"
    assert "Git reference python/config:" in describe_source(sub)


def test_plain_library_folders_stay_plain(dss, ops, upstream, tmp_path):
    _import(ops, upstream, folder="other")
    dss.client().get_project(OPS).get_library().root.add_folder("iac").add_file("iac.yml").write("version: 1\n")
    _, prov = _materialize(dss, tmp_path)
    assert "git" not in prov
    with pytest.raises(SourceError, match=r"no Git reference of the library of project OPS populates /iac"):
        _materialize(dss, tmp_path, git_refresh=True)


def test_missing_unimported_and_failing_references_are_named(dss, ops, upstream, tmp_path):
    _import(ops, upstream, folder="iac")
    with pytest.raises(SourceError, match=r"has no Git reference 'config' \(its Git references: iac\)"):
        _materialize(dss, tmp_path, git_reference="config")
    with pytest.raises(SourceError, match=r"/elsewhere is not inside the folder of the Git reference 'iac'"):
        _materialize(dss, tmp_path, path="elsewhere", git_reference="iac")
    # A reference whose import failed: DSS records no commit for it.
    token_url = "https://bob:s3cr3t-token@git.example.com/data/iac.git"
    with pytest.raises(Exception, match="Failed to pull"):
        ops.add_library(token_url, "broken", "main", as_type="object").wait_for_result()
    with pytest.raises(SourceError, match=r"'broken' of project OPS .* has not been imported yet") as info:
        _materialize(dss, tmp_path, path="broken")  # the folder a Git reference should populate
    assert "s3cr3t" not in str(info.value) and "bob" not in str(info.value)
    # Refreshing it fails in DSS: its error is named, the token is not.
    with pytest.raises(SourceError, match=r"DSS could not refresh the Git reference 'broken' of project OPS") as info:
        _materialize(dss, tmp_path, path="broken", git_refresh=True)
    assert "CodedIOException" in str(info.value) and "Failed to pull Git reference broken" in str(info.value)
    assert "s3cr3t" not in str(info.value) and "bob" not in str(info.value)
    # The upstream went away: the refresh fails and nothing is read.
    ops.set_library("iac", upstream.url + "-gone", "dss", "main")
    with pytest.raises(SourceError, match=r"could not refresh the Git reference 'iac'.*git fetch failed"):
        _materialize(dss, tmp_path, git_refresh=True)
    with pytest.raises(SourceError, match="'git_refresh' must be true or false"):
        _materialize(dss, tmp_path, git_refresh="false")
