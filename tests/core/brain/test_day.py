"""BRAIN's live limits (alpha_core.brain.day.brain_limits) read from the ledger and used by the search's checklist."""
import json

import pytest

from alpha_core.brain.day import brain_limits
from alpha_core.brain.ledger import Ledger
from alpha_core.store.writes import reading


def _alpha(fitness_limit: float) -> dict:
    """A BRAIN alpha body (§7) with its IS checks."""
    return {"is": {"sharpe": 1.4, "checks": [
        {"name": "LOW_SHARPE", "result": "PASS", "limit": 1.25, "value": 1.4},
        {"name": "LOW_FITNESS", "result": "FAIL", "limit": fitness_limit, "value": 0.9},
        {"name": "LOW_SUB_UNIVERSE_SHARPE", "result": "PASS", "limit": 0.61, "value": 0.8},
        {"name": "SELF_CORRELATION", "result": "PENDING"}]}}


def test_latest_brain_alpha_of_each_delay_gives_the_global_limits(tmp_path):
    db = tmp_path / "alpha.duckdb"
    ledger = Ledger(db)
    for h, delay, limit in (("old", 1, 1.0), ("new", 1, 1.3), ("d0", 0, 1.7), ("lost", 1, 9.0)):
        ledger.claim(h, "rank(close)", json.dumps({"delay": delay}))
        ledger.update(h, state="COMPLETE" if h != "lost" else "ERROR", alpha_id=h, result=_alpha(limit))
    with reading(db) as con:
        limits = brain_limits(con)
    # the alpha-specific sub-universe limit and a PENDING check without a limit are not carried over
    assert limits == {1: {"LOW_SHARPE": 1.25, "LOW_FITNESS": 1.3}, 0: {"LOW_SHARPE": 1.25, "LOW_FITNESS": 1.7}}


@pytest.mark.real_data
def test_the_search_checklist_uses_brains_limits(tmp_path, real_panel):
    from alpha_core.gen.dayplan import search_context
    from alpha_core.gen.search import SearchConfig, run_search
    from alpha_core.sim.simulate import registry_for

    db = tmp_path / "alpha.duckdb"
    ledger = Ledger(db)
    ledger.claim("h", "rank(close)", json.dumps({"delay": 1}))
    ledger.update("h", state="COMPLETE", alpha_id="A", result=_alpha(4.5))
    with reading(db) as con:
        ctx = search_context(con, "2026-11-21", "close", real_panel, registry_for(real_panel))
    assert ctx.brain_limits == {1: {"LOW_SHARPE": 1.25, "LOW_FITNESS": 4.5}}
    result = run_search(ctx, SearchConfig(budget=8))
    fitness = [c for t in result.trials for c in t.checks if c.name == "LOW_FITNESS"]
    assert fitness and all(c.limit == 4.5 for c in fitness) and not result.winners()


def test_ledger_and_forget_commands(tmp_path, capsys):
    from alpha_core.cli import main

    db = tmp_path / "alpha.duckdb"
    ledger = Ledger(db)
    for h, state in (("aaa111", "UNKNOWN"), ("bbb222", "COMPLETE")):
        ledger.claim(h, "rank(close)", "{}")
        ledger.update(h, state=state, message="the process stopped" if state == "UNKNOWN" else None)
    assert main(["brain", "ledger", "--db", str(db), "--state", "unknown"]) == 0
    out = capsys.readouterr().out
    assert "aaa111" in out and "bbb222" not in out
    assert main(["brain", "forget", "bbb", "--db", str(db)]) == 1          # only UNKNOWN rows may be forgotten
    assert "no UNKNOWN row" in capsys.readouterr().err and ledger.get("bbb222").state == "COMPLETE"
    assert main(["brain", "forget", "aaa", "--db", str(db)]) == 0
    assert ledger.get("aaa111") is None and ledger.claim("aaa111", "rank(close)", "{}")[0]
