"""FACTOR_EXPOSURE: multiple correlation of an alpha's IS daily PnL with the style factors' (gate/factors.py)."""
import math

import numpy as np
import pytest

from alpha_core.gate.checklist import CHECK_ORDER, GateLimits, alpha_checklist
from alpha_core.gate.checks import FAIL, PASS, PENDING
from alpha_core.gate.factors import STYLE_FACTORS, exposure, factor_exposure, style_library
from alpha_core.gate.public import PublicLibrary, read_public_alphas
from alpha_core.sim.settings import SimSettings
from alpha_core.sim.simulate import simulate


def _library(pnl: np.ndarray, dates: np.ndarray, ids=None) -> PublicLibrary:
    ids = tuple(ids or (f"f{i}" for i in range(pnl.shape[0])))
    return PublicLibrary(ids, ids, dates, pnl, np.zeros(len(ids)))


def _dates(n: int) -> np.ndarray:
    return np.arange(np.datetime64("2014-01-01"), np.datetime64("2014-01-01") + n)


def test_exact_combination_of_factors_is_fully_explained_though_no_single_factor_is():
    rng = np.random.default_rng(7)
    f = rng.normal(size=(3, 600))
    dates = _dates(600)
    y = 2.0 * f[0] - 1.5 * f[1] + 3.0
    r, loadings, days = exposure(y, dates, _library(f, dates))
    assert days == 600 and r == pytest.approx(1.0, abs=1e-9)
    assert [n for n, _ in loadings[:2]] == ["f0", "f1"] and loadings[0][1] > 0 > loadings[1][1]
    single = max(abs(np.corrcoef(y, f[k])[0, 1]) for k in range(3))
    assert single < 0.85                           # the max pairwise correlation would have missed it


def test_half_factor_half_noise_has_r_near_one_over_root_two_and_scale_does_not_matter():
    rng = np.random.default_rng(11)
    f = rng.normal(size=(2, 5000))
    dates = _dates(5000)
    y = f[0] + rng.normal(size=5000)
    lib = _library(f, dates)
    r = exposure(y, dates, lib)[0]
    assert r == pytest.approx(1 / math.sqrt(2), abs=0.02)
    assert exposure(1e6 * y - 5, dates, lib)[0] == pytest.approx(r, abs=1e-12)


def test_days_align_on_dates_and_nan_days_are_dropped():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(1, 300))
    dates = _dates(300)
    y = f[0].copy()
    y[:50] = rng.normal(size=50)             # unrelated days, then cut away by the alpha's own calendar
    y[100] = np.nan
    lib = _library(f, dates)
    r, _, days = exposure(y[50:], dates[50:], lib)
    assert days == 249 and r == pytest.approx(1.0, abs=1e-12)
    shifted = exposure(y[50:], dates[50:] + 1000, lib)     # no shared day
    assert shifted[0] is None and shifted[2] == 0


def test_undefined_exposure_is_pending_and_bad_limit_is_an_error():
    dates = _dates(100)
    lib = _library(np.random.default_rng(0).normal(size=(2, 100)), dates)
    assert factor_exposure(np.ones(100), dates, lib).result == PENDING          # constant PnL
    few = factor_exposure(np.arange(10.0), dates[:10], lib)
    assert few.result == PENDING and "fewer than" in few.message
    empty = factor_exposure(np.arange(100.0), dates, _library(np.zeros((0, 100)), dates, ids=()))
    assert empty.result == PENDING and "no style factor library" in empty.message
    with pytest.raises(ValueError, match="finite"):
        factor_exposure(np.arange(100.0), dates, lib, float("nan"))


def test_style_factor_file_is_well_formed():
    rows = read_public_alphas(STYLE_FACTORS)
    assert [r.id for r in rows] == ["size", "volatility", "momentum", "value", "liquidity", "profitability"]


@pytest.fixture(scope="module")
def styles(real_panel, tmp_path_factory):
    return style_library(real_panel, cache_dir=tmp_path_factory.mktemp("styles"))


def test_style_library_on_the_real_panel_is_is_only(real_panel, styles):
    assert styles.ids == ("size", "volatility", "momentum", "value", "liquidity", "profitability")
    r = simulate("rank(-cap)", real_panel)
    is_dates = r.period_pnl("is")[1]
    assert styles.dates.max() <= is_dates.max()          # no OS day: the holdout is never read
    assert np.isfinite(styles.pnl).sum(axis=1).min() > 700


