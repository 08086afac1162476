"""Tiny hand-written source files for loader tests (never a copy of the real data)."""
from __future__ import annotations

import gzip
from pathlib import Path

from alpha_core.data.fundamentals import csv_columns

# ---- tiny source files ----------------------------------------------------------------------------
TINY_DATES = ["2013-03-26", "2013-03-27", "2013-03-28", "2013-04-01", "2013-04-02", "2013-04-03"]


def tiny_prices(rows=None) -> list[str]:
    """Lines of a tiny all_stocks_5yr file: AAA on 6 dates, BBB on dates 2..6 (late start), CCC with a gap."""
    if rows is not None:
        return rows
    lines = ["date,open,high,low,close,volume,Name"]
    for i, d in enumerate(TINY_DATES):
        c = 10.0 + i
        lines.append(f"{d},{c - 0.5},{c + 1},{c - 1},{c},{1000 * (i + 1)},AAA")
        if i >= 1:
            lines.append(f"{d},{20 + i},{21 + i},{19 + i},{20 + i},{500},BBB")
        if i != 3:
            lines.append(f"{d},,{31 + i},{29 + i},{30 + i},{700},CCC")
    return lines


def tiny_sectors() -> list[str]:
    return ["ticker,name,gics_sector,gics_sub_industry",
            "AAA,A Co,Industrials,Airlines",
            "BBB,B Co,Energy,Oil & Gas Drilling",
            "CCC,C Co,Energy,",
            "ZZZ,Z Co,Utilities,Water Utilities"]


def tiny_fundamentals(extra_rows=()) -> list[str]:
    cols = csv_columns()
    header = ["", *cols]

    def row(i, ticker, year, **vals):
        cells = {c: "" for c in cols}
        cells.update({"Ticker Symbol": ticker, "Period Ending": str(year)})
        cells.update(vals)
        return ",".join([str(i)] + [f'"{cells[c]}"' for c in cols])

    base = {"Estimated Shares Outstanding": "2000000", "Total Revenue": "50000000", "Total Assets": "8000000",
            "Cash and Cash Equivalents": "1000000", "Long-Term Debt": "3000000",
            "Short-Term Debt / Current Portion of Long-Term Debt": "500000", "Inventory": "0",
            "Cost of Revenue": "7000000", "Capital Expenditures": "-2500000", "Earnings Per Share": "1.25"}
    lines = [",".join(f'"{h}"' for h in header),
             row(0, "AAA", 2012, **base),
             row(1, "BBB", 2013, **base),          # available only in 2014: never in the tiny panel
             row(2, "QQQ", 2012, **base)]           # not in the panel: ignored
    lines += [row(3 + i, *r[:2], **r[2]) for i, r in enumerate(extra_rows)]
    return lines


def write_tiny(folder: Path, prices=None, sectors=None, fundamentals=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "all_stocks_5yr.csv.gz", "wt") as fh:
        fh.write("\n".join(tiny_prices(prices)) + "\n")
    (folder / "sector_map_505.csv").write_text("\n".join(sectors or tiny_sectors()) + "\n")
    (folder / "nyse_fundamentals.csv").write_text("\n".join(fundamentals or tiny_fundamentals()) + "\n")
    return folder
