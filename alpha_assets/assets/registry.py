"""Stage ``field_registry``: BRAIN's data fields when credentials are set (``alpha_core.brain.fields``), else the
embedded registry; local availability from the panel."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import POOL
from alpha_assets.resources import MarketData
from alpha_core.brain.fields import registry_from_brain_or_embedded
from alpha_core.config import AlphaSettings
from alpha_core.data.registry import default_registry
from alpha_core.gen.pipeline import mineable_fields, registry_rows


@dg.asset(pool=POOL, group_name="registry", check_specs=checks.specs("field_registry"),
          description="Data fields: BRAIN's /data-fields when BRAIN credentials are set, else brain_fields.csv; "
                      "plus what the local panel provides (table field_registry).")
def field_registry(context: dg.AssetExecutionContext, duckdb: DuckDBResource, market: MarketData):
    panel_fields = market.panel().field_names()
    synced, sync = registry_from_brain_or_embedded(AlphaSettings(), default_registry())
    if sync.get("error"):
        context.log.warning(sync["error"] + "; the embedded registry is stored instead")
    registry = synced.with_local(panel_fields)
    rows = registry_rows(registry)
    n, results = checks.write_and_check(duckdb, "field_registry", None, rows, context.run.run_id, panel_fields)
    mine = mineable_fields(registry, panel_fields)
    return dg.MaterializeResult(
        metadata={"rows": n, "local_fields": sum(r["local"] for r in rows), "mineable_fields": len(mine),
                  "source": sync["source"], "sync": dg.MetadataValue.json(sync), "dagster/row_count": n},
        check_results=results)
