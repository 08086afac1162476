"""Everything the result page of one alpha shows, gathered from the run's DuckDB file and the panel.

Sources: ``simulations`` (the stored §9 result: IS/OS metrics, yearly rows, IC / rank IC, daily PnL),
``candidates`` (expression, settings), the checks (``gate_checks`` when that table holds the alpha, else
``checklists``, else the IS checks of the stored result; a ``message`` column is used when present),
``submission_order`` (decision and reason, when the table exists) and ``submissions``. Tables or columns a
database does not have just leave their section empty.

Computed for display only (never stored, never a new trial, never an input of any decision): the quintile
returns of the alpha re-simulated on the panel, the market regimes it earns in, and its closest relatives by
IS daily-PnL correlation among the stored alphas and the public library.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alpha_core.gate.correlation import SELF_CORR_MAX_DAYS, SELF_CORR_MIN_DAYS, correlation_matrix
from alpha_core.sim.factor import MIN_CROSS_SECTION, QUANTILES
from alpha_core.sim.metrics import sharpe_ratio

VOL_WINDOW = 63      # trading days of trailing market volatility (the volatility regime)
TREND_WINDOW = 126   # trading days of trailing market return (the trend regime)
TOP_RELATIVES = 5


class PageError(ValueError):
    """The page cannot be built: no DuckDB file, a hash prefix matching no alpha or several, an alpha without a
    successful simulation. The message is one line naming what and where."""


@dataclass
class PageData:
    """What the page of one alpha shows (``gather``).

    ``dates`` (T,) datetime64[D] and ``daily_pnl`` (T,) USD: the stored daily PnL; ``is_period`` / ``os_period``:
    ISO (start, end) of the metric days (``os_period`` None without OS); ``settings``: BRAIN names -> value;
    ``checks``: dicts ``name, result, value, limit, message`` from ``checks_source``; ``decision``: the
    ``submission_order`` row (column -> value) or None; ``quintiles``: ``{"IS"|"OS": (5,) mean daily return
    per alpha quintile, Q1 = lowest alpha}`` or None; ``regimes``: rows ``period, kind, regime, days, sharpe,
    mean_pnl`` or None; ``relatives``: rows ``alpha_hash, expression, corr, is_sharpe, os_sharpe``;
    ``public``: rows ``id, expression, corr`` or None (section hidden, ``public_note`` says why);
    ``notes``: one-line remarks shown at the foot of the page.
    """

    alpha_hash: str
    expression: str
    field: str | None
    mining_date: str | None
    origin: str | None
    settings: dict[str, Any]
    verdict: str | None
    fitness_label: str | None
    is_metrics: dict[str, Any]
    os_metrics: dict[str, Any]
    yearly: list[dict[str, Any]]
    factor: dict[str, dict[str, Any]]
    dates: np.ndarray
    daily_pnl: np.ndarray
    is_period: tuple[str, str] | None
    os_period: tuple[str, str] | None
    checks: list[dict[str, Any]] = field(default_factory=list)
    checks_source: str = ""
    decision: dict[str, Any] | None = None
    submissions: list[dict[str, Any]] = field(default_factory=list)
    quintiles: dict[str, np.ndarray] | None = None
    regimes: list[dict[str, Any]] | None = None
    relatives: list[dict[str, Any]] = field(default_factory=list)
    relatives_compared: int = 0
    public: list[dict[str, Any]] | None = None
    public_check: dict[str, Any] | None = None
    public_note: str = ""
    warnings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---- DuckDB helpers ----------------------------------------------------------------------------------
def _columns(con, table: str) -> set[str]:
    """Column names of ``table`` (empty when the table does not exist)."""
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()
    return {r[0] for r in rows}


def _dicts(con, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cur = con.cursor()
    try:
        cur.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        cur.close()


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)[:10]


def resolve_hash(con, hash_or_prefix: str) -> str:
    """The one alpha hash in table ``simulations`` that starts with ``hash_or_prefix`` (hex, case-insensitive).

    Raises ``PageError`` when the text is not hex, when no stored alpha matches (naming how many there are) or
    when several do (listing up to 5 of them)."""
    prefix = str(hash_or_prefix).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,64}", prefix):
        raise PageError(f"{hash_or_prefix!r} is not an alpha hash or a prefix of one (1 to 64 hex digits)")
    if "alpha_hash" not in _columns(con, "simulations"):
        raise PageError("the database has no simulations table (nothing mined yet)")
    hits = [r[0] for r in con.execute("SELECT DISTINCT alpha_hash FROM simulations WHERE starts_with(alpha_hash, ?) "
                                      "ORDER BY alpha_hash LIMIT 6", [prefix]).fetchall()]
    if not hits:
        total = con.execute("SELECT count(DISTINCT alpha_hash) FROM simulations").fetchone()[0]
        raise PageError(f"no stored alpha hash starts with {prefix!r} ({total} alphas in simulations)")
    if len(hits) > 1:
        more = "" if len(hits) <= 5 else ", ..."
        raise PageError(f"hash prefix {prefix!r} matches several alphas ({', '.join(h[:12] for h in hits[:5])}{more}); "
                        "give more digits")
    return hits[0]


def _simulation_row(con, h: str) -> dict[str, Any]:
    """The alpha's latest successful ``simulations`` row (``PageError`` when it has none)."""
    rows = _dicts(con, "SELECT * FROM simulations WHERE alpha_hash = ? ORDER BY status = 'ok' DESC, "
                       "mining_date DESC, field LIMIT 1", [h])
    row = rows[0]
    if row.get("status") != "ok" or not row.get("result_json"):
        raise PageError(f"alpha {h[:12]} has no successful simulation (status {row.get('status')}: "
                        f"{(row.get('error') or '').splitlines()[0] if row.get('error') else 'no result'})")
    return row


