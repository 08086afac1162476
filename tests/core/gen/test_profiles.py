"""Field profiles: values computed by hand."""
import math

import numpy as np

from alpha_core.gen.profiles import daily_rank_ic, lag1_autocorr, next_day_returns, profile_field


class FakePanel:
    label = "FAKE"

    def __init__(self, **arrays):
        self.arrays = arrays

    def __getitem__(self, name):
        return self.arrays[name]


def test_next_day_returns():
    close = np.array([[10.0, 20.0], [11.0, 0.0], [12.1, 5.0]])
    r = next_day_returns(close)
    np.testing.assert_allclose(r[0], [0.1, -1.0])
    assert math.isclose(r[1, 0], 0.1) and np.isnan(r[1, 1])   # previous close 0 -> NaN
    assert np.isnan(r[2]).all()


def test_lag1_autocorr_alternating_is_minus_one_and_trend_positive():
    alt = np.tile(np.array([[1.0], [-1.0]]), (10, 3))
    assert math.isclose(lag1_autocorr(alt), -1.0)
    trend = np.arange(50.0)[:, None] * np.ones((1, 4))
    assert lag1_autocorr(trend) > 0.9


def test_ic_is_one_when_field_ranks_next_day_returns():
    rng = np.random.default_rng(0)
    T, N = 30, 25
    r = rng.normal(0, 0.01, (T, N))
    close = np.empty((T, N))
    close[0] = 100.0
    for t in range(1, T):
        close[t] = close[t - 1] * (1 + r[t - 1])
    ic = daily_rank_ic(r, next_day_returns(close))
    np.testing.assert_allclose(ic[:-1], 1.0)
    assert np.isnan(ic[-1])                                       # no next day
    prof = profile_field(FakePanel(x=r, close=close), "x")
    assert math.isclose(prof["ic_mean"], 1.0) and prof["ic_days"] == T - 1
    assert math.isnan(prof["ic_ir"])                              # IC std 0 -> IR undefined
    assert prof["coverage"] == 1.0 and prof["n_dates"] == T and prof["n_tickers"] == N


def test_ic_needs_twenty_pairs():
    x = np.arange(19.0)[None, :].repeat(3, axis=0)
    assert np.isnan(daily_rank_ic(x, x)).all()
