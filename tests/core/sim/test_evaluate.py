"""The evaluator glue: canonical AST -> kernels, variables, CSE, pasteurization, NaN handling (FASTEXPR.md §6)."""
import numpy as np
import pytest

from alpha_core.data.panel import Panel
from alpha_core.expr import canonicalize, parse
from alpha_core.sim import evaluate as ev
from alpha_core.sim.evaluate import UnsupportedLocal, evaluate

NAN = np.nan


def tiny_panel(**fields):
    """A SYNTHETIC panel of T dates x N tickers from column arrays."""
    T, N = next(iter(fields.values())).shape
    dates = np.datetime64("2020-01-01") + np.arange(T)
    tickers = [f"T{i:02d}" for i in range(N)]
    groups = [k for k in fields if k in ("sector", "industry", "subindustry")]
    return Panel.from_arrays(dates, tickers, fields, group_fields=groups, label="SYNTHETIC test panel")


def run(text, panel, **kw):
    return evaluate(canonicalize(parse(text)), panel, **kw)


def col(values):
    return np.asarray(values, dtype=float)[:, None]


def test_ts_rank_worked_example_3_through_the_whole_front_end():
    p = tiny_panel(close=col([1, 3, 2, 3]))
    assert run("ts_rank(close, 4)", p)[-1, 0] == pytest.approx(0.833333, abs=1e-6)
    assert run("TS_RANK(close, 4, constant = 1)", p)[-1, 0] == pytest.approx(1.833333, abs=1e-6)
    assert run("ts_rank(close, 1)", p)[-1, 0] == 0


def test_worked_example_9_delay_and_delta_and_infix_arithmetic():
    p = tiny_panel(close=col([10, 11, 13, 12]))
    assert run("ts_delay(close, 3)", p)[-1, 0] == 10
    assert run("ts_delta(close, 2)", p)[-1, 0] == 1
    assert run("-close * 2 + 1", p)[-1, 0] == -23
    np.testing.assert_array_equal(run("close / 0.5 - close", p)[:, 0], [10, 11, 13, 12])


def test_cross_sectional_worked_examples_1_and_2():
    p = tiny_panel(close=np.array([[4, 3, 6, 10, 2], [1, 2, 2, NAN, 3]], dtype=float))
    out = run("rank(close)", p)
    np.testing.assert_allclose(out[0], [0.5, 0.25, 0.75, 1, 0])
    np.testing.assert_allclose(out[1], [0, 0.5, 0.5, NAN, 1])


def test_variables_and_keywords_and_ternary():
    p = tiny_panel(close=col([1, 2, 3, 4]), open=col([4, 3, 2, 1]))
    out = run("up = close > open; m = ts_mean(close, 2); up ? m : -m", p)
    np.testing.assert_allclose(out[:, 0], [NAN, -1.5, 2.5, 3.5])


def test_division_by_zero_and_log_of_negative_are_nan_never_inf():
    p = tiny_panel(close=np.array([[1.0, 0.0, -2.0]]))
    out = run("1 / close + log(close)", p)
    assert np.isnan(out[0, 1]) and np.isnan(out[0, 2])
    assert not np.isinf(out).any()


def test_variadic_add_with_filter_counts_nan_as_zero():
    p = tiny_panel(close=np.array([[1.0, NAN]]), open=np.array([[2.0, 5.0]]), high=np.array([[3.0, 1.0]]))
    np.testing.assert_allclose(run("close + open + high", p)[0], [6, NAN])
    np.testing.assert_allclose(run("add(close, open, high, filter=true)", p)[0], [6, 6])


def test_group_operator_worked_example_17_with_a_group_field():
    p = tiny_panel(close=np.array([[1, 2, 3, 10, 20]], float), sector=np.array([[0, 0, 0, 1, 1]], float))
    np.testing.assert_allclose(run("group_neutralize(close, sector)", p)[0], [-1, 0, 1, -5, 5])
    np.testing.assert_allclose(run("group_rank(close, sector)", p)[0], [0, 0.5, 1, 0, 1])


def test_pasteurization_masks_cross_sectional_inputs_only_when_on():
    """SIMULATION.md S7: ON ranks among universe members only; OFF among every instrument with data."""
    p = tiny_panel(close=np.array([[1, 2, 3, 4]], float))
    universe = np.array([[True, False, True, True]])
    on = run("rank(close)", p, universe_mask=universe, pasteurization=True)
    off = run("rank(close)", p, universe_mask=universe, pasteurization=False)
    np.testing.assert_allclose(on[0], [0, NAN, 0.5, 1])
    np.testing.assert_allclose(off[0], [0, 1 / 3, 2 / 3, 1])
    # time-series operators always see the unmasked history
    np.testing.assert_allclose(run("close * 1", p, universe_mask=universe)[0], [1, 2, 3, 4])
    # pasteurize() masks with the universe whatever the setting
    np.testing.assert_allclose(run("pasteurize(close)", p, universe_mask=universe, pasteurization=False)[0],
                               [1, NAN, 3, 4])


