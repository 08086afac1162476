"""Fundamental fields from ``nyse_fundamentals.csv`` with the reporting-lag rule (SIMULATION.md §2).

Each ``fund:`` field of ``brain_fields.csv`` has a recipe here: the CSV columns it reads and how they
combine (money / 1e6 = USD millions, per-share values unchanged, ratios as fractions, zero denominator ->
NaN, sign flips for capex and treasury stock). A recipe is evaluated once per fiscal row; the lag rule then
maps rows to days through one ``(T, N)`` index of the row in force (``FundTable``), so every field is a
cheap gather. ``cap`` and ``enterprise_value`` mix daily prices in and are computed by the loader.

Lag rule: row key (ticker, ``Period Ending`` = year Y; duplicates keep the last row in file order);
fiscal end Y-12-31; available from the first trading day on/after fiscal end + 90 calendar days; in force
until the ticker's next row becomes available (which replaces it even where blank); usable while fewer
than 455 calendar days have passed since it became available.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import DataFileError
from .prices import LAST_DATE

LAG_DAYS = 90
STALE_DAYS = 455
TICKER_COL = "Ticker Symbol"
PERIOD_COL = "Period Ending"
PREV = "prev:"  # a column of the ticker's previous fiscal row
FIRST_YEAR, LAST_YEAR = 1900, LAST_DATE.year - 1
"""Accepted ``Period Ending`` years: up to the last fiscal year (ending Dec 31) ended by ``prices.LAST_DATE``,
since a later one would report the future. The file holds 2003-2007 and 2017 rows besides 2012-2016; kept."""


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a / b
    out[b == 0] = np.nan
    return out


@dataclass(frozen=True)
class Recipe:
    """A fundamental field: CSV ``columns`` combined by ``fn`` (one array per column, row-aligned), ``unit``."""

    columns: tuple[str, ...]
    fn: Callable[..., np.ndarray]
    unit: str


def _money(col: str, sign: float = 1.0) -> Recipe:
    return Recipe((col,), lambda x: sign * x / 1e6, "USD millions")


def _money_sum(*cols: str) -> Recipe:
    return Recipe(cols, lambda *xs: sum(xs) / 1e6, "USD millions")


_CA, _CL = "Total Current Assets", "Total Current Liabilities"
_LTD, _STD = "Long-Term Debt", "Short-Term Debt / Current Portion of Long-Term Debt"
_SH, _REV, _NI, _EQ = "Estimated Shares Outstanding", "Total Revenue", "Net Income", "Total Equity"

RECIPES: dict[str, Recipe] = {
    "sharesout": Recipe((_SH,), lambda s: s / 1e6, "millions of shares"),
    "fnd6_newa1v1300_csho": Recipe((_SH,), lambda s: s / 1e6, "millions of shares"),
    "assets": _money("Total Assets"),
    "assets_curr": _money(_CA),
    "bookvalue_ps": Recipe((_EQ, _SH), _div, "USD per share"),
    "capex": _money("Capital Expenditures", -1.0),
    "cash": _money("Cash and Cash Equivalents"),
    "cash_st": _money_sum("Cash and Cash Equivalents", "Short-Term Investments"),
    "cashflow_fin": _money("Net Cash Flows-Financing"),
    "cashflow_invst": _money("Net Cash Flows-Investing"),
    "cashflow_op": _money("Net Cash Flow-Operating"),
    "cogs": _money("Cost of Revenue"),
    "current_ratio": Recipe((_CA, _CL), _div, "fraction"),
    "debt": _money_sum(_LTD, _STD),
    "debt_lt": _money(_LTD),
    "debt_st": _money(_STD),
    "depre_amort": _money("Depreciation"),
    "ebit": _money("Earnings Before Interest and Tax"),
    "ebitda": _money_sum("Earnings Before Interest and Tax", "Depreciation"),
    "eps": Recipe(("Earnings Per Share",), lambda x: x * 1.0, "USD per share"),
    "equity": _money(_EQ),
    "goodwill": _money("Goodwill"),
    "income": _money(_NI),
    "income_beforeextra": _money("Net Income-Cont. Operations"),
    "income_tax": _money("Income Tax"),
    "interest_expense": _money("Interest Expense"),
    "inventory": _money("Inventory"),
    "inventory_turnover": Recipe(("Cost of Revenue", "Inventory"), _div, "fraction"),
    "invested_capital": _money_sum(_EQ, _LTD, _STD),
    "liabilities": _money("Total Liabilities"),
    "liabilities_curr": _money(_CL),
    "operating_expense": Recipe((_REV, "Operating Income"), lambda r, o: (r - o) / 1e6, "USD millions"),
    "operating_income": _money("Operating Income"),
    "ppent": _money("Fixed Assets"),
    "pretax_income": _money("Earnings Before Tax"),
    "rd_expense": _money("Research and Development"),
    "receivable": _money("Net Receivables"),
    "retained_earnings": _money("Retained Earnings"),
    "return_assets": Recipe((_NI, "Total Assets"), _div, "fraction"),
    "return_equity": Recipe((_NI, _EQ), _div, "fraction"),
    "revenue": _money(_REV),
    "sales": _money(_REV),
    "sales_growth": Recipe((_REV, PREV + _REV), lambda r, p: _div(r, p) - 1.0, "fraction"),
    "sales_ps": Recipe((_REV, _SH), _div, "USD per share"),
    "sga_expense": _money("Sales, General and Admin."),
    "working_capital": Recipe((_CA, _CL), lambda a, b: (a - b) / 1e6, "USD millions"),
    "fnd6_newa1v1300_gp": _money("Gross Profit"),
    "fnd6_intan": _money("Intangible Assets"),
    "fnd6_teq": _money(_EQ),
    "fnd6_newa2v1300_ni": _money(_NI),
    "fnd6_newa2v1300_tstk": _money("Treasury Stock", -1.0),
    "fnd6_newa2v1300_xrd": _money("Research and Development"),
}
"""Per-row fundamental fields. ``cap`` = close*sharesout and ``enterprise_value`` = cap + debt - cash are daily."""


def csv_columns() -> list[str]:
    """Every column of ``nyse_fundamentals.csv`` the loader needs, in a stable order."""
    cols = [TICKER_COL, PERIOD_COL]
    for recipe in RECIPES.values():
        for c in recipe.columns:
            c = c[len(PREV):] if c.startswith(PREV) else c
            if c not in cols:
                cols.append(c)
    return cols


@dataclass(frozen=True)
class FundTable:
    """Fiscal rows as a table plus the row in force per day.

    ``names`` the field ids (columns of ``table``); ``table`` (R + 1, F) float64 with a final all-NaN row;
    ``index`` (T, N) int32: the table row in force on each date (R = none, expired or not yet available).
    """

    names: tuple[str, ...]
    table: np.ndarray
    index: np.ndarray

    def field(self, name: str) -> np.ndarray:
        """The (T, N) float64 daily values of field ``name`` (NaN where no row is in force)."""
        return self.table[:, self.names.index(name)][self.index]


def available_dates(years: np.ndarray, dates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For fiscal years ``years`` (R,): (row of ``dates`` from which each is available (T if never),
    date it became available as datetime64[D]).

    Fiscal end is Y-12-31; available from the first trading day on or after fiscal end + 90 days. Before
    the panel's first date no trading calendar is known, so the calendar day fiscal end + 90 is used.
    """
    ends = (years.astype(np.int64) - 1970 + 1).astype("datetime64[Y]").astype("datetime64[D]") - 1
    due = ends + LAG_DAYS
    rows = np.searchsorted(dates, due, side="left")
    became = due.copy()
    inside = (rows < len(dates)) & (due >= dates[0]) if len(dates) else np.zeros(len(due), bool)
    became[inside] = dates[rows[inside]]
    return rows, became


