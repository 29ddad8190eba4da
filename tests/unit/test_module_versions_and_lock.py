"""Version constraints as Terraform reads them, and iac.lock.yml's reading and writing."""

from __future__ import annotations

import pytest
from dataiku_iac.errors import ConfigError
from dataiku_iac.modules.lock import LockEntry, declarations_hash, key_of, load_lock
from dataiku_iac.modules.versions import Constraint, Version, VersionError

VERSIONS = ["0.9.0", "1.0.0", "1.0.5", "1.1.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "2.0.0-rc1", "2.0.0", "v2.1.0"]


@pytest.mark.parametrize(
    ("constraint", "newest"),
    [
        ("~> 1.2", "1.3.0"),  # only the rightmost written component may increase
        ("~> 1.2.0", "1.2.9"),
        ("~> 1.2.3", "1.2.9"),
        ("~> 1", "2.1.0"),  # go-version: one component, any newer version
        (">= 1.0, < 1.2", "1.1.0"),
        ("1.0.5", "1.0.5"),
        ("= 1.0.5", "1.0.5"),
        ("!= 2.1.0", "2.0.0"),
        ("> 2.0.0-rc1, < 2.1", "2.0.0"),
        ("<= 0.9", "0.9.0"),
        ("= 2.0.0-rc1", "2.0.0-rc1"),  # a pre-release only when named exactly
        (">= 2.0.0-rc1, < 2.0.0", None),
        ("> 3", None),
    ],
)
def test_constraints_pick_the_newest_allowed_version(constraint, newest):
    found = Constraint.parse(constraint).newest(Version.parse(v) for v in VERSIONS)
    assert (str(found) if found else None) == newest


def test_version_order_follows_semver():
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0"]
    assert sorted(Version.parse(v) for v in reversed(ordered)) == [Version.parse(v) for v in ordered]
    assert Version.parse("v1.2") == Version.parse("1.2.0") and Version.of_tag("release-1") is None


@pytest.mark.parametrize("text", ["", "~>", "about 1", "1.2.3.4", ">= 1, ~ 2"])
def test_bad_constraints_are_refused(text):
    with pytest.raises(VersionError):
        Constraint.parse(text)


def _entry(source: str, version=None, content="h1:AAAA") -> LockEntry:
    return LockEntry(source, version, "git", content, "a" * 40, "1.0.0", ("orders",))


def test_the_lock_round_trips_and_records_the_declarations(tmp_path):
    lock = load_lock(tmp_path)
    assert not lock.exists and lock.entries == {}
    lock.record(_entry("git+https://h/r.git", "~> 1.0"))
    lock.record(_entry("std/ingest_sql", content="h1:BBBB"))
    keys = [key_of("git+https://h/r.git", "~> 1.0"), key_of("std/ingest_sql", None)]
    lock.write(keys)
    again = load_lock(tmp_path)
    assert again.entries == lock.entries and again.exists
    assert again.declarations == declarations_hash(reversed(keys)) and again.check_declarations(keys) == []
    assert (tmp_path / "iac.lock.yml").read_text().startswith("# Written by dataiku-iac modules get")
    assert [p.name for p in tmp_path.iterdir()] == ["iac.lock.yml"]  # no temporary file left


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("version: 2\n", 1, "unsupported lock file"),
        ("version: 1\nmodules:\n  - {source: x, kind: git}\n", 3, "needs a 'source' and a 'content_hash'"),
        ("version: 1\nmodules:\n  - {source: x, kind: tar, content_hash: 'h1:A'}\n", 3, "'kind' must be one of"),
        ("version: 1\nmodules:\n  - {source: x, kind: std, content_hash: 'h1:A'}\n  - {source: x, kind: std, content_hash: 'h1:B'}\n",
         4, "a second entry for x"),
        ("version: 1\nmodules: [\n", 0, "YAML syntax error"),
        ("version: 1\nmodules: {}\n", 2, "'modules' must be a list"),
        ("version: 1\nmodules:\n  - {source: 'git+https://h/r.git', kind: git, content_hash: 'h1:A'}\n", 3,
         "a git entry needs its 'commit'"),
        ("version: 1\nmodules:\n  - {source: acme/m, kind: registry, commit: main, content_hash: 'h1:A'}\n", 3,
         "a registry entry needs its 'commit' (the full hexadecimal commit id)"),
    ],
)
def test_a_broken_lock_file_is_an_error_at_its_line(tmp_path, text, line, message):
    (tmp_path / "iac.lock.yml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_lock(tmp_path)
    [diag] = info.value.diagnostics
    assert diag.file == "iac.lock.yml" and message in diag.message
    if line:
        assert diag.line == line


def test_only_entries_no_call_uses_make_a_declarations_warning(tmp_path):
    lock = load_lock(tmp_path)
    lock.record(_entry("a"))
    lock.record(_entry("b"))
    lock.write([key_of("a", None), key_of("b", None)])
    lock = load_lock(tmp_path)
    assert lock.check_declarations([key_of("a", None), key_of("b", None)]) == []
    assert lock.check_declarations([key_of("a", None), key_of("b", None), key_of("c", None)]) == []  # c: an error elsewhere
    [warning] = lock.check_declarations([key_of("a", None)])
    assert "(b no longer called)" in warning.message and warning.severity == "warning"
    assert warning.line == 3  # the line of declarations_hash, after the header and version
