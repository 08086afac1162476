"""Stage ``themes``: the fields (and archetypes) mined on a day (partition = mining date)."""

import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.partitions import daily, partition_keys
from alpha_core.gen.pipeline import winner_memory_rows
from alpha_core.gen.themes import pick_themes
from alpha_core.store import reads
from alpha_core.store.writes import polars_schema, replace_partitions


def memory_before(con, date: str):
    """Winner memory rebuilt from mining days strictly before ``date``, so re-running a day picks the same
    themes even after that day's own results entered ``winner_memory``."""
    before = ("mining_date < CAST(? AS DATE)", [date])
    rows = winner_memory_rows(reads.read_partitions(con, "candidates", None, *before),
                              reads.read_partitions(con, "simulations", None, *before),
                              reads.verdicts(con, None).filter(pl.col("mining_date") < dt.date.fromisoformat(date)))
    return pl.DataFrame(rows, schema={k: v for k, v in polars_schema("winner_memory").items() if k != "run_id"})


class ThemesConfig(dg.Config):
    """``fields``: explicit field ids (``alpha mine --fields``); ``n_fields``: how many to pick otherwise."""

    fields: list[str] = []
    n_fields: int = 3


@dg.asset(partitions_def=daily, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[dg.AssetDep(field_profiles, partition_mapping=dg.AllPartitionMapping())], group_name=GROUP,
          check_specs=checks.specs("themes"),
          description="Themes picked for a mining day (table themes).")
def themes(context: dg.AssetExecutionContext, config: ThemesConfig, duckdb: DuckDBResource):
    dates = partition_keys(context)
    rows = []
    with duckdb.get_connection() as con:
        profiles = reads.read_partitions(con, "field_profiles")
        for d in dates:
            rows += pick_themes(d, profiles, memory_before(con, d), config.n_fields, config.fields or None)
        n = replace_partitions(con, "themes", dates, rows, run_id=context.run.run_id)
        results = checks.evaluate(con, "themes", dates)
    by_date = {d: [r["field"] for r in rows if r["mining_date"] == d] for d in dates}
    md = "| date | rank | field | archetype | reason |\n|---|---|---|---|---|\n" + "".join(
        f"| {r['mining_date']} | {r['rank']} | {r['field']} | {r['archetype']} | {r['reason']} |\n" for r in rows)
    return dg.MaterializeResult(metadata={"rows": n, "fields_by_date": dg.MetadataValue.json(by_date),
                                          "themes": dg.MetadataValue.md(md), "dagster/row_count": n},
                                check_results=results)
