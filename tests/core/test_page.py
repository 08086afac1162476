"""The result page of one alpha (alpha_core.page, ``alpha report``) on a DuckDB file holding real simulations of
the real panel: what the page shows, the hash lookup and its errors, the command in a subprocess."""
import html
import json
import re
import subprocess
import sys

import numpy as np
import pytest

from alpha_core.gen.pipeline import sim_row, verdict
from alpha_core.gate.checks import Check
from alpha_core.page import PageError, gather, render_page, write_page
from alpha_core.page.data import market_regimes, quintile_returns, resolve_hash
from alpha_core.sim.simulate import simulate_one
from alpha_core.store.schema import columns
from alpha_core.store.writes import connect, replace_many

pytestmark = pytest.mark.real_data

DATE, FIELD = "2026-11-20", "returns"
# the page's alpha: '<', '&&' and '||' in the text it is stored with (the canonical form spells and()/or())
TARGET = "if_else(returns < 0 || volume > adv20 && close > open, -returns, 0.5 * -returns)"
OTHERS = ("rank(-returns)", "-ts_delta(close, 5)", "rank(-ts_delta(close, 3))", "ts_rank(volume, 10)",
          "rank(-returns) * rank(volume)", "-ts_mean(returns, 20)")
FAILED = ("f" * 63 + "0", "f" * 63 + "1")      # two stored alphas whose simulation failed (one shared prefix)
GATE_MESSAGE = "largest shared sub-tree with 3f2a1b covers 92% | change the form & not only the windows <here>"


def _row(table: str, values: dict) -> dict:
    """A row of ``table`` with every column of the current schema (None where ``values`` has none)."""
    return {c: values.get(c) for c in columns(table) if c != "run_id"}


@pytest.fixture(scope="module")
def page_db(tmp_path_factory, real_panel):
    """A DuckDB file with 7 real simulations of one (date, field) partition, their checklists, the target's
    gate_checks and submission_order rows, and two failed simulations. Returns (path, {expression: hash})."""
    path = tmp_path_factory.mktemp("page") / "alpha.duckdb"
    key = {"mining_date": DATE, "field": FIELD}
    hashes, tables = {}, {t: [] for t in ("candidates", "simulations", "checklists")}
    for text in (TARGET, *OTHERS):
        outcome = simulate_one(text, real_panel)
        assert outcome.result is not None, outcome.error
        h = hashes[text] = outcome.hash
        checks = [Check(c["name"], c["result"], c["value"], c["limit"]) for c in outcome.result.checks]
        settings_json = json.dumps(outcome.settings.brain_settings())
        tables["candidates"].append(_row("candidates", {**key, "alpha_hash": h, "expression": text, "origin": "seed",
                                                        "settings_json": settings_json}))
        tables["simulations"].append(_row("simulations", sim_row({**key, "alpha_hash": h, "source": "local"},
                                                                 outcome.result)))
        tables["checklists"] += [_row("checklists", {**key, "alpha_hash": h, "check_name": c.name, "result": c.result,
                                                     "value": c.value, "limit_value": c.limit,
                                                     "verdict": verdict(checks)}) for c in checks]
    for h in FAILED:
        tables["simulations"].append(_row("simulations", {**key, "alpha_hash": h, "source": "local", "status": "error",
                                                          "error": "E_EVAL: division by a constant zero"}))
    target = hashes[TARGET]
    gate = [_row("gate_checks", {"mining_date": DATE, "alpha_hash": target, "check_name": name, "result": result,
                                 "value": value, "limit_value": limit, "message": message})
            for name, result, value, limit, message in (
                ("LOW_SHARPE", "PASS", 1.4, 1.25, ""), ("DEFLATED_SHARPE", "FAIL", 0.41, 0.95,
                                                        "41% chance the sharpe is real after 1,200 trials"),
                ("NOVELTY", "FAIL", 0.92, 0.9, GATE_MESSAGE), ("NO_LOOKAHEAD", "PASS", 0.0, 0.0, ""))]
    order = [_row("submission_order", {"mining_date": DATE, "rank": 3, "alpha_hash": target, "field": FIELD,
                                       "expression": TARGET, "decision": "skip",
                                       "reason": "SELF_CORRELATION 0.83 with 1a2b3c <= kept alpha & sharper"})]
    con = connect(path)
    try:
        replace_many(con, [("candidates", [key], tables["candidates"]), ("simulations", [key], tables["simulations"]),
                           ("checklists", [key], tables["checklists"]), ("gate_checks", [DATE], gate),
                           ("submission_order", [DATE], order)])
    finally:
        con.close()
    return path, hashes


@pytest.fixture(scope="module")
def page(page_db, real_panel):
    """(PageData, HTML) of the target alpha."""
    path, hashes = page_db
    con = connect(path, read_only=True)
    try:
        data = gather(con, hashes[TARGET][:10], real_panel)
    finally:
        con.close()
    return data, render_page(data)


