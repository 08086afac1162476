"""Self-correlation in matrix form and the independent-winner set (alpha_core/gate/correlation.py, §6)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpha_core.gate.checks import self_correlation, self_correlations
from alpha_core.gate.correlation import SELF_CORR_MAX_DAYS
from alpha_core.gate.correlation import (Independent, correlation_matrix, independent_set, last_common_days,
                                         max_correlation, pnl_matrix)

START = np.datetime64("2014-01-01")


def _dates(n, offset=0):
    return START + offset + np.arange(n)


def _reference(a, b, min_days):
    """np.corrcoef per pair over the days where both are finite; NaN when too few days or a constant series."""
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    for i in range(a.shape[0]):
        for j in range(b.shape[0]):
            ok = np.isfinite(a[i]) & np.isfinite(b[j])
            x, y = a[i, ok], b[j, ok]
            if ok.sum() >= max(min_days, 2) and x.std() > 0 and y.std() > 0:
                out[i, j] = np.corrcoef(x, y)[0, 1]
    return out


def _random_series(rng, n_series, span):
    """Series over random sub-ranges of ``span`` days with random NaN gaps, some sharing a common factor."""
    common = rng.normal(size=span)
    out = []
    for _ in range(n_series):
        lo = int(rng.integers(0, span // 2))
        hi = int(rng.integers(lo + 1, span + 1))
        pnl = rng.normal(size=hi - lo) * rng.uniform(1e3, 1e6) + rng.uniform(-1, 1) * common[lo:hi] * 1e5
        pnl[rng.random(hi - lo) < rng.uniform(0, 0.4)] = np.nan
        out.append((pnl, _dates(hi - lo, lo)))
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 5), m=st.integers(0, 6), span=st.integers(2, 120),
       min_days=st.integers(0, 40))
def test_matrix_matches_corrcoef_per_pair(seed, k, m, span, min_days):
    rng = np.random.default_rng(seed)
    series = _random_series(rng, k + m, span)
    mat, cal = pnl_matrix(series, max_days=None)
    assert cal.size == np.unique(np.concatenate([d for _, d in series])).size
    a, b = mat[:k], mat[k:]
    got = correlation_matrix(a, b, min_days)
    want = _reference(a, b, min_days)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, atol=1e-9, equal_nan=True)
    values, index = max_correlation(a, b, min_days)
    has = ~np.all(np.isnan(want), axis=1) if m else np.zeros(k, bool)
    np.testing.assert_array_equal(index >= 0, has)
    if has.any():
        np.testing.assert_allclose(values[has], np.nanmax(want[has], axis=1), atol=1e-9)
        np.testing.assert_allclose(got[np.flatnonzero(has), index[has]], values[has])
    assert np.isnan(values[~has]).all() and (index[~has] == -1).all()


def test_known_cases():
    rng = np.random.default_rng(0)
    x, noise = rng.normal(size=(2, 1000)) * 1e5
    m = np.vstack([x, -x, 3 * x + 7e5, noise, np.full(1000, 5.0)])
    c = correlation_matrix(m[:1], m)[0]
    assert c[0] == pytest.approx(1.0, abs=1e-12) and c[1] == pytest.approx(-1.0, abs=1e-12)
    assert c[2] == pytest.approx(1.0, abs=1e-12)
    assert abs(c[3]) < 0.1                                    # independent noise: |r| ~ 1/sqrt(1000)
    assert np.isnan(c[4])                                      # constant series
    short = m.copy()
    short[:, 29:] = np.nan                                     # 29 joint days < 30
    assert np.isnan(correlation_matrix(short[:1], short)).all()
    short[0, 29] = x[29]
    short[1, 29] = -x[29]                                      # 30 joint days with row 1 only
    assert correlation_matrix(short[:1], short[1:2])[0, 0] == pytest.approx(-1.0)


def test_pnl_matrix_aligns_and_keeps_the_last_days():
    a = (np.array([1.0, 2.0, 3.0]), np.array(["2014-01-03", "2014-01-01", "2014-01-02"], dtype="datetime64[D]"))
    b = (np.array([9.0]), np.array(["2014-01-05"], dtype="datetime64[D]"))
    m, cal = pnl_matrix([a, b], max_days=None)
    assert cal.astype(str).tolist() == ["2014-01-01", "2014-01-02", "2014-01-03", "2014-01-05"]
    np.testing.assert_array_equal(m, [[2.0, 3.0, 1.0, np.nan], [np.nan, np.nan, np.nan, 9.0]])
    m, cal = pnl_matrix([a, b], max_days=2)
    assert cal.astype(str).tolist() == ["2014-01-03", "2014-01-05"]
    np.testing.assert_array_equal(m, [[1.0, np.nan], [np.nan, 9.0]])
    given_cal = np.array(["2014-01-02", "2014-01-04"], dtype="datetime64[D]")
    m, cal = pnl_matrix([a, b], calendar=given_cal)
    np.testing.assert_array_equal(m, [[3.0, np.nan], [np.nan, np.nan]])
    assert pnl_matrix([])[0].shape == (0, 0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="series 1 has pnl shape"):
        pnl_matrix([(np.zeros(2), _dates(2)), (np.zeros(3), _dates(2))])
    with pytest.raises(ValueError, match="series 0 repeats a date"):
        pnl_matrix([(np.zeros(2), np.array([START, START]))])
    with pytest.raises(ValueError, match="sorted and unique"):
        pnl_matrix([], calendar=np.array([START + 1, START]))
    with pytest.raises(ValueError, match="a has 3 days, b has 4"):
        correlation_matrix(np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="repeated item key 'a'"):
        independent_set([("a", np.zeros(3), _dates(3), 1.0), ("a", np.zeros(3), _dates(3), 2.0)])
    with pytest.raises(ValueError, match="item 'b' has score nan"):
        independent_set([("b", np.zeros(3), _dates(3), float("nan"))])
    with pytest.raises(ValueError, match="accepted alpha 0 repeats a date"):
        self_correlation(np.zeros(3), _dates(3), [(np.zeros(2), np.array([START, START]), 1.0)])


def test_last_common_days_windows_each_pair():
    a = np.arange(10.0)
    a[8] = np.nan
    others = np.vstack([np.arange(10.0), np.r_[np.arange(5.0), [np.nan] * 5]])
    w = last_common_days(a, others, 3)
    np.testing.assert_array_equal(np.isfinite(w[0]), [0, 0, 0, 0, 0, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(np.isfinite(w[1]), [0, 0, 1, 1, 1, 0, 0, 0, 0, 0])


def _copies_and_independent(n=400, seed=3):
    rng = np.random.default_rng(seed)
    base, other1, other2 = rng.normal(size=(3, n)) * 1e5
    d = _dates(n)
    items = [("copy_a", base, d, 2.0),
             ("copy_b", base + 0.1 * rng.normal(size=n) * 1e5, d, 1.5),
             ("copy_c", 2 * base, d, 3.0),
             ("ind_1", other1, d, 1.0),
             ("ind_2", other2, d, 0.5)]
    return items, base, other1


def test_independent_set_keeps_one_copy_and_names_the_blocker():
    items, _, _ = _copies_and_independent()
    res = independent_set(items)
    assert isinstance(res, Independent)
    assert res.kept == ("copy_c", "ind_1", "ind_2")           # score order; copy_c has the best score
    assert set(res.skipped) == {"copy_a", "copy_b"}
    assert res.skipped["copy_a"][0] == "copy_c" and res.skipped["copy_a"][1] == pytest.approx(1.0)
    assert res.skipped["copy_b"][0] == "copy_c" and res.skipped["copy_b"][1] > 0.99
    assert independent_set(items, limit=1.01).kept == ("copy_c", "copy_a", "copy_b", "ind_1", "ind_2")
    assert independent_set([]).kept == ()
    unranked = [(k, p, d, float("-inf") if k == "copy_c" else sc) for k, p, d, sc in items]
    assert independent_set(unranked).kept == ("copy_a", "ind_1", "ind_2")     # -inf sorts last


def test_independent_set_ties_by_key_and_library_blocks():
    items, base, other1 = _copies_and_independent()
    tied = [(k, p, d, 1.0) for k, p, d, _ in items]
    assert independent_set(tied).kept == ("copy_a", "ind_1", "ind_2")
    library = [(other1[::-1].copy(), _dates(400), 1.3), (-base, _dates(400), 2.0), (other1, _dates(400), 9.0)]
    res = independent_set(items, library=library)
    assert res.kept == ("copy_c", "ind_2")                     # -base does not block: signed correlation
    assert res.skipped["ind_1"] == ("library:2", pytest.approx(1.0))
    assert res.skipped["copy_a"][0] == "copy_c"
    short_library = [(other1[-20:], _dates(400)[-20:])]       # 20 common days: not comparable, no block
    assert "ind_1" in independent_set(items, library=short_library).kept


def test_self_correlation_delegates_with_pairwise_windows():
    rng = np.random.default_rng(5)
    n = 1300
    a = rng.normal(size=n)
    accepted = [(a[200:] + 0.5 * rng.normal(size=n - 200), _dates(n - 200, 200), 1.0),
                (rng.normal(size=900), _dates(900), 2.0),          # ends before a's last 400 days
                (a[:25], _dates(25), 3.0)]                          # 25 common days: skipped
    sc = self_correlation(a, _dates(n), accepted)
    assert sc.skipped == 1 and len(sc.pairs) == 2 and [s for _, s in sc.pairs] == [1.0, 2.0]
    x = a[-SELF_CORR_MAX_DAYS:]
    want0 = np.corrcoef(x, accepted[0][0][-SELF_CORR_MAX_DAYS:])[0, 1]
    want1 = np.corrcoef(a[:900][-SELF_CORR_MAX_DAYS:], accepted[1][0])[0, 1]   # all 900 common days
    assert sc.pairs[0][0] == pytest.approx(want0, abs=1e-12) and sc.pairs[1][0] == pytest.approx(want1, abs=1e-12)
    assert sc.value == pytest.approx(max(want0, want1))


@pytest.mark.real_data
def test_real_alphas_near_copies_correlate(real_panel):
    from alpha_core.sim.simulate import simulate_one

    runs = [("reversal", "rank(-ts_delta(close, 5))", {}),
            ("reversal_decay5", "rank(-ts_delta(close, 5))", {"decay": 5}),
            ("reversal_4", "rank(-ts_delta(close, 4))", {}),
            ("cashflow", "rank(cashflow_op/cap)", {})]
    series = {}
    for name, expr, s in runs:
        out = simulate_one(expr, real_panel, s)
        assert out.error is None, out.error
        pnl, dates = out.result.period_pnl("is")
        series[name] = (pnl, dates, float(out.result.is_["sharpe"]))
    names = list(series)
    m, cal = pnl_matrix([(p, d) for p, d, _ in series.values()])
    assert m.shape == (4, 997) and cal[0] == np.datetime64("2013-02-25")   # IS: 997 days, all < 1,008
    assert np.isnan(m[3]).sum() == 997 - series["cashflow"][0].size > 0     # fundamentals start later
    corr = correlation_matrix(m, m)
    np.testing.assert_allclose(np.diag(corr), 1.0, atol=1e-12)
    assert corr[0, 1] > 0.7 and corr[0, 2] > 0.7               # decayed / 4-day versions are near copies
    assert abs(corr[0, 3]) < 0.5                               # a fundamental value signal is not
    for i, name in enumerate(names):                           # the matrix is what self_correlation reports
        p, d, _ = series[name]
        others = [series[o] for o in names if o != name]
        sc = self_correlation(p, d, others)
        np.testing.assert_allclose([c for c, _ in sc.pairs], np.delete(corr[i], i), atol=1e-12)
    bulk = self_correlations([(p, d) for p, d, _ in series.values()], list(series.values()))   # one matrix
    assert [b.value for b in bulk] == pytest.approx([float(np.max(corr[i])) for i in range(4)], abs=1e-12)
    assert all(len(b.pairs) == 4 and b.skipped == 0 for b in bulk)
    items = [(name, p, d, sharpe) for name, (p, d, sharpe) in series.items()]
    res = independent_set(items)
    assert "cashflow" in res.kept and len(res.kept) == 2
    assert {res.skipped[k][0] for k in res.skipped} <= set(res.kept)
