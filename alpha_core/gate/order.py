"""The day's gate and submission order (issue 13): which of the day's winners are worth a BRAIN slot, and why not
the others.

``day_gate`` takes the day's finalists (every alpha whose search checklist has no FAIL: ``verdict = 'winner'``)
and, IS only:

1. computes their ``DEFLATED_SHARPE`` (SIMULATION.md §11) with the trial statistics of what the miner actually
   simulated up to that day (``trial_statistics``);
2. ranks them by the stated rule: deflated sharpe, then IS fitness, then hash (descending, descending, ascending);
3. walks the ranking greedily: a finalist is skipped when a check FAILs (the reason names it), when an alpha
   already chosen today or submitted earlier makes it fail ``SELF_CORRELATION`` (PnL correlation >= 0.7 over
   the last 1,008 common IS days, unless its sharpe is at least 1.1 x theirs: BRAIN's exception), when the
   daily cap is used (4, BRAIN's ``REGULAR_SUBMISSION``), or when ``NO_LOOKAHEAD`` (proved here, per finalist
   that would be chosen) fails; the others are chosen.

Every finalist gets its full checklist (``gate_checks``) and an order row (``submission_order``: rank, decision,
reason). OS metrics are copied beside for the reader; no decision reads them.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from alpha_core.gate.checklist import GateLimits, deflated_check, replace_check
from alpha_core.gate.checks import FAIL, PASS, SELF_CORR_SHARPE_RATIO, Check, finite_or_none
from alpha_core.gate.correlation import pnl_matrix, series_correlations
from alpha_core.gate.deflated import deflated_sharpe_of, effective_trials, mean_pairwise_correlation

DAILY_CAP = 4               # BRAIN's REGULAR_SUBMISSION limit (SIMULATION.md §7)
CORR_LIMIT = 0.7
RHO_SAMPLE = 300            # stored daily PnLs sampled (by hash order) for the trials' mean correlation


@dataclass(frozen=True)
class TrialStats:
    """What competed for the day's slots: ``n_trials`` distinct alphas simulated on mining dates up to the day
    (every variant, settings moves included), ``variance`` of their daily IS sharpes, ``mean_corr`` their mean
    pairwise daily-PnL correlation (sampled), ``n_effective`` = ``N (1 - rho) + rho`` (§11)."""

    n_trials: int
    variance: float
    mean_corr: float | None
    n_effective: float


@dataclass
class Finalist:
    """One of the day's winners: keys, its ``simulations`` row (IS/OS metrics), IS ``pnl`` (D,) USD and
    ``dates`` (D,) datetime64[D], and its checklist from the search (``Check`` rows)."""

    alpha_hash: str
    field: str
    expression: str
    settings_json: str
    row: dict
    pnl: np.ndarray
    dates: np.ndarray
    checks: list[Check] = field(default_factory=list)


@dataclass
class GateOutcome:
    """``gate_rows`` (table gate_checks), ``order_rows`` (table submission_order), ``chosen`` finalists in order
    (their ``checks`` the gate's full checklist)."""

    gate_rows: list[dict]
    order_rows: list[dict]
    chosen: list[Finalist]


def trial_statistics(con, mining_date: str) -> TrialStats:
    """``TrialStats`` of every ``simulations`` row on mining dates up to ``mining_date`` (an open DuckDB
    connection; the experience memory and the red sea carry earlier days into today's choice, so their trials
    competed too). Sharpes are read per day (IS sharpe / sqrt(252)); the mean correlation uses up to 300
    stored IS PnLs, sampled by hash order."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not reads.table_exists(con, "simulations"):
        return TrialStats(0, 0.0, None, 0.0)
    n, var = con.execute(
        "SELECT count(DISTINCT alpha_hash), var_pop(is_sharpe / sqrt(252)) FILTER (WHERE status = 'ok') "
        "FROM simulations WHERE mining_date <= CAST(? AS DATE)", [mining_date]).fetchone()
    rows = con.execute(
        "SELECT is_start, is_end, pnl_dates, daily_pnl FROM (SELECT DISTINCT ON (alpha_hash) alpha_hash, is_start, "
        "is_end, pnl_dates, daily_pnl FROM simulations WHERE mining_date <= CAST(? AS DATE) AND daily_pnl IS NOT NULL "
        "ORDER BY alpha_hash, mining_date) ORDER BY alpha_hash LIMIT ?", [mining_date, RHO_SAMPLE]).fetchall()
    series = [is_pnl({"is_start": a, "is_end": b, "pnl_dates": d, "daily_pnl": p}) for a, b, d, p in rows]
    rho = mean_pairwise_correlation(pnl_matrix(series)[0]) if len(series) >= 2 else None
    n = int(n or 0)
    return TrialStats(n, float(var or 0.0), rho, effective_trials(n, rho))


def day_finalists(con, mining_date: str) -> list[Finalist]:
    """The day's winners (a ``checklists`` verdict of ``winner``, every field) with their simulation row, IS
    daily PnL and search checklist, read from an open DuckDB connection; ordered by hash, one per hash."""
    from alpha_core.gate.checklist import CHECK_ORDER
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads
    from alpha_core.store.schema import columns

    if not all(reads.table_exists(con, t) for t in ("checklists", "simulations", "candidates")):
        return []
    sim_cols = ", ".join(f's."{c}"' for c in columns("simulations") if c not in ("run_id", "result_json"))
    cur = con.execute(
        f"SELECT c.expression AS expression, c.settings_json AS settings_json, {sim_cols} FROM simulations s "
        "JOIN candidates c USING (mining_date, field, alpha_hash) WHERE s.mining_date = CAST(? AS DATE) AND "
        "s.daily_pnl IS NOT NULL AND (s.field, s.alpha_hash) IN (SELECT field, alpha_hash FROM checklists WHERE "
        "mining_date = CAST(? AS DATE) AND verdict = 'winner') ORDER BY s.alpha_hash, s.field",
        [mining_date, mining_date])
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, r)) for r in cur.fetchall()]
    checks: dict[tuple, list[Check]] = {}
    for fld, h, name, result, value, limit, message in con.execute(
            "SELECT field, alpha_hash, check_name, result, value, limit_value, message FROM checklists WHERE "
            "mining_date = CAST(? AS DATE) AND verdict = 'winner'", [mining_date]).fetchall():
        checks.setdefault((fld, h), []).append(Check(name, result, value, limit, message or ""))
    rank = {n: i for i, n in enumerate(CHECK_ORDER)}
    out, seen = [], set()
    for r in rows:
        if r["alpha_hash"] in seen:
            continue
        seen.add(r["alpha_hash"])
        pnl, dates = is_pnl(r)
        cs = sorted(checks.get((r["field"], r["alpha_hash"]), []), key=lambda c: (rank.get(c.name, 99), c.name))
        out.append(Finalist(r["alpha_hash"], r["field"], r["expression"], r["settings_json"], r, pnl, dates, cs))
    return out


def _reason_failed(checks: Sequence[Check]) -> str | None:
    failed = [c for c in checks if c.result == FAIL]
    if not failed:
        return None
    c = failed[0]
    value = "-" if c.value is None else f"{c.value:.3g}"
    limit = "" if c.limit is None else f" (limit {c.limit:.3g})"
    more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
    return f"fails {c.name} {value}{limit}{more}" + (f": {c.message}" if c.message else "")


def day_gate(mining_date: str, finalists: Sequence[Finalist], accepted: Sequence[tuple], stats: TrialStats,
             limits: GateLimits | None = None, cap: int = DAILY_CAP, already_submitted: frozenset = frozenset(),
             lookahead: Callable[[Finalist], Check] | None = None) -> GateOutcome:
    """The day's gate (module doc). ``accepted``: (IS pnl, dates, IS sharpe, alpha hash) of alphas submitted
    before the day; ``already_submitted``: hashes submitted before (never again); ``lookahead``: proves
    ``NO_LOOKAHEAD`` for a finalist about to be chosen (``gate.lookahead.lookahead_check``; None -> PENDING).
    Returns a ``GateOutcome`` (rows without ``run_id``)."""
    limits = limits or GateLimits()
    items = []
    for f in finalists:
        d = deflated_sharpe_of(f.pnl, stats.n_effective, stats.variance) if f.pnl.size else None
        checks = replace_check(list(f.checks), deflated_check(d, limits.dsr_min))
        items.append((f, d.dsr if d is not None else float("-inf"), checks))
    items.sort(key=lambda x: (-x[1], -(x[0].row.get("is_fitness") or -1e9), x[0].alpha_hash))

    series = [(f.pnl, f.dates) for f, _, _ in items] + [(p, d) for p, d, *_ in accepted]
    n_items = len(items)
    corr = series_correlations(series[:n_items], series) if n_items else np.zeros((0, len(series)))
    other_sharpe = np.asarray([float(f.row.get("is_sharpe") or 0.0) for f, _, _ in items]
                              + [float(a[2] or 0.0) for a in accepted], dtype=np.float64)
    other_hash = [f.alpha_hash for f, _, _ in items] + [str(a[3]) if len(a) > 3 else "accepted" for a in accepted]
    acc_cols = np.arange(n_items, len(series))

    def who(j: int) -> str:
        return f"{other_hash[j][:12]} ({'chosen earlier today' if j < n_items else 'submitted before'})"

    chosen_idx: list[int] = []
    gate_rows, order_rows, chosen = [], [], []
    for rank, (f, dsr, checks) in enumerate(items, start=1):
        sharpe = f.row.get("is_sharpe")
        cols = np.concatenate([np.asarray(chosen_idx, dtype=np.int64), acc_cols])   # chosen today, then submitted
        row = corr[rank - 1, cols] if cols.size else np.zeros(0)
        ok = np.isfinite(row)
        exempt = other_sharpe[cols] * SELF_CORR_SHARPE_RATIO <= sharpe if sharpe is not None else np.zeros(
            cols.size, dtype=bool)
        block = np.flatnonzero(ok & (row >= CORR_LIMIT) & ~exempt)
        worst = int(np.flatnonzero(ok)[np.argmax(row[ok])]) if ok.any() else None
        value = float(row[worst]) if worst is not None else None
        if block.size:
            b = int(block[np.argmax(row[block])])
            sc = Check("SELF_CORRELATION", FAIL, value, CORR_LIMIT, f"{row[b]:.2f} with {who(int(cols[b]))}")
        else:
            sc = Check("SELF_CORRELATION", PASS, value, CORR_LIMIT, "nothing to compare with" if worst is None
                       else f"max {value:.2f} with {who(int(cols[worst]))}")
        checks = replace_check(checks, sc)
        reason = None
        if f.alpha_hash in already_submitted:
            reason = "already submitted on an earlier day"
        else:
            reason = _reason_failed(checks)
            if reason is None and len(chosen) >= cap:
                reason = f"passes every check, but the daily cap of {cap} submissions is used"
            if reason is None and lookahead is not None:
                la = lookahead(f)
                checks = replace_check(checks, la)
                if la.result == FAIL:
                    reason = _reason_failed([la])
        decision = "skip" if reason else "submit"
        if decision == "submit":
            chosen_idx.append(rank - 1)
            chosen.append(dataclasses.replace(f, checks=checks))     # with the gate's checks
            reason = f"rank {rank}: deflated sharpe {dsr:.3f}" if math.isfinite(dsr) else f"rank {rank}"
        for c in checks:
            gate_rows.append({"mining_date": mining_date, "alpha_hash": f.alpha_hash, "check_name": c.name,
                              "result": c.result, "value": finite_or_none(c.value),
                              "limit_value": finite_or_none(c.limit),
                              "message": c.message or None})
        order_rows.append({"mining_date": mining_date, "rank": rank, "alpha_hash": f.alpha_hash, "field": f.field,
                           "expression": f.expression, "settings_json": f.settings_json,
                           "deflated_sharpe": dsr if math.isfinite(dsr) else None, "is_sharpe": sharpe,
                           "is_fitness": f.row.get("is_fitness"), "os_sharpe": f.row.get("os_sharpe"),
                           "n_trials": stats.n_trials, "decision": decision, "reason": reason})
    return GateOutcome(gate_rows, order_rows, chosen)


def gate_day(con, mining_date: str, panel, limits: GateLimits | None = None, cap: int = DAILY_CAP,
             require_brain: bool = False) -> GateOutcome:
    """``day_gate`` of ``mining_date`` with its inputs read from an open DuckDB connection (``day_finalists``,
    the alphas submitted before the day, ``trial_statistics``) and ``NO_LOOKAHEAD`` proved on ``panel``
    (``gate.lookahead.lookahead_check``) for each finalist that would be chosen. A finalist simulated on BRAIN
    (``brain_ledger``) carries BRAIN's check rows in place of ours (``brain.day.with_brain_checks``), so a BRAIN
    FAIL blocks it; ``require_brain`` (live submissions) adds a ``BRAIN_SIMULATED`` row that FAILs for a
    finalist BRAIN has not simulated."""
    import json

    from alpha_core.brain.day import brain_alphas, brain_checks, with_brain_checks
    from alpha_core.gate.lookahead import lookahead_check
    from alpha_core.gen.dayplan import accepted_library
    from alpha_core.store import reads

    submitted = frozenset(reads.submitted_hashes(con, before_date=mining_date))
    finalists = day_finalists(con, mining_date)
    on_brain = brain_alphas(con, [f.alpha_hash for f in finalists])
    for f in finalists:
        if f.alpha_hash in on_brain:
            f.checks = with_brain_checks(f.checks, brain_checks(on_brain[f.alpha_hash]))
            if require_brain:
                f.checks.append(Check("BRAIN_SIMULATED", PASS, None, None, "simulated on BRAIN"))
        elif require_brain:
            f.checks.append(Check("BRAIN_SIMULATED", FAIL, None, None,
                                  "not simulated on BRAIN: live submissions need a BRAIN alpha "
                                  "(ALPHA_BRAIN_ENABLED=true)"))
    return day_gate(mining_date, finalists, accepted_library(con, mining_date),
                    trial_statistics(con, mining_date), limits, cap, submitted,
                    lambda f: lookahead_check(f.expression, panel, json.loads(f.settings_json)))
