"""Sensors (ARCHITECTURE.md "Automation").

- ``field_partitions_sensor``: local MATRIX ids of the ``field_registry`` table -> ``field`` dynamic partitions.
- ``daily_chain_sensor``: the day plan (``alpha_core.gen.dayplan.day_plan``, which ``alpha mine`` runs too): a
  ``themes`` materialisation -> one ``mining_job`` run per (date, field) picked (run key per (date, field), so
  a day is never re-mined); once all of them finished -> the day's ``submit_job`` run; a later ``checklists``
  materialisation of one of the day's fields -> another ``submit_job`` run, so late winners are not lost.
  Mutation happens inside the search, bounded by its budget and generations (there is no mutation sensor).

Sensors read Dagster's event log (never the DuckDB file, which a running writer may lock) except
``field_partitions_sensor``, which reads the registry table and skips the tick while the file is locked.
"""

import hashlib
import json

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_assets.jobs import mining_job, submit_job
from alpha_assets.partitions import field_partitions, multi_key
from alpha_core.store.reads import table_exists
from alpha_core.store.writes import is_lock_error, reading

MAX_EVENTS_PER_TICK = 200


def _json_meta(record, key):
    value = record.asset_materialization.metadata.get(key) if record.asset_materialization else None
    return getattr(value, "value", value) if value is not None else None


def read_mineable_ids(database: str) -> list[str]:
    """Local MATRIX field ids in the ``field_registry`` table (read-only connection that retries on the lock for
    up to 5 s; a missing file or table gives [])."""
    with reading(database, timeout=5.0) as con:
        if not table_exists(con, "field_registry"):
            return []
        return [r[0] for r in con.execute(
            "SELECT id FROM field_registry WHERE local AND kind = 'MATRIX' ORDER BY id").fetchall()]


@dg.sensor(minimum_interval_seconds=60, description="field_registry -> dynamic 'field' partitions.")
def field_partitions_sensor(context: dg.SensorEvaluationContext, duckdb: DuckDBResource):
    try:
        ids = read_mineable_ids(duckdb.database)
    except Exception as exc:
        if is_lock_error(exc):
            return dg.SkipReason("DuckDB file is locked by a writer; retrying next tick")
        raise
    if not ids:
        return dg.SkipReason("field_registry is empty: materialize it first")
    existing = set(context.instance.get_dynamic_partitions(field_partitions.name))
    new = [i for i in ids if i not in existing]
    cursor = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]
    if not new:
        return dg.SensorResult(cursor=cursor, skip_reason=f"all {len(ids)} fields already partitions")
    return dg.SensorResult(dynamic_partitions_requests=[field_partitions.build_add_request(new)], cursor=cursor)


def _load_cursor(text: str | None, default: dict) -> dict:
    try:
        return {**default, **json.loads(text)} if text else dict(default)
    except (ValueError, TypeError):
        return dict(default)


CHAIN_TAG = "alpha/chain_date"
KEEP_SUBMITTED_DAYS = 14


def _mined(context, date: str, field: str) -> bool:
    """True when the (date, field) search already materialized ``checklists``."""
    recs = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("checklists"), asset_partitions=[f"{date}|{field}"]), limit=1)
    return bool(recs.records)


def _latest_checklists_id(context, date: str, fields: list[str]) -> int:
    keys = sorted(f"{date}|{f}" for f in fields)
    recs = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("checklists"), asset_partitions=keys),
        limit=1, ascending=False).records if keys else []
    return recs[0].storage_id if recs else 0


@dg.sensor(jobs=[mining_job, submit_job], minimum_interval_seconds=60,
           description="The day plan (alpha_core.gen.dayplan): themes -> one search run per picked (date, field), "
                       "never twice -> the day's submissions once those runs finished, again if winners arrive later.")
def daily_chain_sensor(context: dg.SensorEvaluationContext):
    from alpha_core.gen.dayplan import day_plan

    cur = _load_cursor(context.cursor, {"after": 0, "pending": {}, "submitted": {}})
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("themes"), after_storage_id=cur["after"] or None),
        limit=MAX_EVENTS_PER_TICK, ascending=True).records
    requests = []
    for rec in records:
        for date, fields in sorted((_json_meta(rec, "fields_by_date") or {}).items()):
            known = cur["pending"].get(date, {}).get("fields", []) or cur["submitted"].get(date, {}).get("fields", [])
            # a (date, field) already searched (e.g. by `alpha mine`, before the sensor was turned on) is not re-mined
            new = [f for f in fields if f not in known and not _mined(context, date, f)]
            for step in day_plan(date, new):
                if step.job == mining_job.name:
                    d, f = step.partition
                    # run_key per (date, field): Dagster never launches a key twice, so a day is never re-mined
                    requests.append(dg.RunRequest(job_name=mining_job.name, partition_key=multi_key(d, f),
                                                  run_key=f"chain:{d}|{f}",
                                                  tags={"alpha/trigger": "daily_chain", CHAIN_TAG: d}))
            if new:
                cur["pending"][date] = {"fields": sorted(set(known) | set(new))}
                cur["submitted"].pop(date, None)
        cur["after"] = max(cur["after"], rec.storage_id)
    for date, info in sorted(cur["pending"].items()):
        runs = context.instance.get_runs(dg.RunsFilter(job_name=mining_job.name, tags={CHAIN_TAG: date}))
        mined = {r.tags.get("dagster/partition/field") or str(r.tags.get("dagster/partition", "")).split("|")[-1]
                 for r in runs}
        if set(info["fields"]) <= mined and all(r.is_finished for r in runs):
            last = _latest_checklists_id(context, date, info["fields"])
            requests.append(dg.RunRequest(job_name=submit_job.name, partition_key=date, run_key=f"submit:{date}:{last}",
                                          tags={"alpha/trigger": "daily_chain"}))
            cur["submitted"][date] = {"fields": info["fields"], "checklists_id": last}
            del cur["pending"][date]
    # winners that arrive after the day's submission run (a re-run or backfill of one of its fields) are not lost
    for date, info in sorted(cur["submitted"].items()):
        last = _latest_checklists_id(context, date, info["fields"])
        if last > info["checklists_id"]:
            requests.append(dg.RunRequest(job_name=submit_job.name, partition_key=date, run_key=f"submit:{date}:{last}",
                                          tags={"alpha/trigger": "daily_chain"}))
            info["checklists_id"] = last
    for date in sorted(cur["submitted"])[:-KEEP_SUBMITTED_DAYS]:
        del cur["submitted"][date]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cur))
