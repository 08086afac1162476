"""Daily PnL, period metrics and yearly rows (SIMULATION.md §3 step 8, §4, §5); factor statistics live in ``factor.py``.

Daily series are (T,) float64 arrays over the panel dates. A period is a slice of them; its metric days run
from the first day of the period with a position to the period end (later days without positions count as
PnL 0). Undefined metrics are None (JSON null), never NaN or inf, and add a warning.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
from numba import njit

from alpha_core.sim._book_numba import daily_kernel
from alpha_core.sim.settings import BOOK

DAYS_PER_YEAR = 252
HALF_BOOK = BOOK / 2
MIN_TURNOVER_FOR_FITNESS = 0.125
_ZERO_STD = 1e-12          # std <= this x max|pnl| counts as 0 (sharpe undefined)


def _warn(code: str, message: str) -> dict:
    return {"code": code, "message": message}


def _f(x) -> float | None:
    """Python float, or None for NaN / inf / None."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


@dataclass
class DailySeries:
    """Daily (T,) series of one run: PnL (USD), dollars traded (NaN on row 0), position counts, max |w|."""

    pnl: np.ndarray
    traded: np.ndarray
    long_count: np.ndarray
    short_count: np.ndarray
    max_weight: np.ndarray
    has_position: np.ndarray

    def slice(self, sl) -> "DailySeries":
        """The same series restricted to rows ``sl`` (slice or index array)."""
        return DailySeries(*(getattr(self, k)[sl] for k in self.__dataclass_fields__))


