"""simulate(): expression text to BRAIN-style result on the real panel (SIMULATION.md §3, §9)."""
import json
import math

import numpy as np
import pytest

from alpha_core.sim.settings import SimSettings
from alpha_core.sim.simulate import ExpressionError, raw_alpha, simulate, simulate_many

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def panel():
    from alpha_core.data.loader import DataFileError, load_panel

    try:
        return load_panel()
    except DataFileError as exc:
        pytest.skip(f"real panel not available: {exc}")


def _finite_or_none(obj):
    if isinstance(obj, dict):
        return all(_finite_or_none(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite_or_none(v) for v in obj)
    if isinstance(obj, float):
        return math.isfinite(obj)
    return True


def test_reversal_alpha_has_positions_metrics_and_checks(panel):
    r = simulate("rank(-ts_delta(close, 5))", panel, SimSettings(neutralization="MARKET", decay=2))
    d = r.to_dict()
    assert d["is"]["startDate"] == "2013-02-25"  # the first universe date (S6); the alpha needs 6 rows
    assert d["os"]["startDate"] == "2017-02-08" and d["os"]["endDate"] == "2018-02-07"
    assert d["is"]["endDate"] == "2017-02-07"
    assert 150 < d["is"]["longCount"] < 350 and 150 < d["is"]["shortCount"] < 350
    assert 0 < d["is"]["turnover"] < 1
    assert d["is"]["maxWeight"] <= 0.08 + 1e-9
    assert {c["name"] for c in d["is"]["checks"]} >= {"LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER",
                                                      "CONCENTRATED_WEIGHT", "LOW_SUB_UNIVERSE_SHARPE"}
    assert _finite_or_none(d)
    json.dumps(d, allow_nan=False)


def test_pasteurization_on_ranks_among_universe_members_only(panel):
    """SIMULATION.md S7: ON ranks among TOP500 members; OFF among all 505 tickers with data."""
    _, on = raw_alpha("rank(close)", panel, SimSettings(universe="TOP200", pasteurization="ON"))
    _, off = raw_alpha("rank(close)", panel, SimSettings(universe="TOP200", pasteurization="OFF"))
    row = 600
    assert np.isfinite(on[row]).sum() == 200
    assert np.isfinite(off[row]).sum() > 480
    assert not np.allclose(np.nan_to_num(on[row]), np.nan_to_num(off[row]))


@pytest.mark.parametrize("expression", ["close / (close - close)", "log(-close)", "volume * 0 + 1 + close * 0"])
def test_degenerate_alphas_warn_instead_of_crashing(panel, expression):
    (outcome,) = simulate_many([expression], panel)
    d = outcome.to_dict()
    json.dumps(d, allow_nan=False)  # never inf or NaN in a table
    if outcome.result is not None:
        assert d["is"]["sharpe"] is None
        assert d["warnings"], "a degenerate alpha must carry a warning"


def test_lint_error_is_reported_not_raised_in_batches(panel):
    outcomes = simulate_many(["rank(close", "ts_delay(close, -1)", "rank(close)"], panel)
    assert [o.result is None for o in outcomes] == [True, True, False]
    assert outcomes[0].to_dict()["errors"][0]["code"] == "E_PAREN"
    assert outcomes[1].to_dict()["errors"][0]["code"] == "E_LOOKAHEAD"
    with pytest.raises(ExpressionError, match="E_LOOKAHEAD"):
        simulate("ts_delay(close, -1)", panel)


def test_two_spellings_of_one_alpha_share_a_hash_and_metrics(panel):
    a, b = simulate_many(["rank(-ts_delta(close,5))", "RANK( reverse(ts_delta(close, 5)) ) /* c */"], panel)
    assert a.hash == b.hash
    assert a.to_dict()["is"]["sharpe"] == pytest.approx(b.to_dict()["is"]["sharpe"], rel=1e-12)


def test_start_and_end_restrict_trading(panel):
    r = simulate("rank(-returns)", panel, start="2014-01-02", end="2014-12-31")
    d = r.to_dict()
    assert d["is"]["startDate"] >= "2014-01-02"
    assert d["os"] is None and d["local"]["osDays"] == 0  # the range ends before the OS period


@pytest.mark.parametrize("settings", [dict(neutralization="MARKET"), dict(neutralization="INDUSTRY", decay=4),
                                      dict(neutralization="NONE", truncation=0.0)])
def test_a_folded_root_negation_simulates_exactly_like_the_negated_raw_alpha(panel, settings):
    """simulate() leaves a root negation to the backtest's first pass (``evaluate_signed``): the result equals
    the backtest of the fully evaluated raw alpha, bit for bit (weights, PnL, every metric)."""
    from alpha_core.sim.backtest import backtest

    s = SimSettings(**settings)
    for text in ("-ts_delta(close, 5)", "-(-(-zscore(returns)))", "-(-rank(volume))"):
        folded = simulate(text, panel, s)
        _, raw = raw_alpha(text, panel, s)
        plain = backtest(raw, panel, s)
        np.testing.assert_array_equal(folded.weights, plain.weights, err_msg=text)
        np.testing.assert_array_equal(folded.daily_pnl, plain.daily_pnl, err_msg=text)
        assert folded.to_dict() == plain.to_dict(), text
