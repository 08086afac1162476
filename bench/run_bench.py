#!/usr/bin/env python
"""Simulator benchmark: our evaluator + simulator against the same alphas written in pandas.

    python bench/run_bench.py [--quick] [--large/--no-large] [--repeat K] [--json out.json]

Prints, per panel (the real S&P 500 panel, then a synthetic TOP3000 x 10-year panel, 2,520 x 3,000), one
row per expression: our evaluation ms, our lint + evaluation + simulation ms, the pandas baseline ms
(evaluation + simulation), the speed ratio, and the agreement of the two independent implementations (max
abs difference of the raw alpha, NaN-pattern mismatches, IS sharpe difference). Then medians, totals, the
scaling from the real to the large panel, peak memory and the targets of the issue.

Everything runs pinned to ONE thread and ONE core (thread-count variables set below before numpy is
imported; CPU affinity set to one core where the OS allows). Each large-panel phase runs in its own
(spawned) process so its peak RSS is its own. See bench/README.md for how to read the output.
"""
from __future__ import annotations

import os

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "NUMBA_NUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
for _v in _THREAD_VARS:
    os.environ[_v] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from expressions import CASES, LARGE_PANDAS_SUBSET, SMOKE_SUBSET, Case  # noqa: E402
from pandas_baseline import PandasOps, frames_from_panel, simulate_pandas, universe_frames  # noqa: E402

FIELDS = ("open", "high", "low", "close", "volume", "vwap", "returns", "adv20", "sector", "industry", "subindustry")
LARGE_SHAPE = (2520, 3000)
QUICK_LARGE_SHAPE = (1008, 1500)
QUICK_CASES = SMOKE_SUBSET + ("corr_hv", "decay_ret", "winsor_z", "grank_ind", "if_up", "vars")
ALPHA_RTOL = 1e-7  # agreement: |ours - pandas| <= 1e-7 * max(1, |pandas|) on every finite cell


def _pin_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"core {cpu}"
    except (AttributeError, OSError):
        return "affinity not settable"


def _proc_status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    except OSError:
        pass
    return None


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB.

    Linux: ``VmHWM`` (per address space, so it restarts at exec and can be reset, unlike ``ru_maxrss``
    which a spawned child inherits from its parent); elsewhere ``getrusage`` ``ru_maxrss``.
    """
    hwm = _proc_status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak_rss() -> bool:
    """Restart the peak-RSS count at the current RSS (Linux ``clear_refs`` 5); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _settings(case: Case) -> dict:
    return {"universe": "TOP500", **case.settings}


# ------------------------------------------------------------------ our side

def run_ours(panel, cases, repeat: int, keep=None, save_dir=None) -> list[dict]:
    """Time lint+eval+sim (``simulate`` from text) and eval alone (``raw_alpha`` on the linted program).

    Each case: one cold call (includes any JIT compile), then best of ``repeat`` timed calls.
    ``keep``: names whose raw alpha is returned (or saved as .npy in ``save_dir``) for the agreement check.
    """
    from alpha_core.expr import lint
    from alpha_core.sim.simulate import raw_alpha, registry_for, simulate

    reg = registry_for(panel)
    rows = []
    for case in cases:
        s = _settings(case)
        t0 = time.perf_counter()
        result = simulate(case.expr, panel, s)
        cold = time.perf_counter() - t0
        sims, evals = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            result = simulate(case.expr, panel, s)
            sims.append(time.perf_counter() - t0)
        checked = lint(case.expr, reg)
        for _ in range(repeat):
            t0 = time.perf_counter()
            _, raw = raw_alpha(checked, panel, s)
            evals.append(time.perf_counter() - t0)
        row = {"name": case.name, "kind": case.kind, "cold_ms": cold * 1e3, "eval_ms": min(evals) * 1e3,
               "sim_ms": min(sims) * 1e3, "sharpe": result.is_.get("sharpe"), "pnl": result.daily_pnl}
        if keep is not None and case.name in keep:
            if save_dir:
                np.save(Path(save_dir) / f"{case.name}.npy", raw)
                np.save(Path(save_dir) / f"{case.name}.pnl.npy", result.daily_pnl)
            else:
                row["alpha"] = raw
        if save_dir:
            row.pop("pnl")
        rows.append(row)
    return rows


