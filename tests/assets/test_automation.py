"""Schedule, sensors (the day plan: each field mined once, submissions after the runs, late winners), resume,
definitions validation."""
import datetime as dt
import os
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from alpha_assets.definitions import build_definitions
from alpha_assets.partitions import multi_key
from alpha_assets.schedules import daily_mining_schedule
from alpha_assets.sensors import daily_chain_sensor, field_partitions_sensor
from alpha_core.store import reads
from tests.assets.conftest import BUDGET, DATE, ROOT, SYNTH


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


def test_a_rerun_with_more_budget_replays_what_is_stored_and_simulates_only_the_rest(mined, tmp_path):
    """Resume: a search run on a partition that already holds trials replays them (never re-simulates an
    alpha hash) and spends only the extra budget on new simulations."""
    db = str(tmp_path / "copy.duckdb")
    shutil.copyfile(mined["db"], db)
    inst = dg.DagsterInstance.ephemeral()
    field = mined["summary"]["fields"][0]
    inst.add_dynamic_partitions("field", [field])
    con = duckdb.connect(db, read_only=True)
    before = reads.read_partitions(con, "candidates", [(DATE, field)])
    con.close()
    job = build_definitions(db, synthetic=SYNTH).resolve_job_def("mining_job")
    res = job.execute_in_process(instance=inst, partition_key=multi_key(DATE, field),
                                 run_config={"ops": {"search": {"config": {"budget": BUDGET + 20}}}})
    assert res.success
    meta = {k: v.value for m in res.asset_materializations_for_node("search") for k, v in m.metadata.items()
            if k in ("simulated_now", "replayed")}
    assert meta == {"simulated_now": 20, "replayed": BUDGET}
    con = duckdb.connect(db, read_only=True)
    after = reads.read_partitions(con, "candidates", [(DATE, field)])
    con.close()
    assert after.height == BUDGET + 20
    assert set(before["alpha_hash"]) < set(after["alpha_hash"])
    kept = after.filter(after["alpha_hash"].is_in(before["alpha_hash"].to_list()))
    assert kept.drop("run_id", "independent").sort("alpha_hash").equals(
        before.drop("run_id", "independent").sort("alpha_hash"))


def test_daily_chain_sensor_mines_each_field_once_then_submits_and_resubmits_late_winners(mined, tmp_path):
    db = str(tmp_path / "chain.duckdb")
    shutil.copyfile(mined["db"], db)
    inst = dg.DagsterInstance.ephemeral()
    fields = mined["summary"]["fields"]
    inst.add_dynamic_partitions("field", fields)
    inst.report_runless_asset_event(dg.AssetMaterialization(
        "themes", partition=DATE, metadata={"fields_by_date": dg.MetadataValue.json({DATE: fields})}))
    out = daily_chain_sensor(dg.build_sensor_context(instance=inst))
    mining = out.run_requests
    assert sorted(r.partition_key for r in mining) == sorted(str(multi_key(DATE, f)) for f in fields)
    assert all(r.job_name == "mining_job" for r in mining)           # no submission before the runs finish
    # the same themes again (a re-run of the schedule's run): no field is mined twice
    inst.report_runless_asset_event(dg.AssetMaterialization(
        "themes", partition=DATE, metadata={"fields_by_date": dg.MetadataValue.json({DATE: fields})}))
    again = daily_chain_sensor(dg.build_sensor_context(instance=inst, cursor=out.cursor))
    assert not again.run_requests
    job = build_definitions(db, synthetic=SYNTH).resolve_job_def("mining_job")
    small = {"ops": {"search": {"config": {"budget": 50}}}}
    for r in mining:
        assert job.execute_in_process(instance=inst, partition_key=r.partition_key, tags=r.tags,
                                      run_config=small).success
    done = daily_chain_sensor(dg.build_sensor_context(instance=inst, cursor=again.cursor))
    assert [(r.job_name, r.partition_key) for r in done.run_requests] == [("submit_job", DATE)]
    quiet = daily_chain_sensor(dg.build_sensor_context(instance=inst, cursor=done.cursor))
    assert not quiet.run_requests
    # a later run of one of the day's fields (a backfill with more budget) -> the day's submissions again
    assert job.execute_in_process(instance=inst, partition_key=mining[0].partition_key, run_config=small).success
    late = daily_chain_sensor(dg.build_sensor_context(instance=inst, cursor=quiet.cursor))
    assert [(r.job_name, r.partition_key) for r in late.run_requests] == [("submit_job", DATE)]
    assert late.run_requests[0].run_key != done.run_requests[0].run_key


def test_daily_chain_sensor_turned_on_after_alpha_mine_does_not_re_mine_the_day(mined):
    """The sensor's first tick reads every themes event, including days `alpha mine` already searched."""
    out = daily_chain_sensor(dg.build_sensor_context(instance=mined["instance"]))
    assert not out.run_requests


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
