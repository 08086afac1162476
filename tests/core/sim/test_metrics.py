"""PnL, period metrics, yearly rows, test split, factor statistics (SIMULATION.md §3 step 8, §4, §5; S4)."""
import numpy as np
import pytest
from scipy import stats

from alpha_core.sim import factor as F
from alpha_core.sim import metrics as M


def _series(pnl, traded, has=None):
    pnl = np.asarray(pnl, dtype=float)
    n = pnl.size
    return M.DailySeries(pnl=pnl, traded=np.asarray(traded, dtype=float), long_count=np.full(n, 3.0),
                         short_count=np.full(n, 2.0), max_weight=np.linspace(0.01, 0.05, n),
                         has_position=np.ones(n, dtype=bool) if has is None else np.asarray(has))


DATES5 = np.arange("2014-01-06", "2014-01-11", dtype="datetime64[D]")


def test_s4_period_metrics():
    s = _series([200e3, -100e3, 300e3, 0.0, 100e3], [np.nan, 2e6, 4e6, 0.0, 2e6])
    m, warnings = M.period_metrics(s, DATES5)
    assert warnings == []
    assert round(m["sharpe"], 6) == 11.224972
    assert round(m["returns"], 6) == 2.52
    assert round(m["turnover"], 6) == 0.1
    assert round(m["fitness"], 6) == 50.4
    assert round(m["drawdown"], 6) == 0.01
    assert round(m["margin"], 6) == 0.0625
    assert m["pnl"] == 500e3 and m["bookSize"] == 20e6 and m["days"] == 5
    assert (m["longCount"], m["shortCount"], m["maxWeight"]) == (3.0, 2.0, 0.05)
    assert (m["startDate"], m["endDate"]) == ("2014-01-06", "2014-01-10")


def test_metric_start_skips_warm_up_and_the_first_days_traded_amount():
    # day 0 has no position; metric days are 1..4, whose first traded amount (20M build-up) is ignored
    s = _series([0.0, 100e3, -50e3, 100e3, 50e3], [np.nan, 20e6, 1e6, 3e6, 2e6],
                has=[False, True, True, True, True])
    m, _ = M.period_metrics(s, DATES5)
    assert m["startDate"] == "2014-01-07" and m["days"] == 4
    assert m["turnover"] == pytest.approx(2e6 / 20e6)
    assert m["margin"] == pytest.approx(200e3 / 6e6)


def test_drawdown_counts_from_zero_before_day_one():
    s = _series([-100e3, -50e3, 300e3], [np.nan, 1e6, 1e6])
    m, _ = M.period_metrics(s, DATES5[:3])
    assert m["drawdown"] == pytest.approx(150e3 / 10e6)


def test_undefined_metrics_are_none_with_warnings():
    m, warnings = M.period_metrics(_series([0.0, 0.0, 0.0], [np.nan, 0.0, 0.0]), DATES5[:3])
    assert m["sharpe"] is None and m["fitness"] is None and m["margin"] is None
    codes = {w["code"] for w in warnings}
    assert codes == {"W_UNDEFINED_METRIC"}
    m, warnings = M.period_metrics(_series([1.0, 2.0], [np.nan, 1.0], has=[False, False]), DATES5[:2])
    assert m["sharpe"] is None and m["startDate"] is None and m["pnl"] is None
    assert warnings[0]["code"] == "W_NO_POSITIONS"
    assert M.sharpe_ratio(np.full(10, 123.456)) is None      # constant PnL: rounding noise is not a sharpe


def test_daily_pnl_nan_return_contributes_zero_and_traded_amount():
    pos = np.array([[1e6, -1e6], [2e6, 0.0], [0.0, 0.0]])
    ret = np.array([[np.nan, 0.01], [0.05, np.nan], [0.02, 0.03]])
    np.testing.assert_allclose(M.daily_pnl(pos, ret), [-1e4, 1e5, 0.0])
    tr = M.dollars_traded(pos)
    assert np.isnan(tr[0]) and tr[1:].tolist() == [2e6, 2e6]
    w = pos / 20e6
    w[w == 0] = np.nan
    s = M.daily_series(w, ret)
    assert s.long_count.tolist() == [1, 1, 0] and s.short_count.tolist() == [1, 0, 0]
    assert s.has_position.tolist() == [True, True, False]
    np.testing.assert_allclose(s.max_weight, [0.05, 0.1, 0.0])


