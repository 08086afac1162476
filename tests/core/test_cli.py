"""The ``alpha`` command as a user runs it: exit codes, JSON shapes, files written."""
import json

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


def test_lint_without_expressions_is_a_clear_error(capsys):
    with pytest.raises(SystemExit, match="at least one expression"):
        main(["lint"])


def test_fields_lists_the_registry_with_local_availability(capsys):
    code, out, _ = run(capsys, "fields", "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0
    assert rows["close"]["local"] and rows["sector"]["kind"] == "GROUP"
    assert not rows["dividend"]["local"] and rows["fnd6_sales"]["kind"] == "VECTOR"


def test_invalid_settings_are_rejected_with_brain_messages(capsys):
    with pytest.raises(SystemExit, match='delay: "2" is not a valid choice'):
        main(["simulate", "rank(close)", "--delay", "2"])
    with pytest.raises(SystemExit, match="UNSUPPORTED_LOCAL"):
        main(["simulate", "rank(close)", "--neutralization", "STATISTICAL"])


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
