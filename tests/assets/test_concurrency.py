"""DuckDB admits one writer: overlapping runs on the persistent instance queue on the `duckdb` pool."""
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid

import dagster as dg
import duckdb
import pytest

from alpha_assets.mine import release_stale_slots, warn_unlocked_storage
from alpha_assets.storage import LOCK_NAME, LockedSqliteEventLogStorage, file_lock
from alpha_core.store import reads, writes
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
                                 run_config={"ops": {"search": {"config": {"budget": 3}}}})
    print(res.run_id)
    sys.exit(0 if res.success else 1)
""")

# Each process claims the pool slot for 4 steps, as a run's executor does, and records when it held it.
CLAIMS = textwrap.dedent("""
    import json, pathlib, sys, time, uuid
    import dagster as dg
    inst = dg.DagsterInstance.get()
    barrier, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run_id = str(uuid.uuid4())
    pathlib.Path(barrier, me).touch()
    while len(list(pathlib.Path(barrier).iterdir())) < n:
        time.sleep(0.005)
    storage = inst.event_log_storage
    if not any(p.name == "duckdb" for p in storage.get_pool_limits()):
        storage.initialize_concurrency_limit_to_default("duckdb")
    held = []
    for k in range(4):
        while not storage.claim_concurrency_slot("duckdb", run_id, f"step{k}").is_claimed:
            time.sleep(0.01)
        start = time.time()
        time.sleep(0.05)
        held.append((start, time.time()))
        storage.free_concurrency_slot_for_step(run_id, f"step{k}")
    print(json.dumps(held))
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
    assert len(a) == len(b) == 1                               # one step: the search
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


@pytest.mark.parametrize("pool, step", [("duckdb", "candidates"), ("brain", "brain_simulations")])
def test_slot_of_a_dead_alpha_mine_process_is_released(home, pool, step):
    inst = dg.DagsterInstance.get()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run = dg.DagsterRun(job_name="mining_job", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED,
                        tags={"alpha/pid": str(dead.pid), "alpha/host": os.uname().nodename})
    inst.add_run(run)
    inst.event_log_storage.initialize_concurrency_limit_to_default(pool)
    assert inst.event_log_storage.claim_concurrency_slot(pool, run.run_id, step).is_claimed
    assert release_stale_slots(inst) == [run.run_id]
    assert inst.event_log_storage.get_concurrency_info(pool).active_slot_count == 0
    assert inst.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    inst.dispose()


def test_project_instance_uses_the_pool_safe_storage(home):
    inst = dg.DagsterInstance.get()
    assert isinstance(inst.event_log_storage, LockedSqliteEventLogStorage)
    assert (home / "history" / "runs.db").exists() and (home / "schedules").is_dir()   # stock SQLite layout
    assert not warn_unlocked_storage(inst)
    inst.dispose()
    with dg.DagsterInstance.ephemeral() as stock:
        out = io.StringIO()
        assert warn_unlocked_storage(stock, out)
        assert "dagster.yaml" in out.getvalue() and "AlphaSqliteStorage" in out.getvalue()


def test_slot_lock_excludes_other_processes(home):
    inst = dg.DagsterInstance.get()
    lock_dir = inst.event_log_storage._base_dir
    probe = ("import fcntl, sys; fh = open(sys.argv[1], 'a')\n"
             "try:\n    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(3)")
    path = os.path.join(lock_dir, LOCK_NAME)
    with file_lock(lock_dir):
        with file_lock(lock_dir):                                  # re-entrant in the holding thread
            assert subprocess.run([sys.executable, "-c", probe, path]).returncode == 3
    assert subprocess.run([sys.executable, "-c", probe, path]).returncode == 0
    inst.dispose()


def test_pool_claims_from_concurrent_processes_never_overlap(home, tmp_path):
    """Stock SQLite storage let two of these processes hold the one slot at once in 4 of 8 trials."""
    dg.DagsterInstance.get().dispose()                              # create the SQLite files first
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    n = 4
    procs = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", CLAIMS, str(tmp_path), str(k), str(n)],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(n)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * n, [o[1][-1500:] for o in outs]
    held = sorted(tuple(iv) for o in outs for iv in json.loads(o[0].strip().splitlines()[-1]))
    assert len(held) == 4 * n
    for (_, end), (start, _) in zip(held, held[1:]):
        assert end <= start


# One `alpha mine --fields <field>` (synthetic panel) on the persistent instance; prints its summary as JSON.
MINE = textwrap.dedent("""
    import json, pathlib, sys, time
    from alpha_assets.mine import run_mine
    synth, date, field, barrier = sys.argv[1:5]
    pathlib.Path(barrier, field).touch()
    while len(list(pathlib.Path(barrier).iterdir())) < 2:
        time.sleep(0.02)
    s = run_mine(date, [field], 2, synthetic=synth)
    print(json.dumps({k: s[k] for k in ("date", "fields", "candidates", "lint_clean")}))
""")


SMALL = "120,20,1"                                                 # a small synthetic panel: fast runs


@pytest.fixture(scope="module")
def concurrent_day(tmp_path_factory):
    """Two `alpha mine --date DATE --fields X` processes at once (close, volume) on one DAGSTER_HOME and
    DuckDB file, while this process polls the file through ``writes.reading`` every 10 ms."""
    base = tmp_path_factory.mktemp("concurrent")
    home = base / "home"
    home.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", home / "dagster.yaml")
    db = home / "alpha.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "ALPHA_DUCKDB": str(db), "PYTHONPATH": str(ROOT)}
    barrier = base / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-W", "ignore", "-c", MINE, SMALL, DATE, f, str(barrier)], cwd=ROOT,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in ("close", "volume")]
    reads_ok, failures = 0, []
    while any(p.poll() is None for p in procs):
        try:
            with writes.reading(db, timeout=120) as con:
                if reads.table_exists(con, "candidates"):
                    con.execute("SELECT count(*) FROM candidates").fetchone()
            reads_ok += 1
        except Exception as exc:                                   # noqa: BLE001 - every failure counts
            failures.append(repr(exc))
        time.sleep(0.01)
    outs = [p.communicate(timeout=60) for p in procs]
    yield {"procs": procs, "outs": outs, "db": db, "reads": reads_ok, "failures": failures}


def test_concurrent_mines_of_one_day_keep_each_others_themes(concurrent_day):
    procs, outs = concurrent_day["procs"], concurrent_day["outs"]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    for field, (out, _) in zip(("close", "volume"), outs):
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary == {"date": DATE, "fields": [field], "candidates": 2, "lint_clean": 2}   # its own run
    con = duckdb.connect(str(concurrent_day["db"]), read_only=True)
    try:
        themes = reads.read_partitions(con, "themes", None, "mining_date = CAST(? AS DATE)", [DATE])
        cands = reads.read_partitions(con, "candidates")
    finally:
        con.close()
    assert sorted(themes["field"].to_list()) == ["close", "volume"]
    assert sorted(set(cands["field"].to_list())) == ["close", "volume"] and cands.height == 4


def test_read_only_reader_never_fails_during_mining(concurrent_day):
    assert concurrent_day["failures"] == []
    assert concurrent_day["reads"] >= 20                               # it really polled during the runs