@pytest.mark.parametrize("expression, expect, top", [
    ("rank(-cap)", FAIL, "size"),                                   # the size factor itself
    ("rank(equity / cap) + rank(-cap)", FAIL, None),                # two factors at once
    ("ts_std_dev(-ts_rank(cap, 120) / cap, 120)", FAIL, "size"),    # a mined alpha that is a small-cap tilt
    ("rank(-ts_delta(close, 5))", PASS, None),                      # short-term reversal: not a style factor here
])
def test_factor_bets_fail_and_reversal_passes_on_the_real_panel(real_panel, styles, expression, expect, top):
    pnl, dates = simulate(expression, real_panel).period_pnl("is")
    check = factor_exposure(pnl, dates, styles)
    assert check.result == expect, check
    if expect == FAIL:
        assert check.value >= 0.7 and "style-factor bet" in check.message
        if top:
            assert check.message.split("loadings ")[1].startswith(top)
    else:
        assert check.value < 0.5


def test_checklist_carries_the_row_after_crowding_and_pending_does_not_block(real_panel, styles):
    assert CHECK_ORDER.index("FACTOR_EXPOSURE") == CHECK_ORDER.index("CROWDING") + 1
    row = {"is_sharpe": 2.0, "is_fitness": 1.5, "is_turnover": 0.2, "is_max_weight": 0.02,
           "is_sub_universe_sharpe": 1.5, "is_min_coverage": 400.0}
    pnl, dates = simulate("rank(-cap)", real_panel).period_pnl("is")
    limits = GateLimits(factor_max=0.99999)
    checks = alpha_checklist(row, SimSettings(), pnl=pnl, dates=dates, limits=limits,
                             factor=factor_exposure(pnl, dates, styles, limits.factor_max))
    got = {c.name: c for c in checks}["FACTOR_EXPOSURE"]
    assert got.limit == 0.99999 and got.result == FAIL
    pending = {c.name: c for c in alpha_checklist(row, SimSettings(), pnl=pnl, dates=dates)}["FACTOR_EXPOSURE"]
    assert pending.result == PENDING and pending.limit == 0.7


def test_neutral_expression_removes_every_descriptor_jointly(real_panel):
    """On each day, the factor-neutralized raw alpha is (nearly) uncorrelated with every descriptor at once (the
    basis is orthogonal, so the nested vector_neut calls are one joint projection)."""
    from alpha_core.gate.factors import NEUTRAL_DESCRIPTORS, factor_neutral_expression
    from alpha_core.sim.simulate import raw_alpha

    def cosine(a, b):
        ok = np.isfinite(a) & np.isfinite(b)
        assert ok.sum() > 300
        return abs(np.corrcoef(a[ok], b[ok])[0, 1])     # cross-sectional: the neutralization demeans later

    text = "rank(-ts_delta(close, 5)) + rank(-cap)"
    before = np.asarray(raw_alpha(text, real_panel)[1], dtype=np.float64)
    x = np.asarray(raw_alpha(factor_neutral_expression(text), real_panel)[1], dtype=np.float64)
    size = np.asarray(raw_alpha(NEUTRAL_DESCRIPTORS[0][1], real_panel)[1], dtype=np.float64)
    for t in (400, 700, 900):
        assert cosine(before[t], size[t]) > 0.4        # a size bet before
        for name, descriptor in NEUTRAL_DESCRIPTORS:
            d = np.asarray(raw_alpha(descriptor, real_panel)[1], dtype=np.float64)[t]
            # ~0, not exactly 0: each vector_neut works over the names valid in both, which differ a little
            # between descriptors (momentum needs a year of history)
            assert cosine(x[t], d) < 0.03, (name, t)


@pytest.mark.parametrize("expression, expect", [
    ("rank(-cap)", FAIL),                                                    # pure size
    ("ts_std_dev(-ts_rank(cap, 120) / cap, 120)", FAIL),                     # a mined small-cap tilt
    ("rank(-ts_zscore(close, 5)) * rank(volume / rank(adv20))", PASS),       # volume-conditioned reversal
])
def test_factor_neutral_sharpe_on_the_real_panel(real_panel, expression, expect):
    from alpha_core.gate.factors import factor_neutral
    from alpha_core.gen.templates import settings_for
    from alpha_core.sim.simulate import registry_for, simulate_one

    settings = settings_for({"decay": 16})
    reg = registry_for(real_panel)
    plain = simulate_one(expression, real_panel, settings, reg).result.is_["sharpe"]
    check = factor_neutral(expression, real_panel, settings, 1.25)
    assert check.name == "FACTOR_NEUTRAL_SHARPE" and check.result == expect, check
    assert plain >= 1.25 and check.value < plain        # each passes LOW_SHARPE before; neutralizing costs sharpe
    if expect == FAIL:
        assert "style premium" in check.message


