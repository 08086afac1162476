"""Decay, neutralization, scaling, truncation, positions (SIMULATION.md §3, worked examples S1-S3)."""
import numpy as np
import pytest

from alpha_core.sim import portfolio as P


def _one_day(values):
    a = np.array([values], dtype=float)
    return a, np.ones(a.shape, dtype=bool), P.market_groups(a.shape)


def test_s1_market_neutral_weights_and_positions():
    a, u, g = _one_day([1, 2, 3, 4])
    np.testing.assert_allclose(P.neutralize(a, g), [[-1.5, -0.5, 0.5, 1.5]], atol=1e-12)
    w = P.weights(a, u, g, decay=0, truncation=0)
    np.testing.assert_allclose(w, [[-0.375, -0.125, 0.125, 0.375]], atol=1e-12)
    np.testing.assert_allclose(P.positions(w), [[-7.5e6, -2.5e6, 2.5e6, 7.5e6]], atol=1e-6)


@pytest.mark.parametrize("rounds, expected", [(1, [-0.352941, -0.147059, 0.147059, 0.352941]),
                                              (2, [-0.335526, -0.164474, 0.164474, 0.335526]),
                                              (10, [-0.300723, -0.199277, 0.199277, 0.300723])])
def test_s2_truncation_rounds(monkeypatch, rounds, expected):
    monkeypatch.setattr(P, "TRUNCATION_ROUNDS", rounds)
    a, u, g = _one_day([1, 2, 3, 4])
    w, unmet = P.weights(a, u, g, decay=0, truncation=0.3, return_unmet=True)
    np.testing.assert_allclose(w[0], expected, atol=5e-7)
    assert unmet.tolist() == [True]       # 0.300723 > 0.3 after the rounds


def test_truncation_stops_when_met_and_leaves_compliant_rows_alone():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(50, 100))
    u = np.ones(a.shape, dtype=bool)
    w, unmet = P.weights(a, u, P.market_groups(a.shape), 0, 0.04, return_unmet=True)
    assert not unmet.any() and np.nanmax(np.abs(w)) <= 0.04 + 1e-9
    np.testing.assert_allclose(np.nansum(np.abs(w), axis=1), 1.0)
    np.testing.assert_allclose(np.nansum(w, axis=1), 0.0, atol=1e-12)
    loose = P.weights(a, u, P.market_groups(a.shape), 0, 0.5)
    np.testing.assert_array_equal(loose, P.weights(a, u, P.market_groups(a.shape), 0, 0))


def test_s3_decay_skips_nan_terms():
    d = P.decay_linear(np.array([[1.0], [np.nan], [3.0]]), 3)
    assert d[2, 0] == pytest.approx(2.5, abs=1e-12)       # (3*3 + 1*1) / (3 + 1)
    assert d[1, 0] == pytest.approx(1.0)                  # only the oldest term
    assert np.isnan(P.decay_linear(np.full((3, 1), np.nan), 3)).all()


def test_decay_matches_the_formula_on_random_data():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(12, 3))
    a[rng.random(a.shape) < 0.3] = np.nan
    n = 4
    d = P.decay_linear(a, n)
    t, i = 9, 1
    terms = [(n - k, a[t - k, i]) for k in range(n) if not np.isnan(a[t - k, i])]
    assert d[t, i] == pytest.approx(sum(w * v for w, v in terms) / sum(w for w, _ in terms))
    np.testing.assert_array_equal(P.decay_linear(a, 0), a)
    with pytest.raises(ValueError, match="decay"):
        P.decay_linear(a, -1)


def test_group_neutralization_and_nan_group():
    a = np.array([[1.0, 3.0, 10.0, 20.0, 5.0, np.nan]])
    g = np.array([[0.0, 0.0, 7.0, 7.0, np.nan, 7.0]])
    n = P.neutralize(a, g)
    np.testing.assert_allclose(n[0, :4], [-1.0, 1.0, -5.0, 5.0])
    assert np.isnan(n[0, 4]) and np.isnan(n[0, 5])
    # non-integer opaque ids give the same result
    np.testing.assert_allclose(P.neutralize(a, g * 0.37 + 0.01), n)
    np.testing.assert_array_equal(P.neutralize(a, None), a)


def test_universe_restriction_and_no_position_days():
    a = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0], [np.nan] * 4])
    u = np.array([[True, True, False, True]] * 3)
    w = P.weights(a, u, P.market_groups(a.shape), 0, 0)
    assert np.isnan(w[0, 2]) and np.nansum(np.abs(w[0])) == pytest.approx(1.0)
    np.testing.assert_allclose(w[0, [0, 1, 3]], np.array([-4 / 3, -1 / 3, 5 / 3]) / (10 / 3))
    assert np.isnan(w[1]).all() and np.isnan(w[2]).all()    # constant row: sum 0; all NaN: nothing
    assert (P.positions(w)[1:] == 0).all()


def test_constant_alpha_gives_no_noise_positions():
    a = np.full((5, 505), 0.7)
    w = P.weights(a, np.ones(a.shape, dtype=bool), P.market_groups(a.shape), 0, 0.08)
    assert np.isnan(w).all()


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="universe has shape"):
        P.weights(np.ones((2, 3)), np.ones((2, 2), dtype=bool), None, 0, 0)
