"""The specialised / single-pass numba loops give bit-identical results to plain reference code.

References are straightforward numpy versions of the step-by-step algorithms (FASTEXPR.md §7.1-§7.3, §7.6):
the rolling moments as shifted sums recomputed every d rows, the window scans for ts_arg_max / ts_rank /
ts_decay_linear, and the numpy expressions of the elementwise kernels. Comparisons are on the bytes, so
NaN positions, NaN payloads and the sign of zero must all match.
"""
import numpy as np
import pytest

from alpha_core.sim.ops import _ew_numba as enb
from alpha_core.sim.ops import _moments_numba as mo
from alpha_core.sim.ops import _ts_numba as nb
from alpha_core.sim.ops import elementwise as ew
from alpha_core.sim.ops import history as hi

WINDOWS = (1, 2, 3, 5, 8, 70)


def _tricky(rng, shape=(60, 9)):
    """Normal values with exact ties, constant runs, zeros of both signs, NaN and +-inf."""
    x = rng.normal(size=shape)
    x[:, 1] = np.round(x[:, 1])
    x[10:30, 2] = 1.5
    x[:, 3] = 0.0
    x[::3, 4] = -0.0
    x[rng.random(shape) < 0.05] = np.nan
    x[20:, 5] = np.inf
    x[::9, 6] = -np.inf
    return x


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _shifted_sums(cols, d, T):
    """Yield (t, sums, bad, refs) of the shifted window sums of the products in ``cols`` (both valid)."""
    N = cols[0].shape[1]
    ok_all = np.logical_and.reduce([~np.isnan(c) for c in cols])
    for t in range(T):
        if t % d == 0:
            lo = max(0, t - d + 1)
            refs = [np.zeros(N) for _ in cols]
            found = np.zeros(N, bool)
            for s in range(t, lo - 1, -1):
                take = ok_all[s] & ~found
                for r, c in zip(refs, cols):
                    r[take] = c[s][take]
                found |= ok_all[s]
            sums, bad = None, np.zeros(N, np.int64)
            for s in range(lo, t + 1):
                sums, bad = _step(sums, bad, [c[s] - r for c, r in zip(cols, refs)], ok_all[s], 1)
        else:
            sums, bad = _step(sums, bad, [c[t] - r for c, r in zip(cols, refs)], ok_all[t], 1)
            if t >= d:
                sums, bad = _step(sums, bad, [c[t - d] - r for c, r in zip(cols, refs)], ok_all[t - d], -1)
        yield t, sums, bad, refs


def _step(sums, bad, us, ok, sign):
    terms = [us[0], us[-1]] + [us[0] * us[0], us[-1] * us[-1], us[0] * us[-1]]
    if sums is None:
        sums = [np.zeros(us[0].shape) for _ in terms]
    for s, v in zip(sums, terms):
        if sign > 0:
            s[ok] += v[ok]
        else:
            s[ok] -= v[ok]
    return sums, bad + sign * (~ok)


def _runs(x):
    run = np.zeros(x.shape, np.int64)
    for t in range(x.shape[0]):
        same = (x[t] == x[t - 1]) if t > 0 else np.zeros(x.shape[1], bool)
        prev = run[t - 1] if t > 0 else 0
        run[t] = np.where(np.isnan(x[t]), 0, np.where(same, prev + 1, 1))
    return run


def _ref_moments1(x, d, mode):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    run = _runs(x)
    with np.errstate(all="ignore"):
        for t, (s1, _, s2, _, _), bad, (ref,) in _shifted_sums([x], d, T):
            if t < d - 1:
                continue
            xt, const = x[t], run[t] >= d
            m1 = s1 / d
            mean = np.where(const, xt, ref + m1)
            raw = s2 / d - m1 * m1
            var = np.where(const, 0.0, np.where(0.0 > raw, 0.0, raw))
            r = {mo.SUM: np.where(const, xt * d, ref * d + s1), mo.MEAN: mean, mo.STD: np.sqrt(var),
                 mo.AV_DIFF: xt - mean, mo.ZSCORE: np.where(var > 0, (xt - mean) / np.sqrt(var), np.nan),
                 mo.IR: np.where(var > 0, mean / np.sqrt(var), np.nan)}[mode]
            out[t] = np.where(bad == 0, r, np.nan)
    return out


def _ref_moments2(y, x, d, mode):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    runx, runy = _runs(x), _runs(y)
    with np.errstate(all="ignore"):
        for t, (sx, sy, sxx, syy, sxy), bad, (rx, ry) in _shifted_sums([x, y], d, T):
            if t < d - 1:
                continue
            cx, cy = runx[t] >= d, runy[t] >= d
            mx, my = sx / d, sy / d
            clip = lambda a: np.where(0.0 > a, 0.0, a)  # noqa: E731  (numba's max(a, 0.0))
            vxx = np.where(cx, 0.0, clip(sxx - sx * mx))
            vyy = np.where(cy, 0.0, clip(syy - sy * my))
            vxy = np.where(cx | cy, 0.0, sxy - sx * my)
            if mode == mo.CORR:
                lo = np.where(-1.0 > vxy / np.sqrt(vxx * vyy), -1.0, vxy / np.sqrt(vxx * vyy))
                c = np.where(lo > 1.0, 1.0, lo)  # numba's min(1.0, lo)
                out[t] = np.where((bad == 0) & (vxx > 0) & (vyy > 0), c, np.nan)
            elif mode == mo.COV:
                out[t] = np.where(bad == 0, vxy / d, np.nan)
            else:
                slope = vxy / vxx
                xbar, ybar = rx + mx, ry + my
                sse = vyy - slope * vxy
                sse = np.where(sse < 0.0, 0.0, sse)
                r = {0: y[t] - (ybar + slope * (x[t] - xbar)), 1: ybar - slope * xbar, 2: slope,
                     3: ybar + slope * (x[t] - xbar)}[mode - mo.REG]
                out[t] = np.where((bad == 0) & ~(vxx <= 0.0), r, np.nan)
    return out


