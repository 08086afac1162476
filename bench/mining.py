"""The miner's figures (issue 12, "Measured"): consecutive default mining days against a random baseline.

Prints, side by side (a benchmark, no asserts):

1. ``--days`` consecutive mining days from ``--start``, run as a user runs them (``alpha_assets.mine.run_mine``
   per day, default budget unless ``--budget``) in a fresh temporary DAGSTER_HOME + DuckDB: per day the
   independent winners (the summary's ``independent`` list) and how many keep a positive OS sharpe, the
   simulations run and the wall time; over all days, those winners clustered together by IS daily-PnL
   correlation (``gate.correlation.independent_set``, empty library) and how many have OS sharpe > 0.
2. A random baseline in the same process: as many local simulations as the days ran (``--baseline`` caps it;
   rates are per 1,000 simulations either way), random depth-3 expressions over the panel's MATRIX fields
   (``gen.random_expr.random_expression``, no constants, no long windows), ``BASE_SETTINGS`` with a decay
   drawn from 0..8, judged with the miner's ``gate.checklist.alpha_checklist`` + ``pipeline.verdict``
   (self-correlation, crowding and novelty PENDING: the baseline gets the benefit of the doubt),
   winners clustered with ``independent_set``. Independent winners per 1,000 simulations, miner vs baseline.
3. Throughput: simulations per second through the whole pipeline (the ``run_mine`` wall time; and the search
   runs alone, from the Dagster run records) as a fraction of the raw simulator's rate (``simulate_one``) on a
   random sample of the stored (expression, settings) the days simulated.

``python bench/mining.py [--days 5] [--start 2026-11-17] [--budget N] [--baseline N] [--sample 200]
[--keep DIR] [--json PATH]``. The JSON of every figure is written next to the table (path printed).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_START = "2026-11-17"
BASELINE_DEPTH = 3
MAX_DECAY = 8
TARGET_RATIO = 5.0
TARGET_THROUGHPUT = 0.5


# ---- pure helpers (tests/bench_smoke/test_mining_bench.py) ------------------------------------------
def per_thousand(count: int, simulations: int) -> float:
    """``count`` per 1,000 ``simulations`` (NaN when no simulation ran)."""
    return 1000.0 * count / simulations if simulations else float("nan")


def upper95_per_thousand(count: int, simulations: int) -> float:
    """One-sided 95% upper bound of a Poisson rate per 1,000 ``simulations`` having seen ``count`` events
    (``chi2.ppf(0.95, 2 count + 2) / 2``; 3.0 events when ``count`` is 0, the rule of three)."""
    from scipy.stats import chi2

    return per_thousand(float(chi2.ppf(0.95, 2 * count + 2) / 2), simulations)


def ratio(a: float, b: float) -> float:
    """``a / b``; inf when only ``b`` is 0, NaN when both are 0 or either is NaN."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("nan")
    if b == 0:
        return float("inf") if a > 0 else float("nan")
    return a / b


def baseline_fields(panel, registry) -> tuple[list[str], list[str]]:
    """(the panel's MATRIX fields, its GROUP fields), both sorted."""
    groups = sorted(panel.group_fields)
    fields = sorted(f for f in panel.field_names()
                    if f not in panel.group_fields and getattr(registry.get(f), "kind", "MATRIX") == "MATRIX")
    return fields, groups


