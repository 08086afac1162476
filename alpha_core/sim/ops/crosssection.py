"""Cross-sectional kernels (FASTEXPR.md §7.4): per date over the non-NaN values of the row.

Inputs are ``(T, N)`` float64 arrays already masked by pasteurization (NaN = not participating);
outputs are new ``(T, N)`` float64 arrays, NaN where the input is NaN, ``+-inf`` mapped to NaN.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from numba import njit

from ._common import NAN, choice, finite, finite_input, flag, matrix, number, same_shape
from ._sortrows import rank_rows
from .timeseries import _inverse_cdf


def _x(op: str, x: Any) -> np.ndarray:
    """x as C-contiguous float64 with +-inf as NaN, without a copy when it can be read in place (the kernels
    below only read it)."""
    return finite_input(matrix(op, "x", x))


def rank(x: Any, rate: float = 2.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """0-based ascending position with average ties / (n - 1) per row, in [0, 1]; one valid value
    -> 0.5; NaN stays NaN. ``rate`` is accepted and ignored (exact sort). ``exclude``: optional (T, N) bool
    of entries left out as if NaN (the evaluator passes the pasteurization mask here instead of a masked
    copy of x)."""
    number("rank", "rate", rate)
    return rank_rows(matrix("rank", "x", x), exclude)  # no copy: +-inf are left out like NaN


@njit(cache=True)
def _row_moments(x):
    T, N = x.shape
    mean = np.full((T, 1), np.nan)
    std = np.full((T, 1), np.nan)
    for t in range(T):
        n = 0
        s = 0.0
        lo = np.inf
        hi = -np.inf
        for j in range(N):
            v = x[t, j]
            if v == v:
                n += 1
                s += v
                lo = min(lo, v)
                hi = max(hi, v)
        if n == 0:
            continue
        m = s / n
        q = 0.0
        for j in range(N):
            v = x[t, j]
            if v == v:
                q += (v - m) * (v - m)
        mean[t, 0] = m
        std[t, 0] = 0.0 if lo == hi else np.sqrt(q / n)
    return mean, std


def _row_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row mean and population std (two-pass), std exactly 0 for a constant row; (T, 1) each."""
    return _row_moments(x)


def zscore(x: Any) -> np.ndarray:
    """(x - mean) / std per row, ddof 0; std 0 -> NaN."""
    x = _x("zscore", x)
    mean, std = _row_stats(x)
    with np.errstate(all="ignore"):
        return finite(np.where(std > 0, (x - mean) / std, NAN))


def normalize(x: Any, useStd: bool = False, limit: float = 0.0) -> np.ndarray:
    """x - row mean; divided by the row std (ddof 0; std 0 -> NaN) if ``useStd``; clipped to
    +-limit if limit > 0."""
    x = _x("normalize", x)
    use = flag("normalize", "useStd", useStd)
    lim = number("normalize", "limit", limit)
    mean, std = _row_stats(x)
    out = x - mean
    if use:
        with np.errstate(all="ignore"):
            out = np.where(std > 0, out / std, NAN)
    if lim > 0:
        out = np.clip(out, -lim, lim)
    return finite(out)


def scale(x: Any, scale: float = 1.0, longscale: float = 1.0, shortscale: float = 1.0) -> np.ndarray:
    """x * scale / sum|x| per row (sum 0 -> NaN); if longscale or shortscale != 1, positives are
    scaled to sum ``longscale`` and negatives to sum |.| ``shortscale`` (``scale`` ignored)."""
    x = _x("scale", x)
    s = number("scale", "scale", scale)
    ls = number("scale", "longscale", longscale)
    ss = number("scale", "shortscale", shortscale)
    with np.errstate(all="ignore"):
        if ls != 1.0 or ss != 1.0:
            pos = np.nansum(np.where(x > 0, x, 0.0), axis=1, keepdims=True)
            neg = np.nansum(np.where(x < 0, -x, 0.0), axis=1, keepdims=True)
            out = np.where(x > 0, x * ls / pos, np.where(x < 0, x * ss / neg, x))
        else:
            tot = np.nansum(np.abs(x), axis=1, keepdims=True)
            out = np.where(tot > 0, x * s / tot, NAN)
    return finite(out)


def scale_down(x: Any, constant: float = 0.0) -> np.ndarray:
    """(x - row min) / (row max - row min) - constant; max == min -> NaN."""
    x = _x("scale_down", x)
    c = number("scale_down", "constant", constant)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(x, axis=1, keepdims=True)
        hi = np.nanmax(x, axis=1, keepdims=True)
        out = np.where(hi > lo, (x - lo) / (hi - lo), NAN) - c
    return finite(out)


def winsorize(x: Any, std: float = 4.0) -> np.ndarray:
    """Clip each row to mean +- std * stdev (ddof 0), one pass."""
    x = _x("winsorize", x)
    k = number("winsorize", "std", std)
    mean, sd = _row_stats(x)
    return finite(np.clip(x, mean - k * sd, mean + k * sd))


def quantile(x: Any, driver: str = "gaussian", sigma: float = 1.0) -> np.ndarray:
    """r = rank(x); r2 = 1/N + r (1 - 2/N) (N = valid count of the row); gaussian: Phi^-1(r2) sigma,
    uniform: r2 sigma, cauchy: tan(pi (r2 - 0.5)) sigma."""
    x = _x("quantile", x)
    drv = choice("quantile", "driver", driver, ("gaussian", "uniform", "cauchy"))
    sg = number("quantile", "sigma", sigma)
    r = rank_rows(x)
    n = np.sum(~np.isnan(x), axis=1, keepdims=True).astype(np.float64)
    with np.errstate(all="ignore"):
        r2 = 1.0 / n + r * (1.0 - 2.0 / n)
    return finite(_inverse_cdf(r2, drv, sg))


def vector_neut(x: Any, y: Any) -> np.ndarray:
    """x - (sum xy / sum yy) y per row over instruments valid in both; sum yy == 0 -> NaN."""
    a, b = _x("vector_neut", x), finite(np.array(matrix("vector_neut", "y", y), dtype=np.float64))
    same_shape("vector_neut", x=a, y=b)
    both = ~(np.isnan(a) | np.isnan(b))
    a0, b0 = np.where(both, a, 0.0), np.where(both, b, 0.0)
    sxy = np.sum(a0 * b0, axis=1, keepdims=True)
    syy = np.sum(b0 * b0, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        out = np.where(both & (syy > 0), a - (sxy / syy) * b, NAN)
    return finite(out)
