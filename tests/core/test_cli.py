"""The ``alpha`` command as a user runs it: exit codes, JSON shapes, files written."""
import json
import subprocess
import sys

import polars as pl
import pytest

from alpha_core.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lint_exit_codes_and_json_shape(capsys):
    code, out, _ = run(capsys, "lint", "rank(-ts_delta(close, 5))", "--json")
    assert code == 0
    (item,) = json.loads(out)
    assert item["ok"] and item["canonical"] == "rank(-ts_delta(close, 5))" and len(item["hash"]) == 64
    assert set(item) == {"expression", "ok", "errors", "warnings", "canonical", "hash"}

    code, out, _ = run(capsys, "lint", "rank(close)", "ts_delay(close, -1)", "--json")
    assert code == 1
    good, bad = json.loads(out)
    assert good["ok"] and not bad["ok"]
    assert bad["errors"][0] == {"code": "E_LOOKAHEAD", "message": bad["errors"][0]["message"], "start": 16, "end": 18}


def test_lint_reads_a_file_and_skips_comments(tmp_path, capsys):
    f = tmp_path / "ideas.txt"
    f.write_text("# reversal ideas\nrank(-returns)\n\nsector + 1\n")
    code, out, _ = run(capsys, "lint", "--file", str(f))
    assert code == 1
    assert "ok    rank(-returns)" in out and "E_GROUP_AS_VALUE" in out


