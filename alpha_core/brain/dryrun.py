"""Dry-run submissions: the records a live submission would make, without any network (ARCHITECTURE.md
stage ``submissions``; BRAIN_API.md §9 for what a live one does).

Selection for one mining day: the day's ``winner`` candidates, best IS fitness first (ties by hash), skipping
(1) hashes already submitted on any earlier day ("no duplicate submission") and (2) any candidate whose IS
PnL correlates >= 0.7 with an alpha already selected or submitted earlier (SIMULATION.md §6 rule, applied
across the day's picks so two near-copies are never sent together); at most ``limit`` = 4 per day (BRAIN's
``REGULAR_SUBMISSION`` limit, SIMULATION.md §7). Each pick becomes a row with ``mode='dry-run'``,
``status='DRY_RUN'``, no BRAIN alpha id.
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable

import numpy as np

DAILY_LIMIT = 4
CORR_LIMIT = 0.7


def dry_run_submissions(mining_date: str, winners: Iterable[dict], already_submitted: set[str],
                        accepted: list[tuple[np.ndarray, np.ndarray, float]], limit: int = DAILY_LIMIT,
                        now: dt.datetime | None = None) -> list[dict]:
    """``submissions`` rows (without ``run_id``) for ``mining_date``.

    ``winners``: dicts with ``alpha_hash, field, expression, settings_json, is_sharpe, is_fitness`` and
    ``pnl``/``dates`` ((D,) IS daily PnL in USD and its datetime64[D] dates). ``accepted``: (pnl, dates, sharpe)
    of alphas submitted before this day. ``now``: timestamp recorded (UTC now when None).
    """
    from alpha_core.gate.checks import self_correlation

    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    pool = list(accepted)
    ranked = sorted(winners, key=lambda w: (-(w.get("is_fitness") or float("-inf")), w["alpha_hash"]))
    out, seen = [], set()
    for w in ranked:
        if len(out) >= limit:
            break
        if w["alpha_hash"] in already_submitted or w["alpha_hash"] in seen:
            continue
        corr = self_correlation(w["pnl"], w["dates"], pool)
        if corr.value is not None and corr.value >= CORR_LIMIT:
            continue
        seen.add(w["alpha_hash"])
        pool.append((w["pnl"], w["dates"], w.get("is_sharpe") or 0.0))
        out.append({"mining_date": mining_date, "alpha_hash": w["alpha_hash"], "field": w["field"],
                    "expression": w["expression"], "settings_json": w["settings_json"], "mode": "dry-run",
                    "brain_alpha_id": None, "status": "DRY_RUN",
                    "message": "dry run: not sent to BRAIN (ALPHA_SUBMIT_LIVE is false)",
                    "is_sharpe": w.get("is_sharpe"), "is_fitness": w.get("is_fitness"),
                    "max_self_corr": corr.value, "submitted_at": now})
    return out
