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
    _zero_groups(codes, sums, counts)


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
def _zero_groups(codes, sums, counts):
    """Reset the group scratch arrays touched by ``codes`` (all of them when G <= N)."""
    N = codes.shape[0]
    if sums.shape[0] <= N:
        sums[:] = 0.0
        counts[:] = 0
    else:
        for i in range(N):
            c = codes[i]
            if c >= 0:
                sums[c] = 0.0
                counts[c] = 0


@njit(cache=True)
def _demean(src, codes, sums, counts, means, tol, row_max, neutral, dst):
    """Pass 2 of ``_neutralize_row`` (``sums``/``counts``/``row_max`` already accumulated over ``src``, then
    reset here) or a plain copy when not ``neutral``; ``dst`` may be ``src``. Returns sum |dst| over the
    non-NaN values, i.e. the scaling gross (sum |w| over valid values), in the same order."""
    N = src.shape[0]
    gross = 0.0
    if neutral:
        G = sums.shape[0]
        per_group = G <= N
        if per_group:
            for g in range(G):
                if counts[g] > 0:
                    means[g] = sums[g] / counts[g]   # the value _neutralize_row divides per member
        lim = tol * row_max
        for i in range(N):
            c, v = codes[i], src[i]
            if c >= 0 and v == v:
                r = v - (means[c] if per_group else sums[c] / counts[c])
                if abs(r) <= lim:
                    r = 0.0
                dst[i] = r
                if r == r:
                    gross += abs(r)
            else:
                dst[i] = np.nan
        _zero_groups(codes, sums, counts)
    else:
        for i in range(N):
            v = src[i]
            dst[i] = v
            if v == v:
                gross += abs(v)
    return gross


@njit(cache=True)
def _scale_clip(row, gross, clip, buf, codes, sums, counts, neutral):
    """Step 5 given its gross (row / gross, all NaN if gross <= 0), returning ``_max_abs`` of the
    result; with ``clip`` > 0 also the next truncation round's input ``buf`` = row clipped to +-clip, with
    the group sums of ``buf`` accumulated (if ``neutral``). Returns (max |row|, max |buf| over grouped)."""
    N = row.shape[0]
    m = 0.0
    bmax = 0.0
    if gross > 0.0:
        for i in range(N):
            r = row[i] / gross
            row[i] = r
            if r == r and abs(r) > m:
                m = abs(r)
            if clip > 0.0:
                v = clip if r > clip else (-clip if r < -clip else r)
                buf[i] = v
                if neutral:
                    c = codes[i]
                    if c >= 0 and v == v:
                        sums[c] += v
                        counts[c] += 1
                        if abs(v) > bmax:
                            bmax = abs(v)
    else:
        row[:] = np.nan
        buf[:] = np.nan
    return m, bmax


@njit(cache=True)
def _portfolio_rows(src, shift, mask, use_mask, finite_only, codes, n_groups, neutral, scale_first, tr, rounds,
                    tol_tr, tol_neutral):
    """Steps 4 (neutralize) - 6 per row on ``d``: returns (w, unmet).

    Row t of ``d`` is ``src[t - shift]`` (all NaN for t < shift), NaN where ``mask`` is False (with
    ``use_mask``) and, with ``finite_only``, where the value is +-inf. ``scale_first`` False skips steps 4-5
    (``d`` already scaled: truncation only). The passes of ``_neutralize_row`` / scaling / clipping
    are fused (two passes per truncation round) with the same arithmetic in the same order, so the result
    is bit-identical to running them one after the other."""
    T, N = src.shape
    w = np.empty((T, N))
    unmet = np.zeros(T, dtype=np.bool_)
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    means = np.zeros(n_groups)
    buf = np.empty(N)
    clip = tr if tr > 0.0 else 0.0
    for t in range(T):
        row = w[t]
        ct = codes[t]
        if t < shift:
            row[:] = np.nan
            continue  # no positions: max |w| = 0, truncation met
        s = src[t - shift]
        acc = scale_first and neutral
        row_max = 0.0
        for i in range(N):
            v = s[i]
            if use_mask and not mask[t, i]:
                v = np.nan
            elif finite_only and v - v != 0.0:
                v = np.nan
            row[i] = v
            if acc:
                c = ct[i]
                if c >= 0 and v == v:
                    sums[c] += v
                    counts[c] += 1
                    if abs(v) > row_max:
                        row_max = abs(v)
        gross = _demean(row, ct, sums, counts, means, tol_neutral, row_max, neutral, row) if scale_first else 1.0
        top, bmax = _scale_clip(row, gross, clip, buf, ct, sums, counts, neutral)   # x / 1.0 == x
        if clip > 0.0:
            for _ in range(rounds):
                if top <= tr + tol_tr:
                    break
                # clip to +-tr (buf, group sums ready), re-neutralize, re-scale
                gross = _demean(buf, ct, sums, counts, means, tol_neutral, bmax, neutral, row)
                top, bmax = _scale_clip(row, gross, clip, buf, ct, sums, counts, neutral)
            unmet[t] = top > tr + tol_tr
            if neutral:
                _zero_groups(ct, sums, counts)
    return w, unmet


