"""The loopback BRAIN emulator over real HTTP (httpx against ``run_in_thread``; BRAIN_API.md §2-§13)."""
import json
import time

import httpx
import pytest
from pydantic import ValidationError

from alpha_core.brain.emulator import FAULTS, EmulatorConfig, EmulatorError, run_in_thread
from alpha_core.cli import main

SETTINGS = {"instrumentType": "EQUITY", "region": "USA", "universe": "TOP3000", "delay": 1, "decay": 4,
            "neutralization": "SUBINDUSTRY", "truncation": 0.08, "pasteurization": "ON", "unitHandling": "VERIFY",
            "nanHandling": "OFF", "language": "FASTEXPR", "visualization": False, "testPeriod": "P0Y0M",
            "maxTrade": "OFF"}
GOOD = "rank(-ts_delta(close, 5))"   # sharpe about 2.4 on the local panel: passes every check
WEAK = "rank(close)"                 # fails LOW_SHARPE
FIELDS = {"instrumentType": "EQUITY", "region": "USA", "delay": 1, "universe": "TOP3000"}


def payload(expression, **settings):
    return {"type": "REGULAR", "settings": {**SETTINGS, **settings}, "regular": expression}


def login(h) -> httpx.Client:
    client = httpx.Client(base_url=h.url, timeout=30)
    r = client.post("/authentication", auth=(h.config.email, h.config.password.get_secret_value()))
    assert r.status_code == 201, r.text
    return client


def poll(client, url, limit=3000):
    """GET ``url``, sleeping Retry-After, until the answer has none (at most ``limit`` polls)."""
    for _ in range(limit):
        r = client.get(url)
        if "retry-after" not in r.headers:
            return r
        assert r.status_code == 200
        time.sleep(float(r.headers["retry-after"]))
    raise AssertionError(f"{url} still running after {limit} polls")


def simulate(client, body):
    r = client.post("/simulations", json=body)
    assert r.status_code == 201, r.text
    return poll(client, r.headers["location"]).json()


# ---- authentication (§2) -------------------------------------------------------------------------------------
def test_login_status_logout_and_bad_credentials(emulator):
    h = emulator()
    client = login(h)
    r = client.get("/authentication")
    assert r.status_code == 200
    body = r.json()
    assert body["user"]["id"] and "MULTI_SIMULATION" in body["permissions"]
    assert 14_000 < body["token"]["expiry"] <= 14_400
    assert client.get("/operators").status_code == 200
    assert client.delete("/authentication").status_code == 204
    assert client.get("/authentication").status_code == 204
    assert client.get("/operators").status_code == 401

    stranger = httpx.Client(base_url=h.url)
    r = stranger.post("/authentication", auth=(h.config.email, "wrong-password"))
    assert r.status_code == 401 and r.json() == {"detail": "INVALID_CREDENTIALS"}
    assert "www-authenticate" not in r.headers and "t" not in stranger.cookies
    assert stranger.get("/operators").status_code == 401
    assert h.state.logins == 1 and h.state.failed_logins == 1


def test_expiry_asked_for_at_login_and_preissued_session_token(emulator):
    h = emulator(session_token="pre-issued-token")
    client = httpx.Client(base_url=h.url)
    assert client.post("/authentication", auth=(h.config.email, h.config.password.get_secret_value()),
                       json={"expiry": 60}).json()["token"]["expiry"] <= 60
    assert client.post("/authentication", auth=(h.config.email, h.config.password.get_secret_value()),
                       json={"expiry": 0}).status_code == 400
    token_client = httpx.Client(base_url=h.url, cookies={"t": "pre-issued-token"})
    assert token_client.get("/authentication").status_code == 200
    assert httpx.get(f"{h.url}/operators", cookies={"t": "forged"}).status_code == 401


