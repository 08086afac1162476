"""Numba loops behind the time-series kernels (compiled lazily on first call, cached on disk).

All functions take C-ordered ``(T, N)`` float64 arrays, loop over dates in the outer loop and over
instruments in the inner loop (contiguous memory), and return new arrays. Windows are strict
(FASTEXPR.md §6): NaN unless ``d`` rows exist and none of them is NaN.

Rolling moments use sums shifted by a per-column reference value and are recomputed exactly from
the window every ``d`` rows, so rounding error cannot accumulate over the history; a window whose
values are all equal (tracked by a run length) gets an exact zero variance.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# moments1 modes
SUM, MEAN, STD, ZSCORE, IR, AV_DIFF = 0, 1, 2, 3, 4, 5
# moments2 modes: CORR, COV, then REG + rettype
CORR, COV, REG = 0, 1, 10


@njit(cache=True)
def moments1(x, d, mode):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    ref = np.zeros(N)
    s1 = np.zeros(N)
    s2 = np.zeros(N)
    bad = np.zeros(N, np.int64)
    run = np.zeros(N, np.int64)
    found = np.zeros(N, np.bool_)
    for t in range(T):
        if t % d == 0:
            lo = max(0, t - d + 1)
            ref[:] = 0.0
            found[:] = False
            s1[:] = 0.0
            s2[:] = 0.0
            bad[:] = 0
            for s in range(t, lo - 1, -1):
                for j in range(N):
                    v = x[s, j]
                    if v == v and not found[j]:
                        ref[j] = v
                        found[j] = True
            for s in range(lo, t + 1):
                for j in range(N):
                    v = x[s, j]
                    if v == v:
                        s1[j] += v - ref[j]
                        s2[j] += (v - ref[j]) * (v - ref[j])
                    else:
                        bad[j] += 1
        else:
            for j in range(N):
                v = x[t, j]
                if v == v:
                    s1[j] += v - ref[j]
                    s2[j] += (v - ref[j]) * (v - ref[j])
                else:
                    bad[j] += 1
                if t >= d:
                    v = x[t - d, j]
                    if v == v:
                        s1[j] -= v - ref[j]
                        s2[j] -= (v - ref[j]) * (v - ref[j])
                    else:
                        bad[j] -= 1
        for j in range(N):
            v = x[t, j]
            if v != v:
                run[j] = 0
            elif t > 0 and v == x[t - 1, j]:
                run[j] += 1
            else:
                run[j] = 1
        if t < d - 1:
            continue
        for j in range(N):
            xt = x[t, j]
            const = run[j] >= d
            m1 = s1[j] / d
            mean = xt if const else ref[j] + m1
            var = 0.0 if const else max(s2[j] / d - m1 * m1, 0.0)
            if mode == SUM:
                r = xt * d if const else ref[j] * d + s1[j]
            elif mode == MEAN:
                r = mean
            elif mode == STD:
                r = np.sqrt(var)
            elif mode == AV_DIFF:
                r = xt - mean
            elif mode == ZSCORE:
                r = (xt - mean) / np.sqrt(var) if var > 0.0 else np.nan
            else:
                r = mean / np.sqrt(var) if var > 0.0 else np.nan
            out[t, j] = r if bad[j] == 0 else np.nan
    return out


@njit(cache=True, error_model="numpy")
def moments2(y, x, d, mode):
    """Co-moments of y and x over the window; both must be valid on every row of the window."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
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
    for t in range(T):
        if t % d == 0:
            lo = max(0, t - d + 1)
            rx[:] = 0.0
            ry[:] = 0.0
            found[:] = False
            sx[:] = 0.0
            sy[:] = 0.0
            sxx[:] = 0.0
            syy[:] = 0.0
            sxy[:] = 0.0
            bad[:] = 0
            for s in range(t, lo - 1, -1):
                for j in range(N):
                    if x[s, j] == x[s, j] and y[s, j] == y[s, j] and not found[j]:
                        rx[j] = x[s, j]
                        ry[j] = y[s, j]
                        found[j] = True
            for s in range(lo, t + 1):
                for j in range(N):
                    u = x[s, j]
                    v = y[s, j]
                    if u == u and v == v:
                        u -= rx[j]
                        v -= ry[j]
                        sx[j] += u
                        sy[j] += v
                        sxx[j] += u * u
                        syy[j] += v * v
                        sxy[j] += u * v
                    else:
                        bad[j] += 1
        else:
            for j in range(N):
                u = x[t, j]
                v = y[t, j]
                if u == u and v == v:
                    u -= rx[j]
                    v -= ry[j]
                    sx[j] += u
                    sy[j] += v
                    sxx[j] += u * u
                    syy[j] += v * v
                    sxy[j] += u * v
                else:
                    bad[j] += 1
                if t >= d:
                    u = x[t - d, j]
                    v = y[t - d, j]
                    if u == u and v == v:
                        u -= rx[j]
                        v -= ry[j]
                        sx[j] -= u
                        sy[j] -= v
                        sxx[j] -= u * u
                        syy[j] -= v * v
                        sxy[j] -= u * v
                    else:
                        bad[j] -= 1
        for j in range(N):
            u = x[t, j]
            if u != u:
                runx[j] = 0
            elif t > 0 and u == x[t - 1, j]:
                runx[j] += 1
            else:
                runx[j] = 1
            v = y[t, j]
            if v != v:
                runy[j] = 0
            elif t > 0 and v == y[t - 1, j]:
                runy[j] += 1
            else:
                runy[j] = 1
        if t < d - 1:
            continue
        if mode == CORR:  # branch-light: compute every column, select NaN after (IEEE division, no traps)
            for j in range(N):
                cx = runx[j] >= d
                cy = runy[j] >= d
                mx = sx[j] / d
                my = sy[j] / d
                vxx = 0.0 if cx else max(sxx[j] - sx[j] * mx, 0.0)
                vyy = 0.0 if cy else max(syy[j] - sy[j] * my, 0.0)
                vxy = 0.0 if (cx or cy) else sxy[j] - sx[j] * my
                c = min(1.0, max(-1.0, vxy / np.sqrt(vxx * vyy)))
                out[t, j] = c if (bad[j] == 0 and vxx > 0.0 and vyy > 0.0) else np.nan
            continue
        for j in range(N):
            if bad[j] > 0:
                continue
            cx = runx[j] >= d
            cy = runy[j] >= d
            mx = sx[j] / d
            my = sy[j] / d
            vxx = 0.0 if cx else max(sxx[j] - sx[j] * mx, 0.0)
            vyy = 0.0 if cy else max(syy[j] - sy[j] * my, 0.0)
            vxy = 0.0 if (cx or cy) else sxy[j] - sx[j] * my
            if mode == CORR:
                if vxx > 0.0 and vyy > 0.0:
                    c = vxy / np.sqrt(vxx * vyy)
                    out[t, j] = min(1.0, max(-1.0, c))
            elif mode == COV:
                out[t, j] = vxy / d
            else:
                if vxx <= 0.0:
                    continue
                rt = mode - REG
                slope = vxy / vxx
                xbar = rx[j] + mx
                ybar = ry[j] + my
                sse = vyy - slope * vxy
                if sse < 0.0:
                    sse = 0.0
                if rt == 0:
                    out[t, j] = y[t, j] - (ybar + slope * (x[t, j] - xbar))
                elif rt == 1:
                    out[t, j] = ybar - slope * xbar
                elif rt == 2:
                    out[t, j] = slope
                elif rt == 3:
                    out[t, j] = ybar + slope * (x[t, j] - xbar)
                elif rt == 4:
                    out[t, j] = sse
                elif rt == 5:
                    out[t, j] = vyy
                elif rt == 6:
                    if vyy > 0.0:
                        out[t, j] = 1.0 - sse / vyy
                elif d > 2:
                    mse = sse / (d - 2)
                    if rt == 7:
                        out[t, j] = mse
                    elif rt == 8:
                        out[t, j] = np.sqrt(mse / vxx)
                    else:
                        out[t, j] = np.sqrt(mse * (1.0 / d + xbar * xbar / vxx))
    return out


