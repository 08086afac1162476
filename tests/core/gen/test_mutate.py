"""Moves of the search (alpha_core.gen.mutate): the surgeon per failed check, lateral moves, settings no-ops."""
import pytest

from alpha_core.expr import lint
from alpha_core.expr.canonical import to_text
from alpha_core.gate.checks import Check
from alpha_core.gen import mutate
from alpha_core.gen.templates import settings_for
from alpha_core.sim.settings import SimSettings


def _prog(text):
    res = lint(text)
    assert res.ok, (text, [d.code for d in res.diagnostics])
    return res.program


def _fail(name, value, limit):
    return Check(name, "FAIL", value, limit)


PASSING = [Check("LOW_SHARPE", "PASS", 1.6, 1.25), Check("LOW_FITNESS", "PASS", 1.2, 1.0)]


def _moves(text, settings, checks, sharpe=1.0, turnover=0.3):
    prog = _prog(text)
    moves = mutate.surgeon_moves(prog, settings, checks, sharpe, turnover)
    for desc, child, st in moves:                      # every child is a valid alpha with valid settings
        res = lint(to_text(child))
        assert res.ok, (desc, to_text(child), [d.code for d in res.diagnostics])
        SimSettings(**st)
        assert (res.canonical, st) != (lint(text).canonical, settings), desc     # never the parent itself
    return prog, moves


def test_no_failed_check_no_move():
    assert mutate.surgeon_moves(_prog("rank(close)"), settings_for(), PASSING, 1.6, 0.3) == []


def test_high_turnover_raises_decay_and_windows():
    s = settings_for({"decay": 4})
    _, moves = _moves("rank(-ts_delta(close, 5))", s, [_fail("HIGH_TURNOVER", 0.8, 0.7)], turnover=0.8)
    decays = [st["decay"] for _, p, st in moves if st["decay"] != 4]
    assert decays == [6]                                         # one ladder step (0.8 < 1.5 x 0.7)
    texts = {to_text(p) for _, p, st in moves}
    assert "rank(-ts_delta(close, 10))" in texts                 # windows up
    assert all(st["decay"] >= 4 for _, _, st in moves)           # nothing lowers the decay
    _, far = _moves("rank(-ts_delta(close, 5))", s, [_fail("HIGH_TURNOVER", 1.2, 0.7)], turnover=1.2)
    assert [st["decay"] for _, _, st in far if st["decay"] != 4] == [8]     # two steps when far above


def test_low_turnover_sets_decay_zero_and_windows_down():
    s = settings_for({"decay": 8})
    _, moves = _moves("rank(ts_mean(close, 20) / ts_mean(close, 120))", s,
                      [_fail("LOW_TURNOVER", 0.004, 0.01)], turnover=0.004)
    assert [st["decay"] for _, _, st in moves if st["decay"] != 8] == [0]
    texts = {to_text(p) for _, p, _ in moves}
    assert "rank(ts_mean(close, 10) / ts_mean(close, 60))" in texts
    assert all(st["decay"] <= 8 for _, _, st in moves)
    _, zero = _moves("rank(close)", settings_for({"decay": 0}), [_fail("LOW_TURNOVER", 0.004, 0.01)], turnover=0.004)
    assert all(st["decay"] == 0 for _, _, st in zero)            # already 0: no settings move


def test_concentrated_weight_ranks_and_truncates():
    s = settings_for({"truncation": 0.08})
    _, moves = _moves("ts_delta(close, 5)", s, [_fail("CONCENTRATED_WEIGHT", 0.2, 0.1)])
    texts = {to_text(p) for _, p, _ in moves}
    assert "rank(ts_delta(close, 5))" in texts
    assert any(t.startswith("winsorize(ts_delta(close, 5)") for t in texts)
    assert [st["truncation"] for _, _, st in moves if st["truncation"] != 0.08] == [0.05]


def test_low_sub_universe_sharpe_conditions_on_liquidity():
    s = settings_for()
    _, moves = _moves("rank(-ts_delta(close, 5))", s, [_fail("LOW_SUB_UNIVERSE_SHARPE", 0.1, 0.6)])
    texts = {to_text(p) for _, p, _ in moves}
    assert "rank(-ts_delta(close, 5)) * rank(adv20)" in texts
    assert [st["universe"] for _, _, st in moves if st["universe"] != "TOP500"] == ["TOP200"]
    _, top200 = _moves("rank(-ts_delta(close, 5))", settings_for({"universe": "TOP200"}),
                       [_fail("LOW_SUB_UNIVERSE_SHARPE", 0.1, 0.6)])
    assert all(st["universe"] == "TOP200" for _, _, st in top200)


