"""Self-correlation in matrix form and the independent-winner set (SIMULATION.md §6).

Daily PnL series are ``(pnl (D,) float64 USD, dates (D,) datetime64[D])`` pairs (``gen.pipeline.is_pnl``,
``SimResult.period_pnl("is")``). ``pnl_matrix`` aligns many of them on one calendar; ``correlation_matrix``
gives the Pearson correlation of every row of one matrix with every row of another over the days where both
have a value (pairwise-complete), with six masked matrix products instead of a loop over pairs;
``max_correlation`` reduces it to each candidate's most correlated library series; ``independent_set`` picks
the greedy set of mutually uncorrelated items (the miner's *independent winners*, the submission step's
choice). ``checks.self_correlation`` (the §6 check value) delegates to these functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import numpy as np

SELF_CORR_MAX_DAYS = 1008  # §6: at most the last 1,008 common days (about 4 years, as BRAIN)
SELF_CORR_MIN_DAYS = 30    # §6: fewer common days -> pair not compared
_BLOCK_ROWS = 256          # rows of ``a`` per block of matrix products (bounds memory at ~6 x 256 x M floats)
_ZERO_VARIANCE = 1e-10     # relative: variance over the joint days <= 1e-10 x the sum of squares -> constant


def pnl_matrix(series: Sequence[tuple[np.ndarray, np.ndarray]], calendar: np.ndarray | None = None,
               max_days: int | None = SELF_CORR_MAX_DAYS, *,
               labels: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Align K daily PnL series on one calendar.

    ``series``: K ``(pnl (D_k,) USD, dates (D_k,) datetime64[D])`` pairs, dates in any order;
    ``calendar``: sorted unique datetime64[D] days to align on (default: the union of every series' dates;
    a series' dates outside it are dropped); ``max_days``: keep only the last ``max_days`` calendar days
    (None = all); ``labels``: names of the series for error messages (default ``"series k"``).
    Returns ``(M (K, D) float64, calendar (D,) datetime64[D])``; ``M[k, d]`` is NaN where series k has no
    value on ``calendar[d]``. Raises ``ValueError`` naming the series when a pnl is not 1-D, its dates differ
    in length, contain NaT or repeat a day, or when ``calendar`` is not sorted and unique.
    """
    pnls, which, distinct = [], [], []        # which[k]: index of series k's date array in ``distinct``
    seen: dict[tuple, list[int]] = {}         # (size, first, last) -> indices into ``distinct``
    for k, (pnl, dates) in enumerate(series):
        name = labels[k] if labels is not None else f"series {k}"
        pnl, dates = np.asarray(pnl, dtype=np.float64), np.asarray(dates, dtype="datetime64[D]")
        if pnl.ndim != 1 or pnl.shape != dates.shape:
            raise ValueError(f"{name} has pnl shape {pnl.shape} but dates shape {dates.shape} "
                             "(expected two 1-D arrays of one length)")
        key = (dates.size, dates[0], dates[-1]) if dates.size else (0,)
        same = [j for j in seen.get(key, []) if np.array_equal(distinct[j], dates)]
        if same:                               # series usually share one calendar: check and index it once
            which.append(same[0])
        else:
            if np.isnat(dates).any():
                raise ValueError(f"{name} has a missing (NaT) date")
            if np.unique(dates).size != dates.size:
                raise ValueError(f"{name} repeats a date")
            seen.setdefault(key, []).append(len(distinct))
            which.append(len(distinct))
            distinct.append(dates)
        pnls.append(pnl)
    if calendar is None:
        calendar = np.unique(np.concatenate(distinct)) if distinct else np.zeros(0, dtype="datetime64[D]")
    else:
        calendar = np.asarray(calendar, dtype="datetime64[D]")
        if calendar.ndim != 1 or np.isnat(calendar).any() or (np.diff(calendar) <= np.timedelta64(0)).any():
            raise ValueError("pnl_matrix: calendar must be 1-D, sorted and unique, without NaT")
    if max_days is not None:
        if max_days < 1:
            raise ValueError(f"pnl_matrix: max_days must be >= 1 or None, got {max_days}")
        calendar = calendar[-max_days:]
    out = np.full((len(pnls), calendar.size), np.nan)
    if calendar.size:
        where = []                             # per distinct date array: (positions kept, their columns)
        for dates in distinct:
            col = np.minimum(np.searchsorted(calendar, dates), calendar.size - 1)
            on = np.flatnonzero(calendar[col] == dates)
            where.append((on, col[on]))
        for k, pnl in enumerate(pnls):
            on, col = where[which[k]]
            out[k, col] = pnl[on]
    return out, calendar


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(z, mask): each row centred and scaled over its finite values (0 where missing), mask as float64.
    Pearson correlation is invariant to this; it keeps the sums below well conditioned."""
    mask = np.isfinite(x)
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    z = np.where(mask, x, 0.0)
    z -= z.sum(axis=1, keepdims=True) / count
    z[~mask] = 0.0
    scale = np.sqrt(np.einsum("ij,ij->i", z, z)[:, None] / count)
    z /= np.where(scale > 0, scale, 1.0)
    return z, mask.astype(np.float64)


def _as_matrix(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"correlation_matrix: {name} must be 2-D (series x days), got shape {x.shape}")
    return x


def correlation_matrix(a: np.ndarray, b: np.ndarray, min_days: int = SELF_CORR_MIN_DAYS) -> np.ndarray:
    """Pearson correlation of every row of ``a`` with every row of ``b``, pairwise-complete.

    ``a``: (K, D), ``b``: (M, D) daily PnL on the same D days (``pnl_matrix``), NaN/inf = no value.
    Pair (k, m) uses the days where both rows are finite; it is NaN when fewer than ``min_days`` (at least
    2) such days, or when either row is constant over them (variance <= 1e-10 x its sum of squares, i.e.
    rounding noise). Computed with masked matrix products (counts, sums, sums of squares and cross products
    over the joint masks) in blocks of rows: O(K·M·D) BLAS work, no loop over pairs.
    Returns (K, M) float64 in [-1, 1]. Raises ``ValueError`` when a or b is not 2-D or their D differ.
    """
    a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"correlation_matrix: a has {a.shape[1]} days, b has {b.shape[1]} (align them with "
                         "pnl_matrix on one calendar)")
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    if out.size == 0:
        return out
    zb, mb = _standardize(b)
    zb2 = zb * zb
    need = max(int(min_days), 2)
    for lo in range(0, a.shape[0], _BLOCK_ROWS):
        za, ma = _standardize(a[lo:lo + _BLOCK_ROWS])
        n = ma @ mb.T
        sa, sb = za @ mb.T, ma @ zb.T
        saa, sbb = (za * za) @ mb.T, ma @ zb2.T
        cov = n * (za @ zb.T) - sa * sb
        va, vb = n * saa - sa * sa, n * sbb - sb * sb
        ok = (n >= need) & (va > _ZERO_VARIANCE * n * saa) & (vb > _ZERO_VARIANCE * n * sbb)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = cov / np.sqrt(va * vb)
        out[lo:lo + _BLOCK_ROWS] = np.where(ok, np.clip(r, -1.0, 1.0), np.nan)
    return out


def max_correlation(cands: np.ndarray, library: np.ndarray,
                    min_days: int = SELF_CORR_MIN_DAYS) -> tuple[np.ndarray, np.ndarray]:
    """Each candidate's highest correlation with the library (signed, as §6's maximum).

    ``cands``: (K, D), ``library``: (M, D) on the same days (``pnl_matrix``). Returns ``(values (K,) float64,
    index (K,) int64)``: the maximum of ``correlation_matrix(cands, library, min_days)`` per row and the
    library row reaching it (first on ties); NaN and -1 where no library series is comparable (M = 0, or
    every pair NaN). Raises like ``correlation_matrix``.
    """
    corr = correlation_matrix(cands, library, min_days)
    if corr.shape[1] == 0:
        return np.full(corr.shape[0], np.nan), np.full(corr.shape[0], -1, dtype=np.int64)
    filled = np.where(np.isnan(corr), -np.inf, corr)
    index = filled.argmax(axis=1)
    values = filled[np.arange(corr.shape[0]), index]
    none = values == -np.inf
    return np.where(none, np.nan, values), np.where(none, -1, index).astype(np.int64)


def last_common_days(pnl: np.ndarray, others: np.ndarray, max_days: int = SELF_CORR_MAX_DAYS) -> np.ndarray:
    """``others`` with NaN outside, per row, the last ``max_days`` days where both it and ``pnl`` are finite.

    ``pnl``: (D,), ``others``: (M, D) on the same days. Used by ``checks.self_correlation`` so each pair
    uses at most its own last 1,008 common days (§6) even when the series cover different date ranges.
    Returns a new (M, D) float64 array. Raises ``ValueError`` on mismatched shapes.
    """
    pnl, others = np.asarray(pnl, dtype=np.float64), np.asarray(others, dtype=np.float64)
    if pnl.ndim != 1 or others.ndim != 2 or others.shape[1] != pnl.size:
        raise ValueError(f"last_common_days: pnl {pnl.shape} and others {others.shape} must be (D,) and (M, D)")
    joint = np.isfinite(pnl)[None, :] & np.isfinite(others)
    out = np.where(joint, others, np.nan)
    long = np.flatnonzero(joint.sum(axis=1) > max_days)       # only these rows need cutting
    if long.size:
        from_end = np.cumsum(joint[long, ::-1], axis=1)[:, ::-1]  # joint days on or after each day
        out[long] = np.where(from_end <= max_days, out[long], np.nan)
    return out


def series_correlations(cands: Sequence[tuple[np.ndarray, np.ndarray]],
                        library: Sequence[tuple[np.ndarray, np.ndarray]],
                        labels: Sequence[str] | None = None) -> np.ndarray:
    """Correlation of each candidate daily PnL series with each library series under §6's rule: (M, K) float64.

    ``cands``: M ``(pnl (D_m,) USD, dates (D_m,) datetime64[D])``; ``library``: K such pairs. Each pair uses its
    pairwise-complete days, at most its last ``SELF_CORR_MAX_DAYS``; NaN under ``SELF_CORR_MIN_DAYS`` or for a
    series constant over them. When the union calendar has at most ``SELF_CORR_MAX_DAYS`` days (an IS period
    of up to 4 years, the local case) every pair's days fit in the window and it is one ``correlation_matrix``
    call for all pairs; otherwise one call per candidate (``last_common_days``). ``labels``: names of the M + K
    series for errors. Raises ``ValueError`` naming a series whose pnl and dates differ in shape, or whose dates
    repeat a day or hold NaT.
    """
    cands, library = list(cands), list(library)
    matrix, calendar = pnl_matrix(cands + library, max_days=None, labels=labels)
    a, b = matrix[:len(cands)], matrix[len(cands):]
    if calendar.size <= SELF_CORR_MAX_DAYS:
        return correlation_matrix(a, b, SELF_CORR_MIN_DAYS)
    out = np.full((len(cands), len(library)), np.nan)
    for i in range(len(cands)):
        out[i] = correlation_matrix(a[i:i + 1], last_common_days(a[i], b, SELF_CORR_MAX_DAYS), SELF_CORR_MIN_DAYS)[0]
    return out


@dataclass(frozen=True)
class Independent:
    """Result of ``independent_set``: ``kept`` keys in score order; ``skipped``: key -> (blocker, corr), the
    blocker being the kept item's key or ``"library:<i>"`` (index into ``library``) it correlates with most."""

    kept: tuple[Hashable, ...]
    skipped: dict[Hashable, tuple[Any, float]]


