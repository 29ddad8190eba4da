"""Git and registry module sources on local bare repositories (no network): resolution of refs
and version constraints, the lock (record, verify, changed hash), the cache and --offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dataiku_iac.modules import cache
from dataiku_iac.modules.lock import LockEntry, ModuleLock, key_of, load_lock
from dataiku_iac.modules.sources import ModuleSourceError, ResolvedModule, resolve_module

from tests.support.gitrepo import BareRepo

MODULE = {"ingest/module.yml": "module: ingest\nversion: 1.0.0\n", "ingest/resources.yml": "datasets: []\n"}


@pytest.fixture
def repo(tmp_path) -> BareRepo:
    repo = BareRepo(tmp_path / "repo")
    repo.commit(MODULE, "v1.0.0")
    repo.tag("v1.0.0")
    repo.commit({"ingest/resources.yml": "datasets: [a]\n"}, "v1.1.0")
    repo.tag("v1.1.0")
    repo.commit({"ingest/resources.yml": "datasets: [a, b]\n"}, "v1.2.0")
    repo.tag("v1.2.0")
    repo.commit({"ingest/resources.yml": "datasets: [a, b, c]\n"}, "v2.0.0")
    repo.tag("v2.0.0")
    return repo


@pytest.fixture
def config(tmp_path) -> Path:
    root = tmp_path / "config"
    (root / "projects").mkdir(parents=True)
    return root


def _get(config: Path, source: str, version=None, *, lock=None, offline=False) -> ResolvedModule:
    return resolve_module(config, source, version, call_file="projects/p.yml", call_line=4, lock=lock, offline=offline)


def _record(config: Path) -> ModuleLock:
    lock = load_lock(config)
    lock.mode = "record"
    return lock


def _fail(config: Path, source: str, version=None, **kw) -> str:
    with pytest.raises(ModuleSourceError) as info:
        _get(config, source, version, **kw)
    [diag] = info.value.diagnostics
    assert (diag.file, diag.line) == ("projects/p.yml", 4)
    return diag.render()


def test_a_version_constraint_picks_the_newest_matching_tag_and_is_locked(repo, config):
    source = f"git+{repo.url}//ingest"
    lock = _record(config)
    found = _get(config, source, "~> 1.1", lock=lock)
    assert (found.kind, found.version) == ("git", "1.2.0")
    assert (found.directory / "resources.yml").read_text() == "datasets: [a, b]\n"
    assert found.commit == lock.entries[key_of(source, "~> 1.1")].commit
    assert found.directory.parent == cache.cache_root()
    lock.write([key_of(source, "~> 1.1")])
    again = load_lock(config).entries[key_of(source, "~> 1.1")]
    assert (again.commit, again.content_hash, again.resolved) == (found.commit, found.content_hash, "1.2.0")


@pytest.mark.parametrize(("ref", "content"), [("v1.0.0", "datasets: []\n"), ("main", "datasets: [a, b, c]\n")])
def test_a_ref_pins_a_tag_or_a_branch(repo, config, ref, content):
    found = _get(config, f"git+{repo.url}//ingest?ref={ref}", lock=_record(config))
    assert (found.directory / "resources.yml").read_text() == content


def test_a_commit_sha_is_a_ref(repo, config):
    from tests.support.gitrepo import git

    first = git(repo.work, "rev-parse", "v1.0.0")
    found = _get(config, f"git+{repo.url}//ingest?ref={first}", lock=_record(config))
    assert found.commit == first


def test_plan_needs_the_lock_then_reads_the_cache_without_the_repository(repo, config):
    source = f"git+{repo.url}//ingest"
    assert "is not in iac.lock.yml" in _fail(config, source, "~> 1.0")
    assert "modules get" in _fail(config, source, "~> 1.0")
    lock = _record(config)
    locked = _get(config, source, "~> 1.0", lock=lock)
    lock.write([key_of(source, "~> 1.0")])
    shutil.rmtree(repo.path)  # no repository any more: the plan must not need it
    for offline in (False, True):
        found = _get(config, source, "~> 1.0", offline=offline)
        assert (found.directory, found.content_hash, found.commit) == (locked.directory, locked.content_hash, locked.commit)


def test_a_missing_cache_entry_is_fetched_again_and_checked_unless_offline(repo, config):
    source = f"git+{repo.url}//ingest?ref=v1.1.0"
    lock = _record(config)
    locked = _get(config, source, lock=lock)
    lock.write([key_of(source, None)])
    shutil.rmtree(locked.directory)
    shutil.rmtree(cache.cache_root() / "git")
    assert "is not in the module cache" in _fail(config, source, offline=True)
    found = _get(config, source)
    assert (found.content_hash, found.commit) == (locked.content_hash, locked.commit)
    assert (found.directory / "resources.yml").read_text() == "datasets: [a]\n"


def test_a_tampered_cache_entry_is_replaced(repo, config):
    source = f"git+{repo.url}//ingest?ref=v1.1.0"
    lock = _record(config)
    locked = _get(config, source, lock=lock)
    lock.write([key_of(source, None)])
    (locked.directory / "resources.yml").write_text("datasets: [planted]\n")
    found = _get(config, source)
    assert (found.directory / "resources.yml").read_text() == "datasets: [a]\n"


def test_a_changed_hash_is_an_error_naming_the_module_and_modules_update(repo, config):
    source = f"git+{repo.url}//ingest?ref=v1.1.0"
    lock = _record(config)
    locked = _get(config, source, lock=lock)
    entry = lock.entries[key_of(source, None)]
    other = _get(config, f"git+{repo.url}//ingest?ref=v1.0.0", lock=_record(config))
    lock.entries[entry.key] = LockEntry(entry.source, None, "git", other.content_hash, locked.commit, None, ("orders",))
    lock.write([entry.key])
    shutil.rmtree(cache.cache_root(), ignore_errors=True)
    message = _fail(config, source)
    assert "module '" + source + "' changed" in message
    assert "run `dataiku-iac modules update orders`" in message


def test_the_lock_s_commit_is_honoured_when_the_tag_moves(repo, config):
    from tests.support.gitrepo import git

    source = f"git+{repo.url}//ingest?ref=v1.2.0"
    lock = _record(config)
    locked = _get(config, source, lock=lock)
    lock.write([key_of(source, None)])
    repo.commit({"ingest/resources.yml": "datasets: [moved]\n"}, "retag")
    git(repo.work, "tag", "-f", "v1.2.0")
    git(repo.work, "push", "--quiet", "--force", str(repo.path), "refs/tags/v1.2.0")
    shutil.rmtree(cache.cache_root(), ignore_errors=True)
    found = _get(config, source)
    assert found.commit == locked.commit
    assert (found.directory / "resources.yml").read_text() == "datasets: [a, b]\n"
    relocked = _record(config)
    relocked.refresh = {key_of(source, None)}
    assert _get(config, source, lock=relocked).commit != locked.commit


@pytest.mark.parametrize(
    ("source", "version", "expected"),
    [
        ("git+https://alice:s3cretpass@git.example/x.git", None, "must not contain credentials"),
        ("git+{url}//ingest?ref=v1.0.0", "~> 1.0", "give one of the two"),
        ("git+{url}//ingest?branch=main", None, "the only query parameter"),
        ("git+{url}//ingest", "~> 3.0", 'no version matches "~> 3.0" (versions: 2.0.0, 1.2.0, 1.1.0, 1.0.0)'),
        ("git+{url}//ingest", "about one", "is not a version constraint"),
        ("git+{url}//nothing?ref=v1.0.0", None, "nothing under 'nothing'"),
        ("git+{url}//ingest?ref=v9", None, "no branch, tag or commit 'v9'"),
        ("git+{url}//../x", None, "'..' is not allowed"),
        ("git+{url}//ingest?ref=--upload-pack=evil", None, "is not a tag, branch or commit name"),
        ("git+{url}//ingest?ref=v1..v2", None, "is not a tag, branch or commit name"),
    ],
)
def test_bad_git_sources_are_reported_at_the_call_site(repo, config, source, version, expected):
    message = _fail(config, source.format(url=repo.url), version, lock=_record(config))
    assert expected in message
    assert "s3cretpass" not in message


@pytest.mark.parametrize("source", ["git+https://alice:s3cretpass@git.example/x.git", "git+https://s3cretpass@git.example/x.git",
                                    "git+ssh://git:s3cretpass@git.example/x.git"])
def test_credentials_in_a_module_source_are_refused_with_the_modules_advice(config, source):
    message = _fail(config, source, lock=_record(config))
    assert "a module source must not contain credentials" in message and "s3cretpass" not in message
    # the ways a module reaches a private repository (docs/modules.md), not a configuration source's
    assert "SSH" in message and "Git credential helper" in message
    assert "DSS user secret" not in message and "plugin preset" not in message


def test_a_registry_module_resolves_its_tag_and_its_index_path(tmp_path, config):
    registry = BareRepo(tmp_path / "registry")
    index = "registry: 1\nmodules:\n  ingest:\n    path: pipelines/ingest\n    description: Ingest a table\n"
    registry.commit({"index.yml": index, "pipelines/ingest/module.yml": "module: ingest\n",
                     "pipelines/ingest/resources.yml": "datasets: [one]\n"})
    registry.tag("ingest/v1.0.0")
    moved = index.replace("pipelines/ingest", "mods/ingest")
    registry.commit({"index.yml": moved, "pipelines/ingest/module.yml": None, "pipelines/ingest/resources.yml": None,
                     "mods/ingest/module.yml": "module: ingest\n", "mods/ingest/resources.yml": "datasets: [two]\n"})
    registry.tag("ingest/v1.1.0")
    registry.commit({"mods/ingest/resources.yml": "datasets: [three]\n"})
    registry.tag("ingest/v2.0.0-rc1")
    (config / "iac.yml").write_text(f"version: 1\nmodule_registries:\n  acme: git+{registry.url}\n")
    lock = _record(config)
    assert (_get(config, "acme/ingest", "~> 1.0", lock=lock).directory / "resources.yml").read_text() == "datasets: [two]\n"
    assert (_get(config, "acme/ingest", "1.0.0", lock=lock).directory / "resources.yml").read_text() == "datasets: [one]\n"
    newest = _get(config, "acme/ingest", lock=lock)
    assert (newest.kind, newest.version) == ("registry", "1.1.0")  # a pre-release only when named
    assert _get(config, "acme/ingest", "= 2.0.0-rc1", lock=lock).version == "2.0.0-rc1"
    assert "no module registry named 'other'" in _fail(config, "other/ingest", lock=lock)
    assert "the registry's index has no module 'nope'" in _fail(config, "acme/nope", lock=lock)


def test_the_lock_s_declarations_are_checked_after_a_run(repo, config):
    from dataiku_iac.modules.sources import check_lock_declarations

    first, second = f"git+{repo.url}//ingest?ref=v1.0.0", f"git+{repo.url}//ingest?ref=v1.1.0"
    lock = _record(config)
    for source in (first, second):
        _get(config, source, lock=lock)
    lock.write([key_of(first, None), key_of(second, None)])
    assert check_lock_declarations(config, [(first, None), (second, None), ("../local", None)]) == []
    [warning] = check_lock_declarations(config, [(first, None)])
    assert warning.severity == "warning" and warning.file == "iac.lock.yml"
    assert second in warning.message and "no longer called" in warning.message
    assert "dataiku-iac modules get" in (warning.hint or "")


def test_the_content_hash_is_the_same_read_in_place_or_from_git(repo, config):
    """The same files give the same hash whether the module is local or fetched (the lock can be
    checked against a vendored copy; moving a module into a repository keeps its hash)."""
    from tests.support.gitrepo import git

    git(repo.work, "checkout", "--quiet", "v1.1.0")
    shutil.copytree(repo.work / "ingest", config / "modules" / "ingest")
    (config / "modules" / "ingest" / ".DS_Store").write_text("editor noise")
    local = _get(config, "../modules/ingest")
    fetched = _get(config, f"git+{repo.url}//ingest?ref=v1.1.0", lock=_record(config))
    assert local.content_hash == fetched.content_hash


def test_a_locked_commit_the_repository_no_longer_holds_is_an_error(repo, config):
    source = f"git+{repo.url}//ingest?ref=v1.0.0"
    lock = _record(config)
    found = _get(config, source, lock=lock)
    entry = lock.entries[key_of(source, None)]
    lock.entries[entry.key] = LockEntry(entry.source, None, "git", found.content_hash, "0" * 40, None, ("orders",))
    lock.write([entry.key])
    shutil.rmtree(cache.cache_root(), ignore_errors=True)
    message = _fail(config, source)
    assert f"the repository no longer holds commit {'0' * 40}" in message
    assert "run `dataiku-iac modules update` to lock a commit it holds" in message
