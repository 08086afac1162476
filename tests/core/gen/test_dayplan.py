"""The day plan and the search's reads and writes (alpha_core/gen/dayplan.py)."""
import duckdb
import numpy as np

from alpha_core.gate.checks import Check
from alpha_core.gen.dayplan import Step, day_plan, day_winner_pnls, memo_rows, trial_tables
from alpha_core.gen.pipeline import metric_nulls
from alpha_core.gen.search import Trial
from alpha_core.store.schema import columns
from alpha_core.store.writes import replace_many

DATE = "2026-03-02"


def test_day_plan_mines_each_field_then_submits_once():
    plan = day_plan(DATE, ["close", "volume"])
    assert plan == [Step("mining_job", (DATE, "close"), "search close"),
                    Step("mining_job", (DATE, "volume"), "search volume"),
                    Step("submit_job", DATE, "submissions + experience")]
    assert day_plan(DATE, []) == [Step("submit_job", DATE, "submissions + experience")]


def _trial(h, verdict="winner", sharpe=1.5, pnl=None):
    dates = [f"2020-01-{d:02d}" for d in range(1, 31)] * 1
    row = {"source": "local", "status": "ok", "error": None, **metric_nulls(), "is_sharpe": sharpe, "is_fitness": 1.2,
           "is_start": "2020-01-01", "is_end": "2020-01-30", "pnl_dates": dates,
           "daily_pnl": list(pnl if pnl is not None else np.arange(30.0))}
    checks = [Check("LOW_SHARPE", "PASS" if verdict == "winner" else "FAIL", sharpe, 1.25)]
    return Trial(expression=f"rank(close) * {h}", program=None, settings={"decay": 4}, alpha_hash=h,
                 origin="seed", parent_hash=None, move="t", family="reversal", generation=0, row=row,
                 checks=checks, verdict=verdict, score=1.0)


def test_trial_tables_write_every_table_of_the_partition():
    trials = [_trial("a"), _trial("b", "fail", 0.2)]
    progress = [{"generation": 0, "evaluated": 2, "simulated": 2, "replayed": 0, "reused": 0, "best_score": 1.0,
                 "best_is_fitness": 1.2, "passes": 1, "independent_passes": 1, "diversity": 1.0, "elapsed_s": 0.1}]
    t = trial_tables(DATE, "close", trials, progress, {"a"}, "budget")
    assert {k: len(v) for k, v in t.items()} == {"candidates": 2, "lint_results": 2, "simulations": 2,
                                                   "checklists": 2, "search_progress": 1}
    for table, rows in t.items():
        assert set(rows[0]) == set(columns(table)) - {"run_id"}, table
    assert [r["independent"] for r in t["candidates"]] == [True, False]
    assert t["search_progress"][0]["stop_reason"] == "budget"
    con = duckdb.connect(":memory:")
    n = replace_many(con, [(k, [(DATE, "close")], v) for k, v in t.items()], "run1")
    assert n == {"candidates": 2, "lint_results": 2, "simulations": 2, "checklists": 2, "search_progress": 1}
    # the memo: this partition's rows are read whole (replay), another partition's without result_json
    replace_many(con, [("simulations", [("2026-03-01", "volume")],
                        [{**trial_tables("2026-03-01", "volume", [_trial("a"), _trial("c")], [])["simulations"][i],
                          "result_json": "{}"} for i in range(2)])])
    memo = memo_rows(con, DATE, "close")
    assert set(memo) == {"a", "b", "c"}
    assert (memo["a"]["mining_date"], memo["a"]["field"]) == (DATE, "close")    # own row wins over another day's
    assert memo["c"]["field"] == "volume" and memo["c"]["result_json"] is None


def test_a_field_sees_only_the_winners_of_fields_planned_before_it():
    con = duckdb.connect(":memory:")
    themes = [{"mining_date": DATE, "rank": i + 1, "field": f, "archetype": "a", "reason": "r", "priority": 1.0}
              for i, f in enumerate(["close", "volume", "vwap"])]
    writes = [("themes", [(DATE, r["field"]) for r in themes], themes)]
    for f, h in (("close", "c1"), ("vwap", "v1")):
        t = trial_tables(DATE, f, [_trial(h)], [])
        writes += [(k, [(DATE, f)], t[k]) for k in ("simulations", "checklists")]
    replace_many(con, writes)
    assert len(day_winner_pnls(con, DATE, "close")) == 0          # rank 1: nobody before it
    assert len(day_winner_pnls(con, DATE, "volume")) == 1         # close only (vwap comes later)
    assert len(day_winner_pnls(con, DATE, "vwap")) == 1           # close (volume has no winner)
    assert len(day_winner_pnls(con, DATE, "open")) == 2           # not in the day's themes: every other field
