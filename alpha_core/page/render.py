"""The result page of one alpha as ONE self-contained HTML file: inline CSS, charts as inline SVG drawn by
matplotlib (text kept as text), no script and no network, so it renders offline in any browser.

Every text taken from the database (expressions, messages, reasons) goes through ``html.escape``.
"""
from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

if TYPE_CHECKING:
    from alpha_core.page.data import PageData

IS_LABEL = "IS (in-sample)"
OS_LABEL = "OS (out-of-sample, holdout)"
IS_COLOR, OS_COLOR = "#dbeafe", "#fde68a"

# (key, label, kind): kind formats the value (see _cell)
METRIC_ROWS = (("startDate", "start", "text"), ("endDate", "end", "text"), ("days", "days", "int"),
               ("sharpe", "Sharpe", "num2"), ("fitness", "Fitness", "num2"), ("returns", "Returns", "pct"),
               ("turnover", "Turnover", "pct"), ("drawdown", "Drawdown", "pct"), ("margin", "Margin", "bps"),
               ("pnl", "PnL", "usd"), ("longCount", "Long count", "int"), ("shortCount", "Short count", "int"),
               ("maxWeight", "Max weight", "pct"), ("subUniverseSharpe", "Sub-universe Sharpe", "num2"))
YEARLY_COLUMNS = (("year", "Year", "text"), ("stage", "Stage", "text"), ("sharpe", "Sharpe", "num2"),
                  ("returns", "Returns", "pct"), ("turnover", "Turnover", "pct"), ("drawdown", "Drawdown", "pct"),
                  ("margin", "Margin", "bps"), ("fitness", "Fitness", "num2"), ("longCount", "Long count", "int"),
                  ("shortCount", "Short count", "int"))
FACTOR_ROWS = (("icMean", "IC mean", "num4"), ("icIR", "IC IR (annualised)", "num2"), ("icTStat", "IC t-stat", "num2"),
               ("rankIcMean", "rank IC mean", "num4"), ("rankIcIR", "rank IC IR (annualised)", "num2"),
               ("rankIcTStat", "rank IC t-stat", "num2"), ("quantileSpread", "Q5-Q1 spread (annualised)", "pct"),
               ("days", "days", "int"))

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2937;
 margin:0;background:#f3f4f6}
