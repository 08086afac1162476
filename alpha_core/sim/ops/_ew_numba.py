"""Single-pass numba loops behind the elementwise kernels (FASTEXPR.md §7.1, §7.2, §7.6).

Operands are C-contiguous float64 ``(T, N)`` arrays of one shape or float scalars (``at`` reads a scalar
as itself at every position), so a constant never gets broadcast into a temporary array. Each loop
computes exactly what the numpy expression it replaces computes (same IEEE operations, the same NaN
for the masked cases), in one pass with no temporaries.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

LT, LE, GT, GE, EQ, NE, AND, OR = range(8)
ADD, SUB, MUL = range(3)


def at(a, t, j):
    """``a[t, j]`` for an array, ``a`` for a scalar (numba only)."""
    raise NotImplementedError("numba-only helper")


@overload(at, inline="always")
def _at(a, t, j):
    if isinstance(a, types.Array):
        return lambda a, t, j: a[t, j]
    return lambda a, t, j: a


@njit(inline="always")
def _cmp(a, b, op):
    if op == LT:
        return a < b
    if op == LE:
        return a <= b
    if op == GT:
        return a > b
    if op == GE:
        return a >= b
    if op == EQ:
        return a == b
    if op == NE:
        return a != b
    if op == AND:
        return (a != 0) & (b != 0)
    return (a != 0) | (b != 0)


@njit(inline="always")
def _compare(x, y, T, N, op):
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        for j in range(N):
            a = at(x, t, j)
            b = at(y, t, j)
            r = 1.0 if _cmp(a, b, op) else 0.0
            o[j] = np.nan if (a != a) | (b != b) else r
    return out


@njit(cache=True)
def _lt(x, y, T, N):
    return _compare(x, y, T, N, LT)


@njit(cache=True)
def _le(x, y, T, N):
    return _compare(x, y, T, N, LE)


@njit(cache=True)
def _gt(x, y, T, N):
    return _compare(x, y, T, N, GT)


@njit(cache=True)
def _ge(x, y, T, N):
    return _compare(x, y, T, N, GE)


@njit(cache=True)
def _eq(x, y, T, N):
    return _compare(x, y, T, N, EQ)


@njit(cache=True)
def _ne(x, y, T, N):
    return _compare(x, y, T, N, NE)


@njit(cache=True)
def _and(x, y, T, N):
    return _compare(x, y, T, N, AND)


@njit(cache=True)
def _or(x, y, T, N):
    return _compare(x, y, T, N, OR)


COMPARE = (_lt, _le, _gt, _ge, _eq, _ne, _and, _or)


@njit(inline="always")
def _arith(x, y, T, N, op):
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        for j in range(N):
            a = at(x, t, j)
            b = at(y, t, j)
            r = a + b if op == ADD else (a - b if op == SUB else a * b)
            o[j] = np.nan if np.abs(r) == np.inf else r
    return out


@njit(cache=True)
def _add(x, y, T, N):
    return _arith(x, y, T, N, ADD)


@njit(cache=True)
def _sub(x, y, T, N):
    return _arith(x, y, T, N, SUB)


@njit(cache=True)
def _mul(x, y, T, N):
    return _arith(x, y, T, N, MUL)


ARITH = (_add, _sub, _mul)   # x op y, +-inf -> NaN (numpy's op then ``finite``)


@njit(cache=True)
def negate(x):
    """-x of a (T, N) array, +-inf -> NaN."""
    T, N = x.shape
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        xt = x[t]
        for j in range(N):
            r = -xt[j]
            o[j] = np.nan if np.abs(r) == np.inf else r
    return out


@njit(cache=True, error_model="numpy")
def divide(x, y, T, N):
    """x / y; NaN where y == 0 or the quotient is +-inf (``finite`` then the y == 0 mask)."""
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        for j in range(N):
            b = at(y, t, j)
            r = at(x, t, j) / b
            o[j] = np.nan if (b == 0.0) | (np.abs(r) == np.inf) else r
    return out


@njit(cache=True)
def if_else(c, a, b, T, N):
    """a where c != 0, b where c == 0, NaN where c is NaN or the pick is +-inf."""
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        for j in range(N):
            cv = at(c, t, j)
            av = at(a, t, j)  # both loaded first: a load inside a conditional expression is a branch
            bv = at(b, t, j)
            r = av if cv != 0 else bv
            o[j] = np.nan if (cv != cv) | (np.abs(r) == np.inf) else r
    return out


@njit(cache=True)
def trade_when(x, y, z, T, N):
    """z > 0 -> NaN; elif x > 0 -> y; else the previous row's output (NaN on the first row)."""
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        if t == 0:
            for j in range(N):
                yv = at(y, t, j)
                r = yv if at(x, t, j) > 0 else np.nan
                o[j] = np.nan if at(z, t, j) > 0 else r
            continue
        prev = out[t - 1]
        for j in range(N):
            yv = at(y, t, j)  # both loaded first: a load inside a conditional expression is a branch
            keep = prev[j]
            r = yv if at(x, t, j) > 0 else keep
            o[j] = np.nan if at(z, t, j) > 0 else r
    return out


@njit(cache=True)
def masked(x, keep):
    """x where ``keep`` (bool, same shape), NaN elsewhere: ``np.where(keep, x, nan)`` in one pass."""
    T, N = x.shape
    out = np.empty((T, N))
    for t in range(T):
        o = out[t]
        xr = x[t]
        kr = keep[t]
        for j in range(N):
            v = xr[j]
            o[j] = v if kr[j] else np.nan
    return out