def _candidate(con, row: dict) -> dict[str, Any]:
    if "expression" not in _columns(con, "candidates"):
        return {}
    rows = _dicts(con, "SELECT expression, settings_json, origin FROM candidates WHERE alpha_hash = ? "
                       "ORDER BY mining_date = ? AND field = ? DESC, mining_date DESC LIMIT 1",
                  [row["alpha_hash"], row["mining_date"], row["field"]])
    return rows[0] if rows else {}


def _brain_settings(settings_json: str | None, stored: dict) -> tuple[dict[str, Any], Any]:
    """(BRAIN settings dict for display, SimSettings or None) from the candidate's settings JSON, else the
    stored result's settings block."""
    from alpha_core.sim.settings import SimSettings

    for source in (settings_json, stored):
        try:
            given = json.loads(source) if isinstance(source, str) else dict(source or {})
            s = SimSettings(**given)
        except Exception:  # noqa: BLE001 - pydantic and JSON errors: try the next source
            continue
        shown = {k: v for k, v in s.brain_settings().items() if k != "visualization"}
        return shown, s
    return dict(stored or {}), None


def _normal_check(r: dict) -> dict[str, Any]:
    return {"name": r.get("check_name") or r.get("name"), "result": r.get("result"), "value": r.get("value"),
            "limit": r.get("limit_value", r.get("limit")), "message": r.get("message") or ""}


def _checks(con, row: dict, stored_checks: list[dict]) -> tuple[list[dict], str]:
    """The alpha's checks and where they come from: ``gate_checks`` (latest mining date) when the table holds the
    alpha, else the ``checklists`` rows of the simulation's partition, else the stored result's IS checks."""
    h = row["alpha_hash"]
    cols = _columns(con, "gate_checks")
    if {"alpha_hash", "check_name", "result"} <= cols:
        pick = [c for c in ("check_name", "result", "value", "limit_value", "message", "mining_date") if c in cols]
        order = "mining_date DESC, rowid" if "mining_date" in cols else "rowid"
        rows = _dicts(con, f"SELECT {', '.join(pick)} FROM gate_checks WHERE alpha_hash = ? ORDER BY {order}", [h])
        if rows:
            day = rows[0].get("mining_date")
            rows = [r for r in rows if r.get("mining_date") == day]
            return ([_normal_check(r) for r in rows],
                    f"gate_checks (the finalist's full checklist, mining date {_iso(day)})")
    cols = _columns(con, "checklists")
    if {"alpha_hash", "check_name", "result"} <= cols:
        pick = [c for c in ("check_name", "result", "value", "limit_value", "message") if c in cols]
        rows = _dicts(con, f"SELECT {', '.join(pick)} FROM checklists WHERE alpha_hash = ? AND mining_date = ? "
                           "AND field = ? ORDER BY rowid", [h, row["mining_date"], row["field"]])
        if rows:
            return ([_normal_check(r) for r in rows],
                    f"checklists (mining date {_iso(row['mining_date'])}, field {row['field']})")
    return [_normal_check(c) for c in stored_checks], "the stored simulation result (IS checks)"


