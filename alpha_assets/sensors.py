"""Sensors (ARCHITECTURE.md "Automation").

- ``field_partitions_sensor``: local MATRIX ids of the ``field_registry`` table -> ``field`` dynamic partitions.
- ``mutation_sensor``: winners and near misses listed in ``checklists`` materialisations (metadata
  ``mutation_parents``) -> a ``mining_job`` run on the parent's (date, field) whose ``candidates`` config names
  the parents; cursor = last event storage id + every hash already mutated, so no parent is mutated twice.
- ``daily_chain_sensor``: a ``themes`` materialisation -> one ``mining_job`` run per (date, field) picked; when
  every one of them has a newer ``checklists`` materialisation -> the day's ``submit_job`` run.

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
MUTATED_MEMORY = 5000


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


@dg.sensor(job=mining_job, minimum_interval_seconds=60,
           description="Winners and near misses -> mutation candidates (origin 'mutation', parent hash set).")
def mutation_sensor(context: dg.SensorEvaluationContext):
    cur = _load_cursor(context.cursor, {"after": 0, "mutated": []})
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("checklists"), after_storage_id=cur["after"] or None),
        limit=MAX_EVENTS_PER_TICK, ascending=True).records
    mutated = list(cur["mutated"])
    done = set(mutated)
    todo: dict[tuple[str, str], list[str]] = {}
    for rec in records:
        for p in _json_meta(rec, "mutation_parents") or []:
            if p["alpha_hash"] in done:
                continue
            done.add(p["alpha_hash"])
            mutated.append(p["alpha_hash"])
            todo.setdefault((p["date"], p["field"]), []).append(p["alpha_hash"])
        cur["after"] = max(cur["after"], rec.storage_id)
    cur["mutated"] = mutated[-MUTATED_MEMORY:]
    requests = []
    for (date, field), hashes in sorted(todo.items()):
        digest = hashlib.sha256(",".join(sorted(hashes)).encode()).hexdigest()[:16]
        requests.append(dg.RunRequest(
            run_key=f"mutate:{date}|{field}:{digest}", partition_key=multi_key(date, field),
            run_config={"ops": {"candidates": {"config": {"mutate_parents": sorted(hashes)}}}},
            tags={"alpha/trigger": "mutation"}))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cur))


@dg.sensor(jobs=[mining_job, submit_job], minimum_interval_seconds=60,
           description="themes -> (date, field) mining runs -> the day's submissions once all are checked.")
def daily_chain_sensor(context: dg.SensorEvaluationContext):
    cur = _load_cursor(context.cursor, {"after": 0, "pending": {}})
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("themes"), after_storage_id=cur["after"] or None),
        limit=MAX_EVENTS_PER_TICK, ascending=True).records
    requests = []
    for rec in records:
        for date, fields in sorted((_json_meta(rec, "fields_by_date") or {}).items()):
            for f in fields:
                requests.append(dg.RunRequest(job_name=mining_job.name, partition_key=multi_key(date, f),
                                              run_key=f"chain:{rec.storage_id}:{date}|{f}",
                                              tags={"alpha/trigger": "daily_chain"}))
            cur["pending"][date] = {"after": rec.storage_id, "fields": fields}
        cur["after"] = max(cur["after"], rec.storage_id)
    for date, info in sorted(cur["pending"].items()):
        wanted = {f"{date}|{f}" for f in info["fields"]}
        got = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("checklists"), asset_partitions=sorted(wanted),
                                  after_storage_id=info["after"]), limit=10 * len(wanted) + 10).records
        if wanted and {r.partition_key for r in got} >= wanted:
            requests.append(dg.RunRequest(job_name=submit_job.name, partition_key=date,
                                          run_key=f"submit:{info['after']}:{date}",
                                          tags={"alpha/trigger": "daily_chain"}))
            del cur["pending"][date]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cur))
