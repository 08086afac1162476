"""Stages ``submissions`` (the day's independent winners, dry-run records) and ``experience`` (the learning
memory, rebuilt from every stored trial)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks, report
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.partitions import daily, partition_keys
from alpha_assets.resources import BrainResource, MarketData
from alpha_core.brain.dryrun import day_submission_inputs, dry_run_submissions
from alpha_core.gen.dayplan import experience_rows
from alpha_core.store.writes import reading


@dg.asset(partitions_def=daily, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[dg.AssetDep("checklists")], group_name=GROUP, check_specs=checks.specs("submissions"),
          description="The day's winners clustered by IS daily-PnL correlation; the independent ones submitted "
                      "(dry run), at most 4 a day (table submissions).")
def submissions(context: dg.AssetExecutionContext, duckdb: DuckDBResource, brain: BrainResource):
    if brain.submit_live:
        raise dg.Failure("ALPHA_SUBMIT_LIVE is true but this build only records dry-run submissions; "
                         "unset ALPHA_SUBMIT_LIVE to mine.")
    dates = partition_keys(context)
    with reading(duckdb.database) as con:
        inputs = {d: day_submission_inputs(con, d) for d in dates}
    rows, independent, winners_seen = [], [], 0
    for d, (winners, submitted, accepted) in inputs.items():
        winners_seen += len(winners)
        picked, kept = dry_run_submissions(d, winners, submitted, accepted)
        rows += picked
        independent += kept
    n, results = checks.write_and_check(duckdb, "submissions", dates, rows, context.run.run_id)
    return dg.MaterializeResult(metadata={
        "rows": n, "winners": winners_seen, "independent_winners": len(independent), "mode": "dry-run",
        "independent": dg.MetadataValue.md(report.best_table_md(independent, n=20)),
        "submitted": dg.MetadataValue.md(report.best_table_md(rows, n=10)), "dagster/row_count": n},
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
