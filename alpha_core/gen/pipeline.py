"""Pure stage functions of the daily mining pipeline (ARCHITECTURE.md "Data flow of one candidate").

Each function takes plain data (polars frames, dicts, a Panel) and returns the rows of one table (list of
dicts without ``run_id``), so every Dagster asset is "read inputs, call one function, write the partition".

Verdict of a simulated candidate (stored on each of its ``checklists`` rows):
``winner`` = no check FAILed (PENDING/WARNING do not block, gate ``all_passed``); ``near_miss`` = only
LOW_SHARPE and/or LOW_FITNESS failed, each with value >= 80 % of its limit; ``fail`` otherwise.
"""
from __future__ import annotations

import json
import math
from typing import Iterable

import numpy as np
import polars as pl

from alpha_core.gen.templates import Candidate

NEAR_MISS_FRACTION = 0.8
NEAR_MISS_CHECKS = ("LOW_SHARPE", "LOW_FITNESS")


def _f(v) -> float | None:
    if v is None:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ---- registry -------------------------------------------------------------------------------------
def registry_rows(registry) -> list[dict]:
    """``field_registry`` rows from a ``FieldRegistry`` (sorted by id)."""
    keys = ("id", "dataset", "category", "kind", "description", "region", "delay", "coverage", "user_count",
            "alpha_count", "local_source", "local")
    return [{k: getattr(f, k) for k in keys} for f in sorted(registry, key=lambda f: f.id)]


def mineable_fields(registry, panel_fields: Iterable[str] | None = None) -> list[str]:
    """Ids of local MATRIX fields (the ``field`` dynamic partitions), restricted to ``panel_fields`` if given."""
    have = None if panel_fields is None else set(panel_fields)
    return sorted(f.id for f in registry if f.local and f.kind == "MATRIX" and (have is None or f.id in have))


# ---- candidates -----------------------------------------------------------------------------------
def candidate_hash(expression: str, settings: dict, registry=None) -> tuple[str, object]:
    """(alpha hash, LintResult): SHA-256 of the canonical text and settings identity (FASTEXPR.md §9).

    When the expression does not lint clean the hash is taken over the raw text instead (such a row is
    then rejected by ``lint_results``). Raises ``SettingsError`` for invalid settings.
    """
    from alpha_core.expr import alpha_hash, lint
    from alpha_core.sim.settings import SimSettings

    ident = json.loads(SimSettings(**settings).identity_json())
    res = lint(expression, registry) if registry is not None else lint(expression)
    text = res.canonical if res.ok and res.canonical else expression
    return alpha_hash(text, ident), res


def candidate_rows(mining_date: str, field: str, candidates: Iterable[Candidate], registry=None) -> list[dict]:
    """``candidates`` rows for one (mining_date, field); duplicates (same hash) keep the first occurrence."""
    out, seen = [], set()
    for c in candidates:
        h, _ = candidate_hash(c.expression, c.settings, registry)
        if h in seen:
            continue
        seen.add(h)
        out.append({"mining_date": mining_date, "field": field, "alpha_hash": h, "expression": c.expression,
                    "settings_json": c.settings_json(), "origin": c.origin, "parent_hash": c.parent_hash,
                    "template": c.template, "archetype": c.archetype})
    return out


# ---- lint -----------------------------------------------------------------------------------------
def lint_rows(candidates: pl.DataFrame, registry=None) -> list[dict]:
    """``lint_results`` rows: one per candidate (FASTEXPR.md §8 diagnostics as JSON, codes comma-joined)."""
    from alpha_core.expr import lint

    out = []
    for r in candidates.iter_rows(named=True):
        res = lint(r["expression"], registry) if registry is not None else lint(r["expression"])
        diags = [{k: d.to_dict()[k] for k in ("code", "severity", "message", "start", "end")} for d in res.diagnostics]
        out.append({"mining_date": r["mining_date"], "field": r["field"], "alpha_hash": r["alpha_hash"],
                    "ok": bool(res.ok), "canonical": res.canonical,
                    "n_errors": sum(d["severity"] == "error" for d in diags),
                    "n_warnings": sum(d["severity"] == "warning" for d in diags),
                    "codes": ",".join(sorted({d["code"] for d in diags})),
                    "diagnostics_json": json.dumps(diags, sort_keys=True)})
    return out


