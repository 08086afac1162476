"""Cross-sectional kernels (FASTEXPR.md §7.4)."""
import numpy as np
import pytest
from scipy.stats import rankdata

from ops_testlib import call, nan, row

eq = lambda got, want: np.testing.assert_allclose(got, want, atol=1e-9, equal_nan=True)


def test_rank_matches_scipy_on_random_rows_with_ties(rng):
    x = rng.integers(0, 20, size=(60, 300)).astype(float)
    x[rng.random(x.shape) < 0.2] = nan
    x[0] = nan
    x[1, :] = 5.0
    x[2, 1:] = nan
    x[3, :50] = rng.standard_normal(50) * 1e-300  # tiny values, near-identical keys
    x[4, :50] = 1.0 + np.arange(50) * 2.2e-16  # values a few ulps apart
    got = call("rank", x)
    for t in range(x.shape[0]):
        v = ~np.isnan(x[t])
        n = v.sum()
        want = np.full(x.shape[1], nan)
        if n == 1:
            want[v] = 0.5
        elif n > 1:
            want[v] = (rankdata(x[t, v]) - 1) / (n - 1)
        eq(got[t], want)


def test_rank_all_nan_row_and_negative_zero():
    eq(call("rank", row(nan, nan)), row(nan, nan))
    eq(call("rank", row(-0.0, 0.0, 1)), row(0.25, 0.25, 1))


def test_zscore_constant_row_is_nan():
    assert np.isnan(call("zscore", row(0.1, 0.1, 0.1))).all()
    eq(call("zscore", row(1, nan, 3)), row(-1, nan, 1))


def test_normalize():
    x = row(1, 2, 3, nan)
    eq(call("normalize", x), row(-1, 0, 1, nan))
    eq(call("normalize", x, useStd=True), row(-1.224744871, 0, 1.224744871, nan))
    eq(call("normalize", x, useStd=True, limit=1.0), row(-1, 0, 1, nan))


def test_scale_zero_sum_and_nan():
    assert np.isnan(call("scale", row(0, 0))).all()
    eq(call("scale", row(1, nan, -3), scale=2), row(0.5, nan, -1.5))


def test_scale_down_and_winsorize():
    eq(call("scale_down", row(1, 3, 2, nan), constant=0.5), row(-0.5, 0.5, 0, nan))
    assert np.isnan(call("scale_down", row(2, 2))).all()
    eq(call("winsorize", row(1, 2, 3)), row(1, 2, 3))


def test_quantile_drivers_and_small_n():
    eq(call("quantile", row(1, 2, 3), driver="uniform", sigma=2.0), row(2 / 3, 1, 4 / 3))
    eq(call("quantile", row(1, 2, 3), driver="cauchy"), row(np.tan(np.pi * (1 / 3 - 0.5)), 0, np.tan(np.pi / 6)))
    eq(call("quantile", row(nan, 4)), row(nan, 0))


def test_vector_neut():
    x, y = row(1, 2, 3, 4), row(1, 0, 1, nan)
    # over valid pairs: sum xy = 4, sum yy = 2 -> x - 2y
    eq(call("vector_neut", x, y), row(-1, 2, 1, nan))
    assert np.isnan(call("vector_neut", x, row(0, 0, 0, 0))).all()


def test_cross_sectional_operators_leave_their_input_unchanged():
    """The kernels read x in place when it holds no +-inf (no copy) and clean a copy otherwise: either way
    the caller's array, which may be a memoized sub-expression, is never modified."""
    from alpha_core.sim.ops import crosssection as cs

    rng = np.random.default_rng(41)
    for x in (rng.normal(size=(6, 9)), np.where(rng.random((6, 9)) < 0.2, np.inf, rng.normal(size=(6, 9)))):
        x[1, 2] = np.nan
        before = x.copy()
        for op in (cs.zscore, cs.scale, cs.scale_down, cs.winsorize, cs.normalize, cs.quantile):
            out = op(x)
            assert np.isfinite(out[np.isfinite(x)]).all() and np.isnan(out[~np.isfinite(x)]).all(), op.__name__
        np.testing.assert_array_equal(x, before)


