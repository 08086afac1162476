"""``alpha mine --date YYYY-MM-DD [--fields f1,f2] [--per-field N]``: one mining day through Dagster.

``run_mine`` executes, in process and recorded in the persistent instance ($DAGSTER_HOME, so every run
shows in ``dagster dev``), the jobs the schedule + sensors would launch:

1. ``registry_job``      field_registry (unpartitioned), then the ``field`` dynamic partitions are synced
2. ``profiles_job``      field_profiles over every field partition (one single-run backfill), only when a
                         field lacks a profile
3. ``themes_job``        themes[date] (``--fields`` forces the fields)
4. ``mining_job`` x F    candidates -> lint_results -> simulations -> checklists for each (date, field)
5. ``submit_job``        submissions[date] (dry-run) + winner_memory

Every step claims the ``duckdb`` pool (limit 1), so a concurrent ``alpha mine``, UI run or backfill waits
instead of hitting DuckDB's file lock. Running the same day twice rewrites the same partitions with the
same rows (only ``run_id`` and ``submitted_at`` change).
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from alpha_assets.partitions import MINING_START, daily, field_partitions, multi_key
from alpha_core.config import AlphaSettings, default_dagster_home, project_root

POOL = "duckdb"
CONSOLE_LOG_LEVEL = os.environ.get("ALPHA_MINE_LOG_LEVEL", "WARNING")  # the instance keeps the full event log


class MineError(RuntimeError):
    """A mining day could not run: bad arguments or a failed step (message names which)."""


def ensure_dagster_home() -> Path:
    """Set DAGSTER_HOME (default ``<project>/.dagster_home``), create it and copy ``dagster.yaml`` in when missing."""
    home = default_dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    target = home / "dagster.yaml"
    source = project_root() / "dagster.yaml"
    if not target.exists() and source.exists():
        shutil.copyfile(source, target)
    return home


def warn_unlocked_storage(instance, stream=None) -> bool:
    """Print a warning (to ``stream``, default stderr) and return True when ``instance`` does not use the
    project's pool-safe storage, i.e. its ``dagster.yaml`` predates ``alpha_assets.storage``: concurrent
    runs could then both take the ``duckdb`` slot."""
    from alpha_assets.storage import LockedSqliteEventLogStorage

    if isinstance(instance.event_log_storage, LockedSqliteEventLogStorage):
        return False
    print(f"alpha mine: warning: {os.environ.get('DAGSTER_HOME', '')}/dagster.yaml does not use "
          "alpha_assets.storage.AlphaSqliteStorage, so two runs at once may both write DuckDB; copy the "
          "project's dagster.yaml there (its `storage:` block) to fix it", file=stream or sys.stderr)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def release_stale_slots(instance) -> list[str]:
    """Free ``duckdb`` pool slots held by runs that finished or whose ``alpha mine`` process died (a killed
    in-process run never frees its slot; without a daemon nobody else would). Returns the freed run ids."""
    freed = []
    info = instance.event_log_storage.get_concurrency_info(POOL)
    for run_id in sorted(info.active_run_ids | info.pending_run_ids):
        run = instance.get_run_by_id(run_id)
        dead = run is None or run.is_finished
        if run is not None and not run.is_finished:
            pid, host = run.tags.get("alpha/pid"), run.tags.get("alpha/host")
            if pid and host == os.uname().nodename and not _pid_alive(int(pid)):
                instance.report_run_failed(run, "alpha mine: the process running this run died")
                dead = True
        if dead:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed


def _check_date(date: str) -> str:
    try:
        day = dt.date.fromisoformat(date)
    except (TypeError, ValueError):
        raise MineError(f"--date {date!r} is not an ISO date (YYYY-MM-DD)") from None
    last = dt.date.fromisoformat(daily.get_last_partition_key())
    if not dt.date.fromisoformat(MINING_START) <= day <= last:
        raise MineError(f"--date {date}: mining days run from {MINING_START} to today ({last})")
    return day.isoformat()


def _execute(defs, job_name: str, instance, tags: dict, run_config: dict | None = None, **kwargs):
    job = defs.resolve_job_def(job_name)
    config = {**(run_config or {}), "loggers": {"console": {"config": {"log_level": CONSOLE_LOG_LEVEL}}}}
    result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags, run_config=config, **kwargs)
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        detail = "; ".join(f"{e.step_key}: {e.event_specific_data.error.message.strip()[:300]}" for e in failures)
        raise MineError(f"{job_name} failed (run {result.run_id}): {detail or 'see the run in the Dagster UI'}")
    return result.run_id


def run_mine(date: str, fields: list[str] | None = None, per_field: int = 8, *, n_fields: int = 3,
             duckdb_path: str | None = None, data_dir: str | None = None, synthetic: str = "",
             instance: dg.DagsterInstance | None = None) -> dict:
    """Mine ``date`` through Dagster; return the summary (counts, best alpha, run ids, paths).

    ``fields``: field ids to mine (default: the day's themes, ``n_fields`` of them); ``per_field``: template
    candidates per field. ``instance``: defaults to the persistent instance under DAGSTER_HOME.
    Raises MineError for a bad date/field or a failed run.
    """
    from alpha_assets.definitions import build_definitions
    from alpha_assets.sensors import read_mineable_ids
    from alpha_core.store import reads
    from alpha_core.store.writes import connect

    date = _check_date(date)
    if per_field < 1:
        raise MineError(f"--per-field must be >= 1, got {per_field}")
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
        warn_unlocked_storage(instance)
    db = duckdb_path or str(AlphaSettings().resolved_duckdb())
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(db, data_dir, synthetic)
    tags = {"alpha/trigger": "alpha mine", "alpha/pid": str(os.getpid()), "alpha/host": os.uname().nodename}
    release_stale_slots(instance)
    runs = {"registry": _execute(defs, "registry_job", instance, tags)}

    ids = read_mineable_ids(db)
    have = set(instance.get_dynamic_partitions(field_partitions.name))
    new = [i for i in ids if i not in have]
    if new:
        instance.add_dynamic_partitions(field_partitions.name, new)
    if fields:
        unknown = [f for f in fields if f not in ids]
        if unknown:
            raise MineError(f"--fields {unknown} are not local MATRIX fields; known: {', '.join(ids)}")

    con = connect(db)
    try:
        profiled = set(reads.read_partitions(con, "field_profiles")["field"].to_list())
    finally:
        con.close()
    if set(ids) - profiled:
        keys = instance.get_dynamic_partitions(field_partitions.name)
        runs["profiles"] = _execute(defs, "profiles_job", instance, {
            **tags, ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]})

    runs["themes"] = _execute(defs, "themes_job", instance, tags, partition_key=date, run_config={
        "ops": {"themes": {"config": {"fields": list(fields or []), "n_fields": n_fields}}}})
    con = connect(db)
    try:
        picked = reads.read_partitions(con, "themes", [date])["field"].to_list()
    finally:
        con.close()
    runs["mining"] = []
    for f in picked:
        runs["mining"].append(_execute(defs, "mining_job", instance, tags, partition_key=multi_key(date, f),
                                       run_config={"ops": {"candidates": {"config": {"per_field": per_field}}}}))
    runs["submit"] = _execute(defs, "submit_job", instance, tags, partition_key=date)
    summary = day_summary(db, date)
    summary.update(runs=runs, duckdb=db, dagster_home=os.environ.get("DAGSTER_HOME", ""))
    return summary


def day_summary(db: str, date: str) -> dict:
    """Counts and the best alpha of ``date`` read from the DuckDB file ``db``."""
    from alpha_core.store import reads
    from alpha_core.store.writes import connect

    con = connect(db)
    try:
        fields = [r[0] for r in con.execute("SELECT field FROM themes WHERE mining_date = CAST(? AS DATE) "
                                            "ORDER BY rank", [date]).fetchall()]
        keys = [(date, f) for f in fields]
        cands = reads.read_partitions(con, "candidates", keys)
        lint = reads.read_partitions(con, "lint_results", keys)
        sims = reads.read_partitions(con, "simulations", keys)
        v = reads.verdicts(con, keys)
        subs = reads.read_partitions(con, "submissions", [date])
    finally:
        con.close()
    best = None
    ranked = v.filter(v["is_fitness"].is_not_null()) if v.height else v
    if ranked.height:
        b = ranked.sort(["is_fitness", "alpha_hash"], descending=[True, False]).row(0, named=True)
        best = {k: b[k] for k in ("alpha_hash", "field", "expression", "settings_json", "verdict", "is_sharpe",
                                  "is_fitness", "is_turnover", "is_returns", "is_drawdown", "is_margin", "os_sharpe")}
    return {"date": date, "fields": fields, "candidates": cands.height,
            "lint_clean": int(lint["ok"].sum()) if lint.height else 0,
            "simulated": int((sims["status"] == "ok").sum()) if sims.height else 0,
            "passed": int((v["verdict"] == "winner").sum()) if v.height else 0,
            "near_miss": int((v["verdict"] == "near_miss").sum()) if v.height else 0,
            "submitted": subs.height, "best": best}


def format_summary(s: dict) -> str:
    """Human-readable summary (no secrets: counts, expressions, metrics and paths only)."""
    lines = [f"mining day {s['date']}: fields {', '.join(s['fields']) or '-'}",
             f"  candidates {s['candidates']}  lint-clean {s['lint_clean']}  simulated {s['simulated']}  "
             f"passed {s['passed']}  near-miss {s['near_miss']}  submitted (dry-run) {s['submitted']}"]
    b = s.get("best")
    if b:
        def f(x):
            return "-" if x is None else f"{x:.3f}"
        lines.append(f"  best {b['alpha_hash'][:12]} [{b['verdict']}] {b['expression']}  settings {b['settings_json']}")
        lines.append(f"       IS sharpe {f(b['is_sharpe'])} fitness {f(b['is_fitness'])} turnover {f(b['is_turnover'])} "
                     f"returns {f(b['is_returns'])} drawdown {f(b['is_drawdown'])} | OS sharpe {f(b['os_sharpe'])}")
    if "duckdb" in s:
        lines.append(f"  DuckDB {s['duckdb']}  DAGSTER_HOME {s['dagster_home']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: parse ``--date --fields --per-field [--n-fields --json]``, run, print; exit 0, or 2 on error."""
    import json

    p = argparse.ArgumentParser(prog="alpha mine", description="Run one mining day through Dagster.")
    p.add_argument("--date", default=dt.date.today().isoformat(), help="mining day YYYY-MM-DD (default today)")
    p.add_argument("--fields", default="", help="comma-separated field ids (default: the day's themes)")
    p.add_argument("--per-field", type=int, default=8, help="template candidates per field (default 8)")
    p.add_argument("--n-fields", type=int, default=3, help="fields picked by themes when --fields is absent")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    fields = [f.strip().lower() for f in args.fields.split(",") if f.strip()] or None
    try:
        summary = run_mine(args.date, fields, args.per_field, n_fields=args.n_fields)
    except MineError as exc:
        print(f"alpha mine: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
