"""Theme picking: a bandit over fields with kind priors, rotation, aliases and exhausted fields."""
import datetime as dt
import json

import polars as pl
import pytest

from alpha_core.data.registry import default_registry
from alpha_core.gen.memory import FORBID_MIN_TRIALS, Experience
from alpha_core.gen.profiles import field_aliases
from alpha_core.gen.seeds import field_kind
from alpha_core.gen.themes import RECENT_DAYS, archetype_for, pick_themes

KINDS = {"close": "price", "open": "price", "volume": "volume", "assets": "fundamental", "sales": "fundamental",
         "revenue": "fundamental", "odd": "other"}
PROFILES = pl.DataFrame({"field": list(KINDS), "coverage": [1.0] * len(KINDS), "autocorr1": [0.5] * len(KINDS)})
ALIASES = {"revenue": "sales"}
SETTINGS = json.dumps({"decay": 4})


def trials(day, field, n, winners=0, family="reversal", near_misses=0):
    """``n`` trials of ``field`` on ``day``: first ``winners`` independent winners, then ``near_misses``."""
    verdicts = ["winner"] * winners + ["near_miss"] * near_misses + ["fail"] * n
    return [{"mining_date": dt.date.fromisoformat(day), "field": field, "alpha_hash": f"{day}|{field}|{i}",
             "expression": f"rank(-ts_delta({field}, {i % 9 + 1}))", "settings_json": SETTINGS, "family": family,
             "status": "ok", "verdict": verdicts[i], "is_sharpe": 1.0, "is_fitness": 0.4,
             "is_turnover": 0.2, "failed_checks": None if i < winners else "LOW_FITNESS",
             "independent": i < winners} for i in range(n)]


def picks(day, experience=None, n=3, **kw):
    kw = {"aliases": ALIASES, "kinds": KINDS, **kw}
    return [r["field"] for r in pick_themes(day, PROFILES, experience, n=n, **kw)]


def test_deterministic_and_shaped_like_themes_rows():
    rows = pick_themes("2026-11-20", PROFILES, None, n=2, aliases=ALIASES, kinds=KINDS)
    assert rows == pick_themes("2026-11-20", PROFILES, None, n=2, aliases=ALIASES, kinds=KINDS)
    assert [set(r) for r in rows] == [{"mining_date", "rank", "field", "archetype", "reason", "priority"}] * 2
    assert {r["field"] for r in rows} == {"close", "open"}          # price prior first on an empty memory
    assert [r["rank"] for r in rows] == [1, 2] and rows[0]["priority"] >= rows[1]["priority"]
    assert rows[0]["archetype"] == "reversal"
    assert "0 independent winners in 0 trials" in rows[0]["reason"] and "kind price" in rows[0]["reason"]
    with pytest.raises(ValueError, match="mining_date"):
        pick_themes("20261120", PROFILES)
    with pytest.raises(TypeError, match="Experience"):
        pick_themes("2026-11-20", PROFILES, pl.DataFrame({"field": ["close"]}))


def test_winners_pay_and_failures_demote():
    rows = trials("2026-11-10", "assets", 1500, winners=8) + trials("2026-11-10", "close", 1500, near_misses=1)
    exp = Experience.from_trials(pl.DataFrame(rows), "2026-11-20")
    got = pick_themes("2026-11-20", PROFILES, exp, n=len(KINDS), aliases=ALIASES, kinds=KINDS)
    order = [r["field"] for r in got]
    assert order[0] == "assets"                                    # 8 independent winners beat any prior
    assert "8 independent winners in 1500 trials over 1 days" in got[0]["reason"]
    assert order.index("close") > order.index("sales")             # failing price field < untried fundamental
    assert order[-1] == "close"


def test_recent_fields_rotate_out_and_come_back():
    rows = trials("2026-11-19", "assets", 1500, winners=8)
    exp = Experience.from_trials(pl.DataFrame(rows), "2026-11-20")
    day1 = pick_themes("2026-11-20", PROFILES, exp, n=1, aliases=ALIASES, kinds=KINDS)[0]
    assert day1["field"] != "assets" and "last mined" in day1["reason"]
    later = (dt.date(2026, 11, 19) + dt.timedelta(days=RECENT_DAYS + 1)).isoformat()
    assert picks(later, Experience.from_trials(pl.DataFrame(rows), later), n=1) == ["assets"]


