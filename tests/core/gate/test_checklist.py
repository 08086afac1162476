"""The alpha checklist (alpha_core.gate.checklist): every check's rule on constructed daily PnL, and its values on
published alphas against an independent pandas computation on the real panel."""
import math

import numpy as np
import pandas as pd
import pytest

from alpha_core.expr import lint
from alpha_core.gate.checklist import (CHECK_ORDER, LATE_WINDOW_CHECKS, GateLimits, alpha_checklist,
                                       complexity_check, coverage_check, ladder_check, lint_check, stability_check,
                                       two_year_check)
from alpha_core.gate.checks import all_passed
from alpha_core.gen.search import SCORED_CHECKS
from alpha_core.sim.settings import SimSettings


def _days(n, start="2013-03-01"):
    return np.busday_offset(np.datetime64(start, "D"), np.arange(n), roll="forward")


def _pnl(n, sharpe, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x = (x - x.mean()) / x.std()
    return (x + sharpe / math.sqrt(252)) * 1e5


def test_two_year_and_ladder_catch_a_decaying_alpha():
    dates = _days(1000)
    good = _pnl(1000, 2.0)
    assert two_year_check(good, dates, 1.25).result == "PASS"
    assert ladder_check(good, dates, 1.25).result in ("PASS", "FAIL")        # defined: 3 rungs fit (3 years)
    decaying = np.concatenate([_pnl(500, 4.0, 1), _pnl(500, -0.5, 2)])
    two = two_year_check(decaying, dates, 1.25)
    assert two.result == "FAIL" and two.value == pytest.approx(
        decaying[-504:].mean() / decaying[-504:].std() * math.sqrt(252))
    ladder = ladder_check(decaying, dates, 1.25)
    assert ladder.value == pytest.approx(decaying[-756:].mean() / decaying[-756:].std() * math.sqrt(252))
    assert "last 3 IS years" in ladder.message
    assert two_year_check(good[:300], dates[:300], 1.25).result == "PENDING"
    assert ladder_check(good[:700], dates[:700], 1.25).result == "PENDING"


def test_stability_counts_losing_years():
    dates = _days(1008, "2013-01-01")
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    pnl = _pnl(1008, 2.0, 4)
    pnl[years == 2014] = -np.abs(pnl[years == 2014])          # one losing year of four
    c = stability_check(pnl, dates, 0.75)
    assert c.result == "PASS" and c.value == pytest.approx(0.75) and "2014" in c.message
    pnl[years == 2015] = -np.abs(pnl[years == 2015])
    c = stability_check(pnl, dates, 0.75)
    assert c.result == "FAIL" and c.value == pytest.approx(0.5) and "2014, 2015" in c.message
    assert stability_check(np.zeros(0), dates[:0], 0.75).result == "PENDING"


def test_coverage_complexity_and_lint():
    assert coverage_check(120, 50).result == "PASS" and coverage_check(12, 50).result == "FAIL"
    assert coverage_check(None, 50).result == "PENDING"
    small = lint("rank(-ts_delta(close, 5))").program
    c = complexity_check(small, 30)
    assert c.result == "PASS" and c.value == 5.0 and "1 fields" in c.message and "1 constants" in c.message
    big = lint(" + ".join(f"rank(ts_delta(close, {k}))" for k in range(2, 12))).program
    assert complexity_check(big, 30).result == "FAIL"
    assert lint_check(0).result == "PASS" and lint_check(2).result == "WARNING"


def test_checklist_has_every_check_in_order_and_pending_does_not_block():
    dates = _days(1000)
    row = {"is_sharpe": 2.0, "is_fitness": 1.5, "is_turnover": 0.2, "is_max_weight": 0.02,
           "is_sub_universe_sharpe": 1.5, "is_min_coverage": 400.0}
    checks = alpha_checklist(row, SimSettings(), pnl=_pnl(1000, 2.0), dates=dates,
                             program=lint("rank(-ts_delta(close, 5))").program)
    assert tuple(c.name for c in checks) == CHECK_ORDER and len(checks) == 19
    pending = {c.name for c in checks if c.result == "PENDING"}
    assert {"SELF_CORRELATION", "DEFLATED_SHARPE", "CROWDING", "NOVELTY", "NO_LOOKAHEAD"} <= pending
    assert all_passed(checks) == all(c.result != "FAIL" for c in checks)
    live = alpha_checklist(row, SimSettings(), pnl=_pnl(1000, 2.0), dates=dates,
                           brain_limits={"LOW_SHARPE": 2.5, "LOW_2Y_SHARPE": 9.0})
    by = {c.name: c for c in live}
    assert by["LOW_SHARPE"].limit == 2.5 and by["LOW_SHARPE"].result == "FAIL"     # live limits win
    assert by["LOW_2Y_SHARPE"].limit == 9.0 and by["LOW_2Y_SHARPE"].result == "FAIL"
    assert by["COMPLEXITY"].result == "PENDING"
    assert alpha_checklist(row, SimSettings(), pnl=_pnl(1000, 2.0), dates=dates,
                           limits=GateLimits(coverage_min=500))[11].result == "FAIL"


def test_the_search_score_never_reads_the_late_window_checks():
    assert not set(SCORED_CHECKS) & set(LATE_WINDOW_CHECKS)


PUBLISHED = [  # (source, FastExpr)
    ("101 Formulaic Alphas #101 (Kakushadze 2016)", "(close - open) / ((high - low) + 0.001)"),
    ("101 Formulaic Alphas #12", "sign(ts_delta(volume, 1)) * (-1 * ts_delta(close, 1))"),
    ("BRAIN price reversion example", "rank(ts_mean(close, 30) - close)"),
]


@pytest.mark.real_data
@pytest.mark.parametrize("source, expression", PUBLISHED)
def test_published_alphas_match_an_independent_computation(real_panel, source, expression):
    from alpha_core.gen.pipeline import is_pnl, sim_row
    from alpha_core.sim.simulate import simulate_one

    out = simulate_one(expression, real_panel, {"decay": 4, "neutralization": "INDUSTRY"})
    res = out.result
    row = sim_row({}, res)
    pnl, dates = is_pnl(row)
    checks = {c.name: c for c in alpha_checklist(row, res.settings, pnl=pnl, dates=dates,
                                                 program=out.lint.program)}
    # independent: pandas over the SimResult's own daily arrays
    s = pd.Series(np.asarray(res.daily_pnl), index=pd.DatetimeIndex(res.dates.astype("datetime64[ns]")))
    is_ = s[res.is_["startDate"]:res.is_["endDate"]]

    def sharpe(x):
        return x.mean() / x.std(ddof=0) * math.sqrt(252)
    assert checks["LOW_2Y_SHARPE"].value == pytest.approx(sharpe(is_.iloc[-504:]), rel=1e-9)
    assert checks["IS_LADDER_SHARPE"].value == pytest.approx(min(sharpe(is_.iloc[-252 * k:])
                                                                 for k in range(3, len(is_) // 252 + 1)), rel=1e-9)
    years = is_.groupby(is_.index.year)
    frac = np.mean([sharpe(g) > 0 for _, g in years if len(g) >= 126])
    assert checks["IS_STABILITY"].value == pytest.approx(frac)
    w = pd.DataFrame(res.weights[res.is_slice], index=pd.DatetimeIndex(res.dates[res.is_slice].astype("datetime64[ns]")))
    held = (w.notna() & (w != 0)).sum(axis=1)[res.is_["startDate"]:]
    assert checks["COVERAGE"].value == held.min()
    assert checks["LOW_SHARPE"].value == pytest.approx(sharpe(is_), rel=1e-9)
    # verdicts follow the values and limits
    for c in checks.values():
        if c.result in ("PASS", "FAIL") and c.name in ("LOW_2Y_SHARPE", "IS_LADDER_SHARPE", "COVERAGE"):
            assert (c.result == "PASS") == (c.value >= c.limit), (source, c)