_NO_MASK = np.ones((1, 1), dtype=np.bool_)


def _portfolio_kernel(d, codes, n_groups, neutral, scale_first, tr, rounds, tol_tr, tol_neutral):
    """Steps 4-6 on the universe-restricted decayed alpha ``d`` (T, N): returns (w, unmet)."""
    return _portfolio_rows(np.ascontiguousarray(d), 0, _NO_MASK, False, False, codes, n_groups, neutral,
                           scale_first, tr, rounds, tol_tr, tol_neutral)


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
    w, unmet = _weights(alpha, 0, universe, gi, decay, truncation)
    return (w, unmet) if return_unmet else w


def _weights(src: np.ndarray, shift: int, universe: np.ndarray, gi: "GroupIndex | None", decay: int,
             truncation: float) -> tuple[np.ndarray, np.ndarray]:
    """``weights`` of ``A_t = src[t - shift]`` (NaN before; +-inf -> NaN) in one fused pass when decay <= 1."""
    if isinstance(decay, bool) or int(decay) != decay or decay < 0:
        raise ValueError(f"decay must be an integer >= 0, got {decay!r}")
    universe = np.ascontiguousarray(universe, dtype=np.bool_)
    codes, n_groups, neutral = _kernel_groups(gi, src.shape)
    if decay > 1:
        a = np.full(src.shape, np.nan)
        a[shift:] = src[:src.shape[0] - shift]
        a[~np.isfinite(a)] = np.nan
        src, shift, finite_only = _decay_kernel(a, int(decay)), 0, False
    else:
        src, finite_only = np.ascontiguousarray(src, dtype=np.float64), True
    return _portfolio_rows(src, shift, universe, True, finite_only, codes, n_groups, neutral, True,
                           float(truncation or 0.0), TRUNCATION_ROUNDS, TRUNCATION_TOL, NEUTRAL_TOL)


def weights_from_raw(raw: np.ndarray, universe: np.ndarray, groups: "np.ndarray | GroupIndex | None",
                     decay: int, truncation: float) -> tuple[np.ndarray, np.ndarray]:
    """``weights(A, ...)`` with ``A_t = raw_{t-1}`` (delay 1: row 0 NaN, +-inf -> NaN), without building ``A``.

    ``raw``: (T, N) float64 evaluated alpha (row s = data up to s); other arguments as ``weights``.
    Returns ((T, N) weights, (T,) unmet). Raises ``ValueError`` on shape mismatches or a bad decay."""
    raw = _as_panel_array(raw, "raw alpha")
    universe = np.asarray(universe, dtype=bool)
    if universe.shape != raw.shape:
        raise ValueError(f"universe has shape {universe.shape}, alpha has {raw.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    if gi is not None and gi.shape != raw.shape:
        raise ValueError(f"groups have shape {gi.shape}, alpha has {raw.shape}")
    return _weights(raw, 1, universe, gi, decay, truncation)


def restrict(w: np.ndarray, mask: np.ndarray, groups: "np.ndarray | GroupIndex | None") -> np.ndarray:
    """§6 sub-universe weights: ``w`` NaN outside ``mask`` (T, N) bool, re-neutralized with ``groups`` (None =
    NONE), rescaled to ``sum|w| = 1`` per row (no truncation). Returns (T, N) float64."""
    w = _as_panel_array(w, "weights")
    if np.shape(mask) != w.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, weights have {w.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    codes, n_groups, neutral = _kernel_groups(gi, w.shape)
    out, _ = _portfolio_rows(np.ascontiguousarray(w), 0, np.ascontiguousarray(mask, dtype=np.bool_), True, False,
                             codes, n_groups, neutral, True, 0.0, 0, TRUNCATION_TOL, NEUTRAL_TOL)
    return out


def positions(w: np.ndarray, book: float = BOOK) -> np.ndarray:
    """Step 7: (T, N) dollar positions ``w * book``; NaN weight -> 0."""
    w = _as_panel_array(w, "weights")
    return np.where(np.isnan(w), 0.0, w * book)
