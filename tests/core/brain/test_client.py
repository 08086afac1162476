"""The BRAIN client against the loopback emulator (alpha_core.brain.client / simulations; BRAIN_API.md)."""
import logging
import time

import pytest
from pydantic import SecretStr

from alpha_core.brain.client import BrainClient, ClientOptions
from alpha_core.brain.errors import (AuthCircuitOpen, AuthError, BrainError, ConfigError, NotFound,
                                     UnsafeRedirect)
from alpha_core.brain.ledger import Ledger
from alpha_core.brain.simulations import SimulationRequest, Simulator
from alpha_core.config import BrainCredentials


GOOD = SimulationRequest.of("rank(-ts_delta(close, 3))", {"decay": 8})      # passes every check locally
WEAK = SimulationRequest.of("rank(-ts_delta(close, 5))")                     # LOW_FITNESS
OTHER = SimulationRequest.of("-ts_zscore(close, 20)", {"decay": 4})
TYPO = SimulationRequest.of("rank(clsoe)")


class Crash(BaseException):
    """Stands for the process being killed."""


PASSWORD = "emulator-secret"   # the emulator fixture's default account (tests/core/brain/conftest.py)
DEFAULT = object()


def make(handle, tmp_path, *, email=DEFAULT, password=DEFAULT, token=None, sleeps=None, sleep=None, **opts):
    """A client on ``handle`` (its account unless given) with tiny waits; ``sleeps`` collects every wait."""
    email = handle.config.email if email is DEFAULT else email
    password = handle.config.password.get_secret_value() if password is DEFAULT else password
    creds = BrainCredentials(email=SecretStr(email) if email else None,
                             password=SecretStr(password) if password else None,
                             session_token=SecretStr(token) if token else None)
    base = dict(base_url=handle.url, backoff_base=0.02, backoff_cap=0.05, poll_error_wait=0.01,
                persona_interval=0.01, rate_second_sleep=0.003, rate_minute_sleep=0.003, catalogue_retry_wait=0.01,
                state_path=tmp_path / "brain_state.json")

    def record(seconds):
        if sleeps is not None:
            sleeps.append(seconds)
        time.sleep(min(seconds, 0.05))

    on_persona = opts.pop("on_persona", None)
    return BrainClient(creds, ClientOptions(**{**base, **opts}), sleep=sleep or record, on_persona=on_persona)


def posts(handle) -> dict:
    return dict(handle.state.posts)


# ---- configuration and origin rules (no server) ---------------------------------------------------------
def test_base_url_must_be_https_off_loopback():
    with pytest.raises(ConfigError, match="https"):
        BrainClient(BrainCredentials(), ClientOptions(base_url="http://api.example.com"))
    BrainClient(BrainCredentials(), ClientOptions(base_url="https://api.example.com")).close()


def test_locations_on_another_host_are_refused_and_the_443_quirk_rewritten():
    c = BrainClient(BrainCredentials(), ClientOptions(base_url="https://api.worldquantbrain.com"))
    assert str(c._url("http://api.worldquantbrain.com:443/alphas/A/submit")) == \
        "https://api.worldquantbrain.com/alphas/A/submit"
    with pytest.raises(UnsafeRedirect, match="evil.example"):
        c._url("https://evil.example/simulations/1")
    with pytest.raises(UnsafeRedirect):
        c._url("http://api.worldquantbrain.com/simulations/1")   # plain http to the real host: refused


def test_no_credentials_is_a_clear_error(emulator, tmp_path):
    h = emulator()
    with pytest.raises(ConfigError, match="BRAIN_EMAIL"):
        make(h, tmp_path, email=None, password=None).login()


# ---- authentication (§2) --------------------------------------------------------------------------------
def test_login_gives_the_session(emulator, tmp_path):
    h = emulator()
    c = make(h, tmp_path)
    s = c.login()
    assert s.user_id == h.config.user_id and "MULTI_SIMULATION" in s.permissions and s.expiry > 2000
    assert c.user()["id"] == h.config.user_id
    assert h.state.logins == 1


