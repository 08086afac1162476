"""Stages ``submissions`` (the day's gate: every winner's full checklist, the submission order with the reason
for each skip, and the submissions of the chosen ones: dry-run records, or live on BRAIN) and ``experience``
(the learning memory, rebuilt from every stored trial)."""

import contextlib

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks, report
from alpha_assets.assets._common import GROUP, POOL, artifacts_dir
from alpha_assets.assets.brain import brain_simulations
from alpha_assets.partitions import daily, partition_keys
from alpha_assets.resources import BrainResource, MarketData
from alpha_core.brain.day import day_submissions
from alpha_core.config import AlphaSettings
from alpha_core.gate.order import gate_day
from alpha_core.gen.dayplan import experience_rows
from alpha_core.store.writes import reading, replace_many, writing


@dg.asset(partitions_def=daily, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[dg.AssetDep("checklists"), brain_simulations], group_name=GROUP,
          check_specs=checks.specs("submissions"),
          description="The day's gate: every winner's full alpha checklist, with BRAIN's checks where BRAIN "
                      "simulated it (table gate_checks), the submission order by deflated sharpe with the reason "
                      "for every skip (table submission_order), and the submissions of the chosen ones, at most 4 "
                      "a day: dry-run records, or live on BRAIN when ALPHA_SUBMIT_LIVE (table submissions).")
def submissions(context: dg.AssetExecutionContext, duckdb: DuckDBResource, brain: BrainResource,
                market: MarketData):
    dates = partition_keys(context)
    limits, panel = AlphaSettings().gate_limits(), market.panel()
    gate, order, rows = [], [], []
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(brain.client()) if brain.submit_live else None
        for d in dates:
            with reading(duckdb.database) as con:
                outcome = gate_day(con, d, panel, limits, require_brain=brain.submit_live)
            gate += outcome.gate_rows
            order += outcome.order_rows
            rows += day_submissions(duckdb.database, d, outcome, client, brain.submit_cap)
    with writing(duckdb.database) as con:
        replace_many(con, [("gate_checks", dates, gate), ("submission_order", dates, order),
                           ("submissions", dates, rows)], context.run.run_id)
    with reading(duckdb.database) as con:
        results = checks.evaluate(con, "submissions", dates)
    pages = report.alpha_pages(duckdb.database, [r["alpha_hash"] for r in order[:report.PAGES_PER_STEP]],
                               artifacts_dir(duckdb), panel)
    statuses = {s: sum(r["status"] == s for r in rows) for s in sorted({r["status"] for r in rows})}
    return dg.MaterializeResult(metadata={
        "submitted": len(rows), "finalists": len(order), "mode": "live" if brain.submit_live else "dry-run",
        "statuses": dg.MetadataValue.json(statuses), "alpha_check_rows": len(gate), "dagster/row_count": len(rows),
        "submission_order": dg.MetadataValue.md(report.order_md(order, pages)),
        **report.page_links(pages)},
        check_results=results)


@dg.asset(pool=POOL, deps=[dg.AssetDep("checklists"), submissions], group_name=GROUP,
          check_specs=checks.specs("experience"),
          description="The learning memory: outcomes per (field, family, operator pattern, settings), rebuilt "
                      "from every stored trial (table experience).")
def experience(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    aliases = market.aliases()
    with reading(duckdb.database) as con:
        rows = experience_rows(con, aliases)
    n, results = checks.write_and_check(duckdb, "experience", None, rows, context.run.run_id)
    return dg.MaterializeResult(metadata={"rows": n, "winners_total": sum(r.get("n_winners") or 0 for r in rows),
                                          "dagster/row_count": n},
                                check_results=results)
