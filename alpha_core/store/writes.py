"""Idempotent partition writes and lock-tolerant connections (ARCHITECTURE.md "Stages", "DuckDB admits one writer").

``replace_partitions`` deletes the slice of a table that belongs to the given partition keys and inserts
the new rows in ONE transaction: a re-run or a backfill gives the same table, and a crash (exception or
killed process) before COMMIT leaves the table exactly as it was.
"""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Sequence

import duckdb
import polars as pl

from alpha_core.store.schema import PARTITION_COLUMNS, TABLES, columns, ensure_schema

_POLARS = {"VARCHAR": pl.Utf8, "DATE": pl.Date, "DOUBLE": pl.Float64, "INTEGER": pl.Int32, "BIGINT": pl.Int64,
           "BOOLEAN": pl.Boolean, "TIMESTAMP": pl.Datetime("us"), "DATE[]": pl.List(pl.Date),
           "DOUBLE[]": pl.List(pl.Float64)}

LOCK_MARKERS = ("could not set lock", "conflicting lock", "database is locked", "lock on file")


class StoreError(ValueError):
    """A write that does not fit the table: unknown table, bad partition key, row outside the keys."""


def polars_schema(table: str) -> dict[str, pl.DataType]:
    """The polars dtype of every column of ``table``."""
    return {name: _POLARS[kind] for name, kind in TABLES[table]}


def to_frame(table: str, rows: pl.DataFrame | Sequence[dict] | None, run_id: str = "") -> pl.DataFrame:
    """Rows as a polars frame with exactly the columns and dtypes of ``table``; ``run_id`` filled in.

    Missing ``run_id`` is added; any other missing or extra column raises StoreError naming it.
    """
    schema = polars_schema(table)
    if rows is None:
        rows = []
    if isinstance(rows, pl.DataFrame):
        frame = rows
    else:
        kinds = dict(TABLES[table])
        prepared = []
        for i, r in enumerate(rows):
            r = dict(r)
            r.setdefault("run_id", run_id)
            missing = [c for c in schema if c not in r]
            extra = [c for c in r if c not in schema]
            if missing or extra:
                raise StoreError(f"row {i} for table {table}: missing columns {missing}, unexpected columns {extra}")
            prepared.append({c: _py_value(table, c, kinds[c], r[c]) for c in schema})
        frame = pl.DataFrame(prepared, schema=schema, orient="row") if prepared else pl.DataFrame(schema=schema)
    if "run_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(run_id).alias("run_id"))
    elif run_id:
        frame = frame.with_columns(pl.lit(run_id).alias("run_id"))
    missing = [c for c in schema if c not in frame.columns]
    extra = [c for c in frame.columns if c not in schema]
    if missing or extra:
        raise StoreError(f"rows for table {table}: missing columns {missing}, unexpected columns {extra}")
    try:
        return frame.select([pl.col(c).cast(t) for c, t in schema.items()])
    except Exception as exc:  # polars raises several exception types for bad casts
        raise StoreError(f"rows for table {table} do not fit its column types: {exc}") from None


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _py_value(table: str, col: str, kind: str, value: Any) -> Any:
    """A Python value the polars column type accepts (ISO strings -> dates, numpy scalars -> float)."""
    try:
        if value is None:
            return None
        if kind == "DATE":
            return _as_date(value)
        if kind == "DATE[]":
            return [_as_date(v) for v in value]
        if kind == "DOUBLE[]":
            return [None if v is None else float(v) for v in value]
        if kind == "DOUBLE":
            return float(value)
        if kind in ("INTEGER", "BIGINT"):
            return int(value)
        if kind == "BOOLEAN":
            return bool(value)
        if kind == "VARCHAR":
            return str(value)
        return value
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{table}.{col}: value {value!r} does not fit {kind}: {exc}") from None


def _norm_value(col: str, value: Any) -> Any:
    if col == "mining_date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise StoreError(f"partition key mining_date={value!r} is not an ISO date (YYYY-MM-DD)") from None
    if not isinstance(value, str) or not value:
        raise StoreError(f"partition key {col}={value!r} must be a non-empty string")
    return value


def normalize_keys(table: str, keys: Iterable[Any] | None) -> list[tuple]:
    """Partition keys of ``table`` as tuples in ``PARTITION_COLUMNS[table]`` order (dates as ``datetime.date``).

    A key is a tuple/list in column order, a dict by column name, or a bare value for one-column
    partitions. Unpartitioned tables take ``None`` (the whole table is the partition).
    """
    if table not in PARTITION_COLUMNS:
        raise StoreError(f"unknown table {table!r}; known: {sorted(TABLES)}")
    cols = PARTITION_COLUMNS[table]
    if not cols:
        if keys not in (None, [], ()):
            raise StoreError(f"table {table} is not partitioned; pass keys=None")
        return []
    out = []
    for key in keys or []:
        if isinstance(key, dict):
            key = tuple(key[c] for c in cols)
        elif not isinstance(key, (tuple, list)):
            key = (key,)
        if len(key) != len(cols):
            raise StoreError(f"partition key {key!r} of table {table} must have the columns {cols}")
        out.append(tuple(_norm_value(c, v) for c, v in zip(cols, key)))
    return sorted(set(out))


