"""Numba row loops behind the moment-based cross-sectional kernels (FASTEXPR.md §7.4): zscore, normalize,
winsorize, scale and scale_down, each one kernel per call: the row statistics, then the output row.

An entry takes part when it is finite and not in ``exclude``: (T, N) uint8 (a bool mask's view; the
evaluator passes the pasteurization mask there instead of a masked copy of x), or (1, N) zeros for none, row
``t if use_exclude else 0`` being row t's; the others give NaN, as does any +-inf result. The loops test
``exclude`` as bytes, without a flag inside them: that is what lets LLVM vectorise them. The row sums run in
SIMD lanes (``fastmath={"reassoc"}`` on the statistics only), so a mean can differ from a left-to-right sum in
the last bits (docs/DESIGN.md "Speed"); a row is constant (std exactly 0) when all its valid values are equal,
whatever the rounding of its mean.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(inline="always")
def _ok(v, e):
    """v takes part: finite, and its exclude byte ``e`` is 0."""
    return (v - v == 0.0) & (e == 0)


@njit(cache=True, fastmath={"reassoc"})
def _moments(xt, et):
    """(n, mean, std with ddof 0) of the valid entries of (N,) ``xt``; std exactly 0.0 for a constant row,
    mean and std NaN when there is none."""
    N = xt.shape[0]
    n = 0
    s = 0.0
    for i in range(N):
        v = xt[i]
        ok = _ok(v, et[i])
        n += ok
        s += v if ok else 0.0
    if n == 0:
        return 0, np.nan, np.nan
    first = 0
    while not _ok(xt[first], et[first]):
        first += 1
    v0 = xt[first]
    m = s / n
    q = 0.0
    diff = 0
    for i in range(N):
        v = xt[i]
        ok = _ok(v, et[i])
        d = v - m if ok else 0.0
        q += d * d
        diff += ok & (v != v0)
    return n, m, (np.sqrt(q / n) if diff else 0.0)


@njit(inline="always")
def _put(ot, i, r, ok):
    """ot[i] = r when the entry takes part and r is finite, else NaN (branch-free)."""
    ot[i] = r if ok & (r - r == 0.0) else np.nan


@njit(inline="always")
def _affine_row(ot, xt, et, a, b, c, lim):
    """ot = clip((x - a) / b - c, -lim, lim) over the valid entries of one row, NaN elsewhere and for a
    non-finite result (``lim`` inf: no clipping; ``c`` 0.0 changes nothing: x - 0.0 == x exactly)."""
    for i in range(xt.shape[0]):
        v = xt[i]
        _put(ot, i, min(max((v - a) / b - c, -lim), lim), _ok(v, et[i]))


@njit(cache=True, error_model="numpy")
def zscore_rows(x, exclude, use_exclude):
    """(x - mean) / std per row; std 0 -> NaN."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        xt, et = x[t], exclude[t if use_exclude else 0]
        _, m, sd = _moments(xt, et)
        if sd > 0.0:
            _affine_row(out[t], xt, et, m, sd, 0.0, np.inf)
    return out


@njit(cache=True, error_model="numpy")
def normalize_rows(x, use_std, limit, exclude, use_exclude):
    """x - row mean; / row std (std 0 -> NaN) if ``use_std``; clipped to +-limit if limit > 0."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    lim = limit if limit > 0.0 else np.inf
    for t in range(T):
        xt, et = x[t], exclude[t if use_exclude else 0]
        n, m, sd = _moments(xt, et)
        if n > 0 and (sd > 0.0 or not use_std):
            _affine_row(out[t], xt, et, m, sd if use_std else 1.0, 0.0, lim)
    return out


@njit(cache=True, error_model="numpy")
def winsorize_rows(x, k, exclude, use_exclude):
    """x clipped to mean +- k std per row."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        xt, et, ot = x[t], exclude[t if use_exclude else 0], out[t]
        n, m, sd = _moments(xt, et)
        if n == 0:
            continue
        lo = m - k * sd
        hi = m + k * sd
        for i in range(N):
            v = xt[i]
            _put(ot, i, min(max(v, lo), hi), _ok(v, et[i]))
    return out


@njit(cache=True, fastmath={"reassoc"})
def _abs_sums(xt, et):
    """(sum |v|, sum of the positive v, sum of |negative v|) over the valid entries of one row."""
    tot = 0.0
    pos = 0.0
    neg = 0.0
    for i in range(xt.shape[0]):
        v = xt[i]
        v = v if _ok(v, et[i]) else 0.0
        tot += abs(v)
        pos += v if v > 0.0 else 0.0
        neg += -v if v < 0.0 else 0.0
    return tot, pos, neg


@njit(cache=True, error_model="numpy")
def scale_rows(x, s, longscale, shortscale, exclude, use_exclude):
    """x * s / sum |x| per row (sum 0 -> NaN); with ``longscale`` or ``shortscale`` != 1, the positives
    scaled to sum ``longscale`` and the negatives to sum |.| ``shortscale`` instead."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    split = longscale != 1.0 or shortscale != 1.0
    for t in range(T):
        xt, et, ot = x[t], exclude[t if use_exclude else 0], out[t]
        tot, pos, neg = _abs_sums(xt, et)
        if split:
            for i in range(N):
                v = xt[i]
                r = v * longscale / pos if v > 0.0 else (v * shortscale / neg if v < 0.0 else v)
                _put(ot, i, r, _ok(v, et[i]))
        elif tot > 0.0:
            for i in range(N):
                v = xt[i]
                _put(ot, i, v * s / tot, _ok(v, et[i]))
    return out


@njit(cache=True)
def _range(xt, et):
    """(min, max) of the valid entries of one row; (inf, -inf) when there is none."""
    lo = np.inf
    hi = -np.inf
    for i in range(xt.shape[0]):
        v = xt[i]
        if _ok(v, et[i]):
            lo = min(lo, v)
            hi = max(hi, v)
    return lo, hi


@njit(cache=True, error_model="numpy")
def scale_down_rows(x, constant, exclude, use_exclude):
    """(x - row min) / (row max - row min) - constant; max == min -> NaN."""
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        xt, et, ot = x[t], exclude[t if use_exclude else 0], out[t]
        lo, hi = _range(xt, et)
        if hi > lo:
            _affine_row(ot, xt, et, lo, hi - lo, constant, np.inf)
    return out
