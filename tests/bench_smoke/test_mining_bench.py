"""Smoke test of bench/mining.py's pure helpers on the real panel, on a tiny budget (no mining day, no timing
asserted): judging a known winner and a known failure, clustering winners by IS PnL correlation, the random
baseline's bookkeeping and the raw simulator's rate record."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import mining  # noqa: E402

from alpha_core.gate.correlation import correlation_matrix, pnl_matrix  # noqa: E402
from alpha_core.gen.templates import BASE_SETTINGS  # noqa: E402
from alpha_core.sim.simulate import registry_for, simulate_one  # noqa: E402

pytestmark = pytest.mark.real_data

# a winner the miner found on 2026-11-17 (IS fitness 1.44, OS sharpe 0.85)
WINNER = ("rank(-ts_zscore(open, 5)) * rank(sales / cap)",
          {**BASE_SETTINGS, "decay": 16, "neutralization": "SUBINDUSTRY"})


def test_judge_and_independent_on_real_alphas(real_panel):
    win = mining.judge(simulate_one(WINNER[0], real_panel, WINNER[1]))
    assert win["status"] == "ok" and win["verdict"] == "winner", win["verdict"]
    assert win["is_sharpe"] >= 1.25 and win["pnl"].size == win["dates"].size > 200
    assert win["os_sharpe"] is not None and mining.positive_os([win]) == (win["os_sharpe"] > 0)
    fail = mining.judge(simulate_one("close", real_panel, BASE_SETTINGS))          # a price level: no edge
    assert fail["status"] == "ok" and fail["verdict"] != "winner"
    broken = mining.judge(simulate_one("ts_mean(close, ", real_panel, BASE_SETTINGS))
    assert broken["status"] == "error" and broken["verdict"] == "fail" and broken["pnl"].size == 0

    # a scaled copy (correlation 1) is not independent of the original; a negated copy (-1) is
    twin = {**win, "hash": "twin", "pnl": 2.0 * win["pnl"], "is_fitness": win["is_fitness"] - 0.1}
    mirror = {**win, "hash": "mirror", "pnl": -win["pnl"], "is_fitness": win["is_fitness"] - 0.2}
    kept = mining.independent([mirror, twin, win, win])
    assert [w["hash"] for w in kept] == [win["hash"], "mirror"]
    assert mining.independent([]) == []


def test_random_baseline_bookkeeping(real_panel):
    base = mining.random_baseline(real_panel, 25, seed=3)
    assert base["simulations"] == 25 and 0 < base["ok"] <= 25
    assert len(base["independent"]) <= base["winners"]
    assert base["positive_os"] == sum(w["os_sharpe"] > 0 for w in base["independent"])
    kept = base["independent"]
    if len(kept) > 1:                                       # pairwise below the limit, as the miner's count
        m, _ = pnl_matrix([(w["pnl"], w["dates"]) for w in kept])
        c = correlation_matrix(m, m)
        assert np.nanmax(c[~np.eye(len(kept), dtype=bool)]) < 0.7
    again = mining.random_baseline(real_panel, 25, seed=3)
    assert (again["ok"], again["winners"]) == (base["ok"], base["winners"])   # deterministic per seed
    fields, groups = mining.baseline_fields(real_panel, registry_for(real_panel))
    assert "close" in fields and "sector" in groups and not set(fields) & set(groups)


def test_rates_and_raw_rate(real_panel):
    assert mining.per_thousand(3, 600) == 5.0 and np.isnan(mining.per_thousand(1, 0))
    assert mining.ratio(10.0, 2.0) == 5.0 and mining.ratio(1.0, 0.0) == float("inf")
    assert np.isnan(mining.ratio(0.0, 0.0)) and np.isnan(mining.ratio(float("nan"), 1.0))
    raw = mining.raw_rate(real_panel, [WINNER, ("rank(close)", BASE_SETTINGS)])
    assert raw["n"] == 2 and raw["seconds"] > 0 and raw["per_second"] == pytest.approx(2 / raw["seconds"])


def test_upper_bound_is_the_rule_of_three_at_zero():
    assert mining.upper95_per_thousand(0, 600) == pytest.approx(1000 * 2.9957 / 600, rel=1e-4)
    assert mining.per_thousand(4, 600) < mining.upper95_per_thousand(4, 600) < mining.per_thousand(10, 600)
