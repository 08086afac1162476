"""The real S&P 500 panel: every PROVENANCE.md defect pinned, the fundamental lag checked by hand against
nyse_fundamentals.csv, groups, registry coverage and cache speed (SIMULATION.md §2); excerpts of the real
files (first lines, in tmp_path) damaged in their own format; the real cache damaged."""
from __future__ import annotations

import gzip
import logging
import shutil
import time

import numpy as np
import pytest

from alpha_core.data.cache import cache_folder
from alpha_core.data.loader import DataFileError, load_panel
from alpha_core.data.registry import default_registry

pytestmark = pytest.mark.real_data


def at(p, ticker, day):
    return int(np.searchsorted(p.dates, np.datetime64(day, "D"))), p.tickers.index(ticker)


def value(p, field, ticker, day):
    t, n = at(p, ticker, day)
    assert p.dates[t] == np.datetime64(day, "D"), f"{day} is not a trading day"
    return p[field][t, n]


def test_axes(real_panel):
    p = real_panel
    assert (p.T, p.N) == (1259, 505)
    assert p.dates[0] == np.datetime64("2013-02-08") and p.dates[-1] == np.datetime64("2018-02-07")
    assert list(p.tickers) == sorted(p.tickers)
    assert "S&P 500" in p.label and "SYNTHETIC" not in p.label


def test_corporate_action_returns_are_nan(real_panel):
    p = real_panel
    for ticker, day, nxt in [("DISCA", "2014-08-07", "2014-08-08"), ("DISCK", "2014-08-07", "2014-08-08"),
                             ("BAX", "2015-07-01", "2015-07-02"), ("EBAY", "2015-07-20", "2015-07-21"),
                             ("NI", "2015-07-02", "2015-07-06")]:
        assert np.isnan(value(p, "returns", ticker, day)), (ticker, day)
        assert np.isfinite(value(p, "returns", ticker, nxt)), (ticker, nxt)
        assert np.isfinite(value(p, "close", ticker, day))  # prices are kept, only the return is void


def test_lnt_bad_print(real_panel):
    p = real_panel
    for field in ("open", "high", "low", "close", "vwap"):
        assert np.isnan(value(p, field, "LNT", "2016-05-19")), field
    assert value(p, "volume", "LNT", "2016-05-19") > 0
    assert np.isnan(value(p, "returns", "LNT", "2016-05-19"))
    assert np.isnan(value(p, "returns", "LNT", "2016-05-20"))
    assert value(p, "close", "LNT", "2016-05-20") == 35.91
    assert np.isfinite(value(p, "returns", "LNT", "2016-05-23"))


def test_only_genuine_big_moves_remain(real_panel):
    p = real_panel
    with np.errstate(invalid="ignore"):
        big = np.argwhere(np.abs(p["returns"]) > 0.5)
    found = sorted((p.tickers[n], str(p.dates[t])) for t, n in big)
    # VRTX +62% (PROVENANCE: genuine) and AMD +52% on its 2016-04-22 earnings (genuine; ratio > 0.6 rule)
    assert found == [("AMD", "2016-04-22"), ("VRTX", "2013-04-19")]
    assert value(p, "returns", "VRTX", "2013-04-19") == pytest.approx(85.6 / 52.87 - 1)


