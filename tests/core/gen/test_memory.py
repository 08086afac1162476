"""The learning memory: operator patterns, settings keys and the Experience aggregation (hand-made trials)."""
import datetime as dt
import json

import polars as pl
import pytest

from alpha_core.gen.memory import (FORBID_MIN_TRIALS, ROW_COLUMNS, UNTRIED_WEIGHT, Experience, operator_pattern,
                                   settings_key)


@pytest.mark.parametrize("text, pattern", [
    ("rank(-ts_delta(close, 5))", "rank(-ts_delta(X, N))"),
    ("rank( - ts_delta(open,20) )", "rank(-ts_delta(X, N))"),                   # other field, window, spacing
    ("group_rank(ts_mean(volume, 20) / cap, subindustry)", "group_rank(ts_mean(X, N) / X, subindustry)"),
    ("a = ts_mean(close, 5); rank(a / cap)", "a = ts_mean(X, N); rank(a / X)"),  # variables stay named
    ("winsorize(close, std=3)", "winsorize(X, std=N)"),
    ("if_else(close > open, 1, -1)", "if_else(X > X, N, N)"),
])
def test_operator_pattern(text, pattern):
    assert operator_pattern(text) == pattern


def test_operator_pattern_rejects_what_does_not_lint():
    with pytest.raises(ValueError, match=r"rank\(nope_field\).*E_UNKNOWN_IDENTIFIER"):
        operator_pattern("rank(nope_field)")


def test_settings_key_fills_defaults():
    assert settings_key(json.dumps({"decay": 4, "neutralization": "subindustry", "truncation": 0.05})) \
        == "d4/SUBINDUSTRY/t0.05/TOP500"
    assert settings_key("{}") == "d0/INDUSTRY/t0.08/TOP500"
    with pytest.raises(ValueError, match="not a JSON object"):
        settings_key("[1]")


S4 = json.dumps({"decay": 4, "neutralization": "SUBINDUSTRY", "truncation": 0.08, "universe": "TOP500"})
S8 = json.dumps({"decay": 8, "neutralization": "MARKET", "truncation": 0.08, "universe": "TOP500"})


def trial(day, field="close", expression="rank(-ts_delta(close, 5))", family="reversal", verdict="fail",
          status="ok", fitness=0.3, failed="LOW_FITNESS", independent=False, settings=S4):
    return {"mining_date": dt.date.fromisoformat(day), "field": field, "alpha_hash": f"h{id(object())}",
            "expression": expression, "settings_json": settings, "family": family, "status": status,
            "verdict": verdict, "is_sharpe": 1.0, "is_fitness": fitness, "is_turnover": 0.2,
            "failed_checks": failed, "independent": independent}


def frame(rows):
    return pl.DataFrame(rows)


def test_aggregation_per_field_family_pattern_settings():
    rows = [trial("2026-11-20", fitness=1.4, verdict="winner", failed=None, independent=True),
            trial("2026-11-20", expression="rank(-ts_delta(close, 10))", fitness=1.2, verdict="winner",
                  failed=None),                                        # same pattern, not independent
            trial("2026-11-21", expression="rank(-ts_delta(close, 3))", fitness=0.4, verdict="near_miss",
                  failed="LOW_TURNOVER,LOW_FITNESS"),
            trial("2026-11-21", status="error", fitness=None, failed="SIMULATION"),
            trial("2026-11-21", settings=S8, failed="LOW_SHARPE"),
            trial("2026-11-21", field="volume", expression="-ts_corr(rank(volume), rank(close), 10)",
                  family="pv_corr", fitness=float("nan"))]
    exp = Experience.from_trials(frame(rows))
    cell = exp.cells[("close", "reversal", "rank(-ts_delta(X, N))", "d4/SUBINDUSTRY/t0.08/TOP500")]
    assert (cell.n_trials, cell.n_ok, cell.n_winners, cell.n_near_miss, cell.n_independent) == (4, 3, 2, 1, 1)
    assert cell.best_fitness == 1.4 and cell.mean_fitness == pytest.approx((1.4 + 1.2 + 0.4) / 3)
    assert cell.top_failed_check == "LOW_FITNESS"                  # 1 each of 3 names: ties alphabetical
    assert (cell.first_mining_date, cell.last_mining_date) == (dt.date(2026, 11, 20), dt.date(2026, 11, 21))
    assert exp.cells[("volume", "pv_corr", "-ts_corr(rank(X), rank(X), N)", "d4/SUBINDUSTRY/t0.08/TOP500")] \
        .best_fitness is None                                      # NaN fitness is not a fitness
    assert exp.field_stats("close") == {"mined_days": 2, "trials": 5, "ok": 4, "winners": 2, "near_misses": 1,
                                        "independent_winners": 1, "last_mined": dt.date(2026, 11, 21)}
    assert exp.field_stats("open")["trials"] == 0 and exp.field_stats("open")["last_mined"] is None
    assert exp.tried_patterns("close") == {"rank(-ts_delta(X, N))"}
    assert exp.passed_patterns("close") == {("rank(-ts_delta(X, N))", "d4/SUBINDUSTRY/t0.08/TOP500")}
    stored = exp.rows()
    assert len(stored) == 3 and all(tuple(r) == ROW_COLUMNS for r in stored)


