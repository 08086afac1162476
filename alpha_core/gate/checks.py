"""Pre-submission checks on IS metrics (SIMULATION.md §6, §7) and fitness labels (§8).

Check names and results (PASS, FAIL, WARNING, PENDING) are BRAIN's ``is.checks[]`` spelling. Limits are
the documented defaults for the delay; ``limits`` (e.g. the latest live limits per region/delay/universe)
replace them ("live limits win").
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from alpha_core.gate.correlation import series_correlations
from alpha_core.sim.settings import SUB_UNIVERSE, UNIVERSE_SIZES

PASS, FAIL, WARNING, PENDING = "PASS", "FAIL", "WARNING", "PENDING"

DEFAULT_LIMITS = {
    1: {"LOW_SHARPE": 1.25, "LOW_FITNESS": 1.0, "LOW_TURNOVER": 0.01, "HIGH_TURNOVER": 0.70,
        "CONCENTRATED_WEIGHT": 0.10, "SELF_CORRELATION": 0.7},
    0: {"LOW_SHARPE": 2.0, "LOW_FITNESS": 1.3, "LOW_TURNOVER": 0.01, "HIGH_TURNOVER": 0.70,
        "CONCENTRATED_WEIGHT": 0.10, "SELF_CORRELATION": 0.7},
}
SUB_UNIVERSE_FACTOR = 0.75
SELF_CORR_SHARPE_RATIO = 1.1

FITNESS_LABELS = {  # (label, threshold: fitness > threshold)
    1: (("Spectacular", 2.5), ("Excellent", 2.0), ("Good", 1.5), ("Average", 1.0)),
    0: (("Spectacular", 3.25), ("Excellent", 2.6), ("Good", 1.95), ("Average", 1.3)),
}


@dataclass(frozen=True)
class Check:
    """One check: ``name``, ``result`` (PASS/FAIL/WARNING/PENDING), ``value`` and ``limit`` (None if n/a), and a
    one-line ``message`` a researcher can act on ("" when the name says it all)."""

    name: str
    result: str
    value: float | None
    limit: float | None
    message: str = ""

    def to_dict(self) -> dict:
        """``{"name", "result", "value", "limit"}`` as BRAIN returns it, plus ``message`` when there is one (BRAIN's
        message variant, BRAIN_API.md §7). Plain fields: no deep copy."""
        out = {"name": self.name, "result": self.result, "value": self.value, "limit": self.limit}
        if self.message:
            out["message"] = self.message
        return out


@dataclass(frozen=True)
class SelfCorrelation:
    """Self-correlation of a candidate with the accepted alphas (§6).

    ``value``: max Pearson correlation over the compared pairs (None when no pair was compared);
    ``pairs``: (P, 2) float64 rows (correlation, accepted sharpe), one per compared pair (a sequence of such
    pairs is accepted too); ``skipped``: pairs with < 30 common days
    or zero variance.
    """

    value: float | None
    pairs: np.ndarray | Sequence[tuple[float, float]]
    skipped: int


def finite_or_none(x) -> float | None:
    """``x`` as a float, or None when it is None, NaN or infinite."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def self_correlation(pnl: np.ndarray, dates: np.ndarray,
                     accepted: Iterable[tuple[np.ndarray, np.ndarray, float]]) -> SelfCorrelation:
    """Max Pearson correlation of daily PnL with each accepted alpha's daily PnL (SIMULATION.md §6).

    ``pnl``: (D,) USD on ``dates`` (D,) datetime64[D], the candidate's IS days; ``accepted``: (pnl, dates,
    sharpe, ...) per BRAIN-accepted alpha (its stored local IS PnL). Each pair uses its common days where both
    values are finite (pairwise-complete), at most the last 1,008 of them; fewer than 30 (or a series
    constant over them) -> pair skipped. Computed with ``gate.correlation`` (one masked matrix product for
    all accepted alphas). Raises ``ValueError`` naming the series if a pnl and its dates differ in length
    or its dates repeat a day.
    """
    return self_correlations([(pnl, dates)], accepted)[0]


def self_correlations(cands: Sequence[tuple[np.ndarray, np.ndarray]],
                      accepted: Iterable[tuple]) -> list[SelfCorrelation]:
    """``self_correlation`` of many candidates at once (issue 13, "self-correlation in bulk"): one
    ``correlation.series_correlations`` matrix of every candidate against every accepted alpha (1,000 x 5,000 in
    seconds). ``cands``: (pnl (D,) USD, dates (D,) datetime64[D]) each; ``accepted``: (pnl, dates, sharpe, ...).
    Returns one ``SelfCorrelation`` per candidate, in order. Raises ``ValueError`` naming a bad series."""
    cands, accepted = list(cands), list(accepted)
    labels = [f"self_correlation: candidate {k}" for k in range(len(cands))] + \
             [f"self_correlation: accepted alpha {k}" for k in range(len(accepted))]
    corr = series_correlations(cands, [(a[0], a[1]) for a in accepted], labels)
    sharpe = np.asarray([float(a[2]) for a in accepted], dtype=np.float64)
    out = []
    for row in corr:
        idx = np.flatnonzero(np.isfinite(row))
        pairs = np.column_stack([row[idx], sharpe[idx]])
        out.append(SelfCorrelation(float(row[idx].max()) if idx.size else None, pairs, len(accepted) - idx.size))
    return out


