"""``alpha research``: LLM research requests from the command line (issue 15 items 3-4).

``alpha research "HYPOTHESIS" [--iterations N] [--model M]``  launch ``research_job`` through Dagster (in process,
                                                            recorded under $DAGSTER_HOME like ``alpha mine``)
``alpha research list``                                     every request: status, model, trials, tokens
``alpha research show ID``                                  one request (an id or a unique prefix): each answer,
                                                            each alpha's metrics, verdict, failed checks, rationale
``alpha research analyze``                                  failure patterns over every request (``kb.analyze``)

A hypothesis is the words after ``research`` (quote it); the words ``list``, ``show`` and ``analyze`` first are
the commands above. The Dagster layer is imported only when a request is launched (``alpha_core`` never imports
dagster at import time). Exit codes: 0 done (a winner or the iterations used), 1 the request stopped on the token
budget or the provider failed, 2 a usage error (bad flag, no model configured, no DuckDB file).
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys

COMMANDS = ("list", "show", "analyze")


def add_research_parser(sub) -> None:
    """Add ``research`` to the ``alpha`` subparsers ``sub`` (``alpha_core.cli.build_parser``)."""
    p = sub.add_parser(
        "research", help="turn a hypothesis into alphas with an LLM (alpha research \"idea\" | list | show ID | "
                         "analyze)",
        description="LLM research: the model proposes FastExpr alphas for a hypothesis; they are linted (errors go "
                    "back to the model, two repair rounds), simulated locally, checked, and the failed checks fed "
                    "back, until one passes every check or the iterations are used. Model: ALPHA_LLM_MODEL (any "
                    "litellm model string), ALPHA_LLM_BASE_URL, ALPHA_LLM_API_KEY.")
    p.add_argument("words", nargs="+", metavar="HYPOTHESIS",
                   help="the idea in plain words (quote it), or a command: list | show ID | analyze")
    p.add_argument("--iterations", default="3", help="model iterations of a new request, 1..20 (default 3)")
    p.add_argument("--model", help="litellm model string (default ALPHA_LLM_MODEL), e.g. ollama/qwen2.5-coder")
    p.add_argument("--db", metavar="PATH", help="the DuckDB file (default ALPHA_DUCKDB or $DAGSTER_HOME/alpha.duckdb)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_research, parser=p)


def cmd_research(args: argparse.Namespace) -> int:
    """Dispatch ``alpha research ...`` (module doc)."""
    head = args.words[0]
    if head in COMMANDS:
        if head == "show" and len(args.words) != 2:
            args.parser.error("show takes one request id (see alpha research list)")
        if head != "show" and len(args.words) != 1:
            args.parser.error(f"{head} takes no argument (quote a hypothesis that starts with {head!r})")
        return {"list": _list, "show": _show, "analyze": _analyze}[head](args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from alpha_core.config import SettingsEnvError, load_settings
    from alpha_core.gen.llm.client import LLMClient, LLMError
    from alpha_core.gen.llm.loop import ResearchError, check_request, new_request_id

    try:
        settings = load_settings()
        hypothesis, iterations = check_request(" ".join(args.words), args.iterations)
        LLMClient.from_settings(settings, args.model)     # a missing model is a usage error, before Dagster starts
    except (SettingsEnvError, ResearchError, LLMError) as exc:
        args.parser.error(str(exc))
    request_id = new_request_id()
    research = importlib.import_module("alpha_assets.research")
    mine = importlib.import_module("alpha_assets.mine")
    db = args.db or str(settings.resolved_duckdb())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log = logging.getLogger("alpha_core.gen.llm")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    print(f"research {request_id}: {hypothesis}", file=sys.stderr, flush=True)
    failure = None
    try:
        research.run_research(hypothesis, iterations, args.model, request_id, duckdb_path=db)
    except mine.MineError as exc:
        failure = str(exc)
    finally:
        log.removeHandler(handler)
    rows = _request_rows(db, request_id)
    if rows is None:
        print(f"alpha research: {failure or 'the run wrote no request'}", file=sys.stderr)
        return 1
    print(json.dumps(rows, indent=2, default=str) if args.json else format_request(rows))
    if failure or rows["request"]["status"] not in ("passed", "exhausted"):
        print(f"alpha research: stopped ({rows['request']['status']}): {rows['request']['stop_reason']}",
              file=sys.stderr)
        return 1
    return 0


def _request_rows(db: str, request_id: str) -> dict | None:
    """The rows of one request (``{"request": row, "iterations", "alphas", "calls", "lessons"}``), None if absent."""
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    with reading(db) as con:
        req = reads.read_partitions(con, "research_requests", [request_id])
        if not req.height:
            return None
        heavy = ("pnl_dates", "daily_pnl", "result_json")
        out = {"request": req.row(0, named=True)}
        for key, table in (("iterations", "research_iterations"), ("alphas", "research_alphas"),
                           ("calls", "llm_calls"), ("lessons", "research_lessons")):
            frame = reads.read_partitions(con, table, [request_id])
            out[key] = frame.drop([c for c in heavy if c in frame.columns]).to_dicts()
    return out


def _num(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def format_request(rows: dict) -> str:
    """One request as text: the header (status, model, trials, tokens, cost), then per answer its status and per
    alpha its status, metrics (IS; OS shown apart), verdict, failed checks and the model's rationale."""
    r = rows["request"]
    cost = "-" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}"
    lines = [f"research {r['request_id']} [{r['status']}] model {r['model']}: {r['iterations']} iteration(s), "
             f"{r['n_trials']} trial(s), {r['n_calls']} LLM call(s), {r['prompt_tokens'] + r['completion_tokens']:,} "
             f"tokens, cost {cost}",
             f"  hypothesis: {r['hypothesis']}", f"  stop: {r['stop_reason']}"]
    for it in rows["iterations"]:
        head = f"  iteration {it['iteration']} round {it['round']}: "
        if it["answer_status"] == "rejected":
            lines.append(head + f"answer rejected: {it['reason']}")
            continue
        lines.append(head + f"model's hypothesis: {it['model_hypothesis']}")
        for a in rows["alphas"]:
            if (a["iteration"], a["round"]) != (it["iteration"], it["round"]):
                continue
            text = a["canonical"] or a["expression"]
            if a["status"] in ("simulated", "reused"):
                lines.append(f"    {a['status']:<10} {text}  {a['settings_json']}  IS sharpe {_num(a['is_sharpe'])} "
                             f"fitness {_num(a['is_fitness'])} turnover {_num(a['is_turnover'])} | OS sharpe "
                             f"{_num(a['os_sharpe'])}  [{a['verdict']}]"
                             + (f" failed: {a['failed_checks']}" if a["failed_checks"] else ""))
            else:
                lines.append(f"    {a['status']:<10} {text}  {a['reason'] or a['error'] or ''}")
            if a["rationale"]:
                lines.append(f"               rationale: {a['rationale']}")
    for lesson in rows["lessons"]:
        lines.append(f"  lesson ({lesson['kind']}): {lesson['lesson']}")
    return "\n".join(lines)


