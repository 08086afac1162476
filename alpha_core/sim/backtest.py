"""Raw alpha -> positions -> PnL -> metrics -> checks on a panel (SIMULATION.md §3-§7, §9).

``backtest`` takes the evaluated expression (row s = data up to date s) and runs the delay-1 pipeline:
``A_t = raw_{t-1}``, universe ``U_t``, decay, neutralization, scaling, truncation, positions, daily PnL, IS/OS
(and train/test) metrics, yearly rows, sub-universe sharpe, factor statistics and the IS checks.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import weakref

import numpy as np
from numba import njit

from alpha_core.gate.checks import submission_checks
from alpha_core.sim import _book_numba as K
from alpha_core.sim import factor as F
from alpha_core.sim import metrics as M
from alpha_core.sim.portfolio import NEUTRAL_TOL, GroupIndex, market_groups, weights_from_raw
from alpha_core.sim.result import SimResult
from alpha_core.sim.settings import BOOK, SUB_UNIVERSE, SimSettings
from alpha_core.sim.universe import panel_universe

GROUP_FIELDS = {"SECTOR": "sector", "INDUSTRY": "industry", "SUBINDUSTRY": "subindustry"}


class BacktestError(ValueError):
    """Bad input to ``backtest`` (shape, missing panel field, bad ``oos_fraction``)."""


class DateRangeError(BacktestError):
    """A ``start``/``end`` range the panel cannot simulate; ``bounds`` names the parameters at fault
    (``("start",)``, ``("end",)`` or both), so a caller can point at its own flag or field."""

    code = "E_DATE_RANGE"

    def __init__(self, bounds: tuple[str, ...], message: str):
        self.bounds = bounds
        super().__init__(message)


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _day(text, bound: str) -> np.datetime64:
    """``"YYYY-MM-DD"`` (or a date / datetime64) -> datetime64[D]; ``DateRangeError`` for anything else."""
    if isinstance(text, (_dt.date, np.datetime64)):
        return np.datetime64(text, "D")
    if not isinstance(text, str) or not _ISO_DAY.match(text.strip()):
        raise DateRangeError((bound,), f"{text!r} is not a date YYYY-MM-DD")
    try:
        return np.datetime64(_dt.date.fromisoformat(text.strip()), "D")
    except ValueError as exc:
        raise DateRangeError((bound,), f"{text!r} is not a calendar date ({exc})") from None


def trading_periods(panel, settings: SimSettings, oos_fraction: float = 0.2, start=None,
                    end=None) -> tuple[slice, slice]:
    """The IS and OS row ranges of a run on ``panel``, restricted to the trading dates in ``[start, end]``.

    The panel's split stays fixed (SIMULATION.md §4: OS = the most recent ``ceil(oos_fraction * T)`` dates,
    IS the rest); a range keeps IS = range ∩ panel IS and OS = range ∩ panel OS, so the OS holdout never
    moves. ``start``/``end``: ``"YYYY-MM-DD"`` (a date or datetime64 also works) or None (the panel's first /
    last date). Returns ``(is_slice, os_slice)``; ``os_slice`` is empty (``T - n_os`` to ``T - n_os``) when
    the range ends before the OS period. Raises ``DateRangeError`` when a bound is not a calendar date, lies
    outside the panel's dates, ``start`` is after ``end``, the range holds no trading date, or its IS part
    is empty or has no date with a universe (nothing could trade); ``BacktestError`` for a bad
    ``oos_fraction``.
    """
    if not (isinstance(oos_fraction, (int, float)) and 0 <= oos_fraction < 1):
        raise BacktestError(f"oos_fraction must be in [0, 1), got {oos_fraction!r}")
    dates = np.asarray(panel.dates).astype("datetime64[D]")
    T = len(dates)
    n_os = math.ceil(oos_fraction * T)
    if start is None and end is None:
        return slice(0, T - n_os), slice(T - n_os, T)
    span = f"the panel's dates are {dates[0]} .. {dates[-1]}"
    lo_day = dates[0] if start is None else _day(start, "start")
    hi_day = dates[-1] if end is None else _day(end, "end")
    for bound, day in (("start", lo_day), ("end", hi_day)):
        if not dates[0] <= day <= dates[-1]:
            raise DateRangeError((bound,), f"{day} is outside the panel ({span})")
    if lo_day > hi_day:
        raise DateRangeError(("start", "end"), f"start {lo_day} is after end {hi_day}")
    lo = int(np.searchsorted(dates, lo_day, side="left"))
    hi = int(np.searchsorted(dates, hi_day, side="right"))
    if lo >= hi:
        raise DateRangeError(("start", "end"), f"no trading date of the panel in {lo_day} .. {hi_day}")
    is_stop = min(hi, T - n_os)
    if lo >= is_stop:
        raise DateRangeError(("start",), f"{lo_day} .. {hi_day} lies in the held-out OS period "
                                         f"({dates[T - n_os]} .. {dates[-1]}); IS metrics need a start "
                                         f"before {dates[T - n_os]}")
    traded = np.flatnonzero(panel_universe(panel, settings.local_universe).any(axis=1))
    if not ((traded >= lo) & (traded < is_stop)).any():
        first = f"the first is {dates[traded[0]]}" if traded.size else "the panel has none"
        raise DateRangeError(("start", "end"), f"no date in {dates[lo]} .. {dates[is_stop - 1]} has a "
                                               f"{settings.local_universe} universe ({first})")
    return slice(lo, is_stop), slice(T - n_os, max(T - n_os, hi))


def _field(panel, name: str) -> np.ndarray:
    try:
        arr = panel[name]
    except (KeyError, LookupError) as exc:
        raise BacktestError(f"panel {getattr(panel, 'label', '')!r} has no field {name!r}") from exc
    return np.asarray(arr, dtype=np.float64)


def panel_returns(panel) -> np.ndarray:
    """(T, N) return of day t: ``panel["returns"]`` (NaN on the defect dates), else ``close/close_{t-1} - 1``."""
    has = getattr(panel, "has", None)
    if has is None or has("returns"):
        try:
            return np.asarray(panel["returns"], dtype=np.float64)
        except (KeyError, LookupError):
            pass
    close = _field(panel, "close")
    out = np.full(close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:] = close[1:] / close[:-1] - 1.0
    out[~np.isfinite(out)] = np.nan
    return out


_RETURNS_CACHE: "weakref.WeakKeyDictionary[object, tuple]" = weakref.WeakKeyDictionary()


def _returns_and_order(panel) -> tuple[np.ndarray, tuple]:
    """``panel_returns(panel)`` and its ``F.returns_ranking`` (order, tie runs), cached per panel (weakly)."""
    try:
        hit = _RETURNS_CACHE.get(panel)
    except TypeError:
        hit = None
    if hit is None:
        returns = panel_returns(panel)
        hit = (returns, F.returns_ranking(returns))
        try:
            _RETURNS_CACHE[panel] = hit
        except TypeError:
            pass
    return hit


_MEMBER_RANKS_CACHE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def _member_ranks(panel, settings: SimSettings, universe: np.ndarray, gi: GroupIndex | None, returns, ranking):
    """``F.member_ranks`` of the returns for the entries weights can hold (universe members, with a group when
    neutralizing), cached per (panel, universe, neutralization), weakly."""
    key = (settings.local_universe, settings.neutralization)
    try:
        store = _MEMBER_RANKS_CACHE.setdefault(panel, {})
    except TypeError:
        store = {}
    if key not in store:
        members = universe if gi is None else universe & gi.has_group
        store[key] = F.member_ranks(returns, members, ranking)
    return store[key]


def pasteurization_mask(panel, settings: SimSettings) -> np.ndarray:
    """(T, N) bool mask applied to cross-sectional / group inputs evaluated at date s (SIMULATION.md §3).

    Row s = ``U_{s+1}`` of the local universe (uses data up to s only); all True with pasteurization OFF.
    """
    if settings.pasteurization == "OFF":
        return np.ones((len(panel.dates), len(panel.tickers)), dtype=bool)
    return panel_universe(panel, settings.local_universe, ahead=True)


_GROUP_CACHE: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()


def _groups(panel, neutralization: str, shape) -> GroupIndex | None:
    """The ``GroupIndex`` of the neutralization (None for NONE), cached per panel object (weakly)."""
    if neutralization == "NONE":
        return None
    try:
        store = _GROUP_CACHE.setdefault(panel, {})
    except TypeError:
        store = {}
    if neutralization not in store:
        ids = market_groups(shape) if neutralization == "MARKET" else _field(panel, GROUP_FIELDS[neutralization])
        store[neutralization] = GroupIndex(ids)
    return store[neutralization]


@njit(inline="always")
def _restricted_body(w, indptr, members, codes, n_groups, neutral, few, returns, book, start, stop, tol_neutral):
    """PnL of ``portfolio.restrict(w, mask, groups)`` rows ``start:stop`` without building the (T, N) weights.

    Two passes over the row's kept entries (in the mask, non-NaN, with a group when ``neutral``): the group
    sums in column order (so the group means, and each demeaned value with ``demean``'s tolerance rule, are
    exactly those of ``_book_numba.portfolio_rows``), then gross = sum |demeaned| and sum demeaned x return
    together; PnL = book x that sum / gross, which equals the sum of ``daily_row``'s positions x returns up
    to the last bits. ``indptr``/``members``: the mask's True columns of row t are
    ``members[indptr[t]:indptr[t + 1]]`` (ascending), so only those are visited. ``few``: G <= N, so the
    means of all groups are computed per row (else per member, from the touched groups)."""
    T, N = w.shape
    pnl = np.zeros(max(stop - start, 0))
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    means = np.zeros(n_groups)
    for t in range(start, stop):
        ct = codes[t] if neutral else codes[0]
        wt = w[t]
        rt = returns[t]
        a, b = indptr[t], indptr[t + 1]
        row_max = 0.0
        if neutral:
            for j in range(a, b):
                i = members[j]
                c, v = ct[i], wt[i]
                if c >= 0 and v == v:
                    sums[c] += v
                    counts[c] += 1
                    row_max = max(row_max, abs(v))
            if few:
                for g in range(n_groups):
                    if counts[g] > 0:
                        means[g] = sums[g] / counts[g]
        lim = tol_neutral * row_max
        gross = 0.0
        acc = 0.0
        for j in range(a, b):
            i = members[j]
            v = wt[i]
            if neutral:
                c = ct[i]
                ok = (c >= 0) & (v == v)
                if few:
                    r = v - means[max(c, 0)]
                else:
                    r = v - sums[c] / counts[c] if ok else 0.0
                r = 0.0 if abs(r) <= lim else r
            else:
                ok = v == v
                r = v
            r = r if ok else 0.0
            gross += abs(r)
            rv = rt[i]
            acc += r * rv if rv - rv == 0.0 else 0.0
        if neutral:
            K.zero_groups(ct, sums, counts)
        pnl[t - start] = acc / gross * book if gross > 0.0 else 0.0
    return pnl


# one compiled loop per case: the per-member tests on ``neutral`` / ``few`` fold away (1.25 -> 1.05 ms)
@njit(cache=True)
def _restricted_few_groups(w, indptr, members, codes, n_groups, returns, book, start, stop, tol_neutral):
    return _restricted_body(w, indptr, members, codes, n_groups, True, True, returns, book, start, stop, tol_neutral)


@njit(cache=True)
def _restricted_many_groups(w, indptr, members, codes, n_groups, returns, book, start, stop, tol_neutral):
    return _restricted_body(w, indptr, members, codes, n_groups, True, False, returns, book, start, stop,
                            tol_neutral)


@njit(cache=True)
def _restricted_plain(w, indptr, members, codes, n_groups, returns, book, start, stop, tol_neutral):
    return _restricted_body(w, indptr, members, codes, n_groups, False, False, returns, book, start, stop,
                            tol_neutral)


def _restricted_pnl_rows(w, indptr, members, codes, n_groups, neutral, returns, book, start, stop, tol_neutral):
    """``_restricted_body`` through the compiled loop of its case."""
    kernel = (_restricted_plain if not neutral else
              _restricted_few_groups if n_groups <= w.shape[1] else _restricted_many_groups)
    return kernel(w, indptr, members, codes, n_groups, returns, book, start, stop, tol_neutral)


_MEMBERS_CACHE: dict[int, tuple] = {}


def _members(mask) -> tuple[np.ndarray, np.ndarray]:
    """CSR form of a (T, N) bool mask: (indptr (T + 1,), columns (nnz,)), ascending per row. Cached by identity
    (held weakly) for read-only masks, e.g. ``panel_universe``'s."""
    mask = np.asarray(mask, dtype=np.bool_)
    hit = _MEMBERS_CACHE.get(id(mask))
    if hit is not None and hit[0]() is mask:
        return hit[1], hit[2]
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(mask.shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=indptr[1:])
    members = cols.astype(np.int64)
    if not mask.flags.writeable:
        for key in [k for k, v in _MEMBERS_CACHE.items() if v[0]() is None]:
            del _MEMBERS_CACHE[key]
        _MEMBERS_CACHE[id(mask)] = (weakref.ref(mask), indptr, members)
    return indptr, members