def test_factor_neutral_failure_is_a_fail_with_the_reason_never_an_exception(real_panel):
    from alpha_core.gate.factors import factor_neutral, factor_neutral_check

    check = factor_neutral("no_such_field + 1", real_panel, SimSettings(), 1.25)
    assert check.result == FAIL and check.value is None and "no IS sharpe" in check.message
    assert factor_neutral_check(float("nan"), 1.25).result == FAIL
    assert factor_neutral_check(1.25, 1.25).result == PASS


def test_factor_neutral_is_pending_on_a_short_panel():
    from alpha_core.data.synthetic import synthetic_panel
    from alpha_core.gate.factors import factor_neutral

    panel = synthetic_panel(300, 60, 1)      # 240 IS days: momentum (252 days of history) never exists
    check = factor_neutral("rank(-ts_delta(close, 5))", panel, SimSettings(), 1.25)
    assert check.result == PENDING and "cover 0 IS days" in check.message


def test_factor_neutral_is_pending_on_a_panel_without_the_descriptor_fields():
    from alpha_core.data.panel import Panel
    from alpha_core.gate.factors import factor_neutral

    dates = np.arange(np.datetime64("2015-01-01"), np.datetime64("2015-01-01") + 40)
    rng = np.random.default_rng(5)
    panel = Panel.from_arrays(dates, [f"T{i}" for i in range(8)],
                              {"close": rng.uniform(10, 20, (40, 8)), "volume": rng.uniform(1e5, 1e6, (40, 8))},
                              label="SYNTHETIC test panel")
    check = factor_neutral("rank(-ts_delta(close, 5))", panel, SimSettings(), 1.25)
    assert check.result == PENDING and "cap, returns, adv20, market" in check.message


@pytest.mark.parametrize("expression, settings", [
    ("rank(-ts_zscore(close, 5)) * rank(volume / rank(adv20))", {"decay": 16, "neutralization": "SUBINDUSTRY"}),
    ("-ts_std_dev(cap, 10)", {"universe": "TOP200", "decay": 4, "truncation": 0.01}),
])
def test_factor_neutral_fast_path_equals_the_plain_expression(real_panel, expression, settings):
    """The basis read as precomputed fields gives the IS daily PnL of simulating the plain text, bit for bit."""
    from alpha_core.gate.factors import BASIS_FIELDS, _basis_panel, factor_neutral, factor_neutral_expression
    from alpha_core.sim.simulate import registry_for, simulate_one

    s = SimSettings(**settings)
    plain = simulate_one(factor_neutral_expression(expression), real_panel, s, registry_for(real_panel)).result
    check = factor_neutral(expression, real_panel, s, 1.25)
    assert check.value == plain.is_["sharpe"]
    derived, reg, covered = _basis_panel(real_panel, s)
    assert 700 < covered < 1007           # momentum's first year is missing
    fast = simulate_one(factor_neutral_expression(expression, BASIS_FIELDS), derived, s, reg).result
    a, b = plain.period_pnl("is")[0], fast.period_pnl("is")[0]
    assert np.array_equal(a, b, equal_nan=True)


def test_factor_neutral_runs_only_when_nothing_else_fails(real_panel):
    from alpha_core.gate.factors import with_factor_neutral

    row = {"is_sharpe": 2.0, "is_fitness": 1.5, "is_turnover": 0.2, "is_max_weight": 0.02,
           "is_sub_universe_sharpe": 1.5, "is_min_coverage": 400.0}
    pnl, dates = simulate("rank(-cap)", real_panel).period_pnl("is")
    checks = alpha_checklist(row, SimSettings(), pnl=pnl, dates=dates)
    done = {c.name: c for c in with_factor_neutral(checks, "rank(-cap)", real_panel, SimSettings())}
    assert done["FACTOR_NEUTRAL_SHARPE"].result == FAIL and done["FACTOR_NEUTRAL_SHARPE"].limit == 1.25
    failing = alpha_checklist({**row, "is_turnover": 0.001}, SimSettings(), pnl=pnl, dates=dates)
    assert with_factor_neutral(failing, "rank(-cap)", real_panel, SimSettings()) is failing
