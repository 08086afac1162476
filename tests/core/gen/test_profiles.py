"""Field profiles: values computed by hand."""
import math

import numpy as np
import pytest

from alpha_core.data.panel import Panel
from alpha_core.gen.profiles import daily_rank_ic, field_aliases, lag1_autocorr, next_day_returns, profile_field


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


def test_field_aliases_on_a_tiny_panel():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 4))
    a[0, :2] = np.nan
    nan_payload = a.copy()
    nan_payload.view(np.uint64)[0, 0] = 0x7FF8000000000001          # another NaN bit pattern: same data
    signed_zero = a.copy()
    signed_zero[3, 3] = 0.0
    other_zero = signed_zero.copy()
    other_zero[3, 3] = -0.0
    off_by_one_cell = a.copy()
    off_by_one_cell[5, 3] += 1e-12
    panel = Panel.from_arrays(np.arange(6).astype("datetime64[D]"), ["A", "B", "C", "D"], {
        "long_name_a": a, "bb": nan_payload, "aa": a, "near": off_by_one_cell, "z0": signed_zero,
        "zneg": other_zero, "grp": np.zeros((6, 4)), "grp2": np.zeros((6, 4))}, group_fields=["grp", "grp2"])
    assert field_aliases(panel) == {"bb": "aa", "long_name_a": "aa", "zneg": "z0"}   # shortest, then A-Z
    assert field_aliases(panel, ["grp", "grp2", "near"]) == {"grp2": "grp"}       # explicit list
    with pytest.raises(KeyError, match="nope"):
        field_aliases(panel, ["aa", "nope"])


@pytest.mark.real_data
def test_field_aliases_on_the_real_panel(real_panel):
    assert field_aliases(real_panel) == {"fnd6_newa1v1300_csho": "sharesout", "fnd6_newa2v1300_ni": "income",
                                         "fnd6_newa2v1300_xrd": "rd_expense", "fnd6_teq": "equity",
                                         "revenue": "sales"}
