"""``alpha mine --date YYYY-MM-DD [--fields f1,f2] [--budget N]``: one mining day through Dagster.

``run_mine`` executes, in process and recorded in the persistent instance ($DAGSTER_HOME, so every run
shows in ``dagster dev``), the jobs the schedule + sensors would launch:

1. ``registry_job``      field_registry (unpartitioned), then the ``field`` dynamic partitions are synced
2. ``profiles_job``      field_profiles over every field partition (one single-run backfill), only when a
                         field lacks a profile
3. ``themes_job``        themes[date] (``--fields`` forces the fields); it replaces only the (date, field)
                         rows of the fields it picks, and the rest of the run follows ITS picks (its
                         materialization), so concurrent runs of one day never clobber each other
4. ``mining_job`` x F    the search of each (date, field): candidates, lint_results, simulations, checklists
5. ``submit_job``        brain_simulations[date] (the day's winners on BRAIN when ALPHA_BRAIN_ENABLED), then
                         submissions[date]: the day's gate and its submissions (dry-run unless
                         ALPHA_SUBMIT_LIVE) + experience

Steps 4-5 are ``alpha_core.gen.dayplan.day_plan``, the same plan ``daily_chain_sensor`` follows.

Every step claims the ``duckdb`` pool (limit 1), so a concurrent ``alpha mine``, UI run or backfill waits
instead of hitting DuckDB's file lock; a step holds the file only to read its inputs and, after computing,
to write its partition (``alpha_core.store.writes.reading`` / ``writing``). Running the same day twice
rewrites the same partitions with the same rows (only ``run_id`` and ``submitted_at`` change).
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
import time
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from alpha_assets.partitions import MINING_START, daily, field_partitions, multi_key
from alpha_core.cli import OneLineParser
from alpha_core.config import SettingsEnvError, default_dagster_home, load_settings, project_root
from alpha_core.gen.dayplan import day_plan

POOL = "duckdb"
# Console log of the Dagster runs: CRITICAL by default, so a failed step does not print Dagster's stack dumps
# (the error reaches the user as one line, the instance keeps the full event log); e.g. WARNING to see more.
CONSOLE_LOG_LEVEL = os.environ.get("ALPHA_MINE_LOG_LEVEL", "CRITICAL")
MAX_N_FIELDS = 100


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
    """Free the ``duckdb`` and ``brain`` pool slots held by runs that finished or whose ``alpha mine`` process died
    (a killed in-process run never frees its slot; without a daemon nobody else would). Returns the freed run
    ids."""
    from alpha_assets.assets.brain import BRAIN_POOL

    freed = []
    holders: set[str] = set()
    for pool in (POOL, BRAIN_POOL):
        info = instance.event_log_storage.get_concurrency_info(pool)
        holders |= info.active_run_ids | info.pending_run_ids
    for run_id in sorted(holders):
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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_date(text: str) -> str:
    """``--date``: an ISO day ``YYYY-MM-DD`` between MINING_START and today; MineError naming the flag otherwise."""
    if not _ISO_DATE.fullmatch(str(text).strip()):
        raise MineError(f"--date: {text!r} is not a date; use YYYY-MM-DD, e.g. 2026-11-21")
    try:
        day = dt.date.fromisoformat(str(text).strip())
    except ValueError as exc:
        raise MineError(f"--date: {text!r} is not a valid date ({exc})") from None
    last = dt.date.fromisoformat(daily.get_last_partition_key())
    if not dt.date.fromisoformat(MINING_START) <= day <= last:
        raise MineError(f"--date: {day} is outside the mining days, {MINING_START} to today ({last})")
    return day.isoformat()


def check_count(flag: str, value, low: int, high: int, what: str) -> int:
    """``value`` (int or text) as an int in [low, high]; MineError naming ``flag`` and the range otherwise."""
    try:
        n = int(str(value).strip())
    except ValueError:
        raise MineError(f"{flag}: {value!r} is not a whole number; use {low} to {high}") from None
    if not low <= n <= high:
        raise MineError(f"{flag}: {n} is out of range; use {low} to {high} ({what})")
    return n


def check_fields(text: str | None) -> list[str] | None:
    """``--fields``: comma-separated field ids, lower-cased, duplicates dropped; None when the flag is absent.
    MineError for an empty value or an empty item (whether each id is mineable is checked against the registry)."""
    if text is None:
        return None
    items = [f.strip().lower() for f in text.split(",")]
    if not any(items):
        raise MineError("--fields: empty; give comma-separated field ids (e.g. close,volume) or leave the flag "
                        "out to mine the day's themes")
    if not all(items):
        raise MineError(f"--fields: {text!r} has an empty item; give comma-separated field ids, e.g. close,volume")
    return list(dict.fromkeys(items))


MAX_BUDGET = 100_000


_DAGSTER_WRAPPERS = ("DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError",
                     "DagsterResourceFunctionError")


def root_error(error) -> str:
    """One line for a failed step's ``SerializableErrorInfo``: the first error in its chain (``cause`` /
    ``context``) that is not Dagster's step wrapper, i.e. the domain error that names the file, field or
    expression, as ``ClassName: message``."""
    err = error
    while err is not None and err.cls_name in _DAGSTER_WRAPPERS:
        err = err.cause or err.context
    err = err or error
    message = " ".join(err.message.split())
    head, _, tail = message.partition(": ")
    if err.cls_name and head.rsplit(".", 1)[-1] == err.cls_name:   # "pkg.mod.Class: text" -> "text"
        message = tail
    return f"{err.cls_name}: {message}" if err.cls_name else message


def _execute(defs, job_name: str, instance, tags: dict, run_config: dict | None = None, **kwargs):
    """Run ``job_name`` in process; return the result, or raise MineError with each failed step's root error."""
    job = defs.resolve_job_def(job_name)
    config = {**(run_config or {}), "loggers": {"console": {"config": {"log_level": CONSOLE_LOG_LEVEL}}}}
    result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags, run_config=config, **kwargs)
    if not result.success:
        failures = [e for e in result.all_events if e.is_step_failure]
        detail = "; ".join(f"step {e.step_key}: {root_error(e.event_specific_data.error)[:500]}" for e in failures)
        raise MineError(f"{job_name} failed: {detail or 'see the run in the Dagster UI'} (run {result.run_id})")
    return result


