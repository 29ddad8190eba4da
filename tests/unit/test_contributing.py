"""CONTRIBUTING.md stays true: the make targets it names exist in the Makefile, the test
directories it describes exist (and every test directory is described), the files it links exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")


def test_every_make_target_it_names_is_in_the_makefile() -> None:
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M))
    named = set(re.findall(r"`make ([a-z][\w-]*)", TEXT))
    assert named and named <= targets, sorted(named - targets)


def test_it_describes_every_test_directory() -> None:
    described = set(re.findall(r"`tests/(\w+)/`", TEXT))
    present = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    present -= {"golden", "fixtures"}  # data, named where they are used
    assert present <= described | {"support", "stand_in"}, sorted(present - described)
    assert described <= present | {"golden"}, sorted(described - present)


def test_the_files_it_links_exist() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT)
    assert links and [link for link in links if not (ROOT / link).exists()] == []
