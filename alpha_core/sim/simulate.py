"""Expression text to BRAIN-style simulation result (SIMULATION.md §3, §9).

``simulate`` = lint -> canonical program -> evaluate on the panel (with the pasteurization mask of the
settings' universe) -> ``backtest`` (delay, decay, neutralization, truncation, PnL, IS/OS metrics, checks).
``simulate_one`` never raises: whatever stops one alpha (lint, a BRAIN-only operator, the evaluation budget,
a kernel's error, even an unexpected exception) becomes that alpha's ``Outcome`` with an error code and message;
``iter_simulate`` / ``simulate_many`` run a batch of them on one loaded panel, so one bad alpha never costs the
batch.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import numpy as np
import polars as pl

from alpha_core.data.panel import Panel
from alpha_core.data.registry import FieldRegistry, default_registry
from alpha_core.expr import LintResult, alpha_hash, lint
from alpha_core.sim.backtest import backtest, trading_periods
from alpha_core.sim.evaluate import UnsupportedLocal, evaluate, evaluate_signed
from alpha_core.sim.result import SimResult
from alpha_core.sim.settings import SettingsError, SimSettings
from alpha_core.sim.settings import UnsupportedLocal as UnsupportedSettings
from alpha_core.sim.universe import panel_universe

__all__ = ["ExpressionError", "UnsupportedLocal", "Outcome", "simulate", "simulate_one", "iter_simulate",
           "simulate_many", "evaluate_expression", "raw_alpha", "registry_for", "error_code"]

log = logging.getLogger(__name__)


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

    ``start``/``end`` (YYYY-MM-DD, inclusive) restrict the run to the trading dates in that range: no
    position outside it, and IS / OS / train / test / yearly metrics cover only its dates (IS = range ∩ the
    panel's IS dates, OS = range ∩ the held-out OS dates; ``backtest.trading_periods``); the expression and
    the decay still see the earlier history. Raises ``ExpressionError`` (lint errors), ``UnsupportedLocal``
    (BRAIN-only operator or field), ``SettingsError`` (invalid settings), ``DateRangeError`` (a range the
    panel cannot simulate: not a date, outside the panel, start after end, no IS trading date), checked
    before the expression is evaluated.
    """
    s = _settings(settings)
    if start is not None or end is not None:
        trading_periods(panel, s, oos_fraction, start, end)   # a bad range fails before the evaluation
    raw, sign = evaluate_signed(_checked(expression, panel, registry).program, panel, **_eval_args(panel, s))
    with np.errstate(all="ignore"):  # undefined metrics are null with a warning entry, not numpy's stderr line
        return backtest(raw, panel, s, oos_fraction=oos_fraction, sign=sign, start=start, end=end)


