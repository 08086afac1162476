"""A mining day as plain data: the one plan ``alpha mine`` and the schedule + sensors both run, the inputs
a (date, field) search reads from DuckDB, and the rows it writes (issue 12 items 3, 5, 6).

The day plan (``day_plan``), in order:

1. ``themes_job``  themes[date]: which fields to mine (``themes.pick_themes``);
2. ``mining_job``  one run per picked (date, field): the search writes ``candidates``, ``lint_results``,
   ``simulations``, ``checklists`` and ``search_progress`` in one transaction per checkpoint;
3. ``submit_job``  submissions[date] + ``experience``: the day's winners, clustered by IS daily-PnL
   correlation (``gate.correlation.independent_set``), the independent ones submitted (dry run) up to the cap.

``alpha mine`` executes these steps in process; ``daily_chain_sensor`` requests the same runs (step 2 once
per (date, field) ever, step 3 once all of the day's mining runs finished, and again if a later mining run
of the day adds winners).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from alpha_core.gen.search import SearchContext, Trial

TRIAL_TABLES = ("candidates", "lint_results", "simulations", "checklists")


@dataclass(frozen=True)
class Step:
    """One run of the day plan: ``job`` name, its partition (a date, or (date, field)), and why."""

    job: str
    partition: str | tuple[str, str]
    what: str


def day_plan(mining_date: str, fields: list[str]) -> list[Step]:
    """The runs of one mining day after themes picked ``fields`` (module doc), in execution order."""
    return ([Step("mining_job", (mining_date, f), f"search {f}") for f in fields]
            + [Step("submit_job", mining_date, "submissions + experience")])


class MemoRows(Mapping):
    """alpha hash -> stored ``simulations`` row (a dict), over one columnar frame: a row is converted to Python
    only when the search asks for it. Converting every stored row up front (their daily PnL lists included)
    took about 10 s a search after five mining days, for the few dozen rows a search reuses."""

    def __init__(self, frame: pl.DataFrame, index: dict[str, int]):
        self._frame, self._index = frame, index

    def __getitem__(self, alpha_hash: str) -> dict:
        row = self._frame.row(self._index[alpha_hash], named=True)
        row["mining_date"] = str(row["mining_date"])
        return row

    def __iter__(self):
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def memo_rows(con, mining_date: str, field: str) -> MemoRows:
    """alpha hash -> stored ``simulations`` row of every partition and day (the memo of "simulate once"), as a
    read-only ``MemoRows`` mapping.

    Rows of other partitions are read without ``result_json`` (they are reused, never re-written); the
    rows of (``mining_date``, ``field``) itself are read whole (a resumed run re-emits them). The first
    stored row of a hash wins (earliest day); this partition's own row wins over any other."""
    from alpha_core.store import reads
    from alpha_core.store.schema import columns

    if not reads.table_exists(con, "simulations"):
        return MemoRows(pl.DataFrame(), {})
    cols = [c for c in columns("simulations") if c != "run_id"]
    light = ", ".join(f'"{c}"' if c != "result_json" else "NULL AS result_json" for c in cols)
    full = ", ".join(f'"{c}"' for c in cols)
    sql = (f"SELECT {full} FROM simulations WHERE mining_date = CAST(? AS DATE) AND field = ? UNION ALL "
           f"SELECT {light} FROM simulations WHERE NOT (mining_date = CAST(? AS DATE) AND field = ?) "
           "ORDER BY mining_date, field, alpha_hash")
    frame = _frame(con, sql, [mining_date, field, mining_date, field])
    index: dict[str, int] = {}
    own: dict[str, int] = {}
    if frame.height == 0:
        return MemoRows(frame, index)
    mine = ((frame["mining_date"].to_numpy().astype("datetime64[D]") == np.datetime64(mining_date, "D"))
            & (frame["field"].to_numpy() == field))
    for i, (h, is_own) in enumerate(zip(frame["alpha_hash"].to_list(), mine)):
        if is_own:
            own[h] = i
        else:
            index.setdefault(h, i)
    index.update(own)   # this partition's own rows replay, even when another day holds the same hash
    return MemoRows(frame, index)


