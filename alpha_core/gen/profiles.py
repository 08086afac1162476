"""Field statistics on the local panel (ARCHITECTURE.md stage ``field_profiles``).

For one MATRIX field ``x`` (T, N) float64 the profile is:

| key | definition |
|---|---|
| ``coverage`` | fraction of non-NaN cells of ``x`` over the panel (all dates x all tickers) |
| ``autocorr1`` | lag-1 autocorrelation: Pearson correlation of ``x[t]`` and ``x[t-1]`` over all (t, ticker) pairs with both valid, after removing each ticker's mean (a persistence measure: ~1 for slow fundamentals, ~0 for returns) |
| ``ic_mean``, ``ic_std`` | mean and std (ddof 0) of the daily information coefficient = Spearman correlation across tickers of ``x[t]`` with the next day's return ``close[t+1]/close[t] - 1`` (dates with >= 20 valid pairs) |
| ``ic_ir`` | ``ic_mean / ic_std`` (NaN when std is 0 or fewer than 2 IC days) |
| ``ic_days`` | number of dates entering the IC |

The IC uses the whole panel, which includes the OS period (SIMULATION.md §4), so theme picking does not
use it (docs/DESIGN.md); it stays in the table as a description of the field.

``field_aliases`` finds field ids that hold the same data (``rd_expense`` / ``fnd6_newa2v1300_xrd``): the
miner treats an alias as its canonical field.
"""
from __future__ import annotations

import hashlib
import warnings
from typing import Iterable

import bottleneck as bn
import numpy as np

MIN_IC_PAIRS = 20


def next_day_returns(close: np.ndarray) -> np.ndarray:
    """(T, N) float64: row t = ``close[t+1] / close[t] - 1`` (last row NaN; non-positive prices NaN)."""
    close = np.asarray(close, dtype=np.float64)
    out = np.full_like(close, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = close[1:] / np.where(close[:-1] > 0, close[:-1], np.nan) - 1.0
    out[:-1] = np.where(np.isfinite(ratio), ratio, np.nan)
    return out


def _row_rank(a: np.ndarray) -> np.ndarray:
    return bn.nanrankdata(a, axis=1)


def daily_rank_ic(x: np.ndarray, fwd: np.ndarray, min_pairs: int = MIN_IC_PAIRS) -> np.ndarray:
    """(T,) float64 Spearman IC per date between ``x[t]`` and ``fwd[t]`` over tickers valid in both; NaN
    for dates with fewer than ``min_pairs`` pairs or no dispersion."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _daily_rank_ic(x, fwd, min_pairs)


def _daily_rank_ic(x: np.ndarray, fwd: np.ndarray, min_pairs: int) -> np.ndarray:
    both = np.isfinite(x) & np.isfinite(fwd)
    xs = np.where(both, x, np.nan)
    ys = np.where(both, fwd, np.nan)
    rx, ry = _row_rank(xs), _row_rank(ys)
    n = both.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.nanmean(np.where(both, rx, np.nan), axis=1, keepdims=True) if both.any() else 0
        my = np.nanmean(np.where(both, ry, np.nan), axis=1, keepdims=True) if both.any() else 0
        dx, dy = np.where(both, rx - mx, 0.0), np.where(both, ry - my, 0.0)
        ic = (dx * dy).sum(axis=1) / np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    ic[(n < min_pairs) | ~np.isfinite(ic)] = np.nan
    return ic


def lag1_autocorr(x: np.ndarray) -> float:
    """Pooled lag-1 autocorrelation of ``x`` (T, N) after de-meaning each column; NaN without 2 valid pairs."""
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] < 2:
        return float("nan")
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0) if np.isfinite(x).any() else 0.0
    d = x - mean
    a, b = d[1:], d[:-1]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 2:
        return float("nan")
    a, b = a[ok], b[ok]
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else float("nan")


def profile_field(panel, field: str, fwd: np.ndarray | None = None) -> dict:
    """The profile row of ``field`` on ``panel`` (keys as the ``field_profiles`` table, without ``run_id``).

    ``fwd``: precomputed ``next_day_returns(panel['close'])`` (computed when None). Raises KeyError
    (the panel's UnknownFieldError) when the panel lacks ``field`` or ``close``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows/columns are expected (late starts)
        return _profile(panel, field, fwd)


def _profile(panel, field: str, fwd: np.ndarray | None) -> dict:
    x = np.asarray(panel[field], dtype=np.float64)
    if fwd is None:
        fwd = next_day_returns(panel["close"])
    ic = daily_rank_ic(x, fwd)
    valid = ic[np.isfinite(ic)]
    ic_mean = float(valid.mean()) if valid.size else float("nan")
    ic_std = float(valid.std()) if valid.size else float("nan")
    ic_ir = ic_mean / ic_std if valid.size >= 2 and ic_std > 0 else float("nan")
    return {
        "field": field, "panel_label": str(getattr(panel, "label", "")), "n_dates": int(x.shape[0]),
        "n_tickers": int(x.shape[1]), "coverage": float(np.isfinite(x).mean()) if x.size else 0.0,
        "autocorr1": lag1_autocorr(x), "ic_mean": ic_mean, "ic_std": ic_std, "ic_ir": float(ic_ir),
        "ic_days": int(valid.size),
    }


def field_aliases(panel, fields: Iterable[str] | None = None) -> dict[str, str]:
    """Alias -> canonical field, for fields of ``panel`` holding identical (T, N) arrays (NaN equal to NaN,
    -0.0 equal to 0.0). In each group of identical fields the canonical one is the shortest id (ties:
    alphabetical); every other member maps to it. Fields without a twin are absent.

    ``fields``: ids to compare (default: every field of ``panel.field_names()`` except its group fields,
    whose constant one-group arrays would all match). Each array is hashed once (BLAKE2b of its bytes after
    NaN/-0.0 normalisation) and equal hashes are confirmed with ``np.array_equal``. Raises the panel's
    ``UnknownFieldError`` (a KeyError) naming a field the panel lacks.
    """
    if fields is None:
        groups = set(getattr(panel, "group_fields", ()))
        fields = [f for f in panel.field_names() if f not in groups]
    buckets: dict[tuple, list[str]] = {}
    for f in dict.fromkeys(fields):
        a = np.asarray(panel[f], dtype=np.float64)
        norm = np.where(np.isnan(a), np.nan, a + 0.0)       # one NaN bit pattern, -0.0 -> 0.0
        digest = hashlib.blake2b(np.ascontiguousarray(norm).tobytes(), digest_size=16).digest()
        buckets.setdefault((a.shape, digest), []).append(f)
    out: dict[str, str] = {}
    for members in buckets.values():
        members = sorted(members, key=lambda f: (len(f), f))
        while len(members) > 1:
            head, rest = members[0], []
            for f in members[1:]:
                if np.array_equal(panel[f], panel[head], equal_nan=True):
                    out[f] = head
                else:
                    rest.append(f)
            members = rest
    return dict(sorted(out.items()))
