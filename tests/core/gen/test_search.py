"""The miner's search (alpha_core.gen.search.run_search) on the real panel: budget, determinism, resume,
the memo across partitions, kill switches, the OS holdout, and what a winner / sign flip means."""
import datetime as dt
import math

import numpy as np
import pytest

from alpha_core.gen.search import SearchConfig, SearchContext, run_search

pytestmark = pytest.mark.real_data

DATE, FIELD = "2026-11-21", "close"
VALUE_FIELDS = ["close", "open", "high", "low", "vwap", "returns", "volume", "adv20", "cap"]


def _context(panel, date=DATE, field=FIELD, memo=None):
    """A SearchContext as the driver builds it: field kinds and companions from the panel's registry."""
    from alpha_core.gen.seeds import field_kind
    from alpha_core.sim.simulate import registry_for

    reg = registry_for(panel)
    kinds = {f: field_kind(f, reg) for f in panel.field_names()
             if reg.get(f) is None or reg.get(f).kind == "MATRIX"}
    companions: dict[str, list[str]] = {}
    for f, k in sorted(kinds.items()):
        companions.setdefault(k, []).append(f)
    return SearchContext(date, field, panel, reg, kinds[field], companions, VALUE_FIELDS, memo=memo or {})


def _memo(result, date=DATE, field=FIELD):
    """The memo a resumed run reads: each trial's row as stored (DuckDB returns the date as a ``date``)."""
    return {t.alpha_hash: {**t.row, "mining_date": dt.date.fromisoformat(date), "field": field}
            for t in result.trials}


def _trace(result):
    """Every decision of a search, its alpha checklist and the IS numbers it read (no OS column)."""
    return [(t.alpha_hash, t.origin, t.move, t.parent_hash, t.generation, t.verdict, t.score,
             tuple((c.name, c.result, c.value, c.limit) for c in t.checks),
             tuple(t.row.get(k) for k in ("status", "is_sharpe", "is_fitness", "is_turnover", "is_max_weight",
                                          "is_sub_universe_sharpe")))
            for t in result.trials]


@pytest.fixture(scope="module")
def base(real_panel):
    """One search of close with a budget of 120 (shared by the tests that only read it)."""
    return run_search(_context(real_panel), SearchConfig(budget=120))


def test_budget_is_respected_exactly(base):
    c = base.counts
    assert base.stop_reason == "budget" and not base.tripped
    assert c["simulated"] + c["replayed"] == 120 and c["replayed"] == 0 and c["reused"] == 0
    assert len(base.trials) == 120 and len({t.alpha_hash for t in base.trials}) == 120
    assert all(t.kind == "new" for t in base.trials)
    assert {t.origin for t in base.trials} >= {"seed", "surgeon", "gp"}
    assert base.progress[-1]["simulated"] == 120
    winners = {t.alpha_hash for t in base.winners()}
    assert base.independent <= winners and base.progress[-1]["independent_passes"] == len(base.independent)
    assert base.progress[-1]["passes"] == len(winners)


def test_search_is_deterministic(real_panel, base):
    again = run_search(_context(real_panel), SearchConfig(budget=120))
    assert [t.alpha_hash for t in again.trials] == [t.alpha_hash for t in base.trials]
    assert _trace(again) == _trace(base)