def sub_universe_pnl(w: np.ndarray, mask: np.ndarray, groups: "np.ndarray | GroupIndex | None", returns: np.ndarray,
                     start: int, stop: int, book: float = BOOK) -> np.ndarray:
    """Daily PnL (USD, (stop - start,) float64) of the §6 sub-universe weights ``portfolio.restrict(w, mask,
    groups)`` on rows ``start:stop`` only, i.e. ``metrics.daily_series(restrict(...), returns).pnl[start:stop]``
    up to the last bits (PnL = book x sum of demeaned value x return / gross), without the (T, N)
    temporaries. ``w``, ``returns``: (T, N) float64; ``mask``: (T, N) bool.
    Raises ``ValueError`` on shape mismatches or rows outside ``0..T``."""
    w = np.asarray(w, dtype=np.float64)
    returns = np.asarray(returns, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be a (T, N) array, got shape {w.shape}")
    if np.shape(mask) != w.shape or returns.shape != w.shape:
        raise ValueError(f"mask {np.shape(mask)} / returns {returns.shape} do not match weights {w.shape}")
    if not 0 <= start <= stop <= w.shape[0]:
        raise ValueError(f"rows {start}:{stop} outside 0:{w.shape[0]}")
    gi = None if groups is None else (groups if isinstance(groups, GroupIndex) else GroupIndex(groups))
    if gi is None:
        # codes are only read when neutral: one dummy row, no (T, N) allocation
        codes, n_groups, neutral = np.full((1, 1), -1, dtype=np.int64), 1, False
    else:
        if gi.shape != w.shape:
            raise ValueError(f"groups have shape {gi.shape}, weights have {w.shape}")
        codes, n_groups, neutral = gi.codes, gi.n_groups, True
    indptr, members = _members(mask)
    return _restricted_pnl_rows(np.ascontiguousarray(w), indptr, members, np.ascontiguousarray(codes), n_groups,
                                neutral,
                                np.ascontiguousarray(returns), float(book), int(start), int(stop), NEUTRAL_TOL)


HUGE_EXPONENT = 900
"""A raw alpha with a finite |value| >= 2**900 (~8.5e270) is scaled down before the weights pass
(``within_range``): that pass sums up to N x decay**2 / 2 raw values, which overflow beyond ~1e300."""


def within_range(raw: np.ndarray) -> np.ndarray:
    """``raw`` itself, or, when some finite |value| >= 2**HUGE_EXPONENT, ``raw x 2**-k`` (a new array) with its
    largest finite |value| just below 2**HUGE_EXPONENT. Weights are scale-free and a power-of-two scale is exact,
    so ``close * 2**1000`` trades exactly as ``close`` (instead of overflowing its sums to inf and taking no
    position). ``raw``: (T, N) float64."""
    flat = np.ascontiguousarray(raw).reshape(-1)
    if not K.count_huge(flat.view(np.int64), 1023 + HUGE_EXPONENT):
        return raw
    largest = np.abs(flat[np.isfinite(flat)]).max()
    return np.ldexp(raw, HUGE_EXPONENT - int(np.frexp(largest)[1]))


def backtest(raw: np.ndarray, panel, settings: SimSettings, oos_fraction: float = 0.2,
             factor_stats: bool = True, sign: float = 1.0, start=None, end=None) -> SimResult:
    """Simulate a raw alpha on ``panel`` with ``settings`` (SIMULATION.md §3-§7).

    ``raw``: (T, N) float64, row s = the alpha evaluated with data up to date s (±inf treated as NaN);
    ``panel``: exposes ``dates`` (T,) datetime64[D], ``tickers`` (N,), ``panel[name]`` -> (T, N) float64 for
    close, volume, returns (optional) and the group field of the neutralization; ``oos_fraction``: the
    most recent ``ceil(oos_fraction * T)`` dates are OS (0 = none). An alpha without positions (all NaN,
    constant) gives None metrics and warnings, not an exception. ``factor_stats`` False skips the IC / rank
    IC / quantile spread block (``factor`` is then ``{}``), about half the run time. ``sign`` -1.0 simulates
    ``-raw`` exactly, without a negated copy (``evaluate_signed``'s folded root negation). ``start``/``end``
    (``"YYYY-MM-DD"``, inclusive) restrict the run to the trading dates in that range: no position outside it
    (inside it the weights are those of the whole-panel run: decay and the expression see earlier rows), and
    IS, OS, train/test, yearly rows, sub-universe and factor statistics cover only its dates
    (``trading_periods``). Raises ``BacktestError`` on bad shapes or fractions, ``DateRangeError`` on a range
    the panel cannot simulate, ``UnsupportedLocal`` for settings the local simulator cannot run.
    """
    settings.check_local()
    dates = np.asarray(panel.dates).astype("datetime64[D]")
    T, N = len(dates), len(panel.tickers)
    raw = np.asarray(raw, dtype=np.float64)
    if raw.shape != (T, N):
        raise BacktestError(f"raw alpha has shape {raw.shape}, panel is ({T}, {N})")
    is_sl, os_sl = trading_periods(panel, settings, oos_fraction, start, end)
    has_os = os_sl.stop > os_sl.start
    warnings: list[dict] = []

    universe = panel_universe(panel, settings.local_universe)
    traded = universe
    if start is not None or end is not None:   # no position outside the range (the member-rank cache keeps U)
        traded = universe.copy()
        traded[:is_sl.start] = False
        traded[(os_sl if has_os else is_sl).stop:] = False
    gi = _groups(panel, settings.neutralization, (T, N))
    # delay 1: A_t = raw_{t-1} (+-inf -> NaN), fused into the weights pass
    returns, returns_order = _returns_and_order(panel)
    if returns.shape != (T, N):
        raise BacktestError(f"panel returns have shape {returns.shape}, expected ({T}, {N})")
    w, unmet, daily = weights_from_raw(within_range(raw), traded, gi, settings.decay, settings.truncation, returns,
                                       BOOK, sign)
    series = M.series_of(*daily)

    is_m, warn = M.period_rows(series, dates, is_sl.start, is_sl.stop, "is")
    warnings += warn
    os_m = None
    if has_os:
        os_m, warn = M.period_rows(series, dates, os_sl.start, os_sl.stop, "os")
        warnings += warn
    if is_m["startDate"] is not None and is_m["days"] < M.DAYS_PER_YEAR:
        warnings.append(M._warn("W_SHORT_IS", f"IS keeps {is_m['days']} metric days (< {M.DAYS_PER_YEAR})"))
    if unmet.any():
        warnings.append(M._warn("W_TRUNCATION_NOT_MET", f"max weight above truncation {settings.truncation} "
                                f"after 10 rounds on {int(unmet.sum())} days (too few instruments)"))

    # train / test inside IS
    train_m = test_m = None
    split = M.test_split(dates[is_sl], settings.test_period)
    if split is not None:
        split += is_sl.start
        test_m, warn = M.period_rows(series, dates, split, is_sl.stop, "test")
        warnings += warn
        train_m, warn = M.period_rows(series, dates, is_sl.start, split, "train")
        warnings += warn

    # sub-universe sharpe over the IS metric days (§6)
    sub_name = SUB_UNIVERSE.get(settings.local_universe)
    sub_sharpe = None
    if sub_name is None:
        warnings.append(M._warn("W_NO_SUB_UNIVERSE", f"{settings.local_universe} has no smaller local universe; "
                                "LOW_SUB_UNIVERSE_SHARPE is PENDING"))
    elif is_m["startDate"] is not None:
        start = int(np.searchsorted(dates, np.datetime64(is_m["startDate"], "D")))
        # only the IS metric days are needed: PnL fused into the restrict pass (last bits only)
        sub_pnl = sub_universe_pnl(w, panel_universe(panel, sub_name), gi, returns, start, is_sl.stop)
        sub_sharpe = M.sharpe_ratio(sub_pnl)
        if sub_sharpe is None:
            why = "fewer than 2 metric days" if sub_pnl.size < 2 else f"{sub_name} PnL has zero standard deviation"
            warnings.append(M._warn("W_UNDEFINED_METRIC", f"is.subUniverseSharpe: {why}"))
    is_m["subUniverseSharpe"] = sub_sharpe

    # factor statistics of the traded row vs the day's return
    factor: dict = {}
    if factor_stats:
        members = _member_ranks(panel, settings, universe, gi, returns, returns_order)
        daily_f = F.daily_factor_series(w, returns, returns_order, series.max_weight, members)
        factor["is"] = F.factor_summary(daily_f, is_sl)
        if has_os:
            factor["os"] = F.factor_summary(daily_f, os_sl)

    is_m["checks"] = [c.to_dict() for c in submission_checks(is_m, settings, sub_sharpe)]
    stages = [("IS", is_sl)] + ([("OS", os_sl)] if has_os else [])
    local = {"universe": settings.local_universe, "universeSubstituted": settings.universe_substituted,
             "delayApprox": settings.delay_approx, "isDays": is_m["days"], "osDays": os_m["days"] if os_m else 0,
             "panel": getattr(panel, "label", None)}
    if settings.universe_substituted:
        warnings.append(M._warn("W_UNIVERSE_SUBSTITUTED", f"{settings.universe} runs as "
                                f"{settings.local_universe} locally"))
    if settings.delay_approx:
        warnings.append(M._warn("W_DELAY_APPROX", "delay 0 runs the delay-1 pipeline; delay-0 thresholds apply"))
    return SimResult(settings=settings, local=local, is_=is_m, os=os_m, train=train_m, test=test_m,
                     yearly=M.yearly_rows(series, dates, stages), factor=factor, warnings=warnings,
                     dates=dates, daily_pnl=series.pnl, weights=w, is_slice=is_sl, os_slice=os_sl)
