"""Path-dependent time-series kernels (FASTEXPR.md §7.3, §7.6): backfill, kth_element,
last_diff_value, days_from_last_change, hump, trade_when.

Inputs are ``(T, N)`` float64 arrays (dates oldest first); outputs new ``(T, N)`` float64 arrays
with ``+-inf`` mapped to NaN. These are not strict-window operators: NaN inside the window is
allowed, and a window cut by the panel start is used as is.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from . import _ew_numba as enb
from ._common import KernelArgumentError, fast_operands, finite, integer, matrix, number, same_shape, window


@njit(cache=True)
def _kth_recent(x, d, k, keep_valid):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        lo = max(0, t - d + 1)
        for j in range(N):
            v = x[t, j]
            if keep_valid and v == v:
                out[t, j] = v
                continue
            c = 0
            for s in range(t, lo - 1, -1):
                u = x[s, j]
                if u == u:
                    c += 1
                    if c == k:
                        out[t, j] = u
                        break
    return out


@njit(cache=True)
def _last_diff(x, d):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        lo = max(0, t - d + 1)
        for j in range(N):
            v = x[t, j]
            if v != v:
                continue
            for s in range(t - 1, lo - 1, -1):
                u = x[s, j]
                if u == u and u != v:
                    out[t, j] = u
                    break
    return out


@njit(cache=True)
def _days_since_change(x):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        for j in range(N):
            v = x[t, j]
            if v != v:
                continue
            if t > 0 and v == x[t - 1, j]:
                out[t, j] = out[t - 1, j] + 1.0
            else:
                out[t, j] = 0.0
    return out


@njit(cache=True)
def _hump(x, h):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        tot = 0.0
        for j in range(N):
            v = x[t, j]
            if v == v:
                tot += abs(v)
        lim = h * tot
        for j in range(N):
            v = x[t, j]
            if v != v:
                continue
            if t == 0:
                out[t, j] = v
                continue
            p = out[t - 1, j]
            if p == p and abs(v - p) < lim:
                out[t, j] = p
            else:
                out[t, j] = v
    return out


@njit(cache=True)
def _trade_when(x, y, z):
    T, N = x.shape
    out = np.full((T, N), np.nan)
    for t in range(T):
        for j in range(N):
            if z[t, j] > 0:
                out[t, j] = np.nan
            elif x[t, j] > 0:
                out[t, j] = y[t, j]
            elif t > 0:
                out[t, j] = out[t - 1, j]
    return out


def _ignore(op: str, value: Any) -> None:
    if not (isinstance(value, str) and value.lower() == "nan"):
        raise KernelArgumentError(f"{op}: only ignore=\"NaN\" is simulated locally, got {value!r}")


def ts_backfill(x: Any, lookback: int, k: int = 1, ignore: str = "NAN") -> np.ndarray:
    """x where non-NaN; else the k-th most recent non-NaN value in the last ``lookback`` days
    (today included); else NaN. (T, N) float64; FASTEXPR.md §7.3."""
    x = np.ascontiguousarray(matrix("ts_backfill", "x", x))
    d = window("ts_backfill", "lookback", lookback)
    kk = integer("ts_backfill", "k", k, minimum=1)
    _ignore("ts_backfill", ignore)
    return finite(_kth_recent(x, d, kk, True))


def kth_element(x: Any, d: int, k: int, ignore: str = "NaN") -> np.ndarray:
    """k-th (1-based) most recent non-NaN value in the d-day window (today included); NaN if fewer
    than k. FASTEXPR.md §7.3."""
    x = np.ascontiguousarray(matrix("kth_element", "x", x))
    dd = window("kth_element", "d", d)
    kk = integer("kth_element", "k", k, minimum=1)
    _ignore("kth_element", ignore)
    return finite(_kth_recent(x, dd, kk, False))


def last_diff_value(x: Any, d: int) -> np.ndarray:
    """Most recent non-NaN x_{t-k} (1 <= k <= d-1) different from x_t; NaN if none or x_t NaN."""
    x = np.ascontiguousarray(matrix("last_diff_value", "x", x))
    return finite(_last_diff(x, window("last_diff_value", "d", d)))


def days_from_last_change(x: Any) -> np.ndarray:
    """0 on the first row and where x_t != x_{t-1} (NaN yesterday = change), else previous + 1;
    NaN where x_t is NaN."""
    return _days_since_change(np.ascontiguousarray(matrix("days_from_last_change", "x", x)))


def hump(x: Any, hump: float = 0.01) -> np.ndarray:
    """out_t = out_{t-1} if |x_t - out_{t-1}| < hump * sum_i |x_t,i|, else x_t; first row = x;
    x_t NaN -> NaN; out_{t-1} NaN -> x_t. FASTEXPR.md §7.3."""
    x = finite(np.array(matrix("hump", "x", x), dtype=np.float64, order="C"))
    return finite(_hump(x, number("hump", "hump", hump)))


def trade_when(x: Any, y: Any, z: Any) -> np.ndarray:
    """z > 0 -> NaN (exit); elif x > 0 -> y (enter/update); else the previous output (NaN before
    the first entry). NaN x or z count as false. FASTEXPR.md §7.6."""
    op = "trade_when"
    fast = fast_operands(x, y, z)
    if fast is not None:
        return finite(enb.trade_when(*fast[0], fast[1], fast[2]))
    arrs = {}
    for name, v in (("x", x), ("y", y), ("z", z)):
        a = np.asarray(v, dtype=np.float64)
        if a.ndim not in (0, 2):
            raise KernelArgumentError(f"{op}: argument '{name}' must be a (T, N) array or a number")
        arrs[name] = a
    shapes = [a.shape for a in arrs.values() if a.ndim == 2]
    if not shapes:
        raise KernelArgumentError(f"{op}: at least one input must be a (T, N) array")
    full = {k: np.ascontiguousarray(np.broadcast_to(a, shapes[0])) for k, a in arrs.items()}
    same_shape(op, **full)
    return finite(_trade_when(full["x"], full["y"], full["z"]))
