"""Fixture files: rows read from CSV, JSON, JSON Lines or Parquet files under the config root.

Files are read through `read_confined` (no path out of the root, no symlink escape, no FIFO),
with a larger size limit than configuration files: fixtures of 10^5 rows are a few MiB.
Parquet needs pyarrow or duckdb (whichever is installed); without either, a Parquet fixture is
refused at load time, naming what to install.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from pathlib import Path
from typing import Any

from ..config.files import ConfinedReadError, read_confined
from .model import Row

MAX_FIXTURE_BYTES = 256 * 1024 * 1024


class FixtureProblem(Exception):
    """Why a fixture file cannot be used: a message naming the file (and line, when known)."""


def read_rows(root: Path, rel: str) -> list[Row]:
    """The rows of the fixture file `rel` (relative to `root`), by its extension."""
    try:
        raw = read_confined(root, rel, MAX_FIXTURE_BYTES)
    except ConfinedReadError as exc:
        raise FixtureProblem(exc.problem.message) from None
    if rel.endswith(".parquet"):
        return _parquet_rows(root / rel, rel)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FixtureProblem(f"{rel} is not valid UTF-8") from None
    if rel.endswith(".csv"):
        return csv_rows(text, rel)
    if rel.endswith(".jsonl"):
        return _jsonl_rows(text, rel)
    return _json_rows(text, rel)


def csv_rows(text: str, rel: str) -> list[Row]:
    """A CSV with a header row (comma, double quotes). Values stay strings; an empty cell is
    None: DSS reads NULL and "" alike (see docs/testing.md, "Empty values")."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header:
        raise FixtureProblem(f"{rel}: the file is empty (a CSV fixture starts with a header row)")
    if len(set(header)) != len(header):
        twice = sorted({h for h in header if header.count(h) > 1})
        raise FixtureProblem(f"{rel}:1: the header names {', '.join(twice)} twice")
    rows = []
    for number, cells in enumerate(reader, start=2):
        if not cells:
            continue
        if len(cells) != len(header):
            raise FixtureProblem(f"{rel}:{number}: {len(cells)} cells, but the header has {len(header)} columns")
        rows.append({name: (cell if cell != "" else None) for name, cell in zip(header, cells)})
    return rows


def _json_rows(text: str, rel: str) -> list[Row]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", 0)
        raise FixtureProblem(f"{rel}:{line}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise FixtureProblem(f"{rel}: a JSON fixture is a list of objects, one per row")
    return data


def _jsonl_rows(text: str, rel: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise FixtureProblem(f"{rel}:{number}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
        if not isinstance(row, dict):
            raise FixtureProblem(f"{rel}:{number}: each line of a JSON Lines fixture is one object")
        rows.append(row)
    return rows


def parquet_reader() -> str:
    """Which library reads Parquet here: 'pyarrow', 'duckdb', or '' for none."""
    for name in ("pyarrow", "duckdb"):
        try:
            importlib.import_module(f"{name}.parquet" if name == "pyarrow" else name)
            return name
        except ImportError:
            continue
    return ""


def _parquet_rows(path: Path, rel: str) -> list[Row]:
    reader = parquet_reader()
    if not reader:
        raise FixtureProblem(f"{rel}: reading a Parquet fixture needs pyarrow or duckdb (pip install pyarrow)")
    try:
        # imported by name: both are optional, and neither ships type information
        if reader == "pyarrow":
            rows: list[Row] = importlib.import_module("pyarrow.parquet").read_table(str(path)).to_pylist()
            return rows
        connection = importlib.import_module("duckdb").connect()
        try:
            result = connection.execute("SELECT * FROM read_parquet(?)", [str(path)])
            names = [d[0] for d in result.description]
            return [dict(zip(names, values)) for values in result.fetchall()]
        finally:
            connection.close()
    except Exception as exc:  # a corrupt file: the library's own words
        raise FixtureProblem(f"{rel}: cannot read the Parquet file ({type(exc).__name__}: {exc})") from None


def to_csv(rows: list[Row], columns: list[str]) -> bytes:
    """Rows as a CSV with a header, for an upload (None -> empty cell; dates in ISO format)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def columns_of(rows: list[Row]) -> list[str]:
    """Every column the rows name, in order of first appearance."""
    seen: dict[str, None] = {}
    for row in rows:
        for name in row:
            seen.setdefault(str(name), None)
    return list(seen)
