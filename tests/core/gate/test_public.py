"""CROWDING against the public-alpha library (alpha_core/gate/public.py, issue 13)."""
import logging
import weakref

import numpy as np
import pytest

from alpha_core.expr import lint
from alpha_core.gate import public
from alpha_core.gate.checks import FAIL, PASS, PENDING, self_correlation
from alpha_core.gate.public import PublicLibrary, crowding, crowding_matrix, public_library, read_public_alphas
from alpha_core.sim.simulate import registry_for


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("public-cache")


@pytest.fixture(scope="module")
def library(real_panel, library_dir):
    """Built into ``library_dir`` (an empty in-process memo first: another test module may have memoised the
    panel's library from the default cache folder)."""
    saved = public._MEMO
    public._MEMO = weakref.WeakKeyDictionary()
    try:
        return public_library(real_panel, cache_dir=library_dir)
    finally:
        public._MEMO = saved


@pytest.fixture
def fresh_memo(monkeypatch):
    """An empty in-process memo, so a call must read the disk cache or simulate."""
    monkeypatch.setattr(public, "_MEMO", weakref.WeakKeyDictionary())


def _row(library, alpha_id):
    k = library.ids.index(alpha_id)
    keep = np.isfinite(library.pnl[k])
    return library.pnl[k][keep], library.dates[keep]


def _small_csv(path, rows):
    path.write_text("id,source,expression,note\n" + "".join(f'{i},test,"{e}",\n' for i, e in rows),
                    encoding="utf-8")
    return path


# ---- the CSV and the real library ---------------------------------------------------------------------
@pytest.mark.real_data
def test_every_public_alpha_lints_and_simulates(real_panel, library):
    alphas = read_public_alphas()
    registry = registry_for(real_panel)
    bad = {a.id: [d.code for d in r.errors] for a in alphas for r in [lint(a.expression, registry)] if not r.ok}
    assert bad == {}
    assert [f"alpha101_{i:03d}" for i in range(1, 102)] == [a.id for a in alphas if a.id.startswith("alpha101_")]
    assert all("paper: " in a.note for a in alphas if a.id.startswith("alpha101_"))
    assert sum(a.id.startswith("brain_ex_") for a in alphas) >= 20
    # every row simulated: nothing was left out, and each has a real IS PnL stream
    assert library.ids == tuple(a.id for a in alphas)
    assert library.expressions == tuple(a.expression for a in alphas)
    assert library.pnl.shape == (len(alphas), library.dates.size) and library.sharpe.shape == (len(alphas),)
    assert library.dates.size > 900 and library.dates[-1] < real_panel.dates[-1]   # IS only, OS held out
    assert (np.isfinite(library.pnl).sum(axis=1) >= 500).all()
    assert (np.nanstd(library.pnl, axis=1) > 0).all()
    assert np.isfinite(library.sharpe).all()


@pytest.mark.real_data
@pytest.mark.parametrize("alpha_id", ["alpha101_001", "alpha101_042", "alpha101_101", "brain_ex_01"])
def test_own_pnl_and_a_scaled_copy_fail(library, alpha_id):
    pnl, dates = _row(library, alpha_id)
    for scaled in (pnl, 2.0 * pnl):
        check, closest = crowding(scaled, dates, library)
        assert check.name == "CROWDING" and check.result == FAIL and check.limit == 0.7
        assert check.value == pytest.approx(1.0, abs=1e-9)
        assert alpha_id in check.message
        assert closest[0] == (alpha_id, pytest.approx(1.0, abs=1e-9))


@pytest.mark.real_data
def test_unrelated_pnl_passes_and_lists_the_closest(library):
    rng = np.random.default_rng(7)
    noise = rng.normal(0.0, 1e5, library.dates.size)
    check, closest = crowding(noise, library.dates, library)
    assert check.result == PASS and 0 < check.value < 0.2
    row = crowding_matrix([(noise, library.dates)], library)[0]
    assert library.ids[int(np.nanargmax(row))] in check.message
    assert len(closest) == public.TOP_CLOSEST
    assert [abs(c) for _, c in closest] == sorted((abs(c) for _, c in closest), reverse=True)
    assert abs(closest[0][1]) == np.nanmax(np.abs(row))


@pytest.mark.real_data
def test_crowding_matrix_is_the_batch_form(library):
    rng = np.random.default_rng(3)
    pnl42, dates42 = _row(library, "alpha101_042")
    pnls = [(pnl42, dates42), (rng.normal(size=library.dates.size), library.dates)]
    m = crowding_matrix(pnls, library)
    assert m.shape == (2, len(library.ids))
    for row, (pnl, dates) in zip(m, pnls):
        assert np.nanmax(row) == pytest.approx(crowding(pnl, dates, library)[0].value)
    assert m[0, library.ids.index("alpha101_042")] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="crowding: candidate 1"):
        crowding_matrix([(pnl42, dates42), (pnl42[:-1], dates42)], library)


