"""Synthetic panels for tests and scale benchmarks (never for research results).

``synthetic_panel(T, N)`` draws a one-factor random walk of prices with realistic volume, derives the
same price fields as the real loader (returns, vwap, adv20 with FASTEXPR semantics), nested groups
(sector > industry > subindustry, a few instruments with no industry), and annual fundamentals that step
once a year per instrument (sharesout, cap, eps, assets, sales, ...). Missing data mimic the real panel:
late starts, multi-day gaps, blank opens. Only OHLCV are held eagerly; every other field is computed on
first access, so a 2,520 x 3,000 panel builds in a few seconds within well under 2 GB.
"""
from __future__ import annotations

import numpy as np

from .fundamentals import FundTable
from .groups import GROUP_FIELDS
from .panel import Panel
from .prices import close_ratio, strict_mean

YEAR = 252
FUND_FIELDS = ("sharesout", "eps", "assets", "sales", "revenue", "equity", "debt", "cash", "income")


def _dates(n_dates: int) -> np.ndarray:
    start = np.datetime64("2010-01-04", "D")
    return np.busday_offset(start, np.arange(n_dates), roll="forward").astype("datetime64[D]")


def _prices(rng: np.random.Generator, T: int, N: int) -> dict[str, np.ndarray]:
    vol = rng.uniform(0.01, 0.03, N)
    beta = rng.uniform(0.5, 1.5, N)
    market = rng.normal(0.0003, 0.01, (T, 1))
    logret = rng.standard_normal((T, N))
    logret *= vol
    logret += market * beta
    np.cumsum(logret, axis=0, out=logret)
    close = np.exp(logret, out=logret)
    close *= rng.lognormal(3.5, 0.6, N)
    gap = np.exp(rng.normal(0.0, 0.004, (T, N)))
    open_ = np.empty_like(close)
    open_[0] = close[0]
    np.multiply(close[:-1], gap[1:], out=open_[1:])
    spread = np.abs(rng.normal(0.0, 0.006, (T, N)))
    high = np.maximum(open_, close)
    high *= 1.0 + spread
    low = np.minimum(open_, close)
    rng.random(out=spread)
    spread *= 0.01
    low *= 1.0 - spread
    del spread, gap
    volume = rng.normal(0.0, 0.35, (T, N))
    volume += rng.normal(14.0, 1.0, N)
    np.exp(volume, out=volume)
    np.round(volume, out=volume)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def _holes(rng: np.random.Generator, prices: dict[str, np.ndarray]) -> None:
    """Late starts (~6% of instruments), 1-10 day gaps (~3%), blank opens (~0.01% of cells), in place."""
    T, N = prices["close"].shape
    late = rng.choice(N, size=max(1, N * 6 // 100), replace=False) if N > 1 and T > 2 else []
    for n in late:
        start = int(rng.integers(1, max(2, T // 2)))
        for arr in prices.values():
            arr[:start, n] = np.nan
    holes = rng.choice(N, size=max(1, N * 3 // 100), replace=False) if T > 12 else []
    for n in holes:
        length = int(rng.integers(1, 11))
        hi = T - length
        start = int(rng.integers(min(T // 2, hi - 1), hi))
        for arr in prices.values():
            arr[start:start + length, n] = np.nan
    k = max(1, T * N // 10000)
    prices["open"][rng.integers(0, T, k), rng.integers(0, N, k)] = np.nan


def _groups(rng: np.random.Generator, N: int) -> dict[str, np.ndarray]:
    sub = rng.integers(0, 66, N).astype(np.float64)  # 66 sub-industries, 3 per industry, 2 industries per sector
    industry = np.floor(sub / 3)
    sector = np.floor(industry / 2)
    blank = rng.random(N) < 0.012
    industry[blank] = np.nan
    sub[blank] = np.nan
    one = np.zeros(N)
    return {"sector": sector, "industry": industry, "subindustry": sub, "market": one, "country": one,
            "currency": one}


def _fundamentals(rng: np.random.Generator, T: int, N: int) -> FundTable:
    """Annual rows per instrument, each in force for 252 rows from a per-instrument offset (NaN before)."""
    years = T // YEAR + 2
    offset = rng.integers(0, YEAR, N)
    growth = np.exp(np.cumsum(rng.normal(0.05, 0.1, (years, N)), axis=0))
    shares = rng.lognormal(5.5, 0.8, N) * np.exp(np.cumsum(rng.normal(0, 0.02, (years, N)), axis=0))
    assets = rng.lognormal(9.0, 1.0, N) * growth
    sales = assets * rng.uniform(0.3, 1.2, N)
    income = sales * rng.normal(0.08, 0.06, (years, N))
    equity = assets * rng.uniform(0.2, 0.6, N)
    debt = assets * rng.uniform(0.05, 0.4, N)
    cash = assets * rng.uniform(0.02, 0.15, N)
    eps = income / shares
    eps[rng.random((years, N)) < 0.03] = np.nan
    cols = {"sharesout": shares, "eps": eps, "assets": assets, "sales": sales, "revenue": sales,
            "equity": equity, "debt": debt, "cash": cash, "income": income}
    table = np.full((years * N + 1, len(FUND_FIELDS)), np.nan)
    for j, name in enumerate(FUND_FIELDS):
        table[:-1, j] = cols[name].T.reshape(-1)  # row = n * years + year
    t = np.arange(T)[:, None]
    year = (t - offset[None, :]) // YEAR
    index = (np.arange(N)[None, :] * years + year).astype(np.int32)
    index[year < 0] = years * N
    return FundTable(FUND_FIELDS, table, index)


def synthetic_panel(n_dates: int, n_tickers: int, seed: int = 0) -> Panel:
    """A random ``Panel`` of ``n_dates`` business days (from 2010-01-04) x ``n_tickers`` (``S00000``...).

    Label starts with ``SYNTHETIC``. Fields, all (T, N) float64: open, high, low, close, volume (eager);
    returns = close/ts_delay(close,1)-1, vwap = (high+low+close)/3, adv20 = strict 20-day mean volume,
    sharesout (millions), cap = close*sharesout (USD millions), enterprise_value = cap + debt - cash,
    bookvalue_ps = equity/sharesout, eps, assets, sales, revenue, equity, debt, cash, income (USD millions)
    (lazy); groups sector, industry, subindustry, market, country, currency. Deterministic in ``seed``.
    Raises ``ValueError`` if ``n_dates`` or ``n_tickers`` < 1.
    """
    if int(n_dates) < 1 or int(n_tickers) < 1:
        raise ValueError(f"synthetic_panel needs n_dates >= 1 and n_tickers >= 1, got {n_dates}, {n_tickers}")
    T, N = int(n_dates), int(n_tickers)
    rng = np.random.default_rng(seed)
    prices = _prices(rng, T, N)
    _holes(rng, prices)
    groups = _groups(rng, N)
    fund = _fundamentals(rng, T, N)
    panel: Panel

    def lazy_group(vec: np.ndarray):
        return lambda: np.repeat(vec[None, :], T, axis=0)

    sources: dict = dict(prices)
    sources.update({g: lazy_group(groups[g]) for g in GROUP_FIELDS})
    sources.update({f: (lambda nm=f: fund.field(nm)) for f in FUND_FIELDS})
    sources["returns"] = lambda: close_ratio(panel["close"]) - 1.0
    sources["vwap"] = lambda: (panel["high"] + panel["low"] + panel["close"]) / 3.0
    sources["adv20"] = lambda: strict_mean(panel["volume"], 20)
    sources["cap"] = lambda: panel["close"] * panel["sharesout"]
    sources["enterprise_value"] = lambda: panel["cap"] + panel["debt"] - panel["cash"]
    sources["bookvalue_ps"] = lambda: panel["equity"] / panel["sharesout"]
    label = f"SYNTHETIC seed={seed} T={T} N={N} (random walk; not market data)"
    width = max(5, len(str(N - 1)))
    tickers = [f"S{i:0{width}d}" for i in range(N)]
    panel = Panel(_dates(T), tickers, sources, GROUP_FIELDS, label)
    return panel