def test_late_starts_and_gaps(real_panel):
    p = real_panel
    valid = ~np.isnan(p["volume"])  # a row exists (close is NaN on the LNT bad print)
    late = sorted(p.tickers[n] for n in np.where(~valid[0])[0])
    assert len(late) == 29 and {"PYPL", "KHC", "HPE", "APTV", "GOOG"} <= set(late)
    n = p.tickers.index("APTV")
    assert valid[:, n].sum() == 44 and p.dates[valid[:, n].argmax()] == np.datetime64("2017-12-05")
    assert p.dates[valid[:, p.tickers.index("GOOG")].argmax()] == np.datetime64("2014-03-27")
    missing = {t: int(p.T - valid[valid[:, i].argmax():, i].sum() - valid[:, i].argmax())
               for i, t in enumerate(p.tickers)}
    gaps = {t: m for t, m in missing.items() if m}
    assert gaps == {"DHR": 16, "O": 16, "ES": 10, "ICE": 5, "BMY": 2, "ORCL": 2}
    t0, t1 = at(p, "DHR", "2015-03-09")[0], at(p, "DHR", "2015-03-20")[0]
    assert not valid[t0:t1 + 1, p.tickers.index("DHR")].any() and t1 - t0 + 1 == 10
    assert np.isnan(value(p, "returns", "DHR", "2015-03-23"))  # previous row missing
    assert valid.sum(axis=1).min() == 472


def test_blank_opens_stay_nan(real_panel):
    p = real_panel
    present = ~np.isnan(p["volume"])
    blank_open = np.isnan(p["open"]) & present
    assert blank_open.sum() == 12  # 11 blank in the file + the LNT bad print
    blank_hl = np.isnan(p["high"]) & present
    assert blank_hl.sum() == 9    # 8 blank in the file + LNT
    assert np.isnan(value(p, "open", "BHF", "2017-07-26")) and value(p, "close", "BHF", "2017-07-26") == 69.0842
    assert np.isnan(value(p, "vwap", "BHF", "2017-07-26"))


def test_inconsistent_bars_are_kept(real_panel):
    """PROVENANCE: 12 rows with open or close outside [low, high]; one is the LNT bad print (blanked), the
    other 11 are kept as printed (they are small inconsistencies, not wrong prices)."""
    p = real_panel
    o, h, lo, c = p["open"], p["high"], p["low"], p["close"]
    with np.errstate(invalid="ignore"):
        bad = (o < lo) | (o > h) | (c < lo) | (c > h)
    assert bad.sum() == 11
    assert bad[at(p, "UA", "2016-06-10")] and bad[at(p, "AOS", "2014-05-19")]


def test_derived_price_fields(real_panel):
    p = real_panel
    assert value(p, "vwap", "AAL", "2013-02-08") == pytest.approx((15.12 + 14.63 + 14.75) / 3)
    n = p.tickers.index("AAL")
    vol = p["volume"][:, n]
    assert np.isnan(p["adv20"][18, n]) and p["adv20"][19, n] == pytest.approx(vol[:20].mean())
    assert value(p, "volume", "AAL", "2013-02-11") == 8882000


def test_fundamental_lag_by_hand(real_panel):
    """AAL rows of nyse_fundamentals.csv (read by hand): 2012: shares 335,000,000, EPS -5.6, revenue
    24,855,000,000, cash 1,330,000,000, LTD 7,116,000,000, STD 1,419,000,000, capex -1,888,000,000,
    treasury stock -367,000,000; 2013 revenue 26,743,000,000; 2015 shares 668,129,938.5."""
    p = real_panel
    # FY2012: 2012-12-31 + 90 days = 2013-03-31 (Sunday) -> first trading day 2013-04-01
    assert np.isnan(value(p, "sharesout", "AAL", "2013-03-28"))
    assert value(p, "sharesout", "AAL", "2013-04-01") == 335.0
    assert value(p, "eps", "AAL", "2013-04-01") == -5.6
    assert value(p, "capex", "AAL", "2013-04-01") == 1888.0
    assert value(p, "fnd6_newa2v1300_tstk", "AAL", "2013-04-01") == 367.0
    assert value(p, "debt", "AAL", "2013-04-01") == 8535.0
    close = value(p, "close", "AAL", "2013-04-01")
    assert value(p, "cap", "AAL", "2013-04-01") == pytest.approx(close * 335.0)
    assert value(p, "enterprise_value", "AAL", "2013-04-01") == pytest.approx(close * 335.0 + 8535.0 - 1330.0)
    # FY2013 replaces it on 2014-03-31 (a Monday)
    assert value(p, "revenue", "AAL", "2014-03-28") == 24855.0
    assert value(p, "sales_growth", "AAL", "2014-03-31") == pytest.approx(26743 / 24855 - 1)
    # FY2015 (last row) from 2016-03-30 (leap year), usable while < 455 days: until 2017-06-27
    assert value(p, "sharesout", "AAL", "2016-03-30") == pytest.approx(668.1299385)
    assert value(p, "sharesout", "AAL", "2017-06-27") == pytest.approx(668.1299385)
    assert np.isnan(value(p, "sharesout", "AAL", "2017-06-28"))


