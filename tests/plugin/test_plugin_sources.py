"""Config sources (git, library, directory), secret handling, and HTML escaping."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataiku_iac.dss import components
from dataiku_iac.dss.html import HtmlStyle, to_html
from dataiku_iac.sources import SourceError, materialize
from dataiku_iac.sources.git import GitCredentials, _git_env, askpass_answers, check_url, redact_url
from plugin_helpers import ALICE_KEY, git_repo, upload_library, write_files

FILES = {"iac.yml": "version: 1\n", "projects/a.yml": "project:\n  key: A\n  name: A\n"}


def test_git_source_by_branch_tag_and_commit(tmp_path):
    url = git_repo(tmp_path / "repo", FILES, subpath="dss")
    import git

    repo = git.Repo(url)
    repo.create_tag("v1")
    commit = repo.head.commit.hexsha
    cache = tmp_path / "cache"
    for ref in ("main", "v1", commit, commit[:10]):
        root, prov = materialize({"kind": "git", "url": url, "ref": ref, "subpath": "dss"}, work_dir=tmp_path / ref, cache_dir=cache)
        assert (root / "projects" / "a.yml").read_text() == FILES["projects/a.yml"]
        assert prov == {"kind": "git", "url": url, "ref": ref, "subpath": "dss", "commit": commit}
    with pytest.raises(SourceError, match="no branch, tag or commit 'nope'"):
        materialize({"kind": "git", "url": url, "ref": "nope"}, work_dir=tmp_path / "x", cache_dir=cache)
    with pytest.raises(SourceError, match="invalid git ref"):
        materialize({"kind": "git", "url": url, "ref": "--upload-pack=evil"}, cache_dir=cache)
    with pytest.raises(SourceError, match=r"'\.\.' is not allowed"):
        materialize({"kind": "git", "url": url, "subpath": "../etc"}, cache_dir=cache)


def test_git_symlinks_are_not_exported(tmp_path):
    url = git_repo(tmp_path / "repo", FILES)
    import git

    (Path(url) / "projects" / "evil.yml").symlink_to("/etc/passwd")
    repo = git.Repo(url)
    repo.git.add(A=True)
    repo.git.execute(["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "link"])
    root, _ = materialize({"kind": "git", "url": url}, work_dir=tmp_path / "w", cache_dir=tmp_path / "c")
    assert not (root / "projects" / "evil.yml").exists() and (root / "projects" / "a.yml").is_file()


def test_git_credentials_never_in_urls_reprs_or_messages(tmp_path):
    for url in ("https://bob:hunter2@git.example.com/x.git", "https://bob@git.example.com/x.git"):
        with pytest.raises(SourceError) as info:
            check_url(url)
        assert "hunter2" not in str(info.value) and "bob" not in str(info.value)
    assert redact_url("https://bob:hunter2@git.example.com/x.git") == "https://git.example.com/x.git"
    creds = GitCredentials.from_spec({"token": "s3cr3t"})
    assert creds.username == "x-access-token" and "s3cr3t" not in repr(creds)
    with _git_env(creds) as env:
        assert askpass_answers(env) == ("x-access-token", "s3cr3t")
        assert "s3cr3t" not in env["GIT_ASKPASS"]  # the helper reads it from the environment
    # A failing fetch with credentials: git's message is shown, the secret is not.
    with pytest.raises(SourceError) as info:
        materialize(
            {"kind": "git", "url": str(tmp_path / "missing"), "credentials": {"username": "u", "password": "s3cr3t"}},
            cache_dir=tmp_path / "c",
        )
    assert "git fetch failed" in str(info.value) and "s3cr3t" not in str(info.value)


def test_git_secret_comes_from_the_callers_own_dss_user_secrets(dss, state_project):
    alice = lambda: dss.client_for(ALICE_KEY)  # noqa: E731
    config = {"source_kind": "git", "git_url": "https://git.example.com/x.git", "git_secret": "git_token", "environment": "dev"}
    spec = components.source_spec(config, alice, "OPS")
    assert spec["credentials"] == {"token": "s3cr3t-T0KEN"}
    with pytest.raises(components.ComponentError, match="no DSS user secret named 'other'"):
        components.source_spec({**config, "git_secret": "other"}, alice, "OPS")


def test_library_source_copies_the_folder_and_records_a_digest(dss, state_project, tmp_path):
    client = dss.client()
    upload_library(client, "OPS", "iac/dev", FILES)
    root, prov = materialize({"kind": "library", "project_key": "OPS", "path": "iac/dev"}, client_factory=dss.client, work_dir=tmp_path)
    assert (root / "projects" / "a.yml").read_text() == FILES["projects/a.yml"]
    assert prov["kind"] == "library" and prov["path"] == "iac/dev" and len(prov["digest"]) == 64
    with pytest.raises(SourceError, match="has no files under /nothing"):
        materialize({"kind": "library", "project_key": "OPS", "path": "nothing"}, client_factory=dss.client)
    with pytest.raises(SourceError, match=r"'\.\.' is not allowed"):
        materialize({"kind": "library", "project_key": "OPS", "path": "../x"}, client_factory=dss.client)


def test_directory_source_and_unknown_kinds(tmp_path):
    root, prov = materialize({"kind": "directory", "path": str(write_files(tmp_path / "d", FILES))})
    assert root == tmp_path / "d" and prov == {"kind": "directory", "path": str((tmp_path / "d").resolve())}
    with pytest.raises(SourceError, match="does not exist"):
        materialize({"kind": "directory", "path": str(tmp_path / "none")})
    with pytest.raises(SourceError, match="unknown config source kind 's3'"):
        materialize({"kind": "s3"})


def test_html_escapes_everything_from_the_plan():
    style = HtmlStyle()
    marked = style("  + dataset <script>alert(1)</script>", "green", bold=True) + ' "quoted" & \ue000red\ue001x'
    out = to_html(marked)
    assert "<script>" not in out and "&lt;script&gt;" in out and "&quot;quoted&quot; &amp;" in out
    assert out.startswith('<span class="iac-green iac-b">') and "\ue000" not in out and "\ue001" not in out
    assert to_html(style("x", 'green" onclick="evil')) == '<span class="iac-plain">x</span>'