def test_bad_credentials_open_the_auth_circuit_after_three(emulator, tmp_path):
    h = emulator()
    c = make(h, tmp_path, password="wrong-password")
    for _ in range(2):
        with pytest.raises(AuthError, match="INVALID_CREDENTIALS") as err:
            c.login()
        assert not isinstance(err.value, AuthCircuitOpen) and err.value.status == 401
    with pytest.raises(AuthCircuitOpen):
        c.login()
    again = make(h, tmp_path)                     # a new process with the right password: still closed
    with pytest.raises(AuthCircuitOpen):
        again.user()
    assert h.state.failed_logins == 3
    again.reset_auth_circuit()
    assert again.user()["id"] == h.config.user_id


def test_settings_reach_the_client(monkeypatch, tmp_path):
    from alpha_core.config import AlphaSettings

    monkeypatch.setenv("ALPHA_BRAIN_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ALPHA_BRAIN_MAX_CONCURRENCY", "5")
    monkeypatch.setenv("ALPHA_BRAIN_QUOTA_RESERVE", "0.2")
    monkeypatch.setenv("BRAIN_PASSWORD", PASSWORD)
    settings = AlphaSettings(_env_file=None)
    assert settings.brain_enabled is False and PASSWORD not in str(settings.public_dict())
    with BrainClient.from_settings(settings, state_path=tmp_path / "s.json") as c:
        assert str(c.base) == "http://127.0.0.1:9/" and c.slots.maximum == 5 and c.quota.reserve_fraction == 0.2
        assert PASSWORD not in repr(c)


def test_session_token_from_the_environment(emulator, tmp_path):
    h = emulator(session_token="pre-issued-token-123")
    c = make(h, tmp_path, email=None, password=None, token="pre-issued-token-123")
    assert c.user()["id"] == h.config.user_id and h.state.logins == 0
    both = make(h, tmp_path, token="pre-issued-token-123")          # the token first, the password unused
    assert both.user()["id"] and h.state.logins == 0
    stale = make(h, tmp_path, email=None, password=None, token="not-a-session")
    with pytest.raises(AuthError, match="expired"):
        stale.user()


