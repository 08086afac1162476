"""TOPn universe (SIMULATION.md §2, worked example S6)."""
import os
from pathlib import Path

import numpy as np
import pytest

from alpha_core.sim.universe import next_universe_mask, panel_universe, universe_mask, universe_size


def _dv_panel(T=25, N=4):
    """close = 1, volume = dollar volume, so close*volume is what we write."""
    return np.ones((T, N)), np.zeros((T, N))


def test_ranks_by_mean_dollar_volume_of_the_previous_20_rows():
    T, N = 30, 4
    close = np.ones((T, N))
    volume = np.tile([1.0, 4.0, 3.0, 2.0], (T, 1))
    volume[25, 0] = 1000.0          # a spike on row 25 only matters from row 26 on
    u = universe_mask(close, volume, 2)
    assert u.shape == (T, N) and u.dtype == bool
    assert not u[:10].any()          # rows 0..9: fewer than 10 prior rows
    assert u[10].tolist() == [False, True, True, False]
    assert u[25].tolist() == [False, True, True, False]
    # row 26: mean of rows 6..25 for column 0 = (19*1 + 1000)/20 = 50.95 > 4
    assert u[26].tolist() == [True, True, False, False]
    # the spike leaves the window after row 45 would; still in at row 29
    assert u[29].tolist() == [True, True, False, False]


def test_ties_are_broken_by_ticker_order_and_nan_is_skipped():
    T, N = 22, 4
    close = np.ones((T, N))
    volume = np.full((T, N), 5.0)
    volume[::2, 3] = np.nan          # column 3: half the rows NaN, mean of the rest still 5
    u = universe_mask(close, volume, 3)
    assert u[21].tolist() == [True, True, True, False]
    volume[:, 0] = np.nan            # column 0 never qualifies
    u = universe_mask(close, volume, 3)
    assert u[21].tolist() == [False, True, True, True]


def test_at_least_ten_valid_values_in_the_window():
    T, N = 40, 2
    close = np.ones((T, N))
    volume = np.ones((T, N))
    volume[:, 1] = np.nan
    volume[20:29, 1] = 9.0           # 9 valid values: rows 20..28
    assert not universe_mask(close, volume, 2)[:, 1].any()
    volume[29, 1] = 9.0              # 10th valid value on row 29 -> member from row 30
    u = universe_mask(close, volume, 2)
    assert not u[29, 1] and u[30, 1]


def test_next_universe_is_the_universe_shifted_by_one_row():
    rng = np.random.default_rng(3)
    close, volume = rng.lognormal(3, 1, (60, 30)), rng.lognormal(10, 1, (60, 30))
    close[rng.random((60, 30)) < 0.1] = np.nan
    u, ahead = universe_mask(close, volume, 10), next_universe_mask(close, volume, "TOP200")
    assert np.array_equal(u[1:], next_universe_mask(close, volume, 10)[:-1])
    assert ahead[-1].sum() == 30 and u[20:].sum(axis=1).tolist() == [10] * 40


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown universe"):
        universe_size("TOP7")
    with pytest.raises(ValueError, match="shape"):
        universe_mask(np.ones((3, 2)), np.ones((3, 3)), 1)


DATA = Path(os.environ.get("ALPHA_DATA_DIR", Path(__file__).resolve().parents[3].parent / "shared/data/sp500"))


@pytest.mark.real_data
@pytest.mark.skipif(not DATA.is_dir(), reason="real data folder absent")
def test_s6_first_universe_on_the_real_panel():
    from alpha_core.data.loader import load_panel
    panel = load_panel()
    u = panel_universe(panel, "TOP500")
    i22 = int(np.searchsorted(panel.dates, np.datetime64("2013-02-22")))
    assert i22 == 9 and not u[i22].any()                      # 10th date: fewer than 10 prior rows
    assert str(panel.dates[10]) == "2013-02-25"
    # 476 tickers have 10 valid rows by then (29 start late), so all of them are in
    full = (np.isfinite(panel["close"][:10] * panel["volume"][:10]).sum(axis=0) >= 10)
    assert u[10].sum() == full.sum() == 476 and np.array_equal(u[10], full)
    assert u[10:].sum(axis=1).min() == 476 and u[-1].sum() == 500
    assert panel_universe(panel, "TOP200")[10:].sum(axis=1).max() == 200
    assert not (panel_universe(panel, "TOP200") & ~u).any()  # TOP200 inside TOP500
