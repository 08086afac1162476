"""The pre-submission checklist of one alpha (issue 13): BRAIN's checks plus our own, one ``Check`` row each.

BRAIN's (SIMULATION.md §7, limits by delay, live limits win): ``LOW_SHARPE``, ``LOW_FITNESS``, ``LOW_TURNOVER``,
``HIGH_TURNOVER``, ``CONCENTRATED_WEIGHT``, ``LOW_SUB_UNIVERSE_SHARPE``, ``SELF_CORRELATION``
(``checks.submission_checks``), ``LOW_2Y_SHARPE`` and ``IS_LADDER_SHARPE``. Ours: ``DEFLATED_SHARPE``
(§11), ``IS_STABILITY``, ``COVERAGE``, ``COMPLEXITY``, ``CROWDING``, ``FACTOR_EXPOSURE`` and
``FACTOR_NEUTRAL_SHARPE`` (``gate.factors``), ``NOVELTY``, ``LINT_CLEAN``, ``NO_LOOKAHEAD``. A check whose input
is not computed at this stage is PENDING (it does not block): the search leaves ``DEFLATED_SHARPE`` and
``NO_LOOKAHEAD`` PENDING, the day's gate (``gate.order``) computes them for the finalists; the search computes
``FACTOR_NEUTRAL_SHARPE`` (a simulation) only for an alpha that passes every other check. Every value reads IS
only: the OS holdout never enters a check (SIMULATION.md §4).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
from pydantic import BaseModel, Field

from alpha_core.gate.checks import (DEFAULT_LIMITS, FAIL, PASS, PENDING, WARNING, Check, SelfCorrelation,
                                    submission_checks)
from alpha_core.gate.deflated import DSR_LIMIT, Deflated

DAYS_PER_YEAR = 252
MIN_YEAR_DAYS = 126        # a calendar year of IS counts for IS_STABILITY with at least half a year of days

CHECK_ORDER = ("LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER", "CONCENTRATED_WEIGHT",
               "LOW_SUB_UNIVERSE_SHARPE", "SELF_CORRELATION", "LOW_2Y_SHARPE", "IS_LADDER_SHARPE",
               "DEFLATED_SHARPE", "IS_STABILITY", "COVERAGE", "COMPLEXITY", "CROWDING", "FACTOR_EXPOSURE",
               "FACTOR_NEUTRAL_SHARPE", "NOVELTY", "LINT_CLEAN", "NO_LOOKAHEAD")
BRAIN_CHECKS = CHECK_ORDER[:9]
#: checks that read the last years of IS (or, FACTOR_NEUTRAL_SHARPE, a sharpe over all of IS): the search's score
#: must not see them (its walk-forward validation part, gate.stability), so they decide the verdict but never
#: steer the search.
LATE_WINDOW_CHECKS = ("LOW_2Y_SHARPE", "IS_LADDER_SHARPE", "IS_STABILITY", "FACTOR_NEUTRAL_SHARPE")


class GateLimits(BaseModel):
    """Limits of our own checks (``ALPHA_GATE_*`` settings; BRAIN's come from ``checks.DEFAULT_LIMITS`` or
    live limits)."""

    dsr_min: float = Field(DSR_LIMIT, ge=0, le=1, description="DEFLATED_SHARPE: probability the sharpe is real")
    stability_min: float = Field(0.75, ge=0, le=1,
                                 description="IS_STABILITY: fraction of IS calendar years with a positive sharpe")
    coverage_min: float = Field(50, ge=0, description="COVERAGE: fewest instruments holding weight on any IS day")
    complexity_max: int = Field(30, ge=1, description="COMPLEXITY: most AST nodes (operators, fields, constants)")
    crowding_max: float = Field(0.7, gt=0, le=1, description="CROWDING: daily-PnL correlation with a public alpha")
    novelty_max: float = Field(0.9, gt=0, le=1,
                               description="NOVELTY: share of the AST inside a sub-tree of a library alpha")
    factor_max: float = Field(0.7, gt=0, le=1,
                              description="FACTOR_EXPOSURE: multiple correlation of the daily PnL with the style "
                                          "factors' (gate.factors)")


def _sharpe(p: np.ndarray) -> float | None:
    p = p[np.isfinite(p)]
    if p.size < 20:
        return None
    sd = float(p.std())
    return None if sd == 0 or not math.isfinite(sd) else float(p.mean() / sd * math.sqrt(DAYS_PER_YEAR))


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def two_year_check(pnl: np.ndarray, dates: np.ndarray, limit: float) -> Check:
    """``LOW_2Y_SHARPE``: sharpe of the last 504 IS days of ``pnl`` (D,) USD >= ``limit`` (PENDING with fewer
    days or no PnL)."""
    if pnl.size < 2 * DAYS_PER_YEAR:
        return Check("LOW_2Y_SHARPE", PENDING, None, limit, "fewer than 2 years of IS daily PnL")
    s = _sharpe(pnl[-2 * DAYS_PER_YEAR:])
    ok = s is not None and s >= limit
    return Check("LOW_2Y_SHARPE", PASS if ok else FAIL, s, limit,
                 "" if ok else f"the last 2 IS years ({dates[-2 * DAYS_PER_YEAR]} on) earn less: recent decay")


def ladder_check(pnl: np.ndarray, dates: np.ndarray, limit: float) -> Check:
    """``IS_LADDER_SHARPE``: every trailing rung of 3, 4, ... whole IS years (252 days each, ending at the IS end)
    has sharpe >= ``limit``; value = the worst rung's sharpe, its years in the message. PENDING when IS holds
    fewer than 3 years (the 2-year rung is ``LOW_2Y_SHARPE``)."""
    rungs = range(3, pnl.size // DAYS_PER_YEAR + 1)
    worst = None
    for k in rungs:
        s = _sharpe(pnl[-k * DAYS_PER_YEAR:])
        if s is None:
            return Check("IS_LADDER_SHARPE", FAIL, None, limit, f"the last {k} IS years have no defined sharpe")
        if worst is None or s < worst[0]:
            worst = (s, k)
    if worst is None:
        return Check("IS_LADDER_SHARPE", PENDING, None, limit, "fewer than 3 years of IS daily PnL")
    s, k = worst
    ok = s >= limit
    return Check("IS_LADDER_SHARPE", PASS if ok else FAIL, s, limit,
                 f"worst rung: the last {k} IS years from {dates[-k * DAYS_PER_YEAR]}"
                 + ("" if ok else " fall below the limit"))


def stability_check(pnl: np.ndarray, dates: np.ndarray, limit: float) -> Check:
    """``IS_STABILITY``: fraction of IS calendar years (>= 126 days) whose daily PnL has a positive sharpe,
    >= ``limit``; the losing years in the message. PENDING without such a year."""
    if not pnl.size:
        return Check("IS_STABILITY", PENDING, None, limit, "no IS daily PnL stored")
    years = dates.astype("datetime64[Y]").astype(int) + 1970
    good, bad = [], []
    for y in np.unique(years):
        p = pnl[years == y]
        if np.isfinite(p).sum() < MIN_YEAR_DAYS:
            continue
        s = _sharpe(p)
        (good if s is not None and s > 0 else bad).append(int(y))
    if not good and not bad:
        return Check("IS_STABILITY", PENDING, None, limit, "no IS calendar year with 126 days")
    frac = len(good) / (len(good) + len(bad))
    ok = frac >= limit
    return Check("IS_STABILITY", PASS if ok else FAIL, frac, limit,
                 "" if not bad else f"losing IS years: {', '.join(map(str, bad))}")


def program_shape(program) -> dict:
    """``{"nodes", "operators", "fields", "constants", "depth"}`` of a canonical ``Program``: AST nodes, calls and
    unary/binary/ternary operators, distinct fields, numeric constants, depth."""
    from alpha_core.expr import ast
    from alpha_core.gen import gp

    root = program.result
    nodes = list(ast.walk(root))
    return {"nodes": gp.size(root), "depth": gp.depth(root), "fields": len(gp.fields_of(root)),
            "operators": sum(isinstance(n, (ast.Call, ast.Unary, ast.Binary, ast.Ternary)) for n in nodes),
            "constants": sum(isinstance(n, ast.Number) for n in nodes)}


def complexity_check(program, limit: int) -> Check:
    """``COMPLEXITY``: AST nodes of ``program`` <= ``limit`` (PENDING without a program)."""
    if program is None:
        return Check("COMPLEXITY", PENDING, None, float(limit), "no parsed expression")
    s = program_shape(program)
    msg = (f"{s['operators']} operators, {s['fields']} fields, {s['constants']} constants, depth {s['depth']}"
           + ("" if s["nodes"] <= limit else ": simplify (fewer free constants and nested operators)"))
    return Check("COMPLEXITY", PASS if s["nodes"] <= limit else FAIL, float(s["nodes"]), float(limit), msg)


def coverage_check(min_count: float | None, limit: float) -> Check:
    """``COVERAGE``: fewest instruments holding weight on any IS metric day >= ``limit`` (PENDING if unknown)."""
    if min_count is None or not math.isfinite(min_count):
        return Check("COVERAGE", PENDING, None, limit, "daily coverage not stored for this simulation")
    ok = min_count >= limit
    return Check("COVERAGE", PASS if ok else FAIL, float(min_count), limit,
                 "" if ok else "too few instruments hold weight on some IS days: add ts_backfill or a denser field")


def deflated_check(d: Deflated | None, limit: float) -> Check:
    """``DEFLATED_SHARPE`` from a ``gate.deflated.Deflated`` (PENDING when None: not computed at this stage)."""
    if d is None:
        return Check("DEFLATED_SHARPE", PENDING, None, limit, "computed by the day's gate for every winner")
    ok = d.dsr >= limit
    ann = math.sqrt(DAYS_PER_YEAR)
    return Check("DEFLATED_SHARPE", PASS if ok else FAIL, d.dsr, limit,
                 f"sharpe {d.sr * ann:.2f} vs {d.sr0 * ann:.2f} expected from the best of "
                 f"{d.n_trials:,.0f} effective trials by luck")


def lint_check(n_warnings: int | None) -> Check:
    """``LINT_CLEAN``: PASS without lint warnings, WARNING with some (errors never reach a simulation)."""
    if n_warnings is None:
        return Check("LINT_CLEAN", PENDING, None, 0.0)
    return Check("LINT_CLEAN", PASS if n_warnings == 0 else WARNING, float(n_warnings), 0.0,
                 "" if n_warnings == 0 else f"{n_warnings} lint warning(s): see lint_results")


def alpha_checklist(row: Mapping, settings, *, pnl: np.ndarray, dates: np.ndarray, program=None,
                    lint_warnings: int | None = 0, self_corr: SelfCorrelation | None = None,
                    limits: GateLimits | None = None, brain_limits: Mapping[str, float] | None = None,
                    novelty: Check | None = None, crowding: Check | None = None,
                    deflated: Deflated | None = None, lookahead: Check | None = None,
                    factor: Check | None = None, factor_neutral: Check | None = None) -> list[Check]:
    """Every check of one simulated alpha, in ``CHECK_ORDER``.

    ``row``: a ``simulations`` row (``is_sharpe, is_fitness, is_turnover, is_max_weight,
    is_sub_universe_sharpe, is_min_coverage``); ``settings``: its ``SimSettings``; ``pnl`` (D,) USD and ``dates``
    (D,) datetime64[D]: its IS daily PnL (``gen.pipeline.is_pnl``; empty -> the PnL checks are PENDING);
    ``program``: the canonical ``Program``; ``self_corr``: ``checks.self_correlation`` (None -> PENDING);
    ``brain_limits``: live limits by check name (they win); ``novelty``, ``crowding``, ``lookahead``: the
    ``Check`` of ``gate.novelty`` / ``gate.public`` / ``gate.lookahead`` (None -> PENDING); ``factor``, ``factor_neutral``: the
    ``Check`` of ``gate.factors.factor_exposure`` / ``factor_neutral`` (None -> PENDING); ``deflated``:
    ``gate.deflated.deflated_sharpe_of`` (None -> PENDING). Returns 19 ``Check`` rows.
    """
    limits = limits or GateLimits()
    metrics = {"sharpe": row.get("is_sharpe"), "fitness": row.get("is_fitness"),
               "turnover": row.get("is_turnover"), "maxWeight": row.get("is_max_weight")}
    checks = submission_checks(metrics, settings, row.get("is_sub_universe_sharpe"), self_corr, brain_limits)
    base = DEFAULT_LIMITS[0 if int(settings.delay) == 0 else 1]["LOW_SHARPE"]
    live = brain_limits or {}
    pnl = np.asarray(pnl, dtype=np.float64)
    dates = np.asarray(dates, dtype="datetime64[D]")
    checks.append(two_year_check(pnl, dates, float(live.get("LOW_2Y_SHARPE") or base)))
    checks.append(ladder_check(pnl, dates, float(live.get("IS_LADDER_SHARPE") or base)))
    checks.append(deflated_check(deflated, limits.dsr_min))
    checks.append(stability_check(pnl, dates, limits.stability_min))
    checks.append(coverage_check(row.get("is_min_coverage"), limits.coverage_min))
    checks.append(complexity_check(program, limits.complexity_max))
    checks.append(crowding or Check("CROWDING", PENDING, None, limits.crowding_max, "no public library loaded"))
    checks.append(factor or Check("FACTOR_EXPOSURE", PENDING, None, limits.factor_max,
                                  "no style factor library loaded"))
    checks.append(factor_neutral or Check("FACTOR_NEUTRAL_SHARPE", PENDING, None,
                                          float(live.get("LOW_SHARPE") or base),
                                          "computed for an alpha that passes every other check"))
    checks.append(novelty or Check("NOVELTY", PENDING, None, limits.novelty_max, "no library to compare with"))
    checks.append(lint_check(lint_warnings))
    checks.append(lookahead or Check("NO_LOOKAHEAD", PENDING, None, 0.0,
                                     "proved by the day's gate for each alpha it would submit"))
    return checks


def replace_check(checks: list[Check], new: Check) -> list[Check]:
    """``checks`` with the row named ``new.name`` replaced by ``new`` (order kept)."""
    return [new if c.name == new.name else c for c in checks]