def test_persona_step_is_shown_then_completed(emulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    h = emulator(faults="persona", persona_polls=3)
    shown = []
    c = make(h, tmp_path, on_persona=shown.append)
    assert "MULTI_SIMULATION" in c.login().permissions
    assert len(shown) == 1 and "/authentication/persona?inquiry=" in shown[0] and shown[0].startswith(h.url)
    assert "inquiry=" not in caplog.text and "persona" in caplog.text


def test_persona_never_completed_is_bounded(emulator, tmp_path):
    from alpha_core.brain.errors import PersonaRequired

    h = emulator(faults="persona", persona_polls=50)
    c = make(h, tmp_path, on_persona=lambda url: None, persona_tries=2, persona_rounds=1)
    with pytest.raises(PersonaRequired):
        c.login()


def test_session_expiry_means_one_relogin_and_the_request_retried(emulator, tmp_path):
    h = emulator(expire_after=1)
    c = make(h, tmp_path)
    c.login()
    h.set_faults("expired")
    assert c.user()["id"] and c.user()["id"]      # the second request meets the 401
    assert h.state.sessions_expired == 1 and h.state.logins == 2


def test_stale_html_page_means_relogin(emulator, tmp_path):
    h = emulator()
    c = make(h, tmp_path)
    c.login()
    h.set_faults("stale_html")
    assert len(c.operators()) > 10
    assert h.state.logins == 2


def test_low_token_expiry_triggers_a_proactive_relogin(emulator, tmp_path):
    h = emulator(token_lifetime=100)              # below the 2,000 s threshold
    c = make(h, tmp_path, relogin_below=2000, session_check_every=0)
    c.login()
    c.user()
    assert h.state.logins == 2


# ---- simulations, ledger (§3-§6, §12) -------------------------------------------------------------------
def test_simulate_then_never_post_the_same_hash_again(emulator, tmp_path):
    h = emulator()
    c, ledger = make(h, tmp_path), Ledger(tmp_path / "alpha.duckdb")
    first = Simulator(c, ledger, multi=False).run([WEAK, OTHER])
    assert [o.status for o in first] == ["COMPLETE", "COMPLETE"] and all(o.posted for o in first)
    assert first[0].alpha["is"]["sharpe"] is not None and first[0].alpha_id
    again = Simulator(make(h, tmp_path), Ledger(tmp_path / "alpha.duckdb")).run([OTHER, WEAK, WEAK])
    assert [o.alpha_id for o in again] == [first[1].alpha_id, first[0].alpha_id, first[0].alpha_id]
    assert not any(o.posted for o in again)
    assert posts(h) == {WEAK.expression: 1, OTHER.expression: 1}
    assert c.state.get("slots")                   # adaptive concurrency state persisted


def test_error_status_is_recorded_with_message_and_location(emulator, tmp_path):
    h = emulator()
    out = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb"), multi=False).run([TYPO])[0]
    assert out.status == "ERROR" and "clsoe" in out.message and out.location["property"] == "regular"


def test_lint_first_keeps_a_bad_item_out_of_a_batch(emulator, tmp_path):
    h = emulator()
    lint = lambda r: "unknown variable clsoe" if "clsoe" in r.expression else None   # noqa: E731
    outs = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb"), lint=lint).run([WEAK, TYPO, OTHER])
    assert [o.status for o in outs] == ["COMPLETE", "LINT_FAILED", "COMPLETE"]
    assert TYPO.expression not in posts(h) and posts(h)[WEAK.expression] == 1


def test_multi_simulation_with_a_bad_child_reposts_the_good_siblings(emulator, tmp_path):
    h = emulator(faults="multi_bad", bad_child=1)
    ledger = Ledger(tmp_path / "a.duckdb")
    outs = Simulator(make(h, tmp_path), ledger, multi=True).run([WEAK, OTHER, GOOD])
    assert [o.status for o in outs] == ["COMPLETE", "ERROR", "COMPLETE"]
    assert outs[0].alpha_id and outs[2].alpha_id and outs[1].message
    assert ledger.get(OTHER.alpha_hash).state == "ERROR"
    assert posts(h)[OTHER.expression] == 1         # the failed child is never re-posted


def test_429_burst_backs_off_and_loses_no_simulation(emulator, tmp_path):
    h = emulator(faults="burst_429", burst_429=3, fault_gap=2)
    sleeps = []
    outs = Simulator(make(h, tmp_path, sleeps=sleeps), Ledger(tmp_path / "a.duckdb"), multi=False).run(
        [WEAK, OTHER, GOOD])
    assert [o.status for o in outs] == ["COMPLETE"] * 3
    assert h.state.sent_429 >= 3 and h.config.retry_after in sleeps       # Retry-After honoured
    assert posts(h) == {r.expression: 1 for r in (WEAK, OTHER)} | {GOOD.expression: 1}


def test_429_without_retry_after_uses_exponential_backoff(emulator, tmp_path):
    h = emulator(faults=["burst_429", "no_retry_after"], burst_429=2)
    sleeps = []
    c = make(h, tmp_path, sleeps=sleeps)
    assert c.user()["id"]
    assert any(0.015 <= s <= 0.05 for s in sleeps) and h.config.retry_after not in sleeps


def test_concurrency_limit_shrinks_the_slots(emulator, tmp_path):
    h = emulator(slots=1, sim_seconds=0.2)
    c = make(h, tmp_path, start_concurrency=3, max_concurrency=3)
    extra = [SimulationRequest.of(e) for e in ("rank(volume)", "rank(-close)", "rank(vwap)")]
    outs = Simulator(c, Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK, OTHER, GOOD, *extra])
    assert [o.status for o in outs] == ["COMPLETE"] * 6
    assert h.state.concurrency_429 >= 1 and c.slots.limit < 3
    assert sorted(posts(h).values()) == [1] * 6


def test_5xx_is_retried(emulator, tmp_path):
    h = emulator(faults="burst_5xx", burst_5xx=2)
    c = make(h, tmp_path)
    assert len(c.operators()) > 10 and h.state.sent_5xx == 2


