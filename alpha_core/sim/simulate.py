"""Expression text to BRAIN-style simulation result (SIMULATION.md §3, §9).

``simulate`` = lint -> canonical program -> evaluate on the panel (with the pasteurization mask of the
settings' universe) -> ``backtest`` (delay, decay, neutralization, truncation, PnL, IS/OS metrics, checks).
``simulate_many`` runs a batch on one loaded panel and never raises for one bad expression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import polars as pl

from alpha_core.data.panel import Panel
from alpha_core.data.registry import FieldRegistry, default_registry
from alpha_core.expr import LintResult, alpha_hash, lint
from alpha_core.sim.backtest import backtest
from alpha_core.sim.evaluate import EvaluationError, UnsupportedLocal, evaluate, evaluate_signed
from alpha_core.sim.result import SimResult
from alpha_core.sim.settings import SimSettings
from alpha_core.sim.settings import UnsupportedLocal as UnsupportedSettings
from alpha_core.sim.universe import panel_universe

__all__ = ["ExpressionError", "UnsupportedLocal", "Outcome", "simulate", "simulate_many", "evaluate_expression",
           "raw_alpha", "registry_for"]


class ExpressionError(ValueError):
    """The expression does not lint clean; ``lint`` holds the diagnostics (FASTEXPR.md §8)."""

    def __init__(self, result: LintResult):
        self.lint = result
        first = next((d for d in result.diagnostics if d.severity == "error"), None)
        where = f" at {first.start}-{first.end}" if first else ""
        super().__init__(f"{first.code if first else 'E_SYNTAX'}{where}: {first.message if first else 'invalid'}")


_REGISTRIES: dict[tuple[str, ...], FieldRegistry] = {}


def registry_for(panel: Panel) -> FieldRegistry:
    """The embedded field registry with ``local`` set to exactly what ``panel`` provides."""
    key = tuple(sorted(panel.field_names()))
    if key not in _REGISTRIES:
        _REGISTRIES[key] = default_registry().with_local(key)
    return _REGISTRIES[key]


def _settings(settings: SimSettings | dict | None) -> SimSettings:
    if settings is None:
        return SimSettings()
    if isinstance(settings, SimSettings):
        return settings
    return SimSettings(**settings)


def raw_alpha(expression: str | LintResult, panel: Panel, settings: SimSettings | dict | None = None,
              registry: FieldRegistry | None = None) -> tuple[LintResult, np.ndarray]:
    """Lint and evaluate: returns the lint result and the (T, N) float64 raw alpha (row s = data up to date s).

    Cross-sectional and group inputs evaluated at date s are masked with the universe that row trades in,
    ``U_{s+1}`` (SIMULATION.md §3), when pasteurization is ON. Raises ``ExpressionError`` when lint finds an
    error and ``UnsupportedLocal`` for BRAIN-only operators or fields the panel lacks.
    """
    s = _settings(settings)
    checked = _checked(expression, panel, registry)
    return checked, evaluate(checked.program, panel, **_eval_args(panel, s))


def _checked(expression: str | LintResult, panel: Panel, registry: FieldRegistry | None) -> LintResult:
    checked = expression if isinstance(expression, LintResult) else lint(expression, registry or registry_for(panel))
    if not checked.ok:
        raise ExpressionError(checked)
    return checked


def _eval_args(panel: Panel, s: SimSettings) -> dict:
    return {"universe_mask": panel_universe(panel, s.local_universe, ahead=True),
            "pasteurization": s.pasteurization == "ON", "nan_handling": s.nanHandling == "ON"}


def simulate(expression: str | LintResult, panel: Panel, settings: SimSettings | dict | None = None,
             registry: FieldRegistry | None = None, oos_fraction: float = 0.2,
             start: str | None = None, end: str | None = None) -> SimResult:
    """Simulate one alpha: the SIMULATION.md §9 result (IS and OS metrics, yearly rows, checks, daily PnL).

    ``start``/``end`` (YYYY-MM-DD) restrict trading to that date range; the expression still sees the
    earlier history for its windows. Raises ``ExpressionError`` (lint errors), ``UnsupportedLocal``
    (BRAIN-only operator or field), ``SettingsError`` (invalid settings).
    """
    s = _settings(settings)
    raw, sign = evaluate_signed(_checked(expression, panel, registry).program, panel, **_eval_args(panel, s))
    if start or end:
        trade_dates = np.empty_like(panel.dates)
        trade_dates[:-1] = panel.dates[1:]
        trade_dates[-1] = panel.dates[-1] + np.timedelta64(1, "D")
        keep = np.ones(panel.T, dtype=bool)
        if start:
            keep &= trade_dates >= np.datetime64(start, "D")
        if end:
            keep &= trade_dates <= np.datetime64(end, "D")
        raw[~keep] = np.nan
    return backtest(raw, panel, s, oos_fraction=oos_fraction, sign=sign)


@dataclass
class Outcome:
    """One expression of a batch: its lint verdict and either a result or the error that stopped it."""

    expression: str
    lint: LintResult | None
    result: SimResult | None
    error: str | None
    settings: SimSettings

    @property
    def canonical(self) -> str | None:
        return self.lint.canonical if self.lint is not None else None

    @property
    def hash(self) -> str | None:
        if self.canonical is None:
            return None
        return alpha_hash(self.canonical, json_settings(self.settings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the §9 result plus expression, canonical text and alpha hash, or the error."""
        head = {"expression": self.expression, "canonical": self.canonical, "hash": self.hash}
        if self.result is None:
            errors = [] if self.lint is None else self.lint.to_dict().get("errors", [])
            return {**head, "ok": False, "error": self.error, "errors": errors}
        return {**head, "ok": True, **self.result.to_dict()}