main{max-width:1100px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:0 0 8px;color:#111827}
section,header{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 18px;margin:14px 0}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.expr{white-space:pre-wrap;word-break:break-word;background:#f9fafb;border:1px solid #e5e7eb;
 border-radius:6px;padding:10px 12px;font-size:14px;margin:8px 0}
table{border-collapse:collapse;margin:6px 0;font-size:13px}
th,td{border-bottom:1px solid #e5e7eb;padding:4px 10px;text-align:right;vertical-align:top}
th{background:#f9fafb;font-weight:600;color:#374151}
td.l,th.l{text-align:left}
.kv th{text-align:left}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;margin-left:6px;
 vertical-align:middle;background:#e5e7eb}
.PASS,.winner,.submit{color:#065f46;background:#d1fae5}
.FAIL,.fail,.skip{color:#991b1b;background:#fee2e2}
.WARNING,.near_miss{color:#92400e;background:#fef3c7}
.PENDING{color:#374151;background:#e5e7eb}
td.res span{border-radius:4px;padding:0 6px;font-weight:600;font-size:12px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid3{display:grid;grid-template-columns:1fr 1.3fr;gap:24px}
.kv td:first-child{color:#6b7280;white-space:nowrap}
th{white-space:nowrap}
.muted{color:#6b7280;font-size:12px}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #9ca3af;vertical-align:-1px;margin:0 4px 0 10px}
svg{max-width:100%;height:auto}
.msg{text-align:left;max-width:460px}
.decision{border-left:4px solid #9ca3af;padding:6px 12px;background:#f9fafb;margin:8px 0}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _cell(value: Any, kind: str) -> str:
    """``value`` formatted as ``kind`` (text, int, num2, num4, pct, bps, usd), escaped; "–" when missing."""
    if kind == "text":
        return _esc(value) if value not in (None, "") else "–"
    v = _finite(value)
    if v is None:
        return "–"
    if kind == "int":
        return f"{v:,.0f}"
    if kind == "num2":
        return f"{v:.2f}"
    if kind == "num4":
        return f"{v:.4f}"
    if kind == "pct":
        return f"{100 * v:.2f}%"
    if kind == "bps":
        return f"{1e4 * v:.2f}‱"
    if kind == "usd":
        return f"{'-' if v < 0 else ''}${abs(v):,.0f}"
    return _esc(v)


def _table(head: Sequence[str] | None, rows: Iterable[Sequence[str]], left: Iterable[int] = (0,), cls: str = "",
           classes: dict[int, str] | None = None) -> str:
    """An HTML table (no header row when ``head`` is None); cells are already formatted HTML; columns in
    ``left`` are left-aligned, ``classes`` adds CSS classes per column index."""
    left, classes = set(left), classes or {}

    def attr(i: int) -> str:
        names = " ".join(n for n in ("l" if i in left else "", classes.get(i, "")) if n)
        return f' class="{names}"' if names else ""

    th = "" if head is None else \
        "<thead><tr>" + "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(head)) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f'<table class="{cls}">{th}<tbody>{body}</tbody></table>'


def _svg(fig) -> str:
    """The figure as inline SVG markup (text kept as <text>, fixed id salt so a page is reproducible)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "alpha-page"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text[text.index("<svg"):], flags=re.S)


def pnl_svg(data: "PageData") -> str:
    """Cumulative PnL (USD) with the IS and OS periods shaded and labelled, as inline SVG ("" without PnL)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    if data.dates.size == 0:
        return ""
    fig = Figure(figsize=(10.5, 3.8), dpi=100)
    ax = fig.add_subplot()
    cum = np.cumsum(np.nan_to_num(data.daily_pnl))
    for period, label, color in ((data.is_period, IS_LABEL, IS_COLOR), (data.os_period, OS_LABEL, OS_COLOR)):
        if period is not None:
            lo, hi = np.datetime64(period[0], "D"), np.datetime64(period[1], "D")
            ax.axvspan(lo, hi, color=color, alpha=0.8, lw=0, label=f"{label}: {period[0]} to {period[1]}")
            ax.text(lo + (hi - lo) / 2, 1.0, label.split(" ")[0], transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=10, fontweight="bold", color="#374151")
    ax.plot(data.dates, cum, color="#1d4ed8", lw=1.3, label="cumulative PnL")
    ax.axhline(0, color="#6b7280", lw=0.6)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v / 1e6:,.1f}M" if abs(v) >= 1e5 else f"${v:,.0f}"))
    ax.set_ylabel("cumulative PnL (USD, $20M book)")
    ax.grid(alpha=0.25)
    ax.set_xlim(data.dates[0], data.dates[-1])
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return _svg(fig)


def quintile_svg(quintiles: dict[str, np.ndarray]) -> str:
    """Bar chart of the mean daily return (bps) per alpha quintile, IS and OS side by side, as inline SVG."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.2, 3.0), dpi=100)
    ax = fig.add_subplot()
    x = np.arange(len(next(iter(quintiles.values()))))
    width = 0.8 / len(quintiles)
    colors = {"IS": "#3b82f6", "OS": "#f59e0b"}
    for i, (period, values) in enumerate(quintiles.items()):
        ax.bar(x + (i - (len(quintiles) - 1) / 2) * width, np.asarray(values) * 1e4, width,
               label=IS_LABEL if period == "IS" else OS_LABEL, color=colors.get(period, "#6b7280"))
    ax.axhline(0, color="#374151", lw=0.7)
    ax.set_xticks(x, [f"Q{i + 1}" for i in x])
    ax.set_xlabel("alpha quintile (Q1 = lowest, Q5 = highest)")
    ax.set_ylabel("mean next-day return (bps)")
    ax.grid(axis="y", alpha=0.25)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def _header(d: "PageData") -> str:
    badges = ""
    if d.verdict:
        badges += f'<span class="badge {_esc(d.verdict)}">{_esc(d.verdict)}</span>'
    if d.fitness_label:
        badges += f'<span class="badge">fitness: {_esc(d.fitness_label)}</span>'
    info = [("alpha hash", f'<span class="mono">{_esc(d.alpha_hash)}</span>'), ("field", _cell(d.field, "text")),
            ("mining date", _cell(d.mining_date, "text")), ("origin", _cell(d.origin, "text"))]
    settings = [[_esc(k), _esc(v)] for k, v in d.settings.items()]
    half = (len(settings) + 1) // 2
    tables = "".join(f"<div>{_table(None, rows, left=(0, 1), cls='kv')}</div>"
                     for rows in (settings[:half], settings[half:]) if rows)
    return (f'<header><h1>Alpha <span class="mono">{_esc(d.alpha_hash[:12])}</span>{badges}</h1>'
            f'<pre class="expr">{_esc(d.expression) or "(expression not stored)"}</pre>'
            f'<div class="grid3"><div><h2>Alpha</h2>{_table(None, info, left=(0, 1), cls="kv")}</div>'
            f'<div><h2>Settings</h2><div class="grid2">{tables}</div></div></div></header>')


def _pnl_section(d: "PageData") -> str:
    svg = pnl_svg(d)
    if not svg:
        return ""
    keys = (f'<span class="swatch" style="background:{IS_COLOR}"></span>{IS_LABEL}'
            f'{f" {_esc(d.is_period[0])} to {_esc(d.is_period[1])}" if d.is_period else ""}')
    if d.os_period:
        keys += (f'<span class="swatch" style="background:{OS_COLOR}"></span>{OS_LABEL} '
                 f'{_esc(d.os_period[0])} to {_esc(d.os_period[1])}')
    return f'<section id="pnl"><h2>Cumulative PnL</h2>{svg}<div class="muted">{keys}</div></section>'


def _metrics_section(d: "PageData") -> str:
    rows = [[label, _cell(d.is_metrics.get(key), kind), _cell(d.os_metrics.get(key), kind)]
            for key, label, kind in METRIC_ROWS]
    return (f'<section id="metrics"><h2>IS and OS metrics</h2>{_table(["", IS_LABEL, OS_LABEL], rows)}'
            '<div class="muted">Every check, verdict and decision reads IS only; OS is shown beside it and '
            'never used.</div></section>')


def _yearly_section(d: "PageData") -> str:
    if not d.yearly:
        return ""
    rows = [[_cell(y.get(k), kind) for k, _, kind in YEARLY_COLUMNS] for y in d.yearly]
    table = _table([h for _, h, _ in YEARLY_COLUMNS], rows, left=(0, 1))
    return f'<section id="yearly"><h2>Yearly</h2>{table}</section>'


def _result(value: Any) -> str:
    return f'<span class="{_esc(value)}">{_esc(value)}</span>'


def _checks_section(d: "PageData") -> str:
    parts = []
    if d.checks:
        rows = [[_esc(c["name"]), _result(c["result"]), _cell(c["value"], "num4"), _cell(c["limit"], "num4"),
                 _esc(c.get("message"))] for c in d.checks]
        parts.append(_table(["Check", "Result", "Value", "Limit", "Message"], rows, left=(0, 1, 4),
                            classes={1: "res", 4: "msg"}))
        parts.append(f'<div class="muted">source: {_esc(d.checks_source)}</div>')
    if d.decision:
        dec = d.decision.get("decision")
        rest = _table(None, [[_esc(k), _esc(_plain(v))] for k, v in d.decision.items()
                             if v is not None and k not in ("decision", "reason", "expression", "settings_json",
                                                            "field")], left=(0, 1), cls="kv")
        parts.append(f'<div class="decision"><b>Submission decision:</b> <span class="badge {_esc(dec)}">'
                     f'{_esc(dec)}</span> {_esc(d.decision.get("reason"))}{rest}</div>')
    if d.submissions:
        head = list(d.submissions[0])
        parts.append("<h2>Submissions</h2>" + _table([_esc(h) for h in head],
                                                     [[_esc(_plain(r[h])) for h in head] for r in d.submissions],
                                                     left=range(len(head))))
    if not parts:
        return ""
    return f'<section id="checks"><h2>Checks</h2>{"".join(parts)}</section>'


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else value


def _factor_section(d: "PageData") -> str:
    f_is, f_os = d.factor.get("is") or {}, d.factor.get("os") or {}
    ic = ""
    if f_is or f_os:
        rows = [[label, _cell(f_is.get(k), kind), _cell(f_os.get(k), kind)] for k, label, kind in FACTOR_ROWS]
        ic = f'<div><h2>IC and rank IC</h2>{_table(["", IS_LABEL, OS_LABEL], rows)}</div>'
    quint = ""
    if d.quintiles:
        rows = [[f"Q{i + 1}"] + [_cell(d.quintiles[p][i] * 1e4, "num2") for p in d.quintiles]
                for i in range(len(next(iter(d.quintiles.values()))))]
        heads = [""] + [f"{IS_LABEL if p == 'IS' else OS_LABEL} bps/day" for p in d.quintiles]
        quint = (f'<div id="quintiles"><h2>Quintile returns</h2>{quintile_svg(d.quintiles)}{_table(heads, rows)}'
                 '<div class="muted">Re-evaluated on the panel for display only (not a trial): each day the '
                 'instruments held are split into five quintiles of the book\'s weight, and the day\'s mean '
                 'return of each quintile is averaged over the period.</div></div>')
    if not ic and not quint:
        return ""
    return f'<section id="factor" class="grid2">{ic}{quint}</section>'


def _regimes_section(d: "PageData") -> str:
    if not d.regimes:
        return ""
    periods = list(dict.fromkeys(r["period"] for r in d.regimes))
    keys = list(dict.fromkeys((r["kind"], r["regime"]) for r in d.regimes))
    by = {(r["period"], r["kind"], r["regime"]): r for r in d.regimes}
    head = ["Regime"]
    for p in periods:
        head += [f"{p} days", f"{p} Sharpe", f"{p} mean daily PnL"]
    rows = []
    for kind, regime in keys:
        row = [f"{_esc(regime)} <span class=muted>({_esc(kind)})</span>"]
        for p in periods:
            r = by.get((p, kind, regime), {})
            row += [_cell(r.get("days"), "int"), _cell(r.get("sharpe"), "num2"), _cell(r.get("mean_pnl"), "usd")]
        rows.append(row)
    return (f'<section id="regimes"><h2>Market regimes</h2>{_table(head, rows)}<div class="muted">Market = '
            'equal-weight mean of the panel\'s daily returns. Volatility regime: trailing 63-day market volatility '
            'above or below its IS median; trend regime: sign of the trailing 126-day market return (both from '
            'the days before). IS and OS are shown separately.</div></section>')


def _relatives_section(d: "PageData") -> str:
    parts = []
    if d.relatives:
        rows = [[f'<span class="mono">{_esc(r["alpha_hash"][:12])}</span>', f'<code>{_esc(r["expression"])}</code>',
                 _cell(r["corr"], "num2"), _cell(r["is_sharpe"], "num2"), _cell(r["os_sharpe"], "num2")]
                for r in d.relatives]
        parts.append("<h2>Closest stored alphas</h2>" + _table(["Hash", "Expression", "IS PnL corr", "IS Sharpe",
                                                                "OS Sharpe"], rows, left=(0, 1)))
        parts.append(f'<div class="muted">IS daily-PnL correlation over the last 1,008 IS days; '
                     f'{d.relatives_compared} stored alphas compared.</div>')
    if d.public is not None:
        rows = [[_esc(r["id"]), f'<code>{_esc(r["expression"])}</code>', _cell(r["corr"], "num2")] for r in d.public]
        parts.append("<h2>Closest public alphas</h2>" + _table(["Id", "Expression", "IS PnL corr"], rows, left=(0, 1)))
        if d.public_check:
            c = d.public_check
            parts.append(f'<div class="muted">crowding check {_result(c["result"])} value {_cell(c["value"], "num2")}'
                         f' limit {_cell(c["limit"], "num2")} {_esc(c.get("message"))}</div>')
    if not parts:
        return ""
    return f'<section id="relatives"><h2>Closest relatives</h2>{"".join(parts)}</section>'


def _footer(d: "PageData") -> str:
    items = [f"<li>{_esc(n)}</li>" for n in d.notes]
    if d.public is None and d.public_note:
        items.append(f"<li>{_esc(d.public_note)}</li>")
    items += [f"<li>simulator warning {_esc(w.get('code'))}: {_esc(w.get('message'))}</li>" for w in d.warnings
              if isinstance(w, dict)]
    notes = f"<ul>{''.join(items)}</ul>" if items else ""
    return f'<section id="notes" class="muted"><h2>Notes</h2>{notes}Local simulation on the stored panel; ' \
           f'not a BRAIN result.</section>' if notes else ""


def render_page(data: "PageData") -> str:
    """The page of one alpha (``PageData`` from ``data.gather``) as one self-contained HTML document: header
    (expression, hash, field, mining date, settings, verdict, fitness label), cumulative PnL with IS and OS
    shaded, IS/OS metrics, yearly table, checks and submission decision, IC / rank IC and quintile returns,
    regimes, closest relatives, notes. Sections without data are left out. Pure: no I/O."""
    body = "".join((_header(data), _pnl_section(data), _metrics_section(data), _yearly_section(data),
                    _checks_section(data), _factor_section(data), _regimes_section(data),
                    _relatives_section(data), _footer(data)))
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>alpha {_esc(data.alpha_hash[:12])}</title>'
            f'<style>{CSS}</style></head><body><main>{body}</main></body></html>\n')