def test_persona_step(emulator):
    h = emulator(faults={"persona"}, persona_polls=3)
    client = httpx.Client(base_url=h.url)
    r = client.post("/authentication", auth=(h.config.email, h.config.password.get_secret_value()))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "persona"
    challenge = str(r.url.join(r.headers["location"]))
    assert challenge.startswith(f"{h.url}/authentication/persona?inquiry=inq_")
    assert [client.post(challenge).status_code for _ in range(2)] == [200, 200]
    r = client.post(challenge)
    assert r.status_code == 201 and r.json()["permissions"]
    assert client.get("/authentication").status_code == 200
    assert "persona" not in h.state.faults and h.state.persona_challenges == 1
    login(h)   # the fault was one-shot


def test_unknown_fault_and_non_loopback_host_are_refused():
    with pytest.raises(ValidationError, match="unknown fault.*nope"):
        EmulatorConfig(email="a@b.c", password="x", faults={"nope"})
    config = EmulatorConfig(email="a@b.c", password="hunter2-secret")
    with pytest.raises(EmulatorError, match="127.0.0.1 only"):
        with run_in_thread(config, host="0.0.0.0"):
            pass
    assert "hunter2-secret" not in repr(config) + str(config)
    with run_in_thread(config) as h:
        assert httpx.get(f"{h.url}/authentication").status_code == 204
        with pytest.raises(EmulatorError, match="Address already in use"):
            with run_in_thread(config, port=h.port):
                pass


# ---- simulations (§3-§5) -------------------------------------------------------------------------------------
def test_simulation_end_to_end_matches_the_local_simulator(emulator, real_panel):
    from alpha_core.sim.simulate import simulate_one

    h = emulator()
    client = login(h)
    r = client.post("/simulations", json=payload(GOOD))
    assert r.status_code == 201 and r.content == b""
    assert r.headers["location"].startswith(f"{h.url}/simulations/") and float(r.headers["retry-after"]) == 0.01
    assert int(r.headers["x-ratelimit-remaining"]) == int(r.headers["x-ratelimit-limit"]) - 1
    first = client.get(r.headers["location"])   # polls_to_finish = 2: the first poll is always running
    assert first.status_code == 200 and "retry-after" in first.headers and "progress" in first.json()
    done = poll(client, r.headers["location"]).json()
    assert done["status"] == "COMPLETE" and done["regular"] == GOOD and len(done["id"]) == 23
    alpha = client.get(f"/alphas/{done['alpha']}").json()
    assert len(alpha["id"]) == 8 and alpha["stage"] == "IS" and alpha["status"] == "UNSUBMITTED"
    assert alpha["regular"] == {"code": GOOD, "description": None, "operatorCount": 3}

    local = simulate_one(GOOD, real_panel, SETTINGS).result
    assert alpha["is"]["sharpe"] == pytest.approx(local.is_["sharpe"], rel=1e-12)
    assert alpha["is"]["fitness"] == pytest.approx(local.is_["fitness"], rel=1e-12)
    assert {c["name"]: c["result"] for c in alpha["is"]["checks"]}["LOW_SHARPE"] == "PASS"
    assert alpha["settings"]["startDate"] == alpha["is"]["startDate"] or alpha["settings"]["startDate"] <= \
        alpha["is"]["startDate"]

    daily = client.get(f"/alphas/{alpha['id']}/recordsets/daily-pnl").json()
    assert [p["name"] for p in daily["schema"]["properties"]] == ["date", "pnl"]
    pnl, dates = local.period_pnl("is")
    assert len(daily["records"]) == len(pnl) and daily["records"][0][0] == str(dates[0])
    assert sum(v for _, v in daily["records"]) == pytest.approx(local.is_["pnl"], rel=1e-9)
    yearly = client.get(f"/alphas/{alpha['id']}/recordsets/yearly-stats").json()
    assert [p["name"] for p in yearly["schema"]["properties"]][:2] == ["year", "pnl"]
    assert {row[-1] for row in yearly["records"]} == {"IS"}
    assert client.get(f"/alphas/{alpha['id']}/recordsets/coverage").status_code == 404
    assert h.state.posts[GOOD] == 1 and h.state.quota_used == 1
    again = simulate(client, payload(GOOD))     # a duplicate costs quota and returns the same alpha
    assert again["alpha"] == alpha["id"] and again["id"] != done["id"]
    assert h.state.posts[GOOD] == 2 and h.state.quota_used == 2
    listed = client.get("/users/self/alphas", params={"stage": "IS"}).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == alpha["id"]


