"""Smoke test of the benchmark: the pandas baseline (bench/pandas_baseline.py) and our simulator agree.

The baseline is an independent pandas implementation of FASTEXPR.md §6-§7 and SIMULATION.md §2-§5, so on a
small synthetic panel (universe TOP200 of 260 tickers, so pasteurization matters) both must give the same
raw alpha cell by cell (NaN where NaN) and the same IS sharpe, for one alpha per family (time series,
cross-sectional, group, trade_when, nested).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from expressions import SMOKE_SUBSET, by_name  # noqa: E402
from pandas_baseline import PandasOps, frames_from_panel, simulate_pandas, universe_frames  # noqa: E402

from alpha_core.data.synthetic import synthetic_panel  # noqa: E402
from alpha_core.sim.simulate import raw_alpha, simulate  # noqa: E402

FIELDS = ("open", "high", "low", "close", "volume", "vwap", "returns", "adv20", "sector", "industry", "subindustry")


def _setup(panel, size):
    frames = frames_from_panel(panel, FIELDS)
    universe, u_next = universe_frames(frames["close"], frames["volume"], size)
    return panel, frames, universe, u_next, size


@pytest.fixture(scope="module")
def setup():
    return _setup(synthetic_panel(160, 260, seed=3), 200)


@pytest.fixture(scope="module")
def real_setup(real_panel):
    return _setup(real_panel, 500)


@pytest.mark.parametrize("name", SMOKE_SUBSET)
def test_pandas_baseline_matches_simulator(setup, name):
    _assert_agree(setup, name)


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["reversal5", "mom_skip", "arg_spread", "resid_trend", "decay_dense", "backfill",
                                  "rank_close_off", "quantile_r", "grank_ind", "gz_sub", "gcount", "trade_exit",
                                  "a026", "vars", "gn_decay", "regr_z"])
def test_pandas_baseline_matches_simulator_on_the_real_panel(real_setup, name):
    """The same agreement on the real S&P 500 panel, TOP500 (cell by cell, then the IS sharpe)."""
    _assert_agree(real_setup, name)


def _assert_agree(setup, name):
    panel, frames, universe, u_next, size = setup
    case = by_name(name)
    settings = {"universe": f"TOP{size}", **case.settings}
    mask = None if settings.get("pasteurization") == "OFF" else u_next
    _, ours = raw_alpha(case.expr, panel, settings)
    theirs = case.pandas(PandasOps(frames, mask)).to_numpy()
    a, b = ours, theirs
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: NaN patterns differ"
    assert np.isfinite(a).sum() > a.size // 2, f"{name}: too few values to compare"
    np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=1e-7, atol=1e-9)

    result = simulate(case.expr, panel, settings)
    groups = {g: frames[g] for g in ("sector", "industry", "subindustry")}
    ref = simulate_pandas(case.pandas(PandasOps(frames, mask)), settings, universe, groups, frames["returns"])
    assert result.is_["sharpe"] == pytest.approx(ref["sharpe"], rel=1e-7, abs=1e-9)