@njit(cache=True)
def rolling_extreme(x, d, is_max):
    """van Herk / Gil-Werman rolling max (or min) in O(T N); NaN anywhere in the window -> NaN."""
    T, N = x.shape
    g = np.empty((T, N))
    h = np.empty((T, N))
    out = np.full((T, N), np.nan)
    for b0 in range(0, T, d):
        b1 = min(T, b0 + d)
        for t in range(b0, b1):
            for j in range(N):
                v = x[t, j]
                if t == b0:
                    g[t, j] = v
                else:
                    p = g[t - 1, j]
                    if p != p or v != v:
                        g[t, j] = np.nan
                    elif is_max:
                        g[t, j] = v if v > p else p
                    else:
                        g[t, j] = v if v < p else p
        for t in range(b1 - 1, b0 - 1, -1):
            for j in range(N):
                v = x[t, j]
                if t == b1 - 1:
                    h[t, j] = v
                else:
                    p = h[t + 1, j]
                    if p != p or v != v:
                        h[t, j] = np.nan
                    elif is_max:
                        h[t, j] = v if v > p else p
                    else:
                        h[t, j] = v if v < p else p
    for t in range(d - 1, T):
        s = t - d + 1
        for j in range(N):
            a = h[s, j]
            b = g[t, j]
            if a != a or b != b:
                continue
            if is_max:
                out[t, j] = a if a > b else b
            else:
                out[t, j] = a if a < b else b
    return out