def daily_pnl(pos: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """Step 8: ``PnL_t = sum_i pos_{i,t} * ret_{i,t}`` (USD), (T,); a NaN return contributes 0.

    ``pos``: (T, N) dollars (0 = no position); ``returns``: (T, N) close-to-close return of day t.
    """
    if pos.shape != returns.shape:
        raise ValueError(f"positions have shape {pos.shape}, returns {returns.shape}")
    return np.sum(pos * np.where(np.isfinite(returns), returns, 0.0), axis=1)


def dollars_traded(pos: np.ndarray) -> np.ndarray:
    """(T,) ``sum_i |pos_t - pos_{t-1}|`` in USD; row 0 (no previous day) is NaN."""
    out = np.full(pos.shape[0], np.nan)
    out[1:] = np.sum(np.abs(np.diff(pos, axis=0)), axis=1)
    return out


def daily_series(w: np.ndarray, returns: np.ndarray, book: float = BOOK) -> DailySeries:
    """All daily series from (T, N) weights (NaN = no position) and (T, N) returns (NaN contributes 0)."""
    if w.shape != returns.shape:
        raise ValueError(f"weights have shape {w.shape}, returns {returns.shape}")
    pnl, traded, long_c, short_c, max_w = daily_kernel(np.ascontiguousarray(w, dtype=np.float64),
                                                        np.ascontiguousarray(returns, dtype=np.float64),
                                                        float(book))
    return series_of(pnl, traded, long_c, short_c, max_w)


def series_of(pnl: np.ndarray, traded: np.ndarray, long_c: np.ndarray, short_c: np.ndarray,
              max_w: np.ndarray) -> DailySeries:
    """The ``DailySeries`` of the five (T,) arrays a daily kernel returns (see ``daily_series``)."""
    return DailySeries(pnl=pnl, traded=traded, long_count=long_c, short_count=short_c, max_weight=max_w,
                       has_position=(long_c + short_c) > 0)


@njit(cache=True)
def _moments(x, lo, hi):
    """(mean, std (ddof 0), max |x|) of ``x[lo:hi]``, two-pass, in order."""
    n = hi - lo
    tot = 0.0
    top = 0.0
    for t in range(lo, hi):
        tot += x[t]
        top = max(top, abs(x[t]))
    mean = tot / n
    ss = 0.0
    for t in range(lo, hi):
        ss += (x[t] - mean) * (x[t] - mean)
    return mean, np.sqrt(ss / n), top


@njit(cache=True)
def _period_stats(pnl, traded, long_c, short_c, max_w, has_pos, lo, hi):
    """One pass of numbers behind ``period_metrics`` on rows ``lo:hi``: (first held row or -1, PnL sum, mean
    long count, mean short count, max |w|, PnL mean, PnL std, max |PnL|, largest drop of the cumulative PnL
    from its running peak (the peak starts at 0), finite traded count and sum after the first metric day)."""
    start = -1
    for t in range(lo, hi):
        if has_pos[t]:
            start = t
            break
    if start < 0:
        return -1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0.0
    n = hi - start
    tot = lc = sc = mw = 0.0
    cum = peak = dd = 0.0
    nt = 0
    st = 0.0
    for t in range(start, hi):
        v = pnl[t]
        tot += v
        lc += long_c[t]
        sc += short_c[t]
        mw = max(mw, max_w[t])
        cum += v
        peak = max(peak, cum)
        dd = max(dd, peak - cum)
        if t > start and np.isfinite(traded[t]):
            nt += 1
            st += traded[t]
    mean, std, top = _moments(pnl, start, hi)
    return start, tot, lc / n, sc / n, mw, mean, std, top, dd, nt, st


def _sharpe(mean: float, std: float, top: float, n: int) -> float | None:
    if n < 2 or std <= _ZERO_STD * top:
        return None
    return float(np.sqrt(DAYS_PER_YEAR) * mean / std)


def sharpe_ratio(pnl: np.ndarray) -> float | None:
    """``sqrt(252) * mean / std`` (ddof 0) of daily PnL; None when std is 0 or fewer than 2 days."""
    pnl = np.ascontiguousarray(pnl, dtype=np.float64)
    if pnl.size < 2:
        return None
    return _sharpe(*_moments(pnl, 0, pnl.size), pnl.size)


def fitness_of(sharpe: float | None, returns: float | None, turnover: float | None) -> float | None:
    """``sharpe * sqrt(|returns| / max(turnover, 0.125))``; None if an input is None."""
    if sharpe is None or returns is None or turnover is None:
        return None
    return float(sharpe * np.sqrt(abs(returns) / max(turnover, MIN_TURNOVER_FOR_FITNESS)))


def period_metrics(s: DailySeries, dates: np.ndarray, label: str = "is") -> tuple[dict, list[dict]]:
    """BRAIN-style metrics of one period (SIMULATION.md §5) and warnings.

    ``s``: the period's daily series; ``dates``: its (P,) datetime64[D] dates. Metric days run from the first
    day with a position to the period end; that first day's ``traded`` is ignored (turnover and margin use
    the following days). Returns (metrics, warnings); metrics has ``startDate, endDate, days, pnl,
    bookSize, longCount, shortCount, turnover, returns, drawdown, margin, sharpe, fitness, maxWeight``;
    values that cannot be computed are None.
    """
    return period_rows(s, dates, 0, len(dates), label)


def period_rows(s: DailySeries, dates: np.ndarray, lo: int, hi: int, label: str) -> tuple[dict, list[dict]]:
    """``period_metrics`` of rows ``lo:hi`` of the full series ``s`` and its full ``dates``, without slicing them."""
    out = {"startDate": None, "endDate": None, "days": 0, "pnl": None, "bookSize": BOOK,
           "longCount": None, "shortCount": None, "turnover": None, "returns": None, "drawdown": None,
           "margin": None, "sharpe": None, "fitness": None, "maxWeight": None}
    start, tot, lc, sc, mw, mean, std, top, dd, nt, st = _period_stats(
        s.pnl, s.traded, s.long_count, s.short_count, s.max_weight, s.has_position, lo, hi)
    if start < 0:
        return out, [_warn("W_NO_POSITIONS", f"{label}: no positions in the period; metrics undefined")]
    warnings: list[dict] = []
    n = hi - start
    out.update(startDate=str(dates[start]), endDate=str(dates[hi - 1]), days=int(n), pnl=float(tot),
               longCount=float(lc), shortCount=float(sc), maxWeight=float(mw),
               returns=float(mean * DAYS_PER_YEAR / HALF_BOOK), drawdown=float(dd / HALF_BOOK))
    if nt:
        out["turnover"] = float(st / nt / BOOK)
        out["margin"] = float(tot / st) if st > 0 else None
    if out["turnover"] is None:
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.turnover: fewer than 2 metric days"))
    elif out["margin"] is None:
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.margin: nothing traded"))
    out["sharpe"] = _sharpe(mean, std, top, n)
    if out["sharpe"] is None:
        why = "fewer than 2 metric days" if n < 2 else "daily PnL has zero standard deviation"
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.sharpe: {why}"))
    out["fitness"] = fitness_of(out["sharpe"], out["returns"], out["turnover"])
    return out, warnings


YEARLY_KEYS = ("pnl", "bookSize", "longCount", "shortCount", "turnover", "sharpe", "returns", "drawdown",
               "margin", "fitness")


def yearly_rows(s: DailySeries, dates: np.ndarray, stages: list[tuple[str, slice]]) -> list[dict]:
    """One row per (calendar year, stage) with positions: ``year`` (str), the §5 keys, ``stage``.

    ``stages``: e.g. ``[("IS", slice(0, 1007)), ("OS", slice(1007, 1259))]`` over the full series.
    """
    rows = []
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    for stage, sl in stages:
        lo, hi, _ = sl.indices(len(dates))
        while lo < hi:   # dates ascend: each year is one block of rows
            end = lo + int(np.searchsorted(years[lo:hi], years[lo], side="right"))
            met, _ = period_rows(s, dates, lo, end, f"{stage}.{years[lo]}")
            if met["startDate"] is not None:
                rows.append({"year": str(years[lo]), **{k: met[k] for k in YEARLY_KEYS}, "stage": stage})
            lo = end
    return rows


def test_split(dates: np.ndarray, period: tuple[int, int, int]) -> int | None:
    """Index of the first ``test`` date in the IS ``dates`` for ``testPeriod`` (years, months, days).

    The test block is the dates after ``end - period`` (calendar arithmetic, day clamped to month end).
    Returns None when the period is zero.
    """
    y, mo, d = period
    if (y, mo, d) == (0, 0, 0) or len(dates) == 0:
        return None
    end = dates[-1].astype(_dt.date)
    months = end.year * 12 + (end.month - 1) - (y * 12 + mo)
    year, month = divmod(months, 12)
    month += 1
    last = (_dt.date(year + month // 12, month % 12 + 1, 1) - _dt.timedelta(days=1)).day
    cutoff = _dt.date(year, month, min(end.day, last)) - _dt.timedelta(days=d)
    return int(np.searchsorted(dates, np.datetime64(cutoff, "D"), side="right"))
