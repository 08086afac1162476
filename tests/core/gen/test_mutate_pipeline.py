"""Verdicts and dry-run submissions (the search's moves: test_mutate.py)."""
import datetime as dt

import numpy as np

from alpha_core.brain.dryrun import dry_run_submissions
from alpha_core.gate.checks import Check
from alpha_core.gen.pipeline import verdict


def test_verdict_rules():
    ok = [Check("LOW_SHARPE", "PASS", 1.5, 1.25), Check("SELF_CORRELATION", "PENDING", None, 0.7)]
    assert verdict(ok) == "winner"
    near = [Check("LOW_SHARPE", "FAIL", 1.0, 1.25), Check("LOW_FITNESS", "FAIL", 0.85, 1.0)]
    assert verdict(near) == "near_miss"                       # 1.0 >= 0.8 * 1.25, 0.85 >= 0.8
    assert verdict([Check("LOW_SHARPE", "FAIL", 0.9, 1.25)]) == "fail"      # 0.9 < 1.0
    assert verdict(near + [Check("HIGH_TURNOVER", "FAIL", 0.9, 0.7)]) == "fail"


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
    rows, kept = dry_run_submissions("2026-01-02", winners, {"old"}, [], now=dt.datetime(2026, 1, 2, 12))
    assert [r["alpha_hash"] for r in rows] == ["a", "c", "d", "e"]      # best first, no dup, no copy, max 4
    assert [w["alpha_hash"] for w in kept] == ["a", "c", "d", "e", "f"]   # every independent winner, unlimited
    assert all(r["mode"] == "dry-run" and r["status"] == "DRY_RUN" and r["brain_alpha_id"] is None for r in rows)