# ------------------------------------------------------------------ pandas side

def run_pandas(panel, cases) -> list[dict]:
    """Time the pandas baseline (evaluation, then SIMULATION.md §3 pipeline) once per case.

    Frames and the universe are built once per panel before timing (a quant keeps them loaded).
    """
    frames = frames_from_panel(panel, FIELDS)
    universe, u_next = universe_frames(frames["close"], frames["volume"], 500)
    groups = {g: frames[g] for g in ("sector", "industry", "subindustry")}
    rows = []
    for case in cases:
        s = _settings(case)
        ops = PandasOps(frames, None if s.get("pasteurization") == "OFF" else u_next)
        t0 = time.perf_counter()
        alpha = case.pandas(ops)
        t1 = time.perf_counter()
        sim = simulate_pandas(alpha, s, universe, groups, frames["returns"])
        t2 = time.perf_counter()
        rows.append({"name": case.name, "eval_ms": (t1 - t0) * 1e3, "total_ms": (t2 - t0) * 1e3,
                     "sharpe": sim["sharpe"], "alpha": alpha.to_numpy(dtype=float), "pnl": sim["pnl"].to_numpy()})
    return rows


def agreement(ours: np.ndarray, theirs: np.ndarray, panel) -> dict:
    """Cell-by-cell comparison of two (T, N) raw alphas (every row, the last one included).

    Returns max abs diff over cells finite in both, the count of NaN-pattern mismatches, the number of
    cells outside tolerance, the worst cell (relative to max(1, |pandas|)) and the first NaN mismatch.
    """
    a, b = ours, theirs
    fa, fb = np.isfinite(a), np.isfinite(b)
    both = fa & fb
    diff = np.where(both, np.abs(a - b), 0.0)
    rel = diff / np.maximum(1.0, np.abs(np.where(both, b, 0.0)))
    out = {"max_abs_diff": float(diff.max()) if both.any() else 0.0, "nan_mismatch": int((fa != fb).sum()),
           "max_rel_diff": float(rel.max()) if both.any() else 0.0, "n_cells_off": int((rel > ALPHA_RTOL).sum()),
           "n_cells_compared": int(both.sum())}

    def _cell(t, n):
        return {"date": str(panel.dates[t]), "ticker": panel.tickers[n], "ours": float(a[t, n]), "pandas": float(b[t, n])}

    if out["max_rel_diff"] > 0:
        out["worst"] = _cell(*np.unravel_index(int(rel.argmax()), rel.shape))
    if out["nan_mismatch"]:
        out["first_nan_mismatch"] = _cell(*np.argwhere(fa != fb)[0])
    out["ok"] = out["nan_mismatch"] == 0 and out["max_rel_diff"] <= ALPHA_RTOL
    return out


def compare(ours_row: dict, pandas_row: dict, panel, ours_alpha=None, ours_pnl=None) -> dict:
    """Timing ratio and agreement of one alpha: ours vs pandas (alpha cells, daily PnL, IS sharpe)."""
    out = {"pandas_ms": pandas_row["total_ms"], "pandas_eval_ms": pandas_row["eval_ms"],
           "pandas_sharpe": pandas_row["sharpe"]}
    if ours_alpha is not None:
        out["agreement"] = agreement(ours_alpha, pandas_row["alpha"], panel)
        out["pnl_max_abs_diff"] = float(np.nanmax(np.abs(ours_pnl - pandas_row["pnl"])))
    s1, s2 = ours_row["sharpe"], pandas_row["sharpe"]
    s1 = float("nan") if s1 is None else s1
    if np.isfinite(s1) and np.isfinite(s2):
        out["sharpe_diff"] = abs(s1 - s2)
    else:
        out["sharpe_diff"] = 0.0 if np.isfinite(s1) == np.isfinite(s2) else float("inf")
    return out


