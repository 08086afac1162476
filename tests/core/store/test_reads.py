"""Reads: partition filters, fingerprints, duplicate keys, verdict joins."""
import duckdb
import polars as pl

from alpha_core.store import reads
from alpha_core.store.writes import replace_partitions


def _theme(date, rank, field):
    return {"mining_date": date, "rank": rank, "field": field, "archetype": "value", "reason": "r", "priority": 1.0}


def test_read_partitions_filters_and_orders():
    con = duckdb.connect(":memory:")
    assert reads.read_partitions(con, "themes").height == 0            # no table yet: empty, typed
    keys = [("2026-01-03", "close"), ("2026-01-02", "volume"), ("2026-01-02", "cap")]
    replace_partitions(con, "themes", keys,
                       [_theme("2026-01-03", 1, "close"), _theme("2026-01-02", 2, "volume"),
                        _theme("2026-01-02", 1, "cap")], run_id="r")
    got = reads.read_partitions(con, "themes", keys[1:])
    assert got["field"].to_list() == ["cap", "volume"]
    assert got.schema["mining_date"] == pl.Date
    assert reads.read_partitions(con, "themes", []).height == 0


def test_fingerprint_ignores_run_id_and_duplicate_keys_counts():
    con = duckdb.connect(":memory:")
    rows = [_theme("2026-01-02", 1, "close")]
    key = [("2026-01-02", "close")]
    replace_partitions(con, "themes", key, rows, run_id="a")
    fp = reads.table_fingerprint(con, "themes")
    replace_partitions(con, "themes", key, rows, run_id="b")
    assert reads.table_fingerprint(con, "themes") == fp
    assert reads.duplicate_keys(con, "themes") == 0
    replace_partitions(con, "themes", key, rows + [dict(rows[0], rank=2)])
    assert reads.duplicate_keys(con, "themes") == 1
    assert reads.table_fingerprint(con, "themes") != fp