def test_dropped_post_is_unknown_and_never_resent(emulator, tmp_path):
    h = emulator()
    c, ledger = make(h, tmp_path), Ledger(tmp_path / "a.duckdb")
    c.login()
    h.set_faults("drop")                          # the next API request (the POST) loses its connection
    out = Simulator(c, ledger, multi=False).run([WEAK])[0]
    assert out.status == "UNKNOWN" and "not re-sent" in out.message
    again = Simulator(c, ledger, multi=False).run([WEAK])[0]
    assert again.status == "UNKNOWN" and not again.posted and h.state.dropped == 1


def test_stuck_poll_times_out_with_its_reason_then_resumes(emulator, tmp_path):
    h = emulator(faults="stuck")
    ledger = Ledger(tmp_path / "a.duckdb")
    out = Simulator(make(h, tmp_path, sim_timeout=0.3), ledger, multi=False).run([WEAK])[0]
    assert out.status == "TIMEOUT" and "parked" in out.message and out.simulation_id
    assert ledger.get(WEAK.alpha_hash).state == "TIMEOUT"
    h.set_faults()
    resumed = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb")).resume()
    assert [(o.alpha_hash, o.status) for o in resumed] == [(WEAK.alpha_hash, "COMPLETE")]
    assert posts(h) == {WEAK.expression: 1}


def test_a_stuck_first_simulation_does_not_keep_the_other_slots_idle(emulator, tmp_path, real_panel):
    from alpha_core.sim.simulate import simulate_one

    for r in (GOOD, WEAK, OTHER):                # warm kernels: the emulator's engine answers within the timeout
        simulate_one(r.expression, real_panel, r.settings)
    h = emulator(faults="stuck")                 # the first simulation posted never finishes
    ledger = Ledger(tmp_path / "a.duckdb")
    outs = Simulator(make(h, tmp_path, sim_timeout=1.0), ledger, multi=False).run([GOOD, WEAK, OTHER])
    assert sorted(o.status for o in outs) == ["COMPLETE", "COMPLETE", "TIMEOUT"]
    # slow start grows on the accepted POST: the others finished beside the stuck one, before its timeout
    timeout = ledger.entries(["TIMEOUT"])[0].updated_at
    assert max(r.updated_at for r in ledger.entries(["COMPLETE"])) < timeout


def test_a_parked_stuck_simulation_is_re_polled_beside_the_new_posts(emulator, tmp_path, real_panel):
    from alpha_core.sim.simulate import simulate_one

    for r in (GOOD, OTHER):
        simulate_one(r.expression, real_panel, r.settings)
    h = emulator(faults="stuck")
    ledger = Ledger(tmp_path / "a.duckdb")
    assert Simulator(make(h, tmp_path, sim_timeout=0.3), ledger).run([WEAK])[0].status == "TIMEOUT"
    # a new process (fresh slot state: limit 1) resumes the parked one and posts the day's new ones beside it
    client = make(h, tmp_path, sim_timeout=1.5, state_path=tmp_path / "new_state.json")
    outs = Simulator(client, ledger, multi=False).run([GOOD, OTHER], resume_all=True)
    assert [o.status for o in outs] == ["COMPLETE", "COMPLETE"] and all(o.posted for o in outs)
    parked = ledger.get(WEAK.alpha_hash)
    assert parked.state == "TIMEOUT" and max(r.updated_at for r in ledger.entries(["COMPLETE"])) < parked.updated_at
    assert posts(h) == {WEAK.expression: 1, GOOD.expression: 1, OTHER.expression: 1}


def test_a_parked_multi_simulation_is_resumed_through_its_parent(emulator, tmp_path):
    h = emulator(faults="stuck")
    ledger = Ledger(tmp_path / "a.duckdb")
    outs = Simulator(make(h, tmp_path, sim_timeout=0.3), ledger, multi=True).run([WEAK, OTHER])
    assert [o.status for o in outs] == ["TIMEOUT", "TIMEOUT"]
    parents = {ledger.get(r.alpha_hash).parent_id for r in (WEAK, OTHER)}
    assert len(parents) == 1 and None not in parents
    h.set_faults()
    # the day asks in another order than the children's: each hash still gets its own child's alpha
    resumed = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb")).run([OTHER, WEAK], resume_all=True)
    assert [o.status for o in resumed] == ["COMPLETE", "COMPLETE"]
    assert [o.alpha["regular"]["code"] for o in resumed] == [OTHER.expression, WEAK.expression]
    assert posts(h) == {WEAK.expression: 1, OTHER.expression: 1}