def judge(outcome, panel=None) -> dict:
    """One simulated alpha judged as the miner judges it, self-correlation not computed (PENDING).

    ``outcome``: a ``sim.simulate.Outcome``. With ``panel``, the checks of the alpha itself that need the panel
    are computed as the search computes them: FACTOR_EXPOSURE (``gate.factors.style_library(panel)``) and, for
    an alpha that passes every other check, FACTOR_NEUTRAL_SHARPE (one diagnostic simulation). Returns ``{hash, status, verdict, is_sharpe, is_fitness,
    os_sharpe, pnl, dates}`` with ``pnl``/``dates`` the IS daily PnL (USD) and its datetime64[D] days
    (empty unless the alpha simulated)."""
    from alpha_core.gate.checklist import alpha_checklist
    from alpha_core.gen.pipeline import is_pnl, sim_row, verdict

    empty = {"pnl": np.zeros(0), "dates": np.zeros(0, dtype="datetime64[D]")}
    if outcome.result is None:
        return {"hash": outcome.hash, "status": "error", "verdict": "fail", "is_sharpe": None, "is_fitness": None,
                "os_sharpe": None, **empty}
    row = sim_row({}, outcome.result)
    pnl, dates = is_pnl(row)
    factor = None
    if panel is not None and pnl.size:
        from alpha_core.gate.factors import factor_exposure, style_library

        factor = factor_exposure(pnl, dates, style_library(panel))
    checks = alpha_checklist(row, outcome.settings, pnl=pnl, dates=dates, program=outcome.lint.program,
                             factor=factor)
    if panel is not None and pnl.size:
        from alpha_core.gate.factors import with_factor_neutral

        checks = with_factor_neutral(checks, outcome.lint.canonical, panel, outcome.settings)
    return {"hash": outcome.hash, "status": "ok", "verdict": verdict(checks), "is_sharpe": row["is_sharpe"],
            "is_fitness": row["is_fitness"], "os_sharpe": row["os_sharpe"], "pnl": pnl, "dates": dates}


def independent(winners: list[dict]) -> list[dict]:
    """The winners (dicts with ``hash, pnl, dates, is_fitness``) kept by ``independent_set`` (empty library,
    best IS fitness first, as the submission step ranks them), one per hash, in the kept order."""
    from alpha_core.gate.correlation import independent_set

    by_hash = {}
    for w in winners:
        by_hash.setdefault(w["hash"], w)
    items = [(h, w["pnl"], w["dates"], w["is_fitness"] if w["is_fitness"] is not None else float("-inf"))
             for h, w in sorted(by_hash.items())]
    return [by_hash[h] for h in independent_set(items).kept] if items else []


def positive_os(winners: list[dict]) -> int:
    """How many of ``winners`` have an OS sharpe > 0."""
    return sum(1 for w in winners if w.get("os_sharpe") is not None and w["os_sharpe"] > 0)


def random_baseline(panel, n: int, seed: int = 0) -> dict:
    """``n`` random alphas simulated and judged (module doc, item 2).

    Returns ``{simulations, ok, winners, independent (list of winner dicts), positive_os, seconds}``."""
    from alpha_core.gen.random_expr import random_expression
    from alpha_core.gen.templates import BASE_SETTINGS
    from alpha_core.sim.simulate import registry_for, simulate_one

    registry = registry_for(panel)
    fields, groups = baseline_fields(panel, registry)
    rng = np.random.default_rng(seed)
    winners, ok = [], 0
    t0 = time.monotonic()
    for _ in range(n):
        text = random_expression(rng, fields, groups, max_depth=BASELINE_DEPTH, p_constant=0, p_long_window=0)
        settings = {**BASE_SETTINGS, "decay": int(rng.integers(0, MAX_DECAY + 1))}
        j = judge(simulate_one(text, panel, settings, registry), panel)
        ok += j["status"] == "ok"
        if j["verdict"] == "winner":
            winners.append({**j, "expression": text, "settings": settings})
    seconds = time.monotonic() - t0
    kept = independent(winners)
    return {"simulations": n, "ok": ok, "winners": len(winners), "independent": kept,
            "positive_os": positive_os(kept), "seconds": seconds}


def raw_rate(panel, pairs: list[tuple[str, dict]]) -> dict:
    """The raw simulator's rate on ``pairs`` of (expression, settings dict): ``simulate_one`` (lint +
    evaluation + backtest) timed over all of them. Returns ``{n, seconds, per_second}``."""
    from alpha_core.sim.simulate import registry_for, simulate_one

    registry = registry_for(panel)
    t0 = time.monotonic()
    for text, settings in pairs:
        simulate_one(text, panel, settings, registry)
    seconds = time.monotonic() - t0
    return {"n": len(pairs), "seconds": seconds, "per_second": len(pairs) / seconds if seconds > 0 else float("nan")}


