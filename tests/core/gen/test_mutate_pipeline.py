"""Verdicts and dry-run submissions (the search's moves: test_mutate.py)."""
import datetime as dt

import numpy as np

from alpha_core.brain.dryrun import dry_run_records
from alpha_core.gate.checks import Check
from alpha_core.gen.pipeline import verdict


def test_verdict_rules():
    ok = [Check("LOW_SHARPE", "PASS", 1.5, 1.25), Check("SELF_CORRELATION", "PENDING", None, 0.7)]
    assert verdict(ok) == "winner"
    near = [Check("LOW_SHARPE", "FAIL", 1.0, 1.25), Check("LOW_FITNESS", "FAIL", 0.85, 1.0)]
    assert verdict(near) == "near_miss"                       # 1.0 >= 0.8 * 1.25, 0.85 >= 0.8
    assert verdict([Check("LOW_SHARPE", "FAIL", 0.9, 1.25)]) == "fail"      # 0.9 < 1.0
    assert verdict(near + [Check("HIGH_TURNOVER", "FAIL", 0.9, 0.7)]) == "fail"


def test_dry_run_records_of_the_gate_picks():
    from alpha_core.gate.order import Finalist

    dates = np.arange(np.datetime64("2014-01-01"), np.datetime64("2014-01-01") + 100)
    picks = [Finalist(h, "close", "rank(close)", "{}", {"is_sharpe": 2.0, "is_fitness": 1.4}, np.ones(100), dates,
                      [Check("SELF_CORRELATION", "PASS", 0.31, 0.7)]) for h in ("a", "b")]
    rows = dry_run_records("2026-01-02", picks, [], now=dt.datetime(2026, 1, 2, 12))
    assert [r["alpha_hash"] for r in rows] == ["a", "b"] and rows[0]["max_self_corr"] == 0.31
    assert all(r["mode"] == "dry-run" and r["status"] == "DRY_RUN" and r["brain_alpha_id"] is None for r in rows)
    assert rows[0]["submitted_at"] == dt.datetime(2026, 1, 2, 12) and rows[0]["is_fitness"] == 1.4
