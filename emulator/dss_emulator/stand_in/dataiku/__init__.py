"""The `dataiku` package as the emulator's Python recipes see it: datasets read and written over
HTTP (standard library only).

Read: ``Dataset(name).iter_rows()`` / ``iter_tuples()`` / ``read_schema()`` /
``get_dataframe()`` (pandas, when installed), through DSS's public API (the TSV stream of
``GET .../data/``, values typed by the schema as dataikuapi types them).
Write: ``write_schema(columns)``, ``get_writer()`` (``write_tuple``, ``write_row_array``,
``write_row_dict``, ``write_dataframe``, ``close``; a context manager), ``write_with_schema(df)``,
``write_from_dataframe(df)``. Rows are sent when the writer closes, to the emulator's own
``POST .../datasets/{name}/emulator-rows`` (DSS's package writes through an internal API the
emulator does not emulate).

Location: ``DKU_DSS_URL``, ``DKU_API_KEY`` (an internal ticket), ``DKU_CURRENT_PROJECT_KEY``.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import urllib.parse
import urllib.request
from datetime import datetime
from typing import Any, Dict, Iterator, List, Optional, Sequence

__all__ = ["Dataset", "default_project_key"]


def default_project_key() -> str:
    key = os.environ.get("DKU_CURRENT_PROJECT_KEY")
    if not key:
        raise Exception("No current project key (DKU_CURRENT_PROJECT_KEY is not set)")
    return key


def _request(
    method: str, path: str, body: Optional[bytes] = None, query: Optional[Dict[str, Any]] = None
) -> bytes:
    url = os.environ["DKU_DSS_URL"].rstrip("/") + "/dip/publicapi" + path
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    token = base64.b64encode((os.environ["DKU_API_KEY"] + ":").encode()).decode()
    req = urllib.request.Request(url, data=body, method=method, headers={"Authorization": "Basic " + token})
    try:
        with urllib.request.urlopen(req) as resp:
            return bytes(resp.read())
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        try:
            env = json.loads(detail)
            detail = "{}: {}".format(env.get("errorType"), env.get("detailedMessage") or env.get("message"))
        except ValueError:
            pass
        raise Exception(detail) from None


def _caster(kind: Any) -> Any:
    def parse_int(s: str) -> Optional[int]:
        return int(s) if s != "" else None

    def parse_float(s: str) -> Optional[float]:
        return float(s) if s != "" else None

    def parse_date(s: str) -> Optional[datetime]:
        return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None

    return {
        "tinyint": parse_int,
        "smallint": parse_int,
        "int": parse_int,
        "bigint": parse_int,
        "float": parse_float,
        "double": parse_float,
        "boolean": lambda s: None if s == "" else s.lower() == "true",
        "date": parse_date,
        "dateonly": parse_date,
        "datetimenotz": parse_date,
    }.get(str(kind), lambda s: s)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN: pandas' empty cell
        return ""
    return str(value)


class Dataset:
    def __init__(self, name: str, project_key: Optional[str] = None, ignore_flow: bool = False) -> None:
        if "." in name and project_key is None:
            project_key, name = name.split(".", 1)
        self.project_key = project_key or default_project_key()
        self.name = name
        self._schema: Optional[List[Dict[str, Any]]] = None

    @property
    def _path(self) -> str:
        return f"/projects/{self.project_key}/datasets/{self.name}"

    # ------------------------------------------------------------ read

    def read_schema(self, raise_if_empty: bool = True) -> List[Dict[str, Any]]:
        columns = json.loads(_request("GET", self._path + "/schema")).get("columns") or []
        if not columns and raise_if_empty:
            raise Exception(f"No schema for dataset {self.project_key}.{self.name}")
        return columns

    def iter_tuples(self, columns: Optional[Sequence[str]] = None) -> Iterator[tuple]:
        schema = self.read_schema()
        if columns:
            by_name = {c["name"]: c for c in schema}
            schema = [by_name[c] for c in columns]
        casters = [_caster(c.get("type")) for c in schema]
        query: Dict[str, Any] = {"format": "tsv-excel-noheader"}
        if columns:
            query["columns"] = list(columns)
        text = _request("GET", self._path + "/data/", query=query).decode("utf-8")
        for raw in csv.reader(io.StringIO(text), delimiter="\t", quotechar='"', doublequote=True):
            yield tuple(cast(v) for cast, v in zip(casters, raw))

    def iter_rows(self, columns: Optional[Sequence[str]] = None) -> Iterator[Dict[str, Any]]:
        names = list(columns) if columns else [c["name"] for c in self.read_schema()]
        for values in self.iter_tuples(columns):
            yield dict(zip(names, values))

    def get_dataframe(self, columns: Optional[Sequence[str]] = None) -> Any:
        import pandas  # type: ignore[import-untyped]  # the code env must have it, as in DSS

        names = list(columns) if columns else [c["name"] for c in self.read_schema()]
        return pandas.DataFrame(list(self.iter_tuples(columns)), columns=names)

    # ------------------------------------------------------------ write

    def write_schema(self, columns: List[Dict[str, Any]], dropAndCreate: bool = False) -> None:
        self._schema = [{"name": c["name"], "type": c.get("type", "string")} for c in columns]
        _request("PUT", self._path + "/schema", json.dumps({"columns": self._schema}).encode())

    def write_schema_from_dataframe(self, df: Any) -> None:
        self.write_schema([{"name": str(n), "type": _pandas_type(t)} for n, t in zip(df.columns, df.dtypes)])

    def get_writer(self) -> DatasetWriter:
        return DatasetWriter(self)

    def write_with_schema(self, df: Any) -> None:
        self.write_schema_from_dataframe(df)
        self.write_from_dataframe(df)

    def write_from_dataframe(self, df: Any) -> None:
        with self.get_writer() as writer:
            writer.write_dataframe(df)


def _pandas_type(dtype: Any) -> str:
    text = str(dtype)
    if text.startswith("int"):
        return "bigint"
    if text.startswith("float"):
        return "double"
    if text == "bool":
        return "boolean"
    if text.startswith("datetime"):
        return "date"
    return "string"


class DatasetWriter:
    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.columns = [c["name"] for c in dataset._schema or dataset.read_schema()]
        self.rows: List[List[str]] = []
        self.closed = False

    def write_tuple(self, row: Sequence[Any]) -> None:
        self.rows.append([_text(v) for v in row])

    write_row_array = write_tuple

    def write_row_dict(self, row: Dict[str, Any]) -> None:
        self.rows.append([_text(row.get(c)) for c in self.columns])

    def write_dataframe(self, df: Any) -> None:
        for values in df.itertuples(index=False, name=None):
            self.write_tuple(values)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        out = io.StringIO()
        csv.writer(out, delimiter="\t", quotechar='"', doublequote=True, lineterminator="\n").writerows(
            self.rows
        )
        body = json.dumps({"columns": self.columns, "tsv": out.getvalue()}).encode("utf-8")
        _request("POST", self.dataset._path + "/emulator-rows", body)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
