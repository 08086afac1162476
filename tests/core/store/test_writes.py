"""replace_partitions: idempotent slice replacement in one transaction (ARCHITECTURE.md "Stages")."""
import subprocess
import sys
import textwrap

import duckdb
import pytest

from alpha_core.store import reads, schema, writes
from alpha_core.store.writes import StoreError, replace_partitions


def cand(date, field, h, expr="rank(close)"):
    return {"mining_date": date, "field": field, "alpha_hash": h, "expression": expr, "settings_json": "{}",
            "origin": "seed", "parent_hash": None, "template": "t", "archetype": "reversal", "generation": 0,
            "score": 1.0, "parent_score": None, "independent": False}


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "a.duckdb"
    con = duckdb.connect(str(path))
    replace_partitions(con, "candidates", [("2026-01-02", "close"), ("2026-01-02", "volume")],
                       [cand("2026-01-02", "close", "a"), cand("2026-01-02", "close", "b"),
                        cand("2026-01-02", "volume", "c")], run_id="r0")
    yield path, con
    con.close()


def rows(con, table="candidates"):
    return con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL").fetchall()


def test_replace_only_touches_its_slice_and_is_idempotent(db):
    _, con = db
    new = [cand("2026-01-02", "close", "x")]
    assert replace_partitions(con, "candidates", [("2026-01-02", "close")], new, run_id="r1") == 1
    first = rows(con)
    replace_partitions(con, "candidates", [("2026-01-02", "close")], new, run_id="r2")
    assert rows(con) == first
    assert sorted(r[2] for r in first) == ["c", "x"]          # volume slice untouched, close slice replaced
    assert con.execute("SELECT run_id FROM candidates WHERE alpha_hash = 'x'").fetchone()[0] == "r2"


def test_empty_rows_clear_the_slice(db):
    _, con = db
    replace_partitions(con, "candidates", [("2026-01-02", "volume")], [], run_id="r1")
    assert [r[2] for r in rows(con)] == ["a", "b"]


def test_row_outside_keys_is_refused_and_nothing_changes(db):
    _, con = db
    before = rows(con)
    with pytest.raises(StoreError, match="outside the keys"):
        replace_partitions(con, "candidates", [("2026-01-02", "close")], [cand("2026-01-03", "close", "z")])
    assert rows(con) == before


def test_missing_column_and_bad_key_are_named(db):
    _, con = db
    bad = cand("2026-01-02", "close", "z")
    del bad["origin"]
    with pytest.raises(StoreError, match="origin"):
        replace_partitions(con, "candidates", [("2026-01-02", "close")], [bad])
    with pytest.raises(StoreError, match="ISO date"):
        replace_partitions(con, "candidates", [("01/02/2026", "close")], [])
    with pytest.raises(StoreError, match="not partitioned"):
        replace_partitions(con, "experience", [("x",)], [])


def test_failure_after_delete_rolls_back(db, monkeypatch):
    _, con = db
    before = rows(con)

    def boom(con_, table, frame):
        raise RuntimeError("injected failure between DELETE and INSERT")

    monkeypatch.setattr(writes, "_insert", boom)
    with pytest.raises(RuntimeError, match="injected"):
        replace_partitions(con, "candidates", [("2026-01-02", "close")], [cand("2026-01-02", "close", "x")])
    assert rows(con) == before


def _die_before_commit(path, write: str, last_table: str) -> None:
    """Run ``write`` (Python using ``con``, ``writes``, ``row``, ``theme``) in a child process whose ``_insert``
    inserts rows and then kills the process (exit 9) after ``last_table``'s rows, before COMMIT."""
    script = textwrap.dedent(f"""
        import os, duckdb
        from alpha_core.store import writes
        real = writes._insert
        def die(con, table, frame):
            real(con, table, frame)          # rows inserted inside the open transaction...
            if table == {last_table!r}:
                os._exit(9)                  # ...then the process dies before COMMIT
        writes._insert = die
        con = duckdb.connect({str(path)!r})
        row = dict(mining_date="2026-01-02", field="close", alpha_hash="x", expression="e", settings_json="{{}}",
                   origin="seed", parent_hash=None, template="t", archetype="a", generation=0, score=None,
                   parent_score=None, independent=False)
        theme = dict(mining_date="2026-01-02", rank=1, field="close", archetype="a", reason="r", priority=1.0)
    """) + textwrap.dedent(write)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 9, proc.stderr.decode()


def test_killed_process_mid_write_leaves_table_unchanged(db):
    path, con = db
    before = rows(con)
    con.close()
    _die_before_commit(path, 'writes.replace_partitions(con, "candidates", [("2026-01-02", "close")], [row])\n',
                       "candidates")
    con2 = duckdb.connect(str(path))
    try:
        assert rows(con2) == before
    finally:
        con2.close()


def test_list_columns_round_trip(tmp_path):
    con = duckdb.connect(":memory:")
    row = {c: None for c in schema.columns("simulations") if c != "run_id"}
    row.update(mining_date="2026-01-02", field="close", alpha_hash="h", source="local", status="ok",
               pnl_dates=["2013-02-08", "2013-02-11"], daily_pnl=[1.5, None], is_sharpe=1.25)
    replace_partitions(con, "simulations", [("2026-01-02", "close")], [row])
    got = reads.read_partitions(con, "simulations").row(0, named=True)
    assert got["daily_pnl"] == [1.5, None] and str(got["pnl_dates"][1]) == "2013-02-11"
    assert got["is_sharpe"] == 1.25


