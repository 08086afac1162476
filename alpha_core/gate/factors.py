"""FACTOR_EXPOSURE: how much of an alpha's IS daily PnL known style factors explain (issue 12).

An alpha whose PnL is mostly a style-factor bet (small caps, low volatility, value, ...) earns that factor's
premium, and a factor's premium comes and goes with the regime: it is not the alpha the miner is looking for,
and it is the part of a winner least likely to hold up in a later period. The style factors are
``style_factors.csv`` (same format as ``public_alphas.csv``): six standard equity style factors in the sense of
Barra USE4 (Menchero, Orr and Wang 2011): size, residual volatility, momentum, book-to-price, liquidity and
profitability, each a rank of its usual descriptor. ``style_library`` simulates them once per panel (IS daily
PnL only, cached like the public alphas: ``gate.public.public_library``), and ``factor_exposure`` regresses an
alpha's IS daily PnL on theirs (OLS with an intercept over the days all share) and reports the *multiple
correlation* R = sqrt(R^2): the correlation of the alpha's PnL with the best linear combination of the
factors' PnL. The limit is 0.7, the correlation wall this project already uses for self-correlation and
CROWDING (SIMULATION.md §6).

FACTOR_NEUTRAL_SHARPE asks the return question: is there an alpha left once the style bets are taken out? The
alpha's expression is neutralized cross-sectionally, every day, against the price-derived style descriptors
(``NEUTRAL_DESCRIPTORS``: size, volatility, liquidity, momentum, each z-scored; Gram-Schmidt-orthogonalised in
that order with ``vector_neut``, so the nested ``vector_neut`` calls remove the joint projection), and
simulated with the alpha's own settings (``factor_neutral``). Its IS sharpe must still reach the delay's
LOW_SHARPE limit (1.25 for delay 1: BRAIN's own bar, applied to what is left). A factor premium flips with the
regime; an alpha that only passed on it is the one least likely to hold up later. The neutralized run is a
diagnostic of an alpha already simulated, not a new variant: it is not stored as a simulation and does not
count as a trial. Both checks read IS only: the OS holdout never enters (SIMULATION.md §4).
"""
from __future__ import annotations

import math
import weakref
from pathlib import Path
from typing import Sequence

import numpy as np

from alpha_core.gate.checks import FAIL, PASS, PENDING, Check
from alpha_core.gate.correlation import SELF_CORR_MIN_DAYS

STYLE_FACTORS = Path(__file__).with_name("style_factors.csv")
FACTOR_LIMIT = 0.7
TOP_FACTORS = 3
#: the style descriptors FACTOR_NEUTRAL_SHARPE takes out (name, FastExpr), in Gram-Schmidt order: the dense,
#: price-derived ones of ``style_factors.csv`` (value and profitability are annual fundamentals with gaps, which
#: ``vector_neut`` would turn into missing weights; FACTOR_EXPOSURE covers them)
NEUTRAL_DESCRIPTORS = (
    ("size", "log(cap)"),
    ("volatility", "ts_std_dev(returns, 60)"),
    ("liquidity", "log(adv20 / cap)"),
    ("momentum", "ts_delay(ts_sum(returns, 231), 21)"),
)
NEUTRAL_FIELDS = ("cap", "returns", "adv20", "market")   # what NEUTRAL_DESCRIPTORS and the demeaning read
MIN_BASIS_DAYS = 126   # IS days the descriptors must cover for FACTOR_NEUTRAL_SHARPE to be computed (half a year)


def style_library(panel, cache_dir: Path | None = None):
    """The style factors of ``STYLE_FACTORS`` simulated once on ``panel`` (default settings; IS daily PnL):
    a ``gate.public.PublicLibrary``, cached on disk and memoised per panel like the public alphas. A factor
    whose fields the panel lacks is left out with a logged warning (a synthetic test panel may have none)."""
    from alpha_core.gate.public import public_library

    return public_library(panel, cache_dir=cache_dir, csv_path=STYLE_FACTORS)


