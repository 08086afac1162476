"""Alpha -> weights -> positions: decay, universe, neutralization, scaling, truncation (SIMULATION.md §3 steps 3-7).

All functions are vectorised over (T, N) float64 arrays (rows = trading days, columns = instruments).
A NaN weight means no position. Group means are accumulated per row in a numba kernel (dense group codes, O(N) per row).
"""
from __future__ import annotations

import numpy as np
from alpha_core.sim import _book_numba as K
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
    return K.decay_kernel(np.ascontiguousarray(alpha), n)


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


_NO_MASK = np.ones((1, 1), dtype=np.bool_)
_NO_RETURNS = np.zeros((1, 1))


def _rows(src, shift, mask, finite_only, codes, n_groups, neutral, scale_first, tr, rounds, returns=None,
          book=BOOK, sign=1.0):
    """``K.portfolio_rows`` (steps 4-6, and the daily series when ``returns`` is given): (w, unmet, daily)."""
    use_mask = mask is not None
    with_daily = returns is not None
    return K.portfolio_rows(np.ascontiguousarray(src, dtype=np.float64), shift, _sign(sign),
                            np.ascontiguousarray(mask, dtype=np.bool_) if use_mask else _NO_MASK, use_mask,
                            finite_only, codes, n_groups, neutral, scale_first, float(tr), rounds, TRUNCATION_TOL,
                            NEUTRAL_TOL, np.ascontiguousarray(returns, dtype=np.float64) if with_daily
                            else _NO_RETURNS, float(book), with_daily)


def _sign(sign: float) -> float:
    if sign not in (1.0, -1.0):
        raise ValueError(f"sign must be 1.0 or -1.0, got {sign!r}")
    return float(sign)


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
    return K.neutralize_kernel(np.ascontiguousarray(w), gi.codes, gi.n_groups, NEUTRAL_TOL)


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
    out, unmet, _ = _rows(w, 0, None, False, codes, n_groups, neutral, False, tr or 0.0, TRUNCATION_ROUNDS)
    return out, unmet


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
    w, unmet, _ = _weights(alpha, 0, universe, gi, decay, truncation)
    return (w, unmet) if return_unmet else w


def _weights(src: np.ndarray, shift: int, universe: np.ndarray, gi: "GroupIndex | None", decay: int,
             truncation: float, returns: np.ndarray | None = None, book: float = BOOK, sign: float = 1.0):
    """``weights`` of ``A_t = sign * src[t - shift]`` (NaN before; +-inf -> NaN) in one fused pass when
    decay <= 1: (w, unmet, daily) with daily = ``K.daily_kernel(w, returns, book)`` when ``returns`` is given.
    The sign is applied after the decay, exactly: decay is linear and IEEE rounding is symmetric in sign."""
    if isinstance(decay, bool) or int(decay) != decay or decay < 0:
        raise ValueError(f"decay must be an integer >= 0, got {decay!r}")
    universe = np.ascontiguousarray(universe, dtype=np.bool_)
    codes, n_groups, neutral = _kernel_groups(gi, src.shape)
    if decay > 1:
        a = np.full(src.shape, np.nan)
        a[shift:] = src[:src.shape[0] - shift]
        a[~np.isfinite(a)] = np.nan
        src, shift, finite_only = K.decay_kernel(a, int(decay)), 0, False
    else:
        finite_only = True
    return _rows(src, shift, universe, finite_only, codes, n_groups, neutral, True, truncation or 0.0,
                 TRUNCATION_ROUNDS, returns, book, sign)


def weights_from_raw(raw: np.ndarray, universe: np.ndarray, groups: "np.ndarray | GroupIndex | None",
                     decay: int, truncation: float, returns: np.ndarray | None = None, book: float = BOOK,
                     sign: float = 1.0):
    """``weights(A, ...)`` with ``A_t = raw_{t-1}`` (delay 1: row 0 NaN, +-inf -> NaN), without building ``A``.

    ``raw``: (T, N) float64 evaluated alpha (row s = data up to s); other arguments as ``weights``.
    Returns ((T, N) weights, (T,) unmet); given (T, N) ``returns``, also the daily book series of those
    weights, computed in the same pass: ((T,) PnL in USD, dollars traded (NaN on row 0), long count, short
    count, max |w|) on a ``book`` in USD, exactly ``metrics.daily_series``. ``sign`` -1.0: the weights of
    ``-raw``, bit for bit, without a negated copy (a root negation the evaluator folded). Raises
    ``ValueError`` on shape mismatches, a bad decay or a sign other than +-1.0."""
    raw = _as_panel_array(raw, "raw alpha")
    universe = np.asarray(universe, dtype=bool)
    if universe.shape != raw.shape:
        raise ValueError(f"universe has shape {universe.shape}, alpha has {raw.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    if gi is not None and gi.shape != raw.shape:
        raise ValueError(f"groups have shape {gi.shape}, alpha has {raw.shape}")
    if returns is not None and np.shape(returns) != raw.shape:
        raise ValueError(f"returns have shape {np.shape(returns)}, alpha has {raw.shape}")
    w, unmet, daily = _weights(raw, 1, universe, gi, decay, truncation, returns, book, sign)
    return (w, unmet) if returns is None else (w, unmet, daily)


def restrict(w: np.ndarray, mask: np.ndarray, groups: "np.ndarray | GroupIndex | None") -> np.ndarray:
    """§6 sub-universe weights: ``w`` NaN outside ``mask`` (T, N) bool, re-neutralized with ``groups`` (None =
    NONE), rescaled to ``sum|w| = 1`` per row (no truncation). Returns (T, N) float64."""
    w = _as_panel_array(w, "weights")
    if np.shape(mask) != w.shape:
        raise ValueError(f"mask has shape {np.shape(mask)}, weights have {w.shape}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    codes, n_groups, neutral = _kernel_groups(gi, w.shape)
    out, _, _ = _rows(w, 0, mask, False, codes, n_groups, neutral, True, 0.0, 0)
    return out


def positions(w: np.ndarray, book: float = BOOK) -> np.ndarray:
    """Step 7: (T, N) dollar positions ``w * book``; NaN weight -> 0."""
    w = _as_panel_array(w, "weights")
    return np.where(np.isnan(w), 0.0, w * book)
