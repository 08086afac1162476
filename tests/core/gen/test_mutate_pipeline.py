"""Mutator, verdicts, winner memory and dry-run submissions."""
import datetime as dt
import json

import numpy as np
import polars as pl

from alpha_core.brain.dryrun import dry_run_submissions
from alpha_core.expr import lint
from alpha_core.gate.checks import Check
from alpha_core.gen.mutate import expression_moves, mutate, settings_moves
from alpha_core.gen.pipeline import verdict, winner_memory_rows
from alpha_core.gen.templates import settings_for


def test_expression_moves_are_single_window_or_operator_changes():
    from alpha_core.expr.canonical import to_text

    prog = lint("ts_rank(close, 20)").program
    texts = sorted(to_text(p) for _, p in expression_moves(prog))
    assert texts == ["ts_rank(close, 10)", "ts_rank(close, 40)", "ts_scale(close, 20)", "ts_zscore(close, 20)"]


def test_mutate_records_parent_and_never_returns_the_parent():
    s = settings_for({"decay": 4, "neutralization": "SUBINDUSTRY"})
    kids = mutate("rank(-ts_delta(close, 5))", s, "p" * 64, n=50)
    assert kids and all(k.origin == "mutation" and k.parent_hash == "p" * 64 for k in kids)
    assert all(lint(k.expression).ok for k in kids)
    keys = {(k.expression, k.settings_json()) for k in kids}
    assert len(keys) == len(kids)
    parent = ("rank(-ts_delta(close, 5))", json.dumps(s, sort_keys=True))
    assert parent not in keys
    assert {k.expression for k in kids} >= {"rank(-ts_delta(close, 3))", "rank(-ts_delta(close, 10))"}
    assert any(k.settings["decay"] in (2, 8) for k in kids)
    assert mutate("rank(-ts_delta(close, 5))", s, "p" * 64, n=3) == kids[:3]      # deterministic order
    assert {d for d, _ in settings_moves(s)} >= {"decay 4->2", "decay 4->8", "neutralization SUBINDUSTRY->MARKET"}


def test_verdict_rules():
    ok = [Check("LOW_SHARPE", "PASS", 1.5, 1.25), Check("SELF_CORRELATION", "PENDING", None, 0.7)]
    assert verdict(ok) == "winner"
    near = [Check("LOW_SHARPE", "FAIL", 1.0, 1.25), Check("LOW_FITNESS", "FAIL", 0.85, 1.0)]
    assert verdict(near) == "near_miss"                       # 1.0 >= 0.8 * 1.25, 0.85 >= 0.8
    assert verdict([Check("LOW_SHARPE", "FAIL", 0.9, 1.25)]) == "fail"      # 0.9 < 1.0
    assert verdict(near + [Check("HIGH_TURNOVER", "FAIL", 0.9, 0.7)]) == "fail"


def test_winner_memory_counts():
    d = dt.date(2026, 1, 2)
    cands = pl.DataFrame({"mining_date": [d, d, d], "field": ["close"] * 3, "alpha_hash": ["a", "b", "c"],
                          "archetype": ["reversal"] * 3, "settings_json": ['{"decay": 4, "neutralization": "MARKET", "truncation": 0.08}'] * 3})
    sims = pl.DataFrame({"mining_date": [d, d, d], "field": ["close"] * 3, "alpha_hash": ["a", "b", "c"],
                         "status": ["ok", "ok", "error"], "is_fitness": [1.2, 0.5, None]})
    ver = pl.DataFrame({"mining_date": [d, d], "field": ["close"] * 2, "alpha_hash": ["a", "b"],
                        "verdict": ["winner", "fail"]})
    (row,) = winner_memory_rows(cands, sims, ver)
    assert (row["n_candidates"], row["n_simulated"], row["n_passed"], row["best_hash"]) == (3, 2, 1, "a")
    assert row["settings_key"] == "d4/MARKET/t0.08" and row["best_fitness"] == 1.2


def _w(h, fit, pnl):
    dates = np.arange(np.datetime64("2014-01-01"), np.datetime64("2014-01-01") + len(pnl))
    return {"alpha_hash": h, "field": "close", "expression": "e", "settings_json": "{}", "is_sharpe": fit,
            "is_fitness": fit, "pnl": np.asarray(pnl, float), "dates": dates}


def test_dry_run_limit_duplicates_and_correlation():
    rng = np.random.default_rng(1)
    base = rng.normal(size=100)
    winners = [_w("a", 2.0, base), _w("b", 1.9, base * 2 + 0.01 * rng.normal(size=100)),   # copy of a
               _w("c", 1.8, rng.normal(size=100)), _w("d", 1.7, rng.normal(size=100)),
               _w("e", 1.6, rng.normal(size=100)), _w("f", 1.5, rng.normal(size=100)),
               _w("old", 3.0, rng.normal(size=100))]
    rows = dry_run_submissions("2026-01-02", winners, {"old"}, [], now=dt.datetime(2026, 1, 2, 12))
    assert [r["alpha_hash"] for r in rows] == ["a", "c", "d", "e"]      # best first, no dup, no copy, max 4
    assert all(r["mode"] == "dry-run" and r["status"] == "DRY_RUN" and r["brain_alpha_id"] is None for r in rows)