def json_settings(settings: SimSettings) -> dict:
    """The settings dict that enters the alpha hash (sorted keys happen in ``alpha_hash``)."""
    import json

    return json.loads(settings.identity_json())


def simulate_many(expressions: Iterable[str], panel: Panel, settings: SimSettings | dict | None = None,
                  registry: FieldRegistry | None = None, oos_fraction: float = 0.2,
                  start: str | None = None, end: str | None = None) -> list[Outcome]:
    """Simulate a batch on one panel; a bad expression yields an ``Outcome`` with ``error``, never an exception."""
    s = _settings(settings)
    s.check_local()
    reg = registry or registry_for(panel)
    outcomes = []
    for text in expressions:
        checked = lint(text, reg)
        if not checked.ok:
            outcomes.append(Outcome(text, checked, None, str(ExpressionError(checked)), s))
            continue
        try:
            result = simulate(checked, panel, s, reg, oos_fraction, start, end)
            outcomes.append(Outcome(text, checked, result, None, s))
        except EvaluationError as exc:
            outcomes.append(Outcome(text, checked, None, f"UNSUPPORTED_LOCAL: {exc}"
                                    if isinstance(exc, UnsupportedLocal) else f"E_EVAL: {exc}", s))
        except UnsupportedSettings as exc:
            outcomes.append(Outcome(text, checked, None, f"UNSUPPORTED_LOCAL: {exc}", s))
    return outcomes


def evaluate_expression(expression: str, panel: Panel, settings: SimSettings | dict | None = None) -> pl.DataFrame:
    """Raw alpha values before settings as a long frame (date, ticker, value): the full T x N grid, one row
    per (date, ticker), ``value`` null where the alpha is NaN.

    Row ``date`` is the evaluation date (data up to that date), i.e. before the delay shift; cross-sectional
    inputs are pasteurized with the settings' universe (SIMULATION.md §3). Raises ``ExpressionError``.
    """
    _, raw = raw_alpha(expression, panel, settings)
    T, N = raw.shape
    return pl.DataFrame({
        "date": np.repeat(panel.dates, N),
        "ticker": np.tile(np.asarray(panel.tickers, dtype=str), T),
        "value": raw.reshape(-1),
    }).with_columns(pl.col("value").fill_nan(None))