def test_expression_error_is_async_with_location_and_settings_errors_are_400(emulator):
    h = emulator()
    client = login(h)
    done = simulate(client, payload("rank(clsoe)"))
    assert done["status"] == "ERROR" and "alpha" not in done
    assert done["message"] == 'Attempted to use unknown variable "clsoe"'
    assert done["location"] == {"property": "regular", "line": 1, "start": 5, "end": 10}

    r = client.post("/simulations", json=payload(GOOD, delay=2))
    assert r.status_code == 400 and r.json() == {"settings": {"delay": ['"2" is not a valid choice.']}}
    r = client.post("/simulations", json={"type": "REGULAR", "settings": SETTINGS})
    assert r.status_code == 400 and r.json() == {"regular": ["This field is required."]}
    r = client.post("/simulations", json=payload(GOOD, instrumentType="CRYPTO"))
    assert r.json() == {"settings": {"instrumentType": ["Instrument type CRYPTO is not available."]}}
    r = client.post("/simulations", json=[payload(GOOD), payload(GOOD, universe="TOP9")])
    assert r.status_code == 400 and r.json() == [{}, {"settings": {"universe": ['"TOP9" is not a valid choice.']}}]
    assert h.state.quota_used == 1


def test_concurrency_limit_answers_429_with_the_exact_detail(emulator):
    h = emulator(slots=1)
    client = login(h)
    first = client.post("/simulations", json=payload(GOOD))
    assert first.status_code == 201
    r = client.post("/simulations", json=payload(WEAK))
    assert r.status_code == 429 and r.json() == {"detail": "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"}
    assert h.state.concurrency_429 == 1 and h.state.posts[WEAK] == 0
    poll(client, first.headers["location"])
    assert client.post("/simulations", json=payload(WEAK)).status_code == 201


def test_slot_log_steps_with_running_and_stuck_simulations_and_integrates(emulator):
    from alpha_core.brain.emulator import EmulatorState

    h = emulator(slots=2, faults="stuck")
    client = login(h)
    typos = ("rank(clsoe)", "rank(volmue)")  # lint errors: jobs that hold a slot without running the engine
    stuck, other = (client.post("/simulations", json=payload(e)).headers["location"] for e in typos)
    assert h.state.last_post_at == h.state.slot_log[-1][0]
    poll(client, other)
    h.set_faults()
    poll(client, stuck)                       # released on its first poll, done on its second
    assert [(n, s) for _, n, s in h.state.slot_log] == [(1, 1), (2, 1), (1, 1), (1, 0), (0, 0)]
    steps = EmulatorState(slot_log=[(0.0, 1, 0), (2.0, 3, 1), (5.0, 0, 0)])
    assert steps.slot_seconds(1.0, 6.0) == (1.0 + 9.0, 3.0) and steps.slot_seconds(-1.0, 0.0) == (0.0, 0.0)
    with pytest.raises(ValueError, match="start <= end"):
        steps.slot_seconds(2.0, 1.0)


def test_multi_simulation_with_a_bad_child_cancels_the_batch(emulator):
    h = emulator()
    client = login(h)
    batch = [payload(GOOD), payload("rank(clsoe)"), payload(WEAK, decay=0)]
    parent = simulate(client, batch)
    assert parent["status"] == "ERROR" and len(parent["children"]) == 3
    children = [client.get(f"/simulations/{c}").json() for c in parent["children"]]
    assert [c["status"] for c in children] == ["CANCELLED", "ERROR", "CANCELLED"]
    assert all(c["parent"] == parent["id"] and "alpha" not in c for c in children)
    assert children[1]["location"]["start"] == 5
    assert h.state.quota_used == 3

    good = simulate(client, [payload(GOOD), payload(WEAK, decay=0)])   # re-post the good siblings
    assert good["status"] == "COMPLETE"
    alphas = [client.get(f"/simulations/{c}").json()["alpha"] for c in good["children"]]
    assert len(set(alphas)) == 2 and h.state.quota_used == 5

    h.set_faults("multi_bad")   # the fault makes child bad_child (0) fail although it lints clean
    faulty = simulate(client, [payload(GOOD), payload(WEAK, decay=0)])
    assert faulty["status"] == "ERROR"
    assert [client.get(f"/simulations/{c}").json()["status"] for c in faulty["children"]] == ["ERROR", "CANCELLED"]