def test_a_child_parked_after_its_parent_answered_is_re_polled_by_its_own_id(emulator, tmp_path):
    h = emulator()
    ledger = Ledger(tmp_path / "a.duckdb")
    first = Simulator(make(h, tmp_path), ledger, multi=True).run([WEAK, OTHER])
    assert [o.status for o in first] == ["COMPLETE", "COMPLETE"]
    row = ledger.get(OTHER.alpha_hash)            # the second child, parked as a failed alpha fetch leaves it
    assert row.parent_id and row.simulation_id and row.simulation_id != row.parent_id
    ledger.update(OTHER.alpha_hash, state="IN_FLIGHT", alpha_id=None, result=None, message="parked")
    again = Simulator(make(h, tmp_path), ledger).run([WEAK, OTHER])
    assert [(o.status, o.alpha_id) for o in again] == [(o.status, o.alpha_id) for o in first]
    assert posts(h) == {WEAK.expression: 1, OTHER.expression: 1}


def test_crash_while_polling_repolls_the_stored_id(emulator, tmp_path):
    h = emulator(faults="stuck")

    def crash(seconds):
        raise Crash()

    with pytest.raises(Crash):
        Simulator(make(h, tmp_path, sleep=crash), Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK])
    row = Ledger(tmp_path / "a.duckdb").get(WEAK.alpha_hash)
    assert row.state == "IN_FLIGHT" and row.simulation_id
    h.set_faults()
    out = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK])[0]
    assert out.status == "COMPLETE" and out.simulation_id == row.simulation_id
    assert posts(h) == {WEAK.expression: 1}


def test_quota_reserve_stops_posting(emulator, tmp_path):
    h = emulator(daily_quota=3)
    ledger = Ledger(tmp_path / "a.duckdb")
    c = make(h, tmp_path, quota_reserve=0.34, max_concurrency=1)       # reserve: 2 of 3
    outs = Simulator(c, ledger, multi=False).run([WEAK, OTHER, GOOD])
    assert [o.status for o in outs] == ["COMPLETE", "NOT_POSTED", "NOT_POSTED"]
    assert "reserve" in outs[1].message and ledger.get(OTHER.alpha_hash) is None   # free to post tomorrow
    assert c.quota.remaining == 2 and c.quota.limit == 3


def test_quota_running_out_on_brain_is_not_posted(emulator, tmp_path):
    h = emulator(faults="quota", quota_left=1)
    ledger = Ledger(tmp_path / "a.duckdb")
    outs = Simulator(make(h, tmp_path, max_concurrency=1), ledger, multi=False).run([WEAK, OTHER])
    assert [o.status for o in outs] == ["COMPLETE", "NOT_POSTED"] and ledger.get(OTHER.alpha_hash) is None


# ---- results, check, submit, correlations, catalogue (§7-§11) -------------------------------------------
def test_alpha_results_and_record_sets(emulator, tmp_path):
    h = emulator()
    c = make(h, tmp_path)
    out = Simulator(c, Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK])[0]
    pnl = c.daily_pnl(out.alpha_id)
    assert len(pnl) > 200 and isinstance(pnl[0][0], str) and isinstance(pnl[0][1], float)
    years = c.yearly_stats(out.alpha_id)
    assert years and {"year", "sharpe", "turnover", "fitness"} <= set(years[0])
    assert c.recordsets(out.alpha_id)
    with pytest.raises(NotFound) as err:
        c.alpha("NOPE1234")
    assert err.value.status == 404 and err.value.path == "/alphas/NOPE1234"


