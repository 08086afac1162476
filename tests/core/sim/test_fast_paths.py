"""The fused / packed-key fast paths against straightforward reference code.

References below are plain Python/numpy versions of the step-by-step algorithms (SIMULATION.md §3 steps
3-6, §6 factor statistics, FASTEXPR.md §7.4 rank). Orders, ranks, ties, quintile members, counts, flags and
NaN patterns must match exactly. Values that are sums over a row (the scaling gross, hence the weights;
PnL; dollars traded) may differ in the last bits, because the fast kernels add in SIMD lanes
(docs/DESIGN.md "Speed"): they are held to a relative tolerance of 1e-12 (``_assert_sums_close``).
"""
import math

import numpy as np
import pytest
from scipy import stats

from alpha_core.sim import factor as F
from alpha_core.sim import metrics as M
from alpha_core.sim.backtest import sub_universe_pnl
from alpha_core.sim import portfolio as P
from alpha_core.sim.ops import _alloc
from alpha_core.sim.ops._common import finite
from alpha_core.sim.ops._sortrows import rank_rows, row_order


def _assert_sums_close(got, want, scale=None):
    """Same NaN pattern, and equal to 1e-12 of ``scale`` (default: the largest |want|)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    ref = np.max(np.abs(want[ok]), initial=0.0) if scale is None else scale
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12, atol=1e-12 * ref)


def _tricky(rng, shape):
    """Cent-rounded values with float noise (near ties a few ulps apart), exact ties, zeros of both signs,
    NaN and +-inf."""
    x = np.round(rng.normal(size=shape), 2)
    x = (x + 100.0) - 100.0                                    # 0.01 -> 0.010000000000005116 etc.
    x[:, ::7] = np.round(x[:, ::7], 1)                         # exact ties
    x[rng.random(shape) < 0.05] = 0.0
    x[rng.random(shape) < 0.05] = -0.0
    x[rng.random(shape) < 0.1] = np.nan
    x[rng.random(shape) < 0.02] = np.inf
    x[rng.random(shape) < 0.02] = -np.inf
    return x


def _reference_rank(x):
    out = np.full(x.shape, np.nan)
    for t in range(x.shape[0]):
        ok = np.isfinite(x[t])
        n = int(ok.sum())
        if n == 1:
            out[t, ok] = 0.5
        elif n > 1:
            out[t, ok] = (stats.rankdata(x[t, ok], method="average") - 1.0) / (n - 1)
    return out


def test_rank_rows_matches_average_tie_ranks_exactly():
    rng = np.random.default_rng(11)
    x = _tricky(rng, (60, 300))
    x[0] = np.nan
    x[1, :] = np.nan
    x[1, 5] = 3.0                                              # a single valid value -> 0.5
    x[2] = 1.0                                                 # all tied -> 0.5 everywhere
    before = x.copy()
    got = rank_rows(x)
    np.testing.assert_array_equal(got, _reference_rank(x))
    assert got[1, 5] == 0.5 and np.isnan(got[1, :5]).all() and (got[2] == 0.5).all()
    np.testing.assert_array_equal(x, before)                   # input untouched


def test_rank_rows_orders_runs_of_two_exactly():
    # 0.1 + 0.2 = 0.30000000000000004 shares its packed image with 0.3 but sorts after it (the key puts column 0
    # first: the pair must swap); the two 1.0 are an exact tie of two (mean position)
    x = np.array([[0.1 + 0.2, 0.3, 5.0, -5.0, 1.0, 1.0]])
    np.testing.assert_array_equal(rank_rows(x), [[2 / 5, 1 / 5, 5 / 5, 0.0, 3.5 / 5, 3.5 / 5]])
    np.testing.assert_array_equal(rank_rows(x), _reference_rank(x))


def test_rank_rows_exclude_equals_ranking_a_masked_copy():
    rng = np.random.default_rng(29)
    x = _tricky(rng, (40, 150))
    exclude = rng.random(x.shape) < 0.3
    exclude[0] = True                                          # nothing left: all NaN
    got = rank_rows(x, exclude)
    np.testing.assert_array_equal(got, _reference_rank(np.where(exclude, np.nan, x)))
    assert np.isnan(got[exclude]).all()
    with pytest.raises(ValueError, match="exclude has shape"):
        rank_rows(x, exclude[:, :3])


def test_rank_and_order_stay_exact_when_an_outlier_squeezes_the_packed_image():
    # one value 1e300 makes every other value of its row share the lowest packed image: the whole row is one
    # run that sort_run must order exactly (argsort for long runs, not a quadratic insertion sort)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 400))
    x[0, 17] = 1e300
    x[1, 3] = -1e300
    x[2, :] = np.round(x[2, :], 1)                              # many exact ties in a squeezed row
    x[2, 0] = 1e308
    x[3, ::2] = np.nan
    x[3, 1] = np.inf                                            # kept by row_order, left out by rank
    np.testing.assert_array_equal(rank_rows(x), _reference_rank(x))
    order, count = row_order(x)
    for t in range(x.shape[0]):
        assert count[t] == (~np.isnan(x[t])).sum()
        v = x[t, order[t, :count[t]]]
        assert np.all(v[1:] >= v[:-1])


def test_row_order_is_exact_and_respects_exclude():
    rng = np.random.default_rng(3)
    x = _tricky(rng, (30, 200))
    exclude = rng.random(x.shape) < 0.2
    order, count = row_order(x, exclude)
    for t in range(x.shape[0]):
        keep = ~np.isnan(x[t]) & ~exclude[t]
        assert count[t] == keep.sum()
        got = order[t, :count[t]]
        assert sorted(got.tolist()) == np.flatnonzero(keep).tolist()
        v = x[t, got]
        assert np.all(v[1:] >= v[:-1])                          # ascending, -inf first, +inf last


def _ref_pearson(a, b):
    """Two-pass Pearson correlation, left-to-right sums (NaN for a constant row, as the kernel decides)."""
    n = a.size
    ma, mb = sum(a.tolist()) / n, sum(b.tolist()) / n
    sab = sum(((a - ma) * (b - mb)).tolist())
    saa = sum(((a - ma) ** 2).tolist())
    sbb = sum(((b - mb) ** 2).tolist())
    if saa <= 1e-24 * n * max(1.0, ma * ma) or sbb <= 1e-24 * n * max(1.0, mb * mb):
        return np.nan
    return sab / math.sqrt(saa * sbb)


def _reference_factor(x, y):
    T = x.shape[0]
    ic, ric, spread = (np.full(T, np.nan) for _ in range(3))
    for t in range(T):
        ok = np.isfinite(x[t]) & np.isfinite(y[t])
        a, b = x[t, ok], y[t, ok]
        n = a.size
        if n < F.MIN_CROSS_SECTION:
            continue
        ic[t] = _ref_pearson(a, b)
        if math.isnan(ic[t]):
            continue
        ra, rb = stats.rankdata(a), stats.rankdata(b)
        ric[t] = _ref_pearson(ra, rb)
        q = np.floor((ra - 1.0) * F.QUANTILES / n).astype(int)
        top, bottom = b[q == F.QUANTILES - 1], b[q == 0]
        if top.size and bottom.size:
            spread[t] = sum(top.tolist()) / top.size - sum(bottom.tolist()) / bottom.size
    return ic, ric, spread


def _assert_factor_equal(got, ref):
    """Rank IC exactly (its sums are of quarter-integers, exact in any order; the final square root and
    division are the same), IC and the quintile spread to rounding (sums of values)."""
    ic, ric, spread = ref
    np.testing.assert_array_equal(got["rankIc"], ric)
    _assert_sums_close(got["ic"], ic, scale=1.0)
    _assert_sums_close(got["spread"], spread)


def test_factor_series_match_reference_exactly_with_near_ties():
    rng = np.random.default_rng(5)
    x = _tricky(rng, (50, 120)) * 1e-3                       # weights-like magnitudes
    y = _tricky(rng, (50, 120)) * 1e-2
    x[3, :] = 2.0                                              # constant alpha row -> NaN everything
    x[4, 4:] = np.nan                                          # too few instruments
    ref = _reference_factor(x, y)
    for order in (None, F.finite_argsort(y), F.returns_ranking(y)):
        got = F.daily_factor_series(x, y, order)
        _assert_factor_equal(got, ref)
    # a known row bound (the book's max weight) replaces the range pass; a wrong, too narrow one only
    # coarsens the packed image: the result stays exact
    bound = np.max(np.where(np.isfinite(x), np.abs(x), 0.0), axis=1)
    for b in (bound, bound / 3):
        got = F.daily_factor_series(x, y, F.returns_ranking(y), b)
        _assert_factor_equal(got, ref)
    # precomputed ranks of y among a member set, taken on rows whose valid set is exactly that set: odd
    # rows below (members = where x is finite), not even rows (a larger set): the same results either way
    ranking = F.returns_ranking(y)
    members = np.isfinite(x) | (np.arange(x.shape[0]) % 2 == 0)[:, None]
    ranks, counts = F.member_ranks(y, members, ranking)
    valid = (np.isfinite(x) & np.isfinite(y)).sum(axis=1)
    assert (counts == valid)[1::2].all() and (counts != valid)[::2].any()
    plain = F.daily_factor_series(x, y, ranking)
    with_members = F.daily_factor_series(x, y, ranking, None, (ranks, counts))
    for key in ("ic", "rankIc", "spread"):
        np.testing.assert_array_equal(with_members[key], plain[key], err_msg=key)
    assert np.isnan(got["ic"][3]) and np.isnan(got["rankIc"][4])


def test_factor_series_rejects_a_mismatched_returns_order():
    x = np.ones((3, 6))
    with pytest.raises(ValueError, match="returns order"):
        F.daily_factor_series(x, x, np.zeros((2, 6), dtype=np.int64))


# ---- portfolio: reference = the step-by-step row algorithm (neutralize, scale, clip rounds) ----------

def _ref_neutralize_row(v, codes, tol):
    ok = (codes >= 0) & ~np.isnan(v)
    out = np.full(v.shape, np.nan)
    if not ok.any():
        return out
    row_max = 0.0
    sums, counts = {}, {}
    for i in np.flatnonzero(ok):
        c = int(codes[i])
        sums[c] = sums.get(c, 0.0) + v[i]
        counts[c] = counts.get(c, 0) + 1
        row_max = max(row_max, abs(v[i]))
    for i in np.flatnonzero(ok):
        c = int(codes[i])
        r = v[i] - sums[c] / counts[c]
        out[i] = 0.0 if abs(r) <= tol * row_max else r
    return out


def _ref_scale_row(v):
    gross = 0.0
    for a in v:
        if a == a:
            gross += abs(a)
    return v / gross if gross > 0 else np.full(v.shape, np.nan)


def _ref_max_abs(v):
    m = 0.0
    for a in v:
        if a == a and abs(a) > m:
            m = abs(a)
    return m


def _ref_weights(d, codes, neutral, tr, rounds=P.TRUNCATION_ROUNDS):
    w = np.full(d.shape, np.nan)
    unmet = np.zeros(d.shape[0], dtype=bool)
    for t in range(d.shape[0]):
        row = _ref_neutralize_row(d[t], codes[t], P.NEUTRAL_TOL) if neutral else d[t].copy()
        row = _ref_scale_row(row)
        if tr > 0:
            for _ in range(rounds):
                if _ref_max_abs(row) <= tr + P.TRUNCATION_TOL:
                    break
                row = np.where(row > tr, tr, np.where(row < -tr, -tr, row))
                row = _ref_neutralize_row(row, codes[t], P.NEUTRAL_TOL) if neutral else row
                row = _ref_scale_row(row)
            unmet[t] = _ref_max_abs(row) > tr + P.TRUNCATION_TOL
        w[t] = row
    return w, unmet


def _delayed(raw):
    a = np.full(raw.shape, np.nan)
    a[1:] = raw[:-1]
    a[~np.isfinite(a)] = np.nan
    return a


@pytest.mark.parametrize("groups", ["none", "market", "groups", "many_groups"])
@pytest.mark.parametrize("decay", [0, 3])
def test_weights_from_raw_equals_step_by_step_reference(groups, decay):
    rng = np.random.default_rng(17)
    T, N = 25, 12
    raw = rng.normal(size=(T, N)) ** 3                         # heavy tails: truncation binds
    raw[rng.random(raw.shape) < 0.1] = np.nan
    raw[2, 3], raw[5, 7] = np.inf, -np.inf
    raw[6, :] = 1.0                                            # equal values -> neutralized exactly to 0
    universe = rng.random((T, N)) < 0.85
    ids = {"none": None, "market": P.market_groups((T, N)),
           "groups": rng.integers(0, 3, size=(T, N)).astype(float),
           "many_groups": rng.integers(0, 40, size=(T, N)).astype(float) * 1000}[groups]  # G > N
    if ids is not None:
        ids[rng.random((T, N)) < 0.05] = np.nan
    gi = None if ids is None else P.GroupIndex(ids)
    w, unmet = P.weights_from_raw(raw, universe, gi, decay, 0.2)
    d = P.decay_linear(_delayed(raw), decay)
    d[~universe] = np.nan
    codes = np.full((T, N), -1) if gi is None else gi.codes
    ref_w, ref_unmet = _ref_weights(d, codes, gi is not None, 0.2)
    _assert_sums_close(w, ref_w)
    np.testing.assert_array_equal(unmet, ref_unmet)
    assert unmet.any() or groups == "none"                     # some rows cannot reach 0.2
    w2, unmet2 = P.weights(_delayed(raw), universe, gi, decay, 0.2, return_unmet=True)
    np.testing.assert_array_equal(w2, w)
    np.testing.assert_array_equal(unmet2, unmet)
    # the daily series fused into the weights pass equal the separate pass over the finished weights
    returns = rng.normal(0, 0.02, size=(T, N))
    returns[rng.random((T, N)) < 0.1] = np.nan
    w3, unmet3, daily = P.weights_from_raw(raw, universe, gi, decay, 0.2, returns)
    np.testing.assert_array_equal(w3, w)
    np.testing.assert_array_equal(unmet3, unmet)
    # a folded root negation (sign -1.0) gives the weights of -raw bit for bit, decay included
    w4, unmet4 = P.weights_from_raw(raw, universe, gi, decay, 0.2, sign=-1.0)
    np.testing.assert_array_equal(w4, P.weights_from_raw(-raw, universe, gi, decay, 0.2)[0])
    np.testing.assert_array_equal(unmet4, P.weights_from_raw(-raw, universe, gi, decay, 0.2)[1])
    s = M.daily_series(w, returns)
    for got, want in zip(daily, (s.pnl, s.traded, s.long_count, s.short_count, s.max_weight)):
        np.testing.assert_array_equal(got, want)


def test_restrict_and_truncate_equal_reference():
    rng = np.random.default_rng(23)
    T, N = 20, 15
    ids = rng.integers(0, 4, size=(T, N)).astype(float)
    gi = P.GroupIndex(ids)
    w, _ = P.weights_from_raw(rng.normal(size=(T, N)), np.ones((T, N), bool), gi, 0, 0)
    mask = rng.random((T, N)) < 0.6
    ref, _ = _ref_weights(np.where(mask, w, np.nan), gi.codes, True, 0.0)
    _assert_sums_close(P.restrict(w, mask, gi), ref)
    # truncate: truncation rounds only on already-scaled rows
    s = P.scale(rng.normal(size=(T, N)) ** 3)
    got, unmet = P.truncate(s, gi, 0.15)
    exp = np.full((T, N), np.nan)
    exp_unmet = np.zeros(T, bool)
    for t in range(T):
        row = s[t].copy()
        for _ in range(P.TRUNCATION_ROUNDS):
            if _ref_max_abs(row) <= 0.15 + P.TRUNCATION_TOL:
                break
            row = _ref_scale_row(_ref_neutralize_row(np.clip(row, -0.15, 0.15), gi.codes[t], P.NEUTRAL_TOL))
        exp[t], exp_unmet[t] = row, _ref_max_abs(row) > 0.15 + P.TRUNCATION_TOL
    _assert_sums_close(got, exp)
    np.testing.assert_array_equal(unmet, exp_unmet)


def test_weights_from_raw_rejects_bad_input():
    with pytest.raises(ValueError, match="universe has shape"):
        P.weights_from_raw(np.zeros((3, 4)), np.ones((3, 5), bool), None, 0, 0.1)
    with pytest.raises(ValueError, match="decay"):
        P.weights_from_raw(np.zeros((3, 4)), np.ones((3, 4), bool), None, -1, 0.1)
    with pytest.raises(ValueError, match="sign must be"):
        P.weights_from_raw(np.zeros((3, 4)), np.ones((3, 4), bool), None, 0, 0.1, sign=2.0)


def test_daily_series_counts_and_turnover_by_hand():
    w = np.array([[0.5, -0.5, np.nan], [0.25, -0.75, 0.0]])
    r = np.array([[0.02, 0.01, 0.5], [np.nan, -0.02, 0.1]])
    s = M.daily_series(w, r, book=100.0)
    np.testing.assert_array_equal(s.pnl, [50 * 0.02 - 50 * 0.01, 0.0 + (-75) * -0.02])
    assert np.isnan(s.traded[0]) and s.traded[1] == 25 + 25 + 0
    assert s.long_count.tolist() == [1, 1] and s.short_count.tolist() == [1, 1]
    assert s.max_weight.tolist() == [0.5, 0.75]


def test_finite_maps_inf_in_place_and_handles_views():
    a = np.array([[1.0, np.inf, np.nan], [-np.inf, 0.0, -2.0]])
    out = finite(a)
    assert out is a
    np.testing.assert_array_equal(np.isnan(a), [[False, True, True], [True, False, False]])
    b = np.array([[1.0, np.inf], [np.inf, 2.0]]).T             # non-contiguous view path
    assert np.isnan(finite(b)).sum() == 2
    assert np.isnan(finite(np.inf)) and finite(3.0) == 3.0


def test_tune_allocator_is_idempotent():
    first = _alloc.tune_allocator()
    assert isinstance(first, bool) and _alloc.tune_allocator() is first


def test_factor_spread_quintile_boundaries_exact_for_every_cross_section_size():
    # n = 5..40 (multiples of 5 put a rank exactly on the h = n and h = 4n boundaries), ties straddling
    # the boundaries: the division-free quintile test must pick the same members as floor((r-1)*5/n)
    rng = np.random.default_rng(31)
    rows_x, rows_y = [], []
    for n in range(5, 41):
        for _ in range(3):
            x = np.full(45, np.nan)
            y = np.full(45, np.nan)
            x[:n] = rng.integers(0, max(2, n // 3), size=n).astype(float) * 0.01   # many ties
            y[:n] = rng.normal(size=n)
            perm = rng.permutation(45)
            rows_x.append(x[perm])
            rows_y.append(y[perm])
    x, y = np.array(rows_x), np.array(rows_y)
    ref = _reference_factor(x, y)
    got = F.daily_factor_series(x, y)
    _assert_factor_equal(got, ref)
    assert np.isfinite(got["spread"]).sum() > 80


@pytest.mark.parametrize("grouped", ["few", "many", "none"])
def test_sub_universe_pnl_equals_restrict_then_daily_pnl(grouped):
    rng = np.random.default_rng(41)
    T, N = 30, 25
    ids = rng.integers(0, 4 if grouped == "few" else 60, size=(T, N)).astype(float)   # many: G > N
    ids[rng.random((T, N)) < 0.05] = np.nan                                          # members without a group
    gi = None if grouped == "none" else P.GroupIndex(ids)
    assert gi is None or (gi.n_groups > N) == (grouped == "many")
    raw = rng.normal(size=(T, N))
    raw[rng.random((T, N)) < 0.1] = np.nan
    w, _ = P.weights_from_raw(raw, rng.random((T, N)) < 0.9, gi, 0, 0.1)
    mask = rng.random((T, N)) < 0.6
    mask[7] = False                                            # a row without sub-universe positions
    returns = rng.normal(scale=0.02, size=(T, N))
    returns[rng.random((T, N)) < 0.1] = np.nan
    full = M.daily_series(P.restrict(w, mask, gi), returns).pnl
    for start, stop in ((0, T), (5, 22), (9, 9)):
        got = sub_universe_pnl(w, mask, gi, returns, start, stop)
        assert got.shape == (stop - start,)
        _assert_sums_close(got, full[start:stop], scale=np.max(np.abs(full)))
    assert sub_universe_pnl(w, mask, gi, returns, 0, T)[7] == 0.0
    with pytest.raises(ValueError, match="rows 5:40"):
        sub_universe_pnl(w, mask, gi, returns, 5, 40)
    with pytest.raises(ValueError, match="mask"):
        sub_universe_pnl(w, mask[:, :3], gi, returns, 0, T)


def test_sorted_keys_joint_equals_sorted_keys_with_the_joint_mask():
    from alpha_core.sim.ops._sortrows import sorted_keys, sorted_keys_joint
    rng = np.random.default_rng(47)
    x, y = _tricky(rng, (30, 40)), _tricky(rng, (30, 40))
    want, want_bits = sorted_keys(x, ~(np.isfinite(x) & np.isfinite(y)))
    got, bits = sorted_keys_joint(x, y)
    assert bits == want_bits == 6
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="y has shape"):
        sorted_keys_joint(x, y[:, :3])
