"""The emulator's server: BRAIN's REST paths (BRAIN_API.md §2-§11) on Starlette, the local simulator as engine.

State lives in one ``Emulator`` object (``app.state.emulator``); every handler runs on the server's event
loop, simulations run in a thread pool. A job (simulation, check, submission, correlation) answers "running"
with ``Retry-After`` until it was polled ``polls_to_finish`` times, ``sim_seconds`` passed and its engine work
is done, so a test sees the running state deterministically. Nothing here logs a secret: the request log keeps
method, path (no query) and status only.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
import random
import secrets
import string
import threading
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alpha_core.brain.emulator.config import EmulatorConfig, fault_names
from alpha_core.data.errors import DataFileError

TERMINAL = ("COMPLETE", "WARNING", "ERROR", "CANCELLED", "TIMEOUT", "FAIL")
NOT_FOUND = {"detail": "Not found."}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}
_ID_CHARS = string.ascii_letters + string.digits
_DROP_MESSAGE = "ASGI callable returned without completing response."


class _QuietDrop(logging.Filter):
    """Hide uvicorn's error line for the connections the ``drop`` fault cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_MESSAGE


logging.getLogger("uvicorn.error").addFilter(_QuietDrop())


@dataclass
class EmulatorState:
    """What the server did, for tests and ``GET /_emulator/state``. Counters only grow (``reset`` zeroes the quota).

    ``posts``: Counter of posted expressions (each multi child counts); ``requests``: the request log, the
    last 100,000 (``{"method", "path", "status"}``, no query, no header). ``slot_log``: the account's busy
    slots as a step function, one ``(time.monotonic() s, running simulations, of them stuck)`` entry after
    every change (a multi-simulation parent counts once); ``last_post_at``: monotonic time of the last
    accepted ``POST /simulations`` (read with ``slot_seconds``; issue 14 "Measured").
    """

    faults: set[str] = field(default_factory=set)
    logins: int = 0
    failed_logins: int = 0
    persona_challenges: int = 0
    sessions_expired: int = 0
    posts: Counter = field(default_factory=Counter)
    simulations: int = 0          # simulations accepted (children counted)
    quota_used: int = 0
    sent_429: int = 0             # every 429 (bursts, rate limit, concurrency, quota)
    concurrency_429: int = 0
    sent_5xx: int = 0
    dropped: int = 0
    submissions: list[str] = field(default_factory=list)   # alpha ids accepted
    rejected_submissions: list[str] = field(default_factory=list)
    requests: deque = field(default_factory=lambda: deque(maxlen=100_000))
    slot_log: list = field(default_factory=list)
    last_post_at: float | None = None

    def slot_seconds(self, start: float, end: float) -> tuple[float, float]:
        """Time-weighted busy slots between monotonic times ``start`` and ``end`` (s): (slot-seconds busy, of
        them held by a stuck simulation). Divide by ``slots * (end - start)`` for the utilisation. Zero before
        the first entry; ValueError when ``end < start``."""
        if end < start:
            raise ValueError(f"slot_seconds needs start <= end, got {start} > {end}")
        busy = stuck = 0.0
        log = list(self.slot_log)
        for (t, running, held), nxt in zip(log, log[1:] + [(end, 0, 0)]):
            width = min(nxt[0], end) - max(t, start)
            if width > 0:
                busy, stuck = busy + running * width, stuck + held * width
        return busy, stuck

    def summary(self) -> dict:
        """JSON-safe counters (no request log)."""
        return {"faults": sorted(self.faults), "logins": self.logins, "failed_logins": self.failed_logins,
                "persona_challenges": self.persona_challenges, "sessions_expired": self.sessions_expired,
                "posts": dict(self.posts), "simulations": self.simulations, "quota_used": self.quota_used,
                "sent_429": self.sent_429, "concurrency_429": self.concurrency_429, "sent_5xx": self.sent_5xx,
                "dropped": self.dropped, "submissions": list(self.submissions),
                "rejected_submissions": list(self.rejected_submissions)}


@dataclass
class _Job:
    id: str
    payload: Any
    created: float
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    future: Future | None = None
    key: tuple[str, str] | None = None  # (expression, settings identity): one alpha per key, as BRAIN dedups
    polls: int = 0
    stuck: bool = False
    status: str | None = None           # set once terminal
    alpha: str | None = None
    message: str | None = None
    location: dict | None = None
    error: dict | None = None           # a forced or lint error decided at POST time: {"message", "location"}


@dataclass
class _Alpha:
    id: str
    payload: dict
    outcome: Any                        # simulate.Outcome with its SimResult (weights dropped)
    created: str
    status: str = "UNSUBMITTED"
    stage: str = "IS"
    submitted: str | None = None
    meta: dict = field(default_factory=dict)   # PATCHed name, color, category, tags, description
    submit: dict | None = None          # {"polls", "result": None (running) | "ACCEPTED" | failing checks}