# ---- the mining days -------------------------------------------------------------------------------
def _stored_winners(db: str, picks: list[tuple[str, str, str]]) -> list[dict]:
    """IS PnL, fitness and OS sharpe of the stored (mining_date, field, alpha_hash) ``picks``."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store.writes import reading

    out = []
    with reading(db) as con:
        for date, field, h in picks:
            r = con.execute("SELECT is_start, is_end, pnl_dates, daily_pnl, is_fitness, os_sharpe, is_sharpe "
                            "FROM simulations WHERE mining_date = CAST(? AS DATE) AND field = ? AND alpha_hash = ?",
                            [date, field, h]).fetchone()
            pnl, dates = is_pnl({"is_start": r[0], "is_end": r[1], "pnl_dates": r[2], "daily_pnl": r[3]})
            out.append({"hash": h, "date": date, "field": field, "pnl": pnl, "dates": dates, "is_fitness": r[4],
                        "os_sharpe": r[5], "is_sharpe": r[6]})
    return out


def _day_counts(db: str, date: str, fields: list[str]) -> dict:
    """Simulated / replayed / reused and the searches' elapsed seconds of ``date`` on ``fields`` (the last
    ``search_progress`` row of each field)."""
    from alpha_core.store.writes import reading

    with reading(db) as con:
        rows = con.execute(
            "SELECT field, arg_max(simulated, generation), arg_max(replayed, generation), "
            "arg_max(reused, generation), arg_max(elapsed_s, generation), arg_max(stop_reason, generation) "
            "FROM search_progress WHERE mining_date = CAST(? AS DATE) GROUP BY field ORDER BY field",
            [date]).fetchall()
    rows = [r for r in rows if r[0] in fields]
    return {"simulated": sum(r[1] or 0 for r in rows), "replayed": sum(r[2] or 0 for r in rows),
            "reused": sum(r[3] or 0 for r in rows), "search_elapsed_s": sum(r[4] or 0.0 for r in rows),
            "stops": {r[0]: r[5] for r in rows}}


def _run_seconds(instance, run_ids: list[str]) -> float:
    """Sum of the Dagster runs' durations (end - start, from the run records)."""
    total = 0.0
    for rid in run_ids:
        stats = instance.get_run_stats(rid)
        if stats.start_time and stats.end_time:
            total += stats.end_time - stats.start_time
    return total


def mine_days(home: Path, dates: list[str], budget: int | None) -> tuple[list[dict], str]:
    """Run ``run_mine`` for each of ``dates`` with DAGSTER_HOME = ``home`` (DuckDB ``home/alpha.duckdb``);
    returns (one dict per day, the DuckDB path)."""
    db = str(home / "alpha.duckdb")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["ALPHA_DUCKDB"] = db
    import dagster as dg

    from alpha_assets.mine import ensure_dagster_home, run_mine

    ensure_dagster_home()
    instance = dg.DagsterInstance.get()
    days = []
    for date in dates:
        t0 = time.monotonic()
        s = run_mine(date, budget=budget, duckdb_path=db, instance=instance,
                     progress=lambda line: print(f"    {line}", file=sys.stderr, flush=True))
        wall = time.monotonic() - t0
        counts = _day_counts(db, date, s["fields"])
        winners = _stored_winners(db, [(date, w["field"], w["alpha_hash"]) for w in s["independent"]])
        for w, src in zip(winners, s["independent"]):
            w["expression"] = src["expression"]
            w["settings"] = src["settings_json"]
        days.append({"date": date, "fields": s["fields"], "wall_s": wall,
                     "search_run_s": _run_seconds(instance, s["runs"]["mining"]), **counts,
                     "passed": s["passed"], "independent": winners, "positive_os": positive_os(winners)})
        print(f"  {date}: {counts['simulated']} simulated, {s['passed']} winners, {len(winners)} independent "
              f"({positive_os(winners)} OS > 0), {wall:.0f} s", file=sys.stderr, flush=True)
    return days, db


