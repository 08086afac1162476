"""Fast per-row ascending order of the non-NaN values of a ``(T, N)`` float64 array.

numpy's ``argsort`` is a branchy comparison sort (~15-35 ms on 1259 x 505); ``np.sort`` of int64
keys is SIMD-accelerated (~4 ms). We pack an order-preserving integer image of each value with
its column index in the low ``B`` bits (one numba pass), sort the packed keys, then repair the
runs whose keys agree above the low ``B`` bits (exact ties, or values within 2**B ulps) with an
exact insertion sort on the true values. The result is an exact ordering; ties are left adjacent in
arbitrary order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

_FLIP = np.int64(0x7FFFFFFFFFFFFFFF)
_LAST = np.iinfo(np.int64).max


@njit(cache=True)
def sort_run(order, values, lo, hi):
    """Insertion-sort ``order[lo:hi]`` (indices into ``values``) by ``values``, in place. Used on the short
    runs of equal packed keys, whose true order the key's high bits could not tell."""
    for a in range(lo + 1, hi):
        cur = order[a]
        cv = values[cur]
        b = a - 1
        while b >= lo and values[order[b]] > cv:
            order[b + 1] = order[b]
            b -= 1
        order[b + 1] = cur


@njit(cache=True)
def _keys(x, bits_of_x, bits, exclude, use_exclude, finite_only=False):
    """Packed keys: (order-preserving int image of x >> bits << bits) | column; NaN (or ``exclude``, or
    +-inf with ``finite_only``) -> int64 max. ``bits_of_x`` is ``x.view(int64)``; -0.0 and +0.0 share the
    key of +0.0. (A row-range-adaptive image keeps more value bits but its extra passes cost more than the
    fewer collisions save on real data.)"""
    T, N = x.shape
    key = np.empty((T, N), np.int64)
    last = np.iinfo(np.int64).max
    flip = np.int64(0x7FFFFFFFFFFFFFFF)
    for t in range(T):
        for i in range(N):
            v = x[t, i]
            if v != v or (use_exclude and exclude[t, i]) or (finite_only and v - v != 0.0):
                key[t, i] = last
                continue
            k = np.int64(0) if v == 0.0 else bits_of_x[t, i]
            if k < 0:
                k = k ^ flip
            key[t, i] = ((k >> bits) << bits) | i
    return key


@njit(cache=True)
def row_from_keys(x, packed, bits, order):
    """One row: column indices of the sorted packed keys ``packed`` (N,) into ``order`` (N,), runs of equal
    high bits insertion-sorted by the true values ``x`` (N,). Returns the count of non-NaN entries."""
    N = packed.shape[0]
    mask = (np.int64(1) << bits) - 1
    last = np.iinfo(np.int64).max
    n = 0
    for i in range(N):
        p = packed[i]
        if p == last:
            break
        order[n] = p & mask
        n += 1
    i = 0
    while i < n:
        hi = packed[i] >> bits
        k = i + 1
        while k < n and (packed[k] >> bits) == hi:
            k += 1
        if k - i > 1:
            sort_run(order, x, i, k)
        i = k
    return n


@njit(cache=True)
def _repair(x, packed, bits):
    T, N = x.shape
    order = np.empty((T, N), np.int64)
    count = np.zeros(T, np.int64)
    for t in range(T):
        count[t] = row_from_keys(x[t], packed[t], bits, order[t])
    return order, count