def test_search_is_deterministic_across_processes(base):
    """A killed run resumes in another process: string hashing (PYTHONHASHSEED) must not steer the search."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_search as m; "
            "from alpha_core.data.loader import load_panel; "
            "r = m.run_search(m._context(load_panel()), m.SearchConfig(budget=120)); "
            "print(' '.join(t.alpha_hash for t in r.trials))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env, capture_output=True,
                         text=True, check=True, timeout=300)
    assert out.stdout.split() == [t.alpha_hash for t in base.trials]


def test_resume_replays_stored_alphas(real_panel, base):
    memo = _memo(base)
    b = run_search(_context(real_panel, memo=memo), SearchConfig(budget=120))
    assert b.counts["simulated"] == 0 and b.counts["replayed"] == 120 and b.counts["reused"] == 0
    assert [t.alpha_hash for t in b.trials] == [t.alpha_hash for t in base.trials]
    assert all(t.kind == "replay" for t in b.trials)
    assert _trace(b) == _trace(base)
    c = run_search(_context(real_panel, memo=memo), SearchConfig(budget=200))
    assert c.counts["replayed"] == 120 and c.counts["simulated"] == 80 and c.stop_reason == "budget"
    assert [t.alpha_hash for t in c.trials[:120]] == [t.alpha_hash for t in base.trials]
    assert {t.alpha_hash for t in c.trials if t.kind == "new"}.isdisjoint(memo)


def test_memo_from_another_partition_is_reused_not_returned(real_panel, base):
    memo = _memo(base, date="2026-11-20")                       # the same alphas, stored on another day
    r = run_search(_context(real_panel, memo=memo), SearchConfig(budget=60))
    assert r.counts["reused"] > 0 and r.counts["replayed"] == 0
    assert r.counts["simulated"] == 60 and r.stop_reason == "budget"     # reused rows cost no budget
    own = {t.alpha_hash for t in r.trials}
    assert own.isdisjoint(memo) and all(t.kind == "new" for t in r.trials)


def test_wall_time_switch(real_panel):
    r = run_search(_context(real_panel), SearchConfig(budget=500, max_seconds=1e-6))
    assert r.stop_reason == "wall_time" and r.tripped and "wall-time" in r.stop_detail
    assert r.counts["simulated"] < 500


def test_consecutive_failures_switch(real_panel, monkeypatch):
    from alpha_core.sim.budget import default_budget

    monkeypatch.setenv("ALPHA_EVAL_MAX_SECONDS", "0.000001")   # every alpha is refused (E_BUDGET)
    default_budget.cache_clear()
    try:
        r = run_search(_context(real_panel), SearchConfig(budget=500, max_consecutive_failures=7))
    finally:
        monkeypatch.undo()
        default_budget.cache_clear()
    assert r.stop_reason == "failures" and r.tripped
    assert r.counts["simulated"] == 7 and "7 simulations in a row failed" in r.stop_detail
    assert "E_BUDGET" in r.stop_detail
    assert all(not t.ok and t.verdict == "fail" for t in r.trials)


def test_os_is_a_holdout_nobody_reads(real_panel, os_scrambled_panel, base):
    other = os_scrambled_panel
    n_is = real_panel.T - math.ceil(0.2 * real_panel.T)
    assert np.array_equal(other["close"][:n_is], real_panel["close"][:n_is], equal_nan=True)
    assert not np.allclose(other["close"][n_is:], real_panel["close"][n_is:], equal_nan=True)
    r = run_search(_context(other), SearchConfig(budget=120))
    assert _trace(r) == _trace(base)                             # every decision and IS number is the same
    pairs = [(a.row.get("os_sharpe"), b.row.get("os_sharpe")) for a, b in zip(base.trials, r.trials)
             if a.ok and b.ok]
    differ = sum(x is not None and y is not None and abs(x - y) > 1e-6 for x, y in pairs)
    assert differ > 0.8 * len(pairs)                             # while OS moved under nearly every alpha


def test_is_metrics_ignore_os_data_in_every_universe(real_panel, os_scrambled_panel):
    """The IS block of one simulation (incl. the sub-universe sharpe, TOP200 membership, decay reaching back,
    truncation) is the same when only OS-period data change: no boundary leak from the first OS day."""
    from alpha_core.gen.templates import settings_for
    from alpha_core.sim.simulate import simulate_one

    other = os_scrambled_panel
    for expr, st in [("rank(-ts_delta(close, 5))", {"decay": 8, "universe": "TOP200"}),
                     ("-ts_zscore(volume / adv20, 20) * rank(cap)", {"decay": 0, "truncation": 0.01}),
                     ("group_rank(ts_mean(returns, 60), industry)", {"decay": 16, "neutralization": "SECTOR"})]:
        a = simulate_one(expr, real_panel, settings_for(st)).result
        b = simulate_one(expr, other, settings_for(st)).result
        assert a.is_ == b.is_, expr
        assert a.os["sharpe"] != b.os["sharpe"], expr
        n_is = a.is_slice.stop
        np.testing.assert_array_equal(np.asarray(a.daily_pnl)[:n_is], np.asarray(b.daily_pnl)[:n_is])


def test_winners_pass_every_check_and_sign_flips_negate(real_panel, base):
    more = run_search(_context(real_panel, memo=_memo(base)), SearchConfig(budget=300))
    winners = more.winners()
    assert winners
    for t in winners:
        assert not [c.name for c in t.checks if c.result == "FAIL"], (t.expression, t.checks)
    by_hash = {t.alpha_hash: t for t in more.trials}
    flips = [t for t in more.trials if t.origin == "sign_flip"]
    assert flips
    for t in flips:
        parent = by_hash[t.parent_hash]
        assert parent.row["is_sharpe"] <= -1.0
        assert t.row["is_sharpe"] == pytest.approx(-parent.row["is_sharpe"], abs=0.15), t.expression
