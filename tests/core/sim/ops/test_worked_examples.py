"""FASTEXPR.md §10 worked examples 1-21, pinned to 6 decimals."""
import numpy as np
import pytest

from ops_testlib import call, col, nan, row

close = lambda got, want: np.testing.assert_allclose(got, want, atol=5e-7, rtol=0, equal_nan=True)


def today(a):
    return a[-1, 0]


def test_01_rank():
    close(call("rank", row(4, 3, 6, 10, 2)), row(0.5, 0.25, 0.75, 1, 0))


def test_02_rank_ties_nan_single():
    close(call("rank", row(1, 2, 2, nan, 3)), row(0, 0.5, 0.5, nan, 1))
    close(call("rank", row(7)), row(0.5))
    close(call("rank", row(nan, 7, nan)), row(nan, 0.5, nan))


def test_03_ts_rank():
    x = col(1, 3, 2, 3)
    assert today(call("ts_rank", x, 4)) == pytest.approx(0.833333, abs=5e-7)
    assert today(call("ts_rank", x, 4, constant=1)) == pytest.approx(1.833333, abs=5e-7)
    assert today(call("ts_rank", x, 1)) == 0.0


def test_04_ts_arg_max_min():
    x = col(4, 9, 5, 8, 2, 6)
    assert today(call("ts_arg_max", x, 6)) == 4
    assert today(call("ts_arg_min", x, 6)) == 1


def test_05_ts_arg_max_tie_most_recent():
    assert today(call("ts_arg_max", col(5, 1, 5), 3)) == 0
    assert today(call("ts_arg_max", col(5, 5, 1), 3)) == 1
    assert today(call("ts_arg_min", col(1, 1, 2), 3)) == 1


def test_06_ts_decay_linear():
    assert today(call("ts_decay_linear", col(1, 2, 3), 3)) == pytest.approx(2.333333, abs=5e-7)
    assert today(call("ts_decay_linear", col(1, nan, 3), 3)) == pytest.approx(1.666667, abs=5e-7)
    assert today(call("ts_decay_linear", col(1, nan, 3), 3, dense=True)) == pytest.approx(2.5)


def test_07_std_zscore_mean():
    x = col(1, 2, 3, 4)
    assert today(call("ts_std_dev", x, 4)) == pytest.approx(1.118034, abs=5e-7)
    assert today(call("ts_zscore", x, 4)) == pytest.approx(1.341641, abs=5e-7)
    assert np.isnan(call("ts_mean", x, 5)).all()


def test_08_ts_mean_strict():
    out = call("ts_mean", col(1, nan, 3, 4), 4)
    assert np.isnan(out).all()
    close(call("ts_mean", col(1, nan, 3, 4), 2), col(nan, nan, nan, 3.5))


def test_09_delay_delta():
    x = col(10, 11, 13, 12)
    close(call("ts_delay", x, 3), col(nan, nan, nan, 10))
    close(call("ts_delta", x, 2), col(nan, nan, 3, 1))


@pytest.mark.parametrize("rettype,want", [
    (0, 0.166667), (1, -0.666667), (2, 1.5), (3, 3.833333), (4, 0.166667), (5, 4.666667),
    (6, 0.964286), (7, 0.166667), (8, 0.288675), (9, 0.623610)])
def test_10_ts_regression(rettype, want):
    y, x = col(1, 2, 4), col(1, 2, 3)
    assert today(call("ts_regression", y, x, 3, rettype=rettype)) == pytest.approx(want, abs=5e-7)


def test_11_corr_cov():
    x, y = col(1, 2, 3, 4), col(2, 4, 5, 9)
    assert today(call("ts_corr", x, y, 4)) == pytest.approx(0.964764, abs=5e-7)
    assert today(call("ts_covariance", y, x, 4)) == pytest.approx(2.75)


def test_12_ts_backfill():
    x = col(1, nan, nan, 4, nan)
    close(call("ts_backfill", x, lookback=2), col(1, 1, nan, 4, 4))
    close(call("ts_backfill", x, 3), col(1, 1, 1, 4, 4))


def test_13_kth_element():
    x = col(5, nan, 7, nan)
    got = [today(call("kth_element", x, 4, k)) for k in (1, 2, 3)]
    close(got, [7, 5, nan])


def test_14_zscore_winsorize():
    x = row(1, 2, 3, 4, 100)
    close(call("zscore", x), row(-0.538285, -0.512652, -0.487019, -0.461387, 1.999343))
    close(call("winsorize", x, std=1), row(1, 2, 3, 4, 61.012818))


def test_15_scale():
    x = row(2, -1, 1)
    close(call("scale", x), row(0.5, -0.25, 0.25))
    close(call("scale", x, longscale=2, shortscale=1), row(1.333333, -1, 0.666667))


def test_16_quantile_gaussian():
    close(call("quantile", row(4, 3, 6, 10, 2)), row(0, -0.385320, 0.385320, 0.841621, -0.841621))


def test_17_group_neutralize_rank():
    x, g = row(1, 2, 3, 10, 20), row(0, 0, 0, 1, 1)
    close(call("group_neutralize", x, g), row(-1, 0, 1, -5, 5))
    close(call("group_rank", x, g), row(0, 0.5, 1, 0, 1))


def test_18_bucket():
    close(call("bucket", row(-1, 3, 6, 8, 12), buckets="2,5,6,7,10"), row(0, 1, 2, 4, 5))


def test_19_densify():
    close(call("densify", row(10, 30, 10, nan, 20)), row(0, 2, 0, nan, 1))


def test_20_trade_when():
    x, y, z = col(1, 0, 0, 1, 0), col(10, 20, 30, 40, 50), col(-1, -1, 1, -1, -1)
    close(call("trade_when", x, y, z), col(10, 10, nan, 40, 40))


def test_21_hump():
    x = np.array([[1.0, -1.0], [1.01, -0.5]])
    close(call("hump", x, hump=0.01), np.array([[1.0, -1.0], [1.0, -0.5]]))
