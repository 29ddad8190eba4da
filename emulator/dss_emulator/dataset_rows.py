"""Where a dataset's rows come from and go to, as SQL over DuckDB (rows.py holds the storage).

* UploadedFiles datasets: the uploaded files, parsed on every read with the dataset's format
  (``formatType`` csv, parquet or json, ``formatParams``) and cast to its schema, as DSS reads them.
* Every other dataset (managed or not, file or SQL): the rows DSS last wrote into it (a build, a
  ``copy_to``), kept in a DuckDB table; a dataset never written reads as empty.

``read_sql`` gives a SELECT whose columns are the dataset's schema columns (by name, DuckDB storage
types); ``write`` stores a SELECT's rows into a dataset, cast to its schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

from . import defaults, errors
from .rows import RowStore, cast_expr, dss_type, ident, literal, text_expr, tsv
from .store import Store

FILE_SOURCED = {"UploadedFiles"}
DATA_ERROR = "com.dataiku.dip.exceptions.DataStoreIOException"


def data_error(message: str) -> errors.DSSError:
    return errors.DSSError(500, DATA_ERROR, message)


def schema_columns(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [
        c for c in (doc.get("schema") or {}).get("columns") or [] if isinstance(c, dict) and c.get("name")
    ]


def full_name(pk: str, doc: Dict[str, Any]) -> str:
    return "{}.{}".format(pk, doc["name"])


def require_schema(pk: str, doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    columns = schema_columns(doc)
    if not columns:
        raise data_error(
            f"Dataset {full_name(pk, doc)} has an empty schema: set its schema before reading or writing data"
        )
    return columns


def read_sql(store: Store, pk: str, doc: Dict[str, Any]) -> str:
    """A SELECT of the dataset's rows, one column per schema column."""
    columns = require_schema(pk, doc)
    if doc.get("type") in FILE_SOURCED:
        area = store.upload_files(pk, doc["name"])
        paths = [str(area.root / p) for p, _s, _m in area.list_files()]
        return files_sql(store.rows, pk, doc, paths, columns)
    return store.rows.read_sql(pk, doc["name"], columns)


def write(store: Store, pk: str, doc: Dict[str, Any], select_sql: str, append: bool = False) -> int:
    """Store the rows ``select_sql`` returns as the dataset's data (its schema decides the columns)."""
    if doc.get("type") in FILE_SOURCED:
        raise data_error(
            f"Dataset {full_name(pk, doc)} of type {doc.get('type')} cannot be written: it only reads its files"
        )
    return store.rows.write(pk, doc["name"], select_sql, require_schema(pk, doc), append=append)


def clear(store: Store, pk: str, doc: Dict[str, Any]) -> None:
    if doc.get("type") in FILE_SOURCED:
        store.upload_files(pk, doc["name"]).destroy()
    else:
        store.rows.clear(pk, doc["name"])


def tsv_stream(store: Store, pk: str, doc: Dict[str, Any], wanted: Optional[List[str]] = None) -> bytes:
    """DSS's ``tsv-excel-noheader`` stream of the dataset, columns in schema order or ``wanted``'s."""
    columns = require_schema(pk, doc)
    by_name = {c["name"]: c for c in columns}
    if wanted:
        missing = [w for w in wanted if w not in by_name]
        if missing:
            raise errors.bad_request(
                "Column(s) not in the schema of {}: {}".format(full_name(pk, doc), ", ".join(missing))
            )
        columns = [by_name[w] for w in wanted]
    exprs = ", ".join(text_expr(c["name"], c.get("type")) for c in columns)
    return tsv(store.rows.query(f"SELECT {exprs} FROM ({read_sql(store, pk, doc)}) AS src"))


def row_count(store: Store, pk: str, doc: Dict[str, Any]) -> int:
    return int(store.rows.query(f"SELECT count(*) FROM ({read_sql(store, pk, doc)}) AS src")[0][0])


# ---------------------------------------------------------------- files (UploadedFiles)


def _csv_options(params: Dict[str, Any]) -> Dict[str, str]:
    """DuckDB read_csv options for DSS's csv formatParams."""
    style = params.get("style") or "excel"
    quote = params.get("quoteChar", '"')
    escape = params.get("escapeChar", '"' if style == "excel" else "\\")
    if style == "escape_only_no_quote":
        quote = ""
    if style == "excel":
        escape = quote
    compress = str(params.get("compress") or "")
    return {
        "delim": literal(params.get("separator") or ","),
        "quote": literal(quote or ""),
        "escape": literal(escape or ""),
        "header": "true" if params.get("parseHeaderRow", True) else "false",
        "skip": str(int(params.get("skipRowsBeforeHeader") or 0)),
        "compression": literal("gzip" if compress in ("gz", "gzip") else "auto"),
    }