def independent_set(items: Sequence[tuple[Hashable, np.ndarray, np.ndarray, float]],
                    library: Sequence[tuple] = (), limit: float = 0.7,
                    min_days: int = SELF_CORR_MIN_DAYS, max_days: int | None = SELF_CORR_MAX_DAYS) -> Independent:
    """Greedy set of mutually uncorrelated items: the miner's count of *independent* winners and the
    submission step's choice of winners.

    ``items``: ``(key, pnl (D,) USD, dates (D,) datetime64[D], score)``; ``library``: ``(pnl, dates, ...)``
    of already accepted alphas (further elements, e.g. the sharpe, are ignored). All series are aligned with
    ``pnl_matrix(..., max_days=max_days)`` (the last ``max_days`` days of the union calendar). Items are
    taken by score descending (ties by key); an item is kept when its correlation with every library series
    and every item already kept is < ``limit``; a NaN correlation (fewer than ``min_days`` common days, or a
    constant series) is not comparable and does not block. Independence is plain ``corr < limit``: BRAIN's
    exception for a 10% higher sharpe (``checks.submission_checks``) does not apply here.
    Returns ``Independent``. Raises ``ValueError`` on a repeated key, a None/NaN score (±inf is allowed) or
    bad series (naming the item).
    """
    items = list(items)
    keys = [it[0] for it in items]
    if len(set(keys)) != len(keys):
        raise ValueError("independent_set: repeated item key "
                         f"{next(k for i, k in enumerate(keys) if k in keys[:i])!r}")
    scores = []
    for key, _, _, score in items:
        if score is None or np.isnan(float(score)):
            raise ValueError(f"independent_set: item {key!r} has score {score!r} (must be a number, not NaN; "
                             "-inf sorts last)")
        scores.append(float(score))
    order = sorted(range(len(items)), key=lambda i: (-scores[i], keys[i]))
    series = [(items[i][1], items[i][2]) for i in order] + [(lib[0], lib[1]) for lib in library]
    labels = [f"independent_set: item {keys[i]!r}" for i in order] + \
             [f"independent_set: library {j}" for j in range(len(library))]
    m, _ = pnl_matrix(series, max_days=max_days, labels=labels)
    cands, lib = m[:len(items)], m[len(items):]
    corr_lib = np.nan_to_num(correlation_matrix(cands, lib, min_days), nan=-np.inf)
    corr_self = np.nan_to_num(correlation_matrix(cands, cands, min_days), nan=-np.inf)
    kept: list[int] = []                           # positions in score order
    skipped: dict[Hashable, tuple[Any, float]] = {}
    for p in range(len(items)):                    # one pass over items; each step is one vectorised row
        row = np.concatenate([corr_lib[p], corr_self[p, kept]])
        best = int(row.argmax()) if row.size else -1
        if best >= 0 and row[best] >= limit:
            blocker = f"library:{best}" if best < lib.shape[0] else keys[order[kept[best - lib.shape[0]]]]
            skipped[keys[order[p]]] = (blocker, float(row[best]))
        else:
            kept.append(p)
    return Independent(tuple(keys[order[p]] for p in kept), skipped)