def _merge(ours_rows, compared: dict) -> list[dict]:
    merged = []
    for o in ours_rows:
        row = {k: v for k, v in o.items() if k not in ("alpha", "pnl")}
        if o["name"] in compared:
            row.update(compared[o["name"]])
            row["ratio"] = row["pandas_ms"] / o["sim_ms"]
        merged.append(row)
    return merged


def compare_all(ours_rows, pandas_rows, panel) -> dict:
    by_ours = {r["name"]: r for r in ours_rows}
    return {p["name"]: compare(by_ours[p["name"]], p, panel, by_ours[p["name"]].get("alpha"),
                               by_ours[p["name"]].get("pnl")) for p in pandas_rows}


# ------------------------------------------------------------------ large panel (child processes)

def _large_ours(shape, names, repeat, save_dir, keep):
    _pin_one_core()
    from alpha_core.data.synthetic import synthetic_panel

    cases = [c for c in CASES if c.name in names]
    run_ours(synthetic_panel(300, 600, seed=1), cases, 1)  # compile / warm caches on a small panel first
    import gc

    gc.collect()
    reset = _reset_peak_rss()
    base = _proc_status_mb("VmRSS") or _peak_rss_mb()
    t0 = time.perf_counter()
    panel = synthetic_panel(*shape, seed=0)
    for f in FIELDS:
        panel[f]
    build_s = time.perf_counter() - t0
    loaded = _peak_rss_mb()
    rows = run_ours(panel, cases, repeat, keep=keep, save_dir=save_dir)
    return {"rows": rows, "rss_warm_mb": base, "rss_panel_mb": loaded, "peak_rss_mb": _peak_rss_mb(),
            "build_s": build_s, "label": panel.label, "peak_reset": reset}


def _large_pandas(shape, names, ours_rows, save_dir):
    """Pandas baseline on the large panel, compared in this process with our alphas saved in ``save_dir``."""
    _pin_one_core()
    from alpha_core.data.synthetic import synthetic_panel

    panel = synthetic_panel(*shape, seed=0)
    by_ours = {r["name"]: r for r in ours_rows}
    compared = {}
    for row in run_pandas(panel, [c for c in CASES if c.name in names]):
        alpha = np.load(Path(save_dir) / f"{row['name']}.npy")
        pnl = np.load(Path(save_dir) / f"{row['name']}.pnl.npy")
        compared[row["name"]] = compare(by_ours[row["name"]], row, panel, alpha, pnl)
        del row
    return {"compared": compared, "peak_rss_mb": _peak_rss_mb()}


def _in_child(fn, *args):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


# ------------------------------------------------------------------ report

def _fmt(x, spec="8.1f"):
    return format(x, spec) if isinstance(x, (int, float)) and x is not None and np.isfinite(x) else " " * 7 + "-"


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n== {title}")
    print(f"{'expression':15s} {'kind':6s} {'cold ms':>8s} {'eval ms':>8s} {'e+sim ms':>8s} {'pandas ms':>9s} "
          f"{'ratio':>6s} {'alpha maxdiff':>13s} {'nan!=':>6s} {'sharpe':>7s} {'d.sharpe':>9s} agree")
    for r in rows:
        ag = r.get("agreement")
        verdict = "-" if ag is None else ("ok" if ag["ok"] and r["sharpe_diff"] <= 1e-6 else "DIFF")
        print(f"{r['name']:15s} {r['kind']:6s} {_fmt(r['cold_ms'])} {_fmt(r['eval_ms'])} {_fmt(r['sim_ms'])} "
              f"{_fmt(r.get('pandas_ms'), '9.1f')} {_fmt(r.get('ratio'), '6.1f')} "
              f"{(format(ag['max_abs_diff'], '13.2e') if ag else ' ' * 12 + '-')} "
              f"{(format(ag['nan_mismatch'], '6d') if ag else ' ' * 5 + '-')} {_fmt(r['sharpe'], '7.3f')} "
              f"{(format(r['sharpe_diff'], '9.1e') if 'sharpe_diff' in r else ' ' * 8 + '-')} {verdict}")


