"""Arithmetic and logical kernels: values, NaN rules, scalars (FASTEXPR.md §7.1-§7.2)."""
import numpy as np
import pytest

from ops_testlib import call, nan, row

from alpha_core.sim.ops import KERNELS, KernelArgumentError

eq = lambda got, want: np.testing.assert_allclose(got, want, atol=1e-12, equal_nan=True)


def test_add_subtract_multiply_filter():
    a, b, c = row(1, nan, 3), row(2, 2, nan), row(1, 1, 1)
    eq(KERNELS["add"](a, b, c, filter=False), row(4, nan, nan))
    eq(KERNELS["add"](a, b, c, filter=True), row(4, 3, 4))
    eq(call("subtract", a, b, filter=True), row(-1, -2, 3))
    eq(call("subtract", a, b), row(-1, nan, nan))
    eq(KERNELS["multiply"](a, b, filter=False), row(2, nan, nan))
    eq(KERNELS["multiply"](a, b, filter=True), row(2, 2, 3))
    eq(KERNELS["add"](a, 1.5, filter=False), row(2.5, nan, 4.5))


def test_inputs_never_modified():
    a = row(1, np.inf, -2)
    before = a.copy()
    for name in ["reverse", "abs", "log", "sqrt", "inverse", "sign"]:
        out = call(name, a)
        assert not np.isinf(out).any() and not np.shares_memory(out, a)
    np.testing.assert_array_equal(a, before)


def test_divide_and_inverse_by_zero_are_nan():
    eq(call("divide", row(1, -1, 0, 4), row(0, 0, 0, 2)), row(nan, nan, nan, 2))
    eq(call("inverse", row(0, 4)), row(nan, 0.25))
    eq(call("divide", 1.0, row(0, 2)), row(nan, 0.5))


def test_unary_math():
    eq(call("log", row(0, -1, np.e)), row(nan, nan, 1))
    eq(call("sqrt", row(-1, 4)), row(nan, 2))
    eq(call("sign", row(-3, 0, 2, nan)), row(-1, 0, 1, nan))
    eq(call("power", row(-8, 2, 0), row(0.5, 3, -1)), row(nan, 8, nan))
    eq(call("signed_power", row(-8, 4), 0.5), row(-np.sqrt(8), 2))
    eq(call("reverse", row(2, nan)), row(-2, nan))


def test_max_min_variadic_nan():
    eq(KERNELS["max"](row(1, 5, nan), row(3, 2, 1), row(0, 9, 1)), row(3, 9, nan))
    eq(KERNELS["min"](row(1, 5, nan), row(3, 2, 1)), row(1, 2, nan))
    with pytest.raises(KernelArgumentError, match="max: needs at least 2"):
        KERNELS["max"](row(1))


def test_comparisons_nan_rule():
    x, y = row(1, 2, 3, nan), row(2, 2, 2, 2)
    eq(call("less", x, y), row(1, 0, 0, nan))
    eq(call("less_equal", x, y), row(1, 1, 0, nan))
    eq(call("greater", x, y), row(0, 0, 1, nan))
    eq(call("greater_equal", x, y), row(0, 1, 1, nan))
    eq(call("equal", x, y), row(0, 1, 0, nan))
    eq(call("not_equal", x, y), row(1, 0, 1, nan))


def test_logical():
    a, b = row(1, 0, 2, nan, 0), row(1, 1, 0, 1, 0)
    eq(call("and", a, b), row(1, 0, 0, nan, 0))
    eq(call("or", a, b), row(1, 1, 1, nan, 0))
    eq(call("not", a), row(0, 1, 0, nan, 1))
    eq(call("is_nan", row(nan, 0, 1)), row(1, 0, 0))
    eq(call("if_else", row(1, 0, nan, -2), row(10, 10, 10, 10), row(20, 20, 20, 20)),
       row(10, 20, nan, 10))


def test_to_nan_and_tail():
    eq(call("to_nan", row(0, 1, 2)), row(nan, 1, 2))
    eq(call("to_nan", row(0, 1, 2), value=1, reverse=True), row(nan, 1, nan))
    eq(call("tail", row(-1, 0.5, 1, 2), lower=0, upper=1, newval=9), row(-1, 9, 1, 2))


def test_scalars_broadcast():
    assert float(call("add", 1.0, 2.0)) == 3.0
    eq(call("greater", row(1, 3), 2.0), row(0, 1))
