"""`alpha mine` at the command line: every flag validated in one line naming it (exit 2, no traceback), and a
failed Dagster step reported as its domain error (the file, field or expression), not Dagster's wrapper."""
import gzip
import subprocess
import sys

import pytest

from alpha_assets.mine import main
from tests.assets.conftest import ROOT

BAD_FLAGS = [
    (["--date", "2026-02-31"], "--date: '2026-02-31' is not a valid date (day is out of range for month)"),
    (["--date", "yesterday"], "--date: 'yesterday' is not a date; use YYYY-MM-DD"),
    (["--date", "20261121"], "--date: '20261121' is not a date; use YYYY-MM-DD"),
    (["--date", "2025-12-31"], "--date: 2025-12-31 is outside the mining days, 2026-01-01 to today"),
    (["--date", "2026-11-21", "--budget", "0"], "--budget: 0 is out of range; use 1 to 100000"),
    (["--date", "2026-11-21", "--budget", "-3"], "--budget: -3 is out of range; use 1 to 100000"),
    (["--date", "2026-11-21", "--budget", "99999999999999999999"],
     "--budget: 99999999999999999999 is out of range; use 1 to 100000"),
    (["--date", "2026-11-21", "--budget", "eight"], "--budget: 'eight' is not a whole number"),
    (["--date", "2026-11-21", "--n-fields", "0"], "--n-fields: 0 is out of range; use 1 to 100"),
    (["--date", "2026-11-21", "--fields", ""], "--fields: empty; give comma-separated field ids"),
    (["--date", "2026-11-21", "--fields", " , "], "--fields: empty; give comma-separated field ids"),
    (["--date", "2026-11-21", "--fields", "close,,volume"], "--fields: 'close,,volume' has an empty item"),
    (["--date", "2026-11-21", "--budget"], "error: argument --budget: expected one argument"),  # argparse: cli.OneLineParser
    (["--colour", "red"], "error: unrecognized arguments: --colour red"),
]


@pytest.mark.parametrize("argv, message", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_flag_is_one_line_naming_it(argv, message, home, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:                                   # argparse's own errors exit
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"alpha mine: {message}"), err
    assert not (home / "alpha.duckdb").exists()                 # rejected before anything ran


@pytest.mark.parametrize("var, value, message", [
    ("ALPHA_SEARCH_BUDGET", "0", "ALPHA_SEARCH_BUDGET: Input should be greater than or equal to 1 (got '0')"),
    ("ALPHA_DAY_BUDGET", "lots", "ALPHA_DAY_BUDGET: Input should be a valid integer"),
    ("ALPHA_SEARCH_MAX_SECONDS", "-1", "ALPHA_SEARCH_MAX_SECONDS: Input should be greater than 0"),
])
def test_bad_budget_setting_is_one_line_naming_the_variable(var, value, message, home, monkeypatch, capsys):
    monkeypatch.setenv(var, value)
    code = main(["--date", "2026-11-21"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"alpha mine: environment: {message}"), err
    assert not (home / "alpha.duckdb").exists()                 # nothing ran, nothing written


def test_bad_flag_from_the_shell_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "alpha_core.cli", "mine", "--date", "yesterday"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "alpha mine: --date: 'yesterday' is not a date; use YYYY-MM-DD, e.g. 2026-11-21\n"


def _run_with_data_dir(data_dir, home, tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("ALPHA_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ALPHA_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["--date", "2026-11-21"])
    out, err = capfd.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert "Traceback" not in err and "Error occurred while executing" not in err, err
    return lines[-1]


def test_missing_data_file_is_named(home, tmp_path, monkeypatch, capfd):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _run_with_data_dir(empty, home, tmp_path, monkeypatch, capfd)
    assert line.startswith("alpha mine: registry_job failed: step field_registry: DataFileError: ")
    assert f"{empty}/all_stocks_5yr.csv.gz: file not found" in line


@pytest.mark.real_data
def test_data_file_without_close_is_named(home, tmp_path, monkeypatch, capfd):
    from alpha_core.config import AlphaSettings

    real = AlphaSettings().resolved_data_dir()
    if real is None:
        pytest.skip("real S&P 500 data not available")
    data = tmp_path / "noclose"
    data.mkdir()
    for f in real.iterdir():                      # the real files (linked), but a price file without close
        if f.name != "all_stocks_5yr.csv.gz":
            (data / f.name).symlink_to(f)
    with gzip.open(data / "all_stocks_5yr.csv.gz", "wt") as fh:
        fh.write("date,open,high,low,volume,Name\n2013-02-08,15.07,15.12,14.63,8407500,AAL\n")
    line = _run_with_data_dir(data, home, tmp_path, monkeypatch, capfd)
    assert "DataFileError: " in line and f"{data}/all_stocks_5yr.csv.gz" in line and "'close'" in line, line