def test_header_escapes_the_expression_and_shows_settings(page, page_db):
    data, text = page
    _, hashes = page_db
    assert data.alpha_hash == hashes[TARGET] and data.field == FIELD and data.mining_date == DATE
    assert html.escape(TARGET) in text and "returns &lt; 0 || volume &gt; adv20 &amp;&amp; close" in text
    assert TARGET not in text and "<0" not in text
    assert hashes[TARGET] in text
    for name, value in (("neutralization", "INDUSTRY"), ("truncation", "0.08"), ("universe", "TOP500")):
        assert f'<td class="l">{name}</td><td class="l">{value}</td>' in text
    assert data.verdict in ("winner", "near_miss", "fail") and f'class="badge {data.verdict}"' in text


def test_pnl_chart_shades_and_labels_is_and_os(page):
    data, text = page
    assert data.is_period and data.os_period and data.is_period[1] < data.os_period[0]
    svg = text[text.index('<section id="pnl">'):text.index("</section>", text.index('<section id="pnl">'))]
    assert svg.count("<svg") == 1
    for label, period in (("IS (in-sample)", data.is_period), ("OS (out-of-sample, holdout)", data.os_period)):
        assert f"{label}: {period[0]} to {period[1]}" in svg


def test_metrics_and_yearly_table(page):
    data, text = page
    years = [y["year"] for y in data.yearly]
    assert years == sorted(years) and len(years) >= 5
    yearly = text[text.index('<section id="yearly">'):]
    for y in data.yearly:
        assert f'<td class="l">{y["year"]}</td><td class="l">{y["stage"]}</td><td>{y["sharpe"]:.2f}</td>' in yearly
    assert {y["stage"] for y in data.yearly} == {"IS", "OS"}
    assert f"<td>{data.is_metrics['sharpe']:.2f}</td><td>{data.os_metrics['sharpe']:.2f}</td>" in text


def test_checks_come_from_gate_checks_with_messages_and_the_decision(page):
    data, text = page
    assert data.checks_source.startswith("gate_checks")
    assert [c["name"] for c in data.checks] == ["LOW_SHARPE", "DEFLATED_SHARPE", "NOVELTY", "NO_LOOKAHEAD"]
    checks = text[text.index('<section id="checks">'):]
    for c in data.checks:
        assert f'<td class="l">{c["name"]}</td><td class="l res"><span class="{c["result"]}">' in checks
    assert html.escape(GATE_MESSAGE) in checks and GATE_MESSAGE not in checks
    assert "<td>0.9200</td><td>0.9000</td>" in checks
    assert data.decision["decision"] == "skip" and html.escape(data.decision["reason"]) in checks


def test_checklists_are_the_fallback(page_db, real_panel):
    path, hashes = page_db
    con = connect(path, read_only=True)
    try:
        data = gather(con, hashes["rank(-returns)"], None)
    finally:
        con.close()
    assert data.checks_source.startswith("checklists")
    assert {c["name"] for c in data.checks} >= {"LOW_SHARPE", "LOW_FITNESS", "HIGH_TURNOVER", "SELF_CORRELATION"}
    assert data.decision is None and data.quintiles is None and data.regimes is None
    assert "quintile" in data.notes[-1]
    text = render_page(data)
    assert 'id="quintiles"' not in text and 'id="regimes"' not in text and "Submission decision" not in text


def test_ic_and_quintiles(page):
    data, text = page
    factor = text[text.index('<section id="factor"'):]
    for period in ("is", "os"):
        f = data.factor[period]
        assert f"{f['icMean']:.4f}" in factor and f"{f['rankIcMean']:.4f}" in factor
    assert set(data.quintiles) == {"IS", "OS"} and 'id="quintiles"' in factor and factor.count("<svg") == 1
    for period in ("IS", "OS"):   # top-minus-bottom quintile = the simulator's own quantile spread
        q = data.quintiles[period]
        assert np.isfinite(q).all()
        assert (q[-1] - q[0]) * 252 == pytest.approx(data.factor[period.lower()]["quantileSpread"], rel=1e-6)


def test_quintile_returns_by_hand():
    w = np.array([[5.0, 4, 3, 2, 1, np.nan], [1, 2, 3, 4, 5, 6]])
    r = np.array([[0.5, 0.4, 0.3, 0.2, 0.1, 9.0], [0.1, 0.2, 0.3, 0.4, 0.5, np.nan]])
    # day 0: 5 instruments, one per quintile (NaN weight dropped); day 1: 5 instruments (NaN return dropped)
    np.testing.assert_allclose(quintile_returns(w, r, slice(0, 2)), [0.1, 0.2, 0.3, 0.4, 0.5])
    assert np.isnan(quintile_returns(w[:, :4], r[:, :4], slice(0, 2))).all()   # fewer than 5 instruments a day