def _db(args: argparse.Namespace):
    from alpha_core.cli import _db_or_exit

    return _db_or_exit(args)


def _list(args: argparse.Namespace) -> int:
    from alpha_core.report import format_table
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    with reading(_db(args)) as con:
        req = reads.read_partitions(con, "research_requests")
    rows = [{**r, "tokens": r["prompt_tokens"] + r["completion_tokens"], "hypothesis": r["hypothesis"][:60]}
            for r in req.sort("created_at").to_dicts()]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    elif not rows:
        print("no research request yet (alpha research \"your hypothesis\")")
    else:
        print(format_table(rows, ["request_id", "status", "model", "iterations", "n_trials", "tokens", "hypothesis"]))
    return 0


def _show(args: argparse.Namespace) -> int:
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    db, prefix = _db(args), args.words[1].strip()
    with reading(db) as con:
        ids = [r[0] for r in con.execute(
            "SELECT request_id FROM research_requests WHERE starts_with(request_id, ?) ORDER BY request_id",
            [prefix]).fetchall()] if reads.table_exists(con, "research_requests") else []
    if len(ids) != 1:
        what = "no request" if not ids else f"{len(ids)} requests ({', '.join(ids[:5])})"
        print(f"alpha research show: {what} match {prefix!r} (see alpha research list)", file=sys.stderr)
        return 1
    rows = _request_rows(str(db), ids[0])
    print(json.dumps(rows, indent=2, default=str) if args.json else format_request(rows))
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from alpha_core.gen.llm.kb import analyze, format_analysis
    from alpha_core.store.writes import reading

    with reading(_db(args)) as con:
        summary = analyze(con)
    print(json.dumps(summary, indent=2) if args.json else format_analysis(summary))
    return 0
