"""``alpha research`` end to end as a user runs it: a Dagster run of research_job against the loopback LLM server on
the real panel; list / show / analyze; a refused key; no secret anywhere."""
import json
import logging
from pathlib import Path

import dagster as dg
import pytest

from alpha_core.cli import main
from alpha_core.config import load_settings
from tests.core.llm.conftest import KEY, llm, llm_server  # noqa: F401 - fixtures
from tests.core.llm.test_loop import FAILING, WINNER, answer


def _no_key_anywhere(home, db, instance, run_id, *texts):
    """The key appears in no file under DAGSTER_HOME (event log, runs...), not in the DuckDB file ``db``, no run
    config, tag or event, nor in ``texts`` (output, log lines)."""
    assert Path(db).is_file()
    for path in [p for p in home.rglob("*") if p.is_file()] + [Path(db)]:
        assert KEY.encode() not in path.read_bytes(), path
    run = instance.get_run_by_id(run_id)
    assert KEY not in json.dumps(run.run_config) and KEY not in json.dumps(dict(run.tags))
    assert all(KEY not in str(e) for e in instance.all_logs(run_id))
    assert all(KEY not in t for t in texts)


def _last_run(instance):
    (record,) = instance.get_run_records(dg.RunsFilter(job_name="research_job"), limit=1)
    return record.dagster_run


def test_alpha_research_runs_a_dagster_job_that_stops_on_a_winner(home, llm, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    llm.script(("answer", "Let me think about this step by step..."), answer(FAILING), answer(WINNER))
    assert main(["research", "wide daily ranges revert", "--iterations", "3"]) == 0
    out = capsys.readouterr()
    assert "[passed]" in out.out and "answer rejected: prose" in out.out and "lesson (worked)" in out.out
    assert "iteration 2 round 0: simulated" in out.err                        # progress lines while it runs
    assert llm.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"    # the key was used...
    instance = dg.DagsterInstance.get()
    run = _last_run(instance)
    assert run.is_success and run.tags["alpha/trigger"] == "alpha research"
    assert run.run_config["ops"]["research"]["config"]["hypothesis"] == "wide daily ranges revert"
    (mat,) = [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_successful_output]
    meta = mat.dagster_event.event_specific_data.metadata
    assert meta["status"].value == "passed" and meta["winners"].value == 1 and meta["trials"].value == 2
    assert "-rank(high - low) * rank(ts_delta(close, 5))" in meta["alphas_table"].value
    assert meta["best"].value["verdict"] == "winner"
    request_id = meta["request_id"].value
    assert main(["research", "list"]) == 0 and request_id in capsys.readouterr().out
    assert main(["research", "show", request_id[:12]]) == 0
    shown = capsys.readouterr().out
    assert "rationale: calm stocks that rose keep rising" in shown and "failed: LOW_FITNESS" in shown
    assert main(["research", "analyze", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["winners"] == 1 and summary["rejections_by_reason"] == {"prose": 1}
    _no_key_anywhere(home, str(load_settings().resolved_duckdb()), instance, run.run_id, out.out, out.err,
                     caplog.text)                                              # ...and is stored nowhere


def test_a_refused_key_fails_the_run_once_without_retry_and_without_leaking_it(home, llm, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    llm.api_key = "sk-the-key-the-server-wants"      # ours is refused; the server echoes it in its 401
    try:
        assert main(["research", "value beats glamour", "--iterations", "2"]) == 1
    finally:
        llm.api_key = KEY
    out = capsys.readouterr()
    assert len(llm.requests) == 1                                           # a 401 is not retried
    assert "[failed]" in out.out and "Incorrect API key provided: ***" in out.err
    instance = dg.DagsterInstance.get()
    run = _last_run(instance)
    assert run.is_failure
    _no_key_anywhere(home, str(load_settings().resolved_duckdb()), instance, run.run_id, out.out, out.err,
                     caplog.text)


def test_usage_errors_exit_2_before_dagster_starts(home, llm, monkeypatch, capsys):
    monkeypatch.delenv("ALPHA_LLM_MODEL")
    with pytest.raises(SystemExit) as err:
        main(["research", "an idea"])
    assert err.value.code == 2 and "set ALPHA_LLM_MODEL" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["research", "an idea", "--model", "openai/x", "--iterations", "99"])
    assert err.value.code == 2 and "--iterations: 99 is out of range" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main(["research", "list", "--db", str(home / "missing.duckdb")])
    assert err.value.code == 2 and "no DuckDB file" in capsys.readouterr().err
    assert llm.requests == [] and not (home / "storage").exists()
