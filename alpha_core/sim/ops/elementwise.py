"""Elementwise arithmetic and logical kernels (FASTEXPR.md §7.1, §7.2).

Inputs are ``(T, N)`` float64 arrays or Python floats (broadcast with numpy rules); outputs are new
float64 arrays of the broadcast shape with ``+-inf`` mapped to NaN. Comparisons and logical
operators return 1.0 / 0.0 and NaN when an input is NaN; ``is_nan`` is never NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import _ew_numba as enb
from ._common import NAN, KernelArgumentError, fast_operands, finite, flag, number

_ERR = dict(all="ignore")


def _arr(v: Any) -> np.ndarray:
    return np.asarray(v, dtype=np.float64)


def _variadic(op: str, inputs: tuple) -> list[np.ndarray]:
    if len(inputs) < 2:
        raise KernelArgumentError(f"{op}: needs at least 2 inputs, got {len(inputs)}")
    return [_arr(v) for v in inputs]


def add(*inputs: Any, filter: bool = False) -> np.ndarray:
    """Sum of 2+ inputs; NaN if any NaN, or NaN counted as 0 when ``filter`` (§7.1)."""
    arrs = _variadic("add", inputs)
    fil = flag("add", "filter", filter)
    fast = None if fil or len(inputs) != 2 else fast_operands(*inputs)
    if fast is not None:
        return enb.ARITH[enb.ADD](*fast[0], fast[1], fast[2])
    with np.errstate(**_ERR):
        if not fil:
            return finite(_fold(np.add, arrs))
        out = np.nan_to_num(arrs[0], nan=0.0, posinf=np.inf, neginf=-np.inf)
        out = np.array(out, dtype=np.float64, copy=True)
        for a in arrs[1:]:
            out = out + np.nan_to_num(a, nan=0.0, posinf=np.inf, neginf=-np.inf)
    return finite(out)


def _fold(ufunc: np.ufunc, arrs: list[np.ndarray]) -> np.ndarray:
    """``((a0 op a1) op a2) ...`` into one fresh array (in place after the first step when shapes allow)."""
    out = np.asarray(ufunc(arrs[0], arrs[1]), dtype=np.float64)
    for a in arrs[2:]:
        if out.ndim and out.flags.writeable and np.broadcast_shapes(out.shape, a.shape) == out.shape:
            ufunc(out, a, out=out)
        else:
            out = np.asarray(ufunc(out, a), dtype=np.float64)
    return out


def subtract(x: Any, y: Any, filter: bool = False) -> np.ndarray:
    """x - y; NaN counted as 0 when ``filter`` (§7.1)."""
    fil = flag("subtract", "filter", filter)
    fast = None if fil else fast_operands(x, y)
    if fast is not None:
        return enb.ARITH[enb.SUB](*fast[0], fast[1], fast[2])
    x, y = _arr(x), _arr(y)
    if fil:
        x = np.where(np.isnan(x), 0.0, x)
        y = np.where(np.isnan(y), 0.0, y)
    with np.errstate(**_ERR):
        return finite(x - y)


def multiply(*inputs: Any, filter: bool = False) -> np.ndarray:
    """Product of 2+ inputs; NaN if any NaN, or NaN counted as 1 when ``filter`` (§7.1)."""
    arrs = _variadic("multiply", inputs)
    fil = flag("multiply", "filter", filter)
    fast = None if fil or len(inputs) != 2 else fast_operands(*inputs)
    if fast is not None:
        return enb.ARITH[enb.MUL](*fast[0], fast[1], fast[2])
    with np.errstate(**_ERR):
        if not fil:
            return finite(_fold(np.multiply, arrs))
        out = np.where(np.isnan(arrs[0]), 1.0, arrs[0])
        for a in arrs[1:]:
            out = out * np.where(np.isnan(a), 1.0, a)
    return finite(out)


def divide(x: Any, y: Any) -> np.ndarray:
    """x / y; y == 0 -> NaN, never inf (§7.1)."""
    fast = fast_operands(x, y)
    if fast is not None:
        return enb.divide(*fast[0], fast[1], fast[2])
    x, y = _arr(x), _arr(y)
    with np.errstate(**_ERR):
        out = np.asarray(x / y, dtype=np.float64)
    out = finite(out)
    if out.ndim:
        np.putmask(out, np.broadcast_to(y == 0.0, out.shape), NAN)
    elif y == 0.0:
        out = np.asarray(NAN)
    return out


def reverse(x: Any) -> np.ndarray:
    """-x (§7.1)."""
    if isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == np.float64 and x.flags.c_contiguous:
        return enb.negate(x)
    return finite(np.negative(_arr(x)))


def abs_(x: Any) -> np.ndarray:
    """|x| (§7.1)."""
    return finite(np.abs(_arr(x)))


def sign(x: Any) -> np.ndarray:
    """-1 / 0 / +1; NaN -> NaN (§7.1)."""
    return finite(np.sign(_arr(x)))


def log(x: Any) -> np.ndarray:
    """Natural log; x <= 0 -> NaN (§7.1)."""
    x = _arr(x)
    with np.errstate(**_ERR):
        out = np.log(np.where(x > 0, x, NAN))
    return finite(out)


def sqrt(x: Any) -> np.ndarray:
    """Square root; x < 0 -> NaN (§7.1)."""
    with np.errstate(**_ERR):
        return finite(np.sqrt(_arr(x)))


def inverse(x: Any) -> np.ndarray:
    """1 / x; x == 0 -> NaN (§7.1)."""
    return divide(1.0, x)


def power(x: Any, y: Any) -> np.ndarray:
    """x ** y; non-real or infinite results -> NaN (§7.1)."""
    with np.errstate(**_ERR):
        return finite(np.power(_arr(x), _arr(y)))


def signed_power(x: Any, y: Any) -> np.ndarray:
    """sign(x) * |x| ** y (§7.1)."""
    x = _arr(x)
    with np.errstate(**_ERR):
        return finite(np.sign(x) * np.power(np.abs(x), _arr(y)))


def max_(*inputs: Any) -> np.ndarray:
    """Elementwise maximum of 2+ inputs; NaN if any NaN (§7.1)."""
    arrs = _variadic("max", inputs)
    out = arrs[0]
    for a in arrs[1:]:
        out = np.maximum(out, a)
    return finite(np.array(out, dtype=np.float64, copy=True))


def min_(*inputs: Any) -> np.ndarray:
    """Elementwise minimum of 2+ inputs; NaN if any NaN (§7.1)."""
    arrs = _variadic("min", inputs)
    out = arrs[0]
    for a in arrs[1:]:
        out = np.minimum(out, a)
    return finite(np.array(out, dtype=np.float64, copy=True))


def to_nan(x: Any, value: float = 0.0, reverse: bool = False) -> np.ndarray:
    """NaN where x == value (``reverse``: where x != value), else x (§7.1)."""
    x = _arr(x)
    v = number("to_nan", "value", value)
    hit = (x != v) if flag("to_nan", "reverse", reverse) else (x == v)
    return finite(np.where(hit, NAN, x))


def _compare(fn, x: Any, y: Any, code: int) -> np.ndarray:
    fast = fast_operands(x, y)
    if fast is not None:
        return enb.COMPARE[code](*fast[0], fast[1], fast[2])
    x, y = _arr(x), _arr(y)
    with np.errstate(**_ERR):
        out = fn(x, y).astype(np.float64)
    return np.where(np.isnan(x) | np.isnan(y), NAN, out)


def less(x: Any, y: Any) -> np.ndarray:
    """1.0 if x < y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.less, x, y, enb.LT)