def exposure(pnl: np.ndarray, dates: np.ndarray, library) -> tuple[float | None, list[tuple[str, float]], int]:
    """The multiple correlation of one alpha's IS daily PnL with the style factors' IS daily PnL.

    ``pnl`` (D,) USD on ``dates`` (D,) datetime64[D]; ``library`` from ``style_library`` (``ids`` (K,),
    ``dates`` (C,), ``pnl`` (K, C) USD). Over the days where the alpha and every factor have a finite PnL:
    OLS of the alpha's PnL on the factors' PnL with an intercept, R = sqrt(max(0, 1 - var(residual) /
    var(pnl))). Returns ``(R, loadings, days)``: ``loadings`` the factors' standardised coefficients (beta x
    sd(factor) / sd(pnl)), largest |loading| first; ``R`` None (no loadings) with fewer than
    ``SELF_CORR_MIN_DAYS`` shared days, a constant PnL, or no factor.
    """
    ids = tuple(getattr(library, "ids", ()))
    if not ids:
        return None, [], 0
    p = np.asarray(pnl, dtype=np.float64)
    d = np.asarray(dates, dtype="datetime64[D]")
    cal = np.asarray(library.dates, dtype="datetime64[D]")
    pos = np.searchsorted(cal, d)
    inside = pos < cal.size
    inside[inside] = cal[pos[inside]] == d[inside]
    y = p[inside]
    x = np.asarray(library.pnl, dtype=np.float64)[:, pos[inside]].T          # (days, K)
    ok = np.isfinite(y) & np.all(np.isfinite(x), axis=1)
    y, x = y[ok], x[ok]
    if y.size < SELF_CORR_MIN_DAYS or float(y.std()) == 0.0:
        return None, [], int(y.size)
    sd = x.std(axis=0)
    keep = sd > 0
    if not keep.any():
        return None, [], int(y.size)
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    yc = (y - y.mean()) / y.std()
    beta, *_ = np.linalg.lstsq(z, yc, rcond=None)
    resid = yc - z @ beta
    r = math.sqrt(max(0.0, 1.0 - float(resid.var())))
    names = [n for n, k in zip(ids, keep) if k]
    loadings = sorted(zip(names, map(float, beta)), key=lambda t: -abs(t[1]))
    return r, loadings, int(y.size)


def factor_exposure(pnl: np.ndarray, dates: np.ndarray, library, limit: float = FACTOR_LIMIT) -> Check:
    """``FACTOR_EXPOSURE`` of one alpha: PASS when the multiple correlation R of its IS daily PnL with the
    style factors' (``exposure``) is < ``limit``, FAIL otherwise; PENDING when R is undefined (no factor
    library, fewer than ``SELF_CORR_MIN_DAYS`` shared days). The message names the largest loadings.
    Raises ``ValueError`` when ``limit`` is not a finite number."""
    limit = float(limit)
    if not math.isfinite(limit):
        raise ValueError(f"factor exposure: limit must be a finite number, got {limit!r}")
    r, loadings, days = exposure(pnl, dates, library)
    if r is None:
        return Check("FACTOR_EXPOSURE", PENDING, None, limit,
                     "no style factor library" if not getattr(library, "ids", ())
                     else f"fewer than {SELF_CORR_MIN_DAYS} IS days shared with the style factors ({days})")
    top = ", ".join(f"{n} {b:+.2f}" for n, b in loadings[:TOP_FACTORS])
    if r >= limit:
        return Check("FACTOR_EXPOSURE", FAIL, r, limit,
                     f"style factors explain its daily PnL (R {r:.2f}; loadings {top}): a style-factor bet, "
                     "not an alpha: take the factor out (vector_neut) or change the idea")
    return Check("FACTOR_EXPOSURE", PASS, r, limit, f"largest style loadings: {top}")


def neutral_basis() -> list[str]:
    """The descriptors' expressions z-scored and made mutually orthogonal (each ``vector_neut``-ed against the
    ones before, already orthogonal): FastExpr texts, same order. ``vector_neut`` is not a Base operator on
    BRAIN (operators.csv level Unknown): this text is a local diagnostic, never proposed as an alpha."""
    basis: list[str] = []
    for _, raw in NEUTRAL_DESCRIPTORS:
        text = f"zscore({raw})"
        for b in basis:
            text = f"vector_neut({text}, {b})"
        basis.append(text)
    return basis


def factor_neutral_expression(expression: str, basis: Sequence[str] | None = None) -> str:
    """``expression`` with the style descriptors taken out cross-sectionally: demeaned across the market
    (``group_neutralize(., market)``; ``vector_neut`` fits no intercept), then ``vector_neut`` against each vector
    of ``basis`` (default ``neutral_basis()``; ``factor_neutral`` passes the precomputed ``BASIS_FIELDS``) in
    turn, which is the joint projection since the basis is orthogonal. Each ``vector_neut`` works over the names
    valid in both, which differ a little between descriptors (momentum needs a year of history), so the result
    is orthogonal to each descriptor up to a cross-sectional correlation of about 0.02, not exactly."""
    text = f"group_neutralize({expression}, market)"
    for b in neutral_basis() if basis is None else basis:
        text = f"vector_neut({text}, {b})"
    return text


def factor_neutral_check(sharpe: float | None, limit: float, note: str = "") -> Check:
    """``FACTOR_NEUTRAL_SHARPE`` from the IS sharpe of the factor-neutralized alpha: PASS when >= ``limit``;
    FAIL below it or when it is undefined (``note`` says why, e.g. the simulation's error)."""
    limit = float(limit)
    names = ", ".join(n for n, _ in NEUTRAL_DESCRIPTORS)
    if sharpe is None or not math.isfinite(sharpe):
        return Check("FACTOR_NEUTRAL_SHARPE", FAIL, None, limit,
                     f"no IS sharpe once {names} are taken out" + (f": {note}" if note else ""))
    if sharpe >= limit:
        return Check("FACTOR_NEUTRAL_SHARPE", PASS, float(sharpe), limit, f"IS sharpe with {names} taken out")
    return Check("FACTOR_NEUTRAL_SHARPE", FAIL, float(sharpe), limit,
                 f"with {names} taken out the IS sharpe falls to {sharpe:.2f}: it earns a style premium, not an "
                 "alpha")


