"""How often does a read-only DuckDB client fail while ``alpha mine`` runs? (issue 11, item 6)

Runs ``alpha mine`` on the real panel in a fresh temporary DAGSTER_HOME (a warm-up day first, so the
measured run finds the tables and profiles in place), and while the measured run is going, two reader
processes poll the DuckDB file every ``--interval`` seconds:

- ``plain``: ``duckdb.connect(path, read_only=True)`` + one query + close, no retry (the issue's client);
- ``retry``: ``alpha_core.store.writes.connect_read_only`` (retries on the lock with backoff).

It prints, for each reader, reads attempted / failed and the failure rate. Not a test: the counts depend
on the machine. ``python bench/reader_during_mine.py [--fields close,volume] [--per-field 8]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READER = textwrap.dedent("""
    import json, os, sys, time
    import duckdb
    mode, path, stop, interval = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    ok = failed = 0
    errors = {}
    while not os.path.exists(stop):
        try:
            if mode == "plain":
                con = duckdb.connect(path, read_only=True)
            else:
                from alpha_core.store.writes import connect_read_only
                con = connect_read_only(path, timeout=120)
            try:
                con.execute("SELECT count(*) FROM candidates").fetchone()
            finally:
                con.close()
            ok += 1
        except Exception as exc:
            failed += 1
            key = type(exc).__name__ + ": " + str(exc).splitlines()[0][:80]
            errors[key] = errors.get(key, 0) + 1
        time.sleep(interval)
    print(json.dumps({"mode": mode, "reads": ok + failed, "failed": failed, "errors": errors}))
""")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--date", default="2026-11-21")
    p.add_argument("--fields", default="close,volume")
    p.add_argument("--per-field", default="8")
    p.add_argument("--interval", type=float, default=0.02, help="seconds between a reader's reads")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "DAGSTER_HOME": str(Path(tmp) / "home"), "PYTHONPATH": str(ROOT)}
        env.pop("ALPHA_DUCKDB", None)
        db = Path(tmp) / "home" / "alpha.duckdb"
        mine = [sys.executable, "-m", "alpha_core.cli", "mine", "--date", args.date, "--fields", args.fields,
                "--per-field", args.per_field]
        t0 = time.time()
        subprocess.run(mine, cwd=ROOT, env=env, check=True, capture_output=True)        # warm-up day
        warm = time.time() - t0
        stop = Path(tmp) / "stop"
        readers = [subprocess.Popen([sys.executable, "-c", READER, m, str(db), str(stop), str(args.interval)],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) for m in ("plain", "retry")]
        time.sleep(1.0)                                    # readers up before the run starts
        t0 = time.time()
        run = subprocess.run(mine, cwd=ROOT, env=env, capture_output=True, text=True)
        took = time.time() - t0
        stop.touch()
        outs = [json.loads(r.communicate(timeout=300)[0].strip().splitlines()[-1]) for r in readers]
    print(f"alpha mine --date {args.date} --fields {args.fields} --per-field {args.per_field}: "
          f"warm-up {warm:.1f} s, measured run {took:.1f} s, exit {run.returncode}")
    if run.returncode:
        print(run.stderr[-2000:])
    for o in outs:
        rate = o["failed"] / o["reads"] if o["reads"] else 0.0
        print(f"  reader {o['mode']:5s}: {o['reads']:5d} reads, {o['failed']:4d} failed ({rate:.1%})  {o['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
