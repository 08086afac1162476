"""The loader on tiny hand-written files: fields, lag rule, groups, DataFileError, cache behaviour."""
from __future__ import annotations

import gzip
import json
import logging
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


def _cut(line, fields):
    """``line`` keeping only its first ``fields`` fields (a row cut short on a field boundary)."""
    return ",".join(line.split(",")[:fields])


P, S, F = "all_stocks_5yr.csv.gz", "sector_map_505.csv", "nyse_fundamentals.csv"


# tiny_prices(): line 1 header, 2 AAA 03-26, 3 CCC 03-26, 4 AAA 03-27, 5 BBB 03-27, ...; 17 lines in all
# tiny_sectors(): line 1 header, 2 AAA, 3 BBB, 4 CCC (blank sub-industry), 5 ZZZ
# tiny_fundamentals(): line 1 header, 2 AAA 2012, 3 BBB 2013, 4 QQQ 2012
@pytest.mark.parametrize("which, edit, file, line, message", [
    ("prices", lambda ls: [ls[0].replace(",volume", "")] + [l.rsplit(",", 2)[0] + "," + l.rsplit(",", 1)[1]
                                                             for l in ls[1:]],
     P, 1, r"missing column\(s\) \['volume'\]"),
    ("prices", lambda ls: ls[:3] + [ls[3].replace(",12.0,", ",12.x,")] + ls[4:],
     P, 4, r"column 'high' has a value that is not a finite number: '12.x'"),
    ("prices", lambda ls: ls[:2] + ["2013-02-30,1,1,1,1,1,AAA"] + ls[2:], P, 3, "not a YYYY-MM-DD date"),
    ("prices", lambda ls: ls + [ls[1]], P, 18, "row for AAA on 2013-03-26 appears more than once"),
    ("prices", lambda ls: ls + ["2013-04-04,5,5,5,5,100,AAA"], P, None, r"undocumented \['AAA 2013-04-04'\]"),
    # dates outside the documented range 2013-02-08 .. 2018-02-07
    ("prices", lambda ls: ls + ["2099-01-01,10,11,9,10,100,AAA"], P, 18,
     r"date 2099-01-01 is outside the documented range 2013-02-08\.\.2018-02-07"),
    ("prices", lambda ls: ls[:1] + ["2013-02-07,10,11,9,10,100,AAA"] + ls[1:], P, 2, "outside the documented range"),
    # non-finite, non-positive and blank required prices
    ("prices", lambda ls: ls[:4] + [ls[4].replace(",22,20,21,", ",22,20,nan,")] + ls[5:], P, 5,
     r"column 'close' has a value that is not a finite number: 'nan'"),
    ("prices", lambda ls: ls[:1] + [ls[1].replace(",11.0,", ",inf,")] + ls[2:], P, 2, r"'high' .* 'inf'"),
    ("prices", lambda ls: ls[:5] + [ls[5].replace(",32,", ",-inf,")] + ls[6:], P, 6, r"'high' .* '-inf'"),
    ("prices", lambda ls: ls[:2] + [ls[2].replace(",700,", ",Infinity,")] + ls[3:], P, 3, r"'volume' .* 'Infinity'"),
    ("prices", lambda ls: ls[:4] + [ls[4].replace(",22,20,21,", ",22,20,0,")] + ls[5:], P, 5,
     "close 0 is not positive"),
    ("prices", lambda ls: ls[:1] + [ls[1].replace("2013-03-26,9.5,", "2013-03-26,-9.5,")] + ls[2:], P, 2,
     "open -9.5 is not positive"),
    ("prices", lambda ls: ls[:2] + [ls[2].replace(",700,", ",-700,")] + ls[3:], P, 3, "volume -700 is negative"),
    ("prices", lambda ls: ls[:4] + [ls[4].replace(",22,20,21,", ",22,20,,")] + ls[5:], P, 5, "column 'close' is blank"),
    # rows cut short, too long, blank
    ("prices", lambda ls: ls[:6] + [_cut(ls[6], 4)] + ls[7:], P, 7,
     "4 field\\(s\\) where the header has 7: the row is cut short"),
    ("prices", lambda ls: ls[:6] + [ls[6] + ",extra"] + ls[7:], P, 7, "8 fields where the header has 7"),
    ("prices", lambda ls: ls[:9] + [""] + ls[9:], P, 10, "1 field\\(s\\) where the header has 7"),
    ("sectors", lambda ls: [ls[0].replace("gics_sector", "sector")] + ls[1:], S, 1, "missing column"),
    ("sectors", lambda ls: ls + ["AAA,dup,Energy,"], S, 6, r"ticker AAA is listed more than once"),
    ("sectors", lambda ls: ls[:1] + ["AAA,A Co,Industrials,Basket Weaving"] + ls[2:], S, None,
     "'Basket Weaving' of sector 'Industrials' is not in the industry map"),
    ("sectors", lambda ls: ls[:3] + [_cut(ls[3], 2)] + ls[4:], S, 4, "2 field\\(s\\) where the header has 4"),
    ("sectors", lambda ls: ls[:2] + ["BBB,B Co,,Oil & Gas Drilling"] + ls[3:], S, 3, "column 'gics_sector' is blank"),
    ("sectors", lambda ls: ls[:2] + ['BBB,"B Co,Energy,Oil & Gas Drilling'] + ls[3:], S, 3,
     "a quoted field is not closed on its line"),
    ("fundamentals", lambda ls: ls[:2] + [ls[2].replace('"2013"', '"FY13"')] + ls[3:], F, 3,
     r"'Period Ending' must hold a fiscal year from 1900 to 2017 .*got 'FY13'"),
    ("fundamentals", lambda ls: ls[:2] + [ls[2].replace('"2013"', '"2099"')] + ls[3:], F, 3, r"got '2099'"),
    ("fundamentals", lambda ls: ls[:1] + [ls[1].replace('"1.25"', '"n/a"')] + ls[2:], F, 2,
     r"'Earnings Per Share' has a value that is not a finite number: 'n/a'"),
    ("fundamentals", lambda ls: ls[:1] + [ls[1].replace('"1.25"', '"inf"')] + ls[2:], F, 2,
     r"'Earnings Per Share' .* 'inf'"),
    ("fundamentals", lambda ls: ls[:3] + [ls[3].replace('"50000000"', '"NaN"')] + ls[4:], F, 4,
     r"'Total Revenue' .* 'NaN'"),
    ("fundamentals", lambda ls: [ls[0].replace('"Goodwill"', '"Goodwil"')] + ls[1:], F, 1,
     r"missing column\(s\) \['Goodwill'\]"),
    ("fundamentals", lambda ls: ls[:2] + [_cut(ls[2], 20)] + ls[3:], F, 3, "the row is cut short"),
    ("fundamentals", lambda ls: ls[:1] + [ls[1][:-1]] + ls[2:], F, 2,
     "a quoted field is not closed on its line"),
])
def test_malformed_files_raise_data_file_error(tmp_path, which, edit, file, line, message):
    base = {"prices": tiny_prices(), "sectors": tiny_sectors(), "fundamentals": tiny_fundamentals()}
    folder = _malformed(tmp_path / "bad", which, edit(base[which]))
    with pytest.raises(DataFileError, match=message) as info:
        load_panel(folder, tmp_path / "cache")
    assert info.value.path == str(folder / file) and info.value.line == line
    where = str(folder / file) + ("" if line is None else f", line {line}")
    assert str(info.value).startswith(where + ": ") and "\n" not in str(info.value)
    assert not (tmp_path / "cache").exists()  # nothing cached from bad data


