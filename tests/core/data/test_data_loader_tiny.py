"""The loader on tiny hand-written files: fields, lag rule, groups, DataFileError, cache behaviour."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from alpha_core.data.cache import cache_folder
from alpha_core.data.loader import DataFileError, data_dir, load_panel

from data_tiny_files import tiny_fundamentals, tiny_prices, tiny_sectors, write_tiny

D = {d: i for i, d in enumerate(["2013-03-26", "2013-03-27", "2013-03-28", "2013-04-01", "2013-04-02", "2013-04-03"])}


def test_tiny_panel_prices_and_derived(tiny_dir, tmp_path):
    p = load_panel(tiny_dir, tmp_path / "cache")
    assert p.tickers == ("AAA", "BBB", "CCC") and p.T == 6
    a, b, c = 0, 1, 2
    assert np.isnan(p["close"][0, b]) and p["close"][1, b] == 21.0          # late start
    assert np.isnan(p["close"][D["2013-04-01"], c])                           # missing row
    assert np.isnan(p["open"][0, c]) and p["high"][0, c] == 31.0              # blank cell stays NaN
    assert p["returns"][1, a] == pytest.approx(11 / 10 - 1)
    assert np.isnan(p["returns"][0, a]) and np.isnan(p["returns"][1, b])
    assert np.isnan(p["returns"][D["2013-04-02"], c])                          # previous row missing
    assert p["vwap"][2, a] == pytest.approx((13 + 11 + 12) / 3)
    assert np.isnan(p["adv20"]).all()                                         # strict 20-day window


def test_tiny_fundamental_lag_and_units(tiny_dir, tmp_path):
    p = load_panel(tiny_dir, tmp_path / "cache")
    first = D["2013-04-01"]  # 2012-12-31 + 90 days = 2013-03-31 (a Sunday) -> first trading day 2013-04-01
    sh = p["sharesout"][:, 0]
    assert np.isnan(sh[:first]).all() and (sh[first:] == 2.0).all()
    assert p["revenue"][first, 0] == 50.0 and p["capex"][first, 0] == 2.5     # USD millions, sign flipped
    assert p["debt"][first, 0] == 3.5 and p["eps"][first, 0] == 1.25         # per share unchanged
    assert np.isnan(p["inventory_turnover"][first, 0])                        # zero inventory -> NaN
    assert np.isnan(p["bookvalue_ps"][first, 0])                              # blank equity -> NaN
    assert p["cap"][first, 0] == pytest.approx(13.0 * 2.0)
    assert p["enterprise_value"][first, 0] == pytest.approx(26.0 + 3.5 - 1.0)
    assert np.isnan(p["sharesout"][:, 1]).all()                               # FY2013 row: not before 2014


def test_tiny_groups(tiny_dir, tmp_path):
    p = load_panel(tiny_dir, tmp_path / "cache")
    # sectors present: Energy (BBB, CCC), Industrials (AAA) -> ids in sorted name order
    assert list(p["sector"][0]) == [1.0, 0.0, 0.0]
    assert list(p["industry"][3, :2]) == [1.0, 0.0] and np.isnan(p["industry"][3, 2])
    assert np.isnan(p["subindustry"][0, 2]) and (p["market"] == 0).all() and (p["currency"] == 0).all()
    assert p.group_fields == {"sector", "industry", "subindustry", "market", "country", "currency"}


def _malformed(folder, which, lines):
    kwargs = {"prices": tiny_prices(), "sectors": tiny_sectors(), "fundamentals": tiny_fundamentals()}
    kwargs[which] = lines
    return write_tiny(folder, **kwargs)


@pytest.mark.parametrize("which, edit, file, message", [
    ("prices", lambda ls: [ls[0].replace(",volume", "")] + [l.rsplit(",", 2)[0] + "," + l.rsplit(",", 1)[1]
                                                             for l in ls[1:]],
     "all_stocks_5yr.csv.gz", r"missing column\(s\) \['volume'\]"),
    ("prices", lambda ls: ls[:3] + [ls[3].replace(",12.0,", ",12.x,")] + ls[4:],
     "all_stocks_5yr.csv.gz", r"column 'high' has a value that is not a number \(line 4: '12.x'\)"),
    ("prices", lambda ls: ls[:2] + ["2013-02-30,1,1,1,1,1,AAA"] + ls[2:],
     "all_stocks_5yr.csv.gz", "not a YYYY-MM-DD date"),
    ("prices", lambda ls: ls + [ls[1]], "all_stocks_5yr.csv.gz", "row for AAA on 2013-03-26 appears more than once"),
    ("prices", lambda ls: ls + ["2013-04-04,5,5,5,5,100,AAA"], "all_stocks_5yr.csv.gz",
     r"undocumented \['AAA 2013-04-04'\]"),
    ("sectors", lambda ls: [ls[0].replace("gics_sector", "sector")] + ls[1:], "sector_map_505.csv",
     "missing column"),
    ("sectors", lambda ls: ls + ["AAA,dup,Energy,"], "sector_map_505.csv", r"listed more than once: \['AAA'\]"),
    ("sectors", lambda ls: ls[:1] + ["AAA,A Co,Industrials,Basket Weaving"] + ls[2:], "sector_map_505.csv",
     "'Basket Weaving' of sector 'Industrials' is not in the industry map"),
    ("fundamentals", lambda ls: ls[:2] + [ls[2].replace('"2013"', '"FY13"')] + ls[3:],
     "nyse_fundamentals.csv", r"'Period Ending' must hold a fiscal year, got 'FY13' at line 3"),
    ("fundamentals", lambda ls: ls[:1] + [ls[1].replace('"1.25"', '"n/a"')] + ls[2:],
     "nyse_fundamentals.csv", r"'Earnings Per Share' has a value that is not a number \(line 2: 'n/a'\)"),
    ("fundamentals", lambda ls: [ls[0].replace('"Goodwill"', '"Goodwil"')] + ls[1:],
     "nyse_fundamentals.csv", r"missing column\(s\) \['Goodwill'\]"),
])
def test_malformed_files_raise_data_file_error(tmp_path, which, edit, file, message):
    base = {"prices": tiny_prices(), "sectors": tiny_sectors(), "fundamentals": tiny_fundamentals()}
    folder = _malformed(tmp_path / "bad", which, edit(base[which]))
    with pytest.raises(DataFileError, match=message) as info:
        load_panel(folder, tmp_path / "cache")
    assert info.value.path == str(folder / file)
    assert str(folder / file) in str(info.value)


def test_missing_file_and_missing_folder(tmp_path):
    folder = write_tiny(tmp_path / "d")
    (folder / "nyse_fundamentals.csv").unlink()
    with pytest.raises(DataFileError, match="nyse_fundamentals.csv: file not found"):
        load_panel(folder, tmp_path / "cache")
    with pytest.raises(DataFileError, match="data folder not found"):
        load_panel(tmp_path / "nowhere", tmp_path / "cache")


def test_data_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHA_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.setenv("ALPHA_DATA_DIR", str(tmp_path / "absent"))
    with pytest.raises(DataFileError, match="ALPHA_DATA_DIR does not name a folder"):
        data_dir()


def test_duplicate_fundamental_row_keeps_last(tmp_path):
    extra = [("AAA", 2012, {"Estimated Shares Outstanding": "4000000"})]
    folder = write_tiny(tmp_path / "d", fundamentals=tiny_fundamentals(extra))
    p = load_panel(folder, use_cache=False)
    assert p["sharesout"][D["2013-04-01"], 0] == 4.0
    assert np.isnan(p["revenue"][D["2013-04-01"], 0])  # the kept row's blank stays blank


# ---- cache --------------------------------------------------------------------------------------------
def _same(p, q):
    for f in p.field_names():
        assert np.array_equal(p[f], q[f], equal_nan=True), f


def test_cache_warm_load_memory_maps(tiny_dir, tmp_path):
    cache = tmp_path / "cache"
    cold = load_panel(tiny_dir, cache)
    folder = cache_folder(cache, tiny_dir)
    assert (folder / "manifest.json").is_file() and (folder / "close.npy").is_file()
    warm = load_panel(tiny_dir, cache)
    assert isinstance(warm["close"].base, np.memmap) or isinstance(warm["close"], np.memmap)
    _same(cold, warm)


def test_stale_cache_is_rebuilt(tiny_dir, tmp_path):
    cache = tmp_path / "cache"
    load_panel(tiny_dir, cache)
    lines = tiny_prices()
    lines[1] = lines[1].replace(",10.0,", ",10.5,")  # AAA close on day 0: same size, new content
    write_tiny(tiny_dir, prices=lines)
    src = tiny_dir / "all_stocks_5yr.csv.gz"
    st = src.stat()
    os.utime(src, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert load_panel(tiny_dir, cache)["close"][0, 0] == 10.5


@pytest.mark.parametrize("damage", ["truncate_npy", "garbage_manifest", "delete_npy", "wrong_version"])
def test_corrupt_cache_is_rebuilt_silently(tiny_dir, tmp_path, damage):
    cache = tmp_path / "cache"
    cold = load_panel(tiny_dir, cache)
    folder = cache_folder(cache, tiny_dir)
    if damage == "truncate_npy":
        data = (folder / "close.npy").read_bytes()
        (folder / "close.npy").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "delete_npy":
        (folder / "fund_index.npy").unlink()
    else:
        m = json.loads((folder / "manifest.json").read_text())
        m["key"]["loader_version"] = "old"
        (folder / "manifest.json").write_text(json.dumps(m))
    _same(cold, load_panel(tiny_dir, cache))
    assert json.loads((folder / "manifest.json").read_text())["key"]["loader_version"] != "old"
    _same(cold, load_panel(tiny_dir, cache))


def test_unwritable_cache_still_loads(tiny_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    p = load_panel(tiny_dir, blocker)
    assert p["close"][0, 0] == 10.0


def test_documented_corporate_action_must_be_found(tmp_path):
    lines = ["date,open,high,low,close,volume,Name",
             "2014-08-06,80,81,79,80,100,DISCA", "2014-08-07,80,81,79,79,100,DISCA",
             "2014-08-06,80,81,79,80,100,DISCK", "2014-08-07,40,41,39,40,100,DISCK"]
    sectors = ["ticker,name,gics_sector,gics_sub_industry", "DISCA,D,Consumer Discretionary,Cable & Satellite"]
    folder = write_tiny(tmp_path / "d", prices=lines, sectors=sectors)
    with pytest.raises(DataFileError, match=r"undocumented \[\], not found \['DISCA 2014-08-07'\]"):
        load_panel(folder, use_cache=False)
    lines[2] = "2014-08-07,40,41,39,40,100,DISCA"
    p = load_panel(write_tiny(tmp_path / "d", prices=lines, sectors=sectors), use_cache=False)
    assert np.isnan(p["returns"][1]).all() and (p["close"][1] == 40).all()
    assert p["sector"][0, 0] == 0 and np.isnan(p["sector"][0, 1])  # DISCK absent from the map