def summarize(rows: list[dict]) -> dict:
    with_pd = [r for r in rows if "pandas_ms" in r]
    out = {"n": len(rows), "median_eval_ms": statistics.median(r["eval_ms"] for r in rows),
           "median_sim_ms": statistics.median(r["sim_ms"] for r in rows),
           "median_lint_backtest_ms": statistics.median(r["sim_ms"] - r["eval_ms"] for r in rows),
           "total_sim_s": sum(r["sim_ms"] for r in rows) / 1e3, "total_cold_s": sum(r["cold_ms"] for r in rows) / 1e3}
    if with_pd:
        out["n_pandas"] = len(with_pd)
        out["total_pandas_s"] = sum(r["pandas_ms"] for r in with_pd) / 1e3
        out["total_ours_same_s"] = sum(r["sim_ms"] for r in with_pd) / 1e3
        out["total_ratio"] = out["total_pandas_s"] / out["total_ours_same_s"]
        out["median_ratio"] = statistics.median(r["ratio"] for r in with_pd)
        out["min_ratio"] = min(r["ratio"] for r in with_pd)
        agreeing = [r for r in with_pd if r.get("agreement", {}).get("ok") and r["sharpe_diff"] <= 1e-6]
        out["agree"] = f"{len(agreeing)}/{len(with_pd)}"
    return out


