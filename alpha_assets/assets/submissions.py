"""Stages ``submissions`` (dry-run records per mining day) and ``winner_memory`` (outcome counts)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks, report
from alpha_assets.assets._common import GROUP, POOL, accepted_pnls
from alpha_assets.assets.checklists import checklists
from alpha_assets.partitions import daily, partition_keys
from alpha_assets.resources import BrainResource
from alpha_core.brain.dryrun import dry_run_submissions
from alpha_core.gen.pipeline import is_pnl, winner_memory_rows
from alpha_core.store import reads
from alpha_core.store.writes import reading


@dg.asset(partitions_def=daily, pool=POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[checklists], group_name=GROUP, check_specs=checks.specs("submissions"),
          description="Submission attempts of the day's winners (table submissions).")
def submissions(context: dg.AssetExecutionContext, duckdb: DuckDBResource, brain: BrainResource):
    if brain.submit_live:
        raise dg.Failure("ALPHA_SUBMIT_LIVE is true but this build only records dry-run submissions; "
                         "unset ALPHA_SUBMIT_LIVE to mine.")
    dates = partition_keys(context)
    with reading(duckdb.database) as con:
        inputs = {}
        for d in dates:
            day = _date_keys(con, d)
            inputs[d] = (reads.verdicts(con, day), reads.read_partitions(con, "simulations", day),
                         reads.submitted_hashes(con, before_date=d), accepted_pnls(con, d))
    rows, winners_seen = [], 0
    for d, (v, sims, submitted, accepted) in inputs.items():
        win = v.filter(v["verdict"] == "winner") if v.height else v
        winners_seen += win.height
        by_hash = {(r["field"], r["alpha_hash"]): r for r in sims.iter_rows(named=True)}
        cands = []
        for w in win.iter_rows(named=True):
            pnl, pdates = is_pnl(by_hash[(w["field"], w["alpha_hash"])])
            cands.append({**w, "pnl": pnl, "dates": pdates})
        rows += dry_run_submissions(d, cands, submitted, accepted)
    n, results = checks.write_and_check(duckdb, "submissions", dates, rows, context.run.run_id)
    return dg.MaterializeResult(metadata={"rows": n, "winners": winners_seen, "mode": "dry-run",
                                          "submitted": dg.MetadataValue.md(report.best_table_md(rows, n=10)),
                                          "dagster/row_count": n},
                                check_results=results)


def _date_keys(con, date: str) -> list[tuple[str, str]]:
    """Every (date, field) partition of ``date`` present in ``checklists``."""
    if not reads.table_exists(con, "checklists"):
        return []
    fields = con.execute("SELECT DISTINCT field FROM checklists WHERE mining_date = CAST(? AS DATE) ORDER BY 1",
                         [date]).fetchall()
    return [(date, f[0]) for f in fields]


@dg.asset(pool=POOL, deps=[checklists, submissions], group_name=GROUP, check_specs=checks.specs("winner_memory"),
          description="Per (field, archetype, settings) outcome counts, rebuilt from all days (table winner_memory).")
def winner_memory(context: dg.AssetExecutionContext, duckdb: DuckDBResource):
    with reading(duckdb.database) as con:
        cands, sims, verdicts = (reads.read_partitions(con, "candidates"), reads.read_partitions(con, "simulations"),
                                 reads.verdicts(con, None))
    rows = winner_memory_rows(cands, sims, verdicts)
    n, results = checks.write_and_check(duckdb, "winner_memory", None, rows, context.run.run_id)
    return dg.MaterializeResult(metadata={"rows": n, "passed_total": sum(r["n_passed"] for r in rows),
                                          "dagster/row_count": n},
                                check_results=results)
