"""Stage ``brain_simulations``: the day's locally passing alphas simulated on BRAIN when ``ALPHA_BRAIN_ENABLED``
(``alpha_core.brain.day.simulate_day``), BRAIN's metrics stored beside the local ones, and the calibration table
(local versus BRAIN) in the materialization. Pool ``brain`` (limit 1): one step at a time drives the account,
whose simulation slots the client's adaptive concurrency fills (``ALPHA_BRAIN_MAX_CONCURRENCY``)."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets import checks
from alpha_assets.assets._common import GROUP
from alpha_assets.partitions import daily, partition_keys
from alpha_assets.resources import BrainResource
from alpha_core.brain.calibration import calibration_summary
from alpha_core.brain.day import simulate_day
from alpha_core.brain.errors import BrainError
from alpha_core.report import format_table
from alpha_core.store.schema import ensure_schema
from alpha_core.store.writes import reading, writing

BRAIN_POOL = "brain"
_COLUMNS = ["alpha_hash", "status", "local_sharpe", "brain_sharpe", "local_turnover", "brain_turnover",
            "local_fitness", "brain_fitness", "local_verdict", "brain_verdict"]


@dg.asset(partitions_def=daily, pool=BRAIN_POOL, backfill_policy=dg.BackfillPolicy.single_run(),
          deps=[dg.AssetDep("checklists")], group_name=GROUP, check_specs=checks.specs("brain_simulations"),
          description="The day's winners simulated on BRAIN when ALPHA_BRAIN_ENABLED (best local IS fitness first, "
                      "at most ALPHA_BRAIN_DAY_LIMIT; a hash is never posted twice): BRAIN's sharpe, fitness, "
                      "turnover and checks beside the local ones (table brain_simulations).")
def brain_simulations(context: dg.AssetExecutionContext, duckdb: DuckDBResource, brain: BrainResource):
    dates = partition_keys(context)
    if not brain.enabled:
        context.log.info("ALPHA_BRAIN_ENABLED is false: nothing sent to BRAIN, the table is left as it was")
        with writing(duckdb.database) as con:
            ensure_schema(con, ["brain_simulations"])
        with reading(duckdb.database) as con:
            results = checks.evaluate(con, "brain_simulations", dates)
        return dg.MaterializeResult(metadata={"enabled": False, "sent": 0}, check_results=results)
    rows = []
    try:
        with brain.client() as client:
            for d in dates:
                rows += simulate_day(duckdb.database, d, client, brain.day_limit)
                context.log.info(f"{d}: {sum(r['posted'] for r in rows)} posted to BRAIN so far, "
                                 f"{len(rows)} alphas answered")
    except (BrainError, ValueError) as exc:
        raise dg.Failure(f"BRAIN simulations of {', '.join(dates)} stopped: {type(exc).__name__}: {exc} (what "
                         "finished is in the ledger and is reused by the next run)") from None
    n, results = checks.write_and_check(duckdb, "brain_simulations", dates, rows, context.run.run_id)
    summary = calibration_summary([r for r in rows if r["brain_sharpe"] is not None])
    statuses = {s: sum(r["status"] == s for r in rows) for s in sorted({r["status"] for r in rows})}
    table = format_table([{**r, "alpha_hash": r["alpha_hash"][:12]} for r in rows], _COLUMNS) if rows else "none"
    return dg.MaterializeResult(metadata={
        "enabled": True, "sent": len(rows), "posted": sum(bool(r["posted"]) for r in rows),
        "statuses": dg.MetadataValue.json(statuses), "agreement": dg.MetadataValue.json(summary),
        "calibration": dg.MetadataValue.md(f"```\n{table}\n```"), "dagster/row_count": n},
        check_results=results)
