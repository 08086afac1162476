"""bucket (FASTEXPR.md §7.6): values to GROUP ids by boundaries.

``x`` is a ``(T, N)`` float64 array; the result is a ``(T, N)`` float64 array of integer bucket ids
(NaN = no group). Bad ``range``/``buckets`` strings raise ``KernelArgumentError``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._common import KernelArgumentError, flag, matrix

_TOL = 1e-9


def _numbers(text: str, what: str) -> list[float]:
    try:
        vals = [float(p) for p in text.split(",") if p.strip() != ""]
    except ValueError:
        raise KernelArgumentError(f"bucket: {what}={text!r} must be comma-separated numbers") from None
    if not vals or not all(math.isfinite(v) for v in vals):
        raise KernelArgumentError(f"bucket: {what}={text!r} must hold finite numbers")
    return vals


def boundaries(range: str | None = None, buckets: str | None = None) -> np.ndarray:
    """The ascending bucket boundaries of ``range="a,b,s"`` (a, a+s, ..., b, b included with a 1e-9
    tolerance) or ``buckets="b1,b2,..."``. Exactly one must be given."""
    has_r = isinstance(range, str) and range.strip() != ""
    has_b = isinstance(buckets, str) and buckets.strip() != ""
    if has_r == has_b:
        raise KernelArgumentError("bucket: give exactly one of range= or buckets=")
    if has_r:
        vals = _numbers(range, "range")
        if len(vals) != 3:
            raise KernelArgumentError(f"bucket: range={range!r} must be \"start,end,step\"")
        a, b, s = vals
        if s <= 0 or b < a:
            raise KernelArgumentError(f"bucket: range={range!r} needs step > 0 and end >= start")
        n = int(math.floor((b - a) / s + _TOL))
        if n > 100_000:
            raise KernelArgumentError(f"bucket: range={range!r} gives more than 100000 boundaries")
        return a + s * np.arange(n + 1, dtype=np.float64)
    vals = _numbers(buckets, "buckets")
    arr = np.asarray(vals, dtype=np.float64)
    if np.any(np.diff(arr) <= 0):
        raise KernelArgumentError(f"bucket: buckets={buckets!r} must be strictly ascending")
    return arr


def bucket(x: Any, range: str | None = None, buckets: str | None = None, skipBegin: bool = False,
           skipEnd: bool = False, skipBoth: bool = False, NANGroup: bool = False) -> np.ndarray:
    """GROUP id = number of boundaries strictly below x (right-closed buckets plus two open-ended
    ones: ids 0..len(boundaries)). skipBegin: x <= first -> NaN; skipEnd: x > last -> NaN;
    skipBoth: both; NANGroup: NaN x -> len(boundaries) + 1, else NaN."""
    xa = matrix("bucket", "x", x)
    bounds = boundaries(range, buckets)
    both = flag("bucket", "skipBoth", skipBoth)
    sb = flag("bucket", "skipBegin", skipBegin) or both
    se = flag("bucket", "skipEnd", skipEnd) or both
    ng = flag("bucket", "NANGroup", NANGroup)
    nan = ~np.isfinite(xa)
    idx = np.searchsorted(bounds, np.where(nan, 0.0, xa), side="left").astype(np.float64)
    if sb:
        idx[xa <= bounds[0]] = np.nan
    if se:
        idx[xa > bounds[-1]] = np.nan
    idx[nan] = float(len(bounds) + 1) if ng else np.nan
    return idx