# ---- the disk cache -------------------------------------------------------------------------------------
@pytest.mark.real_data
def test_second_build_reads_the_disk_cache(real_panel, library, library_dir, fresh_memo, monkeypatch,
                                           tmp_path):
    def no_simulation(*args, **kwargs):
        raise AssertionError("simulated instead of reading the cache")

    monkeypatch.setattr(public, "iter_simulate", no_simulation)
    again = public_library(real_panel, cache_dir=library_dir)
    assert again.ids == library.ids and again.expressions == library.expressions
    np.testing.assert_array_equal(again.dates, library.dates)
    np.testing.assert_array_equal(again.pnl, library.pnl)
    np.testing.assert_array_equal(again.sharpe, library.sharpe)
    monkeypatch.setattr(public, "_MEMO", weakref.WeakKeyDictionary())
    with pytest.raises(AssertionError, match="instead of reading"):   # an empty cache does simulate
        public_library(real_panel, cache_dir=tmp_path)


@pytest.mark.real_data
def test_cache_is_invalidated_by_csv_and_settings(real_panel, fresh_memo, monkeypatch, tmp_path):
    calls = []
    real = public.iter_simulate

    def counting(expressions, *args, **kwargs):
        calls.append(list(expressions))
        return real(calls[-1], *args, **kwargs)

    monkeypatch.setattr(public, "iter_simulate", counting)
    csv = _small_csv(tmp_path / "lib.csv", [("a", "rank(-ts_delta(close, 5))"), ("b", "-ts_zscore(close, 20)")])
    cache = tmp_path / "cache"
    first = public_library(real_panel, cache_dir=cache, csv_path=csv)
    assert first.ids == ("a", "b") and len(calls) == 1
    assert public_library(real_panel, cache_dir=cache, csv_path=csv) is first   # memoised
    monkeypatch.setattr(public, "_MEMO", weakref.WeakKeyDictionary())
    public_library(real_panel, cache_dir=cache, csv_path=csv)
    assert len(calls) == 1                                                       # read from disk
    _small_csv(csv, [("a", "rank(-ts_delta(close, 5))"), ("b", "-ts_zscore(close, 10)")])
    changed = public_library(real_panel, cache_dir=cache, csv_path=csv)
    assert len(calls) == 2 and not np.array_equal(changed.pnl[1], first.pnl[1], equal_nan=True)
    public_library(real_panel, {"decay": 3}, cache_dir=cache, csv_path=csv)
    assert len(calls) == 3
    assert len(list(cache.glob("public-alphas-*"))) == 3


@pytest.mark.real_data
def test_a_failing_public_alpha_is_left_out_with_a_warning(real_panel, fresh_memo, tmp_path, caplog):
    csv = _small_csv(tmp_path / "lib.csv", [("good", "rank(-returns)"), ("brain_only", "ts_kurtosis(close, 20)")])
    with caplog.at_level(logging.WARNING, logger="alpha_core.gate.public"):
        lib = public_library(real_panel, cache_dir=tmp_path / "cache", csv_path=csv)
    assert lib.ids == ("good",) and lib.pnl.shape[0] == 1
    assert any("brain_only" in r.getMessage() and "UNSUPPORTED_LOCAL" in r.getMessage() for r in caplog.records)


# ---- synthetic: CSV errors, the day window, too few days --------------------------------------------------
def test_bad_csv_is_named(tmp_path):
    dup = _small_csv(tmp_path / "dup.csv", [("x", "rank(close)"), ("x", "rank(open)")])
    with pytest.raises(ValueError, match=r"dup\.csv, line 3: id 'x' repeats"):
        read_public_alphas(dup)
    header = tmp_path / "header.csv"
    header.write_text("id,expression\nx,rank(close)\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header must be id,source,expression,note"):
        read_public_alphas(header)


def _synthetic_library(rng, days):
    dates = np.datetime64("2010-01-04") + np.arange(days)
    pnl = rng.normal(0.0, 1e5, (3, days))
    return PublicLibrary(("p0", "p1", "p2"), ("x", "y", "z"), dates, pnl, np.zeros(3))


@pytest.mark.parametrize("days", [600, 1300])
def test_window_rule_matches_self_correlation(days):
    """Each pair uses its last 1,008 common days, as SELF_CORRELATION: a candidate copying p0 only on its
    oldest days correlates with it only when those days fall inside the window."""
    rng = np.random.default_rng(days)
    lib = _synthetic_library(rng, days)
    cand = rng.normal(0.0, 1e5, days)
    cand[:days - 1008 if days > 1008 else days // 3] = lib.pnl[0, :days - 1008 if days > 1008 else days // 3]
    got = crowding_matrix([(cand, lib.dates)], lib)[0]
    ref = [self_correlation(cand, lib.dates, [(lib.pnl[k], lib.dates, 0.0)]).value for k in range(3)]
    np.testing.assert_allclose(got, ref)
    assert (abs(got[0]) < 0.15) == (days > 1008)


def test_too_few_common_days_is_pending():
    lib = _synthetic_library(np.random.default_rng(1), 200)
    check, closest = crowding(lib.pnl[0, :20], lib.dates[:20], lib)
    assert (check.result, check.value, closest) == (PENDING, None, [])
    with pytest.raises(ValueError, match="limit"):
        crowding(lib.pnl[0], lib.dates, lib, limit=float("nan"))
