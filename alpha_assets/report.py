"""Materialisation metadata: best-alpha Markdown tables and the cumulative PnL image (no secrets: only
expressions, hashes and metrics ever enter metadata)."""
from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import dagster as dg
import numpy as np


def _fmt(v, nd=3) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}" if isinstance(v, float) else str(v)


PAGES_PER_STEP = 8       # result pages written by the day's gate (the top of the submission order)
SEARCH_PAGES = 3         # result pages written per search (its best winners); about 0.3-0.5 s a page


def md_cell(text, code: bool = False) -> str:
    """``text`` safe inside a GFM table cell: ``|`` escaped (GFM removes the backslash, in code spans too),
    newlines folded; outside a code span (``code`` False) ``<``, ``>`` and ``&`` are HTML-escaped as well."""
    text = str(text if text is not None else "").replace("\n", " ")
    if code:
        return text.replace("`", "'").replace("|", "\\|")
    return html.escape(text, quote=False).replace("|", "\\|")


def _settings_short(settings_json) -> str:
    try:
        s = json.loads(settings_json or "{}")
    except ValueError:
        return ""
    keys = (("decay", "decay"), ("neutralization", "neut"), ("truncation", "trunc"), ("universe", "univ"))
    return ", ".join(f"{short} {s[k]}" for k, short in keys if k in s)


def best_table_md(rows: list[dict], n: int = 5, pages: dict | None = None) -> str:
    """Markdown table of the top ``n`` rows (by IS fitness) with hash, field, expression, settings and metrics;
    a hash with a result page in ``pages`` (hash -> path) links to it."""
    if not rows:
        return "_no simulated alpha_"
    rows = sorted(rows, key=lambda r: -(r.get("is_fitness") if r.get("is_fitness") is not None else -1e9))[:n]
    head = "| hash | field | expression | settings | verdict | IS sharpe | IS fitness | turnover | OS sharpe |\n" \
           "|---|---|---|---|---|---|---|---|---|\n"
    body = "".join(
        f"| {_hash_cell(r['alpha_hash'], pages)} | {md_cell(r.get('field'))} | `{md_cell(r.get('expression'), code=True)}` | "
        f"{md_cell(_settings_short(r.get('settings_json')))} | {md_cell(r.get('verdict'))} | "
        f"{_fmt(r.get('is_sharpe'))} | {_fmt(r.get('is_fitness'))} | "
        f"{_fmt(r.get('is_turnover'))} | {_fmt(r.get('os_sharpe'))} |\n" for r in rows)
    return head + body


def _hash_cell(h: str, pages: dict | None) -> str:
    path = (pages or {}).get(h)
    return f"[`{h[:12]}`]({Path(path).resolve().as_uri()})" if path else f"`{h[:12]}`"


def order_md(order: list[dict], pages: dict | None = None, n: int = 30) -> str:
    """Markdown table of the day's submission order (rank, decision, reason, deflated sharpe, IS and OS sharpe)."""
    if not order:
        return "_no winner to rank_"
    head = ("| rank | decision | hash | field | expression | settings | deflated sharpe | IS sharpe | IS fitness | "
            "OS sharpe | reason |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['rank']} | **{r['decision']}** | {_hash_cell(r['alpha_hash'], pages)} | {md_cell(r['field'])} | "
        f"`{md_cell(r['expression'], code=True)}` | {md_cell(_settings_short(r.get('settings_json')))} | "
        f"{_fmt(r.get('deflated_sharpe'))} | {_fmt(r.get('is_sharpe'))} | {_fmt(r.get('is_fitness'))} | "
        f"{_fmt(r.get('os_sharpe'))} | {md_cell(r.get('reason'))} |\n" for r in order[:n])
    more = f"\n_{len(order) - n} more in table submission_order_" if len(order) > n else ""
    return head + body + more


def alpha_pages(db_path: str, hashes: list[str], out_dir: Path | None, panel) -> dict[str, str]:
    """Write the result page of each hash under ``out_dir/reports`` (``alpha_core.page.write_pages``: one DuckDB
    read for all); returns hash -> path. A page that cannot be written is logged and left out (the run goes on)."""
    from alpha_core.page import write_pages

    if out_dir is None or not hashes:
        return {}
    pages = {}
    for h, path in write_pages(db_path, hashes, out_dir / "reports", panel).items():
        if isinstance(path, Exception):
            dg.get_dagster_logger().warning(f"result page of {h[:12]} not written: {path}")
        else:
            pages[h] = str(path)
    return pages


