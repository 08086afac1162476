"""Seed templates (alpha_core/gen/seeds.py): kinds, lint, interleaving, steering, bad input, real simulation."""
import collections

import pytest

from alpha_core.data.registry import default_registry
from alpha_core.expr import lint
from alpha_core.gen.seeds import (COMPANION_KIND, FAMILIES, KINDS, SEEDS, companion_fields, field_kind,
                                  fixed_fields, seed_candidates)
from alpha_core.sim.settings import SimSettings

REPRESENTATIVE = {"price": "close", "volume": "volume", "fundamental": "cashflow_op", "other": "cap"}
# what the search passes: every MATRIX field of the panel grouped by kind
PANEL_COMPANIONS = {"price": ["close", "high", "low", "open", "returns", "vwap"], "volume": ["adv20", "volume"],
                    "fundamental": ["assets", "cashflow_op", "debt", "equity", "income", "sales", "sharesout",
                                    "enterprise_value"],
                    "other": ["cap"]}


def test_field_kind_from_the_real_registry():
    reg = default_registry()
    assert {f: field_kind(f, reg) for f in ("close", "vwap", "returns", "volume", "adv20", "cashflow_op",
                                            "sharesout", "cap")} == {
        "close": "price", "vwap": "price", "returns": "price", "volume": "volume", "adv20": "volume",
        "cashflow_op": "fundamental", "sharesout": "fundamental", "cap": "other"}
    assert field_kind("CLOSE", reg) == "price"                      # ids are case-insensitive
    with pytest.raises(ValueError, match="unknown field 'nope'"):
        field_kind("nope", reg)
    with pytest.raises(ValueError, match="'industry' is a GROUP field"):
        field_kind("industry", reg)


def test_catalogue_shape():
    assert 40 <= len(SEEDS) <= 80 and len(FAMILIES) >= 8
    assert len({t.name for t in SEEDS}) == len(SEEDS)
    for kind in KINDS:                                            # every kind is served by several families
        assert len({t.family for t in SEEDS if kind in t.kinds}) >= 4, kind
    for t in SEEDS:
        assert t.kinds <= set(KINDS) and "{f}" in t.text, t.name
        SimSettings(**{**t.settings})                               # valid BRAIN settings


@pytest.mark.parametrize("kind", KINDS)
def test_every_template_lints_clean_for_a_representative_field(kind):
    reg = default_registry()
    field = REPRESENTATIVE[kind]
    assert field_kind(field, reg) == kind
    templates = [t for t in SEEDS if kind in t.kinds]
    got = seed_candidates(field, kind, 10_000, "lint", PANEL_COMPANIONS)
    assert {c.template for c in got} == {t.name for t in templates if field not in fixed_fields(t)}
    for c in got:
        res = lint(c.expression, reg)
        assert res.ok, (c.expression, [d.code for d in res.diagnostics])
        assert not [d for d in res.diagnostics if d.code == "W_NO_EFFECT"], c.expression
        assert "{" not in c.expression
        SimSettings(**c.settings)
        assert (c.origin, c.parent_hash, c.archetype) == ("seed", None, next(
            t.family for t in SEEDS if t.name == c.template))


def test_companions_fill_g_by_the_companion_kind():
    assert companion_fields("price", PANEL_COMPANIONS) == ["volume", "adv20"]
    assert companion_fields("fundamental", PANEL_COMPANIONS) == ["assets", "equity", "sales"]   # not all 8
    assert companion_fields("volume", {}) == ["close", "vwap"]                                     # defaults
    assert companion_fields("fundamental", {"fundamental": ["debt", "cash"]}) == ["debt", "cash"]
    assert COMPANION_KIND["price"] == "volume"
    pv = [c.expression for c in seed_candidates("close", "price", 10_000, "s", {"volume": ["adv20"]})
          if c.archetype == "pv_corr"]
    assert pv and all("adv20" in e and "volume" not in e for e in pv)
    # a fundamental's {g} never is the field itself
    fr = [c.expression for c in seed_candidates("assets", "fundamental", 10_000, "s", PANEL_COMPANIONS)
          if c.archetype == "fundamental_ratio"]
    assert fr and not any("assets / assets" in e for e in fr)


