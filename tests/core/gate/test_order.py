"""The day's gate and submission order (alpha_core.gate.order.day_gate): ranking by deflated sharpe, a stated
reason for every skip, BRAIN's 10% self-correlation exception, the daily cap, look-ahead proved for picks."""
import math

import numpy as np
import pytest

from alpha_core.gate.checks import Check
from alpha_core.gate.order import DAILY_CAP, Finalist, TrialStats, day_gate

DATES = np.busday_offset(np.datetime64("2013-03-01", "D"), np.arange(900), roll="forward")


def _pnl(sharpe, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=DATES.size)
    x = (x - x.mean()) / x.std()
    return (x + sharpe / math.sqrt(252)) * 1e5


def _finalist(h, pnl, fitness=1.5, failed=None):
    s = float(pnl.mean() / pnl.std() * math.sqrt(252))
    checks = [Check("LOW_SHARPE", "PASS", s, 1.25), Check("DEFLATED_SHARPE", "PENDING", None, 0.95),
              Check("SELF_CORRELATION", "PENDING", None, 0.7), Check("NO_LOOKAHEAD", "PENDING", None, 0.0)]
    if failed:
        checks.append(Check(failed, "FAIL", 0.3, 0.75, "losing IS years: 2015"))
    return Finalist(h, "close", f"rank(ts_delta(close, {len(h)}))", "{}",
                    {"is_sharpe": s, "is_fitness": fitness, "os_sharpe": -1.0}, pnl, DATES, checks)


STATS = TrialStats(n_trials=40, variance=1e-5, mean_corr=0.2, n_effective=32.2)


def test_order_reasons_cap_and_lookahead():
    base = [_pnl(3.0 + 0.2 * k, k) for k in range(7)]
    fs = [_finalist(f"h{k}", p) for k, p in enumerate(base)]
    fs.append(_finalist("copy", base[6] * 1.01 + _pnl(0.0, 99) * 0.05))     # near-copy of the best one
    fs.append(_finalist("unstable", _pnl(5.0, 50), failed="IS_STABILITY"))
    fs.append(_finalist("peeks", _pnl(4.5, 60)))
    fs.append(_finalist("old", _pnl(4.4, 70)))

    def lookahead(f):
        return Check("NO_LOOKAHEAD", "FAIL" if f.alpha_hash == "peeks" else "PASS", 3.0 if f.alpha_hash == "peeks"
                     else 0.0, 0.0, "alpha values on 2015-06-01 changed" if f.alpha_hash == "peeks" else "")

    out = day_gate("2026-11-21", fs, [], STATS, already_submitted=frozenset({"old"}), lookahead=lookahead)
    order = {r["alpha_hash"]: r for r in out.order_rows}
    dsr = [r["deflated_sharpe"] for r in out.order_rows]
    assert dsr == sorted(dsr, reverse=True)                                 # ranked by deflated sharpe
    assert [r["rank"] for r in out.order_rows] == list(range(1, len(fs) + 1))
    assert len(out.chosen) == DAILY_CAP and all(order[f.alpha_hash]["decision"] == "submit" for f in out.chosen)
    assert order["unstable"]["decision"] == "skip" and order["unstable"]["reason"].startswith("fails IS_STABILITY")
    assert order["peeks"]["decision"] == "skip" and "NO_LOOKAHEAD" in order["peeks"]["reason"]
    assert order["old"]["reason"] == "already submitted on an earlier day"
    assert order["copy"]["decision"] == "skip" and "SELF_CORRELATION" in order["copy"]["reason"] \
        and "h6" in order["copy"]["reason"] and "chosen earlier today" in order["copy"]["reason"]
    capped = [r for r in out.order_rows if "daily cap" in (r["reason"] or "")]
    assert capped and all(r["decision"] == "skip" for r in capped)
    # every finalist has its full checklist, with the values the decision read
    names = {(g["alpha_hash"], g["check_name"]) for g in out.gate_rows}
    assert all((f.alpha_hash, n) in names for f in fs for n in ("DEFLATED_SHARPE", "SELF_CORRELATION"))
    gate = {(g["alpha_hash"], g["check_name"]): g for g in out.gate_rows}
    assert gate[("copy", "SELF_CORRELATION")]["result"] == "FAIL" and gate[("copy", "SELF_CORRELATION")]["value"] > 0.9
    assert gate[("peeks", "NO_LOOKAHEAD")]["result"] == "FAIL"
    assert gate[(out.chosen[0].alpha_hash, "NO_LOOKAHEAD")]["result"] == "PASS"
    picked = {c.name: c for c in out.chosen[1].checks}                     # the chosen carry the gate's checks
    assert picked["SELF_CORRELATION"].value is not None and picked["NO_LOOKAHEAD"].result == "PASS"
    assert all(r["os_sharpe"] == -1.0 for r in out.order_rows)                # reported, never decisive