def stored_pairs(db: str, dates: list[str], n: int, seed: int = 0) -> list[tuple[str, dict]]:
    """A random sample of ``n`` distinct (expression, settings) the ``dates`` stored as local simulations."""
    from alpha_core.store.writes import reading

    with reading(db) as con:
        rows = con.execute(
            "SELECT DISTINCT c.alpha_hash, c.expression, c.settings_json FROM candidates c JOIN simulations s "
            "USING (mining_date, field, alpha_hash) WHERE s.source = 'local' AND c.mining_date IN "
            f"({', '.join('CAST(? AS DATE)' for _ in dates)}) ORDER BY c.alpha_hash", dates).fetchall()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False) if rows else []
    return [(rows[i][1], json.loads(rows[i][2])) for i in sorted(pick)]


# ---- report ----------------------------------------------------------------------------------------
def _strip(w: dict) -> dict:
    return {k: v for k, v in w.items() if k not in ("pnl", "dates")}


def figures(days: list[dict], pooled: list[dict], base: dict, raw: dict) -> dict:
    """Every figure of the run as JSON-safe data."""
    sims = sum(d["simulated"] for d in days)
    wall = sum(d["wall_s"] for d in days)
    search_s = sum(d["search_run_s"] for d in days)
    miner_rate = per_thousand(len(pooled), sims)
    base_rate = per_thousand(len(base["independent"]), base["simulations"])
    loop_s = sum(d["search_elapsed_s"] for d in days)
    pipe, search_only = (sims / wall if wall else float("nan")), (sims / search_s if search_s else float("nan"))
    loop = sims / loop_s if loop_s else float("nan")
    return {
        "days": [{**{k: v for k, v in d.items() if k != "independent"},
                  "independent": [_strip(w) for w in d["independent"]]} for d in days],
        "miner": {"simulations": sims, "wall_s": wall, "search_run_s": search_s, "search_loop_s": loop_s,
                  "independent_per_day_sum": sum(len(d["independent"]) for d in days),
                  "pooled_independent": len(pooled), "pooled_positive_os": positive_os(pooled),
                  "pooled": [_strip(w) for w in pooled], "independent_per_1000": miner_rate},
        "baseline": {**{k: v for k, v in base.items() if k != "independent"},
                     "independent": [_strip(w) for w in base["independent"]],
                     "n_independent": len(base["independent"]), "independent_per_1000": base_rate},
        "ratio_miner_vs_baseline": ratio(miner_rate, base_rate),
        "baseline_upper95_per_1000": upper95_per_thousand(len(base["independent"]), base["simulations"]),
        "ratio_lower_bound": ratio(miner_rate, upper95_per_thousand(len(base["independent"]), base["simulations"])),
        "throughput": {"pipeline_per_s": pipe, "search_runs_per_s": search_only, "search_loop_per_s": loop,
                       "raw": raw, "fraction_pipeline": ratio(pipe, raw["per_second"]),
                       "fraction_search_runs": ratio(search_only, raw["per_second"]),
                       "fraction_search_loop": ratio(loop, raw["per_second"])},
    }


