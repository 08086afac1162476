"""Stage ``candidates``: proven templates (+ mutation children) per (mining date, field)."""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP, POOL
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.assets.themes import themes
from alpha_assets.partitions import date_x_field, partition_keys
from alpha_assets.resources import MarketData
from alpha_core.gen.mutate import mutate
from alpha_core.gen.pipeline import candidate_rows
from alpha_core.gen.templates import template_candidates
from alpha_core.store import reads
from alpha_core.store.writes import reading

MAX_PARENTS_PER_PARTITION = 8


class CandidatesConfig(dg.Config):
    """``per_field``: templates per field; ``mutate_parents``: hashes whose one-move children join the
    partition (set by ``mutation_sensor``; children already in the partition are always kept);
    ``mutations_per_parent``: children per new parent."""

    per_field: int = 8
    mutate_parents: list[str] = []
    mutations_per_parent: int = 4


@dg.asset(partitions_def=date_x_field, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[themes, field_profiles], group_name=GROUP, check_specs=checks.specs("candidates"),
          description="Expressions + settings with hash, origin and parent hash (table candidates).")
def candidates(context: dg.AssetExecutionContext, config: CandidatesConfig, duckdb: DuckDBResource,
               market: MarketData):
    keys = partition_keys(context)
    registry = market.registry()
    rows = []
    with reading(duckdb.database) as con:
        day_themes = reads.read_partitions(con, "themes", keys)
        existing = reads.read_partitions(con, "candidates", keys)
        parents = {p["alpha_hash"]: p for p in
                   reads.read_candidates_by_hash(con, config.mutate_parents).iter_rows(named=True)}
    arche = {(str(r["mining_date"]), r["field"]): r["archetype"] for r in day_themes.iter_rows(named=True)}
    for d, f in keys:
        cands = template_candidates(f, arche.get((d, f)), config.per_field, seed=f"{d}|{f}")
        kept = existing.filter((existing["mining_date"].cast(str) == d) & (existing["field"] == f)
                               & (existing["origin"] == "mutation"))
        had = set(kept["parent_hash"].drop_nulls().to_list())
        new_parents = sorted(set(parents) - had)[:max(0, MAX_PARENTS_PER_PARTITION - len(had))]
        for p in (parents[h] for h in new_parents):
            try:
                cands += mutate(p["expression"], json.loads(p["settings_json"]), p["alpha_hash"],
                                config.mutations_per_parent, p["archetype"])
            except ValueError as exc:
                context.log.warning(str(exc))
        part = candidate_rows(d, f, cands, registry)
        seen = {r["alpha_hash"] for r in part}
        # mutation children already in the partition are kept verbatim: re-runs and backfills never drop them
        part += [{k: v for k, v in r.items() if k != "run_id"} for r in kept.iter_rows(named=True)
                 if r["alpha_hash"] not in seen]
        rows += part
    n, results = checks.write_and_check(duckdb, "candidates", keys, rows, context.run.run_id)
    origins = {o: sum(r["origin"] == o for r in rows) for o in sorted({r["origin"] for r in rows})}
    return dg.MaterializeResult(metadata={"rows": n, "partitions": len(keys), "by_origin": dg.MetadataValue.json(origins),
                                          "dagster/row_count": n},
                                check_results=results)