def test_multi_simulation_rules(emulator):
    h = emulator(permissions=("CONSULTANT",))
    client = login(h)
    assert client.post("/simulations", json=[payload(GOOD), payload(WEAK)]).status_code == 403
    h2 = emulator()
    client2 = login(h2)
    assert client2.post("/simulations", json=[payload(GOOD)]).status_code == 400
    r = client2.post("/simulations", json=[payload(GOOD), payload(WEAK, delay=0)])
    assert r.status_code == 400 and list(r.json()[1]["settings"]) == ["delay"]


def test_daily_quota_headers_run_out_and_reset(emulator):
    h = emulator(daily_quota=2, slots=5)
    client = login(h)
    remaining = [client.post("/simulations", json=payload(GOOD)).headers["x-ratelimit-remaining"] for _ in range(2)]
    assert remaining == ["1", "0"]
    r = client.post("/simulations", json=payload(GOOD))
    assert r.status_code == 429 and r.json() == {"detail": "DAILY_SIMULATION_LIMIT_EXCEEDED"}
    assert r.headers["x-ratelimit-remaining"] == "0" and int(r.headers["x-ratelimit-reset"]) > 0
    assert h.state.quota_used == 2
    assert httpx.post(f"{h.url}/_emulator/reset").status_code == 200
    assert client.post("/simulations", json=payload(GOOD)).headers["x-ratelimit-remaining"] == "1"


def test_quota_fault_leaves_quota_left_simulations(emulator):
    h = emulator(quota_left=1, slots=5)
    client = login(h)
    assert client.post("/simulations", json=payload(GOOD)).status_code == 201
    h.set_faults("quota")
    assert client.post("/simulations", json=payload(GOOD)).headers["x-ratelimit-remaining"] == "0"
    assert client.post("/simulations", json=[payload(GOOD), payload(WEAK)]).status_code == 429
    h.set_faults()
    assert client.post("/simulations", json=payload(GOOD)).status_code == 201


# ---- faults (§13) ----------------------------------------------------------------------------------------------
def test_429_bursts_with_and_without_retry_after(emulator):
    h = emulator(faults={"burst_429"}, burst_429=2, fault_gap=1)
    client = login(h)   # /authentication is never faulted
    answers = [client.get("/operators") for _ in range(6)]
    assert [r.status_code for r in answers] == [429, 429, 200, 429, 429, 200]
    assert answers[0].headers["retry-after"] == "0.01" and h.state.sent_429 == 4
    h.set_faults("burst_429", "no_retry_after")
    r = client.get("/operators")
    assert r.status_code == 429 and "retry-after" not in r.headers
    with pytest.raises(ValueError, match="unknown fault.*typo"):
        h.set_faults("typo")
    r = httpx.put(f"{h.url}/_emulator/faults", json={"faults": ["typo"]})
    assert r.status_code == 400 and "typo" in r.json()["faults"][0]
    assert httpx.put(f"{h.url}/_emulator/faults", json={"faults": []}).json() == {"faults": []}
    assert client.get("/operators").status_code == 200


def test_request_rate_headers_and_limit(emulator):
    h = emulator(rate_per_minute=3)
    client = login(h)
    answers = [client.get("/operators") for _ in range(4)]
    assert [r.headers["x-ratelimit-remaining-minute"] for r in answers[:3]] == ["2", "1", "0"]
    assert answers[3].status_code == 429 and answers[3].json() == {"message": "API rate limit exceeded"}
    assert answers[0].headers["x-ratelimit-limit-second"] == "1000"


