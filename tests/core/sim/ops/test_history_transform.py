"""Path-dependent kernels and bucket (FASTEXPR.md §7.3, §7.6)."""
import numpy as np
import pytest

from ops_testlib import call, col, nan, row

from alpha_core.sim.ops import KernelArgumentError

eq = lambda got, want: np.testing.assert_allclose(got, want, atol=1e-12, equal_nan=True)


def test_backfill_k_and_window_cut_by_panel_start():
    x = col(1, 2, nan, nan, nan)
    eq(call("ts_backfill", x, 4, k=2), col(1, 2, 1, 1, nan))
    eq(call("ts_backfill", x, 1), col(1, 2, nan, nan, nan))
    with pytest.raises(KernelArgumentError, match="ts_backfill: only ignore"):
        call("ts_backfill", x, 2, ignore="zero")


def test_kth_element_includes_today():
    eq(call("kth_element", col(1, 2, 3), 2, 1), col(1, 2, 3))
    eq(call("kth_element", col(1, 2, 3), 2, 2), col(nan, 1, 2))


def test_last_diff_value():
    eq(call("last_diff_value", col(1, 1, 2, 2, nan, 2), 3), col(nan, nan, 1, 1, nan, nan))
    eq(call("last_diff_value", col(1, 1, 2, 2, nan, 2), 5), col(nan, nan, 1, 1, nan, 1))


def test_days_from_last_change():
    eq(call("days_from_last_change", col(1, 1, 1, 2, nan, 2, 2)), col(0, 1, 2, 0, nan, 0, 1))


def test_hump_nan_rules():
    x = np.array([[1.0, nan], [1.001, 2.0], [nan, 2.001], [1.0, 2.002]])
    out = call("hump", x, hump=0.01)
    eq(out, np.array([[1, nan], [1, 2], [nan, 2], [1, 2]]))


def test_trade_when_nan_conditions_hold_previous():
    x, y, z = col(1, nan, 0, 1), col(1, 2, 3, nan), col(nan, -1, nan, 0)
    eq(call("trade_when", x, y, z), col(1, 1, 1, nan))
    eq(call("trade_when", col(0, 1), col(5, 6), col(0, 0)), col(nan, 6))


def test_bucket_range_and_flags():
    x = row(-1, 0, 0.5, 1, 2, nan)
    eq(call("bucket", x, range="0,1,0.25"), row(0, 0, 2, 4, 5, nan))
    eq(call("bucket", x, range="0,1,0.25", skipBegin=True), row(nan, nan, 2, 4, 5, nan))
    eq(call("bucket", x, range="0,1,0.25", skipEnd=True, NANGroup=True), row(0, 0, 2, 4, nan, 6))
    eq(call("bucket", x, range="0,1,0.25", skipBoth=True), row(nan, nan, 2, 4, nan, nan))
    eq(call("bucket", row(0.3), range="0.1,0.3,0.1"), row(2))  # 0.3 included despite rounding


@pytest.mark.parametrize("kw,msg", [
    (dict(), "exactly one"), (dict(range="0,1,0.1", buckets="1,2"), "exactly one"),
    (dict(range="0,1"), "start,end,step"), (dict(buckets="3,2"), "ascending"),
    (dict(buckets="a,b"), "comma-separated numbers"), (dict(range="0,1,-1"), "step > 0")])
def test_bucket_bad_strings(kw, msg):
    with pytest.raises(KernelArgumentError, match=msg):
        call("bucket", row(1), **kw)
