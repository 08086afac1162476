"""Templates, candidate hashes and theme picking."""
import json

import polars as pl
import pytest

from alpha_core.expr import alpha_hash, lint
from alpha_core.gen.pipeline import candidate_hash, candidate_rows
from alpha_core.gen.templates import TEMPLATES, template_candidates
from alpha_core.gen.themes import archetype_for, pick_themes
from alpha_core.sim.settings import SimSettings


@pytest.mark.parametrize("field", ["close", "volume", "revenue"])
def test_every_template_lints_clean(field):
    for c in template_candidates(field, n=len(TEMPLATES)):
        res = lint(c.expression)
        assert res.ok, (c.expression, [d.code for d in res.diagnostics])
        SimSettings(**c.settings)                          # valid BRAIN settings


def test_archetype_first_and_deterministic_order():
    a = template_candidates("close", "momentum", n=5, seed="2026-01-02|close")
    assert [c.archetype for c in a[:3]] == ["momentum"] * 3
    assert a == template_candidates("close", "momentum", n=5, seed="2026-01-02|close")
    other = template_candidates("close", "momentum", n=3, seed="2026-01-03|close")
    assert {c.template for c in other} == {c.template for c in a[:3]}    # same group, maybe another order
    with pytest.raises(ValueError, match="archetype"):
        template_candidates("close", "nope")
    with pytest.raises(ValueError, match="plain identifier"):
        template_candidates("close)+(1")


def test_candidate_hash_is_canonical_text_plus_settings():
    c = template_candidates("close", "reversal", n=1)[0]
    h, res = candidate_hash(c.expression, c.settings)
    assert h == alpha_hash(res.canonical, json.loads(SimSettings(**c.settings).identity_json()))
    spaced, _ = candidate_hash(c.expression.replace(", ", ",  "), c.settings)
    assert spaced == h                                      # formatting does not change identity
    other, _ = candidate_hash(c.expression, {**c.settings, "decay": c.settings["decay"] + 1})
    assert other != h
    rows = candidate_rows("2026-01-02", "close", [c, c])
    assert len(rows) == 1 and rows[0]["alpha_hash"] == h   # duplicates dropped


PROFILES = pl.DataFrame({"field": ["a", "b", "c", "d"], "coverage": [1.0, 1.0, 0.5, 1.0],
                         "autocorr1": [0.99, 0.2, 0.3, 0.1], "ic_mean": [0.01, -0.02, 0.03, 0.0],
                         "ic_ir": [0.5, -0.4, 0.1, 0.0]})


def test_pick_themes_ranks_by_ic_ir_and_is_deterministic():
    rows = pick_themes("2026-01-02", PROFILES, None, n=2)
    assert [r["field"] for r in rows] == ["a", "b"]          # |0.5|, |-0.4| beat 0.05 and 0 (+ jitter < 0.1)
    assert [r["archetype"] for r in rows] == ["value", "reversal"]
    assert rows == pick_themes("2026-01-02", PROFILES, None, n=2)


def test_winner_memory_lifts_a_field():
    memory = pl.DataFrame({"field": ["d"], "n_passed": [2], "n_simulated": [3]})
    assert pick_themes("2026-01-02", PROFILES, memory, n=1)[0]["field"] == "d"   # 0 + 0.95 > 0.5 + 0.1


def test_requested_fields_and_errors():
    rows = pick_themes("2026-01-02", PROFILES, None, fields=["c", "a"])
    assert [(r["field"], r["rank"], r["reason"]) for r in rows] == [("c", 1, "requested"), ("a", 2, "requested")]
    with pytest.raises(ValueError, match="zzz"):
        pick_themes("2026-01-02", PROFILES, None, fields=["zzz"])
    assert archetype_for({"autocorr1": 0.5, "ic_mean": 0.01}) == "momentum"
    assert archetype_for(None) == "reversal"