@dataclass
class Outcome:
    """One expression of a batch: its lint verdict and either a result or the error that stopped it."""

    expression: str
    lint: LintResult | None
    result: SimResult | None
    error: str | None
    settings: SimSettings | None
    code: str | None = None  # the error's code (E_BUDGET, E_EVAL, UNSUPPORTED_LOCAL, a lint code...), None when ok

    @property
    def canonical(self) -> str | None:
        return self.lint.canonical if self.lint is not None else None

    @property
    def hash(self) -> str | None:
        if self.canonical is None or self.settings is None:
            return None
        return alpha_hash(self.canonical, json_settings(self.settings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the §9 result plus expression, canonical text and alpha hash, or the error (``code`` and
        ``error`` message, plus the lint errors with their spans)."""
        head = {"expression": self.expression, "canonical": self.canonical, "hash": self.hash}
        if self.result is None:
            errors = [] if self.lint is None else self.lint.to_dict().get("errors", [])
            return {**head, "ok": False, "code": self.code, "error": self.error, "errors": errors}
        return {**head, "ok": True, **self.result.to_dict()}


def json_settings(settings: SimSettings) -> dict:
    """The settings dict that enters the alpha hash (sorted keys happen in ``alpha_hash``)."""
    import json

    return json.loads(settings.identity_json())


def error_code(exc: BaseException) -> str:
    """The code of an exception that stopped one alpha: the exception's own ``code`` (``E_BUDGET``, ``E_EVAL``,
    ``UNSUPPORTED_LOCAL``...), ``E_SETTINGS`` for invalid settings, ``E_EVAL`` for a kernel's argument error or a
    floating-point error, ``E_MEMORY`` when memory ran out, else ``E_INTERNAL`` (a defect of ours: the traceback
    is logged at DEBUG level, never printed)."""
    from alpha_core.sim.ops import KernelArgumentError

    if isinstance(exc, UnsupportedSettings):
        return "UNSUPPORTED_LOCAL"
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    if isinstance(exc, SettingsError):
        return "E_SETTINGS"
    if isinstance(exc, (KernelArgumentError, FloatingPointError)):
        return "E_EVAL"
    if isinstance(exc, MemoryError):
        return "E_MEMORY"
    return "E_INTERNAL"


def simulate_one(expression: str | LintResult, panel: Panel, settings: SimSettings | dict | None = None,
                 registry: FieldRegistry | None = None, oos_fraction: float = 0.2,
                 start: str | None = None, end: str | None = None) -> Outcome:
    """``simulate`` that never raises (but for ``KeyboardInterrupt`` / ``SystemExit``): the alpha's ``Outcome``
    with its result, or with ``code`` and ``error`` = ``"CODE: message"`` (``error_code``). Invalid ``settings``
    (a dict, as stored with a candidate) are this alpha's ``E_SETTINGS`` error."""
    text = expression.text if isinstance(expression, LintResult) else expression
    checked = s = None
    try:
        s = _settings(settings)
        checked = expression if isinstance(expression, LintResult) else lint(text, registry or registry_for(panel))
        if not checked.ok:
            first = checked.errors[0] if checked.errors else None
            return Outcome(text, checked, None, str(ExpressionError(checked)), s,
                           first.code if first else "E_SYNTAX")
        return Outcome(text, checked, simulate(checked, panel, s, registry, oos_fraction, start, end), None, s)
    except Exception as exc:  # noqa: BLE001 - one alpha's failure must never cost the batch
        code = error_code(exc)
        if code == "E_INTERNAL":
            log.debug("unexpected error simulating %r", text, exc_info=True)
            message = f"{type(exc).__name__}: {exc}"
        elif code == "E_MEMORY":
            message = "ran out of memory evaluating this alpha (lower ALPHA_EVAL_MAX_MEMORY_MB)"
        else:
            message = str(exc)
        return Outcome(text, checked, None, f"{code}: {message}"[:2000], s, code)


def iter_simulate(expressions: Iterable[str], panel: Panel, settings: SimSettings | dict | None = None,
                  registry: FieldRegistry | None = None, oos_fraction: float = 0.2,
                  start: str | None = None, end: str | None = None, keep_weights: bool = False
                  ) -> Iterator[Outcome]:
    """Simulate a batch on one panel, yielding each alpha's ``Outcome`` as soon as it is done (``simulate_one``:
    never an exception for one alpha). Each result's (T, N) ``weights`` (5 MB on the real panel) are dropped
    (None) unless ``keep_weights``, so a batch's memory does not grow by that per alpha. Raises
    ``SettingsError`` / ``UnsupportedLocal`` up front when the batch's ``settings`` are invalid or cannot run
    locally, before any alpha."""
    s = _settings(settings)
    s.check_local()
    reg = registry or registry_for(panel)
    for text in expressions:
        outcome = simulate_one(text, panel, s, reg, oos_fraction, start, end)
        if outcome.result is not None and not keep_weights:
            outcome.result.weights = None
        yield outcome


def simulate_many(expressions: Iterable[str], panel: Panel, settings: SimSettings | dict | None = None,
                  registry: FieldRegistry | None = None, oos_fraction: float = 0.2,
                  start: str | None = None, end: str | None = None, keep_weights: bool = False) -> list[Outcome]:
    """``list(iter_simulate(...))``: one ``Outcome`` per expression, in order (weights dropped unless
    ``keep_weights``)."""
    return list(iter_simulate(expressions, panel, settings, registry, oos_fraction, start, end, keep_weights))


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