def test_5xx_drop_and_slow(emulator):
    h = emulator(faults={"burst_5xx"}, burst_5xx=4, fault_gap=1, slow_seconds=0.5)
    client = login(h)
    assert [client.get("/operators").status_code for _ in range(5)] == [500, 502, 503, 504, 200]
    h.set_faults("drop")   # bursts of 1 drop, then fault_gap (1) normal answers
    for _ in range(2):
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/operators")
        assert client.get("/operators").status_code == 200
    assert h.state.dropped == 2
    h.set_faults("slow")
    with pytest.raises(httpx.ReadTimeout):
        client.get("/operators", timeout=httpx.Timeout(5, read=0.05))
    h.set_faults()
    assert client.get("/operators").status_code == 200


def test_stuck_poll_until_cleared(emulator):
    h = emulator(faults={"stuck"})
    client = login(h)
    stuck = client.post("/simulations", json=payload(GOOD)).headers["location"]
    other = simulate(client, payload(WEAK))          # only the next simulation gets stuck
    assert other["status"] == "COMPLETE"
    for _ in range(20):
        r = client.get(stuck)
        assert "retry-after" in r.headers and "status" not in r.json()
    h.set_faults()
    assert poll(client, stuck).json()["status"] == "COMPLETE"


def test_expired_session_and_stale_html(emulator):
    h = emulator(faults={"expired"}, expire_after=1)
    client = login(h)
    assert client.get("/operators").status_code == 200
    assert client.get("/operators").status_code == 401
    assert client.get("/authentication").status_code == 204
    assert h.state.sessions_expired == 1 and "expired" not in h.state.faults
    client = login(h)
    assert client.get("/operators").status_code == 200
    h.set_faults("stale_html")
    r = client.get("/operators")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert client.get("/authentication").status_code == 204


def test_bad_login_and_error_faults(emulator):
    h = emulator(faults={"bad_login"})
    r = httpx.post(f"{h.url}/authentication", auth=(h.config.email, h.config.password.get_secret_value()))
    assert r.status_code == 401
    h.set_faults("error")
    client = login(h)
    done = simulate(client, payload(GOOD))
    assert done["status"] == "ERROR" and done["message"] and done["location"]["property"] == "regular"


# ---- submit, check, correlations (§8-§10) -------------------------------------------------------------------------
def test_submit_flow_accepted_then_already_submitted_and_rejected(emulator):
    h = emulator()
    client = login(h)
    good = simulate(client, payload(GOOD))["alpha"]
    weak = simulate(client, payload(WEAK))["alpha"]

    checks = poll(client, f"/alphas/{good}/check").json()["is"]["checks"]
    assert not [c for c in checks if c["result"] == "FAIL"]
    r = client.post(f"/alphas/{good}/submit")
    assert r.status_code == 201 and r.headers["location"] == f"http://127.0.0.1:443/alphas/{good}/submit"
    path = httpx.URL(r.headers["location"]).path          # the client keeps the path, drops the :443 origin
    assert client.get(path).headers.get("retry-after")     # running
    final = poll(client, path)
    assert final.status_code == 404 and final.content == b""   # accepted
    alpha = client.get(f"/alphas/{good}").json()
    assert (alpha["status"], alpha["stage"]) == ("ACTIVE", "OS") and alpha["os"]["sharpe"] is not None
    assert h.state.submissions == [good]
    again = client.post(f"/alphas/{good}/submit")
    assert again.status_code == 403
    assert {"name": "ALREADY_SUBMITTED", "result": "FAIL"} in again.json()["is"]["checks"]

    client.post(f"/alphas/{weak}/submit")
    rejected = poll(client, f"/alphas/{weak}/submit")
    assert rejected.status_code == 403
    failing = {c["name"] for c in rejected.json()["is"]["checks"] if c["result"] == "FAIL"}
    assert "LOW_SHARPE" in failing and h.state.rejected_submissions == [weak]
    assert client.post("/alphas/NOPE1234/submit").status_code == 404

    own = client.get(f"/alphas/{weak}/correlations/self")
    assert own.status_code == 200 and "retry-after" in own.headers
    corr = poll(client, f"/alphas/{weak}/correlations/self").json()
    assert corr["schema"]["name"] == "selfCorrelation" and [r[0] for r in corr["records"]] == [good]
    assert corr["max"] == corr["records"][0][5]
    prod = poll(client, f"/alphas/{weak}/correlations/prod").json()
    assert len(prod["records"]) == 20 and sum(r[2] for r in prod["records"]) == 1


