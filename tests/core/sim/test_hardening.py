"""Issue 11 hardening: one bad alpha never costs a batch, constant sub-expressions evaluate, impossible windows
are lint errors, and the evaluation budget (time and memory) is enforced before any kernel runs."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from alpha_core.data.synthetic import synthetic_panel
from alpha_core.expr import lint
from alpha_core.expr.lint_args import MAX_WINDOW
from alpha_core.sim import ops
from alpha_core.sim.budget import EvalBudget, plan
from alpha_core.sim.evaluate import BudgetExceeded, EvaluationError, evaluate
from alpha_core.sim.simulate import raw_alpha, registry_for, simulate_many, simulate_one


@pytest.fixture(scope="module")
def small():
    return synthetic_panel(300, 40, seed=3)


def _program(text, panel):
    result = lint(text, registry_for(panel))
    assert result.ok, result.diagnostics
    return result.program


# -------------------------------------------------------------- constant sub-expressions fold and broadcast
@pytest.mark.parametrize("folded, literal", [
    ("ts_mean(abs(-2), 5) * close", "ts_mean(2, 5) * close"),
    ("ts_delta(inverse(2), 3) + close", "ts_delta(0.5, 3) + close"),
    ("group_rank(sqrt(4), sector) + close", "group_rank(2, sector) + close"),
    ("ts_sum(greater(0.5, 0.5), 3) + close", "ts_sum(0, 3) + close"),
    ("rank(abs(2)) + close", "rank(2) + close"),
    ("ts_rank(to_nan(10), 5) + close", "ts_rank(10, 5) + close"),
])
def test_constant_subexpression_evaluates_as_its_literal(small, folded, literal):
    _, a = raw_alpha(folded, small)
    _, b = raw_alpha(literal, small)
    assert a.shape == (small.T, small.N)
    np.testing.assert_array_equal(a, b)


def test_lint_clean_constant_alphas_simulate_in_a_batch(small):
    texts = ["ts_mean(abs(2), 5) * close", "group_neutralize(sqrt(1), sector) + rank(volume)",
             "rank(-ts_delta(close, 5))"]
    outcomes = simulate_many(texts, small)
    assert [o.code for o in outcomes] == [None, None, None]
    assert all(o.result is not None for o in outcomes)


# ------------------------------------------------------------------------ one bad alpha never costs a batch
def test_unexpected_exception_is_that_alphas_error(small, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kernel defect")

    monkeypatch.setitem(ops.KERNELS, "ts_median", boom)
    outcomes = simulate_many(["rank(close)", "ts_median(close, 5)", "rank(volume)"], small)
    assert [o.code for o in outcomes] == [None, "E_INTERNAL", None]
    bad = outcomes[1]
    assert bad.result is None and bad.error == "E_INTERNAL: RuntimeError: kernel defect"
    assert bad.to_dict()["code"] == "E_INTERNAL" and bad.to_dict()["ok"] is False


def test_memory_error_is_that_alphas_error(small, monkeypatch):
    def oom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setitem(ops.KERNELS, "ts_rank", oom)
    outcomes = simulate_many(["ts_rank(close, 5)", "rank(close)"], small)
    assert [o.code for o in outcomes] == ["E_MEMORY", None]
    assert "out of memory" in outcomes[0].error


def test_invalid_settings_of_one_candidate_are_its_error(small):
    outcome = simulate_one("rank(close)", small, {"decay": -1})
    assert outcome.code == "E_SETTINGS" and outcome.result is None


def test_lint_error_outcome_carries_the_lint_code(small):
    outcome = simulate_one("ts_delay(close, -1)", small)
    assert outcome.code == "E_LOOKAHEAD" and outcome.error.startswith("E_LOOKAHEAD at ")


# -------------------------------------------------------------------------------- windows no panel can use
@pytest.mark.parametrize("text, start, end", [
    ("ts_mean(close, 1e300)", 15, 20),
    ("ts_arg_max(close, 1e9)", 18, 21),
    ("ts_delay(close, 5041)", 16, 20),
    ("ts_regression(close, open, 20, lag=99999)", 35, 40),
])
def test_window_beyond_the_maximum_is_a_lint_error_with_its_span(text, start, end):
    result = lint(text)
    assert not result.ok
    (d,) = result.errors
    assert d.code == "E_WINDOW_TOO_LONG" and (d.start, d.end) == (start, end)
    assert str(MAX_WINDOW) in d.message


def test_counts_beyond_the_maximum_are_lint_errors():
    result = lint(f"kth_element(close, 5, k={MAX_WINDOW + 1})")
    assert [d.code for d in result.errors] == ["E_KEYWORD_VALUE"]


def test_longest_window_lints_with_a_warning_and_runs_longer_than_the_panel(small):
    result = lint(f"ts_arg_max(close, {MAX_WINDOW})", registry_for(small))
    assert result.ok and result.codes == ["W_LONG_WINDOW"]
    values = evaluate(result.program, small)
    assert np.isnan(values).all()  # no complete window on a 300-day panel


def test_evaluator_refuses_an_unlinted_huge_window(small):
    from alpha_core.expr import ast

    program = ast.Program((), ast.Call("ts_mean", (ast.Ident("close"), ast.Number(1e300))))
    with pytest.raises(EvaluationError, match="longest window"):
        evaluate(program, small)


# ----------------------------------------------------------------------------------- the evaluation budget
def test_costly_expression_is_refused_before_any_kernel_runs(small, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the kernel ran")

    monkeypatch.setitem(ops.KERNELS, "group_backfill", must_not_run)
    budget = EvalBudget(max_seconds=0.001)
    with pytest.raises(BudgetExceeded, match=r"group_backfill.*ALPHA_EVAL_MAX_SECONDS"):
        evaluate(_program("group_backfill(high, market, 250)", small), small, budget=budget)


def test_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("ALPHA_EVAL_MAX_SECONDS", "0.5")
    monkeypatch.setenv("ALPHA_EVAL_MAX_MEMORY_MB", "64")
    budget = EvalBudget()
    assert (budget.max_seconds, budget.max_memory_mb) == (0.5, 64.0)


@pytest.mark.real_data
def test_group_backfill_over_the_whole_market_is_refused_on_the_real_panel(real_panel):
    outcome = simulate_one("group_backfill(high, market, 1500)", real_panel)
    assert outcome.code == "E_BUDGET" and "ALPHA_EVAL_MAX_SECONDS" in outcome.error


def test_memory_budget_refuses_wide_expressions(small):
    wide = "add(" + ", ".join(f"ts_delay(close, {k})" for k in range(1, 41)) + ")"
    program = _program(wide, small)
    steps = plan(program, program.result, small.T, small.N)
    array = small.T * small.N * 8
    assert steps.peak_bytes >= 40 * array  # all 40 inputs are alive when add runs
    budget = EvalBudget(max_memory_mb=20 * array / 2**20)
    with pytest.raises(BudgetExceeded, match="ALPHA_EVAL_MAX_MEMORY_MB"):
        evaluate(program, small, budget=budget)


def test_intermediates_are_released_as_soon_as_no_later_node_needs_them(small):
    chain = "low" + "-1" * 495  # 993 characters, 495 nested subtractions
    program = _program(chain, small)
    array = small.T * small.N * 8
    steps = plan(program, program.result, small.T, small.N)
    assert steps.peak_bytes <= 6 * array
    evaluate(program, small)  # compile the kernels first: numba's compilation allocates too (fresh checkout)
    tracemalloc.start()
    try:
        values = evaluate(program, small)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(values, np.asarray(small["low"]) - 495)
    assert peak < 10 * array, f"peak {peak / array:.1f} arrays"


def test_shared_subexpression_still_evaluated_once(small, monkeypatch):
    calls = []
    real = ops.KERNELS["ts_mean"]

    def counting(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setitem(ops.KERNELS, "ts_mean", counting)
    evaluate(_program("rank(ts_mean(close, 5)) - zscore(ts_mean(close, 5)) + ts_mean(close, 5)", small), small)
    assert len(calls) == 1


# ------------------------------------------------------------------- the CLI prints every result it has
@pytest.mark.real_data
def test_cli_batch_answers_every_line_even_when_a_kernel_breaks(real_panel, tmp_path, monkeypatch, capsys):
    import json

    from alpha_core.cli import main

    def boom(*args, **kwargs):
        raise RuntimeError("kernel defect")

    monkeypatch.setitem(ops.KERNELS, "ts_median", boom)
    ideas = tmp_path / "ideas.txt"
    ideas.write_text("rank(-returns)\nts_median(close, 5)\nts_mean(abs(2), 5) * close\nts_mean(close, 1e300)\n")
    assert main(["simulate", "--file", str(ideas), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [(o["ok"], o.get("code")) for o in out] == [
        (True, None), (False, "E_INTERNAL"), (True, None), (False, "E_WINDOW_TOO_LONG")]


@pytest.mark.real_data
def test_cli_json_list_is_closed_when_the_batch_is_interrupted(real_panel, tmp_path, monkeypatch, capsys):
    import json

    from alpha_core.cli import main

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(ops.KERNELS, "ts_median", interrupt)
    ideas = tmp_path / "ideas.txt"
    ideas.write_text("rank(-returns)\nts_median(close, 5)\nrank(close)\n")
    assert main(["simulate", "--file", str(ideas), "--json"]) == 130
    out = json.loads(capsys.readouterr().out)
    assert [o["expression"] for o in out] == ["rank(-returns)"]


def test_batches_drop_each_results_weights_unless_asked(small):
    (dropped,) = simulate_many(["rank(close)"], small)
    (kept,) = simulate_many(["rank(close)"], small, keep_weights=True)
    assert dropped.result.weights is None
    assert kept.result.weights.shape == (small.T, small.N)
    np.testing.assert_array_equal(dropped.result.daily_pnl, kept.result.daily_pnl)


# ------------------------------------------------------------------------------ magnitudes and warnings
def test_a_huge_alpha_trades_as_its_scaled_down_self(small):
    from alpha_core.sim.simulate import simulate

    base = simulate("close", small)
    exact = simulate("close * power(2, 1000)", small)  # a power of two: the scale-down is exact
    np.testing.assert_array_equal(exact.weights, base.weights)
    assert exact.is_["sharpe"] == base.is_["sharpe"]
    near = simulate("close * 1e305", small)  # overflowed its sums to inf before: no positions, sharpe null
    np.testing.assert_allclose(near.weights, base.weights, rtol=1e-12)
    assert near.is_["longCount"] == base.is_["longCount"]


def test_overflow_inside_kernels_prints_no_numpy_warning(small, recwarn):
    outcomes = simulate_many(["jump_decay(close, 10, sensitivity=1e308, force=-1e308)",
                              "vector_neut(close, 1e200 * close)", "log(close - 1e308 * volume)"], small)
    assert all(o.code is None for o in outcomes)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
