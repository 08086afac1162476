"""synthetic_panel: labelled, deterministic, same derived-field semantics as the real loader, scale."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from alpha_core.data.synthetic import synthetic_panel


@pytest.fixture(scope="module")
def syn():
    return synthetic_panel(300, 80, seed=3)


def test_label_axes_and_fields(syn):
    assert syn.label.startswith("SYNTHETIC") and (syn.T, syn.N) == (300, 80)
    assert list(syn.tickers) == sorted(syn.tickers) and syn.dates.dtype == np.dtype("datetime64[D]")
    assert (np.diff(syn.dates.astype(int)) > 0).all() and np.is_busday(syn.dates).all()
    for f in ("open", "high", "low", "close", "volume", "returns", "vwap", "adv20", "cap", "sharesout",
              "sector", "industry", "subindustry", "market", "eps", "assets", "sales", "enterprise_value"):
        assert syn.has(f), f
        assert syn[f].shape == (300, 80) and syn[f].dtype == np.float64


def test_deterministic_in_seed():
    a, b, c = synthetic_panel(50, 10, seed=1), synthetic_panel(50, 10, seed=1), synthetic_panel(50, 10, seed=2)
    assert np.array_equal(a["close"], b["close"], equal_nan=True)
    assert np.array_equal(a["eps"], b["eps"], equal_nan=True)
    assert not np.array_equal(a["close"], c["close"], equal_nan=True)


def test_derived_fields_follow_fastexpr_semantics(syn):
    close, vol = syn["close"], syn["volume"]
    with np.errstate(invalid="ignore"):
        expect = close[1:] / close[:-1] - 1
    assert np.array_equal(syn["returns"][1:], expect, equal_nan=True) and np.isnan(syn["returns"][0]).all()
    assert np.allclose(syn["vwap"], (syn["high"] + syn["low"] + close) / 3, equal_nan=True)
    n = int(np.where(~np.isnan(vol).any(axis=0))[0][0])  # an instrument with no hole
    assert np.isnan(syn["adv20"][18, n]) and syn["adv20"][19, n] == pytest.approx(vol[:20, n].mean())
    # strict window: a NaN volume voids the next 20 rows of adv20
    t, m = np.argwhere(np.isnan(vol[1:]) & ~np.isnan(vol[:-1]))[0]
    assert np.isnan(syn["adv20"][t + 1:t + 21, m]).all()
    assert np.allclose(syn["cap"], close * syn["sharesout"], equal_nan=True)
    ev = syn["cap"] + syn["debt"] - syn["cash"]
    assert np.array_equal(syn["enterprise_value"], ev, equal_nan=True)


def test_prices_are_coherent(syn):
    ok = ~np.isnan(syn["open"]) & ~np.isnan(syn["close"])
    assert (syn["high"][ok] >= np.maximum(syn["open"], syn["close"])[ok]).all()
    assert (syn["low"][ok] <= np.minimum(syn["open"], syn["close"])[ok]).all()
    assert (syn["volume"][~np.isnan(syn["volume"])] > 0).all()


def test_missing_data_like_the_real_panel(syn):
    close = syn["close"]
    assert np.isnan(close[0]).sum() >= 1                       # late starts
    present = ~np.isnan(close)
    first = present.argmax(axis=0)
    inside = sum(int((~present[first[n]:, n]).sum()) for n in range(syn.N))
    assert inside >= 1                                         # gaps after the start
    assert (np.isnan(syn["open"]) & present).sum() >= 1        # blank opens


def test_groups_are_nested_and_constant(syn):
    sec, ind, sub = syn["sector"][0], syn["industry"][0], syn["subindustry"][0]
    assert (syn["sector"] == sec).all() and (syn["market"] == 0).all()
    ok = ~np.isnan(sub)
    assert np.array_equal(np.isnan(ind), ~ok)
    for s in np.unique(sub[ok]):  # one sub-industry -> one industry -> one sector
        assert len(np.unique(ind[sub == s])) == 1 and len(np.unique(sec[sub == s])) == 1
    assert syn.group_fields >= {"sector", "industry", "subindustry", "market", "country", "currency"}


def test_fundamentals_step_annually(syn):
    sh = syn["sharesout"]
    for n in range(syn.N):
        valid = np.flatnonzero(~np.isnan(sh[:, n]))
        assert valid.size and valid[0] < 252 and valid[-1] == syn.T - 1  # first row within a year, then kept
        with np.errstate(invalid="ignore"):
            change = np.flatnonzero(sh[1:, n] != sh[:-1, n]) + 1
        change = change[change > valid[0]]
        assert change.size == (syn.T - 1 - valid[0]) // 252       # one new value per 252 rows
        assert ((change - valid[0]) % 252 == 0).all()


@pytest.mark.slow
def test_scale_2520_by_3000():
    """Build 2,520 x 3,000 and touch the common fields in a child process: time and peak RSS."""
    code = ("import time; t0 = time.perf_counter()\n"
            "from alpha_core.data.synthetic import synthetic_panel\n"
            "p = synthetic_panel(2520, 3000)\n"
            "t1 = time.perf_counter()\n"
            "_ = [p[f] for f in ('returns', 'adv20', 'cap', 'sector', 'industry', 'eps')]\n"
            "print(t1 - t0, time.perf_counter() - t0, p.T, p.N)\n")
    # the child's own peak: VmHWM belongs to its address space (ru_maxrss is inherited from the forking pytest
    # process, which in the full suite is itself past 2 GB)
    code += "print([int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    build, total, T, N = float(out[0]), float(out[1]), int(out[2]), int(out[3])
    peak = int(out[4]) * 1024  # kB
    print(f"synthetic 2520x3000: build {build:.2f}s, with 6 lazy fields {total:.2f}s, peak RSS {peak / 1e9:.2f} GB")
    assert (T, N) == (2520, 3000)
    assert build < 10.0 and total < 20.0
    assert peak < 2 * 1024**3
