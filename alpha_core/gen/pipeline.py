"""Pure stage functions of the daily mining pipeline (ARCHITECTURE.md "Data flow of one candidate").

Each function takes plain data (polars frames, dicts, a Panel) and returns the rows of one table (list of
dicts without ``run_id``), so every Dagster asset is "read inputs, call one function, write the partition".

Verdict of a simulated candidate (stored on each of its ``checklists`` rows):
``winner`` = no check FAILed (PENDING/WARNING do not block, gate ``all_passed``); ``near_miss`` = only
LOW_SHARPE and/or LOW_FITNESS failed, each with value >= 80 % of its limit; ``fail`` otherwise.
"""
from __future__ import annotations

import json
import math
from typing import Iterable

import numpy as np


NEAR_MISS_FRACTION = 0.8
NEAR_MISS_CHECKS = ("LOW_SHARPE", "LOW_FITNESS")


def _f(v) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ---- registry -------------------------------------------------------------------------------------
def registry_rows(registry) -> list[dict]:
    """``field_registry`` rows from a ``FieldRegistry`` (sorted by id)."""
    keys = ("id", "dataset", "category", "kind", "description", "region", "delay", "coverage", "user_count",
            "alpha_count", "local_source", "local")
    return [{k: getattr(f, k) for k in keys} for f in sorted(registry, key=lambda f: f.id)]


def mineable_fields(registry, panel_fields: Iterable[str] | None = None) -> list[str]:
    """Ids of local MATRIX fields (the ``field`` dynamic partitions), restricted to ``panel_fields`` if given."""
    have = None if panel_fields is None else set(panel_fields)
    return sorted(f.id for f in registry if f.local and f.kind == "MATRIX" and (have is None or f.id in have))


# ---- simulations ----------------------------------------------------------------------------------
def sim_row(base: dict, result) -> dict:
    """A ``simulations`` row (``base`` keys + the metric columns) from a ``SimResult``: IS/OS metrics, the §9
    result as JSON, the daily PnL (USD) and its dates."""
    d = result.to_dict()
    is_, os_ = d.get("is") or {}, d.get("os") or {}
    dates = [str(x) for x in np.asarray(result.dates, dtype="datetime64[D]")]
    pnl = [None if not math.isfinite(v) else float(v) for v in np.asarray(result.daily_pnl, dtype=np.float64)]
    return {**base, "status": "ok", "error": None,
            "is_sharpe": _f(is_.get("sharpe")), "is_fitness": _f(is_.get("fitness")),
            "is_turnover": _f(is_.get("turnover")), "is_returns": _f(is_.get("returns")),
            "is_drawdown": _f(is_.get("drawdown")), "is_margin": _f(is_.get("margin")),
            "is_pnl": _f(is_.get("pnl")), "is_long_count": _f(is_.get("longCount")),
            "is_short_count": _f(is_.get("shortCount")), "is_max_weight": _f(is_.get("maxWeight")),
            "is_sub_universe_sharpe": _f(is_.get("subUniverseSharpe")),
            "os_sharpe": _f(os_.get("sharpe")), "os_returns": _f(os_.get("returns")),
            "os_turnover": _f(os_.get("turnover")), "os_fitness": _f(os_.get("fitness")),
            "is_start": is_.get("startDate"), "is_end": is_.get("endDate"),
            "result_json": json.dumps(d, sort_keys=True), "pnl_dates": dates, "daily_pnl": pnl,
            "is_min_coverage": min_coverage(result)}


def min_coverage(result) -> float | None:
    """Fewest instruments holding weight (finite, non-zero) on any IS metric day of a ``SimResult`` (the COVERAGE
    check); None when the result has no weights or no IS metric days."""
    w = result.weights
    start = (result.is_ or {}).get("startDate")
    if w is None or start is None:
        return None
    sl = result.is_slice
    dates = np.asarray(result.dates[sl], dtype="datetime64[D]")
    first = int(np.searchsorted(dates, np.datetime64(start, "D")))
    held = np.asarray(w[sl][first:])
    if not held.size:
        return None
    return float((np.isfinite(held) & (held != 0)).sum(axis=1).min())


METRIC_COLUMNS = ("is_sharpe", "is_fitness", "is_turnover", "is_returns", "is_drawdown", "is_margin", "is_pnl",
                  "is_long_count", "is_short_count", "is_max_weight", "is_sub_universe_sharpe", "os_sharpe",
                  "os_returns", "os_turnover", "os_fitness", "is_start", "is_end", "result_json",
                  "pnl_dates", "daily_pnl", "is_min_coverage")


def metric_nulls() -> dict:
    """The metric columns of a ``simulations`` row that has no result, all None."""
    return {c: None for c in METRIC_COLUMNS}


def is_pnl(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(pnl (D,) USD, dates (D,) datetime64[D]) of a ``simulations`` row restricted to its IS metric days."""
    if not row.get("daily_pnl") or row.get("is_start") is None:
        return np.zeros(0), np.zeros(0, dtype="datetime64[D]")
    dates = np.asarray([np.datetime64(str(d), "D") for d in row["pnl_dates"]])
    pnl = np.asarray([np.nan if v is None else v for v in row["daily_pnl"]], dtype=np.float64)
    keep = (dates >= np.datetime64(str(row["is_start"]), "D")) & (dates <= np.datetime64(str(row["is_end"]), "D"))
    return pnl[keep], dates[keep]


# ---- checklists -----------------------------------------------------------------------------------
def verdict(checks) -> str:
    """``winner`` / ``near_miss`` / ``fail`` from a list of ``Check`` (see module doc)."""
    failed = [c for c in checks if c.result == "FAIL"]
    if not failed:
        return "winner"
    if all(c.name in NEAR_MISS_CHECKS and c.value is not None and c.limit
           and c.value >= NEAR_MISS_FRACTION * c.limit for c in failed):
        return "near_miss"
    return "fail"
