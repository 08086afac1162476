"""Stage ``themes``: the fields mined on a day (partition = mining date), chosen by the learning memory."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.partitions import daily, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.gen.dayplan import experience_before
from alpha_core.gen.seeds import field_kind
from alpha_core.gen.themes import pick_themes
from alpha_core.store import reads
from alpha_core.store.writes import reading


class ThemesConfig(dg.Config):
    """``fields``: explicit field ids (``alpha mine --fields``); ``n_fields``: how many to pick otherwise."""

    fields: list[str] = []
    n_fields: int = 3


@dg.asset(partitions_def=daily, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[dg.AssetDep(field_profiles, partition_mapping=dg.AllPartitionMapping())], group_name=GROUP,
          check_specs=checks.specs("themes"),
          description="Fields picked for a mining day by the field bandit over the experience memory (table themes).")
def themes(context: dg.AssetExecutionContext, config: ThemesConfig, duckdb: DuckDBResource, market: MarketData):
    dates = partition_keys(context)
    registry = market.registry()
    with reading(duckdb.database) as con:
        profiles = reads.read_partitions(con, "field_profiles")
        memories = {d: experience_before(con, d, market.aliases()) for d in dates}
    fields = profiles["field"].to_list() if profiles.height else []
    aliases = market.aliases()
    kinds = {f: field_kind(f, registry) for f in fields}
    rows = []
    for d in dates:
        rows += pick_themes(d, profiles, memories[d], config.n_fields, config.fields or None, aliases, kinds)
    # a run replaces only the (date, field) rows it picked: concurrent runs of one day keep each other's rows
    keys = [(r["mining_date"], r["field"]) for r in rows]
    n, results = checks.write_and_check(duckdb, "themes", keys, rows, context.run.run_id)
    by_date = {d: [r["field"] for r in rows if r["mining_date"] == d] for d in dates}
    md = "| date | rank | field | archetype | reason |\n|---|---|---|---|---|\n" + "".join(
        f"| {r['mining_date']} | {r['rank']} | {r['field']} | {r['archetype']} | {r['reason']} |\n" for r in rows)
    return dg.MaterializeResult(metadata={"rows": n, "fields_by_date": dg.MetadataValue.json(by_date),
                                          "aliases": dg.MetadataValue.json(aliases),
                                          "themes": dg.MetadataValue.md(md), "dagster/row_count": n},
                                check_results=results)
