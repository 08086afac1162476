"""``start``/``end`` restrict positions and every metric period (docs/DESIGN.md, "--start/--end"):
IS = range ∩ the panel's IS dates, OS = range ∩ the held-out OS dates, train/test and yearly rows inside them;
a range the panel cannot simulate is a ``DateRangeError`` naming the bound at fault."""
import numpy as np
import pytest

from alpha_core.sim.backtest import DateRangeError, backtest, trading_periods
from alpha_core.sim.settings import SimSettings
from tests.core.sim.test_backtest import random_panel

S = SimSettings(neutralization="MARKET")


def _rows(dates, lo, hi):
    """Row indices of the panel dates in [lo, hi] (inclusive), counted directly from the dates."""
    d = np.asarray(dates).astype("datetime64[D]")
    return np.flatnonzero((d >= np.datetime64(lo)) & (d <= np.datetime64(hi)))


def test_without_a_range_the_periods_are_the_panels_split():
    p = random_panel(T=100)
    assert trading_periods(p, S) == (slice(0, 80), slice(80, 100))
    assert trading_periods(p, S, oos_fraction=0) == (slice(0, 100), slice(100, 100))


def test_a_range_keeps_the_os_holdout_fixed_and_intersects_it():
    p = random_panel(T=100)
    d = [str(x) for x in p.dates]
    # straddling the IS/OS boundary: IS ends where the panel's IS ends, OS starts where the panel's OS starts
    assert trading_periods(p, S, start=d[50], end=d[89]) == (slice(50, 80), slice(80, 90))
    # inside IS: OS is empty, at the panel's boundary
    assert trading_periods(p, S, start=d[30], end=d[40]) == (slice(30, 41), slice(80, 80))
    # a weekend bound moves to the next / previous trading date
    sat = np.datetime64(d[30]) + np.arange(-7, 7)
    sat = str(sat[np.is_busday(sat, weekmask="0000010")][0])
    lo = int(np.searchsorted(p.dates, np.datetime64(sat)))
    assert trading_periods(p, S, start=sat, end=d[60])[0].start == lo and p.dates[lo] > np.datetime64(sat)
    assert trading_periods(p, S, end=sat)[0].stop == lo


@pytest.mark.parametrize("start, end, bounds, message", [
    ("2014-02-31", None, ("start",), "'2014-02-31' is not a calendar date"),
    ("yesterday", None, ("start",), "'yesterday' is not a date YYYY-MM-DD"),
    (None, "2014-1-5", ("end",), "'2014-1-5' is not a date YYYY-MM-DD"),
    ("2010-01-04", None, ("start",), "2010-01-04 is outside the panel (the panel's dates are 2014-01-01 .. "),
    (None, "2030-01-01", ("end",), "2030-01-01 is outside the panel"),
    ("2014-03-03", "2014-02-03", ("start", "end"), "start 2014-03-03 is after end 2014-02-03"),
    ("2014-01-04", "2014-01-05", ("start", "end"), "no trading date of the panel in 2014-01-04 .. 2014-01-05"),
    ("2014-01-01", "2014-01-08", ("start", "end"), "no date in 2014-01-01 .. 2014-01-08 has a TOP500 universe"),
])
def test_a_range_the_panel_cannot_simulate_is_named(start, end, bounds, message):
    p = random_panel(T=100)   # 2014-01-01 .., the first universe on its 11th date
    with pytest.raises(DateRangeError) as info:
        trading_periods(p, S, start=start, end=end)
    assert info.value.bounds == bounds and message in str(info.value)
    assert info.value.code == "E_DATE_RANGE"


def test_a_range_inside_the_os_period_is_an_error_not_null_metrics():
    p = random_panel(T=100)
    with pytest.raises(DateRangeError, match=f"lies in the held-out OS period .{p.dates[80]}") as info:
        backtest(np.ones((100, 30)), p, S, start=str(p.dates[85]))
    assert info.value.bounds == ("start",)