def _limits(delay: int, overrides: Mapping[str, float] | None) -> dict[str, float]:
    base = dict(DEFAULT_LIMITS[0 if delay == 0 else 1])
    for name, lim in (overrides or {}).items():
        if name in base and finite_or_none(lim) is not None:
            base[name] = float(lim)
    return base


def sub_universe_limit(sharpe: float | None, universe: str) -> float | None:
    """``0.75 * sqrt(sub_size / size) * sharpe`` for the next smaller universe; None if none or no sharpe."""
    sub = SUB_UNIVERSE.get(universe)
    if sub is None or finite_or_none(sharpe) is None:
        return None
    return SUB_UNIVERSE_FACTOR * math.sqrt(UNIVERSE_SIZES[sub] / UNIVERSE_SIZES[universe]) * float(sharpe)


def submission_checks(is_metrics: Mapping, settings, sub_universe_sharpe: float | None,
                      self_corr: SelfCorrelation | None = None,
                      limits: Mapping[str, float] | None = None) -> list[Check]:
    """The locally computable checks of SIMULATION.md §7 on IS metrics.

    ``is_metrics``: the ``is`` block (``sharpe, fitness, turnover, maxWeight``; None = undefined, fails);
    ``settings``: a ``SimSettings`` (delay picks the thresholds; ``local_universe`` the sub-universe);
    ``sub_universe_sharpe``: §6 value (None with a sub-universe = undefined, fails); ``self_corr``: from
    ``self_correlation`` (None = not computed -> PENDING); ``limits``: name -> limit overrides.
    Returns one ``Check`` per name, in the §7 order.
    """
    lim = _limits(int(settings.delay), limits)
    sharpe = finite_or_none(is_metrics.get("sharpe"))
    fitness = finite_or_none(is_metrics.get("fitness"))
    turnover = finite_or_none(is_metrics.get("turnover"))
    max_weight = finite_or_none(is_metrics.get("maxWeight"))

    def at_least(name, value, limit):
        return Check(name, PASS if value is not None and value >= limit else FAIL, value, limit)

    def at_most(name, value, limit):
        return Check(name, PASS if value is not None and value <= limit else FAIL, value, limit)

    checks = [at_least("LOW_SHARPE", sharpe, lim["LOW_SHARPE"]),
              at_least("LOW_FITNESS", fitness, lim["LOW_FITNESS"]),
              at_least("LOW_TURNOVER", turnover, lim["LOW_TURNOVER"]),
              at_most("HIGH_TURNOVER", turnover, lim["HIGH_TURNOVER"]),
              at_most("CONCENTRATED_WEIGHT", max_weight, lim["CONCENTRATED_WEIGHT"])]

    universe = getattr(settings, "local_universe", settings.universe)
    sub_value = finite_or_none(sub_universe_sharpe)
    if SUB_UNIVERSE.get(universe) is None:
        checks.append(Check("LOW_SUB_UNIVERSE_SHARPE", PENDING, sub_value, None))
    else:
        sub_limit = sub_universe_limit(sharpe, universe)
        ok = sub_value is not None and sub_limit is not None and sub_value >= sub_limit
        checks.append(Check("LOW_SUB_UNIVERSE_SHARPE", PASS if ok else FAIL, sub_value, sub_limit))

    corr_limit = lim["SELF_CORRELATION"]
    if self_corr is None:
        checks.append(Check("SELF_CORRELATION", PENDING, None, corr_limit))
    elif self_corr.value is None or self_corr.value < corr_limit:
        checks.append(Check("SELF_CORRELATION", PASS, self_corr.value, corr_limit))
    else:
        beats = sharpe is not None and all(sharpe >= SELF_CORR_SHARPE_RATIO * s
                                           for c, s in self_corr.pairs if c >= corr_limit)
        checks.append(Check("SELF_CORRELATION", PASS if beats else FAIL, self_corr.value, corr_limit))
    return checks


def fitness_label(fitness: float | None, delay: int = 1) -> str | None:
    """BRAIN's fitness label (§8): Spectacular / Excellent / Good / Average / Needs Improvement; None if
    fitness is undefined."""
    f = finite_or_none(fitness)
    if f is None:
        return None
    for label, threshold in FITNESS_LABELS[0 if int(delay) == 0 else 1]:
        if f > threshold:
            return label
    return "Needs Improvement"


def all_passed(checks: Sequence[Check]) -> bool:
    """True when no check FAILed (PENDING and WARNING do not block)."""
    return all(c.result != FAIL for c in checks)
