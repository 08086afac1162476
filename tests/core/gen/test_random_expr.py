"""The random expression generator (alpha_core.gen.random_expr): well-formed, mostly lint clean, varied."""
from __future__ import annotations

import re

import numpy as np
import pytest

from alpha_core.data.synthetic import synthetic_panel
from alpha_core.expr import lint, parse
from alpha_core.gen.random_expr import default_operators, random_expression
from alpha_core.sim.ops import KERNELS
from alpha_core.sim.simulate import registry_for

FIELDS = ("close", "open", "volume", "returns", "cap")
GROUPS = ("sector", "industry", "market")


@pytest.fixture(scope="module")
def sample():
    rng = np.random.default_rng(2024)
    return [random_expression(rng, FIELDS, GROUPS) for _ in range(600)]


def test_every_expression_parses_and_nearly_all_lint_clean(sample):
    registry = registry_for(synthetic_panel(30, 5))
    results = [lint(text, registry) for text in sample]
    for text in sample:
        parse(text)  # raises on a malformed expression
    errors = [(r.text, [d.code for d in r.diagnostics if d.severity == "error"]) for r in results if not r.ok]
    assert len(errors) <= len(sample) // 100, errors[:5]
    assert all(any(f in text for f in FIELDS) for text in sample)  # never E_NO_DATA_FIELD


def test_variety(sample):
    joined = "\n".join(sample)
    used = {name for name in default_operators() if f"{name}(" in joined}
    assert len(used) >= len(default_operators()) * 3 // 4
    assert "=" in joined and " + " in joined and "?" in joined  # keywords, infix, ternary
    constant_calls = ("abs(2)", "abs(-3)", "sqrt(1)", "sqrt(2)", "inverse(2)", "inverse(10)", "sign(-1)",
                      "log(2)", "log(10)", "is_nan(1)", "reverse(2)", "sign(2)")
    assert any(c in joined for c in constant_calls)
    assert "W_LONG_WINDOW" in {d.code for text in sample[:300] for d in lint(text).diagnostics}


def test_deterministic_and_restricted():
    a = [random_expression(np.random.default_rng(5), FIELDS, GROUPS, max_depth=3) for _ in range(3)]
    b = [random_expression(np.random.default_rng(5), FIELDS, GROUPS, max_depth=3) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(1)
    only = [random_expression(rng, ["close"], ["sector"], ops=["ts_mean", "rank"], p_constant=0, p_long_window=0)
            for _ in range(50)]
    for text in only:
        assert set(re.findall(r"[A-Za-z_]+", text)) <= {"ts_mean", "rank", "close", "d", "x", "rate"}, text
        assert "W_LONG_WINDOW" not in {d.code for d in lint(text).diagnostics}


def test_default_operators_are_simulated_locally():
    ops = default_operators()
    assert set(ops) - {"pasteurize", "ts_step"} <= set(KERNELS)
    assert "ts_kurtosis" not in ops and "vec_sum" not in ops and "combo_a" not in ops


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown operators: nope"):
        random_expression(rng, FIELDS, GROUPS, ops=["rank", "nope"])
    with pytest.raises(ValueError, match="max_depth"):
        random_expression(rng, FIELDS, GROUPS, max_depth=0)
    with pytest.raises(ValueError, match="at least one"):
        random_expression(rng, [], GROUPS)
    with pytest.raises(ValueError, match="returns a value"):
        random_expression(rng, FIELDS, GROUPS, ops=["densify"])
