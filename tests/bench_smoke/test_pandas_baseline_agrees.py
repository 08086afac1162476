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


@pytest.fixture(scope="module")
def setup():
    panel = synthetic_panel(160, 260, seed=3)
    frames = frames_from_panel(panel, FIELDS)
    universe, u_next = universe_frames(frames["close"], frames["volume"], 200)
    return panel, frames, universe, u_next


@pytest.mark.parametrize("name", SMOKE_SUBSET)
def test_pandas_baseline_matches_simulator(setup, name):
    panel, frames, universe, u_next = setup
    case = by_name(name)
    settings = {"universe": "TOP200", **case.settings}
    _, ours = raw_alpha(case.expr, panel, settings)
    theirs = case.pandas(PandasOps(frames, u_next)).to_numpy()
    a, b = ours, theirs
    assert np.array_equal(np.isnan(a), np.isnan(b)), f"{name}: NaN patterns differ"
    assert np.isfinite(a).sum() > a.size // 2, f"{name}: too few values to compare"
    np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=1e-7, atol=1e-9)

    result = simulate(case.expr, panel, settings)
    groups = {g: frames[g] for g in ("sector", "industry", "subindustry")}
    ref = simulate_pandas(case.pandas(PandasOps(frames, u_next)), settings, universe, groups, frames["returns"])
    assert result.is_["sharpe"] == pytest.approx(ref["sharpe"], rel=1e-7, abs=1e-9)
