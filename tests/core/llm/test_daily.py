"""The LLM as a source of the daily miner (alpha_core.gen.llm.daily): proposals for a (date, field) search, replayed
on a re-run, nothing without a model; the search seeds them first (origin llm)."""
import duckdb

from alpha_core.config import load_settings
from alpha_core.gen.llm.daily import day_proposals
from alpha_core.gen.search import SearchConfig, run_search
from alpha_core.store import reads
from alpha_core.store.writes import replace_partitions, writing
from tests.core.gen.test_search import _context
from tests.core.llm.test_loop import answer

DATE = "2026-11-21"
ON_FIELD = {"expression": "rank(-ts_delta(close, 3))", "rationale": "reversal", "settings": {"decay": 3}}
OFF_FIELD = {"expression": "rank(volume)", "rationale": "not the theme's field"}


def test_no_model_means_no_proposal_and_no_table(llm, monkeypatch, tmp_path, real_panel):
    monkeypatch.delenv("ALPHA_LLM_MODEL")
    db = str(tmp_path / "none.duckdb")
    assert day_proposals(db, DATE, "close", real_panel, load_settings()) == ([], "no LLM model configured "
                                                                                   "(ALPHA_LLM_MODEL)")
    assert llm.requests == [] and not (tmp_path / "none.duckdb").exists()


def test_the_themes_field_gets_lint_clean_proposals_once_and_a_rerun_replays_them(llm, tmp_path, real_panel):
    db = str(tmp_path / "alpha.duckdb")
    with writing(db) as con:
        replace_partitions(con, "themes", [(DATE, "close")], [{"mining_date": DATE, "rank": 1, "field": "close",
                                                              "archetype": "reversal", "reason": "strong recent IC",
                                                              "priority": 1.0}])
    llm.script(answer({"expression": "rank(close_sentiment)"}), answer(ON_FIELD, OFF_FIELD))
    proposals, note = day_proposals(db, DATE, "close", real_panel, load_settings(), "run-1")
    assert proposals == [("rank(-ts_delta(close, 3))", {"decay": 3}), ("rank(volume)", {})]
    assert note == "2 LLM proposal(s) from request day-2026-11-21-close" and len(llm.requests) == 2
    prompt = llm.requests[0]["body"]["messages"][1]["content"]
    assert "reversal: strong recent IC" in prompt and "Every alpha must use the field close" in prompt
    con = duckdb.connect(db, read_only=True)
    req = reads.read_partitions(con, "research_requests").row(0, named=True)
    alphas = reads.read_partitions(con, "research_alphas")
    con.close()
    assert req["status"] == "proposed" and req["n_trials"] == 0                      # nothing simulated here
    assert alphas["status"].to_list() == ["lint_error", "proposed", "proposed"]
    assert alphas["is_sharpe"].null_count() == 3
    again, note = day_proposals(db, DATE, "close", real_panel, load_settings(), "run-2")
    assert again == proposals and "replayed" in note and len(llm.requests) == 2     # no second question


def test_a_failing_provider_leaves_the_other_sources_alone(llm, tmp_path, real_panel):
    llm.script((500, "down"), (500, "down"), (500, "down"))
    proposals, note = day_proposals(str(tmp_path / "alpha.duckdb"), DATE, "close", real_panel, load_settings())
    assert proposals == [] and note.startswith("LLM source stopped (failed): the LLM is unavailable after 3")


def test_the_search_seeds_the_llm_proposals_first(real_panel):
    ctx = _context(real_panel)
    ctx.llm_seeds = [("rank(-ts_delta(close, 3))", {"decay": 3}), ("rank(volume)", {})]
    result = run_search(ctx, SearchConfig(budget=3))
    first = result.trials[0]
    assert (first.origin, first.expression, first.settings) == ("llm", "rank(-ts_delta(close, 3))", {"decay": 3})
    assert result.counts["off_field"] >= 1 and [t.origin for t in result.trials[1:]] == ["seed", "seed"]


def test_the_mine_summary_says_how_many_candidates_the_model_proposed():
    from alpha_assets.mine import format_summary

    base = {"date": "2026-11-20", "fields": ["close"], "candidates": 100, "lint_clean": 100, "simulated": 100,
            "passed": 6, "near_miss": 3, "independent_winners": 0, "submitted": 0}
    assert "LLM source" not in format_summary({**base, "llm_candidates": 0})
    assert "LLM source: 3 of the candidates were proposed by the model" in format_summary(
        {**base, "llm_candidates": 3})