def test_templates_naming_the_field_or_a_missing_field_are_skipped():
    low = {c.template for c in seed_candidates("low", "price", 10_000, "s")}
    assert "rev_stoch5" not in low and "rev_zscore5" in low          # uses `low` itself: skipped for `low`
    close = {c.template for c in seed_candidates("close", "price", 10_000, "s", PANEL_COMPANIONS)}
    assert "cf_rev_value" in close                                   # `sales / cap` is available
    no_sales = {k: [f for f in v if f != "sales"] for k, v in PANEL_COMPANIONS.items()}
    assert "cf_rev_value" not in {c.template for c in seed_candidates("close", "price", 10_000, "s", no_sales)}


def test_deterministic_distinct_and_interleaved():
    a = seed_candidates("close", "price", 24, "2026-01-02|close", PANEL_COMPANIONS)
    assert a == seed_candidates("close", "price", 24, "2026-01-02|close", PANEL_COMPANIONS)
    b = seed_candidates("close", "price", 24, "2026-01-03|close", PANEL_COMPANIONS)
    assert [c.expression for c in a] != [c.expression for c in b]    # another day, another order
    assert len({(c.expression, c.settings_json()) for c in a}) == 24
    fams = sorted({t.family for t in SEEDS if "price" in t.kinds})
    for seed in ("x", "y", "z"):                                     # the first round covers every family
        first = seed_candidates("close", "price", len(fams), seed, PANEL_COMPANIONS)
        assert sorted(c.archetype for c in first) == fams
    everything = seed_candidates("close", "price", 10_000, "s", PANEL_COMPANIONS)
    size = collections.Counter(c.archetype for c in everything)
    counts = collections.Counter(c.archetype for c in a)             # 24: three rounds, then a fourth
    assert all(min(3, size[f]) <= counts[f] <= 4 for f in fams), (counts, size)
    assert seed_candidates("close", "price", 0, "s") == []
    assert len(everything) == len({(c.expression, c.settings_json()) for c in everything}) > 24


def test_family_weights_and_excludes():
    weights = {"reversal": 0.0, "momentum": 0.0}
    got = seed_candidates("close", "price", 10_000, "s", PANEL_COMPANIONS, weights, exclude_families={"pv_corr"})
    fams = {c.archetype for c in got}
    assert not fams & {"reversal", "momentum", "pv_corr"} and "intraday" in fams
    for seed in ("a", "b", "c", "d"):                                # a heavy family leads each round
        heavy = seed_candidates("close", "price", 2, seed, PANEL_COMPANIONS, {"volatility": 1e9})
        assert heavy[0].archetype == "volatility"
    # names that are not seed families (other archetypes a memory tracks) are ignored
    assert seed_candidates("close", "price", 5, "s", {}, {"surgeon": 0.0}, ["gp"]) == \
        seed_candidates("close", "price", 5, "s")
    assert seed_candidates("cashflow_op", "fundamental", 50, "s", {}, {f: 0.0 for f in FAMILIES}) == []


@pytest.mark.parametrize("args, message", [
    (("close", "prices", 5, "s"), "unknown field kind 'prices'"),
    (("close)+(1", "price", 5, "s"), "not a plain identifier"),
    (("1close", "price", 5, "s"), "not a plain identifier"),
    (("", "price", 5, "s"), "not a plain identifier"),
    (("close", "price", -1, "s"), "n must be >= 0"),
])
def test_bad_input(args, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        seed_candidates(*args)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), float("inf"), "heavy"])
def test_bad_family_weight(weight):
    with pytest.raises(ValueError, match="family weight of 'reversal'"):
        seed_candidates("close", "price", 5, "s", {}, {"reversal": weight})


@pytest.mark.real_data
def test_seeds_simulate_on_the_real_panel(real_panel):
    from alpha_core.sim.simulate import registry_for, simulate_one

    reg = registry_for(real_panel)
    comps = collections.defaultdict(list)
    for f in real_panel.field_names():
        info = reg.get(f)
        if info is not None and info.kind == "MATRIX":
            comps[field_kind(f, reg)].append(f)
    turnovers = {}
    for field in ("close", "cashflow_op"):
        kind = field_kind(field, reg)
        for c in seed_candidates(field, kind, 10_000, "real", comps):
            out = simulate_one(c.expression, real_panel, c.settings, reg)
            assert out.code is None and out.result is not None, (c.expression, out.error)
            turnovers[(field, c.template, c.expression)] = out.result.is_["turnover"]
    # what the settings were chosen for: fundamentals' seeds trade (no LOW_TURNOVER on cashflow_op)
    assert min(v for (f, _, _), v in turnovers.items() if f == "cashflow_op") >= 0.01
    assert all(0.01 <= v <= 0.7 for (f, _, _), v in turnovers.items() if f == "close")
