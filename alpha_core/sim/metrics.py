"""Daily PnL, period metrics and yearly rows (SIMULATION.md §3 step 8, §4, §5); factor statistics live in ``factor.py``.

Daily series are (T,) float64 arrays over the panel dates. A period is a slice of them; its metric days run
from the first day of the period with a position to the period end (later days without positions count as
PnL 0). Undefined metrics are None (JSON null), never NaN or inf, and add a warning.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np

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


def sharpe_ratio(pnl: np.ndarray) -> float | None:
    """``sqrt(252) * mean / std`` (ddof 0) of daily PnL; None when std is 0 or fewer than 2 days."""
    if pnl.size < 2:
        return None
    std = float(np.std(pnl))
    if std <= _ZERO_STD * float(np.max(np.abs(pnl))):
        return None
    return float(np.sqrt(DAYS_PER_YEAR) * np.mean(pnl) / std)


def fitness_of(sharpe: float | None, returns: float | None, turnover: float | None) -> float | None:
    """``sharpe * sqrt(|returns| / max(turnover, 0.125))``; None if an input is None."""
    if sharpe is None or returns is None or turnover is None:
        return None
    return float(sharpe * np.sqrt(abs(returns) / max(turnover, MIN_TURNOVER_FOR_FITNESS)))


def period_metrics(s: DailySeries, dates: np.ndarray, label: str = "is") -> tuple[dict, list[dict]]:
    """BRAIN-style metrics of one period (SIMULATION.md §5) and warnings.

    ``s``: the period's daily series; ``dates``: its (P,) datetime64[D] dates. The first metric day's
    ``traded`` is ignored (turnover and margin use the following days). Returns (metrics, warnings);
    metrics has ``startDate, endDate, days, pnl, bookSize, longCount, shortCount, turnover, returns,
    drawdown, margin, sharpe, fitness, maxWeight``; values that cannot be computed are None.
    """
    out = {"startDate": None, "endDate": None, "days": 0, "pnl": None, "bookSize": BOOK,
           "longCount": None, "shortCount": None, "turnover": None, "returns": None, "drawdown": None,
           "margin": None, "sharpe": None, "fitness": None, "maxWeight": None}
    held = np.flatnonzero(s.has_position)
    if held.size == 0:
        return out, [_warn("W_NO_POSITIONS", f"{label}: no positions in the period; metrics undefined")]
    warnings: list[dict] = []
    m = s.slice(slice(held[0], None))
    n = m.pnl.size
    out.update(startDate=str(dates[held[0]]), endDate=str(dates[-1]), days=int(n),
               pnl=float(m.pnl.sum()), longCount=float(m.long_count.mean()),
               shortCount=float(m.short_count.mean()), maxWeight=float(m.max_weight.max()),
               returns=float(m.pnl.mean() * DAYS_PER_YEAR / HALF_BOOK))
    cum = np.cumsum(m.pnl)
    peak = np.maximum.accumulate(np.maximum(cum, 0.0))
    out["drawdown"] = float(np.max(peak - cum) / HALF_BOOK)
    traded = m.traded[1:]
    traded = traded[np.isfinite(traded)]
    if traded.size:
        out["turnover"] = float(traded.mean() / BOOK)
        total = float(traded.sum())
        out["margin"] = float(out["pnl"] / total) if total > 0 else None
    if out["turnover"] is None:
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.turnover: fewer than 2 metric days"))
    elif out["margin"] is None:
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.margin: nothing traded"))
    out["sharpe"] = sharpe_ratio(m.pnl)
    if out["sharpe"] is None:
        warnings.append(_warn("W_UNDEFINED_METRIC", f"{label}.sharpe: daily PnL has zero standard deviation"))
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
        idx = np.arange(len(dates))[sl]
        for year in np.unique(years[idx]):
            sel = idx[years[idx] == year]
            met, _ = period_metrics(s.slice(sel), dates[sel], f"{stage}.{year}")
            if met["startDate"] is None:
                continue
            rows.append({"year": str(year), **{k: met[k] for k in YEARLY_KEYS}, "stage": stage})
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


# ---- factor statistics ---------------------------------------------------------------------------