def test_fundamental_blank_replaces_and_duplicates_keep_last(real_panel):
    p = real_panel
    # AXP FY2013 EPS 4.91; FY2014 row has a blank EPS and replaces it on 2015-03-31
    assert value(p, "eps", "AXP", "2015-03-30") == 4.91
    assert np.isnan(value(p, "eps", "AXP", "2015-03-31"))
    # SNA has two "2016" rows; the last (revenue 3,711,800,000, blank EPS) wins from 2017-03-31
    assert value(p, "revenue", "SNA", "2017-03-31") == 3711.8
    assert np.isnan(value(p, "eps", "SNA", "2017-03-31"))
    assert value(p, "eps", "SNA", "2017-03-30") == 7.26


def test_no_fundamental_before_first_availability(real_panel):
    p = real_panel
    first = int(np.searchsorted(p.dates, np.datetime64("2013-04-01")))
    for field in ("sharesout", "eps", "assets", "revenue", "cap"):
        assert np.isnan(p[field][:first]).all(), field
    assert (~np.isnan(p["sharesout"][first])).sum() > 100


def test_groups(real_panel):
    p = real_panel
    sector = p["sector"][0]
    assert len(np.unique(sector)) == 11 and not np.isnan(sector).any()
    assert sector[p.tickers.index("AAL")] == 5.0  # Industrials, 6th of the sorted sector names
    for g in ("industry", "subindustry"):
        row = p[g][0]
        assert sorted(p.tickers[n] for n in np.where(np.isnan(row))[0]) == ["ANDV", "BHF", "BHGE", "DRE", "DWDP", "INFO"]
        assert (p[g] == p[g][0]).sum() == p.T * (~np.isnan(row)).sum()  # constant over time
    assert np.nanmax(p["industry"]) == 61 and np.nanmax(p["subindustry"]) == 127
    assert (p["market"] == 0).all() and (p["country"] == 0).all() and (p["currency"] == 0).all()


def test_every_local_registry_field_is_provided(real_panel):
    registry = default_registry()
    local = {f.id for f in registry if f.local_source and f.kind != "SYMBOL"}
    assert local == set(real_panel.field_names())
    assert {"sector", "industry", "subindustry", "market", "country", "currency"} == real_panel.group_fields


def test_cache_warm_load_is_fast(real_dir, real_cache, real_panel):
    t0 = time.perf_counter()
    warm = load_panel(real_dir, real_cache)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"warm load took {elapsed:.3f}s"
    for f in ("close", "returns", "sector", "sharesout", "enterprise_value"):
        assert np.array_equal(warm[f], real_panel[f], equal_nan=True), f


# ---- damage to the real files' formats and to the real cache ------------------------------------------
EXCERPT = {"all_stocks_5yr.csv.gz": 40, "sector_map_505.csv": 12, "nyse_fundamentals.csv": 12}


