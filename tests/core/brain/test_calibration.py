"""Local versus BRAIN (alpha_core.brain.calibration): the day's ranked winners sent to the loopback emulator through
the ledger, then compared with the local simulations; the `alpha brain` commands."""
import json
import subprocess
import sys

import pytest
from pydantic import SecretStr

from alpha_core.brain.calibration import calibration_rows, calibration_summary, send_day_to_brain
from alpha_core.brain.client import BrainClient, ClientOptions
from alpha_core.config import BrainCredentials
from alpha_core.gen.pipeline import sim_row
from alpha_core.sim.simulate import json_settings, simulate_one
from alpha_core.store.schema import columns
from alpha_core.store.writes import connect, replace_many, reading

pytestmark = pytest.mark.real_data
DATE, FIELD = "2026-11-21", "close"
EXPRESSIONS = ("rank(-ts_delta(close, 5))", "-ts_zscore(close, 20)", "rank(ts_mean(close, 30) - close)")


def _row(table, values):
    return {c: values.get(c) for c in columns(table) if c != "run_id"}


@pytest.fixture
def mined_db(tmp_path, real_panel):
    """A DuckDB file with 3 local simulations of (DATE, close) and their submission order."""
    path = tmp_path / "alpha.duckdb"
    key = {"mining_date": DATE, "field": FIELD}
    cands, sims, order = [], [], []
    for rank, text in enumerate(EXPRESSIONS, start=1):
        out = simulate_one(text, real_panel)
        settings = json.dumps(json_settings(out.settings), sort_keys=True)
        cands.append(_row("candidates", {**key, "alpha_hash": out.hash, "expression": out.canonical,
                                         "settings_json": settings, "origin": "seed"}))
        sims.append(_row("simulations", sim_row({**key, "alpha_hash": out.hash, "source": "local"}, out.result)))
        order.append(_row("submission_order", {"mining_date": DATE, "rank": rank, "alpha_hash": out.hash,
                                               "field": FIELD, "expression": out.canonical, "settings_json": settings,
                                               "decision": "skip", "reason": "test"}))
    con = connect(path)
    replace_many(con, [("candidates", [key], cands), ("simulations", [key], sims),
                       ("submission_order", [DATE], order)])
    con.close()
    return path


def _client(handle, tmp_path):
    creds = BrainCredentials(email=SecretStr(handle.config.email), password=handle.config.password)
    return BrainClient(creds, ClientOptions(base_url=handle.url, backoff_base=0.02, backoff_cap=0.05,
                                            state_path=tmp_path / "brain_state.json"))


def test_send_the_days_winners_once_and_compare(emulator, mined_db, tmp_path):
    handle = emulator()
    with _client(handle, tmp_path) as client:
        first = send_day_to_brain(str(mined_db), DATE, 2, client)
        again = send_day_to_brain(str(mined_db), DATE, 3, client)
    assert [o.status for o in first] == ["COMPLETE", "COMPLETE"] and all(o.posted for o in first)
    assert [o.posted for o in again] == [False, False, True]          # the ledger: never posted twice
    assert sum(handle.state.posts.values()) == 3
    with reading(mined_db) as con:
        rows = calibration_rows(con)
    assert len(rows) == 3 and all(r["alpha_id"] for r in rows)
    for r in rows:                                                    # the emulator's engine is the local one
        assert r["brain_sharpe"] == pytest.approx(r["local_sharpe"], abs=1e-9)
        assert r["brain_turnover"] == pytest.approx(r["local_turnover"], abs=1e-9)
        assert r["local_verdict"] == r["brain_verdict"] is not None
    s = calibration_summary(rows)
    assert s["n"] == 3 and s["verdict_agreement"] == 1.0 and s["sharpe_mean_abs_diff"] < 1e-9
    assert s["sharpe_rank_corr"] == pytest.approx(1.0)


def test_no_ranked_winner_is_a_clear_error(emulator, tmp_path, mined_db):
    handle = emulator()
    with _client(handle, tmp_path) as client, pytest.raises(ValueError, match="no ranked winner for 2026-11-22"):
        send_day_to_brain(str(mined_db), "2026-11-22", 2, client)
    assert sum(handle.state.posts.values()) == 0


def test_cli_brain_simulate_and_calibration(emulator, mined_db, tmp_path, monkeypatch):
    handle = emulator()
    env = {"ALPHA_BRAIN_URL": handle.url, "BRAIN_EMAIL": handle.config.email,
           "BRAIN_PASSWORD": handle.config.password.get_secret_value(), "DAGSTER_HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "alpha_core.cli", "brain"]
    out = subprocess.run(run + ["simulate", "--date", DATE, "--top", "2", "--db", str(mined_db)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("COMPLETE") == 2 and "posted" in out.stdout
    assert handle.config.password.get_secret_value() not in out.stdout + out.stderr
    cal = subprocess.run(run + ["calibration", "--db", str(mined_db)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert cal.returncode == 0, cal.stderr
    assert "brain_sharpe" in cal.stdout and "verdict_agreement 1" in cal.stdout
    missing = subprocess.run(run + ["calibration", "--db", str(tmp_path / "none.duckdb")], env=env,
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no DuckDB file" in missing.stderr