def _picked_fields(result, date: str) -> list[str]:
    """The fields the themes run ``result`` picked for ``date`` (its own materialization's ``fields_by_date``,
    not the table, which concurrent runs of the day also write)."""
    (mat,) = result.asset_materializations_for_node("themes")
    return list(mat.metadata["fields_by_date"].value[date])


def run_mine(date: str, fields: list[str] | None = None, budget: int | None = None, *, n_fields: int = 3,
             duckdb_path: str | None = None, data_dir: str | None = None, synthetic: str = "",
             instance: dg.DagsterInstance | None = None, progress=None) -> dict:
    """Mine ``date`` through Dagster; return the summary (counts, best alpha, run ids, paths).

    ``fields``: field ids to mine (default: the day's themes, ``n_fields`` of them); ``budget``: local
    simulations per field (default ``ALPHA_SEARCH_BUDGET``). ``instance``: defaults to the persistent instance
    under DAGSTER_HOME. ``progress``: called with one line of text after each step (the CLI prints them).
    The summary covers the fields this run mined, whatever other runs of the day wrote.
    Raises MineError (message starting with the flag, or the failed job and its step's root error).
    """
    date = check_date(date)
    try:
        settings = load_settings()
    except SettingsEnvError as exc:
        raise MineError(f"environment: {exc}") from None
    from alpha_assets.definitions import build_definitions
    from alpha_assets.sensors import read_mineable_ids
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    budget = None if budget is None else check_count("--budget", budget, 1, MAX_BUDGET, "local simulations per field")
    say = progress or (lambda line: None)
    n_fields = check_count("--n-fields", n_fields, 1, MAX_N_FIELDS, "fields picked by themes")
    if instance is None:
        ensure_dagster_home()
        instance = dg.DagsterInstance.get()
        warn_unlocked_storage(instance)
    db = duckdb_path or str(settings.resolved_duckdb())
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(db, data_dir, synthetic)
    tags = {"alpha/trigger": "alpha mine", "alpha/pid": str(os.getpid()), "alpha/host": os.uname().nodename}
    release_stale_slots(instance)
    runs = {"registry": _execute(defs, "registry_job", instance, tags).run_id}

    ids = read_mineable_ids(db)
    have = set(instance.get_dynamic_partitions(field_partitions.name))
    new = [i for i in ids if i not in have]
    if new:
        instance.add_dynamic_partitions(field_partitions.name, new)
    unknown = [f for f in fields or [] if f not in ids]
    if unknown:
        raise MineError(f"--fields: {', '.join(unknown)} {'is not a' if len(unknown) == 1 else 'are not'} local "
                        f"MATRIX field{'s' * (len(unknown) > 1)}; known: {', '.join(ids)}")

    with reading(db) as con:
        profiled = set(reads.read_partitions(con, "field_profiles")["field"].to_list())
    if set(ids) - profiled:
        keys = instance.get_dynamic_partitions(field_partitions.name)
        runs["profiles"] = _execute(defs, "profiles_job", instance, {
            **tags, ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}).run_id

    themed = _execute(defs, "themes_job", instance, tags, partition_key=date, run_config={
        "ops": {"themes": {"config": {"fields": list(fields or []), "n_fields": n_fields}}}})
    runs["themes"] = themed.run_id
    picked = _picked_fields(themed, date)
    say(f"themes {date}: {', '.join(picked)}")
    runs["mining"] = []
    for step in day_plan(date, picked):
        if step.job == "mining_job":
            d, f = step.partition
            t0 = time.monotonic()
            res = _execute(defs, "mining_job", instance, tags, partition_key=multi_key(d, f),
                           run_config={"ops": {"search": {"config": {"budget": budget or 0}}}})
            runs["mining"].append(res.run_id)
            say(_search_line(res, f, time.monotonic() - t0))
        else:
            runs["submit"] = _execute(defs, step.job, instance, tags, partition_key=step.partition).run_id
    summary = day_summary(db, date, picked)
    summary.update(runs=runs, duckdb=db, dagster_home=os.environ.get("DAGSTER_HOME", ""))
    return summary