def _excerpt(real_dir, folder, edit=None):
    """The first lines of each real file, byte for byte (CRLF and quoting kept), in ``folder`` (under
    tmp_path); ``edit`` maps one file name to a function of its list of lines (each with its line end)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in EXCERPT.items():
        raw = (real_dir / name).read_bytes()
        raw = gzip.decompress(raw) if name.endswith(".gz") else raw
        lines = raw.splitlines(keepends=True)[:n]
        if edit and name in edit:
            lines = edit[name](lines)
        body = b"".join(lines)
        (folder / name).write_bytes(gzip.compress(body) if name.endswith(".gz") else body)
    return folder


def test_real_excerpt_loads(real_dir, tmp_path):
    p = load_panel(_excerpt(real_dir, tmp_path / "d"), use_cache=False)
    assert p.tickers == ("AAL",) and p.T == 39 and p["close"][0, 0] == 14.75


def _cut_fields(line: bytes, keep: int) -> bytes:
    end = line[len(line.rstrip(b"\r\n")):]
    return b",".join(line.rstrip(b"\r\n").split(b",")[:keep]) + end


def _set_field(line: bytes, i: int, value: bytes) -> bytes:
    parts = line.split(b",")
    parts[i] = value
    return b",".join(parts)


@pytest.mark.parametrize("name, edit, line, message", [
    ("all_stocks_5yr.csv.gz", lambda ls: ls[:-1] + [ls[-1][:-6]], 40, "the last line has no line end"),
    ("all_stocks_5yr.csv.gz", lambda ls: ls[:2] + [_cut_fields(ls[2], 5)] + ls[3:], 3,
     "5 field\\(s\\) where the header has 7: the row is cut short"),
    ("all_stocks_5yr.csv.gz", lambda ls: ls + [b"2099-01-01,15.0,15.1,14.9,15.0,8000000,AAL\n"], 41,
     "date 2099-01-01 is outside the documented range"),
    ("all_stocks_5yr.csv.gz", lambda ls: ls[:5] + [_set_field(ls[5], 4, b"nan")] + ls[6:], 6,
     "column 'close' has a value that is not a finite number: 'nan'"),
    ("all_stocks_5yr.csv.gz", lambda ls: ls[:5] + [_set_field(ls[5], 1, b"inf")] + ls[6:], 6,
     "column 'open' has a value that is not a finite number: 'inf'"),
    ("sector_map_505.csv", lambda ls: ls[:-1] + [ls[-1][:-9]], 12, "the last line has no line end"),
    ("sector_map_505.csv", lambda ls: ls[:3] + [_cut_fields(ls[3], 3)] + ls[4:], 4, "the row is cut short"),
    ("nyse_fundamentals.csv", lambda ls: ls[:-1] + [ls[-1][: len(ls[-1]) // 2]], 12, "the last line has no line end"),
    ("nyse_fundamentals.csv", lambda ls: ls[:3] + [_cut_fields(ls[3], 40)] + ls[4:], 4,
     "40 field\\(s\\) where the header has 79"),
])
def test_real_format_damage_names_file_and_line(real_dir, tmp_path, name, edit, line, message):
    folder = _excerpt(real_dir, tmp_path / "d", {name: edit})
    with pytest.raises(DataFileError, match=message) as info:
        load_panel(folder, use_cache=False)
    assert (info.value.path, info.value.line) == (str(folder / name), line)


def test_real_cache_with_open_copied_over_close_is_rebuilt(real_dir, real_cache, real_panel, tmp_path, caplog):
    """The issue's case: open.npy copied over close.npy (same shape and dtype) changed the metrics silently."""
    cache = tmp_path / "cache"
    shutil.copytree(cache_folder(real_cache, real_dir), cache_folder(cache, real_dir))
    folder = cache_folder(cache, real_dir)
    shutil.copyfile(folder / "open.npy", folder / "close.npy")
    with caplog.at_level(logging.WARNING, logger="alpha_core.data"):
        p = load_panel(real_dir, cache)
    assert len(caplog.records) == 1 and "close.npy does not match its checksum" in caplog.records[0].getMessage()
    for f in ("close", "returns", "open"):
        assert np.array_equal(p[f], real_panel[f], equal_nan=True), f