def _reader(format_type: str, params: Dict[str, Any], paths: List[str]) -> str:
    files = "[" + ", ".join(literal(p) for p in paths) + "]"
    if format_type == "csv":
        opts = _csv_options(params)
        args = ", ".join(f"{k} = {v}" for k, v in opts.items())
        # OFFSET 0 keeps DuckDB (2.0) from pushing the TRY_CAST of cast_expr into the CSV scan, where
        # it becomes a strict conversion: a cell like "warm" in a double column raised a
        # ConversionException (an "internal error") instead of reading as nothing, as DSS reads it.
        return f"(SELECT * FROM read_csv({files}, {args}, all_varchar = true, null_padding = true, auto_detect = true) OFFSET 0)"
    if format_type == "parquet":
        return f"read_parquet({files})"
    if format_type == "json":
        return f"read_json_auto({files})"
    raise data_error(f"The emulator cannot read the format '{format_type}' (csv, parquet, json only)")


def files_sql(
    rows: RowStore, pk: str, doc: Dict[str, Any], paths: List[str], columns: List[Dict[str, Any]]
) -> str:
    """The rows of data files: CSV columns are taken by position, as DSS maps a CSV file onto its
    schema; parquet and JSON columns by name."""
    empty = ", ".join(f"{cast_expr('NULL', c.get('type'))} AS {ident(c['name'])}" for c in columns)
    if not paths:
        return f"SELECT {empty} WHERE false"
    format_type = doc.get("formatType")
    if not format_type:
        raise data_error(f"Dataset {full_name(pk, doc)} has no format: detect or set its format first")
    params = doc.get("formatParams") or {}
    source = _reader(format_type, params, paths)
    skip_after = int(params.get("skipRowsAfterHeader") or 0) if format_type == "csv" else 0
    present = [name for name, _t in rows.describe(f"SELECT * FROM {source}")]
    if format_type == "csv":
        exprs = [
            (
                cast_expr(ident(present[i]), c.get("type"))
                if i < len(present)
                else cast_expr("NULL", c.get("type"))
            )
            + f" AS {ident(c['name'])}"
            for i, c in enumerate(columns)
        ]
    else:
        present_set = set(present)
        exprs = [
            (
                cast_expr(ident(c["name"]), c.get("type"))
                if c["name"] in present_set
                else cast_expr("NULL", c.get("type"))
            )
            + f" AS {ident(c['name'])}"
            for c in columns
        ]
    offset = f" OFFSET {skip_after}" if skip_after else ""
    return "SELECT {} FROM {}{}".format(", ".join(exprs), source, offset)


def detect(store: Store, pk: str, doc: Dict[str, Any], infer_types: bool) -> Dict[str, Any]:
    """What DSS's format detection (``testAndDetectSettings/fsLike``) answers for the files."""
    area = store.upload_files(pk, doc["name"])
    files = area.list_files()
    if not files:
        return {"connectionOK": True, "format": {"ok": False, "type": None}, "detectedFormats": []}
    first = str(Path(area.root) / files[0][0])
    found = store.rows.query(f"SELECT Delimiter, Quote, HasHeader, Columns FROM sniff_csv({literal(first)})")[
        0
    ]
    delimiter, quote, has_header, sniffed = found
    params = defaults.format_for_option("CSV_EXCEL_GZIP", "UploadedFiles") or {"formatParams": {}}
    fmt = dict(params["formatParams"])
    fmt.update(
        separator=delimiter,
        quoteChar=quote if quote and quote != "(empty)" else '"',
        parseHeaderRow=bool(has_header),
        compress="gz" if first.endswith(".gz") else "",
    )
    columns = [
        {"name": col["name"], "type": dss_type(col["type"]) if infer_types else "string"} for col in sniffed
    ]
    detected = {
        "ok": True,
        "type": "csv",
        "params": fmt,
        "schemaDetection": {"newSchema": {"columns": columns, "userModified": False}},
    }
    return {"connectionOK": True, "format": detected, "detectedFormats": [detected]}


def write_tsv(store: Store, pk: str, doc: Dict[str, Any], names: List[str], text: str) -> int:
    """Store rows sent as a tsv-excel-noheader text whose columns are ``names``."""
    import os
    import tempfile

    if not text.strip():
        empty = ", ".join(f"CAST(NULL AS VARCHAR) AS {ident(n)}" for n in names) or "NULL AS __empty"
        return write(store, pk, doc, f"SELECT {empty} WHERE false")
    fd, path = tempfile.mkstemp(prefix="dss-emulator-rows-", suffix=".tsv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        columns = "{" + ", ".join(f"{literal('c' + str(i))}: 'VARCHAR'" for i in range(len(names))) + "}"
        reader = (
            f"read_csv({literal(path)}, delim = '\\t', quote = '\"', escape = '\"', header = false, "
            f"columns = {columns}, null_padding = true, auto_detect = false)"
        )
        # an empty field is a null, as DSS reads an empty CSV cell
        exprs = ", ".join(f"NULLIF(c{i}, '') AS {ident(n)}" for i, n in enumerate(names))
        return write(store, pk, doc, f"SELECT {exprs} FROM {reader}")
    finally:
        os.unlink(path)
