"""Dry-run submissions: the records a live submission would make, without any network (ARCHITECTURE.md
stage ``submissions``; BRAIN_API.md §9 for what a live one does).

Selection for one mining day: the day's ``winner`` candidates, best IS fitness first (ties by hash), skipping
(1) hashes already submitted on any earlier day ("no duplicate submission") and (2) any candidate whose IS
PnL correlates >= 0.7 with an alpha already selected or submitted earlier (SIMULATION.md §6 rule, applied
across the day's picks so two near-copies are never sent together: ``gate.correlation.independent_set``, the
same function that counts the miner's independent winners); at most ``limit`` = 4 per day (BRAIN's
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
                        now: dt.datetime | None = None) -> tuple[list[dict], list[dict]]:
    """(``submissions`` rows without ``run_id``, the day's independent winners) for ``mining_date``.

    ``winners``: dicts with ``alpha_hash, field, expression, settings_json, is_sharpe, is_fitness`` and
    ``pnl``/``dates`` ((D,) IS daily PnL in USD and its datetime64[D] dates). ``accepted``: (pnl, dates, sharpe)
    of alphas submitted before this day. The independent winners are ``gate.correlation.independent_set``
    of the winners not yet submitted (best IS fitness first) against ``accepted`` and each other, at
    ``CORR_LIMIT``; the first ``limit`` of them are submitted. ``now``: timestamp recorded (UTC now when None).
    """
    from alpha_core.gate.correlation import independent_set

    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    fresh = {}
    for w in winners:
        if w["alpha_hash"] not in already_submitted:
            fresh.setdefault(w["alpha_hash"], w)
    items = [(h, w["pnl"], w["dates"], w.get("is_fitness") if w.get("is_fitness") is not None else float("-inf"))
             for h, w in sorted(fresh.items())]
    chosen = independent_set(items, [(p, d) for p, d, *_ in accepted], CORR_LIMIT)
    kept = [fresh[h] for h in chosen.kept]
    out = []
    for w in kept[:limit]:
        out.append({"mining_date": mining_date, "alpha_hash": w["alpha_hash"], "field": w["field"],
                    "expression": w["expression"], "settings_json": w["settings_json"], "mode": "dry-run",
                    "brain_alpha_id": None, "status": "DRY_RUN",
                    "message": "dry run: not sent to BRAIN (ALPHA_SUBMIT_LIVE is false)",
                    "is_sharpe": w.get("is_sharpe"), "is_fitness": w.get("is_fitness"),
                    "max_self_corr": _max_corr(w, accepted), "submitted_at": now})
    return out, kept


def _max_corr(w: dict, accepted) -> float | None:
    from alpha_core.gate.checks import self_correlation

    return self_correlation(w["pnl"], w["dates"], accepted).value


def day_submission_inputs(con, mining_date: str) -> tuple[list[dict], set[str], list]:
    """(the day's independent winners with IS ``pnl``/``dates``, hashes submitted before the day, the accepted
    library) read from an open DuckDB connection, for ``dry_run_submissions``. The day's independent winners
    are the winners its searches kept as found (``candidates.independent``: validated by the walk-forward
    split inside IS, ``gate.stability.validated``, and below 0.7 with everything found before them)."""
    from alpha_core.gate.stability import validated
    from alpha_core.gen.dayplan import accepted_library
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not reads.table_exists(con, "checklists"):
        return [], set(), []
    fields = [r[0] for r in con.execute("SELECT DISTINCT field FROM checklists WHERE mining_date = CAST(? AS DATE) "
                                        "ORDER BY 1", [mining_date]).fetchall()]
    keys = [(mining_date, f) for f in fields]
    v = reads.verdicts(con, keys)
    win = v.filter(v["verdict"] == "winner") if v.height else v
    sims = reads.read_partitions(con, "simulations", keys) if win.height else None
    by_key = {(r["field"], r["alpha_hash"]): r for r in sims.iter_rows(named=True)} if sims is not None else {}
    flagged = {r[0] for r in con.execute("SELECT alpha_hash FROM candidates WHERE mining_date = CAST(? AS DATE) "
                                         "AND independent", [mining_date]).fetchall()}
    winners = []
    for w in win.iter_rows(named=True):
        pnl, dates = is_pnl(by_key[(w["field"], w["alpha_hash"])])
        if w["alpha_hash"] in flagged and validated(pnl):
            winners.append({**w, "pnl": pnl, "dates": dates})
    return winners, reads.submitted_hashes(con, before_date=mining_date), accepted_library(con, mining_date)