def build_fund_table(path: Path | str, frame, tickers: Sequence[str], dates: np.ndarray) -> FundTable:
    """Apply the recipes and the lag rule to the fundamentals ``frame`` (polars, string columns read by
    ``csvfiles.read_text_csv`` from ``path``) for panel axes ``tickers`` (N) and ``dates`` (T,).

    Rows of tickers not in the panel are ignored. Raises ``DataFileError`` naming ``path`` and the line
    when a ticker is blank, ``Period Ending`` is not a year in FIRST_YEAR..LAST_YEAR, or a used column
    holds anything but a finite number or a blank.
    """
    from .csvfiles import line_of, parse_floats, require_text

    require_text(path, frame, TICKER_COL)
    period = require_text(path, frame, PERIOD_COL)
    import polars as pl

    years = period.cast(pl.Int64, strict=False)
    bad = (years.is_null() | (years < FIRST_YEAR) | (years > LAST_YEAR)).fill_null(True)
    if bad.any():
        line = line_of(bad)
        raise DataFileError(path, f"column {PERIOD_COL!r} must hold a fiscal year from {FIRST_YEAR} to "
                                  f"{LAST_YEAR} (ended by the data's last date {LAST_DATE}), "
                                  f"got {period[line - 2]!r}", line=line)
    cols = [c for c in csv_columns() if c not in (TICKER_COL, PERIOD_COL)]
    values = parse_floats(path, frame, cols)
    base = pl.DataFrame({"ticker": frame[TICKER_COL], "year": years, **values})
    base = base.with_row_index("_order")
    # duplicates keep the last row in file order; then one ticker's rows in fiscal order
    base = base.unique(["ticker", "year"], keep="last").sort(["ticker", "year"])
    prev = [c for c in cols if any(PREV + c in r.columns for r in RECIPES.values())]
    base = base.with_columns(pl.col(c).shift(1).over("ticker").alias(PREV + c) for c in prev)
    pos = {t: i for i, t in enumerate(tickers)}
    base = base.filter(pl.col("ticker").is_in(list(pos)))

    raw = {c: base[c].to_numpy().astype(np.float64) for c in base.columns if c not in ("ticker", "year", "_order")}
    names = tuple(RECIPES)
    R = base.height
    table = np.full((R + 1, len(names)), np.nan)
    for j, name in enumerate(names):
        recipe = RECIPES[name]
        with np.errstate(all="ignore"):
            col = np.asarray(recipe.fn(*(raw[c] for c in recipe.columns)), dtype=np.float64)
        col[~np.isfinite(col)] = np.nan
        table[:R, j] = col

    T, N = len(dates), len(tickers)
    index = np.full((T, N), R, dtype=np.int32)
    rows, became = available_dates(base["year"].to_numpy(), dates)
    stale = np.searchsorted(dates, became + STALE_DAYS, side="left")  # first row with >= 455 days passed
    tick = base["ticker"].to_list()
    for k in range(R):
        n = pos[tick[k]]
        nxt = rows[k + 1] if k + 1 < R and tick[k + 1] == tick[k] else T
        end = min(nxt, stale[k])
        if rows[k] < end:
            index[rows[k]:end, n] = k
    return FundTable(names, table, index)