def day_winner_pnls(con, mining_date: str, field: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(IS pnl, dates) of the winners of ``mining_date`` on the fields mined before ``field`` in the day's
    plan: those with a smaller theme rank (every other field when ``field`` has no theme row that day). A
    field never sees the winners of a field planned after it, so re-running a day repeats its decisions."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not reads.table_exists(con, "checklists"):
        return []
    ranks = dict(con.execute("SELECT field, rank FROM themes WHERE mining_date = CAST(? AS DATE)",
                             [mining_date]).fetchall()) if reads.table_exists(con, "themes") else {}
    rows = con.execute(
        "SELECT DISTINCT s.is_start, s.is_end, s.pnl_dates, s.daily_pnl, s.alpha_hash, s.field FROM checklists c "
        "JOIN simulations s USING (mining_date, field, alpha_hash) WHERE c.mining_date = CAST(? AS DATE) "
        "AND c.field <> ? AND c.verdict = 'winner' AND s.daily_pnl IS NOT NULL ORDER BY s.alpha_hash",
        [mining_date, field]).fetchall()
    own = ranks.get(field)
    if own is not None:
        rows = [r for r in rows if ranks.get(r[5], own + 1) < own]
    out = []
    for is_start, is_end, dates, pnl, *_ in rows:
        p, d = is_pnl({"is_start": is_start, "is_end": is_end, "pnl_dates": dates, "daily_pnl": pnl})
        out.append((p, d))
    return out


def found_before(con, mining_date: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(IS pnl, dates) of the independent winners of every search on mining dates before ``mining_date``
    (``candidates.independent``): what the miner already found, submitted or not (the red sea)."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not (reads.table_exists(con, "candidates") and reads.table_exists(con, "simulations")):
        return []
    rows = con.execute(
        "SELECT s.is_start, s.is_end, s.pnl_dates, s.daily_pnl FROM candidates c "
        "JOIN simulations s USING (mining_date, field, alpha_hash) WHERE c.mining_date < CAST(? AS DATE) "
        "AND c.independent AND s.daily_pnl IS NOT NULL ORDER BY c.mining_date, c.field, c.alpha_hash",
        [mining_date]).fetchall()
    return [is_pnl({"is_start": a, "is_end": b, "pnl_dates": d, "daily_pnl": p}) for a, b, d, p in rows]


def simulations_today(con, mining_date: str, exclude_field: str) -> int:
    """Local simulations already stored for ``mining_date`` on other fields (the day budget's use)."""
    from alpha_core.store import reads

    if not reads.table_exists(con, "simulations"):
        return 0
    return int(con.execute("SELECT count(*) FROM simulations WHERE mining_date = CAST(? AS DATE) AND field <> ?",
                           [mining_date, exclude_field]).fetchone()[0])


def novelty_library(con, mining_date: str) -> list[tuple[str, str]]:
    """(alpha hash, canonical expression) of our library for the NOVELTY check: every alpha submitted before
    ``mining_date`` and every independent winner of an earlier mining date (``candidates.independent``)."""
    from alpha_core.store import reads

    out: list[tuple[str, str]] = []
    if reads.table_exists(con, "submissions"):
        out += con.execute("SELECT alpha_hash, expression FROM submissions WHERE mining_date < CAST(? AS DATE) "
                           "ORDER BY alpha_hash", [mining_date]).fetchall()
    if reads.table_exists(con, "candidates"):
        out += con.execute("SELECT alpha_hash, expression FROM candidates WHERE mining_date < CAST(? AS DATE) "
                           "AND independent ORDER BY alpha_hash", [mining_date]).fetchall()
    seen: set[str] = set()
    return [(h, e) for h, e in out if e and not (h in seen or seen.add(h))]


def search_context(con, mining_date: str, field: str, panel, registry, experience=None,
                   gate=None) -> SearchContext:
    """Everything the (``mining_date``, ``field``) search reads, from an open DuckDB connection: the memo,
    the accepted library (submitted before the day), the day's winners of fields planned before this one and
    the independent winners of earlier days (``found_before``: what the search must not find again), the
    settings bandit rebuilt from every bandit trial of earlier days, the field's kind and companions (``seeds.field_kind``),
    the NOVELTY index over ``novelty_library``, the public alphas of the CROWDING check (``gate.public``, simulated
    once per panel and cached), the style factors of the FACTOR_EXPOSURE check (``gate.factors``, likewise),
    ``gate``, the limits of our own checks (``GateLimits``; defaults when None), and
    BRAIN's live limits once BRAIN has simulated an alpha (``brain.day.brain_limits``).

    Raises ``ValueError`` when ``field`` is not a MATRIX field of the panel."""
    from alpha_core.brain.day import brain_limits
    from alpha_core.gate.checklist import GateLimits
    from alpha_core.gate.factors import style_library
    from alpha_core.gate.novelty import NoveltyIndex
    from alpha_core.gate.public import public_library
    from alpha_core.gen.bandit import SettingsBandit
    from alpha_core.gen.seeds import field_kind
    from alpha_core.store import reads

    if not panel.has(field):
        raise ValueError(f"field {field!r} has no data on the panel; mineable fields: "
                         f"{', '.join(sorted(panel.field_names())[:12])}...")
    accepted = accepted_library(con, mining_date)
    bandit_rows = []
    if reads.table_exists(con, "candidates"):
        bandit_rows = [dict(zip(("origin", "template", "score", "parent_score"), r)) for r in con.execute(
            "SELECT origin, template, score, parent_score FROM candidates WHERE origin = 'bandit' AND "
            "mining_date < CAST(? AS DATE) ORDER BY mining_date, field, alpha_hash", [mining_date]).fetchall()]
    kinds = {f: field_kind(f, registry) for f in panel.field_names() if _is_matrix(registry, f)}
    companions: dict[str, list[str]] = {}
    for f, k in sorted(kinds.items()):
        companions.setdefault(k, []).append(f)
    value_fields = [f for f in ("close", "open", "high", "low", "vwap", "returns", "volume", "adv20", "cap")
                    if f in kinds]
    return SearchContext(mining_date=mining_date, field=field, panel=panel, registry=registry,
                         kind=kinds.get(field, "other"), companions=companions, value_fields=value_fields,
                         memo=memo_rows(con, mining_date, field), library=accepted,
                         day_winners=day_winner_pnls(con, mining_date, field) + found_before(con, mining_date),
                         experience=experience,
                         bandit=SettingsBandit.from_trials(bandit_rows),
                         novelty=NoveltyIndex(novelty_library(con, mining_date)), public=public_library(panel),
                         styles=style_library(panel), gate=gate or GateLimits(), brain_limits=brain_limits(con))


def _is_matrix(registry, field: str) -> bool:
    f = registry.get(field) if hasattr(registry, "get") else None
    return f is None or getattr(f, "kind", "MATRIX") == "MATRIX"


def accepted_library(con, before_date: str) -> list[tuple[np.ndarray, np.ndarray, float, str]]:
    """(IS pnl, dates, IS sharpe, alpha hash) of every alpha submitted on a mining date before ``before_date`` (the
    accepted set of the SELF_CORRELATION check; a dry-run record counts)."""
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not reads.table_exists(con, "submissions"):
        return []
    rows = con.execute(
        "SELECT s.alpha_hash, s.is_start, s.is_end, s.pnl_dates, s.daily_pnl, s.is_sharpe FROM simulations s "
        "WHERE s.status = 'ok' AND s.daily_pnl IS NOT NULL AND s.alpha_hash IN "
        "(SELECT alpha_hash FROM submissions WHERE mining_date < CAST(? AS DATE)) ORDER BY s.alpha_hash, s.mining_date",
        [str(before_date)]).fetchall()
    out, seen = [], set()
    for h, is_start, is_end, dates, pnl, sharpe in rows:
        if h in seen:
            continue
        seen.add(h)
        p, d = is_pnl({"is_start": is_start, "is_end": is_end, "pnl_dates": dates, "daily_pnl": pnl})
        out.append((p, d, sharpe or 0.0, h))
    return out


def trial_tables(mining_date: str, field: str, trials: list[Trial], progress: list[dict],
                 independent=frozenset(), stop_reason: str = "") -> dict[str, list[dict]]:
    """The rows of the (``mining_date``, ``field``) partition of every table the search writes, from its own
    trials (new and replayed): candidates (``independent`` = the hash is in ``independent``, the search's
    independent winners), lint_results (all lint clean: the search lints before it proposes), simulations,
    checklists, search_progress."""
    base = {"mining_date": mining_date, "field": field}
    out: dict[str, list[dict]] = {t: [] for t in (*TRIAL_TABLES, "search_progress")}
    for t in trials:
        key = {**base, "alpha_hash": t.alpha_hash}
        out["candidates"].append({**key, "expression": t.expression, "settings_json": json.dumps(t.settings, sort_keys=True),
                                  "origin": t.origin, "parent_hash": t.parent_hash, "template": t.move[:300],
                                  "archetype": t.family, "generation": t.generation, "score": _finite(t.score),
                                  "parent_score": _finite(t.parent_score),
                                  "independent": t.alpha_hash in independent})
        out["lint_results"].append({**key, "ok": True, "canonical": t.expression, "n_errors": 0,
                                    "n_warnings": t.lint_warnings, "codes": "", "diagnostics_json": "[]"})
        out["simulations"].append({**key, **{k: v for k, v in t.row.items() if k not in key}})
        for c in t.checks:
            out["checklists"].append({**key, "check_name": c.name, "result": c.result, "value": _finite(c.value),
                                      "limit_value": _finite(c.limit), "verdict": t.verdict,
                                      "message": c.message or None})
    last = len(progress) - 1
    for i, p in enumerate(progress):
        out["search_progress"].append({**base, **p, "stop_reason": (stop_reason or None) if i == last else None})
    return out


def _frame(con, sql: str, params: list) -> pl.DataFrame:
    cur = con.cursor()  # own cursor: DuckDB 2 refuses con.sql() while an execute() result is open
    try:
        return pl.from_arrow(cur.sql(sql, params=params or None).to_arrow_table())
    finally:
        cur.close()


def _finite(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def trials_frame(con, before_date: str | None = None) -> pl.DataFrame:
    """Every stored trial as one row (columns ``memory.TRIAL_COLUMNS`` + ``alpha_hash``): candidates joined to
    their simulation status, verdict, IS fitness, the checks that failed and ``independent`` (the alpha was
    kept in its search's independent set, or submitted). Only mining dates before
    ``before_date`` when given. IS metrics only."""
    from alpha_core.gen.memory import TRIAL_COLUMNS
    from alpha_core.store import reads

    schema = {c: pl.Utf8 for c in TRIAL_COLUMNS} | {"mining_date": pl.Date, "is_fitness": pl.Float64,
                                                    "independent": pl.Boolean, "alpha_hash": pl.Utf8}
    if not all(reads.table_exists(con, t) for t in ("candidates", "simulations", "checklists")):
        return pl.DataFrame(schema=schema)
    subs = "(SELECT DISTINCT alpha_hash FROM submissions)" if reads.table_exists(con, "submissions") else \
        "(SELECT NULL::VARCHAR AS alpha_hash WHERE false)"
    where = "WHERE c.mining_date < CAST(? AS DATE)" if before_date else ""
    sql = f"""
        SELECT c.mining_date, c.field, c.alpha_hash, c.expression, c.settings_json, c.archetype AS family,
               s.status, k.verdict, s.is_fitness, k.failed_checks,
               coalesce(c.independent, false) OR c.alpha_hash IN {subs} AS independent
        FROM candidates c
        JOIN simulations s USING (mining_date, field, alpha_hash)
        LEFT JOIN (SELECT mining_date, field, alpha_hash, first(verdict) AS verdict,
                          string_agg(CASE WHEN result = 'FAIL' THEN check_name END, ',' ORDER BY check_name)
                              AS failed_checks
                   FROM checklists GROUP BY ALL) k USING (mining_date, field, alpha_hash)
        {where}
        ORDER BY c.mining_date, c.field, c.alpha_hash"""
    frame = _frame(con, sql, [before_date] if before_date else [])
    return frame.cast({k: v for k, v in schema.items() if k in frame.columns}) if frame.height else pl.DataFrame(schema=schema)


def experience_before(con, before_date: str, aliases=None):
    """The learning memory (``memory.Experience``) of every trial stored on mining dates before
    ``before_date`` (so re-running a day takes the same decisions); ``aliases`` (alias -> canonical field,
    ``profiles.field_aliases``) files an alias's trials under its canonical field."""
    from alpha_core.gen.memory import Experience

    return Experience.from_trials(trials_frame(con, before_date), before_date, aliases)


def experience_rows(con, aliases=None) -> list[dict]:
    """The rows of the ``experience`` table: the memory of every stored trial (``Experience.rows``)."""
    from alpha_core.gen.memory import Experience

    return Experience.from_trials(trials_frame(con), aliases=aliases).rows()


def independent_winners(con, mining_date: str) -> list[dict]:
    """The day's independent winners (``reads.verdicts`` rows with IS ``pnl``/``dates``) read from an open DuckDB
    connection: the winners its searches kept as found (``candidates.independent``: validated by the walk-forward
    split inside IS, ``gate.stability.validated``, and below 0.7 with everything found before them)."""
    from alpha_core.gate.stability import validated
    from alpha_core.gen.pipeline import is_pnl
    from alpha_core.store import reads

    if not reads.table_exists(con, "checklists"):
        return []
    fields = [r[0] for r in con.execute("SELECT DISTINCT field FROM checklists WHERE mining_date = CAST(? AS DATE) "
                                        "ORDER BY 1", [mining_date]).fetchall()]
    keys = [(mining_date, f) for f in fields]
    v = reads.verdicts(con, keys)
    win = v.filter(v["verdict"] == "winner") if v.height else v
    sims = reads.read_partitions(con, "simulations", keys) if win.height else None
    by_key = {(r["field"], r["alpha_hash"]): r for r in sims.iter_rows(named=True)} if sims is not None else {}
    flagged = {r[0] for r in con.execute("SELECT alpha_hash FROM candidates WHERE mining_date = CAST(? AS DATE) "
                                         "AND independent", [mining_date]).fetchall()}
    winners = []
    for w in win.iter_rows(named=True):
        pnl, dates = is_pnl(by_key[(w["field"], w["alpha_hash"])])
        if w["alpha_hash"] in flagged and validated(pnl):
            winners.append({**w, "pnl": pnl, "dates": dates})
    return winners