def test_submit_outcomes(emulator, tmp_path):
    h = emulator()
    c, ledger = make(h, tmp_path), Ledger(tmp_path / "a.duckdb")
    sim = Simulator(c, ledger, multi=False)
    good, weak = sim.run([GOOD, WEAK])
    assert [x["name"] for x in c.check(weak.alpha_id) if x["result"] == "FAIL"] == ["LOW_FITNESS"]
    rejected = sim.submit(weak.alpha_hash)
    assert rejected.status == "REJECTED" and rejected.failing() == ["LOW_FITNESS"]
    accepted = sim.submit(good.alpha_hash)
    assert accepted.status == "ACCEPTED", accepted.message
    assert c.alpha(good.alpha_id)["stage"] == "OS"
    again = sim.submit(good.alpha_hash)           # answered by the ledger, nothing sent
    assert again.status == "ACCEPTED" and not again.posted
    assert h.state.submissions == [good.alpha_id]
    direct = c.submit(good.alpha_id)              # BRAIN itself refuses a second submission (403)
    assert direct.status == "REJECTED" and "ALREADY_SUBMITTED" in direct.failing()


def test_a_submission_interrupted_after_its_post_is_polled_not_reposted(emulator, tmp_path):
    h = emulator()
    c, ledger = make(h, tmp_path), Ledger(tmp_path / "a.duckdb")
    sim = Simulator(c, ledger, multi=False)
    good = sim.run([GOOD])[0]
    assert c.request("POST", f"/alphas/{good.alpha_id}/submit", expect_json=False).status_code == 201
    ledger.update(good.alpha_hash, submit_state="SUBMITTING")      # the run died here
    result = Simulator(make(h, tmp_path), Ledger(tmp_path / "a.duckdb")).submit(good.alpha_hash)
    assert result.status == "ACCEPTED" and h.state.submissions == [good.alpha_id]
    assert [r["method"] for r in h.state.requests if r["path"].endswith("/submit")].count("POST") == 1


def test_correlations_and_the_403_state(emulator, tmp_path):
    h = emulator()
    c = make(h, tmp_path)
    out = Simulator(c, Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK])[0]
    prod = c.correlations(out.alpha_id, "prod")
    assert prod.available and len(prod.records) == 20 and prod.columns == ["min", "max", "alphas"]
    assert c.correlations(out.alpha_id, "self").available
    with pytest.raises(ValueError, match="kind"):
        c.correlations(out.alpha_id, "team")
    low = emulator(permissions=("MULTI_SIMULATION",))
    c2 = make(low, tmp_path / "low")
    out2 = Simulator(c2, Ledger(tmp_path / "b.duckdb"), multi=False).run([WEAK])[0]
    assert c2.correlations(out2.alpha_id, "self").available is False


def test_catalogue_paging_operators_and_options(emulator, tmp_path):
    h = emulator(operators_envelope=False)
    c = make(h, tmp_path)
    fields = c.data_fields("EQUITY", "USA", 1, "TOP3000")
    assert fields.count > 50 and len(fields.items) == fields.count and not fields.truncated
    assert len({f["id"] for f in fields.items}) == fields.count
    assert len([r for r in h.state.requests if r["path"] == "/data-fields"]) == -(-fields.count // 50)
    assert c.data_sets("EQUITY", "USA", 1, "TOP3000").items
    assert all("name" in op for op in c.operators())
    opts = c.simulation_options()
    assert {"decay", "universe", "neutralization"} <= set(opts)
    c.simulation_options()
    assert len([r for r in h.state.requests if r["method"] == "OPTIONS"]) == 1        # cached for the day


# ---- secrets (§12) ---------------------------------------------------------------------------------------
def test_password_and_cookie_never_in_logs_errors_or_repr(emulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    h = emulator(faults="persona", expire_after=0)
    c = make(h, tmp_path, on_persona=lambda url: None)
    c.login()
    h.set_faults("expired", "burst_429")
    Simulator(c, Ledger(tmp_path / "a.duckdb"), multi=False).run([WEAK, TYPO])
    token = c._token.get_secret_value()
    texts = [caplog.text, repr(c), str(c.options), repr(c.session)]
    bad = make(h, tmp_path / "other", password="wrong-" + PASSWORD)
    with pytest.raises(BrainError) as err:
        bad.login()
    texts += [str(err.value), repr(err.value), str(err.value.body), repr(bad)]
    for text in texts:
        assert PASSWORD not in text and token not in text and "inquiry=" not in text
    assert len(token) > 8 and "brain_state.json" in str(c.options.state_path)
    assert PASSWORD not in (tmp_path / "brain_state.json").read_text()
    assert token not in (tmp_path / "brain_state.json").read_text()