def test_regimes(page, real_panel):
    data, text = page
    kinds = {(r["period"], r["kind"]) for r in data.regimes}
    assert kinds == {(p, k) for p in ("IS", "OS") for k in ("volatility", "trend")}
    is_vol = [r for r in data.regimes if r["period"] == "IS" and r["kind"] == "volatility"]
    assert {r["regime"] for r in is_vol} == {"high vol", "low vol"}
    assert abs(is_vol[0]["days"] - is_vol[1]["days"]) <= 1    # split at the IS median
    regimes = text[text.index('<section id="regimes">'):]
    assert "high vol" in regimes and "up trend" in regimes and "OS Sharpe" in regimes
    # no look-ahead: changing the last day's returns changes no earlier tag
    from alpha_core.sim.backtest import panel_returns

    ret = panel_returns(real_panel).copy()
    is_rows = np.zeros(ret.shape[0], bool)
    is_rows[:900] = True
    before = market_regimes(ret, is_rows)
    ret[-1] = -0.9    # a crash on the last day: a window that included the day itself would flip its trend tag
    after = market_regimes(ret, is_rows)
    for kind in before:
        assert (before[kind] == after[kind]).all()


def test_relatives(page, page_db):
    data, text = page
    _, hashes = page_db
    assert len(data.relatives) == 5 and data.relatives_compared == len(OTHERS)
    corr = [r["corr"] for r in data.relatives]
    assert corr == sorted(corr, reverse=True)
    assert {r["alpha_hash"] for r in data.relatives} < set(hashes.values()) - {hashes[TARGET]}
    assert not set(FAILED) & {r["alpha_hash"] for r in data.relatives}
    rel = text[text.index('<section id="relatives">'):]
    assert all(html.escape(r["expression"]) in rel and r["expression"] for r in data.relatives)
    assert "Closest public alphas" in rel and len(data.public) == 5
    assert data.public_check["name"] == "CROWDING"
    assert all(html.escape(p["expression"]) in rel for p in data.public)


def test_prefix_lookup_and_errors(page_db):
    path, hashes = page_db
    con = connect(path, read_only=True)
    try:
        h = hashes[TARGET]
        assert resolve_hash(con, h[:8].upper()) == h and resolve_hash(con, h) == h
        with pytest.raises(PageError, match="matches several alphas .*give more digits"):
            resolve_hash(con, "fff")
        with pytest.raises(PageError, match="no stored alpha hash starts with '0000000'"):
            resolve_hash(con, "0000000")
        with pytest.raises(PageError, match="not an alpha hash"):
            resolve_hash(con, "xyz|<")
        with pytest.raises(PageError, match="no successful simulation .*E_EVAL"):
            gather(con, FAILED[0], None)
    finally:
        con.close()
    with pytest.raises(PageError, match="no DuckDB file"):
        write_page(path.parent / "missing.duckdb", "ab")


def test_write_page_default_path(page_db, real_panel):
    path, hashes = page_db
    out = write_page(path, hashes["rank(-returns)"][:12], panel=real_panel)
    assert out == path.parent / "reports" / f"{hashes['rank(-returns)'][:12]}.html"
    assert "rank(-returns)" in out.read_text()


def test_write_pages_reads_once_and_matches_write_page(page_db, real_panel, tmp_path):
    from alpha_core.page import write_pages

    path, hashes = page_db
    one = write_page(path, hashes[TARGET], tmp_path / "one.html", panel=real_panel).read_text()
    many = write_pages(path, [hashes[TARGET], hashes["rank(-returns)"], FAILED[0]], tmp_path / "many", real_panel)
    assert many[hashes[TARGET]].read_text() == one                          # the shared library changes nothing
    assert many[hashes["rank(-returns)"]].name == f"{hashes['rank(-returns)'][:12]}.html"
    assert isinstance(many[FAILED[0]], PageError)                           # left out, with its reason


def _alpha(*args):
    return subprocess.run([sys.executable, "-m", "alpha_core.cli", "report", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_report(page_db, tmp_path):
    path, hashes = page_db
    out = tmp_path / "page.html"
    done = _alpha(hashes[TARGET][:9], "--db", str(path), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    text = out.read_text()
    assert html.escape(TARGET) in text and "Quintile returns" in text
    # self-contained: no script, no stylesheet link, no src/href to another resource (only #ids inside an SVG)
    assert "<script" not in text and "<link" not in text and "<img" not in text
    assert re.findall(r'(?:src|href)="(?!#)[^"]*"', text) == []

    for args, code, message in ((["fff", "--db", str(path)], 1, "matches several alphas"),
                                (["0123abc", "--db", str(path)], 1, "no stored alpha hash starts with '0123abc'"),
                                (["abc", "--db", str(tmp_path / "none.duckdb")], 2, "argument --db: no DuckDB file")):
        done = _alpha(*args)
        assert done.returncode == code and message in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