BASIS_FIELDS = tuple(f"style_basis_{i}" for i in range(len(NEUTRAL_DESCRIPTORS)))
_BASIS: "weakref.WeakKeyDictionary[object, dict[tuple, tuple[object, object]]]" = weakref.WeakKeyDictionary()


def _basis_panel(panel, settings):
    """``(panel + BASIS_FIELDS, its registry, covered IS days)``: ``panel``'s fields (lazily, the same arrays)
    plus the ``neutral_basis`` vectors evaluated once under ``settings``' universe mask, pasteurization and NaN handling,
    so a FACTOR_NEUTRAL_SHARPE run evaluates the alpha and four ``vector_neut`` calls, not the 15 descriptor
    sub-trees the plain text repeats; covered IS days = IS rows (``backtest.trading_periods``) on which every basis
    vector has a value. Memoised per panel (weakly) and per those settings."""
    from alpha_core.data.panel import Panel
    from alpha_core.sim.backtest import trading_periods
    from alpha_core.sim.simulate import raw_alpha, registry_for

    key = (settings.universe, int(settings.delay), settings.pasteurization, settings.nanHandling)
    memo = _BASIS.setdefault(panel, {})
    if key not in memo:
        fields = {f: (lambda f=f: panel[f]) for f in panel.field_names()}
        for name, text in zip(BASIS_FIELDS, neutral_basis()):
            fields[name] = raw_alpha(text, panel, settings)[1]
        derived = Panel.from_arrays(panel.dates, panel.tickers, fields, panel.group_fields,
                                    f"{panel.label} + style basis", copy=False)
        is_rows = trading_periods(panel, settings)[0]
        every = np.ones(panel.T, dtype=bool)
        for name in BASIS_FIELDS:
            every &= np.isfinite(fields[name]).any(axis=1)
        memo[key] = (derived, registry_for(derived), int(every[is_rows].sum()))
    return memo[key]


def factor_neutral(expression: str, panel, settings, limit: float) -> Check:
    """``FACTOR_NEUTRAL_SHARPE`` of ``expression``: simulates ``factor_neutral_expression(expression)`` on
    ``panel`` with ``settings`` (``SimSettings`` or dict; ``sim.simulate.simulate_one``, so a failure becomes a
    FAIL with the error's code, never an exception) and reads its IS sharpe; PENDING when the panel lacks a
    field of ``NEUTRAL_FIELDS`` or when the descriptors exist on fewer than ``MIN_BASIS_DAYS`` IS days (a short
    panel: momentum needs 252 days). The neutralized alpha has no weight where a descriptor is missing, so on
    the real panel its IS sharpe covers the IS days from 2014-02 on (3 of the 4 IS years). The basis vectors
    are evaluated once per panel and settings (``_basis_panel``) and read as fields, which gives the same
    numbers as simulating the plain text (``tests/core/gate/test_factors.py`` holds them identical) at about
    the cost of one simulation."""
    from alpha_core.sim.settings import SimSettings
    from alpha_core.sim.simulate import simulate_one

    missing = [f for f in NEUTRAL_FIELDS if not panel.has(f)]
    if missing:
        return Check("FACTOR_NEUTRAL_SHARPE", PENDING, None, float(limit),
                     f"the panel lacks {', '.join(missing)}: the style descriptors cannot be built")
    s = settings if isinstance(settings, SimSettings) else SimSettings(**(settings or {}))
    try:
        derived, reg, covered = _basis_panel(panel, s)
    except Exception as exc:  # noqa: BLE001 - a descriptor the panel cannot evaluate: the check says so
        return factor_neutral_check(None, limit, f"style basis: {type(exc).__name__}: {exc}"[:200])
    if covered < MIN_BASIS_DAYS:
        return Check("FACTOR_NEUTRAL_SHARPE", PENDING, None, float(limit),
                     f"the style descriptors cover {covered} IS days, fewer than {MIN_BASIS_DAYS} (momentum needs "
                     "252 days of history)")
    out = simulate_one(factor_neutral_expression(expression, BASIS_FIELDS), derived, s, reg)
    if out.result is None:
        return factor_neutral_check(None, limit, (out.error or "")[:200])
    return factor_neutral_check(out.result.is_.get("sharpe"), limit)


def with_factor_neutral(checks: list[Check], expression: str, panel, settings) -> list[Check]:
    """``checks`` (an ``alpha_checklist``) with its FACTOR_NEUTRAL_SHARPE row computed (``factor_neutral``, limit
    = the LOW_SHARPE row's) when no other check FAILed; otherwise unchanged (the row stays PENDING: the
    simulation is spent only on an alpha that would otherwise pass). The one rule the search, the LLM loop and
    the mining benchmark's baseline share."""
    from alpha_core.gate.checklist import replace_check

    if any(c.result == FAIL for c in checks):
        return checks
    limit = next(c.limit for c in checks if c.name == "LOW_SHARPE")
    return replace_check(checks, factor_neutral(expression, panel, settings, limit))