def _delete(con, table: str, cols: tuple[str, ...], keys: list[tuple]) -> None:
    if not cols:
        con.execute(f'DELETE FROM "{table}"')
        return
    where = " AND ".join(f'"{c}" = ?' for c in cols)
    for key in keys:
        con.execute(f'DELETE FROM "{table}" WHERE {where}', list(key))


def _insert(con, table: str, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    name = "__alpha_rows"
    con.register(name, frame.to_arrow())
    try:
        cols = ", ".join(f'"{c}"' for c in columns(table))
        con.execute(f'INSERT INTO "{table}" ({cols}) SELECT {cols} FROM {name}')
    finally:
        con.unregister(name)


def replace_partitions(con, table: str, keys: Iterable[Any] | None, rows, run_id: str = "") -> int:
    """Replace the partitions ``keys`` of ``table`` with ``rows``, in one transaction.

    ``rows``: polars frame or list of dicts with the table's columns (``run_id`` optional, overwritten by
    ``run_id`` when given). Every row must fall inside ``keys`` (StoreError otherwise: a write never
    touches another partition). Creates the table when missing. Returns the number of rows inserted.
    On any exception the transaction is rolled back and the exception re-raised; a killed process never
    commits. Implements ARCHITECTURE.md "Writing a partition deletes that slice and inserts ... in one transaction".
    """
    return replace_many(con, [(table, keys, rows)], run_id)[table]


def replace_many(con, writes: Sequence[tuple[str, Iterable[Any] | None, Any]], run_id: str = "") -> dict[str, int]:
    """``replace_partitions`` of several tables in ONE transaction: ``writes`` = [(table, keys, rows), ...].

    Either every table's partitions are replaced or none is (a crash or an error leaves DuckDB as it was).
    Returns rows inserted per table. Raises ``StoreError`` as ``replace_partitions`` does, before writing.
    """
    prepared = []
    for table, keys, rows in writes:
        norm = normalize_keys(table, keys)
        frame = to_frame(table, rows, run_id)
        cols = PARTITION_COLUMNS[table]
        if cols and frame.height:
            seen = set(frame.select(cols).unique().iter_rows())
            outside = sorted(seen - set(norm), key=str)
            if outside:
                raise StoreError(f"{len(outside)} row partition(s) of {table} are outside the keys being written, "
                                 f"e.g. {outside[0]!r}")
        prepared.append((table, cols, norm, frame))
    ensure_schema(con, [t for t, *_ in prepared])
    con.execute("BEGIN TRANSACTION")
    try:
        for table, cols, norm, frame in prepared:
            _delete(con, table, cols, norm)
            _insert(con, table, frame)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {table: frame.height for table, _, _, frame in prepared}


def is_lock_error(exc: BaseException) -> bool:
    """True when ``exc`` is DuckDB refusing the file because another process holds its lock."""
    return isinstance(exc, (duckdb.IOException, duckdb.Error)) and any(
        m in str(exc).lower() for m in LOCK_MARKERS)


def connect(path: str | Path, read_only: bool = False, timeout: float = 60.0):
    """``duckdb.connect`` that retries with exponential backoff (0.02 s doubling, capped at 0.5 s) while
    another process holds the file lock, up to ``timeout`` seconds; then raises the lock error.

    Creates the parent folder of ``path`` (unless ``:memory:``).
    """
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    delay, deadline = 0.02, time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except Exception as exc:
            if not is_lock_error(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def connect_read_only(path: str | Path, timeout: float = 60.0):
    """A read-only connection to the DuckDB file ``path`` for readers that run beside a writer.

    Retries with backoff while a writer holds the file (``connect``), up to ``timeout`` seconds. A file
    that does not exist yet gives an empty in-memory database (every read returns an empty frame). When
    this process already holds a read-write connection to the file (DuckDB refuses a second connection
    with another configuration), a read-write connection is returned instead. Raises the lock error after
    ``timeout`` seconds.
    """
    if str(path) != ":memory:" and not Path(path).exists():
        return duckdb.connect(":memory:")
    try:
        return connect(path, read_only=True, timeout=timeout)
    except duckdb.ConnectionException as exc:
        if "different configuration" not in str(exc):
            raise
        return connect(path, read_only=False, timeout=timeout)


@contextmanager
def reading(path: str | Path, timeout: float = 60.0):
    """``with reading(path) as con:`` a short read-only connection (``connect_read_only``), closed on exit.

    Readers take DuckDB's shared file lock only for the block, so compute outside it.
    """
    con = connect_read_only(path, timeout)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def writing(path: str | Path, timeout: float = 300.0):
    """``with writing(path) as con:`` a short read-write connection (``connect``), closed on exit.

    The writer holds DuckDB's exclusive file lock only for the block: compute the rows first, then open
    this around ``replace_partitions`` (and the checks that read what was written). ``timeout``: how long
    to wait for readers or another writer to let go of the file.
    """
    con = connect(path, read_only=False, timeout=timeout)
    try:
        yield con
    finally:
        con.close()
