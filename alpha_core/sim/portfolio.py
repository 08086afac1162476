"""Alpha -> weights -> positions: decay, universe, neutralization, scaling, truncation (SIMULATION.md §3 steps 3-7).

All functions are vectorised over (T, N) float64 arrays (rows = trading days, columns = instruments).
A NaN weight means no position. Group means are accumulated per row in a numba kernel (dense group codes, O(N) per row).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from alpha_core.sim.settings import BOOK

TRUNCATION_ROUNDS = 10
TRUNCATION_TOL = 1e-9
NEUTRAL_TOL = 1e-13  # |w - group mean| below this x the row's max |w| counts as 0


def _as_panel_array(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a (T, N) array, got shape {arr.shape}")
    return arr


def decay_linear(alpha: np.ndarray, n: int) -> np.ndarray:
    """Step 3: ``D_t = sum_{k<n} (n-k) A_{t-k} / sum of the weights of the non-NaN terms``.

    ``alpha``: (T, N) float64; ``n``: decay in days (0 or 1 = no decay, returns a copy). Terms before the
    first row count as NaN; all terms NaN -> NaN. Returns (T, N) float64. Raises ``ValueError`` for n < 0.
    """
    alpha = _as_panel_array(alpha, "alpha")
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise ValueError(f"decay must be an integer >= 0, got {n!r}")
    n = int(n)
    if n <= 1:
        return alpha.copy()
    return _decay_kernel(np.ascontiguousarray(alpha), n)


@njit(cache=True)
def _decay_kernel(a, n):
    T, N = a.shape
    out = np.empty((T, N))
    num = np.empty(N)
    den = np.empty(N)
    for t in range(T):
        num[:] = 0.0
        den[:] = 0.0
        for k in range(min(n, t + 1)):
            wk = float(n - k)
            for i in range(N):
                v = a[t - k, i]
                if v == v:
                    num[i] += wk * v
                    den[i] += wk
        for i in range(N):
            out[t, i] = num[i] / den[i] if den[i] > 0 else np.nan
    return out


class GroupIndex:
    """Dense group codes of a (T, N) group-id array, reused across neutralization rounds.

    ``groups``: (T, N) float64 opaque ids, NaN = no group. ``codes`` (T, N) int64 in 0..G-1 (-1 = none).
    """

    def __init__(self, groups: np.ndarray):
        groups = _as_panel_array(groups, "groups")
        self.shape = groups.shape
        has = np.isfinite(groups)
        vals = groups[has]
        codes = np.full(groups.shape, -1, dtype=np.int64)
        if vals.size and np.all(vals == np.round(vals)) and vals.min() >= 0 and vals.max() < 4 * vals.size + 1024:
            codes[has] = vals.astype(np.int64)   # small non-negative integer ids: use them directly
            self.n_groups = int(vals.max()) + 1
        elif vals.size:
            uniq, inv = np.unique(vals, return_inverse=True)
            codes[has] = inv
            self.n_groups = int(uniq.size)
        else:
            self.n_groups = 1
        self.codes = codes
        self.has_group = has


@njit(cache=True)
def _neutralize_row(src, codes, sums, counts, tol, dst):
    """dst = src - mean of its group over valid members; no group or NaN -> NaN; |result| <= tol x the row's
    max |src| -> 0 (a group of equal values gives 0, not rounding noise that scaling would blow up).
    ``sums``/``counts`` are zeroed scratch arrays of length G, left zeroed."""
    N = src.shape[0]
    row_max = 0.0
    for i in range(N):
        c, v = codes[i], src[i]
        if c >= 0 and v == v:
            sums[c] += v
            counts[c] += 1
            if abs(v) > row_max:
                row_max = abs(v)
    for i in range(N):
        c, v = codes[i], src[i]
        if c >= 0 and v == v:
            r = v - sums[c] / counts[c]
            dst[i] = 0.0 if abs(r) <= tol * row_max else r
        else:
            dst[i] = np.nan
    for i in range(N):
        c = codes[i]
        if c >= 0:
            sums[c] = 0.0
            counts[c] = 0


@njit(cache=True)
def _scale_row(row):
    """In place: row / sum|row| over the valid values; no valid value or sum 0 -> all NaN."""
    gross = 0.0
    for v in row:
        if v == v:
            gross += abs(v)
    if gross > 0.0:
        for i in range(row.shape[0]):
            row[i] = row[i] / gross
    else:
        row[:] = np.nan


@njit(cache=True)
def _max_abs(row):
    m = 0.0
    for v in row:
        if v == v and abs(v) > m:
            m = abs(v)
    return m


@njit(cache=True)
def _neutralize_kernel(w, codes, n_groups, tol):
    T, N = w.shape
    out = np.empty((T, N))
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    for t in range(T):
        _neutralize_row(w[t], codes[t], sums, counts, tol, out[t])
    return out


@njit(cache=True)
def _portfolio_kernel(d, codes, n_groups, neutral, scale_first, tr, rounds, tol_tr, tol_neutral):
    """Steps 4 (neutralize) - 6 per row on the universe-restricted decayed alpha ``d``: returns (w, unmet).

    ``scale_first`` False skips step 4-5 (``d`` already scaled: truncation only)."""
    T, N = d.shape
    w = np.empty((T, N))
    unmet = np.zeros(T, dtype=np.bool_)
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    buf = np.empty(N)
    for t in range(T):
        row = w[t]
        if scale_first and neutral:
            _neutralize_row(d[t], codes[t], sums, counts, tol_neutral, row)
        else:
            row[:] = d[t]
        if scale_first:
            _scale_row(row)
        if tr > 0.0:
            for _ in range(rounds):
                if _max_abs(row) <= tr + tol_tr:
                    break
                for i in range(N):
                    v = row[i]
                    buf[i] = tr if v > tr else (-tr if v < -tr else v)
                if neutral:
                    _neutralize_row(buf, codes[t], sums, counts, tol_neutral, row)
                else:
                    row[:] = buf
                _scale_row(row)
            unmet[t] = _max_abs(row) > tr + tol_tr
    return w, unmet


def market_groups(shape: tuple[int, int]) -> np.ndarray:
    """(T, N) float64 of zeros: one group per date, i.e. MARKET neutralization."""
    return np.zeros(shape)


def neutralize(w: np.ndarray, groups: "np.ndarray | GroupIndex | None") -> np.ndarray:
    """Step 4 neutralization: subtract the per-date group mean of the valid values.

    ``w``: (T, N) float64; ``groups``: None (NONE: returns a copy), a (T, N) float64 id array (all zeros =
    MARKET) or a ``GroupIndex``. Members without a group become NaN. Returns (T, N) float64.
    """
    w = _as_panel_array(w, "weights")
    if groups is None:
        return w.copy()
    gi = groups if isinstance(groups, GroupIndex) else GroupIndex(groups)
    if gi.shape != w.shape:
        raise ValueError(f"groups have shape {gi.shape}, alpha has {w.shape}")
    return _neutralize_kernel(np.ascontiguousarray(w), gi.codes, gi.n_groups, NEUTRAL_TOL)


def scale(w: np.ndarray) -> np.ndarray:
    """Step 5: ``w / sum|w|`` per row over the valid values; a row with no valid value or sum 0 -> all NaN."""
    w = _as_panel_array(w, "weights")
    gross = np.nansum(np.abs(w), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gross > 0, w / np.where(gross > 0, gross, 1.0), np.nan)


def _kernel_groups(gi: "GroupIndex | None", shape) -> tuple[np.ndarray, int, bool]:
    if gi is None:
        return np.full(shape, -1, dtype=np.int64), 1, False
    return gi.codes, gi.n_groups, True


def truncate(w: np.ndarray, groups: "np.ndarray | GroupIndex | None", tr: float) -> tuple[np.ndarray, np.ndarray]:
    """Step 6: repeat {clip |w| to tr; re-neutralize; re-scale} until ``max|w| <= tr + 1e-9`` or 10 rounds.

    ``w``: scaled (T, N) float64 weights; ``tr`` in (0, 1] (0 = off: returned unchanged). Rows are iterated
    independently. Returns (weights, unmet) where ``unmet`` (T,) bool marks rows still above ``tr`` after
    10 rounds (e.g. fewer than 1/tr instruments).
    """
    w = np.ascontiguousarray(_as_panel_array(w, "weights"))
    gi = groups if (groups is None or isinstance(groups, GroupIndex)) else GroupIndex(groups)
    codes, n_groups, neutral = _kernel_groups(gi, w.shape)
    return _portfolio_kernel(w, codes, n_groups, neutral, False, float(tr or 0.0), TRUNCATION_ROUNDS,
                             TRUNCATION_TOL, NEUTRAL_TOL)


def weights(alpha: np.ndarray, universe: np.ndarray, groups: "np.ndarray | GroupIndex | None",
            decay: int, truncation: float, *, return_unmet: bool = False):
    """Steps 3-6: decay, restrict to the universe, neutralize, scale, truncate.

    ``alpha``: (T, N) float64, row t = ``A_t`` (already delayed); ``universe``: (T, N) bool ``U_t``;
    ``groups``: None = NONE, ``market_groups(shape)`` = MARKET, or the (T, N) float64 sector / industry /
    subindustry ids (NaN = no group -> no position). Returns (T, N) float64 weights, each row summing to 1 in
    absolute value or all NaN (no positions that day); with ``return_unmet`` also the (T,) bool rows where
    truncation did not reach ``truncation`` in 10 rounds. Raises ``ValueError`` on shape mismatches.
    """
    alpha = _as_panel_array(alpha, "alpha")
    universe = np.asarray(universe, dtype=bool)
    if universe.shape != alpha.shape:
        raise ValueError(f"universe has shape {universe.shape}, alpha has {alpha.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    if gi is not None and gi.shape != alpha.shape:
        raise ValueError(f"groups have shape {gi.shape}, alpha has {alpha.shape}")
    d = decay_linear(np.where(np.isfinite(alpha), alpha, np.nan), decay)
    d[~universe] = np.nan
    codes, n_groups, neutral = _kernel_groups(gi, d.shape)
    w, unmet = _portfolio_kernel(d, codes, n_groups, neutral, True, float(truncation or 0.0), TRUNCATION_ROUNDS,
                                 TRUNCATION_TOL, NEUTRAL_TOL)
    return (w, unmet) if return_unmet else w


def restrict(w: np.ndarray, mask: np.ndarray, groups: "np.ndarray | GroupIndex | None") -> np.ndarray:
    """§6 sub-universe weights: ``w`` NaN outside ``mask`` (T, N) bool, re-neutralized with ``groups`` (None =
    NONE), rescaled to ``sum|w| = 1`` per row (no truncation). Returns (T, N) float64."""
    w = _as_panel_array(w, "weights")
    if np.shape(mask) != w.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, weights have {w.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    codes, n_groups, neutral = _kernel_groups(gi, w.shape)
    out, _ = _portfolio_kernel(np.where(mask, w, np.nan), codes, n_groups, neutral, True, 0.0, 0,
                               TRUNCATION_TOL, NEUTRAL_TOL)
    return out


def positions(w: np.ndarray, book: float = BOOK) -> np.ndarray:
    """Step 7: (T, N) dollar positions ``w * book``; NaN weight -> 0."""
    w = _as_panel_array(w, "weights")
    return np.where(np.isnan(w), 0.0, w * book)