class _DropResponse(Response):
    """Sends the status line and a Content-Length, then no body: uvicorn closes the connection."""

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")]})


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _json(body: Any, status: int = 200, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _empty(status: int = 200, headers: dict | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers)


class Emulator:
    """The server state and the protocol. ``panel``: the ``Panel`` simulated on (None = ``load_panel()`` at the
    first simulation)."""

    def __init__(self, config: EmulatorConfig, panel=None):
        self.config = config
        self.state = EmulatorState(faults=set())
        self._panel = panel
        self._panel_lock = threading.Lock()
        self._lock = threading.RLock()
        self._rng = random.Random(config.seed)
        self._executor = ThreadPoolExecutor(max_workers=config.slots, thread_name_prefix="brain-emulator")
        self._cache: dict[tuple[str, str], Future] = {}
        self._alpha_of: dict[tuple[str, str], str] = {}    # (expression, settings identity) -> alpha id
        self.jobs: dict[str, _Job] = {}
        self.alphas: dict[str, _Alpha] = {}
        self._sessions: dict[str, float] = {}          # token -> expiry (monotonic)
        self._inquiries: dict[str, int] = {}           # persona inquiry -> POSTs seen
        self._cycles: Counter = Counter()               # fault -> events seen since switched on
        self._stuck_armed = False
        self._expire_countdown = 0
        self._quota_base = 0
        self._async_polls: Counter = Counter()           # (kind, alpha id) -> polls
        self._rate_windows = {"second": deque(), "minute": deque()}   # request times in the sliding windows
        self.set_faults(config.faults)
        if config.session_token is not None:
            self._sessions[config.session_token.get_secret_value()] = time.monotonic() + config.token_lifetime

    # ---- faults ------------------------------------------------------------------------------------------
    def set_faults(self, faults) -> None:
        """Replace the active faults (names of ``FAULTS``; raises ``ValueError`` naming unknown ones). A fault
        switched on starts its burst cycle afresh; ``stuck`` arms one job, ``expired`` its countdown, ``quota``
        its allowance."""
        names = fault_names(faults)
        with self._lock:
            for name in names - self.state.faults:
                self._cycles[name] = 0
                if name == "stuck":
                    self._stuck_armed = True
                elif name == "expired":
                    self._expire_countdown = self.config.expire_after
                elif name == "quota":
                    self._quota_base = self.state.quota_used
            self.state.faults = set(names)

    def _fires(self, name: str, burst: int) -> bool:
        """Whether this event of stream fault ``name`` is faulty (``burst`` faulty, then ``fault_gap`` normal)."""
        with self._lock:
            if name not in self.state.faults:
                return False
            n = self._cycles[name]
            self._cycles[name] += 1
            return n % (burst + self.config.fault_gap) < burst

    def reset(self) -> None:
        """Reset the daily quota counter (``POST /_emulator/reset``)."""
        with self._lock:
            self.state.quota_used = 0
            self._quota_base = 0

    def close(self) -> None:
        """Stop the simulation threads (running ones finish)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---- engine ------------------------------------------------------------------------------------------
    def panel(self):
        """The panel (loaded on first use)."""
        with self._panel_lock:
            if self._panel is None:
                from alpha_core.data.loader import load_panel

                self._panel = load_panel()
            return self._panel

    def _simulate(self, expression: str, settings):
        from alpha_core.sim.simulate import simulate_one

        outcome = simulate_one(expression, self.panel(), settings)
        if outcome.result is not None:
            outcome.result.weights = None
        return outcome

    def _engine(self, key: tuple[str, str], settings) -> Future:
        if key not in self._cache:
            self._cache[key] = self._executor.submit(self._simulate, key[0], settings)
        return self._cache[key]

    def _sim_id(self) -> str:
        return "".join(self._rng.choice(_ID_CHARS) for _ in range(23))

    def _alpha_id(self) -> str:
        return "".join(self._rng.choice(_ID_CHARS) for _ in range(8))

    # ---- sessions ----------------------------------------------------------------------------------------
    def _session(self, request: Request) -> str | None:
        token = request.cookies.get("t")
        expiry = self._sessions.get(token) if token else None
        if expiry is None:
            return None
        if expiry <= time.monotonic():
            del self._sessions[token]
            return None
        return token

    def _login_body(self, token: str) -> dict:
        return {"user": {"id": self.config.user_id},
                "token": {"expiry": round(self._sessions[token] - time.monotonic(), 3)},
                "permissions": list(self.config.permissions)}

    def _issue(self, lifetime: float) -> Response:
        token = secrets.token_urlsafe(32)
        self._sessions[token] = time.monotonic() + lifetime
        self.state.logins += 1
        response = _json(self._login_body(token), 201)
        response.set_cookie("t", token, httponly=True, path="/")   # no Secure: plain http on loopback
        return response

    def _credentials_ok(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            email, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(email, self.config.email) and \
            secrets.compare_digest(password, self.config.password.get_secret_value())

    async def login(self, request: Request) -> Response:
        """``POST /authentication`` (§2)."""
        if "bad_login" in self.state.faults or not self._credentials_ok(request):
            self.state.failed_logins += 1
            return _json({"detail": "INVALID_CREDENTIALS"}, 401)
        lifetime = self.config.token_lifetime
        body = await request.body()
        if body.strip():
            try:
                expiry = json.loads(body).get("expiry")
                expiry = None if expiry is None else float(expiry)
            except (ValueError, AttributeError, TypeError):
                return _json({"expiry": ["A valid number is required."]}, 400)
            if expiry is not None and not 1 <= expiry <= 14400:
                return _json({"expiry": ["Ensure this value is between 1 and 14400."]}, 400)
            lifetime = min(lifetime, expiry) if expiry is not None else lifetime
        if "persona" in self.state.faults:
            inquiry = "inq_" + secrets.token_hex(8)
            self._inquiries[inquiry] = 0
            self.state.persona_challenges += 1
            return _json({"detail": "Biometric authentication required."}, 401,
                         {"WWW-Authenticate": "persona", "Location": f"/authentication/persona?inquiry={inquiry}"})
        return self._issue(lifetime)

    async def persona(self, request: Request) -> Response:
        """``POST /authentication/persona?inquiry=...``: 201 on the ``persona_polls``-th POST, 200 pending before."""
        inquiry = request.query_params.get("inquiry", "")
        if inquiry not in self._inquiries:
            return _json(NOT_FOUND, 404)
        self._inquiries[inquiry] += 1
        if self._inquiries[inquiry] < self.config.persona_polls:
            return _json({"status": "PENDING"}, 200)
        del self._inquiries[inquiry]
        self.state.faults.discard("persona")
        return self._issue(self.config.token_lifetime)

    async def auth_status(self, request: Request) -> Response:
        """``GET /authentication``: 200 + body when logged in, 204 when not."""
        token = self._session(request)
        return _json(self._login_body(token)) if token else _empty(204)

    async def logout(self, request: Request) -> Response:
        """``DELETE /authentication``: 204, session ended, cookie cleared."""
        token = request.cookies.get("t")
        self._sessions.pop(token, None)
        response = _empty(204)
        response.delete_cookie("t", path="/")
        return response

    # ---- the API wrapper: log, faults, session -----------------------------------------------------------
    def api(self, handler: Callable, auth: bool = True) -> Callable:
        """Wrap a handler: request log; for API paths (``auth`` True) also ``slow``, ``drop`` / ``burst_5xx`` /
        ``burst_429`` (gateway faults, before the session check), 401 without a session, ``expired`` /
        ``stale_html``. The /authentication paths (``auth`` False) get the log only."""
        async def endpoint(request: Request) -> Response:
            response = await (self._guarded(handler, request) if auth else handler(request))
            self.state.requests.append({"method": request.method, "path": request.url.path,
                                        "status": None if isinstance(response, _DropResponse)
                                        else response.status_code})
            return response
        return endpoint

    async def _guarded(self, handler: Callable, request: Request) -> Response:
        cfg = self.config
        if "slow" in self.state.faults:
            await asyncio.sleep(cfg.slow_seconds)
        if self._fires("drop", cfg.burst_drop):
            self.state.dropped += 1
            return _DropResponse()
        if self._fires("burst_5xx", cfg.burst_5xx):
            status = (500, 502, 503, 504)[self.state.sent_5xx % 4]
            self.state.sent_5xx += 1
            return _json({"detail": "Service unavailable."}, status)
        limits = self._rate_headers()
        over = limits["x-ratelimit-remaining-second"] == "-1" or limits["x-ratelimit-remaining-minute"] == "-1"
        if self._fires("burst_429", cfg.burst_429) or over:
            self.state.sent_429 += 1
            limits["x-ratelimit-remaining-second"] = "0"
            if "no_retry_after" not in self.state.faults:
                limits["Retry-After"] = str(cfg.retry_after)
            return _json({"message": "API rate limit exceeded"}, 429, limits)
        response = await self._with_session(handler, request)
        response.headers.update(limits)
        return response

    def _rate_headers(self) -> dict:
        """Count this request in the sliding last second and minute; the ``x-ratelimit-*`` headers of §6
        (remaining ``-1`` = over the limit)."""
        now = time.monotonic()
        out = {}
        for unit, width, limit in (("second", 1.0, self.config.rate_per_second),
                                   ("minute", 60.0, self.config.rate_per_minute)):
            seen = self._rate_windows[unit]
            while seen and seen[0] <= now - width:
                seen.popleft()
            seen.append(now)
            out[f"x-ratelimit-limit-{unit}"] = str(limit)
            out[f"x-ratelimit-remaining-{unit}"] = str(max(-1, limit - len(seen)))
        return out

    async def _with_session(self, handler: Callable, request: Request) -> Response:
        token = self._session(request)
        if token is None:
            return _json({"detail": "Incorrect authentication credentials."}, 401)
        if "expired" in self.state.faults:
            if self._expire_countdown <= 0:
                self._end_session(token, "expired")
                return _json({"detail": "Incorrect authentication credentials."}, 401)
            self._expire_countdown -= 1
        if "stale_html" in self.state.faults:
            self._end_session(token, "stale_html")
            return Response("<!DOCTYPE html><html><body>Sign in</body></html>", 200, media_type="text/html")
        return await handler(request)

    def _end_session(self, token: str, fault: str) -> None:
        self._sessions.pop(token, None)
        self.state.sessions_expired += 1
        self.state.faults.discard(fault)

    # ---- simulations -------------------------------------------------------------------------------------
    def _running_top_jobs(self) -> list[_Job]:
        return [j for j in self.jobs.values() if j.parent is None and j.status is None]

    def _note_slots(self) -> float:
        """Append the busy slots now to ``state.slot_log`` (after a POST, a finish, a stuck job released);
        returns the entry's time."""
        running, now = self._running_top_jobs(), time.monotonic()
        self.state.slot_log.append((now, len(running), sum(j.stuck for j in running)))
        return now

    def _quota_remaining(self) -> int:
        left = self.config.daily_quota - self.state.quota_used
        if "quota" in self.state.faults:
            left = min(left, self.config.quota_left - (self.state.quota_used - self._quota_base))
        return max(0, left)

    def _quota_headers(self) -> dict:
        limit = self.config.daily_quota
        return {"X-Ratelimit-Limit": str(limit), "X-Ratelimit-Remaining": str(self._quota_remaining()),
                "X-Ratelimit-Reset": str(self.config.quota_reset_seconds)}

    def _validate(self, item: Any) -> tuple[dict, Any]:
        """(errors, SimSettings) of one POSTed simulation; errors {} when valid (§3 400 shapes)."""
        from alpha_core.sim.settings import SettingsError, SimSettings, UnsupportedLocal

        if not isinstance(item, dict):
            return {"non_field_errors": ["Invalid data. Expected a dictionary."]}, None
        errors: dict = {}
        if item.get("type", None) is None:
            errors["type"] = ["This field is required."]
        elif item["type"] != "REGULAR":
            errors["type"] = [f'"{item["type"]}" is not a valid choice.']
        regular = item.get("regular")
        if regular is None:
            errors["regular"] = ["This field is required."]
        elif not isinstance(regular, str) or not regular.strip():
            errors["regular"] = ["This field may not be blank."]
        raw = item.get("settings")
        settings = None
        if not isinstance(raw, dict):
            errors["settings"] = ["This field is required."] if raw is None else ["Expected a dictionary."]
        else:
            try:
                settings = SimSettings(**raw)
                settings.check_local()
            except SettingsError as exc:
                errors["settings"] = exc.errors
            except UnsupportedLocal as exc:   # the emulated account offers only what the local engine runs
                errors["settings"] = {exc.field: [f'"{exc.value}" is not a valid choice.']}
        extra = sorted(set(item) - {"type", "settings", "regular"})
        for key in extra:
            errors[key] = ["Unknown field."]
        return errors, settings

    async def post_simulation(self, request: Request) -> Response:
        """``POST /simulations`` (§3, §5): 201 + Location, 400 field-keyed errors, 429 over the slots or the
        daily quota."""
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return _json({"detail": f"JSON parse error - {exc}"}, 400)
        multi = isinstance(body, list)
        items = body if multi else [body]
        if multi:
            if "MULTI_SIMULATION" not in self.config.permissions:
                return _json(NO_PERMISSION, 403)
            if not 2 <= len(items) <= 10:
                return _json({"detail": f"A multi-simulation holds 2 to 10 simulations, got {len(items)}."}, 400)
        checked = [self._validate(item) for item in items]
        errors = [e for e, _ in checked]
        if multi and not any(errors):
            first = checked[0][1]
            for i, (_, s) in enumerate(checked[1:], start=1):
                diff = [k for k in ("instrumentType", "region", "delay", "language")
                        if getattr(s, k) != getattr(first, k)]
                if diff:
                    errors[i] = {"settings": {k: ["Must be equal across the simulations of a multi-simulation."]
                                              for k in diff}}
        if any(errors):
            return _json(errors if multi else errors[0], 400)
        from alpha_core.expr import lint
        from alpha_core.sim.simulate import registry_for

        try:      # before the slot check: no await between checking the slots and registering the job
            panel = await run_in_threadpool(self.panel)
        except DataFileError as exc:
            return _json({"detail": f"emulator: market data unavailable: {exc}"}, 503)
        if len(self._running_top_jobs()) >= self.config.slots:
            self.state.sent_429 += 1
            self.state.concurrency_429 += 1
            return _json({"detail": "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"}, 429, self._quota_headers())
        if self._quota_remaining() < len(items):
            self.state.sent_429 += 1
            return _json({"detail": "DAILY_SIMULATION_LIMIT_EXCEEDED"}, 429, self._quota_headers())
        registry = registry_for(panel)
        now = time.monotonic()
        top = _Job(self._sim_id(), body, now)
        if self._stuck_armed:
            top.stuck, self._stuck_armed = True, False
        bad_child = min(self.config.bad_child, len(items) - 1) if multi and self._fires("multi_bad", 1) else None
        jobs = [top]
        if multi:
            for i, item in enumerate(items):
                child = _Job(self._sim_id(), item, now, parent=top.id)
                if i == bad_child:
                    child.error = _forced_error(item["regular"])
                top.children.append(child.id)
                jobs.append(child)
        elif self._fires("error", 1):
            top.error = _forced_error(items[0]["regular"])
        workers = jobs[1:] if multi else jobs
        for job, (_, settings) in zip(workers, checked):
            text = job.payload["regular"]
            self.state.posts[text] += 1
            if job.error is None:
                result = lint(text, registry)
                if not result.ok:
                    job.error = _lint_error(text, result.errors[0])
        if not any(j.error for j in workers):      # one bad child cancels the batch: nothing is simulated
            for job, (_, settings) in zip(workers, checked):
                job.key = (job.payload["regular"], settings.identity_json())
                job.future = self._engine(job.key, settings)
        for job in jobs:
            self.jobs[job.id] = job
        self.state.last_post_at = self._note_slots()
        self.state.simulations += len(items)
        self.state.quota_used += len(items)
        headers = {"Location": f"{_base(request)}/simulations/{top.id}", "Retry-After": str(self.config.retry_after),
                   **self._quota_headers()}
        return _empty(201, headers)

    def _ready(self, job: _Job) -> bool:
        cfg = self.config
        if job.stuck:
            if "stuck" in self.state.faults:
                return False
            job.stuck = False    # released for good: switching the fault on again arms the next job only
        if job.polls < cfg.polls_to_finish or time.monotonic() - job.created < cfg.sim_seconds:
            return False
        workers = [self.jobs[c] for c in job.children] if job.children else [job]
        return all(w.future is None or w.future.done() for w in workers)

    def _finish(self, job: _Job) -> None:
        """Set the terminal status of a top-level job (and its children); make the alphas."""
        workers = [self.jobs[c] for c in job.children] if job.children else [job]
        for w in workers:
            if w.error is None and w.future is not None:
                outcome = w.future.result()
                if outcome.result is None:
                    w.error = {"message": outcome.error, "location": {"property": "regular"}}
        bad = next((w for w in workers if w.error is not None), None)
        for w in workers:
            if w.error is not None:
                w.status, w.message, w.location = "ERROR", w.error["message"], w.error["location"]
            elif bad is not None:
                w.status = "CANCELLED"
            else:
                w.status = "COMPLETE"
                if w.key not in self._alpha_of:
                    alpha = _Alpha(self._alpha_id(), w.payload, w.future.result(), _now_iso())
                    self.alphas[alpha.id] = alpha
                    self._alpha_of[w.key] = alpha.id
                w.alpha = self._alpha_of[w.key]
        if job.children:
            job.status = "ERROR" if bad is not None else "COMPLETE"
            if bad is not None:
                job.message, job.location = bad.message, bad.location

    def _job_body(self, job: _Job) -> dict:
        if job.children:
            body = {"id": job.id, "type": "REGULAR", "status": job.status, "children": list(job.children)}
        else:
            body = {**job.payload, "id": job.id, "status": job.status}
            if job.parent:
                body["parent"] = job.parent
            if job.alpha:
                body["alpha"] = job.alpha
        if job.status == "ERROR":
            body.update(message=job.message, location=job.location)
        return body

    async def get_simulation(self, request: Request) -> Response:
        """``GET /simulations/{id}`` (§4): running = 200 ``{"progress"}`` + Retry-After; done = the request plus
        ``id``, ``status`` and ``alpha`` or ``message`` + ``location``."""
        job = self.jobs.get(request.path_params["sim_id"])
        if job is None:
            return _json(NOT_FOUND, 404)
        top = self.jobs[job.parent] if job.parent else job
        if top.status is None:
            top.polls += 1
            stuck = top.stuck
            if self._ready(top):
                self._finish(top)
            if top.status is not None or top.stuck != stuck:
                self._note_slots()
        if job.status is None:
            progress = min(0.99, round(top.polls / (self.config.polls_to_finish + 1), 2))
            return _json({"progress": progress}, 200, {"Retry-After": str(self.config.retry_after)})
        return _json(self._job_body(job))

    async def options_simulations(self, request: Request) -> Response:
        """``OPTIONS /simulations`` (§3): the settings this account may use (what the local engine runs)."""
        return _json(_options())

    # ---- alphas --------------------------------------------------------------------------------------------
    def _alpha(self, request: Request) -> _Alpha | None:
        return self.alphas.get(request.path_params["alpha_id"])

    def _alpha_body(self, alpha: _Alpha) -> dict:
        from alpha_core.sim.result import json_safe

        result = alpha.outcome.result
        settings = {**alpha.payload["settings"], "startDate": str(result.dates[result.is_slice][0]),
                    "endDate": str(result.dates[result.is_slice][-1])}
        is_block = json_safe(result.is_)
        for key in ("longCount", "shortCount"):
            if is_block.get(key) is not None:
                is_block[key] = int(round(is_block[key]))
        meta = alpha.meta
        return {"id": alpha.id, "type": "REGULAR", "author": self.config.user_id, "settings": settings,
                "regular": {"code": alpha.payload["regular"], "description": meta.get("description"),
                            "operatorCount": _operator_count(alpha.outcome)},
                "dateCreated": alpha.created, "dateSubmitted": alpha.submitted, "dateModified": alpha.created,
                "name": meta.get("name"), "favorite": False, "hidden": False, "color": meta.get("color"),
                "category": meta.get("category"), "tags": meta.get("tags", []), "classifications": [],
                "grade": None, "stage": alpha.stage, "status": alpha.status, "is": is_block,
                "os": json_safe(result.os) if alpha.stage == "OS" else None, "train": json_safe(result.train),
                "test": json_safe(result.test), "prod": None, "competitions": None, "themes": None,
                "pyramids": [], "pyramidThemes": None, "team": None, "osmosisPoints": None}

    async def get_alpha(self, request: Request) -> Response:
        """``GET /alphas/{id}`` (§7)."""
        alpha = self._alpha(request)
        return _json(self._alpha_body(alpha)) if alpha else _json(NOT_FOUND, 404)

    async def patch_alpha(self, request: Request) -> Response:
        """``PATCH /alphas/{id}``: name, color, category, tags, regular.description (§7)."""
        alpha = self._alpha(request)
        if alpha is None:
            return _json(NOT_FOUND, 404)
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            return _json({"detail": f"JSON parse error - {exc}"}, 400)
        if not isinstance(body, dict):
            return _json({"non_field_errors": ["Invalid data. Expected a dictionary."]}, 400)
        unknown = sorted(set(body) - {"name", "color", "category", "tags", "regular"})
        if unknown:
            return _json({k: ["This field cannot be changed."] for k in unknown}, 400)
        alpha.meta.update({k: v for k, v in body.items() if k != "regular"})
        if isinstance(body.get("regular"), dict) and "description" in body["regular"]:
            alpha.meta["description"] = body["regular"]["description"]
        return _json(self._alpha_body(alpha))

    def _polled(self, kind: str, alpha_id: str) -> bool:
        """Count a poll of an alpha's async resource; True once it was polled ``polls_to_finish`` times."""
        self._async_polls[(kind, alpha_id)] += 1
        return self._async_polls[(kind, alpha_id)] >= self.config.polls_to_finish

    def _running(self) -> Response:
        return _empty(200, {"Retry-After": str(self.config.retry_after)})

    def _checks(self, alpha: _Alpha) -> list[dict]:
        """The pre-submit checks: the local IS checks with SELF_CORRELATION resolved against the submitted
        alphas, plus REGULAR_SUBMISSION (used today vs the daily limit) and ALREADY_SUBMITTED when it applies."""
        from alpha_core.sim.result import json_safe

        checks = [c for c in json_safe(alpha.outcome.result.checks) if c["name"] != "SELF_CORRELATION"]
        others = [a for a in self.alphas.values() if a.status == "ACTIVE" and a.id != alpha.id]
        corr = max((_pnl_corr(alpha, o) for o in others), default=None)
        checks.append({"name": "SELF_CORRELATION", "result": "PASS" if corr is None or corr < 0.7 else "FAIL",
                       "limit": 0.7, "value": corr})
        used = len(self.state.submissions)
        checks.append({"name": "REGULAR_SUBMISSION",
                       "result": "PASS" if used < self.config.submissions_per_day else "FAIL",
                       "limit": self.config.submissions_per_day, "value": used})
        if alpha.status != "UNSUBMITTED":
            checks.append({"name": "ALREADY_SUBMITTED", "result": "FAIL"})
        return checks

    async def check(self, request: Request) -> Response:
        """``GET /alphas/{id}/check`` (§8)."""
        alpha = self._alpha(request)
        if alpha is None:
            return _json(NOT_FOUND, 404)
        if not self._polled("check", alpha.id):
            return self._running()
        return _json({"is": {"checks": self._checks(alpha)}})

    async def submit(self, request: Request) -> Response:
        """``POST /alphas/{id}/submit`` (§9): 201 + Location (the ``:443`` quirk) or 403 when already submitted."""
        alpha = self._alpha(request)
        if alpha is None:
            return _json(NOT_FOUND, 404)
        if alpha.status != "UNSUBMITTED":
            return _json({"is": {"checks": self._checks(alpha)}}, 403)
        if alpha.submit is None or alpha.submit["result"] is not None:   # a new try after a rejection
            alpha.submit = {"polls": 0, "result": None}
        if self.config.submit_location_quirk:
            location = f"http://{request.url.hostname}:443/alphas/{alpha.id}/submit"
        else:
            location = f"{_base(request)}/alphas/{alpha.id}/submit"
        return _empty(201, {"Location": location, "Retry-After": str(self.config.retry_after)})

    async def submit_poll(self, request: Request) -> Response:
        """``GET /alphas/{id}/submit`` (§9): running, then 403 + checks (rejected) or 404 empty (accepted)."""
        alpha = self._alpha(request)
        if alpha is None or alpha.submit is None:
            return _json(NOT_FOUND, 404)
        sub = alpha.submit
        if sub["result"] is None:
            sub["polls"] += 1
            if sub["polls"] < self.config.polls_to_finish:
                return self._running()
            checks = self._checks(alpha)
            if any(c["result"] == "FAIL" for c in checks):
                sub["result"] = checks
                self.state.rejected_submissions.append(alpha.id)
            else:
                sub["result"] = "ACCEPTED"
                alpha.status, alpha.stage, alpha.submitted = "ACTIVE", "OS", _now_iso()
                self.state.submissions.append(alpha.id)
        if sub["result"] == "ACCEPTED":
            return _empty(404)
        return _json({"is": {"checks": sub["result"]}}, 403)

    async def recordsets(self, request: Request) -> Response:
        """``GET /alphas/{id}/recordsets``: the record sets served (pnl, daily-pnl, yearly-stats)."""
        alpha = self._alpha(request)
        if alpha is None:
            return _json(NOT_FOUND, 404)
        results = [{"name": n, "title": t} for n, (t, _) in _RECORDSETS.items()]
        return _json({"count": len(results), "results": results})

    async def recordset(self, request: Request) -> Response:
        """``GET /alphas/{id}/recordsets/{name}`` (§7): ``{"schema", "records"}``."""
        alpha = self._alpha(request)
        name = request.path_params["name"]
        if alpha is None or name not in _RECORDSETS:
            return _json(NOT_FOUND, 404)
        title, build = _RECORDSETS[name]
        properties, records = build(alpha)
        return _json({"schema": {"name": name, "title": title, "properties": properties}, "records": records})

    async def correlations(self, request: Request) -> Response:
        """``GET /alphas/{id}/correlations/{self|prod|power-pool}`` (§10); 403 without CONSULTANT permission."""
        alpha = self._alpha(request)
        kind = request.path_params["kind"]
        if alpha is None or kind not in ("self", "prod", "power-pool"):
            return _json(NOT_FOUND, 404)
        if "CONSULTANT" not in self.config.permissions:
            return _json(NO_PERMISSION, 403)
        if not self._polled(f"corr-{kind}", alpha.id):
            return self._running()
        if kind == "prod":
            values = [_pnl_corr(alpha, o) for o in self.alphas.values() if o.id != alpha.id]
            counts, edges = np.histogram(values, bins=20, range=(-1.0, 1.0))
            records = [[round(float(edges[i]), 1), round(float(edges[i + 1]), 1), int(c)] for i, c in enumerate(counts)]
            props = [{"name": n, "title": n, "type": t} for n, t in (("min", "decimal"), ("max", "decimal"),
                                                                       ("alphas", "integer"))]
            name = "prodCorrelation"
        else:
            records = []
            for o in self.alphas.values():
                if o.status == "ACTIVE" and o.id != alpha.id:
                    m = o.outcome.result.is_
                    s = o.payload["settings"]
                    records.append([o.id, o.meta.get("name"), s.get("instrumentType", "EQUITY"), s.get("region", "USA"),
                                    s.get("universe"), _pnl_corr(alpha, o), m.get("sharpe"), m.get("returns"),
                                    m.get("turnover"), m.get("fitness"), m.get("margin")])
            props = [{"name": n, "title": n, "type": "string"} for n in
                     ("id", "name", "instrumentType", "region", "universe", "correlation", "sharpe", "returns",
                      "turnover", "fitness", "margin")]
            values = [r[5] for r in records]
            name = "selfCorrelation"
        from alpha_core.sim.result import json_safe

        body = {"schema": {"name": name, "title": name, "properties": props},
                "max": max(values) if values else None, "min": min(values) if values else None,
                "records": records}
        return _json(json_safe(body))

    async def own_alphas(self, request: Request) -> Response:
        """``GET /users/self/alphas?stage=&limit=&offset=`` (§7): ``{count, next, previous, results}``."""
        q = request.query_params
        paging = _paging(q, 100, 10_000)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        rows = [a for a in self.alphas.values() if q.get("stage") in (None, a.stage)]
        return _json({"count": len(rows), "next": None, "previous": None,
                      "results": [self._alpha_body(a) for a in rows[offset:offset + limit]]})

    async def user(self, request: Request) -> Response:
        """``GET /users/self``."""
        return _json({"id": self.config.user_id, "geniusLevel": "GOLD" if "CONSULTANT" in self.config.permissions
                      else "NONE", "permissions": list(self.config.permissions)})

    # ---- data discovery ------------------------------------------------------------------------------------
    async def data_sets(self, request: Request) -> Response:
        """``GET /data-sets`` (§11) from the embedded registry."""
        return _catalogue_page(request, _datasets())

    async def data_fields(self, request: Request) -> Response:
        """``GET /data-fields`` (§11) from the embedded registry."""
        return _catalogue_page(request, _fields())

    async def operators(self, request: Request) -> Response:
        """``GET /operators`` (§11): ``{"operators", "count"}`` or a bare list (``operators_envelope``)."""
        ops = _operators()
        return _json({"operators": ops, "count": len(ops)} if self.config.operators_envelope else ops)

    # ---- admin -----------------------------------------------------------------------------------------------
    async def admin_state(self, request: Request) -> Response:
        """``GET /_emulator/state``: counters (``EmulatorState.summary``)."""
        return _json(self.state.summary())

    async def admin_log(self, request: Request) -> Response:
        """``GET /_emulator/log``: the request log (method, path, status; no secret)."""
        return _json(list(self.state.requests))

    async def admin_faults(self, request: Request) -> Response:
        """``PUT /_emulator/faults`` ``{"faults": [...]}``: replace the active faults; 400 names unknown ones."""
        try:
            body = json.loads(await request.body())
            faults = body["faults"]
            if not isinstance(faults, list):
                raise TypeError
            self.set_faults(faults)
        except ValueError as exc:
            return _json({"faults": [str(exc)]}, 400)
        except (KeyError, TypeError):
            return _json({"faults": ['Expected {"faults": [names...]}.']}, 400)
        return _json({"faults": sorted(self.state.faults)})

    async def admin_reset(self, request: Request) -> Response:
        """``POST /_emulator/reset``: the daily quota counter back to 0."""
        self.reset()
        return _json(self.state.summary())


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _forced_error(text: str) -> dict:
    return {"message": "Syntax error in expression.",
            "location": {"property": "regular", "line": 1, "start": 0, "end": len(text)}}


def _lint_error(text: str, diag) -> dict:
    line = text.count("\n", 0, diag.start) + 1
    return {"message": diag.message, "location": {"property": "regular", "line": line, "start": diag.start,
                                                   "end": diag.end}}


def _operator_count(outcome) -> int:
    """Operators in the canonical program: calls plus unary, binary and ternary operators."""
    import dataclasses

    from alpha_core.expr.ast import Binary, Call, Ternary, Unary

    def walk(node) -> int:
        if isinstance(node, (list, tuple)):
            return sum(walk(n) for n in node)
        if not dataclasses.is_dataclass(node):
            return 0
        own = isinstance(node, (Call, Unary, Binary, Ternary))
        return own + sum(walk(getattr(node, f.name)) for f in dataclasses.fields(node))

    return walk(outcome.lint.program) if outcome.lint is not None else 0


def _pnl_corr(a: _Alpha, b: _Alpha) -> float | None:
    """Pearson correlation of two alphas' IS daily PnL (same panel, same dates); None when undefined."""
    x, _ = a.outcome.result.period_pnl("is")
    y, _ = b.outcome.result.period_pnl("is")
    n = min(len(x), len(y))
    if n < 2:
        return None
    x, y = x[-n:], y[-n:]
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return None
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _daily(alpha: _Alpha):
    pnl, dates = alpha.outcome.result.period_pnl("is")
    return pnl, [str(d) for d in dates]


def _rs_daily(alpha: _Alpha):
    pnl, dates = _daily(alpha)
    return ([{"name": "date", "title": "Date", "type": "date"}, {"name": "pnl", "title": "PnL", "type": "amount"}],
            [[d, float(v)] for d, v in zip(dates, pnl)])


def _rs_pnl(alpha: _Alpha):
    pnl, dates = _daily(alpha)
    return ([{"name": "date", "title": "Date", "type": "date"}, {"name": "pnl", "title": "PnL", "type": "amount"}],
            [[d, float(v)] for d, v in zip(dates, np.cumsum(np.nan_to_num(pnl)))])


_YEARLY_COLUMNS = ("year", "pnl", "bookSize", "longCount", "shortCount", "turnover", "sharpe", "returns", "drawdown",
                   "margin", "fitness", "stage")


def _rs_yearly(alpha: _Alpha):
    from alpha_core.sim.result import json_safe

    stages = ("IS", "OS") if alpha.stage == "OS" else ("IS",)
    rows = [r for r in json_safe(alpha.outcome.result.yearly) if r.get("stage") in stages]
    return ([{"name": c, "title": c, "type": "string" if c in ("year", "stage") else "decimal"}
             for c in _YEARLY_COLUMNS], [[r.get(c) for c in _YEARLY_COLUMNS] for r in rows])


_RECORDSETS = {"pnl": ("PnL", _rs_pnl), "daily-pnl": ("Daily PnL", _rs_daily),
               "yearly-stats": ("Yearly Stats", _rs_yearly)}


def _options() -> dict:
    from alpha_core.sim.settings import CHOICES, LOCAL_NEUTRALIZATIONS, USA_UNIVERSES

    def choice(values) -> list:
        return [{"value": v, "label": str(v)} for v in values]

    by_region = lambda values: {"instrumentType": {"EQUITY": {"region": {"USA": choice(values)}}}}  # noqa: E731
    children = {
        "instrumentType": {"type": "choice", "choices": choice(["EQUITY"])},
        "region": {"type": "choice", "choices": {"instrumentType": {"EQUITY": choice(["USA"])}}},
        "universe": {"type": "choice", "choices": by_region(USA_UNIVERSES)},
        "delay": {"type": "choice", "choices": by_region(CHOICES["delay"])},
        "neutralization": {"type": "choice", "choices": by_region(LOCAL_NEUTRALIZATIONS)},
        "decay": {"type": "integer"}, "truncation": {"type": "float"}, "visualization": {"type": "boolean"},
        "testPeriod": {"type": "string"},
    }
    for name in ("pasteurization", "unitHandling", "nanHandling", "language", "maxTrade"):
        children[name] = {"type": "choice", "choices": choice(CHOICES[name])}
    return {"name": "Simulations", "actions": {"POST": {"type": {"type": "choice", "choices": choice(["REGULAR"])},
                                                         "settings": {"type": "nested object", "children": children},
                                                         "regular": {"type": "string"}}}}


def _fields() -> list[dict]:
    from alpha_core.data.registry import default_registry

    out = []
    for f in default_registry():
        out.append({"id": f.id, "description": f.description, "dataset": {"id": f.dataset, "name": f.dataset},
                    "category": {"id": f.category, "name": f.category}, "subcategory": None, "region": f.region,
                    "delay": f.delay, "universe": "TOP3000", "type": f.kind, "dateCoverage": None,
                    "coverage": f.coverage, "userCount": f.user_count, "alphaCount": f.alpha_count,
                    "pyramidMultiplier": None, "themes": []})
    return out


def _datasets() -> list[dict]:
    by: dict[str, list[dict]] = {}
    for f in _fields():
        by.setdefault(f["dataset"]["id"], []).append(f)
    out = []
    for ds, fields in by.items():
        cov = [f["coverage"] for f in fields if f["coverage"] is not None]
        out.append({"id": ds, "name": ds, "description": f"{ds} ({len(fields)} fields)",
                    "category": fields[0]["category"], "subcategory": None, "region": fields[0]["region"],
                    "delay": fields[0]["delay"], "universe": "TOP3000", "dateCoverage": None,
                    "coverage": max(cov) if cov else None, "valueScore": None,
                    "userCount": sum(f["userCount"] or 0 for f in fields),
                    "alphaCount": sum(f["alphaCount"] or 0 for f in fields), "fieldCount": len(fields),
                    "pyramidMultiplier": None, "themes": [], "researchPapers": []})
    return out


def _paging(q, max_limit: int, max_offset: int) -> tuple[int, int] | Response:
    """(limit, offset) from the query (limit default ``max_limit``, 1..max_limit; offset 0..max_offset - limit),
    or the 400 response naming the bad parameter."""
    errors = {}
    values = {}
    for name, default in (("limit", max_limit), ("offset", 0)):
        text = q.get(name)
        try:
            values[name] = int(text) if text is not None else default
        except ValueError:
            errors[name] = ["A valid integer is required."]
    if not errors:
        if not 1 <= values["limit"] <= max_limit:
            errors["limit"] = [f"Ensure this value is between 1 and {max_limit}."]
        elif not 0 <= values["offset"] <= max_offset - values["limit"]:
            errors["offset"] = [f"Ensure this value is between 0 and {max_offset - values['limit']}."]
    return _json(errors, 400) if errors else (values["limit"], values["offset"])


def _catalogue_page(request: Request, rows: list[dict]) -> Response:
    """``/data-sets`` and ``/data-fields``: the four required parameters, filters, limit <= 50, offset <=
    10,000 - limit (§6, §11)."""
    q = request.query_params
    errors = {k: ["This field is required."] for k in ("instrumentType", "region", "delay", "universe")
              if not q.get(k)}
    if q.get("theme", "false").upper() == "ALL":
        errors["theme"] = ['"ALL" is not a valid choice.']
    if errors:
        return _json(errors, 400)
    paging = _paging(q, 50, 10_000)
    if isinstance(paging, Response):
        return paging
    limit, offset = paging
    if q["instrumentType"] != "EQUITY" or q["region"] != "USA" or q["delay"] != "1":
        rows = []
    if q.get("dataset.id"):
        rows = [r for r in rows if r.get("dataset", {}).get("id") == q["dataset.id"]]
    if q.get("type"):
        rows = [r for r in rows if r.get("type") == q["type"].upper()]
    if q.get("category"):
        rows = [r for r in rows if r["category"]["id"] == q["category"]]
    if q.get("search"):
        needle = q["search"].lower()
        rows = [r for r in rows if needle in r["id"].lower() or needle in (r["description"] or "").lower()]
    return _json({"count": len(rows), "results": rows[offset:offset + limit]})


def _operators() -> list[dict]:
    from alpha_core.expr.catalogue import catalogue

    cat = catalogue()
    return [{"name": s.name, "category": s.category, "scope": sorted(s.scope), "definition": s.signature,
             "description": s.notes, "documentation": None, "level": s.level} for s in cat.operators.values()]


def create_app(config: EmulatorConfig, panel=None) -> Starlette:
    """The emulator's ASGI app (BRAIN_API.md §13); ``app.state.emulator`` is its ``Emulator``. ``panel``: the
    ``Panel`` to simulate on (None = ``alpha_core.data.loader.load_panel()`` at the first simulation)."""
    emu = Emulator(config, panel)
    api = emu.api
    routes = [
        Route("/authentication", api(emu.login, auth=False), methods=["POST"]),
        Route("/authentication", api(emu.auth_status, auth=False), methods=["GET"]),
        Route("/authentication", api(emu.logout, auth=False), methods=["DELETE"]),
        Route("/authentication/persona", api(emu.persona, auth=False), methods=["POST"]),
        Route("/simulations", api(emu.post_simulation), methods=["POST"]),
        Route("/simulations", api(emu.options_simulations), methods=["OPTIONS"]),
        Route("/simulations/{sim_id}", api(emu.get_simulation), methods=["GET"]),
        Route("/alphas/{alpha_id}", api(emu.get_alpha), methods=["GET"]),
        Route("/alphas/{alpha_id}", api(emu.patch_alpha), methods=["PATCH"]),
        Route("/alphas/{alpha_id}/check", api(emu.check), methods=["GET"]),
        Route("/alphas/{alpha_id}/submit", api(emu.submit), methods=["POST"]),
        Route("/alphas/{alpha_id}/submit", api(emu.submit_poll), methods=["GET"]),
        Route("/alphas/{alpha_id}/recordsets", api(emu.recordsets), methods=["GET"]),
        Route("/alphas/{alpha_id}/recordsets/{name}", api(emu.recordset), methods=["GET"]),
        Route("/alphas/{alpha_id}/correlations/{kind}", api(emu.correlations), methods=["GET"]),
        Route("/users/self", api(emu.user), methods=["GET"]),
        Route("/users/self/alphas", api(emu.own_alphas), methods=["GET"]),
        Route("/data-sets", api(emu.data_sets), methods=["GET"]),
        Route("/data-fields", api(emu.data_fields), methods=["GET"]),
        Route("/operators", api(emu.operators), methods=["GET"]),
        Route("/_emulator/state", emu.admin_state, methods=["GET"]),
        Route("/_emulator/log", emu.admin_log, methods=["GET"]),
        Route("/_emulator/faults", emu.admin_faults, methods=["PUT"]),
        Route("/_emulator/reset", emu.admin_reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emu
    return app