def _verdict(con, row: dict) -> str | None:
    if "verdict" not in _columns(con, "checklists"):
        return None
    got = con.execute("SELECT first(verdict) FROM checklists WHERE alpha_hash = ? AND mining_date = ? AND field = ?",
                      [row["alpha_hash"], row["mining_date"], row["field"]]).fetchone()
    return got[0] if got else None


def _decision(con, h: str) -> dict[str, Any] | None:
    """The alpha's latest ``submission_order`` row (without ``run_id``), or None."""
    cols = _columns(con, "submission_order")
    if "alpha_hash" not in cols:
        return None
    order = " ORDER BY mining_date DESC" if "mining_date" in cols else ""
    rows = _dicts(con, f"SELECT * FROM submission_order WHERE alpha_hash = ?{order} LIMIT 1", [h])
    return {k: v for k, v in rows[0].items() if k not in ("run_id", "alpha_hash")} if rows else None


def _submissions(con, h: str) -> list[dict[str, Any]]:
    cols = _columns(con, "submissions")
    pick = [c for c in ("mining_date", "mode", "status", "brain_alpha_id", "message", "max_self_corr", "submitted_at")
            if c in cols]
    if "alpha_hash" not in cols or not pick:
        return []
    return _dicts(con, f"SELECT {', '.join(pick)} FROM submissions WHERE alpha_hash = ? ORDER BY 1", [h])


# ---- computations for display ------------------------------------------------------------------------
def quintile_returns(weights: np.ndarray, returns: np.ndarray, rows: slice) -> np.ndarray:
    """(5,) mean daily return per alpha quintile over the days ``rows``; Q1 = lowest weights.

    ``weights``: (T, N) the book of day t (data up to t-1; NaN = no position), ``returns``: (T, N) return of
    day t (so "next-day" relative to the data the alpha saw). Each day, over the instruments where both are
    finite, quintile = floor((rank - 1) * 5 / n) with average ranks of the weight, as ``sim.factor`` (whose
    quantile spread is Q5 - Q1 of this, annualised); days with fewer than 5 such instruments, or a constant
    weight or return, are skipped. Each day's quintile mean return is averaged over the days (fractions;
    NaN when no day counts). Raises ``ValueError`` on mismatched shapes.
    """
    from scipy.stats import rankdata

    w = np.asarray(weights, dtype=np.float64)[rows]
    r = np.asarray(returns, dtype=np.float64)[rows]
    if w.shape != r.shape:
        raise ValueError(f"quintile_returns: weights {w.shape} and returns {r.shape} differ")
    ok = np.isfinite(w) & np.isfinite(r)
    n = ok.sum(axis=1)
    rank = rankdata(np.where(ok, w, np.inf), method="average", axis=1)   # the others rank after every valid one
    q = np.floor((rank - 1) * QUANTILES / np.maximum(n, 1)[:, None]).astype(np.int64)
    spread = [np.where(ok, x, np.nan) for x in (w, r)]
    with np.errstate(invalid="ignore"):
        varies = [np.nanmax(x, axis=1, initial=-np.inf, where=ok) > np.nanmin(x, axis=1, initial=np.inf, where=ok)
                  for x in spread]
    used = (n >= MIN_CROSS_SECTION) & varies[0] & varies[1]
    keep = ok & used[:, None]
    day = np.broadcast_to(np.arange(w.shape[0])[:, None], w.shape)
    cell = (day * QUANTILES + np.minimum(q, QUANTILES - 1))[keep]
    sums = np.bincount(cell, weights=r[keep], minlength=w.shape[0] * QUANTILES).reshape(-1, QUANTILES)
    counts = np.bincount(cell, minlength=w.shape[0] * QUANTILES).reshape(-1, QUANTILES)
    with np.errstate(invalid="ignore", divide="ignore"):
        daily = np.where(counts > 0, sums / counts, np.nan)[used]
    out = np.full(QUANTILES, np.nan)
    have = np.isfinite(daily).any(axis=0)
    out[have] = np.nanmean(daily[:, have], axis=0)
    return out