def _search_line(result, field: str, seconds: float) -> str:
    """One progress line of a finished search run: simulated, winners, independent winners, stop reason."""
    meta = {}
    for mat in result.asset_materializations_for_node("search"):
        meta.update({k: getattr(v, "value", v) for k, v in mat.metadata.items()})
    replayed = f"{meta['replayed']} replayed, " if meta.get("replayed") else ""
    return (f"  {field}: {meta.get('simulated_now', 0)} simulated, {replayed}"
            f"{meta.get('reused_from_other_partitions', 0)} reused, {meta.get('winner', 0)} winners, {meta.get('independent_winners', 0)} independent "
            f"({seconds:.0f} s; stop: {meta.get('stop_reason', '?')})")


def day_summary(db: str, date: str, fields: list[str]) -> dict:
    """Counts and the best alpha of the (``date``, field) partitions of ``fields``, read from the DuckDB file
    ``db`` through a read-only connection that waits (with backoff) while a writer holds the file.
    ``submitted`` counts the day's submission records of those fields."""
    from alpha_core.gen.dayplan import independent_winners
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    keys = [(date, f) for f in fields]
    with reading(db) as con:
        cands = reads.read_partitions(con, "candidates", keys)
        lint = reads.read_partitions(con, "lint_results", keys)
        sims = reads.read_partitions(con, "simulations", keys)
        v = reads.verdicts(con, keys)
        subs = reads.read_partitions(con, "submissions", [date])
        order = reads.read_partitions(con, "submission_order", [date]) if reads.table_exists(
            con, "submission_order") else None
        winners = independent_winners(con, date)
        brain = reads.read_partitions(con, "brain_simulations", [date]) if reads.table_exists(
            con, "brain_simulations") else None
    subs = subs.filter(subs["field"].is_in(fields)) if subs.height else subs
    # the day's independent winners: those its searches kept (each independent of the accepted alphas, of every
    # earlier day's independent winners and of the winners of the day's fields searched before it)
    kept = sorted((w for w in winners if w["field"] in fields),
                  key=lambda w: (-(w.get("is_fitness") or 0.0), w["alpha_hash"]))
    independent = [{k: w.get(k) for k in ("alpha_hash", "field", "expression", "settings_json", "is_sharpe",
                                          "is_fitness", "is_turnover", "os_sharpe")} for w in kept]
    best = None
    ranked = v.filter(v["is_fitness"].is_not_null()) if v.height else v
    if ranked.height:
        ranked = ranked.with_columns((ranked["verdict"] == "winner").alias("_win"))
        b = ranked.sort(["_win", "is_fitness", "alpha_hash"], descending=[True, True, False]).row(0, named=True)
        best = {k: b[k] for k in ("alpha_hash", "field", "expression", "settings_json", "verdict", "is_sharpe",
                                  "is_fitness", "is_turnover", "is_returns", "is_drawdown", "is_margin", "os_sharpe")}
    return {"date": date, "fields": fields, "candidates": cands.height,
            "llm_candidates": int((cands["origin"] == "llm").sum()) if cands.height else 0,
            "lint_clean": int(lint["ok"].sum()) if lint.height else 0,
            "simulated": int((sims["status"] == "ok").sum()) if sims.height else 0,
            "passed": int((v["verdict"] == "winner").sum()) if v.height else 0,
            "near_miss": int((v["verdict"] == "near_miss").sum()) if v.height else 0,
            "independent_winners": len(independent), "independent": independent,
            "submitted": subs.height, "best": best,
            "submit_mode": "live" if subs.height and (subs["mode"] == "live").any() else "dry-run",
            "brain": dict(brain["status"].value_counts().iter_rows()) if brain is not None and brain.height else {},
            "gate": _gate_summary(order, fields)}


