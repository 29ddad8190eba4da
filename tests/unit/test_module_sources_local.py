"""Local module sources: confinement to the config root, diagnostics at the call site, content hash."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

import pytest
from dataiku_iac.errors import ConfigError
from dataiku_iac.modules.hashing import hash_tree
from dataiku_iac.modules.sources import ModuleSourceError, ResolvedModule, resolve_module


def _module(root: Path, rel: str = "modules/ingest", body: str = "module: ingest\n") -> Path:
    directory = root / rel
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "module.yml").write_text(body)
    (directory / "resources.yml").write_text("datasets: []\n")
    return directory


def _resolve(root: Path, source: str, version=None, call_file: str = "projects/sales.yml") -> ResolvedModule:
    return resolve_module(root, source, version, call_file=call_file, call_line=7)


def _error(root: Path, source: str, version=None, call_file: str = "projects/sales.yml") -> str:
    with pytest.raises(ModuleSourceError) as info:
        _resolve(root, source, version, call_file)
    assert isinstance(info.value, ConfigError)
    [diag] = info.value.diagnostics
    assert (diag.file, diag.line) == (call_file, 7)
    return diag.render()


def test_a_local_path_is_relative_to_the_calling_file(tmp_path):
    directory = _module(tmp_path)
    found = _resolve(tmp_path, "../modules/ingest")
    assert found.directory == directory
    assert (found.kind, found.commit, found.source) == ("local", None, "../modules/ingest")
    assert found.content_hash.startswith("h1:")
    at_root = _resolve(tmp_path, "./modules/ingest", call_file="iac.yml")
    assert at_root.directory == directory and at_root.content_hash == found.content_hash


def test_the_content_hash_is_go_dirhash_h1_and_follows_the_files(tmp_path):
    directory = _module(tmp_path)
    (directory / ".hidden.swp").write_text("editor backup")
    (directory / ".git").mkdir()
    (directory / ".git" / "HEAD").write_text("ref")
    lines = "".join(
        f"{hashlib.sha256((directory / name).read_bytes()).hexdigest()}  {name}\n" for name in ("module.yml", "resources.yml")
    )
    expected = "h1:" + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode()
    assert _resolve(tmp_path, "../modules/ingest").content_hash == expected
    (directory / "resources.yml").write_text("datasets: [x]\n")
    assert _resolve(tmp_path, "../modules/ingest").content_hash != expected
    assert hash_tree(directory, tmp_path).hex == base64.b64decode(_resolve(tmp_path, "../modules/ingest").content_hash[3:]).hex()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("../../outside", "leaves the config root"),
        ("./../../x", "leaves the config root"),
        ("/etc", "absolute module paths are not allowed"),
        ("../modules/missing", "no module directory at 'modules/missing'"),
        ("../projects", "'projects' is not a module: it has no module.yml"),
        ("ftp://host/x", "unknown module source"),
        ("", "a module call needs a 'source'"),
    ],
)
def test_bad_local_sources_are_reported_at_the_call_site(tmp_path, source, expected):
    _module(tmp_path)
    (tmp_path / "projects").mkdir()
    assert expected in _error(tmp_path, source)


def test_a_version_on_a_local_module_is_refused(tmp_path):
    _module(tmp_path)
    with pytest.raises(ModuleSourceError) as info:
        resolve_module(tmp_path, "../modules/ingest", "~> 1.0", call_file="projects/a.yml", call_line=3,
                       call_path="modules[1].source")
    [diag] = info.value.diagnostics
    assert diag.path == "modules[1].version" and "not to a local path" in diag.message


def test_a_symbolic_link_leaving_the_root_is_refused(tmp_path):
    root = tmp_path / "config"
    outside = _module(tmp_path, "elsewhere/mod")
    (root / "modules").mkdir(parents=True)
    os.symlink(outside, root / "modules" / "linked")
    assert "outside the config root" in _error(root, "../modules/linked")
    inside = _module(root, "modules/real")
    os.symlink(tmp_path / "elsewhere" / "mod" / "resources.yml", inside / "extra.yml")
    assert "outside the config root" in _error(root, "../modules/real")


def test_a_file_rewritten_with_the_same_size_changes_the_hash(tmp_path):
    """hash_tree remembers its answers by each file's stat: a rewrite of the same length is seen."""
    directory = _module(tmp_path)
    before = _resolve(tmp_path, "../modules/ingest").content_hash
    assert _resolve(tmp_path, "../modules/ingest").content_hash == before
    (directory / "resources.yml").write_text("datasets: {}\n")  # as long as "datasets: []\n"
    assert _resolve(tmp_path, "../modules/ingest").content_hash != before
    (directory / "extra.yml").write_text("")
    assert hash_tree(directory, tmp_path).files == 3