@njit(cache=True)
def nan_in_window(x, d):
    """Number of NaN among the d rows ending at t (only meaningful for t >= d - 1)."""
    T, N = x.shape
    out = np.zeros((T, N), np.int64)
    run = np.zeros(N, np.int64)
    for t in range(T):
        for j in range(N):
            run[j] += 1 if x[t, j] != x[t, j] else 0
            if t >= d:
                run[j] -= 1 if x[t - d, j] != x[t - d, j] else 0
            out[t, j] = run[j]
    return out


@njit(cache=True)
def rank_window(x, d):
    """(count_lt + (count_eq - 1) / 2) / (d - 1) of today within the window; d == 1 -> 0."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    bad = nan_in_window(x, d)
    lt = np.zeros(N)
    eq = np.zeros(N)
    for t in range(d - 1, T):
        cur = x[t]
        lt[:] = 0.0
        eq[:] = 0.0
        for k in range(1, d):
            prev = x[t - k]
            for j in range(N):
                lt[j] += 1.0 if prev[j] < cur[j] else 0.0
                eq[j] += 1.0 if prev[j] == cur[j] else 0.0
        for j in range(N):
            if bad[t, j] == 0:
                out[t, j] = 0.0 if d == 1 else (lt[j] + eq[j] * 0.5) / (d - 1)
    return out


@njit(cache=True)
def arg_extreme(x, d, is_max):
    """Days since the window max (min), 0 = today; ties -> most recent."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    bad = nan_in_window(x, d)
    best = np.empty(N)
    arg = np.zeros(N)
    sgn = 1.0 if is_max else -1.0
    for t in range(d - 1, T):
        for j in range(N):
            best[j] = sgn * x[t, j]
            arg[j] = 0.0
        for k in range(1, d):
            prev = x[t - k]
            fk = float(k)
            for j in range(N):
                v = sgn * prev[j]
                better = v > best[j]
                best[j] = v if better else best[j]
                arg[j] = fk if better else arg[j]
        for j in range(N):
            if bad[t, j] == 0:
                out[t, j] = arg[j]
    return out


@njit(cache=True)
def decay_linear(x, d, dense):
    """Linearly decayed window mean, weights d (today) .. 1 (FASTEXPR.md §7.3)."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    bad = nan_in_window(x, d)
    num = np.zeros(N)
    den = np.zeros(N)
    total = d * (d + 1) / 2.0
    for t in range(d - 1, T):
        num[:] = 0.0
        den[:] = 0.0
        for k in range(d):
            w = float(d - k)
            r = x[t - k]
            for j in range(N):
                v = r[j]
                ok = v == v
                num[j] += w * v if ok else 0.0
                den[j] += w if ok else 0.0
        for j in range(N):
            if bad[t, j] < d:
                out[t, j] = num[j] / den[j] if dense else num[j] / total
    return out


@njit(cache=True)
def product_window(x, d):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    acc = np.ones(N)
    for t in range(d - 1, T):
        for j in range(N):
            acc[j] = 1.0
        for k in range(d):
            for j in range(N):
                acc[j] *= x[t - k, j]
        for j in range(N):
            out[t, j] = acc[j]
    return out