def test_a_range_trades_only_inside_it_and_matches_the_whole_run_there():
    p = random_panel(T=100)
    raw = np.random.default_rng(1).normal(size=(100, 30))
    s = SimSettings(neutralization="SECTOR", decay=4, testPeriod="P0Y1M")
    full = backtest(raw, p, s)
    part = backtest(raw, p, s, start=str(p.dates[40]), end=str(p.dates[89]))
    # no position outside the range (not even the decay's tail after the end)
    assert np.isnan(part.weights[:40]).all() and np.isnan(part.weights[90:]).all()
    assert (part.daily_pnl[:40] == 0).all() and (part.daily_pnl[90:] == 0).all()
    # inside it, the weights and PnL of the whole-panel run (decay and the expression see earlier rows)
    np.testing.assert_array_equal(part.weights[40:90], full.weights[40:90])
    np.testing.assert_array_equal(part.daily_pnl[40:90], full.daily_pnl[40:90])
    d = part.to_dict()
    assert (d["is"]["startDate"], d["is"]["endDate"], d["is"]["days"]) == (str(p.dates[40]), str(p.dates[79]), 40)
    assert (d["os"]["startDate"], d["os"]["endDate"], d["os"]["days"]) == (str(p.dates[80]), str(p.dates[89]), 10)
    assert (d["local"]["isDays"], d["local"]["osDays"]) == (40, 10)
    assert d["train"]["startDate"] == str(p.dates[40]) and d["test"]["endDate"] == str(p.dates[79])
    assert d["train"]["days"] + d["test"]["days"] == 40
    assert d["yearly"][0]["stage"] == "IS" and d["yearly"][-1]["stage"] == "OS"
    assert sum(1 for y in d["yearly"] if y["stage"] == "OS") == 1   # OS rows: the OS part of the range only


def test_a_one_day_range_reports_one_is_day_with_its_undefined_metrics_named():
    p = random_panel(T=100)
    day = str(p.dates[50])
    d = backtest(np.random.default_rng(2).normal(size=(100, 30)), p, S, start=day, end=day).to_dict()
    assert (d["is"]["startDate"], d["is"]["endDate"], d["is"]["days"]) == (day, day, 1)
    assert d["os"] is None and d["local"]["osDays"] == 0
    assert d["is"]["pnl"] is not None and d["is"]["sharpe"] is None and d["is"]["turnover"] is None
    messages = [w["message"] for w in d["warnings"]]
    assert "is.sharpe: fewer than 2 metric days" in messages and "is.turnover: fewer than 2 metric days" in messages
    assert [y["year"] for y in d["yearly"]] == [day[:4]]


@pytest.mark.real_data
def test_real_panel_range_restricts_is_days_to_its_trading_dates(real_panel):
    from alpha_core.sim.simulate import simulate

    inside = _rows(real_panel.dates, "2014-01-02", "2014-12-31")
    d = simulate("rank(-returns)", real_panel, start="2014-01-02", end="2014-12-31").to_dict()
    assert d["is"]["days"] == len(inside) == 252
    assert (d["is"]["startDate"], d["is"]["endDate"]) == ("2014-01-02", "2014-12-31")
    assert d["os"] is None and [y["year"] for y in d["yearly"]] == ["2014"]

    one = simulate("rank(-returns)", real_panel, start="2015-06-01", end="2015-06-01").to_dict()
    assert (one["is"]["days"], one["is"]["startDate"], one["is"]["endDate"]) == (1, "2015-06-01", "2015-06-01")

    # across the IS/OS boundary: IS up to 2017-02-07, OS from 2017-02-08, each counted from the panel's dates
    r = simulate("rank(-returns)", real_panel, start="2016-07-01", end="2017-06-30")
    d = r.to_dict()
    assert d["is"]["days"] == len(_rows(real_panel.dates, "2016-07-01", "2017-02-07"))
    assert d["os"]["days"] == len(_rows(real_panel.dates, "2017-02-08", "2017-06-30"))
    assert (d["os"]["startDate"], d["os"]["endDate"]) == ("2017-02-08", "2017-06-30")
    assert {(y["year"], y["stage"]) for y in d["yearly"]} == {("2016", "IS"), ("2017", "IS"), ("2017", "OS")}
    assert r.daily_pnl[r.os_slice.stop:].max() == r.daily_pnl[r.os_slice.stop:].min() == 0.0

    with pytest.raises(DateRangeError, match=r"outside the panel \(the panel's dates are 2013-02-08 .. 2018-02-07\)"):
        simulate("rank(-returns)", real_panel, start="2012-12-31")
