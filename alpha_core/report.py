"""Human-readable output of the ``alpha`` command: lint verdicts, metric tables, PnL charts."""
from __future__ import annotations

import sys
from typing import Any, Sequence

import numpy as np

from alpha_core.data.registry import FieldRegistry, default_registry

SPARK = " ▁▂▃▄▅▆▇█"


def registry_for_lint() -> FieldRegistry:
    """The embedded registry; its ``local`` flags are the local recipes, which the panel provides."""
    return default_registry()


def load_panel_or_exit():
    """Load the real panel, or exit with a one-line message naming the missing or malformed file."""
    from alpha_core.data.loader import DataFileError, load_panel

    try:
        return load_panel()
    except DataFileError as exc:
        raise SystemExit(f"alpha: {exc}") from None


def format_lint(result) -> str:
    """One verdict line, then one line per diagnostic with a caret under its span."""
    d = result.to_dict()
    text = d["expression"].replace("\n", " ")
    if d["ok"]:
        lines = [f"ok    {d['canonical']}    {d['hash'][:12]}"]
    else:
        lines = [f"FAIL  {_clip(text, 100)}"]
    for kind, items in (("error", d["errors"]), ("warning", d["warnings"])):
        for item in items:
            lines.append(f"  {kind} {item['code']} at {item['start']}-{item['end']}: {item['message']}")
            if kind == "error" and len(text) <= 160:
                width = max(1, item["end"] - item["start"])
                lines.append("      " + text)
                lines.append("      " + " " * item["start"] + "^" * min(width, len(text) - item["start"] + 1))
    return "\n".join(lines)


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def field_rows() -> list[dict[str, Any]]:
    """Registry rows with local availability (what the panel provides, from the field recipes)."""
    return [
        {"id": f.id, "kind": f.kind, "dataset": f.dataset, "category": f.category, "coverage": f.coverage,
         "user_count": f.user_count, "alpha_count": f.alpha_count, "local": f.local,
         "local_source": f.local_source, "description": f.description}
        for f in sorted(default_registry(), key=lambda f: (f.dataset, f.id))
    ]


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain fixed-width table of ``columns``."""
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [min(48, max([len(c)] + [len(row[i]) for row in cells])) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    out += ["  ".join(_clip(v, w).ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


METRICS = ("sharpe", "fitness", "returns", "turnover", "drawdown", "margin", "longCount", "shortCount", "maxWeight")


FACTOR = ("icMean", "icIR", "rankIcMean", "rankIcIR", "quantileSpread")


def format_simulation(outcome) -> str:
    """Metrics (IS and OS side by side), factor statistics, the checks, yearly rows and a PnL chart."""
    if outcome.result is None:
        return f"FAIL  {outcome.expression}\n  {outcome.error}"
    d = outcome.to_dict()
    is_, os_ = d.get("is") or {}, d.get("os") or {}
    factor = d.get("factor") or {}
    f_is, f_os = factor.get("is") or {}, factor.get("os") or {}
    lines = [f"alpha {d['canonical']}    {d['hash'][:12]}",
             f"  settings {_settings_line(d.get('settings', {}))}",
             f"  {'':<16}{'IS':>12}{'OS':>12}"]
    for key in ("startDate", "endDate", *METRICS, "subUniverseSharpe"):
        lines.append(f"  {key:<16}{_fmt(is_.get(key)):>12}{_fmt(os_.get(key)):>12}")
    for key in FACTOR:
        lines.append(f"  {key:<16}{_fmt(f_is.get(key)):>12}{_fmt(f_os.get(key)):>12}")
    checks = is_.get("checks") or []
    if checks:
        lines.append("  checks  " + "  ".join(f"{c['name']}:{c['result']}" for c in checks))
    yearly = d.get("yearly") or []
    if yearly:
        lines.append("  yearly  " + "  ".join(f"{y['year']}{'*' if y['stage'] == 'OS' else ''}:"
                                              f"{_fmt(y.get('sharpe'))}" for y in yearly) + "   (* = OS)")
    for w in d.get("warnings") or []:
        lines.append(f"  warning {w.get('code', '') if isinstance(w, dict) else ''} "
                     f"{w.get('message', '') if isinstance(w, dict) else w}")
    pnl = getattr(outcome.result, "daily_pnl", None)
    if pnl is not None:
        lines.append("  cum PnL " + sparkline(np.cumsum(np.nan_to_num(np.asarray(pnl, dtype=float)))))
    return "\n".join(lines)


def _settings_line(settings: dict) -> str:
    keys = ("universe", "delay", "decay", "neutralization", "truncation", "pasteurization", "nanHandling")
    return " ".join(f"{k}={settings.get(k)}" for k in keys if k in settings)


def sparkline(series: np.ndarray, width: int = 60) -> str:
    """A one-line chart of ``series`` resampled to ``width`` characters."""
    series = np.asarray(series, dtype=float)
    if series.size == 0 or not np.isfinite(series).any():
        return "(no PnL)"
    idx = np.linspace(0, series.size - 1, min(width, series.size)).astype(int)
    s = series[idx]
    lo, hi = np.nanmin(s), np.nanmax(s)
    span = hi - lo if hi > lo else 1.0
    chars = "".join(SPARK[int(round((v - lo) / span * (len(SPARK) - 1)))] for v in s)
    return f"{chars}  {series[-1] / 1e6:+.2f}M$"


def plot_pnl(outcomes, path: str) -> None:
    """Write the cumulative PnL of each simulated outcome to a PNG (matplotlib, headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for o in outcomes:
        pnl = np.nan_to_num(np.asarray(o.result.daily_pnl, dtype=float))
        ax.plot(o.result.dates, np.cumsum(pnl) / 1e6, label=_clip(o.canonical or o.expression, 60))
    if outcomes:
        first = outcomes[0].result
        os_start = first.dates[first.os_slice.start] if first.os_slice.start < len(first.dates) else None
        if os_start is not None:
            ax.axvline(os_start, color="grey", linestyle="--", linewidth=1)
            ax.text(os_start, ax.get_ylim()[1], " OS", va="top", color="grey", fontsize=8)
    ax.set_ylabel("cumulative PnL (USD millions, $20M book)")
    ax.grid(alpha=0.3)
    if outcomes:
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        print(f"alpha: cannot write {path}: {exc.strerror}", file=sys.stderr)
    finally:
        plt.close(fig)