def sorted_keys(x: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Row-sorted packed keys of ``x`` (see module doc) and the index bit width, for ``row_from_keys``.

    ``x`` must be C-contiguous float64 (T, N); ``exclude`` (T, N) bool entries are treated as NaN."""
    T, N = x.shape
    bits = max(1, int(N - 1).bit_length())
    if exclude is None:
        key = _keys(x, x.view(np.int64), bits, np.zeros((1, 1), np.bool_), False, False)
    else:
        key = _keys(x, x.view(np.int64), bits, np.ascontiguousarray(exclude, dtype=np.bool_), True, False)
    key.sort(axis=1)
    return key, bits


def row_order(x: np.ndarray, exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ascending order of each row's non-NaN values.

    ``x``: (T, N) float64 (+-inf allowed, sorted at the ends); ``exclude``: optional (T, N) bool, True
    entries are left out as if NaN. Returns ``(order, count)``: ``order`` (T, N) int64 whose first
    ``count[t]`` entries of row t are the column indices of the non-NaN values in ascending value order
    (equal values adjacent); the rest is unspecified.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    key, bits = sorted_keys(x, exclude)
    return _repair(x, key, bits)


@njit(cache=True)
def _rank_kernel(x, packed, bits):
    """Ranks straight from the sorted packed keys: a key whose high bits differ from both neighbours is a
    unique value (rank = position / (n - 1)); runs of equal high bits are insertion-sorted by the true
    values and exact ties averaged, as ``_repair`` + a tie walk would."""
    T, N = x.shape
    out = np.empty((T, N))
    order = np.empty(N, np.int64)
    mask = (np.int64(1) << bits) - 1
    last = np.iinfo(np.int64).max
    for t in range(T):
        xt = x[t]
        ot = out[t]
        kt = packed[t]
        ot[:] = np.nan
        n = 0
        for i in range(N):
            p = kt[i]
            if p == last:
                break
            order[i] = p & mask
            n += 1
        if n == 1:
            ot[order[0]] = 0.5
            continue
        den = float(n - 1)
        i = 0
        while i < n:
            hi = kt[i] >> bits
            if i + 1 == n or (kt[i + 1] >> bits) != hi:
                ot[order[i]] = (i + i) * 0.5 / den
                i += 1
                continue
            k = i + 2
            while k < n and (kt[k] >> bits) == hi:
                k += 1
            sort_run(order, xt, i, k)
            j = i
            while j < k:  # exact ties inside the run
                v = xt[order[j]]
                e = j
                while e + 1 < k and xt[order[e + 1]] == v:
                    e += 1
                r = (j + e) * 0.5 / den
                for m in range(j, e + 1):
                    ot[order[m]] = r
                j = e + 1
            i = k
    return out


def rank_rows(x: np.ndarray) -> np.ndarray:
    """Per-row rank of the finite values: 0-based ascending position with average ties / (n - 1), one
    finite value -> 0.5; NaN and +-inf entries -> NaN. ``x``: (T, N) float64, not modified. Returns a new
    (T, N) float64 array (FASTEXPR.md §7.4 ``rank``)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    T, N = x.shape
    bits = max(1, int(N - 1).bit_length())
    key = _keys(x, x.view(np.int64), bits, np.zeros((1, 1), np.bool_), False, True)
    key.sort(axis=1)
    return _rank_kernel(x, key, bits)


@njit(cache=True)
def _keys_joint(x, bits_of_x, bits, y):
    """``_keys`` of x with every entry where x or ``y`` (T, N) is not finite treated as NaN (int64 max), without
    building the exclude mask."""
    T, N = x.shape
    key = np.empty((T, N), np.int64)
    last = np.iinfo(np.int64).max
    flip = np.int64(0x7FFFFFFFFFFFFFFF)
    for t in range(T):
        for i in range(N):
            v = x[t, i]
            b = y[t, i]
            if v - v != 0.0 or b - b != 0.0:
                key[t, i] = last
                continue
            k = np.int64(0) if v == 0.0 else bits_of_x[t, i]
            if k < 0:
                k = k ^ flip
            key[t, i] = ((k >> bits) << bits) | i
    return key


def sorted_keys_joint(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """``sorted_keys(x, ~(isfinite(x) & isfinite(y)))`` without the (T, N) masks: row-sorted packed keys of
    the entries where both (T, N) float64 ``x`` (C-contiguous) and ``y`` are finite, and the index bits."""
    T, N = x.shape
    if y.shape != x.shape:
        raise ValueError(f"y has shape {y.shape}, x has {x.shape}")
    bits = max(1, int(N - 1).bit_length())
    key = _keys_joint(x, x.view(np.int64), bits, np.ascontiguousarray(y, dtype=np.float64))
    key.sort(axis=1)
    return key, bits
