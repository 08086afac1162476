"""The gate's figures (issue 13, "Measured"): the alpha checklist plus bulk self-correlation and novelty for
1,000 candidates against a 5,000-alpha library on the real panel. Target: under 10 s and 2 GB.

Setup (not timed, reported): ``--candidates`` + ``--library`` random lint-clean expressions over the panel's
MATRIX fields (``gen.random_expr``, seeded), simulated on the real panel with ``BASE_SETTINGS`` (their IS daily
PnL and expressions), or, with ``--db PATH``, the simulations stored in a mined DuckDB file (the newest
``--candidates`` rows with daily PnL are the candidates, the rest the library).

Timed, each step printed beside its figure:

1. ``NoveltyIndex`` of the library's expressions, then ``closest`` + ``novelty_check`` per candidate;
2. ``checks.self_correlations``: every candidate against every library alpha (one matrix);
3. ``public.crowding_matrix`` against the public alphas (their library is built or read from its cache first,
   not timed);
4. ``checklist.alpha_checklist`` per candidate with those results (the 17 checks);
5. ``order.day_gate``: deflated sharpe, the ranking and the greedy self-correlation walk with the library as
   the accepted set (no look-ahead proofs: those run only for picks, about 0.1 s each).

Peak memory: the process's peak resident set (VmHWM) over the timed part (reset before it through
``/proc/self/clear_refs``), and the peak of the whole run.

``python bench/gates.py [--candidates 1000] [--library 5000] [--db PATH] [--json PATH]``
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS, TARGET_MB = 10.0, 2048.0


def _vm(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return float(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def simulated_alphas(panel, n: int, seed: int) -> list[dict]:
    """``n`` random expressions that simulate with an IS daily PnL: {hash, expression, program, row, pnl, dates}."""
    from alpha_core.gen.pipeline import is_pnl, sim_row
    from alpha_core.gen.random_expr import random_expression
    from alpha_core.gen.templates import BASE_SETTINGS
    from alpha_core.sim.simulate import iter_simulate, registry_for

    reg = registry_for(panel)
    fields = sorted(f for f in panel.field_names() if f not in panel.group_fields
                    and (reg.get(f) is None or reg.get(f).kind == "MATRIX"))
    groups = sorted(panel.group_fields)
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        exprs = [random_expression(rng, fields, groups, max_depth=3, p_constant=0, p_long_window=0)
                 for _ in range(max(64, 2 * (n - len(out))))]
        for outcome in iter_simulate(exprs, panel, BASE_SETTINGS, registry=reg):
            if outcome.result is None or outcome.hash in seen:
                continue
            row = sim_row({}, outcome.result)
            pnl, dates = is_pnl(row)
            if pnl.size < 60 or not np.nanstd(pnl) > 0:
                continue
            row = {k: v for k, v in row.items() if k not in ("pnl_dates", "daily_pnl", "result_json")}  # arrays kept
            seen.add(outcome.hash)
            out.append({"hash": outcome.hash, "expression": outcome.canonical, "program": outcome.lint.program,
                        "row": row, "pnl": pnl, "dates": dates, "settings": outcome.settings})
            if len(out) == n:
                break
    return out


def stored_alphas(db: str, n_cand: int, n_lib: int) -> tuple[list[dict], list[dict]]:
    """Candidates and library from a mined DuckDB file (rows with daily PnL, newest first)."""
    import duckdb

    from alpha_core.expr import lint
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.sim.settings import SimSettings
    from alpha_core.store.schema import columns

    con = duckdb.connect(db, read_only=True)
    cols = [c for c in columns("simulations") if c not in ("run_id", "result_json")]
    cur = con.execute(f"SELECT c.expression, c.settings_json, {', '.join('s.' + c for c in cols)} FROM simulations s "
                      "JOIN candidates c USING (mining_date, field, alpha_hash) WHERE s.daily_pnl IS NOT NULL "
                      "ORDER BY s.mining_date DESC, s.alpha_hash LIMIT ?", [n_cand + n_lib])
    names = [d[0] for d in cur.description]
    out = []
    for r in cur.fetchall():
        row = dict(zip(names, r))
        pnl, dates = is_pnl(row)
        out.append({"hash": row["alpha_hash"], "expression": row["expression"],
                    "program": lint(row["expression"]).program, "row": row, "pnl": pnl, "dates": dates,
                    "settings": SimSettings(**json.loads(row["settings_json"]))})
    con.close()
    return out[:n_cand], out[n_cand:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=1000)
    ap.add_argument("--library", type=int, default=5000)
    ap.add_argument("--db", default=None, help="take the alphas from this mined DuckDB file")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)

    from alpha_core.data.loader import load_panel
    from alpha_core.gate.checklist import alpha_checklist
    from alpha_core.gate.checks import self_correlations
    from alpha_core.gate.novelty import NoveltyIndex, novelty_check
    from alpha_core.gate.order import Finalist, TrialStats, day_gate
    from alpha_core.gate.public import crowding_matrix, public_library

    t0 = time.perf_counter()
    panel = load_panel()
    if args.db:
        cands, lib = stored_alphas(args.db, args.candidates, args.library)
        source = f"stored simulations of {args.db}"
    else:
        everything = simulated_alphas(panel, args.candidates + args.library, seed=13)
        cands, lib = everything[:args.candidates], everything[args.candidates:]
        source = "random expressions simulated on the real panel (BASE_SETTINGS)"
    public = public_library(panel)
    setup = time.perf_counter() - t0
    print(f"setup: {len(cands)} candidates, {len(lib)} library alphas ({source}); "
          f"{len(public.ids)} public alphas; {setup:.1f} s (not timed)")

    base = _vm("VmRSS")
    _reset_peak()
    steps = {}
    t = time.perf_counter()
    index = NoveltyIndex((a["hash"], a["expression"]) for a in lib)
    novelty = [novelty_check(index.closest(c["program"])) for c in cands]
    steps[f"novelty (index + {len(cands):,} queries)"] = time.perf_counter() - t
    t = time.perf_counter()
    accepted = [(a["pnl"], a["dates"], a["row"].get("is_sharpe") or 0.0, a["hash"]) for a in lib]
    selfc = self_correlations([(c["pnl"], c["dates"]) for c in cands], accepted)
    steps["self-correlation (matrix)"] = time.perf_counter() - t
    t = time.perf_counter()
    crowd = crowding_matrix([(c["pnl"], c["dates"]) for c in cands], public)
    steps["crowding (matrix)"] = time.perf_counter() - t
    t = time.perf_counter()
    from alpha_core.gate.checks import Check

    finalists = []
    for c, nv, sc, cr in zip(cands, novelty, selfc, crowd):
        best = np.nanmax(cr) if np.isfinite(cr).any() else None
        crowding = Check("CROWDING", "FAIL" if best is not None and best >= 0.7 else "PASS", best, 0.7)
        checks = alpha_checklist(c["row"], c["settings"], pnl=c["pnl"], dates=c["dates"], program=c["program"],
                                 self_corr=sc, novelty=nv, crowding=crowding)
        finalists.append(Finalist(c["hash"], "bench", c["expression"], "{}", c["row"], c["pnl"], c["dates"], checks))
    steps["checklist (17 checks each)"] = time.perf_counter() - t
    t = time.perf_counter()
    sharpes = np.array([c["row"].get("is_sharpe") or 0.0 for c in cands + lib]) / math.sqrt(252)
    stats = TrialStats(len(cands) + len(lib), float(sharpes.var()), 0.1, (len(cands) + len(lib)) * 0.9 + 0.1)
    out = day_gate("2026-12-03", finalists, accepted, stats)
    steps["day gate (deflated sharpe, order, greedy self-correlation)"] = time.perf_counter() - t
    total = sum(steps.values())
    peak = _vm("VmHWM")

    print(f"\n{'step':<62}{'seconds':>9}")
    for name, sec in steps.items():
        print(f"{name:<62}{sec:>9.2f}")
    print(f"{'total':<62}{total:>9.2f}   target < {TARGET_SECONDS:.0f} s: {'met' if total < TARGET_SECONDS else 'NOT met'}")
    print(f"{'peak resident memory during the timed part (MB)':<62}{peak:>9.0f}   target < {TARGET_MB:.0f} MB: "
          f"{'met' if peak < TARGET_MB else 'NOT met'}")
    print(f"{'  of which held before it (panel, inputs, libraries) (MB)':<62}{base:>9.0f}")
    fails = {}
    for f in finalists:
        for c in f.checks:
            if c.result == "FAIL":
                fails[c.name] = fails.get(c.name, 0) + 1
    print(f"\nchecks failed among the {len(cands)} candidates: {dict(sorted(fails.items()))}")
    print(f"gate: {sum(r['decision'] == 'submit' for r in out.order_rows)} chosen of {len(out.order_rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"steps": steps, "total_s": total, "peak_mb": peak, "base_mb": base,
                                               "candidates": len(cands), "library": len(lib), "source": source,
                                               "fails": fails}, indent=2))
        print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