def test_before_date_keeps_only_earlier_days_and_strings_work():
    rows = [trial("2026-11-20", verdict="winner", independent=True, failed=None), trial("2026-11-21"),
            trial("2026-11-22")]
    exp = Experience.from_trials(frame(rows), before_date="2026-11-21")
    assert exp.field_stats("close")["trials"] == 1 and exp.field_stats("close")["independent_winners"] == 1
    as_text = frame(rows).with_columns(pl.col("mining_date").cast(pl.String))
    assert Experience.from_trials(as_text, "2026-11-21") == exp
    assert Experience.from_trials(frame(rows), "2026-11-20") == Experience()
    with pytest.raises(ValueError, match="before_date"):
        Experience.from_trials(frame(rows), "21/11/2026")


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="independent"):
        Experience.from_trials(frame([trial("2026-11-20")]).drop("independent"))


def test_forbidden_rule_and_family_weight_ordering():
    failing = [trial("2026-11-20", family="value_ratio", expression="rank(close / cap)")] * (FORBID_MIN_TRIALS - 1)
    near = [trial("2026-11-20", family="reversal")] * (FORBID_MIN_TRIALS + 5) \
        + [trial("2026-11-20", family="reversal", verdict="near_miss")]
    exp = Experience.from_trials(frame(failing + near))
    assert exp.forbidden("close") == set()                         # 29 failures: not yet
    w_failing = exp.family_weight("close", "value_ratio")
    exp30 = Experience.from_trials(frame(failing * 2))
    assert exp30.forbidden("close") == {"value_ratio"} and exp30.family_weight("close", "value_ratio") == 0.0
    assert exp30.exhausted("close") and not exp.exhausted("close")
    w_promising = exp.family_weight("close", "reversal")           # a near miss keeps it open
    w_untried = exp.family_weight("close", "gp")
    assert w_promising > w_untried == UNTRIED_WEIGHT > w_failing > 0.0
    one_fail = Experience.from_trials(frame(failing[:1])).family_weight("close", "value_ratio")
    assert one_fail > w_failing                                    # more failures weigh less
    assert exp.family_weight("volume", "value_ratio") == UNTRIED_WEIGHT   # per field


def test_aliases_file_trials_under_the_canonical_field():
    rows = [trial("2026-11-20", field="fnd6_newa2v1300_xrd", expression="rank(fnd6_newa2v1300_xrd / cap)"),
            trial("2026-11-20", field="rd_expense", expression="rank(rd_expense / cap)")]
    exp = Experience.from_trials(frame(rows), aliases={"fnd6_newa2v1300_xrd": "rd_expense"})
    assert exp.field_stats("rd_expense")["trials"] == 2 and exp.field_stats("fnd6_newa2v1300_xrd")["trials"] == 0
