"""Reads of the stage tables (ARCHITECTURE.md "Stages (assets) and their tables").

Every function takes an open DuckDB connection and returns a polars frame with the table's schema
(an empty frame when the table does not exist yet), so callers never special-case a fresh database.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable

import polars as pl

from alpha_core.store.schema import KEY_COLUMNS, PARTITION_COLUMNS, VOLATILE_COLUMNS, columns
from alpha_core.store.writes import normalize_keys, polars_schema


def table_exists(con, table: str) -> bool:
    """True when ``table`` exists in the main schema."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


def read_partitions(con, table: str, keys: Iterable[Any] | None = None, where: str = "",
                    params: list | None = None) -> pl.DataFrame:
    """Rows of ``table`` in the partitions ``keys`` (all rows when ``keys`` is None), ordered by its key columns.

    ``where``: extra SQL condition with ``?`` placeholders bound from ``params``.
    """
    if not table_exists(con, table):
        return pl.DataFrame(schema=polars_schema(table))
    clauses, args = [], []
    if keys is not None:
        norm = normalize_keys(table, keys)
        if not norm:
            return pl.DataFrame(schema=polars_schema(table))
        cols = PARTITION_COLUMNS[table]
        one = "(" + " AND ".join(f'"{c}" = ?' for c in cols) + ")"
        clauses.append("(" + " OR ".join([one] * len(norm)) + ")")
        for key in norm:
            args.extend(key)
    if where:
        clauses.append(f"({where})")
        args.extend(params or [])
    sql = f'SELECT {", ".join(chr(34) + c + chr(34) for c in columns(table))} FROM "{table}"'
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += " ORDER BY " + ", ".join(f'"{c}"' for c in KEY_COLUMNS[table])
    cur = con.cursor()  # own cursor: DuckDB 2 refuses con.sql() while an execute() result is open
    try:
        frame = pl.from_arrow(cur.sql(sql, params=args or None).to_arrow_table())
    finally:
        cur.close()
    return frame.cast(polars_schema(table)) if frame.height else pl.DataFrame(schema=polars_schema(table))


def read_candidates_by_hash(con, hashes: Iterable[str]) -> pl.DataFrame:
    """The most recent candidate row of each hash in ``hashes`` (any partition)."""
    hashes = sorted(set(hashes))
    if not hashes or not table_exists(con, "candidates"):
        return pl.DataFrame(schema=polars_schema("candidates"))
    marks = ", ".join("?" * len(hashes))
    frame = read_partitions(con, "candidates", None, f"alpha_hash IN ({marks})", hashes)
    return frame.sort("mining_date", descending=True).unique("alpha_hash", keep="first").sort("alpha_hash")


def submitted_hashes(con, before_date=None) -> set[str]:
    """Hashes with a submission record (optionally only on mining dates before ``before_date``)."""
    if not table_exists(con, "submissions"):
        return set()
    if before_date is None:
        rows = con.execute("SELECT DISTINCT alpha_hash FROM submissions").fetchall()
    else:
        rows = con.execute("SELECT DISTINCT alpha_hash FROM submissions WHERE mining_date < CAST(? AS DATE)",
                           [str(before_date)]).fetchall()
    return {r[0] for r in rows}


def verdicts(con, keys: Iterable[Any] | None = None) -> pl.DataFrame:
    """One row per (mining_date, field, alpha_hash) with the candidate's checklist ``verdict``
    (``winner``, ``near_miss`` or ``fail``) joined to its simulation metrics and expression."""
    checks = read_partitions(con, "checklists", keys)
    if checks.height == 0:
        return pl.DataFrame(schema={"mining_date": pl.Date, "field": pl.Utf8, "alpha_hash": pl.Utf8,
                                    "verdict": pl.Utf8})
    per = checks.group_by(["mining_date", "field", "alpha_hash"]).agg(pl.col("verdict").first())
    sims = read_partitions(con, "simulations", keys).select(
        "mining_date", "field", "alpha_hash", "is_sharpe", "is_fitness", "is_turnover", "is_returns",
        "is_drawdown", "is_margin", "os_sharpe")
    cands = read_partitions(con, "candidates", keys).select(
        "mining_date", "field", "alpha_hash", "expression", "settings_json", "origin", "parent_hash",
        "archetype")
    on = ["mining_date", "field", "alpha_hash"]
    return per.join(sims, on=on, how="left").join(cands, on=on, how="left").sort(on)


def table_fingerprint(con, table: str) -> str:
    """SHA-256 of the table's rows without the volatile columns (``run_id``, ``submitted_at``), in key order.

    Two runs of the same partitions give the same fingerprint (idempotence).
    """
    frame = read_partitions(con, table)
    keep = [c for c in frame.columns if c not in VOLATILE_COLUMNS]
    digest = hashlib.sha256()
    for row in frame.select(keep).sort(KEY_COLUMNS[table]).iter_rows():
        digest.update(repr(row).encode())
    return digest.hexdigest()


def duplicate_keys(con, table: str, keys: Iterable[Any] | None = None) -> int:
    """Number of key tuples (``KEY_COLUMNS[table]``) that appear more than once in the partitions ``keys``."""
    frame = read_partitions(con, table, keys)
    if frame.height == 0:
        return 0
    dup = frame.group_by(list(KEY_COLUMNS[table])).len().filter(pl.col("len") > 1)
    return dup.height
