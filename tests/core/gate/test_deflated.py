"""Deflated sharpe (SIMULATION.md §11): the spec's worked example, monotone in the trial count, moments read
from a daily PnL, and the effective count for correlated trials."""
import math

import numpy as np
import pytest
from scipy import stats

from alpha_core.gate.deflated import (deflated_sharpe, deflated_sharpe_of, effective_trials, expected_max_sharpe,
                                      mean_pairwise_correlation)


@pytest.mark.parametrize("n, sr0, dsr", [(1, 0.0, 0.998929), (10, 0.062984, 0.872099), (100, 0.101224, 0.485011),
                                         (1000, 0.130205, 0.176893)])
def test_spec_worked_example(n, sr0, dsr):
    d = deflated_sharpe(0.1, 1000, -0.5, 5.0, n, 0.0016)
    assert d.sr0 == pytest.approx(sr0, abs=1e-6) and d.dsr == pytest.approx(dsr, abs=1e-6)


def test_hand_computed_example():
    # by hand: sigma = sqrt((1 + 0.5*0.1 + 4/4*0.01) / 999) = sqrt(1.06/999); N = 1 -> SR0 = 0
    d = deflated_sharpe(0.1, 1000, -0.5, 5.0, 1, 0.0016)
    assert d.sigma == pytest.approx(math.sqrt(1.06 / 999), rel=1e-12)
    assert d.dsr == pytest.approx(stats.norm.cdf(0.1 / math.sqrt(1.06 / 999)), rel=1e-12)


def test_dsr_falls_as_the_number_of_trials_grows():
    values = [deflated_sharpe(0.08, 1000, 0.0, 3.0, n, 0.002).dsr for n in (1, 2, 5, 20, 100, 1000, 10_000)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[0] > 0.99 and values[-1] < 0.05


def test_moments_are_read_from_the_daily_pnl():
    rng = np.random.default_rng(3)
    pnl = rng.standard_t(5, size=800) * 1e5 + 1.2e4
    pnl[10] = np.nan                                   # a day without a value is dropped
    p = pnl[np.isfinite(pnl)]
    d = deflated_sharpe_of(pnl, 50, 0.001)
    want = deflated_sharpe(p.mean() / p.std(), p.size, stats.skew(p), stats.kurtosis(p, fisher=False), 50, 0.001)
    assert d == want
    assert deflated_sharpe_of(np.ones(100), 5, 0.001) is None      # constant: no sharpe
    assert deflated_sharpe_of(np.array([1.0]), 5, 0.001) is None


def test_effective_trials_and_mean_correlation():
    assert effective_trials(1000, 0.0) == 1000 and effective_trials(1000, 1.0) == 1.0
    assert effective_trials(1000, 0.5) == pytest.approx(500.5)
    assert effective_trials(1000, None) == 1000 and effective_trials(1000, -0.2) == 1000
    rng = np.random.default_rng(1)
    common = rng.normal(size=500)
    m = np.vstack([common + rng.normal(size=500) for _ in range(6)])   # pairwise correlation ~0.5
    assert mean_pairwise_correlation(m) == pytest.approx(0.5, abs=0.08)
    assert mean_pairwise_correlation(m[:1]) is None
    assert expected_max_sharpe(1, 0.1) == 0.0
    with pytest.raises(ValueError, match="variance"):
        expected_max_sharpe(10, -1.0)
    with pytest.raises(ValueError, match="at least 2 days"):
        deflated_sharpe(0.1, 1, 0, 3, 10, 0.001)