def usage_error(capsys, *argv) -> str:
    """Run ``alpha argv...`` expecting a usage error: exit code 2 and exactly one line on stderr, returned."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_lint_without_expressions_is_a_clear_error(capsys):
    assert "give at least one expression" in usage_error(capsys, "lint")


def test_fields_lists_the_registry_with_local_availability(capsys):
    code, out, _ = run(capsys, "fields", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["close"]["local"] and rows["sector"]["kind"] == "GROUP"
    assert not rows["dividend"]["local"] and rows["fnd6_sales"]["kind"] == "VECTOR"


def test_invalid_settings_are_rejected_with_brain_messages(capsys):
    assert 'argument --delay: "2" is not a valid choice.' in usage_error(capsys, "simulate", "rank(close)",
                                                                          "--delay", "2")
    err = usage_error(capsys, "simulate", "rank(close)", "--neutralization", "STATISTICAL")
    assert "argument --neutralization: UNSUPPORTED_LOCAL" in err


@pytest.mark.parametrize("command", ["simulate", "evaluate"])
@pytest.mark.parametrize("flag, value, message", [
    ("--universe", "TOP9", '"TOP9" is not a valid choice.'),
    ("--delay", "2", '"2" is not a valid choice.'),
    ("--delay", "one", '"one" is not a valid choice.'),
    ("--decay", "99999999999999999999", "Ensure this value is less than or equal to 512."),
    ("--decay", "-1", "Ensure this value is greater than or equal to 0."),
    ("--decay", "2.5", "A valid integer is required."),
    ("--decay", "nan", "A valid integer is required."),
    ("--neutralization", "SECTORS", '"SECTORS" is not a valid choice.'),
    ("--truncation", "nan", "A valid number is required."),
    ("--truncation", "inf", "A valid number is required."),
    ("--truncation", "-0.01", "Ensure this value is greater than or equal to 0."),
    ("--truncation", "1.5", "Ensure this value is less than or equal to 1."),
    ("--pasteurization", "YES", '"YES" is not a valid choice.'),
    ("--nan-handling", "maybe", '"MAYBE" is not a valid choice.'),
])
def test_each_bad_settings_flag_is_a_one_line_usage_error_naming_it(capsys, tmp_path, command, flag, value,
                                                                    message):
    out = ["--out", str(tmp_path / "a.parquet")] if command == "evaluate" else []
    err = usage_error(capsys, command, "rank(close)", *out, f"{flag}={value}")
    assert f"argument {flag}: {message}" in err
    assert not (tmp_path / "a.parquet").exists()


def test_several_bad_settings_are_reported_together(capsys):
    err = usage_error(capsys, "simulate", "rank(close)", "--delay", "5", "--decay", "x")
    assert "argument --delay:" in err and "argument --decay:" in err


@pytest.mark.parametrize("argv, flag, message", [
    (["lint", "--file", "{tmp}/missing.txt"], "--file", "cannot read {tmp}/missing.txt: No such file or directory"),
    (["simulate", "--file", "{tmp}"], "--file", "cannot read {tmp}: Is a directory"),
    (["simulate", "rank(close)", "--plot", "{tmp}/no/such/dir/pnl.png"], "--plot", "cannot write {tmp}/no/such"),
    (["simulate", "rank(close)", "--plot", "{tmp}"], "--plot", "'{tmp}' must end in .png"),
    (["simulate", "rank(close)", "--plot", "{tmp}/pnl.png/x.png"], "--plot", "cannot write"),
    (["evaluate", "rank(close)", "--out", "{tmp}/no/such/dir/a.parquet"], "--out", "cannot write {tmp}/no/such"),
    (["evaluate", "rank(close)", "--out", "{tmp}"], "--out", "cannot write {tmp}: Is a directory"),
])
def test_bad_files_are_usage_errors_before_any_work(capsys, tmp_path, argv, flag, message):
    (tmp_path / "pnl.png").write_text("a file, not a folder")
    err = usage_error(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert f"argument {flag}: {message.format(tmp=tmp_path)}" in err


def test_a_writable_plot_path_is_checked_without_leaving_a_file(capsys, tmp_path, monkeypatch):
    from alpha_core import cli, report

    def stop():
        raise SystemExit("stopped after the checks")

    monkeypatch.setattr(report, "load_panel_or_exit", stop)
    with pytest.raises(SystemExit, match="stopped after the checks"):
        cli.main(["simulate", "rank(close)", "--plot", str(tmp_path / "pnl.png")])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.real_data
@pytest.mark.parametrize("dates, flag, message", [
    (["--start", "2013-02-31"], "--start", "'2013-02-31' is not a calendar date (day is out of range for month)"),
    (["--start", "yesterday"], "--start", "'yesterday' is not a date YYYY-MM-DD"),
    (["--end", "31/12/2015"], "--end", "'31/12/2015' is not a date YYYY-MM-DD"),
    (["--start", "2015-01-01", "--end", "2014-01-01"], "--start/--end", "start 2015-01-01 is after end 2014-01-01"),
    (["--start", "2014-01-04", "--end", "2014-01-05"], "--start/--end", "no trading date of the panel in"),
    (["--start", "2010-01-01"], "--start", "2010-01-01 is outside the panel (the panel's dates are 2013-02-08 .. "
                                           "2018-02-07)"),
    (["--end", "2018-03-01"], "--end", "2018-03-01 is outside the panel (the panel's dates are 2013-02-08 .. "),
    (["--start", "2017-06-01"], "--start", "2017-06-01 .. 2018-02-07 lies in the held-out OS period "
                                           "(2017-02-08 .. 2018-02-07)"),
    (["--end", "2013-02-20"], "--start/--end", "no date in 2013-02-08 .. 2013-02-20 has a TOP500 universe "
                                              "(the first is 2013-02-25)"),
])
def test_each_bad_date_is_a_one_line_usage_error_naming_the_flag(capsys, real_panel, dates, flag, message):
    assert f"argument {flag}: {message}" in usage_error(capsys, "simulate", "rank(-returns)", *dates)


@pytest.mark.real_data
def test_simulate_one_day_range_reports_one_is_day(capsys, real_panel):
    code, out, _ = run(capsys, "simulate", "rank(-returns)", "--start", "2014-03-03", "--end", "2014-03-03", "--json")
    d = json.loads(out)
    assert code == 0 and (d["is"]["days"], d["is"]["startDate"], d["is"]["endDate"]) == (1, "2014-03-03",
                                                                                          "2014-03-03")
    assert d["os"] is None


@pytest.mark.parametrize("flags", [["--decay", "99999999999999999999"],
                                   pytest.param(["--start", "2013-02-31"], marks=pytest.mark.real_data)])
def test_the_installed_command_prints_no_traceback(flags):
    proc = subprocess.run([sys.executable, "-m", "alpha_core.cli", "simulate", "rank(-returns)", *flags],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("alpha simulate: error: argument " + flags[0]) and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.real_data
def test_simulate_json_one_object_then_a_list(capsys, real_panel):
    code, out, _ = run(capsys, "simulate", "rank(-ts_delta(close, 5))", "--json", "--decay", "2")
    one = json.loads(out)
    assert code == 0 and one["settings"]["decay"] == 2 and one["is"]["sharpe"] is not None
    code, out, _ = run(capsys, "simulate", "rank(-returns)", "rank(close", "--json")
    many = json.loads(out)
    assert code == 1 and [m["ok"] for m in many] == [True, False]


@pytest.mark.real_data
def test_evaluate_writes_raw_values_and_plot_writes_png(tmp_path, capsys, real_panel):
    out_file = tmp_path / "alpha.parquet"
    code, _, _ = run(capsys, "evaluate", "rank(close)", "--out", str(out_file))
    frame = pl.read_parquet(out_file)
    assert code == 0 and frame.columns == ["date", "ticker", "value"]
    assert frame.height == real_panel.T * real_panel.N  # the full grid, null where the alpha is NaN
    assert frame["value"].min() >= 0 and frame["value"].max() <= 1
    first = frame.filter(pl.col("date") == frame["date"].min())
    assert first["value"].null_count() == 505  # nobody is in a universe before the 11th date
    png = tmp_path / "pnl.png"
    code, _, _ = run(capsys, "simulate", "rank(-returns)", "--plot", str(png))
    assert code == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
