"""Numba loops behind the time-series kernels (compiled lazily on first call, cached on disk).

All functions take C-ordered ``(T, N)`` float64 arrays, loop over dates in the outer loop and over
instruments in the inner loop (contiguous memory), and return new arrays. Windows are strict
(FASTEXPR.md §6): NaN unless ``d`` rows exist and none of them is NaN. The rolling moments live in
``_moments_numba``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _pick(v, p, is_max):
    return (v if v > p else p) if is_max else (v if v < p else p)


@njit(inline="always")
def _rolling_extreme(x, d, is_max):
    """van Herk / Gil-Werman rolling max (or min) in O(T N); NaN anywhere in the window -> NaN. Branch-free
    inner loops (values loaded before the select); ``is_max`` is a compile-time constant of each caller."""
    T, N = x.shape
    g = np.empty((T, N))
    h = np.empty((T, N))
    out = np.full((T, N), np.nan)
    for b0 in range(0, T, d):
        b1 = min(T, b0 + d)
        g[b0] = x[b0]
        for t in range(b0 + 1, b1):
            for j in range(N):
                v = x[t, j]
                p = g[t - 1, j]
                r = _pick(v, p, is_max)
                g[t, j] = r if (p == p) & (v == v) else np.nan
        h[b1 - 1] = x[b1 - 1]
        for t in range(b1 - 2, b0 - 1, -1):
            for j in range(N):
                v = x[t, j]
                p = h[t + 1, j]
                r = _pick(v, p, is_max)
                h[t, j] = r if (p == p) & (v == v) else np.nan
    for t in range(d - 1, T):
        s = t - d + 1
        for j in range(N):
            a = h[s, j]
            b = g[t, j]
            r = _pick(a, b, is_max)
            out[t, j] = r if (a == a) & (b == b) else np.nan
    return out


@njit(cache=True)
def rolling_max(x, d):
    """Rolling max over the d rows ending at t (see ``_rolling_extreme``)."""
    return _rolling_extreme(x, d, True)


@njit(cache=True)
def rolling_min(x, d):
    """Rolling min over the d rows ending at t (see ``_rolling_extreme``)."""
    return _rolling_extreme(x, d, False)


def rolling_extreme(x, d, is_max):
    """``rolling_max`` or ``rolling_min`` of C-ordered (T, N) float64 ``x``."""
    return rolling_max(x, d) if is_max else rolling_min(x, d)


@njit(inline="always")
def _lagged(x, d, diff):
    T, N = x.shape
    out = np.empty((T, N))
    for t in range(T):
        if t < d:
            out[t] = np.nan
            continue
        for j in range(N):
            r = x[t, j] - x[t - d, j] if diff else x[t - d, j]
            out[t, j] = r if np.abs(r) != np.inf else np.nan
    return out


@njit(cache=True)
def delay(x, d):
    """``x[t - d]`` (NaN for t < d), +-inf -> NaN: ``ts_delay`` in one pass."""
    return _lagged(x, d, False)


@njit(cache=True)
def delta(x, d):
    """``x[t] - x[t - d]`` (NaN for t < d), +-inf -> NaN: ``ts_delta`` in one pass."""
    return _lagged(x, d, True)


@njit(cache=True, error_model="numpy")
def scale_in_range(x, hi, lo, c):
    """``(x - lo) / (hi - lo) + c`` where ``hi - lo > 0``, else NaN; +-inf -> NaN (``ts_scale``'s last step
    in one pass, the same operations as its numpy form)."""
    T, N = x.shape
    out = np.empty((T, N))
    for t in range(T):
        for j in range(N):
            a = lo[t, j]
            rng = hi[t, j] - a
            r = (x[t, j] - a) / rng + c
            out[t, j] = r if (rng > 0) & (np.abs(r) != np.inf) else np.nan
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
    """(count_lt + (count_eq - 1) / 2) / (d - 1) of today within the window; d == 1 -> 0.

    The count is accumulated as lt + eq / 2 in halves, two window rows per pass: every partial sum is a
    small multiple of 0.5, so the result is exact whatever the grouping.
    """
    T, N = x.shape
    out = np.empty((T, N))
    out[:min(d - 1, T)] = np.nan
    bad = nan_in_window(x, d)
    acc = np.zeros(N)
    for t in range(d - 1, T):
        cur = x[t]
        acc[:] = 0.0
        k = 1
        while k + 1 < d:
            p1 = x[t - k]
            p2 = x[t - k - 1]
            for j in range(N):
                c = cur[j]
                a = 1.0 if p1[j] < c else (0.5 if p1[j] == c else 0.0)
                b = 1.0 if p2[j] < c else (0.5 if p2[j] == c else 0.0)
                acc[j] += a + b
            k += 2
        if k < d:
            p1 = x[t - k]
            for j in range(N):
                c = cur[j]
                acc[j] += 1.0 if p1[j] < c else (0.5 if p1[j] == c else 0.0)
        o = out[t]
        bd = bad[t]
        for j in range(N):
            r = 0.0 if d == 1 else acc[j] / (d - 1)
            o[j] = r if bd[j] == 0 else np.nan
    return out


def arg_extreme(x, d, is_max):
    """Days since the window max (min), 0 = today; ties -> most recent; NaN for t < d - 1 and windows with
    a NaN. ``x`` C-ordered (T, N) float64, ``d >= 1``; returns a new (T, N) float64 array."""
    return _arg_max(x, d) if is_max else _arg_min(x, d)


@njit(cache=True)
def _arg_max(x, d):
    return _arg_extreme(x, d, True)


@njit(cache=True)
def _arg_min(x, d):
    return _arg_extreme(x, d, False)


@njit(inline="always")
def _arg_extreme(x, d, is_max):
    """Body of ``arg_extreme``, inlined with ``is_max`` constant.

    Gil-Werman in O(T N): in blocks of d rows, the (value, row) of the extreme of the block prefix ending
    at t (ties -> the later row, kept as a running row) and of the block suffixes starting at each row of
    the previous block (ties -> the later row); the window [t-d+1, t] is the suffix of its first row
    joined with the prefix ending at t (ties -> the prefix, the later rows). Only windows without NaN are
    reported, and they read only NaN-free prefixes and suffixes, so the result equals the plain scan.
    """
    T, N = x.shape
    out = np.empty((T, N))
    out[:min(d - 1, T)] = np.nan
    nbad = np.zeros(N, np.int64)
    gv = np.empty(N)
    gi = np.empty(N)
    rv = np.empty(N)
    ri = np.empty(N)
    hv = np.empty((d, N))
    hi = np.empty((d, N))
    for b0 in range(0, T, d):
        b1 = min(T, b0 + d)
        p0 = b0 - d
        if b0 > 0:
            rv[:] = x[b0 - 1]
            ri[:] = b0 - 1
            hv[d - 1] = rv
            hi[d - 1] = ri
            for r in range(d - 2, 0, -1):  # running suffix, stored per row
                xr = x[p0 + r]
                ft = float(p0 + r)
                for j in range(N):
                    v = xr[j]
                    pv = rv[j]  # loads before the selects, which then stay branch-free
                    pi = ri[j]
                    take = v > pv if is_max else v < pv
                    rv[j] = v if take else pv
                    ri[j] = ft if take else pi
                hv[r] = rv
                hi[r] = ri
        for t in range(b0, b1):
            xr = x[t]
            if t >= d:
                xo = x[t - d]
                for j in range(N):
                    nbad[j] += (1 if xr[j] != xr[j] else 0) - (1 if xo[j] != xo[j] else 0)
            else:
                for j in range(N):
                    nbad[j] += 1 if xr[j] != xr[j] else 0
            ft = float(t)
            if t == b0:
                gv[:] = xr
                gi[:] = ft
            else:
                for j in range(N):
                    v = xr[j]
                    pv = gv[j]
                    pi = gi[j]
                    take = v >= pv if is_max else v <= pv
                    gv[j] = v if take else pv
                    gi[j] = ft if take else pi
            if t < d - 1:
                continue
            o = out[t]
            r = t - d + 1 - p0
            if r == d:  # the window is this block: the prefix alone
                for j in range(N):
                    o[j] = ft - gi[j] if nbad[j] == 0 else np.nan
                continue
            av = hv[r]
            ai = hi[r]
            for j in range(N):
                bv = gv[j]
                cv = av[j]
                bi = gi[j]
                ci = ai[j]
                later = bv >= cv if is_max else bv <= cv
                k = ft - (bi if later else ci)
                o[j] = k if nbad[j] == 0 else np.nan
    return out


@njit(cache=True, error_model="numpy")
def decay_linear(x, d, dense):
    """Linearly decayed window mean, weights d (today) .. 1 (FASTEXPR.md §7.3).

    Sums run from today back, two window rows per pass over the row (same additions in the same order).
    """
    T, N = x.shape
    out = np.empty((T, N))
    out[:min(d - 1, T)] = np.nan
    bad = nan_in_window(x, d)
    num = np.zeros(N)
    den = np.zeros(N)
    total = d * (d + 1) / 2.0
    for t in range(d - 1, T):
        num[:] = 0.0
        den[:] = 0.0
        k = 0
        while k + 1 < d:
            w1 = float(d - k)
            w2 = float(d - k - 1)
            r1 = x[t - k]
            r2 = x[t - k - 1]
            for j in range(N):
                v1 = r1[j]
                v2 = r2[j]
                ok1 = v1 == v1
                ok2 = v2 == v2
                num[j] = (num[j] + (w1 * v1 if ok1 else 0.0)) + (w2 * v2 if ok2 else 0.0)
                den[j] = (den[j] + (w1 if ok1 else 0.0)) + (w2 if ok2 else 0.0)
            k += 2
        if k < d:
            w1 = float(d - k)
            r1 = x[t - k]
            for j in range(N):
                v1 = r1[j]
                ok1 = v1 == v1
                num[j] += w1 * v1 if ok1 else 0.0
                den[j] += w1 if ok1 else 0.0
        o = out[t]
        bd = bad[t]
        for j in range(N):
            r = num[j] / den[j] if dense else num[j] / total
            o[j] = r if bd[j] < d else np.nan
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