# ---- simulations ----------------------------------------------------------------------------------
def _sim_row(base: dict, result) -> dict:
    d = result.to_dict()
    is_, os_ = d.get("is") or {}, d.get("os") or {}
    dates = [str(x) for x in np.asarray(result.dates, dtype="datetime64[D]")]
    pnl = [None if not math.isfinite(v) else float(v) for v in np.asarray(result.daily_pnl, dtype=np.float64)]
    return {**base, "status": "ok", "error": None,
            "is_sharpe": _f(is_.get("sharpe")), "is_fitness": _f(is_.get("fitness")),
            "is_turnover": _f(is_.get("turnover")), "is_returns": _f(is_.get("returns")),
            "is_drawdown": _f(is_.get("drawdown")), "is_margin": _f(is_.get("margin")),
            "is_pnl": _f(is_.get("pnl")), "is_long_count": _f(is_.get("longCount")),
            "is_short_count": _f(is_.get("shortCount")), "is_max_weight": _f(is_.get("maxWeight")),
            "is_sub_universe_sharpe": _f(is_.get("subUniverseSharpe")),
            "os_sharpe": _f(os_.get("sharpe")), "os_returns": _f(os_.get("returns")),
            "os_turnover": _f(os_.get("turnover")), "os_fitness": _f(os_.get("fitness")),
            "is_start": is_.get("startDate"), "is_end": is_.get("endDate"),
            "result_json": json.dumps(d, sort_keys=True), "pnl_dates": dates, "daily_pnl": pnl}


def simulation_rows(clean: pl.DataFrame, panel, registry=None) -> list[dict]:
    """``simulations`` rows (source ``local``) for lint-clean candidates (columns of ``candidates``).

    A candidate the local simulator cannot run gets status ``unsupported`` (BRAIN-only operator/field) or
    ``error`` (invalid settings, evaluation budget, any error of its own) with ``CODE: message``, never an
    exception (``simulate.simulate_one``): one bad candidate never costs the partition.
    """
    from alpha_core.sim.simulate import simulate_one

    metric_cols = ("is_sharpe", "is_fitness", "is_turnover", "is_returns", "is_drawdown", "is_margin", "is_pnl",
                   "is_long_count", "is_short_count", "is_max_weight", "is_sub_universe_sharpe", "os_sharpe",
                   "os_returns", "os_turnover", "os_fitness", "is_start", "is_end", "result_json",
                   "pnl_dates", "daily_pnl")
    out = []
    for r in clean.iter_rows(named=True):
        base = {"mining_date": r["mining_date"], "field": r["field"], "alpha_hash": r["alpha_hash"],
                "source": "local"}
        try:
            outcome = simulate_one(r["expression"], panel, json.loads(r["settings_json"]), registry)
            status, error = ("ok", None) if outcome.result is not None else (
                "unsupported" if outcome.code == "UNSUPPORTED_LOCAL" else "error", outcome.error)
        except (TypeError, ValueError) as exc:  # settings_json that is not JSON
            status, error = "error", f"E_SETTINGS: settings_json is not JSON ({exc})"
        if status == "ok":
            out.append(_sim_row(base, outcome.result))
        else:
            out.append({**base, "status": status, "error": error[:500], **{c: None for c in metric_cols}})
    return out


def is_pnl(row: dict) -> tuple[np.ndarray, np.ndarray]:
    """(pnl (D,) USD, dates (D,) datetime64[D]) of a ``simulations`` row restricted to its IS metric days."""
    if not row.get("daily_pnl") or row.get("is_start") is None:
        return np.zeros(0), np.zeros(0, dtype="datetime64[D]")
    dates = np.asarray([np.datetime64(str(d), "D") for d in row["pnl_dates"]])
    pnl = np.asarray([np.nan if v is None else v for v in row["daily_pnl"]], dtype=np.float64)
    keep = (dates >= np.datetime64(str(row["is_start"]), "D")) & (dates <= np.datetime64(str(row["is_end"]), "D"))
    return pnl[keep], dates[keep]


# ---- checklists -----------------------------------------------------------------------------------
def verdict(checks) -> str:
    """``winner`` / ``near_miss`` / ``fail`` from a list of ``Check`` (see module doc)."""
    failed = [c for c in checks if c.result == "FAIL"]
    if not failed:
        return "winner"
    if all(c.name in NEAR_MISS_CHECKS and c.value is not None and c.limit
           and c.value >= NEAR_MISS_FRACTION * c.limit for c in failed):
        return "near_miss"
    return "fail"


