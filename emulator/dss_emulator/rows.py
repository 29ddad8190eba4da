"""The rows datasets hold, in DuckDB (a file in the data dir, else in memory).

A dataset that DSS writes (managed datasets, recipe outputs, copy targets) keeps its rows in one
DuckDB table, named from a hash of (project key, dataset name) so DSS's case-sensitive names never
collide in DuckDB's case-insensitive catalog. ``__emu_rows`` maps each table to its dataset and
counts its writes (the data version recursive builds compare).

Columns are stored with the DuckDB type of their DSS type (``DUCK_TYPES``), and read back cast to
the dataset's *current* schema by name: a schema column the stored table lacks reads as empty.

DuckDB is opened lazily, on the first data call, so an emulator that never touches rows does not
pay for it. One lock serialises every statement (a DuckDB connection is not thread-safe).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

# DSS column type -> DuckDB storage type. DSS's `date` is an instant (stored with its time zone,
# served in UTC); `dateonly` a calendar date; `datetimenotz` a local date-time. Complex types
# (array, map, object) and geo types are kept as their JSON / WKT text.
DUCK_TYPES: Dict[str, str] = {
    "string": "VARCHAR",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "TIMESTAMPTZ",
    "dateonly": "DATE",
    "datetimenotz": "TIMESTAMP",
}

# DuckDB result type -> the DSS type a computed column gets (SQL recipes, visual recipes).
DSS_TYPES: Dict[str, str] = {
    "VARCHAR": "string",
    "TINYINT": "tinyint",
    "SMALLINT": "smallint",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "int",
    "UINTEGER": "bigint",
    "UBIGINT": "bigint",
    "FLOAT": "float",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "date",
    "TIMESTAMPTZ": "date",
    "DATE": "dateonly",
    "TIMESTAMP": "datetimenotz",
}


def duck_type(dss_type: Any) -> str:
    return DUCK_TYPES.get(str(dss_type or "string"), "VARCHAR")


def dss_type(duck: str) -> str:
    duck = duck.upper()
    if duck.startswith("DECIMAL"):
        return "double"
    if duck.startswith("TIMESTAMP") and "TIME ZONE" not in duck and duck != "TIMESTAMPTZ":
        return "datetimenotz"
    return DSS_TYPES.get(duck, "string")


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def cast_expr(source: str, dss: Any) -> str:
    """``source`` (an SQL expression) cast to the storage type of DSS type ``dss``; a value that
    does not parse becomes NULL, as DSS drops a value that does not fit its column's type."""
    target = duck_type(dss)
    if target == "BOOLEAN":
        # DSS writes and reads booleans as true/false; DuckDB's cast also takes 1/0, t/f, yes/no.
        return f"TRY_CAST({source} AS BOOLEAN)"
    return f"TRY_CAST({source} AS {target})"


def text_expr(column: str, dss: Any) -> str:
    """The text DSS serves for a value of DSS type ``dss`` in its TSV/CSV streams."""
    col = ident(column)
    kind = str(dss or "string")
    if kind == "date":
        return f"strftime(timezone('UTC', {col}), '%Y-%m-%dT%H:%M:%S.%gZ')"
    if kind == "datetimenotz":
        return f"strftime({col}, '%Y-%m-%dT%H:%M:%S.%g')"
    if kind == "boolean":
        return f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} THEN 'true' ELSE 'false' END"
    return f"CAST({col} AS VARCHAR)"


