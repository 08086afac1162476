"""Daily price fields of the real panel and their known defects (SIMULATION.md §2, PROVENANCE.md).

``price_arrays`` turns the ``all_stocks_5yr`` frame into (T, N) arrays; ``apply_defects`` blanks the
documented bad print and finds the unadjusted corporate actions by rule (close-to-close ratio < 0.6),
checking the rule's answer against the documented list; ``derived_prices`` computes returns, vwap, adv20.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from .errors import DataFileError

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
FIRST_DATE, LAST_DATE = date(2013, 2, 8), date(2018, 2, 7)
"""The documented range of the data (PROVENANCE.md); a price row outside it is rejected."""
REQUIRED_PRICES = ("close", "volume")
"""Never blank in the file: PROVENANCE.md documents blanks only in open, high and low."""
CORPORATE_ACTION_RATIO = 0.6
# PROVENANCE.md "Known defects": unadjusted corporate actions (returns NaN on that date)
KNOWN_CORPORATE_ACTIONS = frozenset({
    ("DISCA", "2014-08-07"), ("DISCK", "2014-08-07"), ("BAX", "2015-07-01"),
    ("EBAY", "2015-07-20"), ("NI", "2015-07-02"),
})
# PROVENANCE.md: bad prints whose open/high/low/close are set to NaN (volume kept)
KNOWN_BAD_PRINTS = frozenset({("LNT", "2016-05-19")})


def price_arrays(path: Path | str, frame) -> tuple[np.ndarray, tuple[str, ...], dict[str, np.ndarray]]:
    """(dates (T,) datetime64[D] = sorted union of dates, tickers (N,) sorted, {open..volume: (T, N) float64}).

    ``frame`` holds the string columns of ``all_stocks_5yr.csv.gz`` (``date,open,high,low,close,volume,Name``).
    A missing row or a blank open/high/low is NaN. Raises ``DataFileError`` naming ``path`` and the line on
    a blank ``Name``, ``date``, ``close`` or ``volume``; a date that is not YYYY-MM-DD or lies outside
    FIRST_DATE..LAST_DATE; a price that is not a finite number (``nan``/``inf`` included) or is <= 0; a
    negative volume (0 occurs in the file and is kept); a (Name, date) pair given twice.
    """
    from .csvfiles import line_of, parse_dates, parse_floats, require_text

    names = require_text(path, frame, "Name")
    for col in REQUIRED_PRICES:
        require_text(path, frame, col)
    days = parse_dates(path, frame, "date")
    outside = (days < FIRST_DATE) | (days > LAST_DATE)
    if outside.any():
        line = line_of(outside)
        raise DataFileError(path, f"date {frame['date'][line - 2]} is outside the documented range "
                                  f"{FIRST_DATE}..{LAST_DATE}", line=line)
    values = parse_floats(path, frame, PRICE_COLUMNS)
    for col in PRICE_COLUMNS:
        bad = (values[col] < 0 if col == "volume" else values[col] <= 0).fill_null(False)
        if bad.any():
            line = line_of(bad)
            rule = "negative" if col == "volume" else "not positive"
            raise DataFileError(path, f"{col} {frame[col][line - 2]} is {rule}", line=line)
    dates, t_idx = np.unique(days.to_numpy().astype("datetime64[D]"), return_inverse=True)
    tickers = names.unique().sort().to_list()  # byte order = code-point order = Python's sorted()
    n_idx = (names.rank("dense") - 1).to_numpy().astype(np.int64)
    T, N = len(dates), len(tickers)
    flat = t_idx.astype(np.int64) * N + n_idx
    firsts = np.unique(flat, return_index=True)[1]
    if firsts.size != flat.size:
        repeat = np.ones(flat.size, bool)
        repeat[firsts] = False
        row = int(repeat.argmax())  # the first row repeating an earlier (Name, date)
        raise DataFileError(path, f"row for {names[row]} on {frame['date'][row]} appears more than once",
                            line=row + 2)
    out = {}
    for col in PRICE_COLUMNS:
        arr = np.full(T * N, np.nan)
        arr[flat] = values[col].to_numpy().astype(np.float64)  # null -> NaN
        out[col] = arr.reshape(T, N)
    return dates, tuple(str(t) for t in tickers), out


def _cells(pairs, dates: np.ndarray, tickers: tuple[str, ...]) -> list[tuple[int, int]]:
    pos = {t: i for i, t in enumerate(tickers)}
    out = []
    for ticker, day in sorted(pairs):
        t = int(np.searchsorted(dates, np.datetime64(day, "D")))
        if ticker in pos and t < len(dates) and dates[t] == np.datetime64(day, "D"):
            out.append((t, pos[ticker]))
    return out


def close_ratio(close: np.ndarray) -> np.ndarray:
    """close / ts_delay(close, 1), (T, N); row 0 and any NaN input -> NaN; zero previous close -> NaN."""
    ratio = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio[1:] = close[1:] / close[:-1]
    ratio[~np.isfinite(ratio)] = np.nan
    return ratio


def apply_defects(path: Path | str, dates: np.ndarray, tickers: tuple[str, ...],
                  prices: dict[str, np.ndarray]) -> list[tuple[int, int]]:
    """Blank the known bad prints (OHLC -> NaN, in place) and return the corporate-action cells (t, n).

    Corporate actions are found by rule: close-to-close ratio < 0.6 (after the bad prints are blanked).
    The found set must equal ``KNOWN_CORPORATE_ACTIONS`` restricted to cells where the ratio exists;
    otherwise ``DataFileError`` names ``path`` and the undocumented or missing cells.
    """
    for t, n in _cells(KNOWN_BAD_PRINTS, dates, tickers):
        for col in ("open", "high", "low", "close"):
            prices[col][t, n] = np.nan
    ratio = close_ratio(prices["close"])
    with np.errstate(invalid="ignore"):
        found = {(int(t), int(n)) for t, n in np.argwhere(ratio < CORPORATE_ACTION_RATIO)}
    expected = {c for c in _cells(KNOWN_CORPORATE_ACTIONS, dates, tickers) if not np.isnan(ratio[c])}
    if found != expected:
        def show(cells):
            return sorted(f"{tickers[n]} {dates[t]}" for t, n in cells)
        raise DataFileError(path, f"close-to-close ratio < {CORPORATE_ACTION_RATIO} does not match the documented "
                                  f"corporate actions: undocumented {show(found - expected)}, "
                                  f"not found {show(expected - found)}")
    return sorted(found)


def strict_mean(x: np.ndarray, window: int) -> np.ndarray:
    """ts_mean(x, window) with the strict window of FASTEXPR §6: NaN unless all ``window`` rows are valid."""
    import bottleneck as bn

    if x.shape[0] < window:
        return np.full(x.shape, np.nan)
    return bn.move_mean(x, window, min_count=window, axis=0)


def derived_prices(prices: dict[str, np.ndarray], corporate_actions=()) -> dict[str, np.ndarray]:
    """returns = close/ts_delay(close,1)-1 (NaN on ``corporate_actions`` cells (t, n)); vwap = (high+low+close)/3;
    adv20 = strict 20-day mean of volume (shares). Inputs and outputs (T, N) float64.
    """
    returns = close_ratio(prices["close"]) - 1.0
    for t, n in corporate_actions:
        returns[t, n] = np.nan
    vwap = (prices["high"] + prices["low"] + prices["close"]) / 3.0
    return {"returns": returns, "vwap": vwap, "adv20": strict_mean(prices["volume"], 20)}