def print_summary(title: str, s: dict) -> None:
    print(f"-- {title}: {s['n']} alphas; median eval {s['median_eval_ms']:.1f} ms, median lint+eval+sim "
          f"{s['median_sim_ms']:.1f} ms (of which lint + backtest ~{s['median_lint_backtest_ms']:.0f} ms), total {s['total_sim_s']:.2f} s (cold first calls {s['total_cold_s']:.2f} s)")
    if "n_pandas" in s:
        print(f"   pandas on {s['n_pandas']} of them: {s['total_pandas_s']:.2f} s vs ours {s['total_ours_same_s']:.2f} s"
              f" -> total ratio {s['total_ratio']:.1f}x, median per-alpha ratio {s['median_ratio']:.1f}x"
              f" (min {s['min_ratio']:.1f}x); agreement {s['agree']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"{len(QUICK_CASES)} alphas, repeat 1, large panel "
                    f"{QUICK_LARGE_SHAPE[0]}x{QUICK_LARGE_SHAPE[1]}")
    ap.add_argument("--large", action=argparse.BooleanOptionalAction, default=True,
                    help="also run the synthetic TOP3000 x 10-year panel (default on)")
    ap.add_argument("--repeat", type=int, default=None, help="timed calls per alpha, best kept (default 3, quick 1)")
    ap.add_argument("--json", type=Path, default=None, help="write all figures to this JSON file")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    cases = [c for c in CASES if c.name in QUICK_CASES] if args.quick else list(CASES)
    names = [c.name for c in cases]
    large_shape = QUICK_LARGE_SHAPE if args.quick else LARGE_SHAPE
    pd_large = [n for n in names if n in LARGE_PANDAS_SUBSET]

    core = _pin_one_core()
    print(f"alpha simulator benchmark: {len(cases)} alphas; one thread ({', '.join(_THREAD_VARS)} = 1), {core}; "
          f"timings = best of {repeat} after one cold call; python {sys.version.split()[0]}, numpy {np.__version__}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on the machine inflates timings)")
    from alpha_core.data.loader import load_panel

    t0 = time.perf_counter()
    panel = load_panel()
    for f in FIELDS:
        panel[f]
    print(f"real panel: {panel.label} T={panel.T} N={panel.N} ({panel.T * panel.N:,} cells), "
          f"load {time.perf_counter() - t0:.1f} s; settings TOP500 (+ per-alpha overrides, see expressions.py)")
    ours = run_ours(panel, cases, repeat, keep=set(names))
    pand = run_pandas(panel, cases)
    real_rows = _merge(ours, compare_all(ours, pand, panel))
    del ours, pand
    print_table("real panel", real_rows)
    real = summarize(real_rows)
    print_summary("real panel", real)
    report = {"cases": len(cases), "repeat": repeat, "real": {"rows": real_rows, "summary": real,
                                                              "cells": panel.T * panel.N}}

    if args.large:
        cells = large_shape[0] * large_shape[1]
        print(f"\nlarge panel: synthetic {large_shape[0]} dates x {large_shape[1]} tickers ({cells:,} cells, "
              f"{cells / (panel.T * panel.N):.1f}x the real panel); universe TOP3000 runs as TOP500 locally "
              f"(SIMULATION.md §1); each phase in its own process; repeat 1")
        with tempfile.TemporaryDirectory(prefix="alpha_bench_") as tmp:
            lo = _in_child(_large_ours, large_shape, names, 1, tmp, set(pd_large))
            print(f"pandas baseline on the large panel: {len(pd_large)} alphas only ({', '.join(pd_large)}) "
                  f"to keep the run short")
            lp = _in_child(_large_pandas, large_shape, pd_large, lo["rows"], tmp)
            large_rows = _merge(lo["rows"], lp["compared"])
        print_table("large panel", large_rows)
        large = summarize(large_rows)
        print_summary("large panel", large)
        per_cell_real = real["total_sim_s"] / real["n"] / (panel.T * panel.N)  # per alpha per cell
        per_cell_large = large["total_sim_s"] / large["n"] / cells
        per_alpha = statistics.median(lr["sim_ms"] / rr["sim_ms"] for lr, rr in zip(large_rows, real_rows))
        scaling = {"cells_ratio": cells / (panel.T * panel.N), "time_ratio_total": large["total_sim_s"] / real["total_sim_s"],
                   "per_cell_ns_real": per_cell_real * 1e9, "per_cell_ns_large": per_cell_large * 1e9,
                   "per_cell_ratio": per_cell_large / per_cell_real, "median_alpha_time_ratio": per_alpha}
        print(f"-- scaling: cells x{scaling['cells_ratio']:.1f}, total time x{scaling['time_ratio_total']:.1f}, "
              f"median per-alpha time x{per_alpha:.1f}; time per alpha per cell {scaling['per_cell_ns_real']:.1f} ns (real) -> "
              f"{scaling['per_cell_ns_large']:.1f} ns (large), ratio {scaling['per_cell_ratio']:.2f} (<= 1 = no worse than linear)")
        print(f"-- memory (large panel, our process): peak RSS {lo['peak_rss_mb']:.0f} MB "
              f"(process incl. imports and warm-up: {lo['rss_warm_mb']:.0f} MB{'' if lo['peak_reset'] else ' peak, not resettable'}, with the panel's fields loaded {lo['rss_panel_mb']:.0f} MB; "
              f"panel build {lo['build_s']:.1f} s); pandas process peak RSS {lp['peak_rss_mb']:.0f} MB")
        report["large"] = {"rows": large_rows, "summary": large, "cells": cells, "shape": large_shape,
                           "scaling": scaling, "peak_rss_mb": lo["peak_rss_mb"], "rss_panel_mb": lo["rss_panel_mb"],
                           "pandas_peak_rss_mb": lp["peak_rss_mb"], "pandas_subset": pd_large}

    print("\n== targets (issue 'Local simulator' part 4)" + (" -- --quick: a 12-alpha subset, judge targets on a full run"
                                                          if args.quick else ""))
    targets = [("median eval+sim per alpha, real panel <= 20 ms", real["median_sim_ms"] <= 20.0,
                f"{real['median_sim_ms']:.1f} ms"),
               ("pandas / ours >= 10x (total, same alphas, same run)", real["total_ratio"] >= 10.0,
                f"{real['total_ratio']:.1f}x (median per alpha {real['median_ratio']:.1f}x)")]
    if args.large:
        targets += [("large panel: time grows no worse than linearly with cells", scaling["per_cell_ratio"] <= 1.1,
                     f"per-cell ratio {scaling['per_cell_ratio']:.2f} (10% noise allowance)"),
                    ("large panel: peak memory < 4 GB", lo["peak_rss_mb"] < 4096, f"{lo['peak_rss_mb']:.0f} MB")]
    for label, ok, value in targets:
        print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {value}")
    report["targets"] = [{"target": t, "pass": bool(ok), "value": v} for t, ok, v in targets]
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
