"""The trading universe TOPn (SIMULATION.md §2).

``U_t`` ranks instruments by the mean of ``close * volume`` over the 20 rows ending t-1 (NaN skipped, at
least 10 valid values), descending, ties by ticker (column) order, and keeps the first n.
"""
from __future__ import annotations

import weakref

import numpy as np

from alpha_core.sim.settings import UNIVERSE_SIZES

WINDOW = 20
MIN_VALID = 10


def universe_size(universe: int | str) -> int:
    """``"TOP500"`` -> 500; an int is returned as is. Raises ``ValueError`` for an unknown name or n < 1."""
    if isinstance(universe, str):
        if universe.upper() not in UNIVERSE_SIZES:
            raise ValueError(f"unknown universe {universe!r}; expected one of {', '.join(UNIVERSE_SIZES)}")
        return UNIVERSE_SIZES[universe.upper()]
    if isinstance(universe, (bool, np.bool_)) or not isinstance(universe, (int, np.integer)) or universe < 1:
        raise ValueError(f"universe size must be a positive integer or a TOPn name, got {universe!r}")
    return int(universe)


def _check(close: np.ndarray, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    close = np.asarray(close, dtype=np.float64)
    volume = np.asarray(volume, dtype=np.float64)
    if close.ndim != 2 or close.shape != volume.shape:
        raise ValueError(f"close and volume must be (T, N) arrays of one shape, got {close.shape} and {volume.shape}")
    return close, volume


def _members_by_window_end(close: np.ndarray, volume: np.ndarray, n: int) -> np.ndarray:
    """(T, N) bool: row s = the TOPn ranked on the 20 rows ending at s (inclusive), i.e. ``U_{s+1}``."""
    dv = close * volume
    dv[~np.isfinite(dv)] = np.nan
    valid = ~np.isnan(dv)
    filled = np.where(valid, dv, 0.0)
    T, N = dv.shape
    total = np.zeros((T, N))
    count = np.zeros((T, N), dtype=np.int32)
    # window sums by explicit shifts (exact for equal series, so ties stay ties)
    for k in range(WINDOW):
        total[k:] += filled[: T - k]
        count[k:] += valid[: T - k]
    mean = np.where(count >= MIN_VALID, total / np.maximum(count, 1), np.nan)
    # descending by mean, ties by column order, NaN last: stable sort of -mean (NaN sorts last)
    order = np.argsort(-mean, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(N)[None, :].repeat(T, axis=0), axis=1)
    return (rank < n) & ~np.isnan(mean)


def universe_mask(close: np.ndarray, volume: np.ndarray, size: int | str) -> np.ndarray:
    """The trading universe ``U_t`` (SIMULATION.md §2) as a (T, N) bool array.

    ``close``, ``volume``: (T, N) float64 (NaN = no data), columns in ticker order. ``size``: n or a TOPn
    name. Row t holds the n instruments with the largest mean ``close*volume`` over rows t-20..t-1 (NaN
    skipped, >= 10 valid values), ties broken by column order; fewer instruments qualify -> all of them.
    Row 0 (no history) is all False. Raises ``ValueError`` on mismatched shapes or a bad size.
    """
    close, volume = _check(close, volume)
    n = universe_size(size)
    ahead = _members_by_window_end(close, volume, n)
    out = np.zeros_like(ahead)
    out[1:] = ahead[:-1]
    return out


def next_universe_mask(close: np.ndarray, volume: np.ndarray, size: int | str) -> np.ndarray:
    """(T, N) bool: row s = ``U_{s+1}``, the universe a row evaluated at date s trades in (pasteurization).

    Uses data up to date s only; the last row is the universe of the day after the panel ends.
    """
    close, volume = _check(close, volume)
    return _members_by_window_end(close, volume, universe_size(size))


_CACHE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def panel_universe(panel, size: int | str, ahead: bool = False) -> np.ndarray:
    """``universe_mask`` (or ``next_universe_mask`` with ``ahead``) of ``panel["close"]``/``panel["volume"]``.

    Cached per panel object (weakly), so repeated backtests on one panel rank once. Read-only result.
    """
    n = universe_size(size)
    try:
        store = _CACHE.setdefault(panel, {})
    except TypeError:  # panel not weak-referenceable: no cache
        store = {}
    key = (n, bool(ahead))
    if key not in store:
        close, volume = panel["close"], panel["volume"]
        mask = next_universe_mask(close, volume, n) if ahead else universe_mask(close, volume, n)
        mask.flags.writeable = False
        store[key] = mask
    return store[key]