def test_strongly_negative_sharpe_is_only_sign_flipped():
    s = settings_for()
    checks = [_fail("LOW_SHARPE", -1.6, 1.25), _fail("LOW_FITNESS", -1.0, 1.0), _fail("HIGH_TURNOVER", 0.9, 0.7)]
    prog, moves = _moves("rank(ts_delta(close, 5))", s, checks, sharpe=-1.6, turnover=0.9)
    assert [(d, to_text(p), st) for d, p, st in moves] == [("sign flip", "-rank(ts_delta(close, 5))", s)]
    # flipping twice is the identity (a root reverse is removed, not doubled)
    assert mutate.sign_flip(mutate.sign_flip(prog)) == prog
    # a weak negative sharpe is not flipped: the other fitness moves apply
    _, weak = _moves("rank(ts_delta(close, 5))", s, checks[:2], sharpe=-0.5, turnover=0.2)
    assert weak and all(d != "sign flip" for d, _, _ in weak)


def test_low_sharpe_moves_skip_noop_neutralizations():
    s = settings_for({"neutralization": "SUBINDUSTRY"})
    checks = [_fail("LOW_SHARPE", 0.8, 1.25)]
    _, grouped = _moves("group_rank(ts_delta(close, 5), subindustry)", s, checks, turnover=0.2)
    assert all(st["neutralization"] == "SUBINDUSTRY" for _, _, st in grouped)   # every other one is a no-op
    assert all(d != "wrap group_rank subindustry" for d, _, _ in grouped)       # already group-ranked
    _, plain = _moves("rank(ts_delta(close, 5))", s, checks, turnover=0.2)
    assert {st["neutralization"] for _, _, st in plain} == {"SUBINDUSTRY", "MARKET", "SECTOR", "INDUSTRY"}
    assert "group_rank(rank(ts_delta(close, 5)), subindustry)" in {to_text(p) for _, p, _ in plain}


def test_settings_noop():
    grouped = _prog("group_rank(ts_delta(close, 5), subindustry)")
    plain = _prog("rank(ts_delta(close, 5))")
    by_industry = _prog("-group_neutralize(ts_delta(close, 5), industry)")
    sub, mkt = settings_for({"neutralization": "SUBINDUSTRY"}), settings_for({"neutralization": "MARKET"})
    assert mutate.settings_noop(grouped, sub, mkt)
    assert mutate.settings_noop(grouped, mkt, settings_for({"neutralization": "SECTOR"}))
    assert not mutate.settings_noop(plain, sub, mkt)
    assert not mutate.settings_noop(grouped, sub, {**sub, "decay": 4})          # decay always matters
    assert mutate.settings_noop(plain, sub, dict(sub))                          # nothing changed
    # under an industry group, neutralizing by the finer subindustry does change the alpha
    assert not mutate.settings_noop(by_industry, mkt, sub)
    assert mutate.settings_noop(by_industry, mkt, settings_for({"neutralization": "INDUSTRY"}))


def test_lateral_moves_are_single_changes_that_lint():
    prog = _prog("ts_rank(close, 20)")
    s = settings_for()
    moves = mutate.lateral_moves(prog, s)
    texts = {to_text(p) for _, p, _ in moves}
    assert {"ts_rank(close, 10)", "ts_rank(close, 40)", "ts_zscore(close, 20)", "ts_scale(close, 20)",
            "rank(ts_rank(close, 20))", "group_rank(ts_rank(close, 20), subindustry)"} <= texts
    assert all(st is s for _, _, st in moves)
    for d, p, _ in moves:
        assert lint(to_text(p)).ok, d
    assert "ts_rank(close, 20)" not in texts


def test_settings_options_exclude_current_value():
    s = settings_for({"decay": 4, "neutralization": "MARKET", "truncation": 0.05})
    opts = mutate.settings_options(s)
    assert 4 not in opts["decay"] and "MARKET" not in opts["neutralization"] and 0.05 not in opts["truncation"]
    assert opts["universe"] == ["TOP200"]


@pytest.mark.real_data
def test_surgeon_lowers_turnover_on_the_real_panel(real_panel):
    from alpha_core.sim.simulate import registry_for, simulate_one

    reg = registry_for(real_panel)
    s = settings_for({"decay": 0})
    parent = simulate_one("rank(-(close - vwap))", real_panel, s, reg).result
    assert parent is not None
    checks = [Check(**c) for c in parent.is_["checks"]]
    turnover = parent.is_["turnover"]
    assert turnover > 0.7 and {c.name for c in checks if c.result == "FAIL"} >= {"HIGH_TURNOVER"}
    moves = mutate.surgeon_moves(_prog("rank(-(close - vwap))"), s, checks, parent.is_["sharpe"], turnover)
    assert moves
    child_turnovers = {}
    for desc, prog, st in moves:
        out = simulate_one(to_text(prog), real_panel, st, reg)
        assert out.result is not None, (desc, out.error)
        child_turnovers[desc] = out.result.is_["turnover"]
    # every move aimed at the turnover lowers it (decay up, smoothing), one by a wide margin
    assert all(t < turnover for t in child_turnovers.values()), (turnover, child_turnovers)
    assert min(child_turnovers.values()) < turnover - 0.2, (turnover, child_turnovers)


