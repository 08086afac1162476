"""End to end on the real S&P 500 panel: one (date, field) down to checklists + submissions."""
import dagster as dg
import duckdb
import pytest

from alpha_core.store import reads, schema
from tests.assets.conftest import DATE

pytestmark = [pytest.mark.real_data, pytest.mark.slow]
SECRET = "sekrit-test"


@pytest.fixture
def real_panel_available():
    from alpha_core.config import AlphaSettings

    d = AlphaSettings().resolved_data_dir()
    if d is None or not (d / "all_stocks_5yr.csv.gz").exists():
        pytest.skip("real S&P 500 data not available")


def test_real_day_is_idempotent_checked_and_leaks_no_secret(real_panel_available, home, db, monkeypatch, capfd):
    from pydantic import SecretStr

    from alpha_core.brain.emulator import EmulatorConfig, run_in_thread

    monkeypatch.setenv("BRAIN_PASSWORD", SECRET)
    monkeypatch.setenv("BRAIN_EMAIL", "someone@example.com")
    # the field registry signs in to a loopback BRAIN emulator with these credentials and syncs from it
    with run_in_thread(EmulatorConfig(email="someone@example.com", password=SecretStr(SECRET))) as emulator:
        monkeypatch.setenv("ALPHA_BRAIN_URL", emulator.url)
        _real_day(db, capfd)


def _real_day(db, capfd):
    from alpha_assets.mine import format_summary, run_mine

    inst = dg.DagsterInstance.ephemeral()
    first = run_mine(DATE, ["close"], 60, duckdb_path=db, instance=inst)
    sync = inst.fetch_materializations(dg.AssetKey("field_registry"), limit=1).records[0]
    assert sync.asset_materialization.metadata["source"].value == "brain"       # synced with the secret
    con = duckdb.connect(db, read_only=True)
    prints = {t: reads.table_fingerprint(con, t) for t in schema.TABLES}
    registry = reads.read_partitions(con, "field_registry")
    profiles = reads.read_partitions(con, "field_profiles")
    sims = reads.read_partitions(con, "simulations", [(DATE, "close")])
    checks = reads.read_partitions(con, "checklists", [(DATE, "close")])
    con.close()
    # real-data facts: 1,259 dates x 505 tickers; close fully mineable
    assert registry.filter(registry["id"] == "close")["local"].to_list() == [True]
    close = profiles.filter(profiles["field"] == "close").row(0, named=True)
    assert (close["n_dates"], close["n_tickers"]) == (1259, 505) and close["autocorr1"] > 0.99
    assert first["fields"] == ["close"] and first["candidates"] == 60 and first["lint_clean"] == 60
    ok = int((sims["status"] == "ok").sum())
    assert sims.height == 60 and ok >= 55
    kept = sims.filter(sims["daily_pnl"].is_not_null())          # daily PnL kept for IS sharpe >= 0.8
    assert kept.height > 0 and len(kept["daily_pnl"][0]) == 1259 and (kept["is_sharpe"] >= 0.8).all()
    assert checks.height == 19 * ok + (60 - ok)                 # the alpha checklist per ok simulation
    assert first["independent_winners"] <= first["passed"] and first["submitted"] <= 4
    # the gate ranked every winner, each decision with its reason (deflated sharpe after the day's trials)
    assert len(first["gate"]) == min(8, first["passed"]) and all(g["reason"] for g in first["gate"])
    assert all(g["n_trials"] >= 60 for g in first["gate"])
    second = run_mine(DATE, ["close"], 60, duckdb_path=db, instance=inst)
    con = duckdb.connect(db, read_only=True)
    assert {t: reads.table_fingerprint(con, t) for t in schema.TABLES} == prints
    con.close()
    assert {k: v for k, v in second.items() if k != "runs"} == {k: v for k, v in first.items() if k != "runs"}
    # every asset check of every run passed
    evals = [r.event_log_entry.dagster_event.event_specific_data for r in inst.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=10000)]
    assert evals and all(e.passed for e in evals)
    # no secret in the DuckDB file, metadata, event log or console output
    with open(db, "rb") as fh:
        assert SECRET.encode() not in fh.read()
    text = []
    for run_id in [r.run_id for r in inst.get_runs()]:
        for rec in inst.all_logs(run_id):
            text.append(rec.user_message or "")
            if rec.dagster_event is not None:
                text.append(repr(rec.dagster_event.event_specific_data))
        text.append(repr(inst.get_run_by_id(run_id).run_config))
    out = capfd.readouterr()
    text += [out.out, out.err, format_summary(first)]
    assert SECRET not in "\n".join(text)
    inst.dispose()
