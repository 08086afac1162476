"""Group kernels (FASTEXPR.md §7.5), densify and group_cartesian_product, against pandas-free loops."""
import numpy as np
import pytest
from scipy.stats import rankdata

from ops_testlib import call, nan, row

eq = lambda got, want: np.testing.assert_allclose(got, want, atol=1e-9, equal_nan=True)


def brute(x, g, f):
    out = np.full(x.shape, nan)
    for t in range(x.shape[0]):
        for gid in np.unique(g[t][~np.isnan(g[t])]):
            m = (g[t] == gid) & ~np.isnan(x[t])
            if m.any():
                out[t, m] = f(x[t, m])
    return out


def _grank(v):
    return np.full(len(v), 0.5) if len(v) == 1 else (rankdata(v) - 1) / (len(v) - 1)


STATS = {
    "group_sum": np.sum, "group_count": lambda v: float(len(v)), "group_max": np.max,
    "group_min": np.min, "group_median": np.median, "group_std_dev": np.std,
    "group_neutralize": lambda v: v - v.mean(), "group_rank": _grank,
    "group_zscore": lambda v: (v - v.mean()) / v.std() if v.std() > 0 else np.full(len(v), nan),
    "group_scale": lambda v: (v - v.min()) / (v.max() - v.min()) if v.max() > v.min() else np.full(len(v), nan),
}


@pytest.mark.parametrize("name", sorted(STATS))
@pytest.mark.parametrize("ids", ["small", "large"])
def test_group_ops_match_brute_force(name, ids, rng):
    x = rng.integers(0, 6, size=(25, 40)).astype(float)
    x[rng.random(x.shape) < 0.15] = nan
    g = rng.integers(0, 6, size=x.shape).astype(float)
    g[:, 0] = 99  # single-member group
    g[rng.random(x.shape) < 0.1] = nan
    if ids == "large":
        g = g * 1e6 - 3.5  # non-integer, negative labels take the np.unique path
    with np.errstate(all="ignore"):
        want = brute(x, g, STATS[name])
    eq(call(name, x, g), want)
    # the pasteurization mask as ``exclude``: exactly the values of the masked copy (both G <= N and G > N)
    from alpha_core.sim.ops import group as gr

    exclude = rng.random(x.shape) < 0.3
    fused = getattr(gr, name)(x, g, exclude=exclude)
    np.testing.assert_array_equal(fused, getattr(gr, name)(np.where(exclude, nan, x), g))
    assert np.isnan(fused[exclude]).all()
    with pytest.raises(ValueError, match="exclude has shape"):
        getattr(gr, name)(x, g, exclude=exclude[:, :3])


def test_group_mean_weighted():
    x, w, g = row(1, 2, 3, 4, nan), row(1, 3, 1, nan, 1), row(0, 0, 1, 1, 1)
    eq(call("group_mean", x, w, g), row(1.75, 1.75, 3, 3, nan))
    eq(call("group_mean", x, row(1, -1, 1, 1, 1), g), row(nan, nan, 3.5, 3.5, nan))


def test_nan_group_and_nan_input_give_nan():
    x, g = row(1, nan, 3, 4), row(0, 0, nan, 0)
    eq(call("group_neutralize", x, g), row(-1.5, nan, nan, 1.5))
    eq(call("group_sum", x, g), row(5, nan, nan, 5))


def test_nan_handling_on_fills_nan_members_with_group_value():
    x, g = row(1, nan, 3, 4, nan), row(0, 0, nan, 0, 1)
    eq(call("group_sum", x, g, nan_handling=True), row(5, 5, nan, 5, nan))
    eq(call("group_count", x, g, nan_handling=True), row(2, 2, nan, 2, 0))
    eq(call("group_mean", x, 1.0, g, nan_handling=True), row(2.5, 2.5, nan, 2.5, nan))
    eq(call("group_max", x, g, nan_handling=True), row(4, 4, nan, 4, nan))