def table(f: dict) -> str:
    """The compact table printed at the end."""
    def num(x, p=2):
        if x is None or (isinstance(x, float) and np.isnan(x)):
            return "-"
        return "inf" if np.isinf(x) else f"{x:.{p}f}"

    lines = ["day         fields                              simulated  winners  indep  OS>0   wall s  search s"]
    for d in f["days"]:
        lines.append(f"{d['date']}  {','.join(d['fields'])[:34]:34s}  {d['simulated']:9d}  {d['passed']:7d}  "
                     f"{len(d['independent']):5d}  {d['positive_os']:4d}  {d['wall_s']:7.0f}  {d['search_run_s']:8.0f}")
    m, b, t = f["miner"], f["baseline"], f["throughput"]
    lines += [
        f"{len(f['days'])} days: {m['simulations']} simulations, {m['independent_per_day_sum']} independent winners by day, "
        f"{m['pooled_independent']} pairwise independent over the days ({m['pooled_positive_os']} with OS sharpe > 0)",
        f"independent winners per 1,000 simulations: miner {num(m['independent_per_1000'])} | random baseline "
        f"{num(b['independent_per_1000'])} ({b['n_independent']} independent of {b['winners']} winners in "
        f"{b['simulations']} simulations, {b['ok']} ran, {b['positive_os']} OS > 0) | ratio "
        f"{num(f['ratio_miner_vs_baseline'], 1)}x (target >= {TARGET_RATIO:.0f}x)",
        f"  baseline rate 95% upper bound {num(f['baseline_upper95_per_1000'])} per 1,000 -> ratio at least "
        f"{num(f['ratio_lower_bound'], 1)}x",
        f"throughput: pipeline {num(t['pipeline_per_s'])} sims/s (run_mine wall time) | search runs "
        f"{num(t['search_runs_per_s'])} (Dagster run records) | search loops {num(t['search_loop_per_s'])} "
        f"(search_progress.elapsed_s) | raw simulate_one {num(t['raw']['per_second'])} sims/s on "
        f"{t['raw']['n']} stored alphas",
        f"  fraction of raw: pipeline {num(100 * t['fraction_pipeline'], 0)}% | search runs "
        f"{num(100 * t['fraction_search_runs'], 0)}% | search loops {num(100 * t['fraction_search_loop'], 0)}% "
        f"(target >= {100 * TARGET_THROUGHPUT:.0f}%, pipeline)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run the days, the baseline and the raw rate, print the table, write the JSON."""
    p = argparse.ArgumentParser(prog="bench/mining.py", description=__doc__.split("\n")[0])
    p.add_argument("--days", type=int, default=5)
    p.add_argument("--start", default=DEFAULT_START)
    p.add_argument("--budget", type=int, default=None, help="local simulations per field (default: the miner's)")
    p.add_argument("--baseline", type=int, default=None, help="cap on the baseline's simulations")
    p.add_argument("--sample", type=int, default=200, help="stored alphas re-simulated for the raw rate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", default=None, help="DAGSTER_HOME to use and keep (default: a temp dir, removed)")
    p.add_argument("--json", default=None, help="where to write the figures (default: next to the run, printed)")
    a = p.parse_args(argv)
    if a.days < 1 or (a.budget is not None and a.budget < 1) or (a.baseline is not None and a.baseline < 1):
        p.error("--days, --budget and --baseline must be >= 1")
    try:
        start = dt.date.fromisoformat(a.start)
    except ValueError as exc:
        p.error(f"--start: {a.start!r} is not a date YYYY-MM-DD ({exc})")
    dates = [(start + dt.timedelta(days=i)).isoformat() for i in range(a.days)]
    home = Path(a.keep).resolve() if a.keep else Path(tempfile.mkdtemp(prefix="mining_bench_"))
    if a.keep and (home / "alpha.duckdb").exists():
        p.error(f"--keep {home}: already holds alpha.duckdb; the benchmark starts from a fresh DAGSTER_HOME")
    home.mkdir(parents=True, exist_ok=True)
    out = Path(a.json) if a.json else (home if a.keep else Path(tempfile.gettempdir())) / \
        f"mining_bench_{a.start}_{a.days}d_b{a.budget or 'default'}.json"
    print(f"mining {dates[0]}..{dates[-1]} in {home} (budget {a.budget or 'default'} per field)", file=sys.stderr)
    from alpha_assets.mine import MineError

    try:
        days, db = mine_days(home, dates, a.budget)
        from alpha_core.data.loader import load_panel

        panel = load_panel()
        pooled = independent([w for d in days for w in d["independent"]])
        sims = sum(d["simulated"] for d in days)
        n_base = min(sims, a.baseline) if a.baseline else sims
        print(f"random baseline: {n_base} simulations", file=sys.stderr, flush=True)
        base = random_baseline(panel, n_base, a.seed)
        raw = raw_rate(panel, stored_pairs(db, dates, a.sample, a.seed))
    except MineError as exc:
        print(f"bench/mining.py: alpha mine: {exc}", file=sys.stderr)
        return 2
    finally:
        if not a.keep:
            shutil.rmtree(home, ignore_errors=True)
    f = figures(days, pooled, base, raw)
    f["command"] = " ".join(["python", "bench/mining.py", *(argv if argv is not None else sys.argv[1:])])
    out.write_text(json.dumps(f, indent=1, default=str))
    print(table(f))
    print(f"figures: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
