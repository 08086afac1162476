"""Time-series kernels against naive per-window references, plus the strict-window NaN rules."""
import numpy as np
import pytest

from ops_testlib import call, col, nan

from alpha_core.sim.ops import KERNELS, KernelArgumentError


def panel(rng, T=40, N=7, nan_frac=0.1, ties=True):
    x = rng.integers(-4, 5, size=(T, N)).astype(float) if ties else rng.standard_normal((T, N))
    x[rng.random((T, N)) < nan_frac] = nan
    x[:, 0] = 2.5  # a constant column
    return x


def naive(x, d, f):
    T, N = x.shape
    out = np.full((T, N), nan)
    for t in range(d - 1, T):
        for j in range(N):
            w = x[t - d + 1:t + 1, j]
            if not np.isnan(w).any():
                out[t, j] = f(w)
    return out


def _rank(w):
    c = w[-1]
    return 0.0 if len(w) == 1 else ((w < c).sum() + ((w == c).sum() - 1) / 2) / (len(w) - 1)


def _argmax(w):
    return len(w) - 1 - int(np.flatnonzero(w == w.max())[-1])


def _argmin(w):
    return len(w) - 1 - int(np.flatnonzero(w == w.min())[-1])


def _zs(w):
    s = w.std()
    return nan if s == 0 else (w[-1] - w.mean()) / s


REFS = {
    "ts_sum": np.sum, "ts_mean": np.mean, "ts_std_dev": np.std, "ts_zscore": _zs,
    "ts_ir": lambda w: nan if w.std() == 0 else w.mean() / w.std(),
    "ts_av_diff": lambda w: w[-1] - w.mean(), "ts_max": np.max, "ts_min": np.min,
    "ts_max_diff": lambda w: w[-1] - w.max(), "ts_median": np.median, "ts_product": np.prod,
    "ts_rank": _rank, "ts_arg_max": _argmax, "ts_arg_min": _argmin,
    "ts_scale": lambda w: nan if w.max() == w.min() else (w[-1] - w.min()) / (w.max() - w.min()),
}


@pytest.mark.parametrize("name", sorted(REFS))
@pytest.mark.parametrize("d", [1, 2, 5, 13, 40, 41])
@pytest.mark.parametrize("ties", [True, False])
def test_window_ops_match_naive(name, d, ties, rng):
    x = panel(rng, ties=ties)
    with np.errstate(all="ignore"):
        want = naive(x, d, REFS[name])
    got = call(name, x, d)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert not np.shares_memory(got, x)


def test_window_longer_than_history_is_all_nan(rng):
    x = panel(rng, T=5)
    for name in ["ts_mean", "ts_std_dev", "ts_rank", "ts_arg_max", "ts_decay_linear", "ts_median",
                 "ts_max", "ts_sum", "ts_count_nans"]:
        assert np.isnan(call(name, x, 6)).all(), name


def test_constant_window_std_exact_zero_and_zscore_nan():
    x = col(0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 0.1, 0.2, 0.3)
    sd = call("ts_std_dev", x, 3)
    assert sd[2, 0] == 0.0 and sd[5, 0] == 0.0
    assert (sd[2:] >= 0).all()
    z = call("ts_zscore", x, 3)
    assert np.isnan(z[2, 0]) and np.isnan(z[5, 0]) and z[-1, 0] == pytest.approx(1.224744871)
    assert np.isnan(call("ts_corr", x, col(*range(9)), 3)[5, 0])


def test_rolling_moments_do_not_drift_on_long_large_series(rng):
    T = 3000
    x = (1e7 + rng.standard_normal(T) * 10).reshape(-1, 1)
    x[1500:] += 5e8  # level shift
    for d in (5, 252):
        got = call("ts_std_dev", x, d)[-1, 0]
        assert got == pytest.approx(x[-d:, 0].std(), rel=1e-7)
        got = call("ts_mean", x, d)[-1, 0]
        assert got == pytest.approx(x[-d:, 0].mean(), rel=1e-13)