def less_equal(x: Any, y: Any) -> np.ndarray:
    """1.0 if x <= y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.less_equal, x, y, enb.LE)


def greater(x: Any, y: Any) -> np.ndarray:
    """1.0 if x > y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.greater, x, y, enb.GT)


def greater_equal(x: Any, y: Any) -> np.ndarray:
    """1.0 if x >= y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.greater_equal, x, y, enb.GE)


def equal(x: Any, y: Any) -> np.ndarray:
    """1.0 if x == y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.equal, x, y, enb.EQ)


def not_equal(x: Any, y: Any) -> np.ndarray:
    """1.0 if x != y else 0.0; NaN if either NaN (§7.2)."""
    return _compare(np.not_equal, x, y, enb.NE)


def and_(a: Any, b: Any) -> np.ndarray:
    """1.0 if both non-zero else 0.0; NaN if either NaN (§7.2)."""
    return _compare(lambda p, q: (p != 0) & (q != 0), a, b, enb.AND)


def or_(a: Any, b: Any) -> np.ndarray:
    """1.0 if either non-zero else 0.0; NaN if either NaN (§7.2)."""
    return _compare(lambda p, q: (p != 0) | (q != 0), a, b, enb.OR)


def not_(x: Any) -> np.ndarray:
    """1.0 if x == 0 else 0.0; NaN -> NaN (§7.2)."""
    x = _arr(x)
    return np.where(np.isnan(x), NAN, (x == 0).astype(np.float64))


def is_nan(x: Any) -> np.ndarray:
    """1.0 where x is NaN else 0.0; never NaN (§7.2)."""
    return np.isnan(_arr(x)).astype(np.float64)


def if_else(c: Any, a: Any, b: Any) -> np.ndarray:
    """a where c != 0, b where c == 0, NaN where c is NaN (§7.2)."""
    fast = fast_operands(c, a, b)
    if fast is not None:
        return enb.if_else(*fast[0], fast[1], fast[2])
    c, a, b = _arr(c), _arr(a), _arr(b)
    out = np.where(c != 0, a, b)
    return finite(np.where(np.isnan(c), NAN, out))


def tail(x: Any, lower: float = 0.0, upper: float = 0.0, newval: float = 0.0) -> np.ndarray:
    """newval where lower < x < upper, else x (§7.6)."""
    x = _arr(x)
    lo, hi = number("tail", "lower", lower), number("tail", "upper", upper)
    nv = number("tail", "newval", newval)
    return finite(np.where((x > lo) & (x < hi), nv, x))