def test_the_ten_percent_sharpe_exception():
    a = _pnl(3.0, 1)
    better = a * 1.0 + _pnl(0.0, 2) * 0.1 + 40_000 / 1.0                      # correlated, much higher sharpe
    fs = [_finalist("a", a), _finalist("better", better)]
    accepted = [(a, DATES, 3.0, "a_sub")]
    out = day_gate("2026-11-21", fs[1:], accepted, STATS)
    r = out.order_rows[0]
    assert r["decision"] == "submit", r                                       # sharpe >= 1.1 x 3.0: passes
    out = day_gate("2026-11-21", fs[:1], [(better, DATES, 99.0, "b_sub")], STATS)
    assert out.order_rows[0]["decision"] == "skip" and "submitted before" in out.order_rows[0]["reason"]


def test_deflated_sharpe_blocks_when_trials_explain_the_sharpe():
    fs = [_finalist("a", _pnl(2.0, 1))]
    few = day_gate("d", fs, [], TrialStats(5, 1e-5, 0.0, 5.0))
    many = day_gate("d", fs, [], TrialStats(100_000, 0.004, 0.0, 100_000.0))
    assert few.order_rows[0]["deflated_sharpe"] > many.order_rows[0]["deflated_sharpe"]
    assert many.order_rows[0]["decision"] == "skip" and "DEFLATED_SHARPE" in many.order_rows[0]["reason"]
    assert few.order_rows[0]["decision"] == "submit"
    assert day_gate("d", [], [], STATS).order_rows == []


@pytest.mark.real_data
def test_os_is_a_holdout_nobody_reads_in_the_gate(real_panel, os_scrambled_panel, tmp_path):
    """The whole path (search with its checklist, novelty and crowding, then the day's gate with deflated sharpe,
    self-correlation and look-ahead proofs) on the real panel and on a copy whose OS-period data differ: every
    check, verdict, rank and decision is the same; only the reported OS sharpe moves."""
    import duckdb

    from alpha_core.gate.order import gate_day
    from alpha_core.gen.dayplan import search_context, trial_tables
    from alpha_core.gen.search import SearchConfig, run_search
    from alpha_core.sim.simulate import registry_for
    from alpha_core.store.writes import replace_many

    def mine(panel, name):
        con = duckdb.connect(str(tmp_path / f"{name}.duckdb"))
        ctx = search_context(con, "2026-11-21", "close", panel, registry_for(panel))
        r = run_search(ctx, SearchConfig(budget=90))
        tables = trial_tables("2026-11-21", "close", r.trials, r.progress, r.independent, r.stop_reason)
        replace_many(con, [(t, [("2026-11-21", "close")], rows) for t, rows in tables.items()], "run")
        out = gate_day(con, "2026-11-21", panel)
        con.close()
        return r, out

    base_search, base = mine(real_panel, "real")
    other_search, other = mine(os_scrambled_panel, "scrambled")
    assert base.order_rows, "the search found no winner to gate"
    checks = {(t.alpha_hash, c.name): (c.result, c.value) for t in base_search.trials for c in t.checks}
    assert checks == {(t.alpha_hash, c.name): (c.result, c.value) for t in other_search.trials for c in t.checks}
    assert base.gate_rows == other.gate_rows
    strip = [{k: v for k, v in r.items() if k != "os_sharpe"} for r in base.order_rows]
    assert strip == [{k: v for k, v in r.items() if k != "os_sharpe"} for r in other.order_rows]
    assert any(a["os_sharpe"] != b["os_sharpe"] for a, b in zip(base.order_rows, other.order_rows))
    assert {g["check_name"] for g in base.gate_rows} >= {"DEFLATED_SHARPE", "CROWDING", "NOVELTY", "IS_STABILITY"}
