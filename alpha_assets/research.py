"""``research_job``: one LLM research request as a Dagster run (issue 15 item 3).

Launched by ``alpha research "hypothesis" [--iterations N] [--model M]`` (``run_research``, in process and recorded
in the persistent instance under $DAGSTER_HOME, like ``alpha mine``), or from the UI / launchpad with the run
config ``{"ops": {"research": {"config": {"hypothesis": "...", "iterations": 3, "model": ""}}}}``.

The op runs ``alpha_core.gen.llm.loop.Research`` on the market panel and the DuckDB file of the resources, and
its output metadata shows the hypothesis, each answer's status, each alpha's expression, IS metrics, verdict, the
checks it failed and the model's rationale, the tokens and the cost. Neither the run config nor the metadata holds
the LLM key: the client reads it from ``AlphaSettings`` (environment / ``.env``) inside the op. The op does not take
the ``duckdb`` pool: it holds the DuckDB file only for its short reads and writes (``store.writes.reading`` /
``writing``, which wait for a lock), so a research request that waits minutes on a model never blocks a mining run.
A provider that refuses the key or stays down fails the run (after the request's rows are written); a spent token
budget ends the request with status ``budget`` and a warning. (No ``from __future__ import annotations`` here: Dagster
reads the op's config annotation when the op is defined.)
"""

import os

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets.report import md_cell
from alpha_assets.resources import MarketData
from alpha_core.config import SettingsEnvError, load_settings
from alpha_core.gen.llm.loop import MAX_ITERATIONS, Research, ResearchOutcome

MD_ALPHAS = 40     # alpha rows shown in the run's metadata table (every row is in research_alphas)


class ResearchConfig(dg.Config):
    """``hypothesis``: the idea in plain words; ``iterations``: model rounds (1..20); ``model``: a litellm model
    string ('' = ALPHA_LLM_MODEL); ``request_id``: '' = a new id (``alpha research`` passes its own)."""

    hypothesis: str
    iterations: int = 3
    model: str = ""
    request_id: str = ""


def _num(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def alphas_md(out: ResearchOutcome) -> str:
    """Markdown table of the request's answers and alphas: iteration, round, status, expression, IS sharpe,
    fitness, turnover, verdict, failed checks, rationale (rejected answers with their reason)."""
    lines = ["| it | round | status | expression | IS sharpe | fitness | turnover | verdict | failed checks | "
             "rationale / reason |", "|---|---|---|---|---|---|---|---|---|---|"]
    for it in out.iterations:
        if it["answer_status"] == "rejected":
            lines.append(f"| {it['iteration']} | {it['round']} | rejected answer | | | | | | | "
                         f"{md_cell(it['reason'][:200])} |")
    for a in out.alphas[:MD_ALPHAS]:
        text = md_cell(a["canonical"] or a["expression"][:200], True)
        lines.append(f"| {a['iteration']} | {a['round']} | {a['status']} | `{text}` | {_num(a['is_sharpe'])} | "
                     f"{_num(a['is_fitness'])} | {_num(a['is_turnover'])} | "
                     f"{a['verdict'] or '-'} | {md_cell(a['failed_checks'] or '')} | "
                     f"{md_cell((a['reason'] or a['rationale'] or '')[:200])} |")
    return "\n".join(lines)


def research_metadata(out: ResearchOutcome) -> dict:
    """The op's output metadata (no secret: hypothesis, model name, counts, expressions, metrics, reasons)."""
    r, best = out.request, out.best
    meta = {"request_id": r["request_id"], "hypothesis": r["hypothesis"], "model": r["model"],
            "status": r["status"], "stop_reason": r["stop_reason"], "iterations": len({i["iteration"] for i in
                                                                                      out.iterations}),
            "answers": len(out.iterations), "rejected_answers": sum(i["answer_status"] == "rejected"
                                                                    for i in out.iterations),
            "alphas": len(out.alphas), "trials": r["n_trials"],
            "winners": sum(a["verdict"] == "winner" for a in out.alphas), "llm_calls": r["n_calls"],
            "tokens": r["prompt_tokens"] + r["completion_tokens"],
            "alphas_table": dg.MetadataValue.md(alphas_md(out))}
    if r["cost_usd"] is not None:           # litellm prices the model (a local server has no price)
        meta["cost_usd"] = dg.MetadataValue.float(float(r["cost_usd"]))
    if best is not None:
        meta["best"] = dg.MetadataValue.json({k: best[k] for k in (
            "alpha_hash", "canonical", "settings_json", "verdict", "failed_checks", "is_sharpe", "is_fitness",
            "is_turnover", "os_sharpe", "rationale")})
    return meta


@dg.op(name="research", out=dg.Out(dg.Nothing),
       description="One LLM research request: propose, lint, repair, simulate, check, feed back (alpha research).")
def research_op(context: dg.OpExecutionContext, config: ResearchConfig, duckdb: DuckDBResource, market: MarketData):
    if not 1 <= config.iterations <= MAX_ITERATIONS:
        raise dg.Failure(f"iterations: {config.iterations} is out of range; use 1 to {MAX_ITERATIONS}")
    try:
        settings = load_settings()
    except SettingsEnvError as exc:
        raise dg.Failure(f"environment: {exc}") from None
    research = Research(duckdb.database, market.panel(), settings, config.hypothesis, config.iterations,
                        config.model or None, config.request_id or None, context.run.run_id,
                        progress=context.log.info)
    out = research.run()
    meta = research_metadata(out)
    if out.request["status"] == "failed":
        raise dg.Failure(out.request["stop_reason"], metadata=meta)
    if out.request["status"] == "budget":
        context.log.warning(out.request["stop_reason"])
    yield dg.Output(None, metadata=meta)


@dg.job(name="research_job", description="One LLM research request (alpha research \"hypothesis\"); config: "
                                         "hypothesis, iterations, model.")
def research_job():
    research_op()


def run_research(hypothesis: str, iterations: int = 3, model: str | None = None, request_id: str = "", *,
                 duckdb_path: str | None = None, data_dir: str | None = None, instance: dg.DagsterInstance | None = None
                 ) -> str:
    """Run ``research_job`` in process (the persistent instance under DAGSTER_HOME unless ``instance``); returns
    the Dagster run id. Raises ``alpha_assets.mine.MineError`` naming the failed step's root error."""
    from alpha_assets.definitions import build_definitions
    from alpha_assets.mine import _execute, ensure_dagster_home, warn_unlocked_storage

    settings = load_settings()
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
        warn_unlocked_storage(instance)
    db = duckdb_path or str(settings.resolved_duckdb())
    defs = build_definitions(db, data_dir)
    tags = {"alpha/trigger": "alpha research", "alpha/pid": str(os.getpid()), "alpha/host": os.uname().nodename}
    config = {"ops": {"research": {"config": {"hypothesis": hypothesis, "iterations": int(iterations),
                                              "model": model or "", "request_id": request_id}}}}
    return _execute(defs, "research_job", instance, tags, run_config=config).run_id
