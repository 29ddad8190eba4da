"""The cache of parsed project files (config/cache.py): a second load of unchanged files skips
the YAML parser and the schema check, and gives exactly what a load without the cache gives."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cfg_helpers import DEMO
from dataiku_iac.builder import check_config
from dataiku_iac.config import load_config, loader
from dataiku_iac.config.cache import CACHE_ENV, ConfigCache, LazyMarks
from dataiku_iac.errors import ConfigError

WITH_VARIABLE = """\
project:
  key: VARS
  name: Vars
  description: "owned by ${TEAM}, see ${NOT_AN_ENV_VARIABLE}"

datasets:
  - name: raw
    type: managed
    format: parquet
    description: plain text
"""

INVALID = """\
project:
  key: BAD
  name: Bad

datasets:
  - name: raw
    type: managed
    format: parquet
    colour: blue
"""


@pytest.fixture
def cache(tmp_path: Path) -> ConfigCache:
    made = ConfigCache.from_environment({CACHE_ENV: str(tmp_path / "cache")})
    assert made is not None
    return made


@pytest.fixture
def counted_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = loader.parse_yaml

    def parse(text: str, file: str):  # type: ignore[no-untyped-def]
        parsed.append(file)
        return real(text, file)

    monkeypatch.setattr(loader, "parse_yaml", parse)
    return parsed


@pytest.fixture
def counted_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    kinds: list[str] = []
    real = loader.check

    def check(data, kind):  # type: ignore[no-untyped-def]
        kinds.append(kind)
        return real(data, kind)

    monkeypatch.setattr(loader, "check", check)
    return kinds


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    assert [(p.file, p.data, p.files) for p in a.projects] == [(p.file, p.data, p.files) for p in b.projects]
    assert a.digest == b.digest
    assert a.warnings == b.warnings
    assert a.errors == b.errors


def test_a_second_load_of_unchanged_files_parses_and_checks_nothing(tree, cache, counted_parses, counted_checks):
    tree.write({"projects/demo.yml": DEMO, "projects/other.yml": DEMO.replace("DEMO_PROJECT", "OTHER")})
    first = load_config(tree.root, "dev", cache=cache)
    assert counted_parses.count("projects/demo.yml") == 1 and counted_checks.count("project") == 2
    assert cache.writes == 2 and cache.hits == 0

    counted_parses.clear()
    counted_checks.clear()
    second = load_config(tree.root, "dev", cache=cache)
    assert cache.hits == 2
    assert [f for f in counted_parses if f.startswith("projects/")] == []
    assert "project" not in counted_checks
    _same(first, second)
    _same(second, load_config(tree.root, "dev"))


def test_the_model_and_its_source_lines_do_not_need_the_marks_of_every_node(tree, cache):
    tree.write({"projects/demo.yml": DEMO})
    _, uncached = check_config(tree.root, "dev", {}, cache=cache)
    cfg, desired = check_config(tree.root, "dev", {}, cache=cache)
    assert cache.hits == 1
    marks = cfg.projects[0].marks
    assert isinstance(marks, LazyMarks) and not marks.loaded  # the file was not parsed again
    assert desired.resources == uncached.resources  # source lines included
    assert desired.resources["dataset.DEMO_PROJECT.TEST_DATA"].source.line == 6
    assert cfg.projects[0].locate(("datasets", 0, "format")) == (8, 5)  # a deeper node: parsed now
    assert marks.loaded


def test_a_changed_file_is_parsed_again(tree, cache, counted_parses):
    tree.write({"projects/demo.yml": DEMO})
    load_config(tree.root, "dev", cache=cache)
    tree.write({"projects/demo.yml": DEMO.replace("parquet", "csv")})
    counted_parses.clear()
    cfg = load_config(tree.root, "dev", cache=cache)
    assert "projects/demo.yml" in counted_parses and cache.hits == 0
    assert cfg.projects[0].data["datasets"][0]["format"] == "csv"


def test_diagnostics_of_a_cached_file_are_located_as_without_the_cache(tree, cache):
    tree.write({"projects/bad.yml": INVALID})
    errors = []
    for use in (cache, cache, None):
        with pytest.raises(ConfigError) as info:
            load_config(tree.root, "dev", cache=use)
        errors.append([d.render() for d in info.value.diagnostics])
    assert cache.hits == 0 and cache.writes == 0  # a refused file is not kept (it may hold an inline secret)
    assert errors[0] == errors[1] == errors[2]
    assert any("projects/bad.yml:9:5" in e and "colour" in e for e in errors[0])


def test_variables_are_substituted_on_a_cache_hit_and_the_schema_checked(tree, cache, counted_checks):
    tree.write({"projects/vars.yml": WITH_VARIABLE}, env="variables:\n  TEAM: data\n")
    first = load_config(tree.root, "dev", cache=cache)
    counted_checks.clear()
    second = load_config(tree.root, "dev", cache=cache)
    assert cache.hits == 1
    assert second.projects[0].data["project"]["description"] == "owned by data, see ${NOT_AN_ENV_VARIABLE}"
    assert "project" in counted_checks  # the substituted document is not the file as cached
    _same(first, second)
    assert [w.line for w in second.warnings] == [4]  # the reference left for DSS, at its line

    tree.write({"environments/dev.yml": "variables:\n  TEAM: ops\n"})
    assert load_config(tree.root, "dev", cache=cache).projects[0].data["project"]["description"].startswith("owned by ops")


def test_an_overridden_document_is_checked_again_on_a_cache_hit(tree, cache, counted_checks):
    overrides = 'overrides:\n  "dataset.DEMO_PROJECT.TEST_DATA":\n    format: 12\n'
    tree.write({"projects/demo.yml": DEMO})
    load_config(tree.root, "dev", cache=cache)
    tree.write({"environments/dev.yml": overrides})
    found = []
    for use in (cache, None):
        with pytest.raises(ConfigError) as info:
            load_config(tree.root, "dev", cache=use)
        found.append([d.render() for d in info.value.diagnostics])
    assert cache.hits == 1
    assert found[0] == found[1] and found[0]
    assert all(d.startswith("environments/dev.yml:3:") for d in found[0])  # at the override, as without the cache


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_a_damaged_entry_is_a_miss(tree, cache, damage, counted_parses):
    tree.write({"projects/demo.yml": DEMO})
    first = load_config(tree.root, "dev", cache=cache)
    (entry,) = [p for p in cache.directory.iterdir() if p.suffix == ".json"]
    content = entry.read_bytes()
    entry.write_bytes({"truncate": content[:-20], "flip": content.replace(b"TEST_DATA", b"EVIL_DATA"),
                       "garbage": b"\x00\xff not json", "empty": b""}[damage])
    counted_parses.clear()
    second = load_config(tree.root, "dev", cache=cache)
    assert cache.hits == 0 and "projects/demo.yml" in counted_parses
    _same(first, second)


def test_another_version_of_the_tool_does_not_read_the_entries(tree, cache, monkeypatch):
    tree.write({"projects/demo.yml": DEMO})
    load_config(tree.root, "dev", cache=cache)
    monkeypatch.setattr("dataiku_iac.config.cache.__version__", "99.0")
    other = ConfigCache(cache.directory)
    load_config(tree.root, "dev", cache=other)
    assert other.hits == 0 and other.writes == 1


def test_the_cache_directory_must_be_private(tmp_path):
    assert ConfigCache.from_environment({CACHE_ENV: "0"}) is None
    assert ConfigCache.from_environment({CACHE_ENV: "off"}) is None
    made = ConfigCache.from_environment({CACHE_ENV: str(tmp_path / "a" / "b")})
    assert made is not None and stat.S_IMODE(os.stat(made.directory).st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    assert ConfigCache.from_environment({CACHE_ENV: str(shared)}) is None
    link = tmp_path / "link"
    link.symlink_to(made.directory)
    assert ConfigCache.from_environment({CACHE_ENV: str(link)}) is None
    default = ConfigCache.from_environment({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert default is not None and default.directory == tmp_path / "xdg" / "dataiku-iac" / "config"


def test_entries_beyond_the_size_limit_are_pruned_least_recently_used_first(tree, cache):
    tree.write({"projects/demo.yml": DEMO})
    load_config(tree.root, "dev", cache=cache)
    (kept,) = list(cache.directory.iterdir())
    old = cache.directory / ("0" * 64 + ".json")
    old.write_bytes(b"x" * 1000)
    os.utime(old, (1, 1))
    cache.prune(max_total_bytes=kept.stat().st_size)
    assert list(cache.directory.iterdir()) == [kept]


def test_the_cli_keeps_the_cache_where_the_environment_says(tree, tmp_path, monkeypatch):
    from click.testing import CliRunner
    from dataiku_iac.cli.main import cli

    tree.write({"projects/demo.yml": DEMO})
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cli-cache"))
    for _ in range(2):
        result = CliRunner().invoke(cli, ["--dir", str(tree.root), "validate", "-e", "dev", "--offline"])
        assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "cli-cache").glob("*.json"))) == 1
    assert not (tree.root / ".dataiku-iac").exists()  # nothing written in the configuration


def test_registering_a_resource_type_changes_the_key(cache):
    from dataiku_iac.resources.registry import registered

    from tests.support import throwaway_type

    before = cache.key(b"project: {key: A}\n")
    with registered(throwaway_type.SPEC):
        assert cache.key(b"project: {key: A}\n") != before  # the project schema gained a section
    assert cache.key(b"project: {key: A}\n") == before
