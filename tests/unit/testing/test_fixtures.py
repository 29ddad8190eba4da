"""Fixture files: CSV, JSON, JSON Lines (and Parquet when a reader is installed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataiku_iac.testing.fixtures import FixtureProblem, read_rows, to_csv


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_each_format_reads_rows(tmp_path: Path) -> None:
    _write(tmp_path, "a.csv", 'id,name\n1,"x, y"\n2,\n')
    _write(tmp_path, "a.json", '[{"id": 1, "name": "x"}]')
    _write(tmp_path, "a.jsonl", '{"id": 1}\n\n{"id": 2}\n')
    assert read_rows(tmp_path, "a.csv") == [{"id": "1", "name": "x, y"}, {"id": "2", "name": None}]
    assert read_rows(tmp_path, "a.json") == [{"id": 1, "name": "x"}]
    assert read_rows(tmp_path, "a.jsonl") == [{"id": 1}, {"id": 2}]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("e.csv", "", "e.csv: the file is empty (a CSV fixture starts with a header row)"),
    ("d.csv", "a,a\n1,2\n", "d.csv:1: the header names a twice"),
    ("o.json", '{"id": 1}', "o.json: a JSON fixture is a list of objects, one per row"),
    ("l.jsonl", '{"id": 1}\n[1]\n', "l.jsonl:2: each line of a JSON Lines fixture is one object"),
])
def test_a_bad_file_says_where(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(FixtureProblem, match="^" + message.replace("(", r"\(").replace(")", r"\)") + "$"):
        read_rows(_write(tmp_path, name, text), name)


def test_rows_become_a_csv_for_an_upload() -> None:
    assert to_csv([{"id": 1, "ok": True, "note": None}, {"id": 2, "note": "a,b"}], ["id", "ok", "note"]) == \
        b'id,ok,note\n1,true,\n2,,"a,b"\n'