def _reference(op: str, x: np.ndarray, **kw) -> np.ndarray:
    """The operator's definition in plain numpy, row by row over the finite values (FASTEXPR.md §7.4)."""
    out = np.full(x.shape, nan)
    for t in range(x.shape[0]):
        ok = np.isfinite(x[t])
        v = x[t, ok]
        if not v.size:
            continue
        m, sd = v.mean(), (0.0 if (v == v[0]).all() else v.std())
        with np.errstate(all="ignore"):
            if op == "zscore":
                r = (v - m) / sd if sd > 0 else np.full(v.shape, nan)
            elif op == "normalize":
                r = (v - m) / sd if sd > 0 else np.full(v.shape, nan)
                r = np.clip(r, -kw["limit"], kw["limit"])
            elif op == "winsorize":
                r = np.clip(v, m - kw["std"] * sd, m + kw["std"] * sd)
            elif op == "scale":
                tot = np.abs(v).sum()
                r = v * kw["scale"] / tot if tot > 0 else np.full(v.shape, nan)
            else:  # scale_down
                lo, hi = v.min(), v.max()
                r = (v - lo) / (hi - lo) - kw["constant"] if hi > lo else np.full(v.shape, nan)
        out[t, ok] = r
    return out


CASES = [("zscore", {}), ("normalize", {"useStd": True, "limit": 1.2}), ("winsorize", {"std": 1.5}),
         ("scale", {"scale": 2.0}), ("scale_down", {"constant": 0.25})]


@pytest.mark.parametrize("op,kw", CASES)
def test_moment_operators_match_their_definition_and_take_exclude_like_a_masked_copy(op, kw, rng):
    """The numba row kernels against plain numpy on rows with NaN, +-inf, a constant row (std exactly 0, even
    though its mean rounds: 0.1 x 7), an all-NaN row and a single valid value; and ``exclude`` gives exactly
    the values of the kernel on a copy with NaN in the excluded entries."""
    from alpha_core.sim.ops import crosssection as cs

    x = rng.normal(0.01, 0.02, size=(12, 300))
    x[rng.random(x.shape) < 0.1] = nan
    x[0, :3] = np.inf, -np.inf, np.inf
    x[1] = 0.1
    x[2] = nan
    x[3, 1:] = nan
    ref_kw = {"limit": kw.get("limit"), "std": kw.get("std"), "scale": kw.get("scale"), "constant": kw.get("constant")}
    got = getattr(cs, op)(x, **kw)
    np.testing.assert_allclose(got, _reference(op, x, **ref_kw), rtol=1e-12, atol=1e-14, equal_nan=True)
    if op in ("zscore", "normalize", "scale_down"):
        assert np.isnan(got[1]).all() and np.isnan(got[3]).all()   # std / range 0
    exclude = rng.random(x.shape) < 0.25
    exclude[4] = True
    fused = getattr(cs, op)(x, exclude=exclude, **kw)
    np.testing.assert_array_equal(fused, getattr(cs, op)(np.where(exclude, nan, x), **kw))
    assert np.isnan(fused[exclude]).all() and np.isfinite(fused[~exclude & np.isfinite(x)]).any()
    with pytest.raises(ValueError, match="exclude has shape"):
        getattr(cs, op)(x, exclude=exclude[:, :5], **kw)


def test_scale_long_and_short_books():
    from alpha_core.sim.ops import crosssection as cs

    got = cs.scale(np.array([[1.0, 3.0, -2.0, 0.0, nan, np.inf]]), longscale=2.0, shortscale=0.5)
    np.testing.assert_array_equal(got, [[0.5, 1.5, -0.5, 0.0, nan, nan]])
