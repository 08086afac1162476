"""The daily pipeline through Dagster on a synthetic panel: tables, idempotence, checks, metadata."""
from pathlib import Path

import dagster as dg
import duckdb

from alpha_assets.mine import run_mine
from alpha_core.store import reads, schema
from tests.assets.conftest import BUDGET, DATE, SYNTH


def _con(db):
    return duckdb.connect(db, read_only=True)


def test_summary_matches_tables(mined):
    s, db = mined["summary"], mined["db"]
    assert len(s["fields"]) == 2 and s["candidates"] == 2 * BUDGET    # the search spends its whole budget
    assert s["lint_clean"] == 2 * BUDGET and 0 < s["simulated"] <= 2 * BUDGET
    con = _con(db)
    try:
        keys = [(DATE, f) for f in s["fields"]]
        cands = reads.read_partitions(con, "candidates", keys)
        assert cands.height == 2 * BUDGET
        assert {"seed"} < set(cands["origin"])                        # the search improved on its seeds
        sims = reads.read_partitions(con, "simulations", keys)
        assert sims.height == 2 * BUDGET and set(sims["status"]) <= {"ok", "error", "unsupported"}
        checks = reads.read_partitions(con, "checklists", keys)
        ok = int((sims["status"] == "ok").sum())
        assert checks.height == 19 * ok + (2 * BUDGET - ok)           # the 19-check alpha checklist per ok simulation
        progress = reads.read_partitions(con, "search_progress", keys)
        assert progress.height >= 2 and progress["stop_reason"].drop_nulls().to_list() == ["budget", "budget"]
        assert sorted(reads.read_partitions(con, "themes", keys)["field"].to_list()) == sorted(s["fields"])
        for table in set(schema.TABLES) - set(schema.RESEARCH_TABLES):   # research_job writes those
            assert schema.schema_problems(con, table) == [], table
            assert reads.duplicate_keys(con, table) == 0, table
        assert con.execute("SELECT count(*) FROM candidates WHERE run_id = ''").fetchone()[0] == 0
        # the independent winners of the summary are winners; the gate ranks every winner, with a reason for each
        # decision, and submits only from them
        assert s["independent_winners"] == len(s["independent"]) > 0
        v = reads.verdicts(con, keys)
        winners = set(v.filter(v["verdict"] == "winner")["alpha_hash"].to_list())
        assert {w["alpha_hash"] for w in s["independent"]} <= winners
        order = reads.read_partitions(con, "submission_order", [DATE])
        assert set(order["alpha_hash"]) == winners and order["reason"].null_count() == 0
        assert sorted(order["rank"].to_list()) == list(range(1, order.height + 1))
        subs = reads.read_partitions(con, "submissions", [DATE])
        assert set(subs["alpha_hash"]) == set(order.filter(order["decision"] == "submit")["alpha_hash"])
        assert subs.height == s["submitted"] <= 4
        gate = reads.read_partitions(con, "gate_checks", [DATE])
        assert gate.height == 19 * order.height
    finally:
        con.close()


def test_every_asset_check_passed(mined):
    inst = mined["instance"]
    evals = []
    for run_id in [mined["summary"]["runs"][k] for k in ("registry", "themes", "submit")] + mined["summary"]["runs"]["mining"]:
        for rec in inst.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evals.append(rec.dagster_event.event_specific_data)
    names = {(e.asset_key.to_user_string(), e.check_name) for e in evals}
    assert ("lint_results", "lint_pass_rate") in names and ("submissions", "no_duplicate_submission") in names
    assert ("field_registry", "registry_coverage") in names and ("simulations", "finite_metrics") in names
    assert all(e.passed for e in evals), [(e.asset_key, e.check_name) for e in evals if not e.passed]


def test_materialisation_metadata(mined):
    inst = mined["instance"]
    rec = inst.fetch_materializations(dg.AssetKey("checklists"), limit=1).records[0]
    md = rec.asset_materialization.metadata
    assert {"alpha_check_rows", "alpha_checks", "best_alphas", "winner", "near_miss", "independent_winners"} <= set(md)
    assert md["best_alphas"].value.startswith("| hash |")
    assert "data:image/png;base64," in md["best_alpha_pnl"].value
    assert md["best_alpha_pnl_path"].value.endswith(".png")
    cand = inst.fetch_materializations(dg.AssetKey("candidates"), limit=1).records[0].asset_materialization.metadata
    assert cand["stop_reason"].value.startswith("budget")
    assert cand["progress"].value.startswith("| gen |") and "independent" in cand["progress"].value
    sims = inst.fetch_materializations(dg.AssetKey("simulations"), limit=1).records[0].asset_materialization.metadata
    assert sims["simulated_now"].value + sims["replayed"].value == BUDGET
    # the alpha checks are counted per check, and each search links its best winners' result pages
    assert md["alpha_checks"].value.startswith("| alpha check |") and "| DEFLATED_SHARPE |" in md["alpha_checks"].value
    pages = {k: v.value for k, v in md.items() if k.startswith("page_")}
    assert 0 < len(pages) <= 5 and all(Path(p).is_file() and Path(p).read_text().startswith("<!DOCTYPE html")
                                       for p in pages.values())
    sub = inst.fetch_materializations(dg.AssetKey("submissions"), limit=1).records[0].asset_materialization.metadata
    assert sub["submission_order"].value.startswith("| rank | decision | hash |")
    assert sub["finalists"].value > 0 and any(k.startswith("page_") for k in sub)
    linked = [k[len("page_"):] for k in sub if k.startswith("page_")]
    assert all(f"[`{h}`](file://" in sub["submission_order"].value for h in linked)


def test_running_the_day_twice_gives_the_same_tables(mined):
    db, inst = mined["db"], mined["instance"]
    con = _con(db)
    before = {t: reads.table_fingerprint(con, t) for t in schema.TABLES}
    con.close()
    again = run_mine(DATE, None, BUDGET, n_fields=2, duckdb_path=db, synthetic=SYNTH, instance=inst)
    con = _con(db)
    after = {t: reads.table_fingerprint(con, t) for t in schema.TABLES}
    con.close()
    assert after == before
    assert again["fields"] == mined["summary"]["fields"]


def test_bad_arguments_are_clear(mined):
    import pytest

    from alpha_assets.mine import MineError

    with pytest.raises(MineError, match=r"^--date: '05/01/2026' is not a date; use YYYY-MM-DD"):
        run_mine("05/01/2026", None, 3, duckdb_path=mined["db"], synthetic=SYNTH, instance=mined["instance"])
    with pytest.raises(MineError, match=r"^--date: 2025-12-31 is outside the mining days, 2026-01-01 to today"):
        run_mine("2025-12-31", None, 3, duckdb_path=mined["db"], synthetic=SYNTH, instance=mined["instance"])
    with pytest.raises(MineError, match=r"^--fields: nope is not a local MATRIX field; known: .*close"):
        run_mine(DATE, ["nope"], 3, duckdb_path=mined["db"], synthetic=SYNTH, instance=mined["instance"])
