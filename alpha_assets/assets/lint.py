"""Stage ``lint_results``: the lint verdict of every candidate (FASTEXPR.md §8)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.candidates import candidates
from alpha_assets.partitions import date_x_field, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.gen.pipeline import lint_rows
from alpha_core.store import reads
from alpha_core.store.writes import reading


@dg.asset(partitions_def=date_x_field, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[candidates], group_name=GROUP, check_specs=checks.specs("lint_results"),
          description="Lint verdicts, error codes and spans (table lint_results).")
def lint_results(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    keys = partition_keys(context)
    with reading(duckdb.database) as con:
        cands = reads.read_partitions(con, "candidates", keys)
    rows = lint_rows(cands, market.registry())
    n, results = checks.write_and_check(duckdb, "lint_results", keys, rows, context.run.run_id)
    clean = sum(r["ok"] for r in rows)
    codes = sorted({c for r in rows for c in r["codes"].split(",") if c})
    return dg.MaterializeResult(metadata={"rows": n, "lint_clean": clean,
                                          "pass_rate": float(clean / n) if n else 1.0,
                                          "codes_seen": ", ".join(codes) or "none", "dagster/row_count": n},
                                check_results=results)