def tsv(rows: Iterable[Sequence[Optional[str]]]) -> bytes:
    """DSS's ``tsv-excel-noheader`` stream: tab-separated, excel quoting (a field holding a tab,
    a quote or a line break is quoted, quotes doubled), one record a line, empty for null."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", quotechar='"', doublequote=True, lineterminator="\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue().encode("utf-8")


@dataclass
class Write:
    """Rows to store: what ``select_sql`` returns, cast to the schema ``columns``."""

    project: str
    dataset: str
    select_sql: str
    columns: List[Dict[str, Any]]
    append: bool = False


class RowStore:
    """Dataset rows in DuckDB. ``path`` None keeps them in memory."""

    def __init__(self, path: Optional[Path]) -> None:
        self._path = path
        self._lock = threading.RLock()
        self._db: Any = None

    # ---------------------------------------------------------------- connection

    def _conn(self) -> Any:
        if self._db is None:
            import duckdb  # imported on first use: most emulator runs never touch rows

            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
            db = duckdb.connect(str(self._path) if self._path is not None else ":memory:")
            db.execute("SET TimeZone = 'UTC'")
            db.execute("SET threads = 2")  # the machines this runs on have 2 cores
            db.execute(
                "CREATE TABLE IF NOT EXISTS __emu_rows "
                "(project VARCHAR, dataset VARCHAR, tbl VARCHAR PRIMARY KEY, version BIGINT)"
            )
            self._db = db
        return self._db

    def _untouched(self) -> bool:
        """True when no row was ever stored (DuckDB not opened, no file on disk): nothing to drop."""
        return self._db is None and (self._path is None or not self._path.exists())

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def query(self, sql: str, params: Optional[List[Any]] = None) -> List[Tuple[Any, ...]]:
        with self._lock:
            return list(self._conn().execute(sql, params or []).fetchall())

    def describe(self, sql: str) -> List[Tuple[str, str]]:
        """(name, DuckDB type) of the columns a SELECT returns, without running it."""
        with self._lock:
            rel = self._conn().sql(sql)
            return [(str(n), str(t)) for n, t in zip(rel.columns, rel.types)]

    # ---------------------------------------------------------------- tables

    @staticmethod
    def table(project: str, dataset: str) -> str:
        digest = hashlib.sha1(f"{project}\0{dataset}".encode()).hexdigest()[:24]
        return f"d_{digest}"

    def has_rows(self, project: str, dataset: str) -> bool:
        """Whether the dataset was ever written (and not cleared since)."""
        return bool(self.query("SELECT 1 FROM __emu_rows WHERE tbl = ?", [self.table(project, dataset)]))

    def version(self, project: str, dataset: str) -> int:
        """How many times the dataset was written (0: never, or cleared)."""
        found = self.query("SELECT version FROM __emu_rows WHERE tbl = ?", [self.table(project, dataset)])
        return int(found[0][0]) if found else 0

    def stored_columns(self, project: str, dataset: str) -> List[str]:
        if not self.has_rows(project, dataset):
            return []
        return [n for n, _t in self.describe(f"SELECT * FROM {ident(self.table(project, dataset))}")]

    @property
    def lock(self) -> threading.RLock:
        """Held across statements that must see the same temporary views (a recipe run)."""
        return self._lock

    def create_temp_view(self, name: str, select_sql: str) -> None:
        with self._lock:
            self._conn().execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS {select_sql}")

    def drop_temp_views(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._conn().execute(f"DROP VIEW IF EXISTS temp.{ident(name)}")

    def execute(self, sql: str) -> None:
        with self._lock:
            self._conn().execute(sql)

    def write(
        self,
        project: str,
        dataset: str,
        select_sql: str,
        columns: List[Dict[str, Any]],
        append: bool = False,
    ) -> int:
        """Store what ``select_sql`` returns as the dataset's rows, each column cast to the type of
        its DSS schema column (matched by name; a schema column the query lacks is left empty).
        Returns the number of rows written."""
        return self.write_many([Write(project, dataset, select_sql, columns, append)])[0]

    def write_many(self, writes: List[Write]) -> List[int]:
        """Several writes in one transaction: all happen, or none (a failing recipe leaves every
        output as it was)."""
        with self._lock:
            db = self._conn()
            db.execute("BEGIN TRANSACTION")
            try:
                counts = [self._write_one(w) for w in writes]
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                raise
            return counts

    def _write_one(self, w: Write) -> int:
        db = self._conn()
        tbl = ident(self.table(w.project, w.dataset))
        produced = {n for n, _t in self.describe(w.select_sql)}
        exprs = [
            (
                cast_expr(f"src.{ident(c['name'])}", c.get("type"))
                if c["name"] in produced
                else f"CAST(NULL AS {duck_type(c.get('type'))})"
            )
            + f" AS {ident(c['name'])}"
            for c in w.columns
        ]
        body = "SELECT {} FROM ({}) AS src".format(", ".join(exprs) or "NULL AS __empty", w.select_sql)
        if w.append and self.has_rows(w.project, w.dataset):
            before = db.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0]
            self._align(tbl, w.columns)
            db.execute(f"INSERT INTO {tbl} BY NAME {body}")
            written = db.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0] - before
        else:
            db.execute(f"CREATE OR REPLACE TABLE {tbl} AS {body}")
            written = db.execute(f"SELECT count(*) FROM {tbl}").fetchone()[0]
        db.execute(
            "INSERT INTO __emu_rows VALUES (?, ?, ?, 1) ON CONFLICT (tbl) DO UPDATE SET version = version + 1",
            [w.project, w.dataset, self.table(w.project, w.dataset)],
        )
        return int(written)

    def _align(self, tbl: str, columns: List[Dict[str, Any]]) -> None:
        """Add to a stored table the schema columns it lacks (an append after a schema change)."""
        have = {n for n, _t in self.describe(f"SELECT * FROM {tbl}")}
        for c in columns:
            if c["name"] not in have:
                self._conn().execute(
                    f"ALTER TABLE {tbl} ADD COLUMN {ident(c['name'])} {duck_type(c.get('type'))}"
                )

    def read_sql(self, project: str, dataset: str, columns: List[Dict[str, Any]]) -> str:
        """A SELECT of the stored rows as the schema ``columns`` say (no rows if never written)."""
        if not columns:
            return "SELECT NULL AS __empty WHERE false"
        stored = set(self.stored_columns(project, dataset))
        exprs = []
        for c in columns:
            name = c["name"]
            if name in stored:
                expr = cast_expr(ident(name), c.get("type"))
            else:
                expr = f"CAST(NULL AS {duck_type(c.get('type'))})"
            exprs.append(f"{expr} AS {ident(name)}")
        if not stored:
            return "SELECT {} WHERE false".format(", ".join(exprs))
        return "SELECT {} FROM {}".format(", ".join(exprs), ident(self.table(project, dataset)))

    def clear(self, project: str, dataset: str) -> None:
        tbl = self.table(project, dataset)
        with self._lock:
            if self._untouched():
                return
            self._conn().execute(f"DROP TABLE IF EXISTS {ident(tbl)}")
            self._conn().execute("DELETE FROM __emu_rows WHERE tbl = ?", [tbl])

    def rename(self, project: str, old: str, new: str) -> None:
        if not self.has_rows(project, old):
            return
        with self._lock:
            self.clear(project, new)
            db = self._conn()
            old_tbl, new_tbl = self.table(project, old), self.table(project, new)
            db.execute(f"ALTER TABLE {ident(old_tbl)} RENAME TO {ident(new_tbl)}")
            db.execute("UPDATE __emu_rows SET dataset = ?, tbl = ? WHERE tbl = ?", [new, new_tbl, old_tbl])

    def drop_project(self, project: str) -> None:
        with self._lock:
            if self._untouched():
                return
            for (dataset,) in self.query("SELECT dataset FROM __emu_rows WHERE project = ?", [project]):
                self.clear(project, dataset)

    def reset(self) -> None:
        with self._lock:
            if self._untouched():
                return
            for project, dataset in self.query("SELECT project, dataset FROM __emu_rows"):
                self.clear(project, dataset)