@pytest.mark.real_data
def test_surgeon_takes_a_size_bet_out_on_the_real_panel(real_panel, tmp_path):
    """A mined small-cap tilt fails FACTOR_EXPOSURE; the surgeon's size move (neutralize within size deciles, Base
    operators only) keeps the searched field, lints clean and brings the exposure under the limit."""
    from alpha_core.gate.factors import factor_exposure, style_library
    from alpha_core.sim.simulate import registry_for, simulate_one

    reg, styles = registry_for(real_panel), style_library(real_panel, cache_dir=tmp_path)
    s = SimSettings(decay=16).model_dump()
    text = "ts_std_dev(-ts_rank(cap, 120) / cap, 120)"
    parent = simulate_one(text, real_panel, s, reg).result
    check = factor_exposure(*parent.period_pnl("is"), styles)
    assert check.result == "FAIL" and "size" in check.message
    moves = {d: (p, st) for d, p, st in mutate.surgeon_moves(_prog(text), s, [check], parent.is_["sharpe"],
                                                             parent.is_["turnover"])}
    assert set(moves) == {"neutralize size deciles", "neutralize volatility deciles"}
    prog, st = moves["neutralize size deciles"]
    assert to_text(prog) == f'group_neutralize({text}, bucket(rank(log(cap)), range="0.1,1,0.1"))' and st == s
    assert all(not lint(to_text(p)).warnings for p, _ in moves.values())      # no W_OPERATOR_LEVEL: submittable
    child = simulate_one(to_text(prog), real_panel, st, reg).result
    after = factor_exposure(*child.period_pnl("is"), styles)
    assert after.result == "PASS" and after.value < check.value - 0.2, (check, after)
    neutral_fail = Check("FACTOR_NEUTRAL_SHARPE", "FAIL", 0.4, 1.25, "")
    assert [d for d, _, _ in mutate.surgeon_moves(_prog(text), s, [neutral_fail], 1.6, 0.1)] == list(moves)


@pytest.mark.real_data
@pytest.mark.parametrize("universe", ["TOP500", "TOP200"])
def test_settings_noop_moves_change_nothing_that_matters(real_panel, universe):
    """What ``settings_noop`` skips is the same alpha without decay and a > 0.95-correlated copy with it;
    what it keeps (neutralizing a plain rank) is a different alpha."""
    import numpy as np

    from alpha_core.sim.simulate import registry_for, simulate_one

    reg = registry_for(real_panel)
    grouped, plain = "group_rank(ts_delta(close, 5), subindustry)", "rank(ts_delta(close, 5))"

    def pnl(expr, decay, nz):
        st = settings_for({"universe": universe, "decay": decay, "neutralization": nz})
        r = simulate_one(expr, real_panel, st, reg).result
        return np.asarray(r.daily_pnl, dtype=np.float64)[r.is_slice]

    def corr(a, b):
        m = np.isfinite(a) & np.isfinite(b)
        return np.corrcoef(a[m], b[m])[0, 1]

    sub, mkt = settings_for({"neutralization": "SUBINDUSTRY"}), settings_for({"neutralization": "MARKET"})
    assert mutate.settings_noop(_prog(grouped), sub, mkt) and not mutate.settings_noop(_prog(plain), sub, mkt)
    a, b = pnl(grouped, 0, "SUBINDUSTRY"), pnl(grouped, 0, "MARKET")
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-6)
    assert corr(pnl(grouped, 16, "SUBINDUSTRY"), pnl(grouped, 16, "MARKET")) > 0.95
    assert corr(pnl(plain, 0, "SUBINDUSTRY"), pnl(plain, 0, "MARKET")) < 0.9


def test_every_move_of_every_seed_lints_clean():
    """Surgeon moves for each failed check, and the lateral moves, of every seed template filled for a price
    and a fundamental field: each child lints clean with valid settings."""
    from alpha_core.gen.seeds import SEEDS

    checks = [_fail("HIGH_TURNOVER", 1.2, 0.7), _fail("LOW_TURNOVER", 0.001, 0.01),
              _fail("CONCENTRATED_WEIGHT", 0.3, 0.1), _fail("LOW_SUB_UNIVERSE_SHARPE", 0.1, 0.6),
              _fail("LOW_SHARPE", 0.5, 1.25), _fail("SELF_CORRELATION", 0.9, 0.7)]
    n = 0
    for t in SEEDS:
        for f, g in (("close", "volume"), ("sales", "assets")):
            res = lint(t.text.format(f=f, g=g))
            if not res.ok:
                continue
            st = settings_for(t.settings)
            moves = mutate.surgeon_moves(res.program, st, checks, 0.5, 0.5) + mutate.lateral_moves(res.program, st)
            for desc, child, cst in moves:
                out = lint(to_text(child))
                assert out.ok, (t.name, desc, to_text(child), [d.code for d in out.diagnostics])
                SimSettings(**cst)
                n += 1
    assert n > 1000
