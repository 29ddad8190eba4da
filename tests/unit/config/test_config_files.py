"""Reading files confined to the config root."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from dataiku_iac.config.files import (
    MAX_FILE_BYTES,
    ConfinedReadError,
    check_relative_path,
    list_yaml_files,
    read_confined,
    read_text,
    replace_text,
)


@pytest.mark.parametrize(
    ("rel", "fragment"),
    [
        ("/etc/passwd", "absolute"),
        ("C:/x.py", "absolute"),
        ("\\\\server\\share", "absolute"),
        ("a\\b.py", "'/'"),
        ("../x.py", "'..'"),
        ("recipes/../../x.py", "'..'"),
        ("", "empty"),
        ("  ", "empty"),
    ],
)
def test_bad_relative_paths(rel, fragment):
    problem = check_relative_path(rel)
    assert problem is not None and fragment in problem.message


@pytest.mark.parametrize("rel", ["recipes/x.py", "x.sql", "a/b/c.py", "./x.py", "dir.with.dots/x"])
def test_good_relative_paths(rel):
    assert check_relative_path(rel) is None


def problem(root: Path, rel: str) -> str:
    with pytest.raises(ConfinedReadError) as info:
        read_confined(root, rel)
    return info.value.problem.message


def test_reads_a_regular_file(tmp_path):
    (tmp_path / "a.py").write_text("print(1)\n")
    assert read_confined(tmp_path, "a.py") == b"print(1)\n"


def test_symlink_inside_the_root_is_followed(tmp_path):
    (tmp_path / "real.py").write_text("x")
    (tmp_path / "sub").mkdir()
    os.symlink("../real.py", tmp_path / "sub" / "link.py")
    assert read_confined(tmp_path, "sub/link.py") == b"x"


def test_symlink_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", root / "link.py")
    assert "outside the config root" in problem(root, "link.py")


def test_symlinked_directory_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.py").write_text("x")
    os.symlink(tmp_path / "elsewhere", root / "recipes")
    assert "outside the config root" in problem(root, "recipes/x.py")


def test_root_given_through_a_symlink_still_works(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "x.py").write_text("x")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert read_confined(tmp_path / "alias", "x.py") == b"x"


def test_symlink_loop_is_an_error_not_a_hang(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    message = problem(tmp_path, "a")
    assert "cannot open" in message or "outside" in message or "not found" in message


def test_fifo_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    assert "not a regular file" in problem(tmp_path, "pipe.py")


def test_directory_is_refused(tmp_path):
    (tmp_path / "d").mkdir()
    assert "is a directory" in problem(tmp_path, "d")


def test_missing_file(tmp_path):
    assert "file not found" in problem(tmp_path, "nope.py")


def test_size_limit(tmp_path):
    (tmp_path / "ok.py").write_bytes(b"x" * MAX_FILE_BYTES)
    (tmp_path / "big.py").write_bytes(b"x" * (MAX_FILE_BYTES + 1))
    assert len(read_confined(tmp_path, "ok.py")) == MAX_FILE_BYTES
    assert "larger than 1024 KiB" in problem(tmp_path, "big.py")


def test_list_yaml_files_skips_hidden_files_and_directories(tmp_path):
    folder = tmp_path / "projects"
    folder.mkdir()
    for name in ["b.yml", "a.yaml", ".#a.yml", "notes.txt", "c.yml.bak"]:
        (folder / name).write_text("")
    (folder / "sub.yml").mkdir()
    assert list_yaml_files(tmp_path, "projects") == ["projects/a.yaml", "projects/b.yml"]
    assert list_yaml_files(tmp_path, "missing") == []


def test_replace_text_writes_the_whole_file_keeping_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "projects" / "sales.yml"
    target.parent.mkdir()
    target.write_text("old\n")
    target.chmod(0o640)
    replace_text(target, "new: é\n")
    assert target.read_text(encoding="utf-8") == "new: é\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["sales.yml"]  # no temporary file left


def test_replace_text_that_fails_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "sales.yml"
    target.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        replace_text(target, "half written\n" + "\ud800")  # write_text would leave the file empty
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["sales.yml"]


def test_replace_text_through_a_link_writes_the_linked_file(tmp_path: Path) -> None:
    (tmp_path / "real.yml").write_text("old\n")
    (tmp_path / "link.yml").symlink_to("real.yml")
    replace_text(tmp_path / "link.yml", "new\n")
    assert (tmp_path / "link.yml").is_symlink() and (tmp_path / "real.yml").read_text() == "new\n"


def test_read_text_gives_the_text_or_the_problems_named_after_the_file_shown(tmp_path: Path) -> None:
    (tmp_path / "ok.yml").write_text("a: é\n", encoding="utf-8")
    (tmp_path / "latin1.yml").write_bytes(b"a: 1\nb: \xe9\n")
    assert read_text(tmp_path, "ok.yml") == ("a: é\n", [])
    text, [problem] = read_text(tmp_path, "latin1.yml", "modules/m/latin1.yml")
    assert text is None and (problem.file, problem.line) == ("modules/m/latin1.yml", 2) and "UTF-8" in problem.message
    text, [missing] = read_text(tmp_path, "../outside.yml")
    assert text is None and missing.file == "../outside.yml" and "'..' is not allowed" in missing.message