def market_regimes(returns: np.ndarray, is_rows: np.ndarray) -> dict[str, np.ndarray]:
    """Market regime of each day (T,), from data up to the day before (no look-ahead).

    ``returns``: (T, N) daily returns; the market return is their equal-weight mean over the instruments with
    a value. Volatility regime: the standard deviation of the market return over the previous 63 days above
    (``"high vol"``) or at/below (``"low vol"``) its median over the days ``is_rows`` ((T,) bool, the IS days:
    the boundary never reads OS). Trend regime: the compounded market return over the previous 126 days
    ``> 0`` (``"up trend"``) or not (``"down trend"``). Days without a full window are ``""``.
    Returns ``{"volatility": (T,) str, "trend": (T,) str}``.
    """
    r = np.asarray(returns, dtype=np.float64)
    have = np.isfinite(r)
    market = np.where(have, r, 0.0).sum(axis=1) / np.maximum(have.sum(axis=1), 1)   # 0 on a day without data
    T = market.size
    vol = np.full(T, np.nan)
    trend = np.full(T, np.nan)
    if T > VOL_WINDOW:
        win = np.lib.stride_tricks.sliding_window_view(market, VOL_WINDOW)[:-1]   # window ending at t-1
        vol[VOL_WINDOW:] = win.std(axis=1)
    if T > TREND_WINDOW:
        total = np.cumsum(np.concatenate([[0.0], np.log1p(market)]))   # log of the compounded market return
        trend[TREND_WINDOW:] = total[TREND_WINDOW:T] - total[:T - TREND_WINDOW]
    in_is = np.asarray(is_rows, dtype=bool) & np.isfinite(vol)
    median = np.median(vol[in_is]) if in_is.any() else np.nan
    vol_tag = np.where(~np.isfinite(vol), "", np.where(vol > median, "high vol", "low vol"))
    trend_tag = np.where(~np.isfinite(trend), "", np.where(trend > 0, "up trend", "down trend"))
    return {"volatility": vol_tag, "trend": trend_tag}


def regime_rows(pnl: np.ndarray, regimes: dict[str, np.ndarray], periods: dict[str, np.ndarray]) -> list[dict]:
    """The alpha's sharpe (``metrics.sharpe_ratio``) and mean daily PnL (USD) in each regime of each period.

    ``pnl``: (T,) USD on the panel's days (NaN = no value); ``regimes``: ``market_regimes``; ``periods``: name ->
    (T,) bool. Rows ``period, kind, regime, days, sharpe, mean_pnl`` (sharpe None under 2 days)."""
    out = []
    for period, mask in periods.items():
        for kind, tags in regimes.items():
            for tag in sorted(set(tags[mask & np.isfinite(pnl)]) - {""}):
                x = pnl[mask & np.isfinite(pnl) & (tags == tag)]
                out.append({"period": period, "kind": kind, "regime": tag, "days": int(x.size),
                            "sharpe": sharpe_ratio(x), "mean_pnl": float(x.mean()) if x.size else None})
    return out


def _on_panel(dates: np.ndarray, pnl: np.ndarray, panel_dates: np.ndarray) -> np.ndarray:
    """(T,) the stored PnL on the panel's calendar (NaN where the panel day has no stored value)."""
    out = np.full(panel_dates.size, np.nan)
    pos = np.searchsorted(panel_dates, dates)
    hit = (pos < panel_dates.size) & (panel_dates[np.minimum(pos, panel_dates.size - 1)] == dates)
    out[pos[hit]] = pnl[hit]
    return out


def _between(dates: np.ndarray, period: tuple[str, str] | None) -> np.ndarray:
    if period is None:
        return np.zeros(dates.size, dtype=bool)
    return (dates >= np.datetime64(period[0], "D")) & (dates <= np.datetime64(period[1], "D"))


