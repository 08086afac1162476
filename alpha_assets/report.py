"""Materialisation metadata: best-alpha Markdown tables and the cumulative PnL image (no secrets: only
expressions, hashes and metrics ever enter metadata)."""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import dagster as dg
import numpy as np


def _fmt(v, nd=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def best_table_md(rows: list[dict], n: int = 5) -> str:
    """Markdown table of the top ``n`` rows (by IS fitness) with hash, field, expression and metrics."""
    if not rows:
        return "_no simulated alpha_"
    rows = sorted(rows, key=lambda r: -(r.get("is_fitness") if r.get("is_fitness") is not None else -1e9))[:n]
    head = "| hash | field | expression | verdict | IS sharpe | IS fitness | turnover | OS sharpe |\n" \
           "|---|---|---|---|---|---|---|---|\n"
    body = "".join(
        f"| `{r['alpha_hash'][:12]}` | {r.get('field', '')} | `{(r.get('expression') or '').replace('|', '¦')}` | "
        f"{r.get('verdict', '')} | {_fmt(r.get('is_sharpe'))} | {_fmt(r.get('is_fitness'))} | "
        f"{_fmt(r.get('is_turnover'))} | {_fmt(r.get('os_sharpe'))} |\n" for r in rows)
    return head + body


def pnl_png(dates, pnl, title: str) -> bytes:
    """PNG bytes of the cumulative PnL (USD millions) of ``pnl`` (T,) over ``dates`` (T,)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = np.asarray(dates, dtype="datetime64[D]")
    p = np.nan_to_num(np.asarray([np.nan if v is None else v for v in pnl], dtype=np.float64))
    fig, ax = plt.subplots(figsize=(6, 2.6), dpi=80)
    ax.plot(d, np.cumsum(p) / 1e6, lw=1)
    ax.set_title(title[:80], fontsize=8)
    ax.set_ylabel("cum. PnL ($M)", fontsize=8)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def pnl_metadata(row: dict, artifacts_dir: Path | None, name: str) -> dict:
    """``best_alpha_pnl`` (Markdown with the embedded PNG) and ``best_alpha_pnl_path`` (file under
    ``artifacts_dir``) for a ``simulations`` row with ``pnl_dates``/``daily_pnl``."""
    if not row or not row.get("daily_pnl"):
        return {}
    png = pnl_png(row["pnl_dates"], row["daily_pnl"], f"{row.get('expression', '')} ({row['alpha_hash'][:12]})")
    out = {"best_alpha_pnl": dg.MetadataValue.md(
        f"![cumulative PnL](data:image/png;base64,{base64.b64encode(png).decode()})")}
    if artifacts_dir is not None:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        path = artifacts_dir / f"{name}.png"
        path.write_bytes(png)
        out["best_alpha_pnl_path"] = dg.MetadataValue.path(str(path))
    return out


def progress_md(progress: list[dict]) -> str:
    """Markdown table of a search's generations (best IS fitness, passes, independent passes, diversity)."""
    if not progress:
        return "_no generation_"
    head = "| gen | evaluated | simulated | reused | best score | best IS fitness | passes | independent | diversity | s |\n" \
           "|---|---|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {p['generation']} | {p['evaluated']} | {p['simulated']} | {p['reused']} | {_fmt(p['best_score'])} | "
        f"{_fmt(p['best_is_fitness'])} | {p['passes']} | {p['independent_passes']} | {_fmt(p['diversity'], 2)} | "
        f"{_fmt(float(p['elapsed_s']), 1)} |\n" for p in progress)


def search_metadata(result, date: str, field: str, config) -> dict[str, dict]:
    """Materialization metadata of the search step, per table it writes (``candidates``, ``lint_results``,
    ``simulations``, ``checklists``): counts, the per-generation progress, why the search stopped, the winners."""
    trials = result.trials
    last = result.progress[-1] if result.progress else {}
    origins: dict[str, int] = {}
    for t in trials:
        origins[t.origin] = origins.get(t.origin, 0) + 1
    rows = [{"alpha_hash": t.alpha_hash, "field": field, "expression": t.expression, "verdict": t.verdict,
             **{k: t.row.get(k) for k in ("is_sharpe", "is_fitness", "is_turnover", "os_sharpe")}} for t in trials]
    winners = [r for r in rows if r["verdict"] == "winner"]
    ok = [t for t in trials if t.ok]
    stop = f"{result.stop_reason}: {result.stop_detail}" if result.stop_detail else result.stop_reason
    return {
        "candidates": {"rows": len(trials), "by_origin": dg.MetadataValue.json(origins),
                       "budget": config.budget, "stop_reason": stop, "kill_switch_tripped": result.tripped,
                       "progress": dg.MetadataValue.md(progress_md(result.progress)),
                       "settings_bandit": dg.MetadataValue.json(result.bandit)},
        "lint_results": {"rows": len(trials), "lint_rejected_proposals": result.counts.get("lint_rejected", 0)},
        "simulations": {"rows": len(trials), "simulated_now": result.counts.get("simulated", 0),
                        "replayed": result.counts.get("replayed", 0),
                        "reused_from_other_partitions": result.counts.get("reused", 0),
                        "duplicates_skipped": result.counts.get("duplicates", 0),
                        "ok": len(ok), "errors": len(trials) - len(ok)},
        "checklists": {"rows": sum(len(t.checks) for t in trials), "candidates_checked": len(trials),
                       "winner": len(winners), "near_miss": sum(t.verdict == "near_miss" for t in trials),
                       "independent_winners": int(last.get("independent_passes") or 0),
                       "best_alphas": dg.MetadataValue.md(best_table_md(winners or rows, n=8))},
    }
