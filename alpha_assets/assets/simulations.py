"""Stage ``simulations``: local IS/OS metrics of every lint-clean candidate (SIMULATION.md §3-§5, §9)."""

import statistics

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.lint import lint_results
from alpha_assets.partitions import date_x_field, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.gen.pipeline import simulation_rows
from alpha_core.store import reads
from alpha_core.store.writes import reading


@dg.asset(partitions_def=date_x_field, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[lint_results], group_name=GROUP, check_specs=checks.specs("simulations"),
          description="Local simulation metrics and daily PnL (table simulations).")
def simulations(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    keys = partition_keys(context)
    panel = market.panel()
    with reading(duckdb.database) as con:
        cands = reads.read_partitions(con, "candidates", keys)
        lint = reads.read_partitions(con, "lint_results", keys)
    clean = cands.join(lint.filter(lint["ok"]).select("mining_date", "field", "alpha_hash"),
                       on=["mining_date", "field", "alpha_hash"], how="semi")
    rows = simulation_rows(clean, panel, market.registry())
    n, results = checks.write_and_check(duckdb, "simulations", keys, rows, context.run.run_id)
    ok = [r for r in rows if r["status"] == "ok"]
    sharpes = [r["is_sharpe"] for r in ok if r["is_sharpe"] is not None]
    meta = {"rows": n, "simulated_ok": len(ok), "unsupported": sum(r["status"] == "unsupported" for r in rows),
            "errors": sum(r["status"] == "error" for r in rows), "dagster/row_count": n}
    if sharpes:
        meta.update(median_is_sharpe=float(statistics.median(sharpes)), max_is_sharpe=float(max(sharpes)))
    return dg.MaterializeResult(metadata=meta, check_results=results)
