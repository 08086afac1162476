"""Walk-forward validation inside IS (alpha_core/gate/stability.py)."""
import numpy as np
import pytest

from alpha_core.gate.stability import split_sharpe, train_fitness, validated


def test_the_last_quarter_is_the_validation_part():
    rng = np.random.default_rng(3)
    earn = rng.normal(1.0, 1.0, 750)
    lose = rng.normal(-1.0, 1.0, 250)
    train, val = split_sharpe(np.concatenate([earn, lose]))
    assert train > 10 and val < -10
    assert not validated(np.concatenate([earn, lose]))
    assert validated(np.concatenate([lose, earn[:250], earn]))       # losing early, earning at the end
    assert split_sharpe(np.concatenate([earn, [np.nan] * 40, lose]))[1] == pytest.approx(val)   # NaN days dropped


def test_undefined_parts_are_none():
    assert split_sharpe(np.zeros(0)) == (None, None)
    assert split_sharpe(np.ones(400)) == (None, None)                # no variance
    assert not validated(np.ones(400)) and not validated(np.zeros(10))
    assert train_fitness(np.ones(400), 0.1, 0.2) is None


@pytest.mark.real_data
def test_train_fitness_over_all_days_is_the_simulators_is_fitness():
    from alpha_core.data.loader import load_panel
    from alpha_core.sim.simulate import simulate_one

    panel = load_panel(None)
    res = simulate_one("rank(-ts_delta(close, 5))", panel, {"decay": 4}).result
    pnl, _ = res.period_pnl("is")
    whole = train_fitness(pnl, res.is_["returns"], res.is_["turnover"], fraction=0.0)
    assert whole == pytest.approx(res.is_["fitness"], rel=1e-9)
    assert split_sharpe(pnl, fraction=0.0)[0] == pytest.approx(res.is_["sharpe"], rel=1e-9)
    train = train_fitness(pnl, res.is_["returns"], res.is_["turnover"])
    assert train is not None and train != pytest.approx(whole)
