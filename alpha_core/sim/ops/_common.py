"""Shared helpers of the operator kernels: argument checks and output cleaning.

Every kernel returns a new ``(T, N)`` float64 array with ``+-inf`` mapped to NaN (FASTEXPR.md §6).
Bad constant arguments raise ``KernelArgumentError`` (a ``ValueError``) naming the operator and
the parameter.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

NAN = float("nan")


class KernelArgumentError(ValueError):
    """A kernel got an argument it cannot use; the message names the operator and parameter."""


def finite(a: Any) -> np.ndarray:
    """``a`` as float64 with ``+-inf`` set to NaN, in place when ``a`` is already a float64 ndarray.

    Only call on arrays the kernel created itself (never on an input).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return a if np.isfinite(a) or np.isnan(a) else np.asarray(NAN)
    if a.flags.c_contiguous and a.flags.writeable and a.size:
        _inf_to_nan(a.reshape(-1))  # one pass, no temporaries
    else:
        np.putmask(a, np.isinf(a), NAN)
    return a


def finite_input(a: Any) -> np.ndarray:
    """``a`` as C-contiguous float64 with ``+-inf`` as NaN for a kernel that only reads it: ``a`` itself (no
    copy) when it is writeable and holds no ``+-inf``, else a cleaned copy (a read-only array, e.g. a panel
    field, is copied so that the numba kernels see one array type); the caller's array is never modified."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    if not a.flags.writeable or (a.size and _count_inf(a.reshape(-1))):
        return finite(np.array(a, order="C"))
    return a


@njit(cache=True, inline="always")
def _count_inf(flat):
    """Number of +-inf in (n,) float64 ``flat``: a read-only scan that vectorises."""
    n_inf = 0
    for i in range(flat.shape[0]):
        n_inf += abs(flat[i]) == np.inf
    return n_inf


@njit(cache=True)
def _inf_to_nan(flat):
    # read-only scan first: inf is rare, so the write pass usually never runs
    if _count_inf(flat):
        for i in range(flat.shape[0]):
            if abs(flat[i]) == np.inf:
                flat[i] = np.nan


def exclude_bytes(op: str, exclude: Any, shape: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """A kernel's optional ``exclude`` (T, N) bool (entries read as NaN: the evaluator's pasteurization mask
    without a masked copy) as the numba loops take it: ``(bytes, use)`` with ``bytes`` the mask's uint8 view
    (row t is row t's) and ``use`` True, or a (1, N) zero row and False when there is none. Testing a byte
    row, without a flag inside the loop, is what lets LLVM vectorise those loops. Raises
    ``KernelArgumentError`` when the shape is not ``shape``."""
    if exclude is None:
        return np.zeros((1, shape[1]), np.uint8), False
    if np.shape(exclude) != tuple(shape):
        raise KernelArgumentError(f"{op}: exclude has shape {np.shape(exclude)}, x has {tuple(shape)}")
    return np.ascontiguousarray(exclude, dtype=np.bool_).view(np.uint8), True


def fast_operands(*values: Any) -> tuple[list, int, int] | None:
    """The operands as the single-pass loops of ``_ew_numba`` take them, with the common (T, N) shape:
    C-contiguous float64 (T, N) arrays of one shape and scalars (numbers, 0-d float64 arrays), at least
    one array. None when
    any operand is something else (other dtype, layout, rank or shape): the numpy path handles it.
    Arrays are passed as read-only views (no copy): numba compiles one signature per argument type and
    read-only (a panel field) and writeable (an intermediate) arrays are different types, so this halves
    the signatures compiled per operand pattern (the loops never write an operand)."""
    ops, shape = [], None
    for v in values:
        if isinstance(v, np.ndarray) and v.ndim == 2:
            if v.dtype != np.float64 or not v.flags.c_contiguous or (shape is not None and v.shape != shape):
                return None
            shape = v.shape
            if v.flags.writeable:
                v = v.view()
                v.flags.writeable = False
            ops.append(v)
        elif isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_)):
            ops.append(float(v))
        elif isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.float64:
            ops.append(float(v))
        else:
            return None
    if shape is None:
        return None
    return ops, shape[0], shape[1]


def matrix(op: str, name: str, value: Any) -> np.ndarray:
    """``value`` as a 2-D float64 array (no copy when possible).

    Raises ``KernelArgumentError`` when ``value`` is not two-dimensional.
    """
    a = np.asarray(value, dtype=np.float64)
    if a.ndim != 2:
        raise KernelArgumentError(
            f"{op}: argument '{name}' must be a (T, N) array, got an array of shape {a.shape}")
    return a


def same_shape(op: str, **arrays: np.ndarray) -> None:
    """Raise ``KernelArgumentError`` unless all the named arrays have one shape."""
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) > 1:
        raise KernelArgumentError(f"{op}: inputs have different shapes {shapes}")


def window(op: str, name: str, value: Any, minimum: int = 1) -> int:
    """A window/lag constant as int (non-integers floored, FASTEXPR.md §6); below ``minimum`` raises."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise KernelArgumentError(f"{op}: '{name}' must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise KernelArgumentError(f"{op}: '{name}' must be finite, got {value!r}")
    d = int(math.floor(f))
    if d < minimum:
        raise KernelArgumentError(f"{op}: '{name}' must be an integer >= {minimum}, got {value!r}")
    return d


def integer(op: str, name: str, value: Any, allowed: tuple[int, ...] | None = None,
            minimum: int | None = None) -> int:
    """An int-kind constant (``1.0`` accepted); not integral, outside ``allowed`` or below ``minimum`` raises."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise KernelArgumentError(f"{op}: '{name}' must be an integer, got {value!r}") from None
    if not math.isfinite(f) or f != math.floor(f):
        raise KernelArgumentError(f"{op}: '{name}' must be an integer, got {value!r}")
    i = int(f)
    if allowed is not None and i not in allowed:
        raise KernelArgumentError(f"{op}: '{name}' must be one of {list(allowed)}, got {value!r}")
    if minimum is not None and i < minimum:
        raise KernelArgumentError(f"{op}: '{name}' must be >= {minimum}, got {value!r}")
    return i


def number(op: str, name: str, value: Any) -> float:
    """A const-kind constant as a finite float."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise KernelArgumentError(f"{op}: '{name}' must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise KernelArgumentError(f"{op}: '{name}' must be finite, got {value!r}")
    return f


def flag(op: str, name: str, value: Any) -> bool:
    """A bool-kind constant (bool, 0/1, or 'true'/'false')."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise KernelArgumentError(f"{op}: '{name}' must be true or false, got {value!r}")


def choice(op: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """A string-kind enum, matched case-insensitively; returns the lower-case spelling."""
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise KernelArgumentError(f"{op}: '{name}' must be one of {list(allowed)}, got {value!r}")
