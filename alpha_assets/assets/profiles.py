"""Stage ``field_profiles``: coverage, lag-1 autocorrelation and rank IC of each field (partition = field)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.registry import field_registry
from alpha_assets.partitions import field_partitions, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.gen.profiles import next_day_returns, profile_field


@dg.asset(partitions_def=field_partitions, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[field_registry], group_name=GROUP, check_specs=checks.specs("field_profiles"),
          description="Per-field statistics on the local panel (table field_profiles).")
def field_profiles(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    fields = partition_keys(context)
    panel = market.panel()
    fwd = next_day_returns(panel["close"])
    rows, skipped = [], []
    for f in fields:
        if panel.has(f):
            rows.append(profile_field(panel, f, fwd))
        else:
            skipped.append(f)
    if skipped:
        context.log.warning(f"fields not on the panel, no profile: {skipped}")
    n, results = checks.write_and_check(duckdb, "field_profiles", fields, rows, context.run.run_id)
    best = sorted(rows, key=lambda r: -abs(r["ic_ir"]) if r["ic_ir"] == r["ic_ir"] else 0)[:5]
    md = "| field | coverage | autocorr1 | IC mean | IC IR |\n|---|---|---|---|---|\n" + "".join(
        f"| {r['field']} | {r['coverage']:.3f} | {r['autocorr1']:.3f} | {r['ic_mean']:.4f} | {r['ic_ir']:.3f} |\n"
        for r in best)
    return dg.MaterializeResult(metadata={"rows": n, "partitions": len(fields), "skipped": len(skipped),
                                          "top_fields_by_ic_ir": dg.MetadataValue.md(md),
                                          "dagster/row_count": n},
                                check_results=results)
