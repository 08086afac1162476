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
from alpha_core.store.writes import polars_schema, reading


def memory_before(cands: pl.DataFrame, sims: pl.DataFrame, verdicts: pl.DataFrame, date: str) -> pl.DataFrame:
    """Winner memory rebuilt from the rows of mining days strictly before ``date``, so re-running a day picks
    the same themes even after that day's own results entered ``winner_memory``."""
    day = dt.date.fromisoformat(date)
    before = pl.col("mining_date") < day
    rows = winner_memory_rows(cands.filter(before), sims.filter(before), verdicts.filter(before))
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
    with reading(duckdb.database) as con:
        profiles = reads.read_partitions(con, "field_profiles")
        before = ("mining_date < CAST(? AS DATE)", [max(dates)])
        cands = reads.read_partitions(con, "candidates", None, *before)
        sims = reads.read_partitions(con, "simulations", None, *before)
        verdicts = reads.verdicts(con, None)
    rows = []
    for d in dates:
        rows += pick_themes(d, profiles, memory_before(cands, sims, verdicts, d), config.n_fields,
                            config.fields or None)
    # a run replaces only the (date, field) rows it picked: concurrent runs of one day keep each other's rows
    keys = [(r["mining_date"], r["field"]) for r in rows]
    n, results = checks.write_and_check(duckdb, "themes", keys, rows, context.run.run_id)
    by_date = {d: [r["field"] for r in rows if r["mining_date"] == d] for d in dates}
    md = "| date | rank | field | archetype | reason |\n|---|---|---|---|---|\n" + "".join(
        f"| {r['mining_date']} | {r['rank']} | {r['field']} | {r['archetype']} | {r['reason']} |\n" for r in rows)
    return dg.MaterializeResult(metadata={"rows": n, "fields_by_date": dg.MetadataValue.json(by_date),
                                          "themes": dg.MetadataValue.md(md), "dagster/row_count": n},
                                check_results=results)