@pytest.mark.parametrize("d", [1, 2, 3, 10, 30])
def test_corr_cov_regression_match_numpy(d, rng):
    T, N = 30, 4
    x, y = rng.standard_normal((T, N)) * 3 + 50, rng.standard_normal((T, N))
    x[5, 1] = nan
    y[20, 2] = nan
    corr, cov = call("ts_corr", x, y, d), call("ts_covariance", y, x, d)
    slope = call("ts_regression", y, x, d, rettype=2)
    for t in range(T):
        for j in range(N):
            w = slice(t - d + 1, t + 1)
            if t < d - 1 or np.isnan(x[w, j]).any() or np.isnan(y[w, j]).any():
                assert np.isnan(corr[t, j]) and np.isnan(cov[t, j]) and np.isnan(slope[t, j])
                continue
            xa, ya = x[w, j], y[w, j]
            c = ((xa - xa.mean()) * (ya - ya.mean())).mean()
            assert cov[t, j] == pytest.approx(c, abs=1e-10)
            if d > 1:
                assert corr[t, j] == pytest.approx(np.corrcoef(xa, ya)[0, 1], abs=1e-9)
                assert slope[t, j] == pytest.approx(np.polyfit(xa, ya, 1)[0], abs=1e-8)
            else:
                assert np.isnan(corr[t, j])


def test_regression_lag_uses_past_x():
    y = col(1, 2, 4, 7)
    x = col(1, 2, 3, 99)  # today's x is not used with lag=1
    got = call("ts_regression", y, x, 3, lag=1, rettype=2)
    # y (2, 4, 7) on x (1, 2, 3): slope 2.5
    assert got[-1, 0] == pytest.approx(2.5)
    assert np.isnan(got[2, 0])


def test_regression_constant_x_is_nan():
    out = call("ts_regression", col(1, 2, 3), col(5, 5, 5), 3, rettype=2)
    assert np.isnan(out).all()


def test_decay_linear_all_nan_window_and_short_history():
    x = col(1, nan, nan, nan, 4)
    out = call("ts_decay_linear", x, 3)
    assert np.isnan(out[:2, 0]).all() and np.isnan(out[3, 0])
    assert out[4, 0] == pytest.approx(4 * 3 / 6)
    assert call("ts_decay_linear", x, 3, dense=True)[4, 0] == 4.0


def test_ts_rank_nan_today_or_in_window():
    x = col(1, 2, nan, 3, 4, 5)
    out = call("ts_rank", x, 3)
    assert np.isnan(out[:5, 0]).all() and out[5, 0] == 1.0


def test_count_nans_not_strict():
    close = np.testing.assert_allclose
    close(call("ts_count_nans", col(nan, 1, nan, nan, 2), 3), col(nan, nan, 2, 2, 2), equal_nan=True)


def test_returns_modes():
    x = col(1, 2, 0, 4)
    np.testing.assert_allclose(call("ts_returns", x, 1), col(nan, 1, -1, nan), equal_nan=True)
    np.testing.assert_allclose(call("ts_returns", x, 1, mode=2), col(nan, np.log(2), nan, nan),
                               equal_nan=True)
    with pytest.raises(KernelArgumentError, match="ts_returns: 'mode'"):
        call("ts_returns", x, 1, mode=3)


def test_quantile_drivers():
    x = col(1, 3, 2, 3)
    assert call("ts_quantile", x, 4)[-1, 0] == pytest.approx(0.430727, abs=5e-7)  # Phi^-1(.25 + .833333 * .5)
    assert call("ts_quantile", x, 4, driver="uniform")[-1, 0] == pytest.approx(0.25 + 0.8333333 * 0.5)


def test_jump_decay():
    x = col(1, 1.1, 0.9, 1.0, 5.0)
    out = call("jump_decay", x, 4, sensitivity=0.5, force=0.1)
    assert out[-1, 0] == pytest.approx(1.0 + 4.0 * 0.1)
    assert out[3, 0] == pytest.approx(0.91)  # |0.1| > 0.5 * std(1, 1.1, 0.9, 1) = 0.035
    assert out[0, 0] == 1.0 and out[2, 0] == 0.9  # std undefined: x passes through


def test_bad_window_raises_clear_error():
    with pytest.raises(KernelArgumentError, match="ts_mean: 'd' must be an integer >= 1"):
        KERNELS["ts_mean"](x=col(1, 2), d=0)
    with pytest.raises(KernelArgumentError, match="ts_mean: argument 'x'"):
        KERNELS["ts_mean"](x=np.ones(3), d=2)


def test_inf_input_is_not_propagated_as_inf():
    out = call("ts_sum", col(1, np.inf, 1), 2)
    assert not np.isinf(out).any()
