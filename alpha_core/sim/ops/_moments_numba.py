"""Numba rolling moments behind ts_sum/mean/std_dev/zscore/ir/av_diff and ts_corr/covariance/regression.

All functions take C-ordered ``(T, N)`` float64 arrays and a window ``d >= 1``, loop over dates in the
outer loop and over instruments in the inner loop, and return new ``(T, N)`` float64 arrays. Windows are
strict (FASTEXPR.md §6): NaN unless ``d`` rows exist and none of them is NaN.

Sums are shifted by a per-column reference value (the latest valid value of the window) and recomputed
exactly from the window every ``d`` rows, so rounding error cannot accumulate over the history; a window
whose values are all equal (tracked by a run length) gets an exact zero variance.

Each statistic is a separate compiled entry point: the shared body is inlined with its mode as a constant,
so the per-element mode branches fold away, sums a mode does not read are never accumulated, and the inner
loops are branch-free selects that LLVM vectorises. Every statistic is computed with the same floating-point
operations in the same order for every mode, so results do not depend on the entry point.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# moments1 modes
SUM, MEAN, STD, ZSCORE, IR, AV_DIFF = 0, 1, 2, 3, 4, 5
# moments2 modes: CORR, COV, then REG + rettype
CORR, COV, REG = 0, 1, 10


@njit(inline="always", error_model="numpy")
def _run_update(run, row, prev):
    """Length of the run of equal values ending today (0 for NaN); ``prev`` is yesterday's row (today's at t=0)."""
    for j in range(row.shape[0]):
        v = row[j]
        n = run[j] + 1
        r = n if v == prev[j] else 1
        run[j] = r if v == v else 0


@njit(inline="always", error_model="numpy")
def _latest_valid(x, y, t, lo, ref_x, ref_y, found):
    """ref_x/ref_y[j] = x/y[s, j] at the latest row s in [lo, t] where both are valid (0.0 if none).
    Pass ``y`` = ``x`` (and ``ref_y`` = ``ref_x``) for one input."""
    N = x.shape[1]
    ref_x[:] = 0.0
    ref_y[:] = 0.0
    found[:] = False
    for s in range(t, lo - 1, -1):
        xs = x[s]
        ys = y[s]
        for j in range(N):
            u = xs[j]
            v = ys[j]
            ok = (u == u) & (v == v)
            take = ok & (not found[j])
            px = ref_x[j]  # load before selecting: a load inside a conditional expression becomes a branch
            py = ref_y[j]
            ref_x[j] = u if take else px
            ref_y[j] = v if take else py
            found[j] = found[j] | ok


@njit(inline="always", error_model="numpy")
def _moments1(x, d, mode):
    T, N = x.shape
    need2 = mode == STD or mode == ZSCORE or mode == IR
    out = np.empty((T, N))
    out[:min(d - 1, T)] = np.nan
    ref = np.zeros(N)
    s1 = np.zeros(N)
    s2 = np.zeros(N)
    bad = np.zeros(N, np.int64)
    run = np.zeros(N, np.int64)
    found = np.zeros(N, np.bool_)
    # Sums start at +0.0 and only ever add or subtract, so they are never -0.0: adding +0.0 for a NaN
    # row leaves them bit-identical, which keeps every store unconditional (vectorisable).
    for t in range(T):
        row = x[t]
        if t % d == 0:
            lo = max(0, t - d + 1)
            _latest_valid(x, x, t, lo, ref, ref, found)
            s1[:] = 0.0
            s2[:] = 0.0
            bad[:] = 0
            for s in range(lo, t + 1):
                r_s = x[s]
                for j in range(N):
                    v = r_s[j]
                    ok = v == v
                    u = v - ref[j] if ok else 0.0
                    s1[j] += u
                    if need2:
                        s2[j] += u * u
                    bad[j] += 0 if ok else 1
        elif t >= d:
            old = x[t - d]
            for j in range(N):
                v = row[j]
                ok = v == v
                u = v - ref[j] if ok else 0.0
                w = old[j]
                okw = w == w
                uw = w - ref[j] if okw else 0.0
                s1[j] = (s1[j] + u) - uw
                if need2:
                    s2[j] = (s2[j] + u * u) - uw * uw
                bad[j] += (0 if ok else 1) - (0 if okw else 1)
        else:
            for j in range(N):
                v = row[j]
                ok = v == v
                u = v - ref[j] if ok else 0.0
                s1[j] += u
                if need2:
                    s2[j] += u * u
                bad[j] += 0 if ok else 1
        _run_update(run, row, x[t - 1] if t > 0 else row)
        if t < d - 1:
            continue
        o = out[t]
        for j in range(N):
            xt = row[j]
            const = run[j] >= d
            rf = ref[j]
            a1 = s1[j]
            m1 = a1 / d
            mean = xt if const else rf + m1
            if mode == SUM:
                r = xt * d if const else rf * d + a1
            elif mode == MEAN:
                r = mean
            elif mode == AV_DIFF:
                r = xt - mean
            else:
                var = 0.0 if const else max(s2[j] / d - m1 * m1, 0.0)
                sd = np.sqrt(var)
                if mode == STD:
                    r = sd
                else:  # divide unconditionally (IEEE, no traps), then select: keeps the loop vectorised
                    q = (xt - mean) / sd if mode == ZSCORE else mean / sd
                    r = q if var > 0.0 else np.nan
            o[j] = r if bad[j] == 0 else np.nan
    return out


@njit(cache=True, error_model="numpy")
def _sum(x, d):
    return _moments1(x, d, SUM)


@njit(cache=True, error_model="numpy")
def _mean(x, d):
    return _moments1(x, d, MEAN)


@njit(cache=True, error_model="numpy")
def _std(x, d):
    return _moments1(x, d, STD)


@njit(cache=True, error_model="numpy")
def _zscore(x, d):
    return _moments1(x, d, ZSCORE)


@njit(cache=True, error_model="numpy")
def _ir(x, d):
    return _moments1(x, d, IR)


@njit(cache=True, error_model="numpy")
def _av_diff(x, d):
    return _moments1(x, d, AV_DIFF)


@njit(inline="always", error_model="numpy")
def _moments2(y, x, d, mode, rt):
    T, N = x.shape
    need_sq = mode != COV  # COV reads neither sxx nor syy
    out = np.empty((T, N))
    out[:min(d - 1, T)] = np.nan
    rx = np.zeros(N)
    ry = np.zeros(N)
    sx = np.zeros(N)
    sy = np.zeros(N)
    sxx = np.zeros(N)
    syy = np.zeros(N)
    sxy = np.zeros(N)
    bad = np.zeros(N, np.int64)
    runx = np.zeros(N, np.int64)
    runy = np.zeros(N, np.int64)
    found = np.zeros(N, np.bool_)
    # never -0.0 sums: see _moments1
    for t in range(T):
        xr = x[t]
        yr = y[t]
        if t % d == 0:
            lo = max(0, t - d + 1)
            _latest_valid(x, y, t, lo, rx, ry, found)
            sx[:] = 0.0
            sy[:] = 0.0
            sxx[:] = 0.0
            syy[:] = 0.0
            sxy[:] = 0.0
            bad[:] = 0
            for s in range(lo, t + 1):
                xs = x[s]
                ys = y[s]
                for j in range(N):
                    u = xs[j]
                    v = ys[j]
                    ok = (u == u) & (v == v)
                    u = u - rx[j] if ok else 0.0
                    v = v - ry[j] if ok else 0.0
                    sx[j] += u
                    sy[j] += v
                    if need_sq:
                        sxx[j] += u * u
                        syy[j] += v * v
                    sxy[j] += u * v
                    bad[j] += 0 if ok else 1
        elif t >= d:
            xo = x[t - d]
            yo = y[t - d]
            for j in range(N):
                u = xr[j]
                v = yr[j]
                ok = (u == u) & (v == v)
                u = u - rx[j] if ok else 0.0
                v = v - ry[j] if ok else 0.0
                p = xo[j]
                q = yo[j]
                okw = (p == p) & (q == q)
                p = p - rx[j] if okw else 0.0
                q = q - ry[j] if okw else 0.0
                sx[j] = (sx[j] + u) - p
                sy[j] = (sy[j] + v) - q
                if need_sq:
                    sxx[j] = (sxx[j] + u * u) - p * p
                    syy[j] = (syy[j] + v * v) - q * q
                sxy[j] = (sxy[j] + u * v) - p * q
                bad[j] += (0 if ok else 1) - (0 if okw else 1)
        else:
            for j in range(N):
                u = xr[j]
                v = yr[j]
                ok = (u == u) & (v == v)
                u = u - rx[j] if ok else 0.0
                v = v - ry[j] if ok else 0.0
                sx[j] += u
                sy[j] += v
                if need_sq:
                    sxx[j] += u * u
                    syy[j] += v * v
                sxy[j] += u * v
                bad[j] += 0 if ok else 1
        _run_update(runx, xr, x[t - 1] if t > 0 else xr)
        _run_update(runy, yr, y[t - 1] if t > 0 else yr)
        if t < d - 1:
            continue
        o = out[t]
        for j in range(N):
            cx = runx[j] >= d
            cy = runy[j] >= d
            mx = sx[j] / d
            my = sy[j] / d
            cxy = sxy[j] - sx[j] * my
            vxy = 0.0 if (cx | cy) else cxy
            if mode == COV:
                o[j] = vxy / d if bad[j] == 0 else np.nan
                continue
            cxx = max(sxx[j] - sx[j] * mx, 0.0)  # loads outside the conditional expressions
            cyy = max(syy[j] - sy[j] * my, 0.0)
            vxx = 0.0 if cx else cxx
            vyy = 0.0 if cy else cyy
            if mode == CORR:
                c = min(1.0, max(-1.0, vxy / np.sqrt(vxx * vyy)))
                o[j] = c if ((bad[j] == 0) & (vxx > 0.0) & (vyy > 0.0)) else np.nan
                continue
            slope = vxy / vxx
            xbar = rx[j] + mx
            ybar = ry[j] + my
            sse = vyy - slope * vxy
            sse = 0.0 if sse < 0.0 else sse
            valid = (bad[j] == 0) & (not vxx <= 0.0)  # a NaN Sxx still computes
            if rt == 0:
                r = yr[j] - (ybar + slope * (xr[j] - xbar))
            elif rt == 1:
                r = ybar - slope * xbar
            elif rt == 2:
                r = slope
            elif rt == 3:
                r = ybar + slope * (xr[j] - xbar)
            elif rt == 4:
                r = sse
            elif rt == 5:
                r = vyy
            elif rt == 6:
                r = 1.0 - sse / vyy
                valid = valid & (vyy > 0.0)
            elif d > 2:
                mse = sse / (d - 2)
                if rt == 7:
                    r = mse
                elif rt == 8:
                    r = np.sqrt(mse / vxx)
                else:
                    r = np.sqrt(mse * (1.0 / d + xbar * xbar / vxx))
            else:
                r = np.nan
            o[j] = r if valid else np.nan
    return out


@njit(cache=True, error_model="numpy")
def _corr(y, x, d):
    return _moments2(y, x, d, CORR, 0)


@njit(cache=True, error_model="numpy")
def _cov(y, x, d):
    return _moments2(y, x, d, COV, 0)


@njit(cache=True, error_model="numpy")
def _reg0(y, x, d):
    return _moments2(y, x, d, REG, 0)


@njit(cache=True, error_model="numpy")
def _reg1(y, x, d):
    return _moments2(y, x, d, REG, 1)


@njit(cache=True, error_model="numpy")
def _reg2(y, x, d):
    return _moments2(y, x, d, REG, 2)


@njit(cache=True, error_model="numpy")
def _reg3(y, x, d):
    return _moments2(y, x, d, REG, 3)


@njit(cache=True, error_model="numpy")
def _reg4(y, x, d):
    return _moments2(y, x, d, REG, 4)


@njit(cache=True, error_model="numpy")
def _reg5(y, x, d):
    return _moments2(y, x, d, REG, 5)


@njit(cache=True, error_model="numpy")
def _reg6(y, x, d):
    return _moments2(y, x, d, REG, 6)


@njit(cache=True, error_model="numpy")
def _reg7(y, x, d):
    return _moments2(y, x, d, REG, 7)


@njit(cache=True, error_model="numpy")
def _reg8(y, x, d):
    return _moments2(y, x, d, REG, 8)


@njit(cache=True, error_model="numpy")
def _reg9(y, x, d):
    return _moments2(y, x, d, REG, 9)


_REG = (_reg0, _reg1, _reg2, _reg3, _reg4, _reg5, _reg6, _reg7, _reg8, _reg9)


def moments2(y: np.ndarray, x: np.ndarray, d: int, mode: int) -> np.ndarray:
    """Rolling co-moment ``mode`` of C-ordered (T, N) float64 ``y`` and ``x`` (same shape) over windows of
    ``d >= 1`` rows: CORR (Pearson, NaN for a constant window of either), COV (ddof 0), or REG + rettype
    (0 residual .. 9 SE(intercept), see ``timeseries.ts_regression``). A new (T, N) float64 array, NaN for
    t < d - 1 and where either input has a NaN in the window."""
    if mode >= REG:
        return _REG[mode - REG](y, x, d)
    return _corr(y, x, d) if mode == CORR else _cov(y, x, d)


_MOMENTS1 = {SUM: _sum, MEAN: _mean, STD: _std, ZSCORE: _zscore, IR: _ir, AV_DIFF: _av_diff}


def moments1(x: np.ndarray, d: int, mode: int) -> np.ndarray:
    """Rolling statistic ``mode`` (SUM, MEAN, STD, ZSCORE, IR, AV_DIFF) of C-ordered (T, N) float64 ``x``
    over windows of ``d >= 1`` rows: a new (T, N) float64 array, NaN for t < d - 1 and for windows with a
    NaN. STD is ddof 0; ZSCORE and IR are NaN where the variance is 0. KeyError for an unknown mode."""
    return _MOMENTS1[mode](x, d)