def checklist_rows(sims: pl.DataFrame, settings_by_hash: dict[str, dict],
                   accepted: list[tuple[np.ndarray, np.ndarray, float]]) -> list[dict]:
    """``checklists`` rows: SIMULATION.md §7 checks of every ``ok`` simulation, self-correlation against
    ``accepted`` ((IS pnl, dates, sharpe) of the alphas already submitted before this day).

    A simulation that is not ``ok`` gets one row ``SIMULATION`` = FAIL (verdict ``fail``)."""
    from alpha_core.gate.checks import self_correlation, submission_checks
    from alpha_core.sim.settings import SimSettings

    out = []
    for r in sims.iter_rows(named=True):
        base = {"mining_date": r["mining_date"], "field": r["field"], "alpha_hash": r["alpha_hash"]}
        if r["status"] != "ok":
            out.append({**base, "check_name": "SIMULATION", "result": "FAIL", "value": None, "limit_value": None,
                        "verdict": "fail"})
            continue
        settings = SimSettings(**settings_by_hash[r["alpha_hash"]])
        pnl, dates = is_pnl(r)
        corr = self_correlation(pnl, dates, accepted)
        metrics = {"sharpe": r["is_sharpe"], "fitness": r["is_fitness"], "turnover": r["is_turnover"],
                   "maxWeight": r["is_max_weight"]}
        checks = submission_checks(metrics, settings, r["is_sub_universe_sharpe"], corr)
        v = verdict(checks)
        for c in checks:
            out.append({**base, "check_name": c.name, "result": c.result, "value": _f(c.value),
                        "limit_value": _f(c.limit), "verdict": v})
    return out


# ---- winner memory ----------------------------------------------------------------------------------
def winner_memory_rows(candidates: pl.DataFrame, sims: pl.DataFrame, verdicts: pl.DataFrame) -> list[dict]:
    """``winner_memory`` rows rebuilt from ALL candidates / simulations / verdicts (so a rebuild is idempotent):
    per (field, archetype, settings_key = "decay/neutralization/truncation") the counts of candidates,
    ok simulations, winners and near misses, the best IS fitness and its hash, the last mining date."""
    if candidates.height == 0:
        return []
    c = candidates.select("mining_date", "field", "alpha_hash", "archetype", "settings_json").with_columns(
        pl.col("archetype").fill_null("unknown"),
        pl.col("settings_json").map_elements(_settings_key, return_dtype=pl.Utf8).alias("settings_key"))
    s = sims.select("mining_date", "field", "alpha_hash", "status", "is_fitness")
    v = verdicts.select("mining_date", "field", "alpha_hash", "verdict") if verdicts.height else \
        pl.DataFrame(schema={"mining_date": pl.Date, "field": pl.Utf8, "alpha_hash": pl.Utf8, "verdict": pl.Utf8})
    on = ["mining_date", "field", "alpha_hash"]
    j = c.join(s, on=on, how="left").join(v, on=on, how="left")
    out = []
    for (field, arch, skey), g in sorted(j.group_by(["field", "archetype", "settings_key"]),
                                         key=lambda kv: tuple(str(x) for x in kv[0])):
        ok = g.filter(pl.col("status") == "ok")
        best = ok.filter(pl.col("is_fitness").is_not_null()).sort(["is_fitness", "alpha_hash"],
                                                                   descending=[True, False])
        out.append({"field": field, "archetype": arch, "settings_key": skey, "n_candidates": g.height,
                    "n_simulated": ok.height, "n_passed": g.filter(pl.col("verdict") == "winner").height,
                    "n_near_miss": g.filter(pl.col("verdict") == "near_miss").height,
                    "best_fitness": _f(best["is_fitness"][0]) if best.height else None,
                    "best_hash": best["alpha_hash"][0] if best.height else None,
                    "last_mining_date": g["mining_date"].max()})
    return out


def _settings_key(settings_json: str) -> str:
    s = json.loads(settings_json)
    return f"d{s.get('decay', 0)}/{s.get('neutralization', '')}/t{s.get('truncation', '')}"
