"""Cross-sectional kernels (FASTEXPR.md §7.4): per date over the non-NaN values of the row.

Inputs are ``(T, N)`` float64 arrays masked by pasteurization (NaN = not participating), or unmasked with the
mask's complement as ``exclude`` (every kernel here but ``vector_neut``); outputs are new ``(T, N)`` float64
arrays, NaN where the input is NaN or excluded, ``+-inf`` mapped to NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _cs_numba as csn
from ._common import NAN, choice, exclude_bytes, finite, finite_input, flag, matrix, number, same_shape
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


def _xe(op: str, x: Any, exclude: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """x as C-contiguous float64 (read in place: the kernels only read it and leave +-inf out like NaN) and the
    ``exclude`` arguments of the ``_cs_numba`` kernels (``exclude_bytes``)."""
    a = np.ascontiguousarray(matrix(op, "x", x), dtype=np.float64)
    return (a, *exclude_bytes(op, exclude, a.shape))


def zscore(x: Any, exclude: np.ndarray | None = None) -> np.ndarray:
    """(x - mean) / std per row, ddof 0; std 0 -> NaN. ``exclude`` (here and below): optional (T, N) bool of
    entries left out as if NaN (the evaluator's pasteurization, without a masked copy of x)."""
    return csn.zscore_rows(*_xe("zscore", x, exclude))


def normalize(x: Any, useStd: bool = False, limit: float = 0.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """x - row mean; divided by the row std (ddof 0; std 0 -> NaN) if ``useStd``; clipped to
    +-limit if limit > 0."""
    use = flag("normalize", "useStd", useStd)
    lim = number("normalize", "limit", limit)
    a, e, use_e = _xe("normalize", x, exclude)
    return csn.normalize_rows(a, use, lim, e, use_e)


def scale(x: Any, scale: float = 1.0, longscale: float = 1.0, shortscale: float = 1.0,
          exclude: np.ndarray | None = None) -> np.ndarray:
    """x * scale / sum|x| per row (sum 0 -> NaN); if longscale or shortscale != 1, positives are
    scaled to sum ``longscale`` and negatives to sum |.| ``shortscale`` (``scale`` ignored)."""
    s = number("scale", "scale", scale)
    ls = number("scale", "longscale", longscale)
    ss = number("scale", "shortscale", shortscale)
    a, e, use_e = _xe("scale", x, exclude)
    return csn.scale_rows(a, s, ls, ss, e, use_e)


def scale_down(x: Any, constant: float = 0.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """(x - row min) / (row max - row min) - constant; max == min -> NaN."""
    c = number("scale_down", "constant", constant)
    a, e, use_e = _xe("scale_down", x, exclude)
    return csn.scale_down_rows(a, c, e, use_e)


def winsorize(x: Any, std: float = 4.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """Clip each row to mean +- std * stdev (ddof 0)."""
    k = number("winsorize", "std", std)
    a, e, use_e = _xe("winsorize", x, exclude)
    return csn.winsorize_rows(a, k, e, use_e)


def quantile(x: Any, driver: str = "gaussian", sigma: float = 1.0, exclude: np.ndarray | None = None) -> np.ndarray:
    """r = rank(x); r2 = 1/N + r (1 - 2/N) (N = valid count of the row); gaussian: Phi^-1(r2) sigma,
    uniform: r2 sigma, cauchy: tan(pi (r2 - 0.5)) sigma."""
    drv = choice("quantile", "driver", driver, ("gaussian", "uniform", "cauchy"))
    sg = number("quantile", "sigma", sigma)
    a, _, use_e = _xe("quantile", x, exclude)
    r = rank_rows(a, exclude if use_e else None)   # NaN exactly where an entry does not take part
    n = np.sum(~np.isnan(r), axis=1, keepdims=True).astype(np.float64)
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
