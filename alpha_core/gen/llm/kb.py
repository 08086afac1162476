"""The research knowledge base in DuckDB (issue 15 item 4).

Tables (``store.schema``, partitioned by ``request_id``): ``research_requests`` (one row per hypothesis asked),
``research_iterations`` (one row per model answer: its status and reason), ``research_alphas`` (one row per
proposed expression: lint, settings, simulation metrics, verdict, failed checks), ``llm_calls`` (one row per HTTP
attempt: tokens, cost) and ``research_lessons`` (lessons distilled when a request ends).

Lessons are distilled without the model (deterministic, free): what passed (``worked``), the best alphas that
failed and which checks failed (``avoid``), and the lint codes the model kept getting wrong (``lint``).
``lessons_for`` retrieves the lessons of earlier requests whose hypothesis shares the most keywords with the new
one (Jaccard overlap of ``keywords``), best first, so the prompt carries what was learned about similar ideas.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Iterable

import polars as pl

MAX_LESSONS = 6
_STOP = frozenset("""a an and are as at be by for from in into is it its of on or than that the their then these this
those to with after before over under more less most least when while which who what after stocks stock
companies company firms shares""".split())


def keywords(text: str) -> list[str]:
    """Sorted distinct lower-case words of ``text`` (3+ letters or digits, stop words dropped)."""
    return sorted({w for w in re.findall(r"[a-z0-9]{3,}", text.lower()) if w not in _STOP})


def tokens_today(con, exclude_request: str = "") -> int:
    """Tokens of every ``llm_calls`` row of the current UTC day, except those of ``exclude_request``."""
    from alpha_core.store import reads

    if not reads.table_exists(con, "llm_calls"):
        return 0
    today = dt.datetime.now(dt.timezone.utc).date()
    return int(con.execute("SELECT coalesce(sum(total_tokens), 0) FROM llm_calls WHERE CAST(called_at AS DATE) = ? "
                           "AND request_id <> ?", [today, exclude_request]).fetchone()[0])


def stored_results(con, hashes: Iterable[str], exclude_request: str = "") -> dict[str, dict]:
    """alpha hash -> a stored simulation of it (the rule "an alpha hash is simulated once"): the first ``ok`` row of
    the miner's ``simulations`` table, else an earlier research request's simulated ``research_alphas`` row. Each
    row holds the metric columns (``gen.pipeline.METRIC_COLUMNS``) and ``source`` (``simulations`` / ``research``)."""
    from alpha_core.gen.pipeline import METRIC_COLUMNS
    from alpha_core.store import reads

    hashes = sorted(set(hashes))
    out: dict[str, dict] = {}
    if not hashes:
        return out
    marks = ", ".join("?" * len(hashes))
    cols = ", ".join(f'"{c}"' for c in METRIC_COLUMNS)
    if reads.table_exists(con, "simulations"):
        rows = con.execute(f"SELECT alpha_hash, {cols} FROM simulations WHERE status = 'ok' AND alpha_hash IN "
                           f"({marks}) ORDER BY mining_date, field", hashes).fetchall()
        for h, *values in rows:
            out.setdefault(h, {"source": "simulations", **dict(zip(METRIC_COLUMNS, values))})
    if reads.table_exists(con, "research_alphas"):
        rows = con.execute(f"SELECT alpha_hash, {cols} FROM research_alphas WHERE status = 'simulated' AND "
                           f"request_id <> ? AND alpha_hash IN ({marks}) ORDER BY request_id",
                           [exclude_request, *hashes]).fetchall()
        for h, *values in rows:
            out.setdefault(h, {"source": "research", **dict(zip(METRIC_COLUMNS, values))})
    return out


def lessons_for(con, hypothesis: str, k: int = MAX_LESSONS) -> list[dict]:
    """The ``k`` lessons of earlier requests most similar to ``hypothesis`` (keyword Jaccard > 0), ``worked``
    lessons first on equal similarity, then the newest; each row of ``research_lessons`` plus ``similarity``."""
    from alpha_core.store import reads

    lessons = reads.read_partitions(con, "research_lessons")
    want = set(keywords(hypothesis))
    if not lessons.height or not want:
        return []
    scored = []
    for row in lessons.iter_rows(named=True):
        have = set((row["keywords"] or "").split())
        sim = len(want & have) / len(want | have) if have else 0.0
        if sim > 0:
            scored.append({**row, "similarity": sim})
    scored.sort(key=lambda r: (-r["similarity"], r["kind"] != "worked", -(r["created_at"] or dt.datetime.min)
                               .timestamp(), r["request_id"], r["lesson_no"]))
    return scored[:k]


def distill(request_id: str, hypothesis: str, alphas: list[dict], now: dt.datetime) -> list[dict]:
    """``research_lessons`` rows of a finished request from its ``research_alphas`` rows (module doc): every
    winner, the 3 best failing simulated alphas with their failed checks, and the lint codes seen twice or more."""
    words = " ".join(keywords(hypothesis))
    out = []

    def add(kind, lesson, alpha_hash=None, failed=None, fitness=None):
        out.append({"request_id": request_id, "lesson_no": len(out) + 1, "kind": kind, "hypothesis": hypothesis,
                    "keywords": words, "lesson": lesson, "alpha_hash": alpha_hash, "failed_checks": failed,
                    "is_fitness": fitness, "created_at": now})

    def fmt(v):
        return "-" if v is None else f"{v:.2f}"

    sims = [a for a in alphas if a["status"] in ("simulated", "reused") and a.get("verdict")]
    for a in sims:
        if a["verdict"] == "winner":
            add("worked", f"`{a['canonical']}` with {a['settings_json']} passed every check (IS sharpe "
                          f"{fmt(a['is_sharpe'])}, fitness {fmt(a['is_fitness'])}, turnover {fmt(a['is_turnover'])})",
                a["alpha_hash"], None, a["is_fitness"])
    failing = sorted((a for a in sims if a["verdict"] != "winner"),
                     key=lambda a: (-(a["is_fitness"] if a["is_fitness"] is not None else -99), a["alpha_hash"]))
    for a in failing[:3]:
        add("avoid", f"`{a['canonical']}` with {a['settings_json']} failed {a['failed_checks'] or 'the checks'} (IS "
                     f"sharpe {fmt(a['is_sharpe'])}, fitness {fmt(a['is_fitness'])}, turnover {fmt(a['is_turnover'])})",
            a["alpha_hash"], a["failed_checks"], a["is_fitness"])
    codes = Counter(d["code"] for a in alphas if a["status"] == "lint_error"
                    for d in json.loads(a["diagnostics_json"] or "[]"))
    for code, n in sorted(codes.items()):
        if n >= 2:
            example = next(d["message"] for a in alphas if a["status"] == "lint_error"
                           for d in json.loads(a["diagnostics_json"] or "[]") if d["code"] == code)
            add("lint", f"answers broke lint with {code} {n} times, e.g. {example}")
    return out


def analyze(con) -> dict:
    """Failure patterns over every research request: requests by status, answers by status and reason, alphas by
    status, the checks that failed most, the lint codes the models got wrong most, winners, tokens and cost."""
    from alpha_core.store import reads

    req = reads.read_partitions(con, "research_requests")
    its = reads.read_partitions(con, "research_iterations")
    alphas = reads.read_partitions(con, "research_alphas")
    calls = reads.read_partitions(con, "llm_calls")

    def counts(frame: pl.DataFrame, col: str) -> dict:
        if not frame.height:
            return {}
        c = frame.group_by(col).len().sort(["len", col], descending=[True, False])
        return {str(k): int(v) for k, v in c.iter_rows()}

    failed = Counter(name for v in (alphas["failed_checks"].drop_nulls().to_list() if alphas.height else [])
                     for name in v.split(", ") if name)
    lint_codes = Counter(d["code"] for v in (alphas.filter(pl.col("status") == "lint_error")["diagnostics_json"]
                                              .drop_nulls().to_list() if alphas.height else [])
                         for d in json.loads(v))
    rejected = its.filter(pl.col("answer_status") == "rejected") if its.height else its
    return {"requests": req.height, "requests_by_status": counts(req, "status"),
            "answers": its.height, "answers_by_status": counts(its, "answer_status"),
            "rejections_by_reason": counts(rejected.with_columns(pl.col("reason").str.split(":").list.first()),
                                           "reason") if rejected.height else {},
            "alphas": alphas.height, "alphas_by_status": counts(alphas, "status"),
            "winners": int((alphas["verdict"] == "winner").sum()) if alphas.height else 0,
            "failed_checks": dict(failed.most_common(10)), "lint_codes": dict(lint_codes.most_common(10)),
            "llm_calls": calls.height, "calls_by_status": counts(calls, "status"),
            "tokens": int(calls["total_tokens"].sum()) if calls.height else 0,
            "cost_usd": float(calls["cost_usd"].sum()) if calls.height else 0.0}


def format_analysis(s: dict) -> str:
    """``analyze``'s summary as text, one topic per line."""
    def line(title, mapping):
        return f"  {title}: " + (", ".join(f"{k} {v}" for k, v in mapping.items()) or "-")

    return "\n".join([
        f"research: {s['requests']} requests, {s['answers']} model answers, {s['alphas']} alphas proposed, "
        f"{s['winners']} passed every check",
        line("requests", s["requests_by_status"]), line("answers", s["answers_by_status"]),
        line("rejected answers by reason", s["rejections_by_reason"]), line("alphas", s["alphas_by_status"]),
        line("checks failed most", s["failed_checks"]), line("lint codes most", s["lint_codes"]),
        line("LLM calls", s["calls_by_status"]) + f"; {s['tokens']:,} tokens, ${s['cost_usd']:.4f}"])