@dataclass
class StoredLibrary:
    """Every stored alpha with a daily PnL (latest successful simulation per hash): ``hashes`` (K,), IS sharpe
    and OS sharpe (K,) lists, ``calendar`` (C,) datetime64[D] (the union of their IS days) and ``pnl`` (K, C)
    USD (NaN where an alpha has no IS value). Read once by ``stored_library`` and shared by many pages."""

    hashes: list[str]
    is_sharpe: list
    os_sharpe: list
    calendar: np.ndarray
    pnl: np.ndarray


def stored_library(con) -> StoredLibrary | None:
    """The ``StoredLibrary`` of the open DuckDB connection ``con`` (None when no stored daily PnL)."""
    import polars as pl

    if "daily_pnl" not in _columns(con, "simulations"):
        return None
    cur = con.cursor()
    try:
        frame = pl.from_arrow(cur.sql(
            "SELECT alpha_hash, is_start, is_end, is_sharpe, os_sharpe, pnl_dates, daily_pnl FROM ("
            " SELECT *, row_number() OVER (PARTITION BY alpha_hash ORDER BY mining_date DESC, field) AS k"
            " FROM simulations WHERE status = 'ok' AND daily_pnl IS NOT NULL) WHERE k = 1 "
            "ORDER BY alpha_hash").to_arrow_table())
    finally:
        cur.close()
    if frame.height == 0:
        return None
    long = (frame.with_row_index("k").select("k", "is_start", "is_end", "pnl_dates", "daily_pnl")
            .explode(["pnl_dates", "daily_pnl"])
            .filter((pl.col("pnl_dates") >= pl.col("is_start")) & (pl.col("pnl_dates") <= pl.col("is_end"))))
    day = long["pnl_dates"].to_numpy().astype("datetime64[D]")
    calendar, col = np.unique(day, return_inverse=True)
    matrix = np.full((frame.height, calendar.size), np.nan)
    matrix[long["k"].to_numpy(), col] = long["daily_pnl"].fill_null(np.nan).to_numpy()
    return StoredLibrary(frame["alpha_hash"].to_list(), frame["is_sharpe"].to_list(), frame["os_sharpe"].to_list(),
                         calendar, matrix)


def _relatives(con, h: str, pnl: np.ndarray, dates: np.ndarray,
               library: StoredLibrary | None = None) -> tuple[list[dict], int]:
    """Top-5 stored alphas (other hashes, latest successful simulation each) by correlation of IS daily PnL with
    (pnl, dates), the alpha's IS PnL, over its last 1,008 IS days (the SELF_CORRELATION window); pairs with
    fewer than 30 common days are not compared. ``library``: ``stored_library(con)`` when already read (many
    pages); read here otherwise. Returns (rows, number compared)."""
    calendar = dates[-SELF_CORR_MAX_DAYS:]
    lib = library if library is not None else stored_library(con)
    if calendar.size < SELF_CORR_MIN_DAYS or lib is None:
        return [], 0
    col = np.searchsorted(lib.calendar, calendar)
    hit = (col < lib.calendar.size) & (lib.calendar[np.minimum(col, lib.calendar.size - 1)] == calendar)
    others = np.full((len(lib.hashes), calendar.size), np.nan)
    others[:, hit] = lib.pnl[:, col[hit]]
    corr = correlation_matrix(pnl[-SELF_CORR_MAX_DAYS:][None, :], others)[0]
    corr[[k for k, other in enumerate(lib.hashes) if other == h]] = np.nan      # not its own relative
    compared = int(np.isfinite(corr).sum())
    best = [int(i) for i in np.argsort(np.where(np.isfinite(corr), -corr, np.inf), kind="stable")[:TOP_RELATIVES]
            if np.isfinite(corr[i])]
    hashes = lib.hashes
    exprs = dict(con.execute(
        "SELECT alpha_hash, first(expression ORDER BY mining_date DESC) FROM candidates WHERE alpha_hash IN "
        f"({', '.join('?' * len(best))}) GROUP BY alpha_hash", [hashes[i] for i in best]).fetchall()) \
        if best and "expression" in _columns(con, "candidates") else {}
    rows = [{"alpha_hash": hashes[i], "expression": exprs.get(hashes[i], ""), "corr": float(corr[i]),
             "is_sharpe": lib.is_sharpe[i], "os_sharpe": lib.os_sharpe[i]} for i in best]
    return rows, compared