def page_links(pages: dict[str, str]) -> dict:
    """Metadata entries ``page_<hash12>`` (a path the UI shows with a copy button) for every written page."""
    return {f"page_{h[:12]}": dg.MetadataValue.path(p) for h, p in pages.items()}


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


def alpha_checks_md(trials) -> str:
    """Markdown table of the alpha checks (BRAIN-style, per alpha; not Dagster's asset checks) over a search's
    trials: how many PASS / FAIL / WARNING / PENDING per check."""
    counts: dict[str, dict[str, int]] = {}
    for t in trials:
        for c in t.checks:
            counts.setdefault(c.name, {}).setdefault(c.result, 0)
            counts[c.name][c.result] += 1
    if not counts:
        return "_no alpha checked_"
    head = "| alpha check | PASS | FAIL | WARNING | PENDING |\n|---|---|---|---|---|\n"
    return head + "".join(f"| {name} | {c.get('PASS', 0)} | {c.get('FAIL', 0)} | {c.get('WARNING', 0)} | "
                          f"{c.get('PENDING', 0)} |\n" for name, c in counts.items())


def search_metadata(result, date: str, field: str, config, pages: dict | None = None) -> dict[str, dict]:
    """Materialization metadata of the search step, per table it writes (``candidates``, ``lint_results``,
    ``simulations``, ``checklists``): counts, the per-generation progress, why the search stopped, the winners
    (linked to their result pages in ``pages``, hash -> path). ``dagster/row_count`` is each table's rows."""
    trials = result.trials
    last = result.progress[-1] if result.progress else {}
    origins: dict[str, int] = {}
    for t in trials:
        origins[t.origin] = origins.get(t.origin, 0) + 1
    rows = [{"alpha_hash": t.alpha_hash, "field": field, "expression": t.expression, "verdict": t.verdict,
             "settings_json": json.dumps(t.settings, sort_keys=True),
             **{k: t.row.get(k) for k in ("is_sharpe", "is_fitness", "is_turnover", "os_sharpe")}} for t in trials]
    winners = [r for r in rows if r["verdict"] == "winner"]
    ok = [t for t in trials if t.ok]
    stop = f"{result.stop_reason}: {result.stop_detail}" if result.stop_detail else result.stop_reason
    return {
        "candidates": {"dagster/row_count": len(trials), "by_origin": dg.MetadataValue.json(origins),
                       "budget": config.budget, "stop_reason": stop, "kill_switch_tripped": result.tripped,
                       "progress": dg.MetadataValue.md(progress_md(result.progress)),
                       "settings_bandit": dg.MetadataValue.json(result.bandit)},
        "lint_results": {"dagster/row_count": len(trials),
                         "lint_rejected_proposals": result.counts.get("lint_rejected", 0),
                         "novelty_rejected_proposals": result.counts.get("novelty_rejected", 0)},
        "simulations": {"dagster/row_count": len(trials), "simulated_now": result.counts.get("simulated", 0),
                        "replayed": result.counts.get("replayed", 0),
                        "reused_from_other_partitions": result.counts.get("reused", 0),
                        "duplicates_skipped": result.counts.get("duplicates", 0),
                        "ok": len(ok), "errors": len(trials) - len(ok)},
        "checklists": {"dagster/row_count": sum(len(t.checks) for t in trials),
                       "alpha_check_rows": sum(len(t.checks) for t in trials), "alphas_checked": len(trials),
                       "winner": len(winners), "near_miss": sum(t.verdict == "near_miss" for t in trials),
                       "independent_winners": int(last.get("independent_passes") or 0),
                       "factor_neutral_runs": result.counts.get("factor_neutral_runs", 0),
                       "alpha_checks": dg.MetadataValue.md(alpha_checks_md(trials)),
                       "best_alphas": dg.MetadataValue.md(best_table_md(winners or rows, n=8, pages=pages)),
                       **page_links(pages or {})},
    }