def test_group_std_exact_zero_for_equal_values():
    out = call("group_std_dev", row(0.1, 0.1, 0.1), row(0, 0, 0))
    assert (out == 0).all()
    assert np.isnan(call("group_zscore", row(0.1, 0.1, 0.1), row(0, 0, 0))).all()


def test_group_rank_single_member_and_ties():
    eq(call("group_rank", row(5, 1, 1, 2, 7), row(3, 1, 1, 1, 2)), row(0.5, 0.25, 0.25, 1, 0.5))


def test_group_backfill():
    x = np.array([[1.0, 2.0, 100.0], [nan, 4.0, nan]])
    g = np.array([[0, 0, 1], [0, 0, 1.0]])
    out = call("group_backfill", x, g, 2, std=4.0)
    eq(out, np.array([[1, 2, 100], [7 / 3, 4, 100]]))
    # d=1: only today pooled; an empty pool stays NaN
    eq(call("group_backfill", x, g, 1), np.array([[1, 2, 100], [4, 4, nan]]))


def test_densify_per_date_and_cartesian_product():
    g = np.array([[10, 30, 10, nan, 20], [5, 5, 7, 7, nan]])
    eq(call("densify", g), np.array([[0, 2, 0, nan, 1], [0, 0, 1, 1, nan]]))
    g1, g2 = row(0, 0, 1, 1, nan), row(0, 1, 0, 1, 0)
    out = call("group_cartesian_product", g1, g2)
    assert np.isnan(out[0, 4])
    assert len(set(out[0, :4])) == 4
    same = call("group_cartesian_product", row(1, 1), row(2, 2))
    assert same[0, 0] == same[0, 1]


def test_dense_ids_of_a_read_only_group_field_are_computed_once_per_array():
    """A panel's group field is read-only: its dense ids are cached by identity (the same array back), equal
    to a fresh computation; a writeable (computed) group array is never cached."""
    from alpha_core.sim.ops import group as G

    ids_src = np.array([[3.0, 1.0, np.nan, 3.0], [1.0, 1.0, 2.0, np.nan]])
    field = ids_src.copy()
    field.flags.writeable = False
    first, n1 = G.dense_ids("group_mean", "group", field)
    again, n2 = G.dense_ids("group_mean", "group", field)
    assert again is first and n1 == n2 == 4
    fresh, n3 = G.dense_ids("group_mean", "group", ids_src)
    np.testing.assert_array_equal(fresh, first)
    assert n3 == n1 and G.dense_ids("group_mean", "group", ids_src)[0] is not fresh
    # another field gets its own ids
    other = np.array([[0.0, 0.0, 5.0, 5.0], [5.0, 0.0, 0.0, 5.0]])
    other.flags.writeable = False
    np.testing.assert_array_equal(G.dense_ids("group_mean", "group", other)[0], other.astype(np.int64))


def test_group_operators_read_x_in_place_and_never_modify_it():
    """finite_input: a clean writeable x is passed as is, one with +-inf (or read-only) as a cleaned copy; the
    group statistic treats +-inf as NaN and the caller's array is unchanged."""
    from alpha_core.sim.ops._common import finite_input
    from alpha_core.sim.ops.group import group_mean

    clean = np.array([[1.0, 2.0, np.nan, 4.0]])
    assert finite_input(clean) is clean
    frozen = clean.copy()
    frozen.flags.writeable = False
    assert finite_input(frozen) is not frozen and finite_input(frozen).flags.writeable
    x = np.array([[1.0, np.inf, 3.0, -np.inf]])
    before = x.copy()
    cleaned = finite_input(x)
    assert cleaned is not x
    np.testing.assert_array_equal(cleaned, [[1.0, np.nan, 3.0, np.nan]])
    got = group_mean(x, 1.0, np.array([[0.0, 0.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(got, [[2.0, np.nan, 2.0, np.nan]])
    np.testing.assert_array_equal(x, before)
