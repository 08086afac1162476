"""Schedule, sensors (cursors: no winner mutated twice), mutation runs, definitions validation."""
import datetime as dt
import json
import os
import subprocess
import sys

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from alpha_assets.definitions import build_definitions
from alpha_assets.partitions import multi_key
from alpha_assets.schedules import daily_mining_schedule
from alpha_assets.sensors import daily_chain_sensor, field_partitions_sensor, mutation_sensor
from alpha_core.store import reads
from tests.assets.conftest import DATE, ROOT, SYNTH


def test_schedule_requests_the_days_themes():
    ctx = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 2, 6, tzinfo=dt.timezone.utc))
    req = daily_mining_schedule(ctx)
    assert req.partition_key == "2026-03-02" and req.run_key == "themes:2026-03-02"


def test_field_partitions_sensor_adds_registry_fields_once(mined):
    inst = dg.DagsterInstance.ephemeral()
    res = {"duckdb": DuckDBResource(database=mined["db"])}
    out = field_partitions_sensor(dg.build_sensor_context(instance=inst, resources=res))
    (req,) = out.dynamic_partitions_requests
    con = duckdb.connect(mined["db"], read_only=True)
    want = [r[0] for r in con.execute("SELECT id FROM field_registry WHERE local AND kind = 'MATRIX' ORDER BY id").fetchall()]
    con.close()
    assert list(req.partition_keys) == want and "close" in want and "sector" not in want
    inst.add_dynamic_partitions("field", list(req.partition_keys))
    again = field_partitions_sensor(dg.build_sensor_context(instance=inst, resources=res, cursor=out.cursor))
    assert not again.dynamic_partitions_requests


def _report_parents(inst, parents, partition=f"{DATE}|close"):
    inst.report_runless_asset_event(dg.AssetMaterialization(
        "checklists", partition=partition, metadata={"mutation_parents": dg.MetadataValue.json(parents)}))


def test_mutation_sensor_never_mutates_a_winner_twice():
    inst = dg.DagsterInstance.ephemeral()
    p = lambda h: {"alpha_hash": h, "date": DATE, "field": "close", "verdict": "winner"}  # noqa: E731
    _report_parents(inst, [p("a"), p("b")])
    first = mutation_sensor(dg.build_sensor_context(instance=inst))
    (req,) = first.run_requests
    assert req.partition_key == multi_key(DATE, "close")
    assert req.run_config["ops"]["candidates"]["config"]["mutate_parents"] == ["a", "b"]
    none = mutation_sensor(dg.build_sensor_context(instance=inst, cursor=first.cursor))
    assert not none.run_requests                                    # same events: nothing new
    _report_parents(inst, [p("a"), p("c")])                         # a re-run lists a again
    second = mutation_sensor(dg.build_sensor_context(instance=inst, cursor=none.cursor))
    (req2,) = second.run_requests
    assert req2.run_config["ops"]["candidates"]["config"]["mutate_parents"] == ["c"]
    assert set(json.loads(second.cursor)["mutated"]) == {"a", "b", "c"}


def test_mutation_run_adds_children_and_keeps_them_on_rerun(mined):
    db, inst = mined["db"], mined["instance"]
    field = mined["summary"]["fields"][0]
    con = duckdb.connect(db, read_only=True)
    parent = reads.read_partitions(con, "candidates", [(DATE, field)])["alpha_hash"][0]
    con.close()
    job = build_definitions(db, synthetic=SYNTH).resolve_job_def("mining_job")
    cfg = {"ops": {"candidates": {"config": {"per_field": 3, "mutate_parents": [parent], "mutations_per_parent": 2}}}}
    assert job.execute_in_process(instance=inst, partition_key=multi_key(DATE, field), run_config=cfg).success
    con = duckdb.connect(db, read_only=True)
    rows = reads.read_partitions(con, "candidates", [(DATE, field)])
    con.close()
    kids = rows.filter(rows["origin"] == "mutation")
    assert kids.height == 2 and set(kids["parent_hash"]) == {parent}
    assert rows.filter(rows["origin"] == "template").height == 3
    plain = {"ops": {"candidates": {"config": {"per_field": 3}}}}
    assert job.execute_in_process(instance=inst, partition_key=multi_key(DATE, field), run_config=plain).success
    con = duckdb.connect(db, read_only=True)
    again = reads.read_partitions(con, "candidates", [(DATE, field)])
    con.close()
    assert again.drop("run_id").equals(rows.drop("run_id"))          # mutants survive a plain re-run


def test_daily_chain_sensor_requests_mining_then_submission(mined):
    inst, fields = mined["instance"], mined["summary"]["fields"]
    out = daily_chain_sensor(dg.build_sensor_context(instance=inst))
    mining = [r for r in out.run_requests if r.job_name == "mining_job"]
    assert sorted(r.partition_key for r in mining) == sorted(str(multi_key(DATE, f)) for f in fields)
    # the checklists of every picked field were materialised after the latest themes event -> submit
    assert [r.partition_key for r in out.run_requests if r.job_name == "submit_job"] == [DATE]
    again = daily_chain_sensor(dg.build_sensor_context(instance=inst, cursor=out.cursor))
    assert not again.run_requests


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ALPHA_DUCKDB": str(tmp_path / "a.duckdb")}
    (tmp_path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    proc = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "alpha_assets.definitions"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Validation successful" in proc.stderr + proc.stdout


def test_instance_config_has_queue_and_duckdb_pool(home):
    inst = dg.DagsterInstance.get()
    try:
        assert type(inst.run_coordinator).__name__ == "QueuedRunCoordinator"
        cfg = inst.get_concurrency_config()
        assert cfg.pool_config.default_pool_limit == 1
        assert cfg.pool_config.pool_granularity.value == "op"
        assert cfg.run_queue_config.max_concurrent_runs == 4
        assert str(inst.root_directory) == str(home)
    finally:
        inst.dispose()