def test_yearly_rows_split_by_calendar_year_and_stage():
    dates = np.array(["2014-12-29", "2014-12-30", "2014-12-31", "2015-01-02", "2015-01-05", "2015-01-06"],
                     dtype="datetime64[D]")
    s = _series([10.0, 20.0, 30.0, 40.0, 50.0, 70.0], [np.nan, 1e6, 1e6, 2e6, 2e6, 2e6],
                has=[False, True, True, True, True, True])
    rows = M.yearly_rows(s, dates, [("IS", slice(0, 4)), ("OS", slice(4, 6))])
    assert [(r["year"], r["stage"]) for r in rows] == [("2014", "IS"), ("2015", "IS"), ("2015", "OS")]
    assert rows[0]["pnl"] == 50.0 and rows[1]["pnl"] == 40.0 and rows[2]["pnl"] == 120.0
    assert rows[0]["turnover"] == pytest.approx(1e6 / 20e6)   # 12-31 only: 12-30 is the row's first day
    assert rows[1]["turnover"] is None and rows[1]["sharpe"] is None


def test_test_split_takes_the_last_years_and_months_of_is():
    dates = np.arange("2013-02-08", "2017-02-08", dtype="datetime64[D]")
    i = M.test_split(dates, (1, 0, 0))
    assert str(dates[i]) == "2016-02-08" and str(dates[i - 1]) == "2016-02-07"
    i = M.test_split(dates, (1, 6, 0))
    assert str(dates[i]) == "2015-08-08"
    assert M.test_split(dates, (0, 0, 0)) is None
    march = np.arange("2016-01-01", "2016-04-01", dtype="datetime64[D]")
    assert str(march[M.test_split(march, (0, 1, 0))]) == "2016-03-01"   # 03-31 - 1 month clamps to 02-29


def test_factor_series_match_scipy_and_hand_spread():
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=(40, 30)), 1)                # ties
    y = rng.normal(size=(40, 30))
    x[rng.random(x.shape) < 0.2] = np.nan
    y[rng.random(y.shape) < 0.1] = np.nan
    d = F.daily_factor_series(x, y)
    for t in (0, 17, 39):
        ok = np.isfinite(x[t]) & np.isfinite(y[t])
        assert d["ic"][t] == pytest.approx(np.corrcoef(x[t, ok], y[t, ok])[0, 1], abs=1e-12)
        assert d["rankIc"][t] == pytest.approx(stats.spearmanr(x[t, ok], y[t, ok])[0], abs=1e-12)
    # 10 instruments, alpha = 0..9: bottom quintile = {0, 1}, top = {8, 9}
    x1 = np.arange(10.0)[None, :]
    y1 = np.array([[0.01, 0.03, 0, 0, 0, 0, 0, 0, 0.02, 0.06]])
    spread = F.daily_factor_series(x1, y1)["spread"][0]
    assert spread == pytest.approx(0.04 - 0.02)
    summary = F.factor_summary({"ic": np.array([0.1, 0.3, np.nan]), "rankIc": np.array([0.2, 0.2, 0.2]),
                                "spread": np.array([0.001, 0.003, np.nan])}, slice(None))
    assert summary["icMean"] == pytest.approx(0.2)
    assert summary["icIR"] == pytest.approx(0.2 / 0.1 * np.sqrt(252))
    assert summary["rankIcIR"] is None                        # zero dispersion
    assert summary["quantileSpread"] == pytest.approx(0.002 * 252)


def test_factor_days_with_too_few_or_constant_values_are_nan():
    x = np.array([[1.0, 2.0, 3.0, 4.0, np.nan], [1.0, 1.0, 1.0, 1.0, 1.0]])
    y = np.array([[0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5]])
    d = F.daily_factor_series(x, y)
    assert np.isnan(d["ic"]).all() and np.isnan(d["rankIc"]).all() and np.isnan(d["spread"]).all()


def test_period_rows_equal_period_metrics_of_the_slice():
    rng = np.random.default_rng(2)
    n = 30
    s = _series(rng.normal(0, 1e5, n), np.r_[np.nan, rng.uniform(0, 4e6, n - 1)],
                has=np.r_[np.zeros(4, bool), np.ones(n - 4, bool)])
    dates = np.datetime64("2015-01-01") + np.arange(n)
    for lo, hi in ((0, n), (2, 17), (10, 11), (0, 3)):
        got, got_w = M.period_rows(s, dates, lo, hi, "p")
        want, want_w = M.period_metrics(s.slice(slice(lo, hi)), dates[lo:hi], "p")
        assert got == want and got_w == want_w