def _public(pnl: np.ndarray, dates: np.ndarray, panel, data: PageData) -> None:
    """Fill ``data.public`` / ``public_check`` from ``alpha_core.gate.public`` (the CROWDING check, with the
    library the gate uses: default settings, disk cache ``ALPHA_CACHE_DIR``), or say in ``data.public_note``
    why the section is hidden."""
    try:
        from alpha_core.gate.public import crowding, public_library
    except ImportError as exc:
        data.public_note = f"public library not available ({exc})"
        return
    library = public_library(panel)
    check, top = crowding(pnl, dates, library)
    expressions = dict(zip(library.ids, library.expressions))
    data.public = [{"id": i, "expression": expressions.get(i, ""), "corr": c} for i, c in top]
    data.public_check = {"name": check.name, "result": check.result, "value": check.value, "limit": check.limit,
                         "message": check.message}


def gather(con, hash_or_prefix: str, panel=None) -> PageData:
    """Everything the page of one alpha shows (module doc), read from the open DuckDB connection ``con``.

    ``hash_or_prefix``: an alpha hash or a unique prefix of one (``resolve_hash``); ``panel``: the panel the
    alpha was mined on, for the quintile returns, the regimes and the public library (None = those sections
    are left out, with a note).
    Raises ``PageError`` (unknown / ambiguous prefix, no successful simulation).
    """
    data, sim_settings = _stored(con, hash_or_prefix)
    if panel is None:
        data.notes.append("no panel given: quintile returns, regimes and public relatives are left out")
    else:
        _panel_sections(data, panel, sim_settings)
    return data


def _stored(con, hash_or_prefix: str, library: StoredLibrary | None = None) -> tuple[PageData, Any]:
    """(PageData with every section read from DuckDB, the alpha's SimSettings or None); ``library``: the
    ``stored_library`` when already read."""
    h = resolve_hash(con, hash_or_prefix)
    row = _simulation_row(con, h)
    result = json.loads(row["result_json"])
    cand = _candidate(con, row)
    settings, sim_settings = _brain_settings(cand.get("settings_json"), result.get("settings") or {})
    is_m, os_m = result.get("is") or {}, result.get("os") or {}
    dates = np.asarray([np.datetime64(str(d), "D") for d in row["pnl_dates"] or []], dtype="datetime64[D]")
    pnl = np.asarray([np.nan if v is None else v for v in row["daily_pnl"] or []], dtype=np.float64)
    from alpha_core.gate.checks import fitness_label

    data = PageData(
        alpha_hash=h, expression=cand.get("expression") or "", field=row.get("field"),
        mining_date=_iso(row.get("mining_date")), origin=cand.get("origin"), settings=settings,
        verdict=_verdict(con, row),
        fitness_label=fitness_label(is_m.get("fitness"), int(settings.get("delay", 1) or 1)),
        is_metrics=is_m, os_metrics=os_m, yearly=result.get("yearly") or [], factor=result.get("factor") or {},
        dates=dates, daily_pnl=pnl,
        is_period=(is_m["startDate"], is_m["endDate"]) if is_m.get("startDate") else None,
        os_period=(os_m["startDate"], os_m["endDate"]) if os_m.get("startDate") else None,
        warnings=result.get("warnings") or [])
    data.checks, data.checks_source = _checks(con, row, is_m.get("checks") or [])
    data.decision = _decision(con, h)
    data.submissions = _submissions(con, h)
    is_mask = _between(dates, data.is_period)
    data.relatives, data.relatives_compared = _relatives(con, h, pnl[is_mask], dates[is_mask], library)
    if not data.expression:
        data.notes.append("the candidates table has no expression for this hash")
    return data, sim_settings