@pytest.mark.parametrize("d", WINDOWS)
def test_moments1_matches_reference(rng, d):
    x = _tricky(rng)
    for mode in (mo.SUM, mo.MEAN, mo.STD, mo.ZSCORE, mo.IR, mo.AV_DIFF):
        assert _same(mo.moments1(x, d, mode), _ref_moments1(x, d, mode)), mode


@pytest.mark.parametrize("d", WINDOWS)
def test_moments2_matches_reference(rng, d):
    x, y = _tricky(rng), _tricky(rng)
    y[:, 0] = x[:, 0]
    for mode in (mo.CORR, mo.COV, mo.REG, mo.REG + 1, mo.REG + 2, mo.REG + 3):
        assert _same(mo.moments2(y, x, d, mode), _ref_moments2(y, x, d, mode)), mode


def _nan_windows(x, d):
    bad = np.ones(x.shape, bool)
    for t in range(d - 1, x.shape[0]):
        bad[t] = np.isnan(x[t - d + 1:t + 1]).any(axis=0)
    return bad


@pytest.mark.parametrize("d", WINDOWS)
def test_window_scans_match_reference(rng, d):
    x = _tricky(rng)
    T, N = x.shape
    bad = _nan_windows(x, d)
    arg = {True: np.full((T, N), np.nan), False: np.full((T, N), np.nan)}
    rank = np.full((T, N), np.nan)
    decay = {True: np.full((T, N), np.nan), False: np.full((T, N), np.nan)}
    for t in range(d - 1, T):
        for j in range(N):
            w = x[t - d + 1:t + 1, j][::-1]  # w[k] = x[t - k]
            if not bad[t, j]:
                arg[True][t, j] = float(next(k for k in range(d) if w[k] == w.max()))
                arg[False][t, j] = float(next(k for k in range(d) if w[k] == w.min()))
                lt, eq = float((w[1:] < w[0]).sum()), float((w[1:] == w[0]).sum())
                rank[t, j] = 0.0 if d == 1 else (lt + eq * 0.5) / (d - 1)
            num = den = 0.0
            for k in range(d):
                ok = w[k] == w[k]
                num += (d - k) * w[k] if ok else 0.0
                den += float(d - k) if ok else 0.0
            if np.isnan(w).sum() < d:
                with np.errstate(all="ignore"):
                    decay[True][t, j] = np.float64(num) / den
                    decay[False][t, j] = num / (d * (d + 1) / 2.0)
    for is_max in (True, False):
        assert _same(nb.arg_extreme(x, d, is_max), arg[is_max])
    assert _same(nb.rank_window(x, d), rank)
    for dense in (True, False):
        assert _same(nb.decay_linear(x, d, dense), decay[dense])


def test_elementwise_fast_paths_match_numpy(rng):
    a, b, c = _tricky(rng), _tricky(rng), _tricky(rng)
    c[::4] = 0.0
    scalars = (0.0, -0.0, 2.5, np.nan, np.inf, np.asarray(-1.0))
    cases = [(a, b)] + [(a, s) for s in scalars] + [(s, b) for s in scalars]
    with np.errstate(all="ignore"):
        for x, y in cases:
            xa, ya = np.asarray(x, float), np.asarray(y, float)
            ref = xa / ya
            ref = np.where(np.isinf(ref) | (ya == 0.0), np.nan, ref) * np.ones(a.shape)
            assert _same(ew.divide(x, y), np.asarray(ref))
            for fn, np_fn in ((ew.less, np.less), (ew.greater_equal, np.greater_equal), (ew.equal, np.equal),
                              (ew.and_, lambda p, q: (p != 0) & (q != 0))):
                want = np.where(np.isnan(xa) | np.isnan(ya), np.nan, np_fn(xa, ya).astype(float)) * np.ones(a.shape)
                assert _same(fn(x, y), want)
        for ai, bi in ((a, b), (2.0, b), (a, np.asarray(-1.0))):
            want = np.where(np.isnan(c), np.nan, np.where(c != 0, ai, bi))
            assert _same(ew.if_else(c, ai, bi), np.where(np.isinf(want), np.nan, want))
            out = np.full(a.shape, np.nan)
            ya = np.broadcast_to(np.asarray(ai, float), a.shape)
            za = np.broadcast_to(np.asarray(bi, float), a.shape)
            for t in range(a.shape[0]):
                prev = out[t - 1] if t else np.full(a.shape[1], np.nan)
                out[t] = np.where(za[t] > 0, np.nan, np.where(c[t] > 0, ya[t], prev))
            assert _same(hi.trade_when(c, ai, bi), np.where(np.isinf(out), np.nan, out))


def test_masked_matches_where(rng):
    x = _tricky(rng)
    keep = rng.random(x.shape) < 0.7
    assert _same(enb.masked(x, keep), np.where(keep, x, np.nan))