@pytest.mark.parametrize("file", [P, S, F])
def test_file_cut_mid_line_is_rejected(tmp_path, file):
    """A file whose last line has no line end was cut, even where the cut falls on a field boundary."""
    folder = write_tiny(tmp_path / "d")
    path = folder / file
    text = gzip.decompress(path.read_bytes()).decode() if file == P else path.read_text()
    lines = text.splitlines()
    cut = "\n".join(lines[:-1] + [_cut(lines[-1], len(lines[0].split(",")) - 1)])  # one field short, no line end
    whole = "\n".join(lines[:-1] + [lines[-1][:-1] if file != F else lines[-1]])    # every field, no line end
    for body in (cut, whole):
        path.write_bytes(gzip.compress(body.encode()) if file == P else body.encode())
        with pytest.raises(DataFileError, match="the last line has no line end: the file looks cut") as info:
            load_panel(folder, use_cache=False)
        assert info.value.path == str(path) and info.value.line == len(lines)


def test_truncated_gzip_is_a_data_file_error(tmp_path):
    folder = write_tiny(tmp_path / "d")
    path = folder / P
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataFileError, match="cannot be decompressed .*the file looks cut or damaged"):
        load_panel(folder, use_cache=False)


def test_cli_answers_a_bad_data_file_in_one_line(tmp_path, monkeypatch):
    """``alpha simulate`` goes through ``load_panel_or_exit``: one line naming file and line, no traceback."""
    from alpha_core.cli import main

    lines = tiny_prices() + ["2099-01-01,10,11,9,10,100,AAA"]
    monkeypatch.setenv("ALPHA_DATA_DIR", str(write_tiny(tmp_path / "d", prices=lines)))
    monkeypatch.setenv("ALPHA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as info:
        main(["simulate", "rank(close)"])
    message = str(info.value.code)
    assert message == (f"alpha: {tmp_path / 'd' / P}, line 18: date 2099-01-01 is outside the documented range "
                       "2013-02-08..2018-02-07")


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


def _damage(folder, damage):
    close = folder / "close.npy"
    if damage == "zero_byte_npy":
        close.write_bytes(b"")
    elif damage == "truncated_npy":
        close.write_bytes(close.read_bytes()[: close.stat().st_size // 2])
    elif damage == "random_bytes":  # same size, valid header, garbage after it
        data = bytearray(close.read_bytes())
        data[200:] = np.random.default_rng(0).bytes(len(data) - 200)
        close.write_bytes(bytes(data))
    elif damage == "swapped_arrays":  # same shape and dtype, the other array's values
        close.write_bytes((folder / "open.npy").read_bytes())
    elif damage == "nan_filled":
        np.save(close, np.full(np.load(close).shape, np.nan))
    elif damage == "deleted_npy":
        (folder / "fund_index.npy").unlink()
    elif damage == "garbage_manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "manifest_not_an_object":
        (folder / "manifest.json").write_text("[1, 2]")
    elif damage == "deleted_manifest":
        (folder / "manifest.json").unlink()
    elif damage == "edited_manifest":  # valid JSON, a stored ticker renamed
        (folder / "manifest.json").write_text((folder / "manifest.json").read_text().replace('"AAA"', '"AAX"'))


@pytest.mark.parametrize("damage, file", [
    ("zero_byte_npy", "close.npy"), ("truncated_npy", "close.npy"), ("random_bytes", "close.npy"),
    ("swapped_arrays", "close.npy"), ("nan_filled", "close.npy"), ("deleted_npy", "fund_index.npy"),
    ("garbage_manifest", "manifest.json"), ("manifest_not_an_object", "manifest.json"),
    ("deleted_manifest", "manifest.json"), ("edited_manifest", "manifest.json"),
])
def test_damaged_cache_is_rebuilt_with_one_warning(tiny_dir, tmp_path, caplog, damage, file):
    cache = tmp_path / "cache"
    fresh = load_panel(tiny_dir, use_cache=False)
    load_panel(tiny_dir, cache)
    folder = cache_folder(cache, tiny_dir)
    _damage(folder, damage)
    with caplog.at_level(logging.INFO, logger="alpha_core.data"):
        _same(fresh, load_panel(tiny_dir, cache))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and file in warnings[0] and "rebuilding the cache" in warnings[0], warnings
    assert "\n" not in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="alpha_core.data"):
        warm = load_panel(tiny_dir, cache)  # the rebuilt cache is sound: read quietly, memory-mapped
    assert not caplog.records and isinstance(warm["close"].base, np.memmap)
    _same(fresh, warm)


def test_stale_loader_version_is_rebuilt_quietly(tiny_dir, tmp_path, caplog, monkeypatch):
    from alpha_core.data import loader

    cache = tmp_path / "cache"
    monkeypatch.setattr(loader, "LOADER_VERSION", "old")
    load_panel(tiny_dir, cache)
    monkeypatch.undo()
    with caplog.at_level(logging.INFO, logger="alpha_core.data"):
        _same(load_panel(tiny_dir, use_cache=False), load_panel(tiny_dir, cache))
    assert [r.levelno for r in caplog.records] == [logging.INFO] and "stale" in caplog.records[0].getMessage()
    manifest = json.loads((cache_folder(cache, tiny_dir) / "manifest.json").read_text())
    assert manifest["key"]["loader_version"] == loader.LOADER_VERSION


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