def test_schema_problems_detects_drift():
    con = duckdb.connect(":memory:")
    assert schema.schema_problems(con, "themes") == ["table themes does not exist"]
    schema.ensure_schema(con, ["themes"])
    assert schema.schema_problems(con, "themes") == []
    con.execute("ALTER TABLE themes DROP COLUMN reason")
    con.execute("ALTER TABLE themes ADD COLUMN extra INTEGER")
    assert schema.schema_problems(con, "themes") == ["themes.reason missing", "themes.extra not in the schema"]


def test_an_older_file_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    """A DuckDB file written before ``checklists.message`` existed: the next write adds the column (NULL in the
    old rows) instead of failing, and nothing stored is lost."""
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    old = [(c, k) for c, k in schema.TABLES["checklists"] if c != "message"]
    con.execute("CREATE TABLE checklists (" + ", ".join(f'"{c}" {k}' for c, k in old) + ")")
    con.execute("INSERT INTO checklists VALUES ('2026-01-01', 'close', 'h0', 'LOW_SHARPE', 'PASS', 1.5, 1.25, "
                "'winner', 'r0')")
    assert schema.schema_problems(con, "checklists") == ["checklists.message missing"]
    row = {"mining_date": "2026-01-02", "field": "close", "alpha_hash": "h1", "check_name": "NOVELTY",
           "result": "FAIL", "value": 0.95, "limit_value": 0.9, "verdict": "fail", "message": "near-copy"}
    replace_partitions(con, "checklists", [("2026-01-02", "close")], [row], run_id="r1")
    assert schema.schema_problems(con, "checklists") == []
    assert con.execute("SELECT alpha_hash, message FROM checklists ORDER BY 1").fetchall() == [
        ("h0", None), ("h1", "near-copy")]
    con.close()


def test_connect_waits_for_a_lock_held_by_another_process(tmp_path):
    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(path)!r}); con.execute("CREATE TABLE t(a INT)")
        print("ready", flush=True); time.sleep(1.5); con.close()
    """)], stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"ready"
    with pytest.raises(Exception) as exc:
        duckdb.connect(str(path))
    assert writes.is_lock_error(exc.value)
    con = writes.connect(path, timeout=30)          # retries until the holder exits
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    con.close()
    holder.wait(timeout=30)


def test_themes_write_replaces_only_its_fields(tmp_path):
    con = duckdb.connect(":memory:")
    theme = lambda f: {"mining_date": "2026-01-02", "rank": 1, "field": f, "archetype": "value",  # noqa: E731
                       "reason": "requested", "priority": 1.0}
    replace_partitions(con, "themes", [("2026-01-02", "close")], [theme("close")], run_id="a")
    replace_partitions(con, "themes", [("2026-01-02", "volume")], [theme("volume")], run_id="b")
    assert con.execute("SELECT field, run_id FROM themes ORDER BY field").fetchall() == [("close", "a"),
                                                                                         ("volume", "b")]


def test_read_only_helpers(tmp_path):
    missing = tmp_path / "none.duckdb"
    with writes.reading(missing) as con:                        # no file yet: an empty database, no error
        assert reads.read_partitions(con, "candidates").height == 0
    assert not missing.exists()
    path = tmp_path / "a.duckdb"
    with writes.writing(path) as con:
        replace_partitions(con, "candidates", [("2026-01-02", "close")], [cand("2026-01-02", "close", "a")])
        with writes.reading(path) as ro:                        # same process holds it read-write: shared
            assert reads.read_partitions(ro, "candidates").height == 1
    with writes.reading(path) as con:
        assert reads.read_partitions(con, "candidates")["alpha_hash"].to_list() == ["a"]
        with pytest.raises(duckdb.Error):                       # a reading connection cannot write
            con.execute("DELETE FROM candidates")


def test_reader_waits_for_a_writer_in_another_process(tmp_path):
    path = tmp_path / "a.duckdb"
    with writes.writing(path) as con:
        replace_partitions(con, "candidates", [("2026-01-02", "close")], [cand("2026-01-02", "close", "a")])
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(path)!r})
        print("ready", flush=True); time.sleep(1.5); con.close()
    """)], stdout=subprocess.PIPE)
    assert holder.stdout.readline().strip() == b"ready"
    with pytest.raises(Exception) as exc:                       # a plain read-only client fails now
        duckdb.connect(str(path), read_only=True)
    assert writes.is_lock_error(exc.value)
    with writes.reading(path, timeout=30) as con:               # the helper retries until the writer is done
        assert con.execute("SELECT count(*) FROM candidates").fetchone()[0] == 1
    holder.wait(timeout=30)


def test_replace_many_is_one_transaction_across_tables(db):
    """A process killed after the first table's rows are in (search checkpoint: four tables) commits nothing."""
    path, con = db
    before = rows(con)
    con.close()
    _die_before_commit(path, 'writes.replace_many(con, [("candidates", [("2026-01-02", "close")], [row]), '
                             '("themes", [("2026-01-02", "close")], [theme])])\n', "themes")
    con2 = duckdb.connect(str(path))
    try:
        assert rows(con2) == before
        assert rows(con2, "themes") == []            # created empty before the transaction, still empty
    finally:
        con2.close()