def test_mask_aware_operators_take_the_pasteurization_mask_instead_of_a_masked_copy(monkeypatch):
    """rank, quantile, zscore, normalize, winsorize, scale, scale_down, the group statistics and group_rank get
    the universe as ``exclude`` (no masked copy of their input): the same values as on the masked input, for a
    shared sub-expression too (group_backfill beside it still gets the masked copy)."""
    rng = np.random.default_rng(31)
    close = np.round(rng.normal(10, 2, size=(30, 40)), 2)
    close[rng.random(close.shape) < 0.1] = NAN
    close[3, 4], close[5, 6] = np.inf, -np.inf
    close[7] = 3.0                                             # a constant row
    sector = rng.integers(0, 4, size=close.shape).astype(float)
    sector[rng.random(close.shape) < 0.05] = NAN
    p = tiny_panel(close=close, open=np.round(rng.normal(10, 2, size=(30, 40)), 2), sector=sector)
    universe = rng.random(close.shape) < 0.7
    g = "sector"
    texts = ["rank(close - open)", "rank(close - open) + group_backfill(close - open, 1, 3)", "rank(-rank(close))",
             "quantile(close)", "zscore(close)", "normalize(close, useStd=true, limit=1.5)", "normalize(close)",
             "winsorize(close, std=1)", "scale(close - open)", "scale(close - open, longscale=2, shortscale=3)",
             "scale_down(close, constant=0.5)", "zscore(close - open) * rank(close - open)",
             f"group_zscore(close, {g})", f"group_neutralize(close - open, {g})", f"group_scale(close, {g})",
             f"group_rank(close, {g})", f"group_mean(close, open, {g})", f"group_count(close, {g})",
             f"group_sum(close, {g})", f"group_max(close, {g}) - group_min(close, {g})",
             f"group_median(close, {g}) + group_std_dev(close, {g})"]
    assert ev.MASK_AWARE_OPS == {"rank", "quantile", "zscore", "normalize", "winsorize", "scale", "scale_down",
                                 "group_count", "group_sum", "group_mean", "group_max", "group_min",
                                 "group_median", "group_std_dev", "group_neutralize", "group_zscore",
                                 "group_scale", "group_rank"}
    fused = [run(t, p, universe_mask=universe) for t in texts]
    filled = [run(t, p, universe_mask=universe, nan_handling=True) for t in texts]   # group stats fill NaN members
    monkeypatch.setattr(ev, "MASK_AWARE_OPS", frozenset())
    for text, got, got_filled in zip(texts, fused, filled):
        np.testing.assert_array_equal(got, run(text, p, universe_mask=universe), err_msg=text)
        np.testing.assert_array_equal(got_filled, run(text, p, universe_mask=universe, nan_handling=True),
                                      err_msg=text)
        assert np.isnan(got[~universe]).all(), text
        assert np.isfinite(got[universe & np.isfinite(close)]).any(), text


def test_nan_handling_on_gives_zero_for_an_all_nan_window():
    p = tiny_panel(close=col([1, NAN, NAN, 4]))
    off = run("ts_mean(close, 2)", p)
    on = run("ts_mean(close, 2)", p, nan_handling=True)
    assert np.isnan(off[2, 0]) and on[2, 0] == 0
    assert np.isnan(on[1, 0]) and np.isnan(on[3, 0])  # partly NaN windows stay NaN


def test_ts_step_counts_dates_from_the_first_panel_date():
    p = tiny_panel(close=np.ones((3, 2)))
    np.testing.assert_array_equal(run("close * ts_step(1)", p), [[1, 1], [2, 2], [3, 3]])


def test_common_subexpressions_are_evaluated_once(monkeypatch):
    calls = []
    original = ev.KERNELS["ts_mean"]

    def counting(**kw):
        calls.append(kw["d"])
        return original(**kw)

    monkeypatch.setitem(ev.KERNELS, "ts_mean", counting)
    p = tiny_panel(close=np.arange(1.0, 11.0)[:, None])
    run("rank(ts_mean(close, 3)) + ts_mean(CLOSE,  3) * ts_mean(close, 3)", p)
    assert calls == [3]


def test_brain_only_operator_and_missing_field_raise_unsupported_local():
    p = tiny_panel(close=col([1, 2, 3]))
    with pytest.raises(UnsupportedLocal, match="ts_kurtosis"):
        run("ts_kurtosis(close, 2)", p)
    with pytest.raises(UnsupportedLocal, match="volume"):
        run("volume + close", p)


def test_result_is_writeable_copy_not_the_panel_field():
    p = tiny_panel(close=col([1, 2, 3]))
    out = run("close", p)
    out[0, 0] = 99
    assert p["close"][0, 0] == 1


def test_evaluate_signed_folds_only_a_root_negation():
    rng = np.random.default_rng(5)
    p = tiny_panel(close=rng.normal(10, 2, size=(6, 5)))
    close = p["close"]
    for text, sign, want in [("-close", -1.0, close), ("-(-close)", 1.0, close), ("-(-(-close))", -1.0, close),
                             ("rank(-close)", 1.0, run("rank(-close)", p)), ("-close + 1", 1.0, 1.0 - close)]:
        values, got_sign = ev.evaluate_signed(canonicalize(parse(text)), p)
        assert got_sign == sign, text
        np.testing.assert_array_equal(values, want, err_msg=text)
        np.testing.assert_array_equal(sign * values, run(text, p), err_msg=text)
        assert values.flags.writeable and values is not close
