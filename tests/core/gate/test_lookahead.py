"""NO_LOOKAHEAD (issue 13): genuine alphas pass on the real panel; alphas, fields and simulator stages that read
the future are caught."""
import numpy as np
import pytest

from alpha_core.data.panel import Panel
from alpha_core.gate.checks import FAIL, PASS, PENDING
from alpha_core.gate.lookahead import cut_rows, lookahead_check, perturbed_panel, scramble_after
from alpha_core.sim import backtest as backtest_module
from alpha_core.sim.ops import KERNELS
from alpha_core.sim.settings import SimSettings

pytestmark = pytest.mark.real_data


@pytest.mark.parametrize("expression, settings", [
    ("ts_delta(close, 5)", {}),
    ("rank(ts_rank(volume, 20))", {"decay": 4, "truncation": 0.02}),
    ("group_rank(-returns, industry)", {"neutralization": "SUBINDUSTRY", "truncation": 0.01}),
    ("rank(sales / cap)", {"neutralization": "SECTOR"}),                   # a fundamental and a derived field
    ("ts_corr(close, volume, 10)", {"pasteurization": "OFF", "nanHandling": "ON", "decay": 10}),
])
def test_genuine_alphas_pass(real_panel, expression, settings):
    check = lookahead_check(expression, real_panel, settings, cuts=2)
    assert (check.name, check.result, check.value, check.limit) == ("NO_LOOKAHEAD", PASS, 0.0, 0.0)


def test_perturbation_keeps_the_past_and_scrambles_the_future(real_panel):
    cut = 600
    pp = perturbed_panel(real_panel, cut, seed=1)
    assert pp.dates is not real_panel.dates and np.array_equal(pp.dates, real_panel.dates)
    for name in ("close", "volume", "returns", "cap", "sales", "industry"):
        a, b = real_panel[name], pp[name]
        assert np.array_equal(a[:cut + 1], b[:cut + 1], equal_nan=True), name
        both = ~np.isnan(a[cut + 1:]) & ~np.isnan(b[cut + 1:])
        assert (a[cut + 1:][both] != b[cut + 1:][both]).mean() > 0.2, name          # values moved
        assert (np.isnan(a[cut + 1:]) != np.isnan(b[cut + 1:])).mean() > 0.02, name  # NaN pattern moved
    ind = pp["industry"][cut + 1:]
    assert np.array_equal(ind[~np.isnan(ind)], np.round(ind[~np.isnan(ind)]))      # still group ids
    assert not pp.is_loaded("high")                                                 # lazy: only what is read


def test_cuts_are_inside_is_and_deterministic(real_panel):
    s = SimSettings()
    rows = cut_rows(real_panel, s, cuts=3, seed=7)
    is_stop = real_panel.T - int(np.ceil(0.2 * real_panel.T))
    assert rows == cut_rows(real_panel, s, cuts=3, seed=7) != cut_rows(real_panel, s, cuts=3, seed=8)
    assert len(set(rows)) == 3 and 0 < rows[0] < rows[-1] < is_stop
    with pytest.raises(ValueError, match="cuts must be a positive integer"):
        cut_rows(real_panel, s, cuts=0)


def test_scramble_rejects_a_bad_cut():
    with pytest.raises(ValueError, match="cut"):
        scramble_after(np.zeros((5, 3)), 5, np.random.default_rng(0))


def test_a_kernel_reading_tomorrow_is_caught(real_panel, monkeypatch):
    honest = KERNELS["ts_delta"]
    monkeypatch.setitem(KERNELS, "ts_delta", lambda **kw: np.roll(honest(**kw), -1, axis=0))
    check = lookahead_check("ts_delta(close, 5)", real_panel, cuts=1, seed=3)
    cut = real_panel.dates[cut_rows(real_panel, SimSettings(), cuts=1, seed=3)[0]]
    assert check.result == FAIL and check.value > 100 and check.limit == 0.0
    # the first offending row is the cut itself (tomorrow's row is the first perturbed one)
    assert check.message.startswith("raw alpha of ") and f"on {cut} changed" in check.message
    assert f"after {cut}" in check.message


def test_a_field_derived_from_tomorrows_close_is_caught(real_panel):
    base = {name: real_panel[name] for name in ("close", "volume", "returns", "industry")}

    def tomorrow_close():
        return np.roll(leaky["close"], -1, axis=0)   # reads the panel it belongs to, like the loader's cap

    leaky = Panel.from_arrays(real_panel.dates, real_panel.tickers, {**base, "tomorrow_close": tomorrow_close},
                              group_fields=("industry",), label="leaky", copy=False)
    assert lookahead_check("rank(close)", leaky, cuts=1).result == PASS
    check = lookahead_check("rank(tomorrow_close)", leaky, cuts=1)
    assert check.result == FAIL and check.value > 100
    assert check.message.startswith("raw alpha of ")


def test_a_universe_reading_the_future_is_caught_in_the_weights(real_panel, monkeypatch):
    honest = backtest_module.panel_universe   # the backtest's universe only: the raw alpha stays honest

    def universe_of_day_after(panel, size, ahead=False):
        return np.roll(honest(panel, size, ahead), -2, axis=0)   # U_t from data up to t+1

    monkeypatch.setattr(backtest_module, "panel_universe", universe_of_day_after)
    check = lookahead_check("rank(-returns)", real_panel, {"universe": "TOP200"}, cuts=1)
    assert check.result == FAIL and check.message.startswith("weight of ")


def test_lint_lookahead_fails_and_unsupported_is_pending(real_panel):
    check = lookahead_check("ts_delay(close, -1)", real_panel)
    assert (check.result, check.value) == (FAIL, None) and "E_LOOKAHEAD" in check.message
    check = lookahead_check("rank(close) +", real_panel)
    assert (check.result, check.value) == (PENDING, None) and check.message.startswith("not evaluated locally")
    check = lookahead_check("rank(close)", real_panel, {"neutralization": "COUNTRY"})   # BRAIN-only setting
    assert check.result == PENDING and "UNSUPPORTED_LOCAL: neutralization" in check.message


def test_a_pnl_earning_tomorrows_return_is_caught(real_panel, monkeypatch):
    honest = backtest_module._returns_and_order   # weights stay honest, only the PnL's return is misaligned

    def tomorrows_returns(panel):
        returns, order = honest(panel)
        return np.roll(returns, -1, axis=0), order

    monkeypatch.setattr(backtest_module, "_returns_and_order", tomorrows_returns)
    check = lookahead_check("rank(-returns)", real_panel, cuts=1)
    cut = real_panel.dates[cut_rows(real_panel, SimSettings(), cuts=1)[0]]
    assert check.result == FAIL and check.message.startswith(f"daily PnL on {cut} changed")


def test_shared_perturbed_copies_do_not_keep_their_panel_alive():
    import gc
    import weakref

    from alpha_core.data.synthetic import synthetic_panel

    panel = synthetic_panel(300, 30, seed=2)
    assert lookahead_check("rank(ts_delta(close, 3))", panel, cuts=1).result == PASS
    gone = weakref.ref(panel)
    del panel
    gc.collect()
    assert gone() is None