def test_correlations_forbidden_for_low_level_accounts(emulator):
    h = emulator(permissions=("MULTI_SIMULATION",))
    client = login(h)
    alpha = simulate(client, payload(GOOD))["alpha"]
    assert client.get(f"/alphas/{alpha}/correlations/prod").status_code == 403


# ---- catalogue (§3, §11) ---------------------------------------------------------------------------------------
def test_data_fields_paging_and_validation(emulator):
    from alpha_core.data.registry import default_registry

    h = emulator()
    client = login(h)
    seen, offset = [], 0
    while True:
        page = client.get("/data-fields", params={**FIELDS, "limit": 20, "offset": offset}).json()
        seen += [f["id"] for f in page["results"]]
        offset += 20
        if offset >= page["count"]:
            break
    assert sorted(seen) == sorted(f.id for f in default_registry()) and len(seen) == len(set(seen))
    only = client.get("/data-fields", params={**FIELDS, "dataset.id": "pv1", "type": "MATRIX"}).json()
    assert only["count"] and {f["dataset"]["id"] for f in only["results"]} == {"pv1"}
    assert client.get("/data-fields", params={**FIELDS, "limit": 51}).status_code == 400
    assert client.get("/data-fields", params={**FIELDS, "offset": 9_990}).status_code == 400
    r = client.get("/data-fields", params={"region": "USA"})
    assert r.status_code == 400 and set(r.json()) == {"instrumentType", "delay", "universe"}
    sets = client.get("/data-sets", params=FIELDS).json()
    assert sum(s["fieldCount"] for s in sets["results"]) == len(seen)
    assert client.get("/data-sets", params={**FIELDS, "theme": "ALL"}).status_code == 400


def test_operators_shapes_and_options(emulator):
    h = emulator()
    client = login(h)
    ops = client.get("/operators").json()
    assert ops["count"] == len(ops["operators"]) > 50 and {"name", "level", "scope"} <= set(ops["operators"][0])
    bare = emulator(operators_envelope=False)
    assert isinstance(login(bare).get("/operators").json(), list)
    options = client.request("OPTIONS", "/simulations").json()
    children = options["actions"]["POST"]["settings"]["children"]
    assert children["decay"]["type"] == "integer"
    universes = children["universe"]["choices"]["instrumentType"]["EQUITY"]["region"]["USA"]
    assert "TOP3000" in [c["value"] for c in universes]


# ---- secrets and the command ----------------------------------------------------------------------------------
def test_no_secret_in_state_or_log(emulator):
    h = emulator(faults={"persona"}, persona_polls=1)
    client = httpx.Client(base_url=h.url)
    r = client.post("/authentication", auth=(h.config.email, h.config.password.get_secret_value()))
    client.post(str(r.url.join(r.headers["location"])))
    client.get("/operators")
    token = client.cookies["t"]
    dump = json.dumps(h.state.summary()) + httpx.get(f"{h.url}/_emulator/log").text
    for secret in (h.config.password.get_secret_value(), token, "inq_"):
        assert secret not in dump
    assert [e["path"] for e in h.state.requests][-1] == "/operators"


def test_cli_needs_credentials_and_documents_every_fault(monkeypatch, capsys):
    monkeypatch.delenv("BRAIN_EMAIL", raising=False)
    monkeypatch.delenv("BRAIN_PASSWORD", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["brain-emulator", "--port", "0"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1 and "BRAIN_EMAIL and BRAIN_PASSWORD" in err
    monkeypatch.setenv("BRAIN_EMAIL", "someone@example.com")
    monkeypatch.setenv("BRAIN_PASSWORD", "cli-secret-value")
    with pytest.raises(SystemExit):
        main(["brain-emulator", "--faults", "slow,bogus"])
    err = capsys.readouterr().err
    assert "--faults" in err and "bogus" in err and "cli-secret-value" not in err
    with pytest.raises(SystemExit):
        main(["brain-emulator", "--help"])
    out = capsys.readouterr().out
    assert all(f"  {name}: " in out for name in FAULTS)
