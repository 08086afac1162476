"""The BRAIN ledger (alpha_core.brain.ledger): claims, states, crash recovery, persistence."""
import pytest

from alpha_core.brain.ledger import Ledger, LedgerError


@pytest.fixture
def ledger(tmp_path):
    return Ledger(tmp_path / "alpha.duckdb")


def test_a_claimed_hash_is_never_claimed_again(ledger):
    claimed, row = ledger.claim("h1", "rank(close)", "{}")
    assert claimed and row.state == "QUEUED"
    again, same = ledger.claim("h1", "rank(close)", "{}")
    assert not again and same.state == "QUEUED"
    ledger.mark(["h1"], "POSTING")
    assert ledger.claim("h1", "rank(close)", "{}")[0] is False
    for state in ("IN_FLIGHT", "TIMEOUT", "COMPLETE", "ERROR", "UNKNOWN", "REJECTED"):
        ledger.update("h1", state=state)
        assert ledger.claim("h1", "rank(close)", "{}")[0] is False, state


def test_only_a_cancelled_sibling_may_be_claimed_again(ledger):
    ledger.claim("h1", "x", "{}")
    ledger.update("h1", state="CANCELLED", parent_id="p1")
    claimed, row = ledger.claim("h1", "x", "{}")
    assert claimed and row.state == "QUEUED" and row.parent_id is None


def test_rows_survive_a_new_ledger_on_the_same_file(tmp_path):
    Ledger(tmp_path / "a.duckdb").claim("h1", "x", '{"decay":4}')
    first = Ledger(tmp_path / "a.duckdb")
    first.update("h1", state="IN_FLIGHT", simulation_id="sim1")
    reopened = Ledger(tmp_path / "a.duckdb")
    assert [(r.alpha_hash, r.simulation_id) for r in reopened.pending()] == [("h1", "sim1")]
    assert reopened.get("h1").settings_json == '{"decay":4}'


def test_result_round_trips_as_json(ledger):
    ledger.claim("h1", "x", "{}")
    row = ledger.update("h1", state="COMPLETE", alpha_id="A1", result={"is": {"sharpe": 1.5}})
    assert row.result == {"is": {"sharpe": 1.5}} and ledger.get("h1").result == {"is": {"sharpe": 1.5}}


def test_recover_marks_stale_posting_rows_unknown_and_never_repostable(ledger):
    ledger.claim("h1", "x", "{}")
    ledger.mark(["h1"], "POSTING")              # the process stopped with this POST on the wire
    ledger.claim("h2", "y", "{}")
    ledger.update("h2", state="IN_FLIGHT", simulation_id="s2")
    ledger.claim("h3", "z", "{}")               # still waiting for a slot: BRAIN never saw it
    stale = ledger.recover()
    assert [r.alpha_hash for r in stale] == ["h1"]
    assert ledger.get("h3") is None and ledger.claim("h3", "z", "{}")[0] is True
    assert ledger.get("h1").state == "UNKNOWN" and "stopped" in ledger.get("h1").message
    assert ledger.claim("h1", "x", "{}")[0] is False
    ledger.forget("h1")
    assert ledger.claim("h1", "x", "{}")[0] is True


def test_release_drops_only_a_posting_claim(ledger):
    ledger.claim("h1", "x", "{}")
    ledger.release("h1")
    assert ledger.get("h1") is None
    ledger.claim("h2", "x", "{}")
    ledger.update("h2", state="IN_FLIGHT", simulation_id="s")
    ledger.release("h2")
    assert ledger.get("h2").state == "IN_FLIGHT"


def test_bad_calls_say_what_is_wrong(ledger, tmp_path):
    with pytest.raises(LedgerError, match="no ledger row"):
        ledger.update("missing", state="COMPLETE")
    ledger.claim("h1", "x", "{}")
    with pytest.raises(LedgerError, match="unknown ledger column"):
        ledger.update("h1", colour="red")
    with pytest.raises(LedgerError, match="alpha hash is required"):
        ledger.claim("", "x", "{}")
    with pytest.raises(LedgerError, match="DuckDB file"):
        Ledger(":memory:")


def test_entries_filter_by_state(ledger):
    for h in ("a", "b", "c"):
        ledger.claim(h, h, "{}")
    ledger.update("b", state="COMPLETE")
    assert [r.alpha_hash for r in ledger.entries(["COMPLETE"])] == ["b"]
    assert {r.alpha_hash for r in ledger.entries()} == {"a", "b", "c"}
    assert ledger.entries([]) == []
