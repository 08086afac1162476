"""The day's BRAIN steps (``brain_simulations`` -> ``submissions``, issue 14 item 4) run as ``submit_job`` against the
loopback BRAIN emulator with faults on: 429 bursts, 5xx, the persona step, a session expiry and a stuck poll; then
a second run of the day with the faults off resumes the parked simulation instead of posting it again."""
import json
import shutil

import dagster as dg
import pytest
from pydantic import SecretStr

from alpha_assets.definitions import build_definitions
from alpha_core.store.writes import reading
from tests.assets.conftest import DATE, SYNTH

EMAIL, PASSWORD = "brain-user-5d1e@example.com", "sentinel-brain-pass-5d1e"
FAST = {"backoff_base": 0.01, "backoff_cap": 0.05, "poll_error_wait": 0.05, "sim_timeout": 1.5,
        "persona_interval": 0.01, "rate_second_sleep": 0.01, "rate_minute_sleep": 0.01}


def _run(db, instance):
    job = build_definitions(db, synthetic=SYNTH).resolve_job_def("submit_job")
    return job.execute_in_process(partition_key=DATE, instance=instance, raise_on_error=False)


def _rows(db, sql):
    with reading(db) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]


@pytest.fixture
def brain_day(mined, home, monkeypatch):
    """The mined day's DuckDB file copied into a fresh DAGSTER_HOME, BRAIN enabled and live against an emulator
    (on the same synthetic panel) whose faults the test switches."""
    from alpha_core.brain.emulator import EmulatorConfig, run_in_thread
    from alpha_core.data.synthetic import synthetic_panel

    db = str(home / "alpha.duckdb")
    shutil.copyfile(mined["db"], db)
    t, n, seed = (int(x) for x in SYNTH.split(","))
    config = EmulatorConfig(email=EMAIL, password=SecretStr(PASSWORD), expire_after=5, persona_polls=2)
    with run_in_thread(config, panel=synthetic_panel(t, n, seed=seed)) as emulator:
        for name, value in {"ALPHA_BRAIN_ENABLED": "true", "ALPHA_SUBMIT_LIVE": "true", "BRAIN_EMAIL": EMAIL,
                            "BRAIN_PASSWORD": PASSWORD, "ALPHA_BRAIN_URL": emulator.url,
                            "ALPHA_BRAIN_CLIENT_OPTIONS": json.dumps(FAST),
                            "ALPHA_GATE_DSR_MIN": "0"}.items():     # on 300 synthetic days nothing is significant
            monkeypatch.setenv(name, value)
        yield db, emulator


def test_a_faulted_brain_day_completes_posts_each_alpha_once_and_resumes(brain_day, capfd):
    db, emulator = brain_day
    winners = _rows(db, f"SELECT DISTINCT alpha_hash FROM checklists WHERE mining_date = '{DATE}' "
                        "AND verdict = 'winner'")
    assert len(winners) >= 2
    emulator.set_faults("burst_429", "burst_5xx", "persona", "expired", "stuck")
    with dg.DagsterInstance.ephemeral() as inst:
        first = _run(db, inst)
        assert first.success, [e.message for e in first.all_events if e.is_failure]
        sims = _rows(db, "SELECT * FROM brain_simulations ORDER BY alpha_hash")
        # every winner sent (at most ALPHA_BRAIN_DAY_LIMIT): done on BRAIN or parked with its reason, none lost
        assert len(sims) == min(len(winners), 20)
        statuses = [r["status"] for r in sims]
        # the stuck simulation (a multi-simulation: all its children) is parked TIMEOUT, polls that met 5xx bursts
        # too often are parked IN_FLIGHT, each with its reason; the rest are done
        parked = [r for r in sims if r["status"] in ("TIMEOUT", "IN_FLIGHT")]
        assert 1 <= len(parked) < len(sims) and all(r["message"] for r in parked)
        assert set(statuses) <= {"COMPLETE", "WARNING", "TIMEOUT", "IN_FLIGHT"}
        done = [r for r in sims if r not in parked]
        assert all(r["brain_alpha_id"] and r["brain_sharpe"] is not None and r["brain_verdict"] for r in done)
        # the emulator runs on the same panel: BRAIN's metrics equal the local ones
        assert all(r["brain_sharpe"] == pytest.approx(r["local_sharpe"], abs=1e-6) for r in done)
        state = emulator.state
        assert state.posts and state.posts == _ledger_posts(db)                # no alpha posted twice
        assert state.sent_429 and state.sent_5xx and state.persona_challenges == 1 and state.sessions_expired == 1
        assert len(state.submissions) <= 4
        subs = _rows(db, "SELECT * FROM submissions")
        assert subs and all(r["mode"] == "live" for r in subs)
        assert 1 <= sum(r["status"] == "ACCEPTED" for r in subs) <= 4 and all(r["brain_alpha_id"] for r in subs)
        gate = _rows(db, "SELECT * FROM gate_checks WHERE check_name = 'BRAIN_SIMULATED'")
        assert {r["result"] for r in gate} <= {"PASS", "FAIL"} and gate
        meta = inst.fetch_materializations(dg.AssetKey("brain_simulations"), limit=1).records[0]
        assert meta.asset_materialization.metadata["posted"].value == len(sims)

        emulator.set_faults()                                                  # the stuck poll is released
        second = _run(db, inst)
        assert second.success
        again = {r["alpha_hash"]: r for r in _rows(db, "SELECT * FROM brain_simulations")}
        assert {r["status"] for r in again.values()} <= {"COMPLETE", "WARNING"}
        assert not any(r["posted"] for r in again.values())                    # re-polled or reused, never re-posted
        assert emulator.state.posts == _ledger_posts(db) and len(emulator.state.submissions) <= 4
        accepted = _rows(db, "SELECT alpha_hash FROM brain_ledger WHERE submit_state = 'ACCEPTED'")
        assert len(accepted) <= 4
        logs = [rec.user_message or "" for run in inst.get_runs() for rec in inst.all_logs(run.run_id)]
    out = capfd.readouterr()
    with open(db, "rb") as fh:
        blob = "\n".join(logs + [out.out, out.err, fh.read().decode("latin-1")])
    assert PASSWORD not in blob and EMAIL not in blob



def _ledger_posts(db) -> dict:
    """Expression -> alphas (hash = expression + settings) in the ledger: each may have been posted once (the
    emulator counts posts by expression text)."""
    return {r["expression"]: r["n"] for r in _rows(db, "SELECT expression, count(*) AS n FROM brain_ledger "
                                                       "GROUP BY expression")}
