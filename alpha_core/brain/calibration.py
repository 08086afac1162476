"""Local versus BRAIN, side by side (issue 14 item 5): for every alpha simulated both locally (table
``simulations``) and on BRAIN (table ``brain_ledger``, its ``result_json`` = BRAIN's ``GET /alphas/{id}``),
IS sharpe, turnover, fitness and the check verdict, and how well they agree.

``send_day_to_brain`` (``alpha brain simulate``): the day's ranked winners (table ``submission_order``, best first)
simulated on BRAIN through the ledger (a hash already simulated or in flight is never posted again); the pipeline's
own BRAIN step is ``brain.day.simulate_day``.
"""
from __future__ import annotations

import json

import numpy as np
from scipy import stats

from alpha_core.gate.checks import finite_or_none

METRICS = ("sharpe", "turnover", "fitness")


def checks_verdict(checks) -> str | None:
    """``pass`` when no check FAILed, ``fail`` otherwise, None without checks (PENDING does not block); ``checks``:
    BRAIN-shaped dicts (``name``, ``result``, ...)."""
    if not checks:
        return None
    return "fail" if any(c.get("result") == "FAIL" for c in checks) else "pass"


def calibration_rows(con) -> list[dict]:
    """One row per alpha hash in both ``simulations`` (status ok, latest row) and ``brain_ledger`` (with a
    result): ``alpha_hash, expression, alpha_id`` and ``local_<m>``, ``brain_<m>`` for sharpe, turnover (fractions)
    and fitness, ``local_verdict`` / ``brain_verdict`` (``pass``/``fail`` of the IS checks). Empty when either
    table is missing."""
    from alpha_core.store import reads

    if not (reads.table_exists(con, "simulations") and reads.table_exists(con, "brain_ledger")):
        return []
    rows = con.execute(
        "SELECT b.alpha_hash, b.expression, b.alpha_id, b.result_json, s.result_json FROM brain_ledger b JOIN ("
        " SELECT alpha_hash, result_json, row_number() OVER (PARTITION BY alpha_hash ORDER BY mining_date DESC) k"
        " FROM simulations WHERE status = 'ok') s ON s.alpha_hash = b.alpha_hash AND s.k = 1 "
        "WHERE b.result_json IS NOT NULL ORDER BY b.alpha_hash").fetchall()
    out = []
    for h, expression, alpha_id, brain_json, local_json in rows:
        brain = (json.loads(brain_json) or {}).get("is") or {}
        local = (json.loads(local_json) if local_json else {}).get("is") or {}
        row = {"alpha_hash": h, "expression": expression, "alpha_id": alpha_id}
        for m in METRICS:
            row[f"local_{m}"], row[f"brain_{m}"] = finite_or_none(local.get(m)), finite_or_none(brain.get(m))
        row["local_verdict"], row["brain_verdict"] = checks_verdict(local.get("checks")), checks_verdict(brain.get("checks"))
        out.append(row)
    return out


def calibration_summary(rows: list[dict]) -> dict:
    """Agreement over ``rows``: ``n``; per metric the mean absolute difference (BRAIN - local) and, with 3+
    pairs, the Spearman rank correlation; ``verdict_agreement`` = share of alphas whose pass/fail verdicts match."""
    out: dict = {"n": len(rows)}
    for m in METRICS:
        pairs = np.array([(r[f"local_{m}"], r[f"brain_{m}"]) for r in rows
                          if r[f"local_{m}"] is not None and r[f"brain_{m}"] is not None], dtype=np.float64)
        out[f"{m}_mean_abs_diff"] = float(np.abs(pairs[:, 1] - pairs[:, 0]).mean()) if len(pairs) else None
        rho = stats.spearmanr(pairs[:, 0], pairs[:, 1]).statistic if len(pairs) >= 3 else None
        out[f"{m}_rank_corr"] = None if rho is None or not np.isfinite(rho) else float(rho)
    both = [r for r in rows if r["local_verdict"] and r["brain_verdict"]]
    out["verdict_agreement"] = (sum(r["local_verdict"] == r["brain_verdict"] for r in both) / len(both)
                                if both else None)
    return out


def send_day_to_brain(db_path: str, mining_date: str, top: int, client) -> list:
    """Simulate the ``top`` best-ranked winners of ``mining_date`` (``submission_order``) on BRAIN through
    ``client`` (a ``BrainClient``) and the ``brain_ledger`` of ``db_path`` (``brain.day.simulate_alphas``: a hash
    already simulated or in flight is not posted again); returns the ``SimulationOutcome`` list. Raises
    ``ValueError`` when the day has no ranked winner or a stored hash does not match its settings."""
    from alpha_core.brain.day import simulate_alphas
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    with reading(db_path) as con:
        picked = con.execute("SELECT alpha_hash, expression, settings_json FROM submission_order WHERE mining_date = "
                             "CAST(? AS DATE) ORDER BY rank LIMIT ?", [mining_date, int(top)]).fetchall() \
            if reads.table_exists(con, "submission_order") else []
    if not picked:
        raise ValueError(f"no ranked winner for {mining_date} (run `alpha mine --date {mining_date}` first)")
    return simulate_alphas(db_path, picked, client)
