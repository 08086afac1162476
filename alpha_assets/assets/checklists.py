"""Stage ``checklists``: SIMULATION.md §7 checks per candidate, with its verdict (winner / near_miss / fail)."""

import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks, report
from alpha_assets.assets._common import GROUP, POOL, accepted_pnls, artifacts_dir
from alpha_assets.assets.simulations import simulations
from alpha_assets.partitions import date_x_field, partition_keys
from alpha_core.gen.pipeline import checklist_rows
from alpha_core.store import reads
from alpha_core.store.writes import reading


@dg.asset(partitions_def=date_x_field, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[simulations], group_name=GROUP, check_specs=checks.specs("checklists"),
          description="Submission checks per candidate and check (table checklists).")
def checklists(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    keys = partition_keys(context)
    with reading(duckdb.database) as con:
        sims = reads.read_partitions(con, "simulations", keys)
        cands = reads.read_partitions(con, "candidates", keys)
        accepted = accepted_pnls(con, min(d for d, _ in keys)) if keys else []
    settings = {r["alpha_hash"]: json.loads(r["settings_json"]) for r in cands.iter_rows(named=True)}
    rows = checklist_rows(sims, settings, accepted)
    n, results = checks.write_and_check(duckdb, "checklists", keys, rows, context.run.run_id)
    with reading(duckdb.database) as con:
        v = reads.verdicts(con, keys)
    per = list(v.iter_rows(named=True))
    counts = {k: sum(r["verdict"] == k for r in per) for k in ("winner", "near_miss", "fail")}
    parents = [{"alpha_hash": r["alpha_hash"], "date": str(r["mining_date"]), "field": r["field"],
                "verdict": r["verdict"]} for r in per if r["verdict"] in ("winner", "near_miss")]
    meta = {"rows": n, "candidates_checked": len(per), **counts,
            "pass_rate": float(counts["winner"] / len(per)) if per else 0.0,
            "best_alphas": dg.MetadataValue.md(report.best_table_md(per)),
            "mutation_parents": dg.MetadataValue.json(parents), "dagster/row_count": n}
    ranked = [r for r in per if r["is_fitness"] is not None]
    if ranked:
        best = max(ranked, key=lambda r: (r["is_fitness"], r["alpha_hash"]))
        row = sims.filter((sims["alpha_hash"] == best["alpha_hash"]) & (sims["field"] == best["field"])).row(0, named=True)
        meta.update(report.pnl_metadata({**row, "expression": best["expression"]}, artifacts_dir(duckdb),
                                        f"pnl_{best['mining_date']}_{best['field']}"))
    return dg.MaterializeResult(metadata=meta, check_results=results)
