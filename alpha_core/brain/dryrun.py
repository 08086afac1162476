"""Dry-run submissions: the records a live submission would make, without any network (ARCHITECTURE.md
stage ``submissions``; BRAIN_API.md §9 for what a live one does).

What is submitted is decided by the day's gate (``gate.order.day_gate``: deflated sharpe first, the full
checklist, self-correlation against the day's picks and earlier submissions, at most 4 a day); each chosen
finalist becomes a row with ``mode='dry-run'``, ``status='DRY_RUN'``, no BRAIN alpha id.
"""
from __future__ import annotations

import datetime as dt
from typing import Sequence


def dry_run_records(mining_date: str, chosen: Sequence, order_rows: Sequence[dict],
                    now: dt.datetime | None = None) -> list[dict]:
    """``submissions`` rows (without ``run_id``) for the finalists ``chosen`` by ``gate.order.day_gate``
    (``gate.order.Finalist``), with their ``SELF_CORRELATION`` value from ``order_rows``' gate (max IS PnL
    correlation with today's earlier picks and earlier submissions). ``now``: timestamp recorded (UTC now)."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    out = []
    for f in chosen:
        corr = next((c.value for c in f.checks if c.name == "SELF_CORRELATION"), None)
        out.append({"mining_date": mining_date, "alpha_hash": f.alpha_hash, "field": f.field,
                    "expression": f.expression, "settings_json": f.settings_json, "mode": "dry-run",
                    "brain_alpha_id": None, "status": "DRY_RUN",
                    "message": "dry run: not sent to BRAIN (ALPHA_SUBMIT_LIVE is false)",
                    "is_sharpe": f.row.get("is_sharpe"), "is_fitness": f.row.get("is_fitness"),
                    "max_self_corr": corr, "submitted_at": now})
    return out
