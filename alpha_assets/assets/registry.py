"""Stage ``field_registry``: the embedded registry with local availability from the panel."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import POOL
from alpha_assets.resources import MarketData
from alpha_core.gen.pipeline import mineable_fields, registry_rows


@dg.asset(pool=POOL, group_name="registry", check_specs=checks.specs("field_registry"),
          description="Data fields: brain_fields.csv + what the local panel provides (table field_registry).")
def field_registry(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    registry = market.registry()
    rows = registry_rows(registry)
    panel_fields = market.panel().field_names()
    n, results = checks.write_and_check(duckdb, "field_registry", None, rows, context.run.run_id, panel_fields)
    mine = mineable_fields(registry, panel_fields)
    return dg.MaterializeResult(
        metadata={"rows": n, "local_fields": sum(r["local"] for r in rows), "mineable_fields": len(mine),
                  "dagster/row_count": n},
        check_results=results)