def _panel_sections(data: PageData, panel, sim_settings) -> None:
    """Quintile returns (re-simulation), regimes and public relatives of ``data`` on ``panel``."""
    from alpha_core.sim.backtest import panel_returns
    from alpha_core.sim.simulate import simulate_one

    returns = panel_returns(panel)
    panel_dates = np.asarray(panel.dates, dtype="datetime64[D]")
    pnl = _on_panel(data.dates, data.daily_pnl, panel_dates)
    periods = {"IS": _between(panel_dates, data.is_period), "OS": _between(panel_dates, data.os_period)}
    if np.isfinite(pnl).sum() < np.isfinite(data.daily_pnl).sum():
        data.notes.append(f"the panel ({getattr(panel, 'label', '')}) lacks some of the alpha's stored days; "
                          "regimes cover the common days")
    data.regimes = regime_rows(pnl, market_regimes(returns, periods["IS"]),
                               {k: v for k, v in periods.items() if v.any()})
    if sim_settings is None:
        data.notes.append("quintile returns left out: the stored settings are not valid settings")
    elif data.expression:
        outcome = simulate_one(data.expression, panel, sim_settings)
        if outcome.result is None or outcome.result.weights is None:
            data.notes.append(f"quintile returns left out: re-simulating the alpha failed ({outcome.error})")
        else:
            res = outcome.result
            data.quintiles = {"IS": quintile_returns(res.weights, returns, res.is_slice)}
            if res.os_slice.stop > res.os_slice.start:
                data.quintiles["OS"] = quintile_returns(res.weights, returns, res.os_slice)
            again, stored = res.is_.get("sharpe"), data.is_metrics.get("sharpe")
            if again is None or stored is None or abs(again - stored) > 1e-6 * max(1.0, abs(stored)):
                data.notes.append(f"re-simulating on this panel gives IS sharpe {again} (stored {stored}): "
                                  "the panel differs from the one the alpha was mined on")
    is_days = _between(data.dates, data.is_period)
    _public(data.daily_pnl[is_days], data.dates[is_days], panel, data)


def write_page(db_path: str | Path, hash_or_prefix: str, out: Path | None = None, panel=None) -> Path:
    """Build the page of one alpha from the DuckDB file ``db_path`` and write it as one HTML file.

    ``out``: the HTML file (default ``<db dir>/reports/<hash12>.html``; parent folders are created);
    ``panel``: as ``gather`` (None = loaded with ``data.loader.load_panel``).
    Returns the path written. Raises ``PageError`` when ``db_path`` does not exist or the hash lookup fails,
    ``OSError`` when ``out`` cannot be written, ``DataFileError`` when the panel cannot be loaded.
    """
    from alpha_core.page.render import render_page
    from alpha_core.store.writes import reading

    db_path = Path(db_path)
    if not db_path.is_file():
        raise PageError(f"no DuckDB file at {db_path} (set ALPHA_DUCKDB or pass --db)")
    with reading(db_path) as con:   # DuckDB's shared lock only while reading; the panel work runs after
        data, sim_settings = _stored(con, hash_or_prefix)
    if panel is None:
        from alpha_core.data.loader import load_panel

        panel = load_panel()
    _panel_sections(data, panel, sim_settings)
    target = Path(out) if out is not None else db_path.parent / "reports" / f"{data.alpha_hash[:12]}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_page(data), encoding="utf-8")
    return target


def write_pages(db_path: str | Path, hashes: list[str], out_dir: Path, panel) -> dict[str, Path]:
    """``write_page`` of many alphas, reading the DuckDB file once (the stored library of the relatives is
    shared): ``out_dir/<hash12>.html`` each. A page that cannot be built is left out and its error returned
    under the hash as a ``PageError`` instance instead of a path. Raises ``PageError`` when ``db_path`` does not
    exist."""
    from alpha_core.page.render import render_page
    from alpha_core.store.writes import reading

    db_path = Path(db_path)
    if not db_path.is_file():
        raise PageError(f"no DuckDB file at {db_path} (set ALPHA_DUCKDB or pass --db)")
    built: dict[str, Any] = {}
    with reading(db_path) as con:
        library = stored_library(con)
        for h in dict.fromkeys(hashes):
            try:
                built[h] = _stored(con, h, library)
            except PageError as exc:
                built[h] = exc
    out: dict[str, Any] = {}
    for h, item in built.items():
        if isinstance(item, PageError):
            out[h] = item
            continue
        data, sim_settings = item
        _panel_sections(data, panel, sim_settings)
        target = Path(out_dir) / f"{data.alpha_hash[:12]}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_page(data), encoding="utf-8")
        out[h] = target
    return out

