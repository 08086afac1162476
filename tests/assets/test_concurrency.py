"""DuckDB admits one writer: overlapping runs on the persistent instance queue on the `duckdb` pool."""
import os
import subprocess
import sys
import textwrap
import uuid

import dagster as dg
import duckdb

from alpha_assets.mine import release_stale_slots
from alpha_core.store import reads
from tests.assets.conftest import DATE, ROOT, SYNTH

RUN = textwrap.dedent("""
    import pathlib, sys, time
    import dagster as dg
    from alpha_assets.definitions import build_definitions
    from alpha_assets.partitions import multi_key
    db, synth, date, field, barrier = sys.argv[1:6]
    job = build_definitions(db, synthetic=synth).resolve_job_def("mining_job")
    # barrier: both processes have imported and built their job before either starts its run
    pathlib.Path(barrier, field).touch()
    deadline = time.time() + 120
    while len(list(pathlib.Path(barrier).iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
    res = job.execute_in_process(instance=dg.DagsterInstance.get(), partition_key=multi_key(date, field),
                                 raise_on_error=False,
                                 run_config={"ops": {"candidates": {"config": {"per_field": 3}}}})
    print(res.run_id)
    sys.exit(0 if res.success else 1)
""")


def _intervals(inst, run_id):
    out = {}
    for rec in inst.all_logs(run_id):
        ev = rec.dagster_event
        if ev is None or ev.step_key is None:
            continue
        if ev.event_type == dg.DagsterEventType.STEP_START:
            out.setdefault(ev.step_key, [None, None])[0] = rec.timestamp
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            out.setdefault(ev.step_key, [None, None])[1] = rec.timestamp
    return [tuple(v) for v in out.values()]


def test_overlapping_runs_serialize_on_the_duckdb_pool(home, db, tmp_path):
    inst = dg.DagsterInstance.get()
    inst.add_dynamic_partitions("field", ["close", "volume"])
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", RUN, db, SYNTH, DATE, f, str(barrier)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in ("close", "volume")]
    outs = [p.communicate(timeout=400) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    run_ids = [o[0].strip().splitlines()[-1] for o in outs]
    a, b = (_intervals(inst, r) for r in run_ids)
    assert len(a) == len(b) == 4
    for s1, e1 in a:                                           # no step of one run overlaps a step of the other
        for s2, e2 in b:
            assert e1 <= s2 or e2 <= s1
    runs = [inst.get_run_record_by_id(r) for r in run_ids]
    assert runs[0].start_time < runs[1].end_time and runs[1].start_time < runs[0].end_time   # runs overlapped
    assert inst.event_log_storage.get_concurrency_info("duckdb").slot_count == 1
    con = duckdb.connect(db, read_only=True)
    try:
        got = reads.read_partitions(con, "checklists")
        assert sorted(set(got["field"])) == ["close", "volume"]
    finally:
        con.close()
    inst.dispose()


def test_slot_of_a_dead_alpha_mine_process_is_released(home):
    inst = dg.DagsterInstance.get()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = dg.DagsterRun(job_name="mining_job", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
                        tags={"alpha/pid": str(dead.pid), "alpha/host": os.uname().nodename})
    inst.add_run(run)
    inst.event_log_storage.initialize_concurrency_limit_to_default("duckdb")
    assert inst.event_log_storage.claim_concurrency_slot("duckdb", run.run_id, "candidates").is_claimed
    assert release_stale_slots(inst) == [run.run_id]
    assert inst.event_log_storage.get_concurrency_info("duckdb").active_slot_count == 0
    assert inst.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    inst.dispose()
