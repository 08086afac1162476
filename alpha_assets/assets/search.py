"""Stage ``search`` (one step, four tables): the (date, field) search writes ``candidates``, ``lint_results``,
``simulations``, ``checklists`` (+ ``search_progress``) together, checkpointing every ``CHECKPOINT_SECONDS``
so a killed run resumes (``alpha_core.gen.search``; issue 12)."""

import time

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks, report
from alpha_assets.assets._common import GROUP, POOL, artifacts_dir
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.assets.themes import themes
from alpha_assets.partitions import date_x_field, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.config import AlphaSettings
from alpha_core.gen.dayplan import TRIAL_TABLES, experience_before, search_context, simulations_today, trial_tables
from alpha_core.gen.llm.daily import day_proposals
from alpha_core.gen.search import run_search
from alpha_core.store.writes import reading, replace_many, writing

CHECKPOINT_SECONDS = 20.0
_DESCRIPTIONS = {
    "candidates": "Every alpha the search proposed and evaluated: expression, settings, origin, parent, move, "
                  "generation, search score (table candidates).",
    "lint_results": "Lint verdicts of the evaluated candidates (table lint_results).",
    "simulations": "Local simulation metrics and IS daily PnL, once per alpha hash (table simulations).",
    "checklists": "Submission checks per candidate and check, with its verdict (table checklists).",
}


class SearchRunConfig(dg.Config):
    """``budget``: local simulations for this (date, field) (``alpha mine --budget``; 0 = ALPHA_SEARCH_BUDGET)."""

    budget: int = 0


@dg.multi_asset(
    specs=[dg.AssetSpec(t, partitions_def=date_x_field, group_name=GROUP, description=_DESCRIPTIONS[t],
                        deps=[themes, field_profiles] if t == "candidates" else [])
           for t in TRIAL_TABLES],
    check_specs=[s for t in TRIAL_TABLES for s in checks.specs(t)], pool=POOL, name="search",
    backfill_policy=dg.BackfillPolicy.multi_run(1), can_subset=False)
def search(context: dg.AssetExecutionContext, config: SearchRunConfig, duckdb: DuckDBResource,
           market: MarketData):
    ((date, field),) = partition_keys(context)
    settings = AlphaSettings()
    panel, registry = market.panel(), market.registry()
    aliases = market.aliases()
    with reading(duckdb.database) as con:
        experience = experience_before(con, date, aliases)
        ctx = search_context(con, date, field, panel, registry, experience, settings.gate_limits())
        used_today = simulations_today(con, date, field)
    search_config = settings.search_config(used_today, config.budget or None)
    if search_config.budget == 0:
        raise dg.Failure(f"{date} {field}: the day's simulation budget (ALPHA_DAY_BUDGET={settings.day_budget}) is "
                         f"used up by the day's other fields ({used_today} simulations); nothing was written")
    ctx.llm_seeds, note = day_proposals(duckdb.database, date, field, panel, settings, context.run.run_id)
    context.log.info(f"{date} {field}: {note}")
    last = [time.monotonic()]

    def checkpoint(trials, progress, independent, stop=""):
        tables = trial_tables(date, field, trials, progress, independent, stop)
        with writing(duckdb.database) as con:
            replace_many(con, [(t, [(date, field)], rows) for t, rows in tables.items()], context.run.run_id)
        last[0] = time.monotonic()

    def on_generation(trials, progress, independent):
        context.log.info(f"{date} {field}: generation {progress[-1]['generation']}: {progress[-1]}")
        if time.monotonic() - last[0] >= CHECKPOINT_SECONDS:
            checkpoint(trials, progress, independent)

    result = run_search(ctx, search_config, on_generation)
    checkpoint(result.trials, result.progress, result.independent, result.stop_reason)
    if result.tripped:
        context.log.warning(f"{date} {field}: search stopped by a kill switch: {result.stop_detail}")
    with reading(duckdb.database) as con:
        results = [r for t in TRIAL_TABLES for r in checks.evaluate(con, t, [(date, field)])]
    top = sorted((t for t in result.trials if t.verdict == "winner"), key=lambda t: (-t.score, t.alpha_hash))
    pages = report.alpha_pages(duckdb.database, [t.alpha_hash for t in top[:report.SEARCH_PAGES]],
                               artifacts_dir(duckdb), panel)
    meta = report.search_metadata(result, date, field, search_config, pages)
    best = max((t for t in result.trials if t.ok and t.row.get("daily_pnl")), default=None,
               key=lambda t: (t.verdict == "winner", t.score, t.alpha_hash))
    if best is not None:
        meta["checklists"].update(report.pnl_metadata({**best.row, "alpha_hash": best.alpha_hash, "field": field,
                                                       "expression": best.expression},
                                                      artifacts_dir(duckdb), f"pnl_{date}_{field}"))
    for t in TRIAL_TABLES:
        yield dg.MaterializeResult(asset_key=t, metadata=meta[t])
    yield from results
