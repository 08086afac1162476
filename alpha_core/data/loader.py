"""Load the real S&P 500 panel (SIMULATION.md §2; data described in ``shared/data/sp500/PROVENANCE.md``).

``load_panel()`` reads ``all_stocks_5yr.csv.gz``, ``sector_map_505.csv`` and ``nyse_fundamentals.csv``
from ``data_dir()``, builds every field with a ``local_source`` in ``brain_fields.csv`` (prices, derived
price fields with the documented defects handled, groups, fundamentals with the reporting lag), and caches
the parsed arrays under ``cache_dir`` so a warm load only checks each file's CRC-32 and memory-maps it
(about 10 ms).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from . import cache as _cache
from .errors import DataFileError
from .groups import GROUP_FIELDS
from .panel import Panel

__all__ = ["DataFileError", "LOADER_VERSION", "SOURCE_FILES", "data_dir", "load_panel", "build_arrays",
           "assemble_panel", "PRICE_FIELDS", "DAILY_FUND_FIELDS"]

log = logging.getLogger(__name__)

LOADER_VERSION = "panel-1"
"""Bump when the arrays the loader builds change; it is part of the cache key."""
SOURCE_FILES = {"prices": "all_stocks_5yr.csv.gz", "sectors": "sector_map_505.csv",
                "fundamentals": "nyse_fundamentals.csv"}
PRICE_FIELDS = ("open", "high", "low", "close", "volume", "returns", "vwap", "adv20")
DAILY_FUND_FIELDS = ("cap", "enterprise_value")
SECTOR_COLUMNS = ("ticker", "gics_sector", "gics_sub_industry")


def data_dir() -> Path:
    """The real-data folder: ``$ALPHA_DATA_DIR`` if set, else ``<project root>/../shared/data/sp500``
    (project root = the folder holding ``pyproject.toml``). Raises ``DataFileError`` if neither exists."""
    env = os.environ.get("ALPHA_DATA_DIR", "").strip()
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataFileError(path, "ALPHA_DATA_DIR does not name a folder")
        return path
    root = Path(__file__).resolve().parents[2]
    path = (root.parent / "shared" / "data" / "sp500").resolve()
    if not path.is_dir():
        raise DataFileError(path, "real data folder not found; set ALPHA_DATA_DIR to the folder holding "
                                  f"{', '.join(SOURCE_FILES.values())}")
    return path


_default_data_dir = data_dir


def _source_paths(folder: Path) -> dict[str, Path]:
    paths = {name: folder / fname for name, fname in SOURCE_FILES.items()}
    for path in paths.values():
        if not path.is_file():
            raise DataFileError(path, "file not found")
    return paths


def build_arrays(folder: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """Parse the three source files of ``folder``: (meta, arrays) as stored in the cache.

    arrays: ``dates`` (T,) datetime64[D]; PRICE_FIELDS (T, N) float64; ``group_<name>`` (N,) float64 ids;
    ``fund_table`` (R + 1, F) and ``fund_index`` (T, N) int32 (see ``fundamentals.FundTable``).
    meta: ``tickers``, ``fund_names``, ``label``, ``corporate_actions``. Raises ``DataFileError``.
    """
    from .csvfiles import line_of, read_text_csv, require_text
    from .fundamentals import build_fund_table, csv_columns
    from .groups import group_vectors
    from .prices import apply_defects, derived_prices, price_arrays

    paths = _source_paths(Path(folder))
    frame = read_text_csv(paths["prices"], ("date", "Name") + ("open", "high", "low", "close", "volume"))
    dates, tickers, prices = price_arrays(paths["prices"], frame)
    if not tickers:
        raise DataFileError(paths["prices"], "holds no rows")
    actions = apply_defects(paths["prices"], dates, tickers, prices)
    prices.update(derived_prices(prices, actions))

    sectors = read_text_csv(paths["sectors"], SECTOR_COLUMNS)
    tickers_col = require_text(paths["sectors"], sectors, "ticker")
    require_text(paths["sectors"], sectors, "gics_sector")  # PROVENANCE.md: only sub-industries may be blank
    repeat = ~tickers_col.is_first_distinct()
    if repeat.any():
        line = line_of(repeat)
        raise DataFileError(paths["sectors"], f"ticker {tickers_col[line - 2]} is listed more than once", line=line)
    names = tickers_col.to_list()
    groups = group_vectors(tickers, dict(zip(names, sectors["gics_sector"].to_list())),
                           dict(zip(names, sectors["gics_sub_industry"].to_list())), paths["sectors"])

    fund_frame = read_text_csv(paths["fundamentals"], csv_columns())
    fund = build_fund_table(paths["fundamentals"], fund_frame, tickers, dates)

    arrays = {"dates": dates, **{f: prices[f] for f in PRICE_FIELDS},
              **{f"group_{g}": v for g, v in groups.items()},
              "fund_table": fund.table, "fund_index": fund.index}
    label = (f"S&P 500 daily {dates[0]}..{dates[-1]}, {len(tickers)} tickers "
             "(2018 membership, survivorship-biased)")
    meta = {"tickers": list(tickers), "fund_names": list(fund.names), "label": label,
            "corporate_actions": [[tickers[n], str(dates[t])] for t, n in actions]}
    return meta, arrays


def assemble_panel(meta: dict, arrays: dict[str, np.ndarray]) -> Panel:
    """The ``Panel`` over stored arrays (in memory or memory-mapped): price fields as stored, group fields
    broadcast to (T, N), fundamental fields gathered lazily, ``cap`` = close*sharesout and
    ``enterprise_value`` = cap + debt - cash computed lazily (USD millions)."""
    from .fundamentals import FundTable

    dates = arrays["dates"]
    T, N = len(dates), len(meta["tickers"])
    fund = FundTable(tuple(meta["fund_names"]), arrays["fund_table"], arrays["fund_index"])
    sources: dict = {f: arrays[f] for f in PRICE_FIELDS}
    for g in GROUP_FIELDS:
        vec = arrays[f"group_{g}"]
        sources[g] = (lambda v=vec: np.repeat(np.asarray(v, dtype=np.float64)[None, :], T, axis=0))
    for name in fund.names:
        sources[name] = (lambda nm=name: fund.field(nm))
    panel: Panel

    def cap() -> np.ndarray:
        return panel["close"] * panel["sharesout"]

    def enterprise_value() -> np.ndarray:
        return panel["cap"] + panel["debt"] - panel["cash"]

    sources["cap"] = cap
    sources["enterprise_value"] = enterprise_value
    panel = Panel(np.asarray(dates), meta["tickers"], sources, GROUP_FIELDS, meta["label"])
    if panel.N != N:
        raise ValueError("tickers do not match the stored arrays")
    return panel


def load_panel(data_dir: str | Path | None = None, cache_dir: str | Path | None = None, *,
               use_cache: bool = True) -> Panel:
    """The real S&P 500 panel: T = 1,259 dates (2013-02-08 .. 2018-02-07) x N = 505 tickers.

    ``data_dir`` defaults to ``data_dir()``; ``cache_dir`` to ``$ALPHA_CACHE_DIR`` or
    ``~/.cache/alpha_factory``. A cache keyed by the loader version and the source files' size and mtime is
    read when every stored file matches its checksum and (re)built otherwise (a damaged cache logs one
    warning, never raises); ``use_cache=False`` parses the files and writes nothing.
    Fields are (T, N) float64 read-only arrays (see SIMULATION.md §2 and ``brain_fields.csv``).
    Raises ``DataFileError`` naming the file (and the line, when one line is at fault) when a source file
    is missing or malformed (see ``csvfiles``, ``prices.price_arrays``, ``fundamentals.build_fund_table``).
    """
    folder = Path(data_dir).expanduser() if data_dir is not None else _default_data_dir()
    if not folder.is_dir():
        raise DataFileError(folder, "data folder not found")
    paths = _source_paths(folder)
    if not use_cache:
        return assemble_panel(*build_arrays(folder))
    root = Path(cache_dir).expanduser() if cache_dir is not None else _cache.default_cache_dir()
    where = _cache.cache_folder(root, folder)
    key = {"loader_version": LOADER_VERSION, "sources": _cache.source_stamp(paths)}
    hit = _cache.read_cache(where, key)
    if hit is not None:
        try:
            return assemble_panel(*hit)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            log.warning("panel cache %s does not assemble (%s); rebuilding the cache", where, exc)
    meta, arrays = build_arrays(folder)
    _cache.write_cache(where, key, meta, arrays)
    return assemble_panel(meta, arrays)