def test_rotates_over_five_days_with_feedback():
    history, seen = [], []
    for k in range(5):
        day = (dt.date(2026, 11, 20) + dt.timedelta(days=k)).isoformat()
        exp = Experience.from_trials(pl.DataFrame(history), day) if history else None
        today = picks(day, exp, n=2)
        assert seen == [] or not set(today) & set(seen[-1])        # never the same field two days running
        seen.append(today)
        for f in today:
            history += trials(day, f, 300, winners=int(f == "close"), near_misses=1)
    assert seen[0] == ["close", "open"] or seen[0] == ["open", "close"]
    assert len({f for day in seen for f in day}) == 6              # every non-alias field got its turn
    assert not any("revenue" in day for day in seen)               # the alias never


def test_exhausted_fields_drop_and_fields_without_data_too():
    rows = trials("2026-11-01", "close", FORBID_MIN_TRIALS) + trials("2026-11-01", "close", FORBID_MIN_TRIALS,
                                                                     family="momentum")
    exp = Experience.from_trials(pl.DataFrame(rows), "2026-11-20")
    assert exp.exhausted("close")
    assert "close" not in picks("2026-11-20", exp, n=len(KINDS))
    empty = PROFILES.with_columns(pl.when(pl.col("field") == "open").then(0.0).otherwise(pl.col("coverage"))
                                  .alias("coverage"))
    assert "open" not in [r["field"] for r in pick_themes("2026-11-20", empty, None, n=len(KINDS), kinds=KINDS)]


def test_alias_from_the_profiles_column_and_requested_fields():
    with_alias = PROFILES.with_columns(pl.when(pl.col("field") == "revenue").then(pl.lit("sales"))
                                       .otherwise(None).alias("alias_of"))
    all_rows = pick_themes("2026-11-20", with_alias, None, n=len(KINDS), kinds=KINDS)
    assert "revenue" not in [r["field"] for r in all_rows] and len(all_rows) == len(KINDS) - 1
    rows = pick_themes("2026-11-20", PROFILES, None, fields=["volume", "revenue", "sales"], aliases=ALIASES)
    assert [(r["field"], r["rank"]) for r in rows] == [("volume", 1), ("sales", 2)]
    assert rows[0]["reason"] == "requested" and rows[1]["reason"] == "requested (as revenue, an alias of sales)"
    with pytest.raises(ValueError, match="zzz"):
        pick_themes("2026-11-20", PROFILES, None, fields=["zzz"])


def test_archetype_by_kind_without_ic():
    assert archetype_for({"autocorr1": 0.99}, "price") == "reversal"
    assert archetype_for({"autocorr1": 0.2}, "fundamental") == "value"
    assert archetype_for({"autocorr1": 0.99, "ic_mean": 0.05}) == "value"
    assert archetype_for(None) == "reversal"


@pytest.mark.real_data
def test_real_panel_price_fields_first_and_no_alias(real_panel):
    groups = real_panel.group_fields
    fields = [f for f in real_panel.field_names() if f not in groups]
    profiles = pl.DataFrame({"field": fields, "coverage": [1.0] * len(fields), "autocorr1": [0.5] * len(fields)})
    registry = default_registry()
    kinds = {f: field_kind(f, registry) for f in fields}
    aliases = field_aliases(real_panel)
    for k in range(5):
        day = (dt.date(2026, 11, 20) + dt.timedelta(days=k)).isoformat()
        rows = pick_themes(day, profiles, None, n=len(fields), aliases=aliases, kinds=kinds)
        order = [r["field"] for r in rows]
        assert not set(order) & set(aliases) and len(order) == len(fields) - len(aliases)
        n_pv = sum(kinds[f] in ("price", "volume") for f in fields)
        assert {kinds[f] for f in order[:n_pv]} == {"price", "volume"}     # every price/volume field first,
        assert kinds[order[n_pv]] == "other"                           # then cap,
        assert {kinds[f] for f in order[n_pv + 1:]} == {"fundamental"}  # then the annual fundamentals
        assert {kinds[f] for f in order[:3]} == {"price"}              # a first day mines price fields
