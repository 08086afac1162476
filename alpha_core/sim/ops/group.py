"""Group kernels (FASTEXPR.md §7.5) and the GROUP-returning densify / group_cartesian_product (§7.1).

``x``, ``weight`` are ``(T, N)`` float64 arrays already masked by pasteurization (or, for the statistics
and ``group_rank``, unmasked with the mask's complement as ``exclude``: x is read as NaN there); ``group`` is a
``(T, N)`` float64 array of integer ids (NaN = no group; ids are opaque labels). Per date, a member
takes part when its group id and its input are non-NaN; NaN group id or NaN input -> NaN output,
except that the group statistics (count, sum, mean, max, min, median, std_dev) with
``nan_handling=True`` give a NaN-input member its group's value (SIMULATION.md §1).
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from . import _group_numba as gn
from ._common import KernelArgumentError, exclude_bytes, finite, finite_input, flag, matrix, number, same_shape, window
from ._sortrows import row_order

_FAST_MAX_ID = 1 << 16


_IDS_CACHE: dict[int, tuple] = {}


def dense_ids(op: str, name: str, g: Any) -> tuple[np.ndarray, int]:
    """Map group ids to dense int64 ids in [0, G) preserving their order; -1 where NaN/inf.

    Small non-negative integer ids are used as they are; anything else goes through ``np.unique``.
    Returns ``(ids (T, N) int64, G)``. For a read-only C-contiguous float64 ``g`` (a panel's group field)
    the result is cached by identity, held weakly (about 2 ms per group operator on the real panel): callers
    must not modify it (no kernel writes its ids; it stays writeable so that the numba kernels keep one
    compiled signature).
    """
    a = np.ascontiguousarray(matrix(op, name, g))
    cacheable = a is g and not a.flags.writeable
    if cacheable:
        hit = _IDS_CACHE.get(id(a))
        if hit is not None and hit[0]() is a:
            return hit[1], hit[2]
    ids, G = _dense_ids(a)
    if cacheable:
        for key in [k for k, v in _IDS_CACHE.items() if v[0]() is None]:
            del _IDS_CACHE[key]
        _IDS_CACHE[id(a)] = (weakref.ref(a), ids, G)
    return ids, G


def _dense_ids(a: np.ndarray) -> tuple[np.ndarray, int]:
    ids, G, ok = gn.small_int_ids(a, _FAST_MAX_ID)
    if ok:
        return ids, max(int(G), 1)
    valid = np.isfinite(a)
    ids = np.full(a.shape, -1, dtype=np.int64)
    vals = a[valid]
    uniq, inv = np.unique(vals, return_inverse=True)
    ids[valid] = inv
    return ids, len(uniq)


_ONES: list[np.ndarray] = []


def _ones(shape) -> np.ndarray:
    """A (T, N) array of 1.0 (the weights of an unweighted group statistic), kept for the last shape asked;
    the kernels only read it."""
    if not _ONES or _ONES[0].shape != tuple(shape):
        _ONES[:] = [np.ones(shape)]
    return _ONES[0]


def _xg(op: str, x: Any, group: Any) -> tuple[np.ndarray, np.ndarray, int]:
    xa = finite_input(matrix(op, "x", x))   # the group kernels only read x
    ids, G = dense_ids(op, "group", group)
    same_shape(op, x=xa, group=ids)
    return xa, ids, G


def _stat(op: str, mode: int, x: Any, group: Any, nan_handling: bool, weight: Any = None,
          exclude: np.ndarray | None = None) -> np.ndarray:
    xa, ids, G = _xg(op, x, group)
    ex, use_ex = exclude_bytes(op, exclude, xa.shape)
    if weight is None:
        w = _ones(xa.shape)
    else:
        w = finite(np.array(np.broadcast_to(np.asarray(weight, dtype=np.float64), xa.shape), order="C"))
    fill = flag(op, "nan_handling", nan_handling)
    return finite(gn.group_stat(xa, w, ids, G, mode, fill, ex, use_ex))


def group_count(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Number of members with non-NaN x in the group, broadcast to members."""
    return _stat("group_count", gn.COUNT, x, group, nan_handling, exclude=exclude)


def group_sum(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Sum of the group's non-NaN x, broadcast to members."""
    return _stat("group_sum", gn.SUM, x, group, nan_handling, exclude=exclude)


def group_mean(x: Any, weight: Any, group: Any, nan_handling: bool = False,
               exclude: np.ndarray | None = None) -> np.ndarray:
    """sum(w x) / sum(w) over members with x and w non-NaN; sum(w) == 0 -> NaN; broadcast to the
    members with non-NaN x (a member with NaN weight is left out of the mean but still gets it)."""
    return _stat("group_mean", gn.MEAN, x, group, nan_handling, weight=weight, exclude=exclude)


def group_max(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Group maximum, broadcast."""
    return _stat("group_max", gn.MAX, x, group, nan_handling, exclude=exclude)


def group_min(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Group minimum, broadcast."""
    return _stat("group_min", gn.MIN, x, group, nan_handling, exclude=exclude)


def group_median(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Group median (mean of the two middle values for an even count), broadcast."""
    return _stat("group_median", gn.MEDIAN, x, group, nan_handling, exclude=exclude)


def group_std_dev(x: Any, group: Any, nan_handling: bool = False, exclude: np.ndarray | None = None) -> np.ndarray:
    """Group population std (ddof 0; exactly 0 when all values are equal), broadcast."""
    return _stat("group_std_dev", gn.STD, x, group, nan_handling, exclude=exclude)


def group_neutralize(x: Any, group: Any, exclude: np.ndarray | None = None) -> np.ndarray:
    """x - mean of x in its group."""
    return _stat("group_neutralize", gn.NEUTRALIZE, x, group, False, exclude=exclude)


def group_zscore(x: Any, group: Any, exclude: np.ndarray | None = None) -> np.ndarray:
    """(x - mean_g) / std_g, ddof 0; std 0 (incl. single members) -> NaN."""
    return _stat("group_zscore", gn.ZSCORE, x, group, False, exclude=exclude)


def group_scale(x: Any, group: Any, exclude: np.ndarray | None = None) -> np.ndarray:
    """(x - min_g) / (max_g - min_g); max == min -> NaN."""
    return _stat("group_scale", gn.SCALE, x, group, False, exclude=exclude)


def group_rank(x: Any, group: Any, exclude: np.ndarray | None = None) -> np.ndarray:
    """rank() within (date, group): average ties / (n_g - 1); single member -> 0.5."""
    xa, ids, G = _xg("group_rank", x, group)
    xm = np.where(ids >= 0, xa, np.nan)
    exclude_bytes("group_rank", exclude, xa.shape)   # the shape check; row_order takes the bool mask
    order, count = row_order(xm, exclude)
    return gn.group_rank(xm, ids, G, order, count)


def group_backfill(x: Any, group: Any, d: int, std: float = 4.0) -> np.ndarray:
    """x where non-NaN; else the mean of the group's non-NaN x over the last d rows (pooled over
    dates and members, today included; a window cut by the panel start is used as is), after
    clipping the pool at its mean +- std * stdev (ddof 0); NaN when the pool is empty."""
    xa, ids, G = _xg("group_backfill", x, group)
    dd = window("group_backfill", "d", d)
    k = number("group_backfill", "std", std)
    return finite(gn.group_backfill(xa, ids, G, dd, k))


def densify(g: Any) -> np.ndarray:
    """GROUP: per date the distinct non-NaN ids present renumbered 0..k-1 ascending; NaN stays NaN."""
    ids, G = dense_ids("densify", "g", g)
    return gn.densify_rows(ids, G)


def group_cartesian_product(g1: Any, g2: Any) -> np.ndarray:
    """GROUP: one id per (g1, g2) pair (id = dense(g1) * G2 + dense(g2)); NaN if either is NaN."""
    a, _ = dense_ids("group_cartesian_product", "g1", g1)
    b, G2 = dense_ids("group_cartesian_product", "g2", g2)
    same_shape("group_cartesian_product", g1=a, g2=b)
    ok = (a >= 0) & (b >= 0)
    if ok.any() and (int(a.max()) + 1) * G2 >= 2 ** 53:
        raise KernelArgumentError("group_cartesian_product: too many group pairs for float ids")
    return np.where(ok, a.astype(np.float64) * G2 + b, np.nan)