def _gate_summary(order, fields: list[str]) -> list[dict]:
    """The day's submission order for ``fields``: the chosen rows and the first skipped ones (rank, decision,
    reason, deflated sharpe, IS and OS sharpe), at most 8 rows."""
    if order is None or not order.height:
        return []
    rows = [r for r in order.sort("rank").iter_rows(named=True) if r["field"] in fields]
    picked = [r for r in rows if r["decision"] == "submit"]
    shown = picked + [r for r in rows if r["decision"] != "submit"][:max(0, 8 - len(picked))]
    keys = ("rank", "decision", "alpha_hash", "field", "deflated_sharpe", "is_sharpe", "os_sharpe", "n_trials",
            "reason")
    return [{k: r.get(k) for k in keys} for r in sorted(shown, key=lambda r: r["rank"])]


def format_summary(s: dict) -> str:
    """Human-readable summary (no secrets: counts, expressions, metrics and paths only)."""
    lines = [f"mining day {s['date']}: fields {', '.join(s['fields']) or '-'}",
             f"  candidates {s['candidates']}  lint-clean {s['lint_clean']}  simulated {s['simulated']}  "
             f"passed {s['passed']}  near-miss {s['near_miss']}  independent winners {s.get('independent_winners', 0)}  "
             f"submitted ({s.get('submit_mode', 'dry-run')}) {s['submitted']}"]
    if s.get("llm_candidates"):
        lines.append(f"  LLM source: {s['llm_candidates']} of the candidates were proposed by the model "
                     "(origin llm; alpha research list shows its requests)")
    if s.get("brain"):
        lines.append("  BRAIN: " + ", ".join(f"{n} {status}" for status, n in sorted(s["brain"].items()))
                     + " (table brain_simulations; `alpha brain calibration` compares local and BRAIN)")

    def num(x):
        return "-" if x is None else f"{x:.2f}"
    for w in s.get("independent", []):
        lines.append(f"  independent {w['alpha_hash'][:12]} {w['field']}: {w['expression']}  IS sharpe "
                     f"{num(w['is_sharpe'])} fitness {num(w['is_fitness'])} turnover {num(w['is_turnover'])} | "
                     f"OS sharpe {num(w['os_sharpe'])}")
    b = s.get("best")
    if b:
        def f(x):
            return "-" if x is None else f"{x:.3f}"
        lines.append(f"  best {b['alpha_hash'][:12]} [{b['verdict']}] {b['expression']}  settings {b['settings_json']}")
        lines.append(f"       IS sharpe {f(b['is_sharpe'])} fitness {f(b['is_fitness'])} turnover {f(b['is_turnover'])} "
                     f"returns {f(b['is_returns'])} drawdown {f(b['is_drawdown'])} | OS sharpe {f(b['os_sharpe'])}")
    gate = s.get("gate") or []
    if gate:
        lines.append(f"  gate (IS only; ranked by deflated sharpe after {gate[0]['n_trials']:,} trials; "
                     f"table submission_order has every winner):")
    for g in gate:
        lines.append(f"    #{g['rank']} {g['decision']:<6} {g['alpha_hash'][:12]} {g['field']}: deflated sharpe "
                     f"{num(g['deflated_sharpe'])} IS sharpe {num(g['is_sharpe'])} | OS sharpe {num(g['os_sharpe'])}"
                     f"  {g['reason']}")
    if "duckdb" in s:
        lines.append(f"  DuckDB {s['duckdb']}  DAGSTER_HOME {s['dagster_home']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """CLI entry: parse ``--date --fields --budget [--n-fields --json]``, run, print; exit 0, or 2 with one
    line ``alpha mine: --flag: what is wrong`` on a bad value or a failed step."""
    import json

    p = OneLineParser(prog="alpha mine", description="Run one mining day through Dagster.")
    p.add_argument("--date", default=dt.date.today().isoformat(), help="mining day YYYY-MM-DD (default today)")
    p.add_argument("--fields", default=None, help="comma-separated field ids (default: the day's themes)")
    p.add_argument("--budget", default=None,
                   help="local simulations per field (default ALPHA_SEARCH_BUDGET, 1000)")
    p.add_argument("--n-fields", default="3", help="fields picked by themes when --fields is absent (default 3)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    try:
        fields = check_fields(args.fields)
        summary = run_mine(args.date, fields, args.budget, n_fields=args.n_fields,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    except MineError as exc:
        print(f"alpha mine: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str) if args.json else format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
