"""The BRAIN REST client on httpx (issue 14 item 1; BRAIN_API.md is the protocol).

``BrainClient`` signs in (§2: Basic auth -> cookie ``t``, or ``BRAIN_SESSION_TOKEN``), surfaces the persona step
through a callback, re-logs in proactively and on the stale-session signals, and keeps an auth circuit; every
request goes through ``request`` (lanes, per-lane circuit breakers, backoff on 429/5xx/timeouts, rate-limit
headers, the daily quota headers). On top: alpha results and record sets (§7), pre-submit check (§8), submit
with its polling (§9), correlations (§10), data catalogue with paging and operators (§11), ``OPTIONS
/simulations`` (§3). Simulations (§3-§5) are run by ``alpha_core.brain.simulations.Simulator``.

Concurrency: the client is a synchronous httpx client shared by threads (httpx.Client is thread-safe); the
simulator runs one thread per simulation slot. Secrets: the password and the cookie live in ``SecretStr``
only, are sent only to the configured base URL (TLS always verified; plain http only on loopback), and never
appear in logs, exceptions or ``repr``; the httpx request log has query strings removed (persona URLs).
"""
from __future__ import annotations

import datetime as dt
import http.cookiejar
import logging
import re
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Callable

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from alpha_core.brain.errors import (AuthCircuitOpen, AuthError, BrainError, CircuitOpen, ConfigError, DeliveryUnknown,
                                     NotFound, PersonaRequired, ProtocolError, RateLimited, ServerError,
                                     UnsafeRedirect, ValidationError)
from alpha_core.brain.pacing import (AdaptiveSlots, Circuit, DailyQuota, Lane, LaneGate, StateFile,
                                     backoff_delay, parse_retry_after)
from alpha_core.config import AlphaSettings, BrainCredentials, default_dagster_home

log = logging.getLogger("alpha_core.brain")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
CONCURRENCY_DETAIL = "CONCURRENT_SIMULATION_LIMIT_EXCEEDED"
CORRELATION_KINDS = ("self", "prod", "power-pool")
PAGE_LIMIT = 50
MAX_OFFSET = 10_000


class _RedactQuery(logging.Filter):
    """Drops query strings from URLs in httpx's request log (a persona URL carries its inquiry id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(a.copy_with(query=None) if isinstance(a, httpx.URL) and a.query else a
                                for a in record.args)
        return True


class _RedactHeaders(logging.Filter):
    """Blanks cookie, authorization and location (persona URL) header values in httpcore's DEBUG trace."""

    PATTERN = re.compile(r"(b'(?:set-cookie|cookie|authorization|location)', b')[^']*(')", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "b'" in record.msg:
            record.msg = self.PATTERN.sub(r"\1<redacted>\2", record.msg)
        return True


logging.getLogger("httpx").addFilter(_RedactQuery())
for _name in ("httpcore.http11", "httpcore.http2", "httpcore.connection", "httpcore.proxy"):
    logging.getLogger(_name).addFilter(_RedactHeaders())


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The httpx cookie jar stores nothing: the client keeps the ``t`` cookie itself, in a SecretStr."""

    def set_ok(self, cookie, request):  # noqa: D102 - http.cookiejar API
        return False


class ClientOptions(BaseModel):
    """Knobs of the client; the defaults are the rules of BRAIN_API.md (§2, §4, §6, §12). Seconds throughout.
    Raises ``pydantic.ValidationError`` naming an unknown knob or a bad value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = "https://api.worldquantbrain.com"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(60.0, gt=0)
    max_retries: int = Field(5, ge=0)
    backoff_base: float = Field(1.0, ge=0)
    backoff_cap: float = Field(60.0, ge=0)
    poll_error_wait: float = Field(30.0, ge=0)
    poll_error_retries: int = Field(2, ge=0)
    sim_timeout: float = Field(1800.0, gt=0)
    max_concurrency: int = Field(3, ge=1, le=10)
    start_concurrency: int = Field(1, ge=1)
    grow_after: int = Field(3, ge=1)
    quota_reserve: float = Field(0.1, ge=0, lt=1)
    concurrency_waits: int = Field(30, ge=1)
    persona_interval: float = Field(5.0, ge=0)
    persona_tries: int = Field(60, ge=1)
    persona_rounds: int = Field(2, ge=1)
    relogin_below: float = Field(2000.0, ge=0)
    session_check_every: float = Field(300.0, ge=0)
    auth_failures_max: int = Field(3, ge=1)
    circuit_threshold: int = Field(5, ge=1)
    circuit_cooldown: float = Field(300.0, ge=0)
    lane_width: int = Field(4, ge=1)
    rate_second_sleep: float = Field(1.0, ge=0)
    rate_minute_sleep: float = Field(60.0, ge=0)
    catalogue_retries: int = Field(5, ge=0)
    catalogue_retry_wait: float = Field(5.0, ge=0)
    state_path: Path | None = None

    @classmethod
    def from_settings(cls, settings: AlphaSettings, **overrides: Any) -> "ClientOptions":
        """Options from ``ALPHA_BRAIN_URL``, ``ALPHA_BRAIN_MAX_CONCURRENCY``, ``ALPHA_BRAIN_QUOTA_RESERVE`` and
        ``ALPHA_BRAIN_CLIENT_OPTIONS`` (any other knob); the state file is ``$DAGSTER_HOME/brain_state.json``;
        ``overrides`` win."""
        base = {"base_url": settings.brain_url, "max_concurrency": settings.brain_max_concurrency,
                "quota_reserve": settings.brain_quota_reserve,
                "state_path": default_dagster_home() / "brain_state.json", **settings.brain_client_options}
        return cls(**{**base, **overrides})


class Session(BaseModel):
    """The non-secret part of a session (§2): user id, seconds left when last seen, permissions."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    expiry: float = 0.0
    permissions: tuple[str, ...] = ()


class RecordSet(BaseModel):
    """A record set (§7): ``columns`` from its schema and ``records`` as rows."""

    name: str
    columns: list[str]
    records: list[list[Any]]

    def rows(self) -> list[dict]:
        """Records as dicts keyed by column name."""
        return [dict(zip(self.columns, r)) for r in self.records]


class SubmitResult(BaseModel):
    """Outcome of ``submit`` (§9): ``status`` ACCEPTED (404 on the poll) or REJECTED (403, ``checks`` say why;
    an earlier submission from the ledger answers ``status`` as stored, ``posted=False``)."""

    alpha_id: str
    status: str
    checks: list[dict] = []
    message: str = ""
    posted: bool = True

    def failing(self) -> list[str]:
        """Names of the FAIL checks."""
        return [c.get("name", "?") for c in self.checks if c.get("result") == "FAIL"]


class Correlation(BaseModel):
    """Correlations of one alpha (§10). ``available`` False when BRAIN answered 403 (account level too low:
    a state, not an error). ``max``/``min`` as BRAIN gives them; ``records`` raw rows."""

    kind: str
    available: bool = True
    max: float | None = None
    min: float | None = None
    columns: list[str] = []
    records: list[list[Any]] = []


class Catalogue(BaseModel):
    """A paged listing (§11): ``items``, BRAIN's ``count``, ``truncated`` when the offset cap (10,000) stopped
    the paging before ``count`` (split the query by dataset, type or search)."""

    items: list[dict]
    count: int
    truncated: bool = False


def _path(url: httpx.URL | str) -> str:
    return httpx.URL(str(url)).path


def _detail(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.reason_phrase or f"HTTP {resp.status_code}"
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return body["detail"]
    return str(body)[:300]


def _json_or_none(resp: httpx.Response) -> Any:
    try:
        return resp.json() if resp.content else None
    except ValueError:
        return None


class BrainClient:
    """One signed-in BRAIN session. Use as a context manager or call ``close()``.

    ``credentials``: ``BrainCredentials`` (email + password, or a session token). ``on_persona(url)`` is called
    with the persona URL the human must open (default: printed to stderr, never logged). ``sleep`` and
    ``clock`` (epoch seconds) are injectable. ``transport``: an httpx transport (tests); TLS is always verified.
    Raises ``ConfigError`` for a non-https base URL off loopback.
    """

    def __init__(self, credentials: BrainCredentials, options: ClientOptions | None = None, *,
                 on_persona: Callable[[str], None] | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time):
        self.options = options or ClientOptions()
        base = httpx.URL(self.options.base_url)
        if base.scheme != "https" and not (base.scheme == "http" and base.host in LOOPBACK_HOSTS):
            raise ConfigError(f"base URL must be https (plain http only on loopback), got {base.scheme}://{base.host}")
        self.base = base.copy_with(path="/", query=None, fragment=None)
        self._email = credentials.email
        self._password = credentials.password
        self._token: SecretStr | None = credentials.session_token
        self._has_password = credentials.email is not None and credentials.password is not None
        self._on_persona = on_persona or _print_persona
        self._sleep, self.clock = sleep, clock
        self.state = StateFile(self.options.state_path)
        self.slots = AdaptiveSlots(self.options.max_concurrency, self.options.start_concurrency,
                                   self.options.grow_after, self.state)
        self.quota = DailyQuota(self.options.quota_reserve, self.state, clock)
        self._gate = LaneGate(self.options.lane_width)
        self._circuits = {lane: Circuit(self.options.circuit_threshold, self.options.circuit_cooldown)
                          for lane in Lane}
        self.session: Session | None = None
        self._expires_at = 0.0
        self._checked_at = 0.0
        self._generation = 0
        self._auth_lock = threading.RLock()
        self._options_cache: tuple[dt.date, dict] | None = None
        timeout = httpx.Timeout(self.options.read_timeout, connect=self.options.connect_timeout)
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=True,
                                  cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
                                  headers={"Accept": "application/json"})

    @classmethod
    def from_settings(cls, settings: AlphaSettings | None = None, **kwargs: Any) -> "BrainClient":
        """A client from ``AlphaSettings`` (credentials and ``ALPHA_BRAIN_*``); ``kwargs`` go to
        ``ClientOptions.from_settings`` except ``on_persona``, ``sleep`` and ``clock``."""
        settings = settings or AlphaSettings()
        own = {k: kwargs.pop(k) for k in ("on_persona", "sleep", "clock") if k in kwargs}
        return cls(settings.brain_credentials(), ClientOptions.from_settings(settings, **kwargs), **own)

    def __repr__(self) -> str:
        state = "signed in" if self._token is not None and self.session else "signed out"
        return f"BrainClient(base_url={str(self.base)!r}, {state})"

    def __enter__(self) -> "BrainClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connections (the session stays valid on BRAIN until it expires)."""
        self._http.close()

    # ---- authentication (§2) -----------------------------------------------------------------------
    @property
    def auth_circuit_open(self) -> bool:
        """True after ``auth_failures_max`` failed sign-ins in a row (persisted across processes)."""
        return self.state.get("auth").get("failures", 0) >= self.options.auth_failures_max

    def reset_auth_circuit(self) -> None:
        """A human's reset of the auth circuit (after checking the credentials / the account lock)."""
        self.state.put("auth", {"failures": 0})

    @property
    def permissions(self) -> tuple[str, ...]:
        """The session's permissions (signs in first when needed)."""
        self._ensure_session()
        return self.session.permissions if self.session else ()

    def login(self) -> Session:
        """Sign in (§2). A session token (``BRAIN_SESSION_TOKEN``) is tried first with ``GET /authentication``.
        With email + password: ``POST /authentication`` (Basic auth), the persona step when
        demanded (``on_persona(url)``, then ``POST url`` every ``persona_interval`` s, ``persona_tries`` times,
        ``persona_rounds`` fresh starts). Raises ``AuthCircuitOpen``, ``AuthError`` (bad credentials, expired
        token), ``PersonaRequired``, ``ConfigError`` (no credentials), ``ServerError``/``RateLimited``."""
        with self._auth_lock:
            if self.auth_circuit_open:
                raise AuthCircuitOpen("three sign-ins failed in a row; check the credentials, then "
                                      "reset_auth_circuit()", path="/authentication")
            if self._token is not None:   # a session token from the environment (or the last sign-in)
                info = self._check_session()
                if info is not None:
                    return info
                self._token = None
                if not self._has_password:
                    raise AuthError("the session token is expired and no BRAIN_EMAIL/BRAIN_PASSWORD is set to "
                                    "sign in again", status=204, path="/authentication")
            if not self._has_password:
                raise ConfigError("no BRAIN credentials: set BRAIN_EMAIL and BRAIN_PASSWORD, or BRAIN_SESSION_TOKEN")
            for _ in range(self.options.persona_rounds):
                resp = self.request("POST", "/authentication", lane=Lane.SIMULATION, auth=False,
                                    basic=True, expect_json=False)
                if resp.status_code == 201:
                    return self._accept(resp)
                if resp.status_code == 401 and "persona" in resp.headers.get("www-authenticate", "").lower():
                    done = self._persona(resp)
                    if done is not None:
                        return done
                    continue
                self._login_failed(resp)
            raise PersonaRequired(f"the persona step was not completed after {self.options.persona_rounds} "
                                  f"rounds of {self.options.persona_tries} tries", path="/authentication/persona")

    def logout(self) -> None:
        """``DELETE /authentication`` and forget the cookie."""
        with self._auth_lock:
            if self._token is not None:
                self.request("DELETE", "/authentication", lane=Lane.SIMULATION, auth=False, expect_json=False)
            self._token, self.session = None, None

    def _persona(self, resp: httpx.Response) -> Session | None:
        location = resp.headers.get("location")
        if not location:
            raise ProtocolError("persona challenge without a Location header", status=401, path="/authentication")
        url = self._url(httpx.URL(str(resp.url)).join(location))
        log.warning("BRAIN asks for the biometric (persona) step: open the URL shown on the console")
        self._on_persona(str(url))
        for _ in range(self.options.persona_tries):
            self._sleep(self.options.persona_interval)
            done = self.request("POST", url, lane=Lane.SIMULATION, auth=False, expect_json=False)
            if done.status_code == 201:
                return self._accept(done)
        return None

    def _accept(self, resp: httpx.Response) -> Session:
        token = _cookie_t(resp)
        if token is None and self._token is None:
            raise ProtocolError("sign-in answered 201 without the session cookie", status=resp.status_code,
                                path=_path(resp.url))
        if token is not None:
            self._token = SecretStr(token)
        self.state.put("auth", {"failures": 0})
        return self._remember(_json_or_none(resp))

    def _remember(self, body: Any) -> Session:
        body = body if isinstance(body, dict) else {}
        token = body.get("token") or {}
        self.session = Session(user_id=(body.get("user") or {}).get("id"), expiry=float(token.get("expiry") or 0),
                               permissions=tuple(body.get("permissions") or ()))
        now = self.clock()
        self._expires_at, self._checked_at = now + self.session.expiry, now
        self._generation += 1
        return self.session

    def _login_failed(self, resp: httpx.Response) -> None:
        failures = self.state.get("auth").get("failures", 0) + 1
        self.state.put("auth", {"failures": failures})
        detail = _detail(resp)
        log.warning("BRAIN sign-in failed (%s of %s allowed): HTTP %s %s", failures,
                    self.options.auth_failures_max, resp.status_code, detail)
        cls = AuthCircuitOpen if failures >= self.options.auth_failures_max else AuthError
        raise cls(f"sign-in refused: {detail}", status=resp.status_code, path="/authentication",
                  body=_json_or_none(resp))

    def _check_session(self) -> Session | None:
        """``GET /authentication``: the session (200) or None (204: not signed in)."""
        resp = self.request("GET", "/authentication", lane=Lane.SIMULATION, auth=False, expect_json=False)
        self._checked_at = self.clock()
        if resp.status_code == 200 and _json_or_none(resp) is not None:
            return self._remember(resp.json())
        return None

    def _ensure_session(self) -> None:
        with self._auth_lock:
            if self._token is None or self.session is None:
                self.login()
                return
            now = self.clock()
            if now >= self._expires_at and self._has_password:
                self._relogin(self._generation, "token lifetime over")
            elif now - self._checked_at >= self.options.session_check_every:
                info = self._check_session()
                if info is None or (info.expiry < self.options.relogin_below and self._has_password):
                    self._relogin(self._generation, "token expiry low" if info else "session ended (204)")

    def _relogin(self, generation: int, reason: str) -> None:
        with self._auth_lock:
            if generation != self._generation:
                return  # another thread signed in again meanwhile
            log.info("BRAIN re-login: %s", reason)
            self.session = None
            if not self._has_password:
                raise AuthError(f"session ended ({reason}) and no BRAIN_EMAIL/BRAIN_PASSWORD is set to sign in "
                                "again", path="/authentication")
            self._token = None
            self.login()

    # ---- transport (§12) ---------------------------------------------------------------------------
    def _url(self, target: str | httpx.URL) -> httpx.URL:
        """``target`` (a path or a Location) as an absolute URL on the base origin; ``http://host:443/...`` is
        rewritten to the base origin (§9). Raises ``UnsafeRedirect`` for any other origin."""
        url = self.base.join(str(target))
        if url.scheme == "http" and url.port == 443 and url.host == self.base.host:
            url = url.copy_with(scheme=self.base.scheme, port=self.base.port)
        if (url.scheme, url.host, url.port) != (self.base.scheme, self.base.host, self.base.port):
            raise UnsafeRedirect(f"refusing {url.scheme}://{url.host}: only {self.base.host} is ever contacted",
                                 path=url.path)
        return url

    def request(self, method: str, target: str | httpx.URL, *, lane: Lane = Lane.RESULTS, json: Any = None,
                params: dict | None = None, expect_json: bool = True, auth: bool = True, basic: bool = False,
                retry_429: bool = True, retries: int | None = None, retry_wait: float | None = None
                ) -> httpx.Response:
        """Send one request to the base URL and return the response for any status but 401/429/5xx.

        ``lane``: its priority and circuit. ``auth``: sign in first and re-login once on a stale session (a 401,
        an HTML 200, or an empty 200 without ``Retry-After`` when ``expect_json``), then retry once. 429 (and
        the 400 ``CONCURRENT_SIMULATION_LIMIT_EXCEEDED``), 5xx and network errors are retried with ``backoff_delay``
        (``Retry-After`` honoured; ``retries``/``retry_wait`` override the count / fixed wait of the 5xx and
        network retries, 429s always get ``max_retries``); ``retry_429`` False raises BRAIN's simulation refusals
        (the concurrency and the daily limit, §6) at once for the caller to handle, while request-rate 429s
        are still retried; a POST/PATCH whose connection broke after sending raises
        ``DeliveryUnknown`` instead of being re-sent. Raises ``RateLimited``, ``ServerError``, ``CircuitOpen``,
        ``AuthError``, ``UnsafeRedirect``. Sleeps on the rate-limit headers (§6) and reads the quota headers.
        """
        url = self._url(target)
        max_retries = self.options.max_retries if retries is None else retries
        circuit = self._circuits[lane]
        attempt, limited, relogged = 0, 0, False   # 5xx/network retries, 429 retries, re-login done
        while True:
            if auth:
                self._ensure_session()
            generation = self._generation
            if not circuit.allow():
                raise CircuitOpen(f"{lane.name.lower()} lane paused after repeated failures", path=url.path)
            try:
                with self._gate.enter(lane):
                    resp = self._send(method, url, json, params, basic, auth or self._token is not None)
            except httpx.TransportError as exc:
                circuit.failure()
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                if method in ("POST", "PATCH") and not unsent:
                    raise DeliveryUnknown(f"connection lost ({type(exc).__name__}) after the request may have "
                                          "been sent; not re-sent", path=url.path) from None
                if attempt >= max_retries:
                    raise ServerError(f"network failure ({type(exc).__name__}) after {attempt} retries",
                                      path=url.path) from None
                self._sleep(retry_wait if retry_wait is not None else self._backoff(attempt, None))
                attempt += 1
                continue
            self._pace(resp)
            status = resp.status_code
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if status == 429 or (status == 400 and _detail(resp) == CONCURRENCY_DETAIL):
                if (not retry_429 and _refusal(_detail(resp))) or limited >= self.options.max_retries:
                    raise RateLimited(_detail(resp), status=429, path=url.path)
                self._sleep(self._backoff(limited, retry_after))
                limited += 1
                continue
            if status >= 500:
                circuit.failure()
                if attempt >= max_retries:
                    raise ServerError(_detail(resp), status=status, path=url.path)
                self._sleep(retry_wait if retry_wait is not None else self._backoff(attempt, retry_after))
                attempt += 1
                continue
            stale = status == 401 or (expect_json and status == 200 and _stale_body(resp))
            if auth and stale:
                if relogged:
                    raise AuthError("the session is still rejected after a re-login", status=status, path=url.path)
                self._relogin(generation, f"stale session signal on {method} {url.path} (HTTP {status})")
                relogged = True
                continue
            circuit.success()
            log.debug("BRAIN %s %s -> %s", method, url.path, status)
            return resp

    def _send(self, method, url, json, params, basic, with_cookie) -> httpx.Response:
        headers = {}
        if with_cookie and self._token is not None:
            headers["Cookie"] = "t=" + self._token.get_secret_value()
        auth = None
        if basic:
            auth = httpx.BasicAuth(self._email.get_secret_value(), self._password.get_secret_value())
        resp = self._http.request(method, url, json=json, params=params, headers=headers, auth=auth)
        resp.read()
        return resp

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        return backoff_delay(attempt, retry_after, base=self.options.backoff_base, cap=self.options.backoff_cap)

    def _pace(self, resp: httpx.Response) -> None:
        h = resp.headers
        self.quota.update(h)
        second, minute = h.get("x-ratelimit-remaining-second"), h.get("x-ratelimit-remaining-minute")
        try:
            if minute is not None and float(minute) <= 1:
                self._sleep(self.options.rate_minute_sleep)
            elif second is not None and float(second) < 1:
                self._sleep(self.options.rate_second_sleep)
        except ValueError:
            pass  # a malformed pacing header is ignored (it only paces)

    def poll(self, target: str | httpx.URL, lane: Lane, deadline: float | None = None,
             retries: int | None = None, retry_wait: float | None = None) -> httpx.Response | None:
        """GET ``target`` until the answer has no ``Retry-After`` (§1 async pattern), sleeping ``Retry-After``
        between polls; returns that answer (any status but 401/429/5xx), or None when ``deadline`` (epoch s)
        passed first. Errors as ``request``."""
        while True:
            resp = self.request("GET", target, lane=lane, retries=retries, retry_wait=retry_wait)
            wait = parse_retry_after(resp.headers.get("retry-after"))
            if wait is None:
                return resp
            if deadline is not None and self.clock() + wait > deadline:
                return None
            self._sleep(wait)

    def _awaited(self, target: str, lane: Lane) -> httpx.Response:
        """``poll`` bounded by ``sim_timeout`` for the non-simulation jobs (alpha, record sets, check, submit,
        correlations); raises ``ServerError`` when BRAIN still says running after it."""
        resp = self.poll(target, lane, self.clock() + self.options.sim_timeout)
        if resp is None:
            raise ServerError(f"still running after {self.options.sim_timeout:g}s", path=_path(self._url(target)))
        return resp

    def body_of(self, resp: httpx.Response) -> Any:
        """The JSON body of a 2xx, or the error class of its status (400 ValidationError, 404 NotFound)."""
        path = _path(resp.url)
        if resp.status_code == 400:
            raise ValidationError(_detail(resp), status=400, path=path, body=_json_or_none(resp))
        if resp.status_code == 404:
            raise NotFound(_detail(resp), status=404, path=path)
        if resp.status_code >= 300:
            raise BrainError(_detail(resp), status=resp.status_code, path=path, body=_json_or_none(resp))
        try:
            return resp.json()
        except ValueError:
            self._circuits[Lane.RESULTS].failure()
            raise ProtocolError("expected a JSON body", status=resp.status_code, path=path) from None

    # ---- account, settings, catalogue (§3, §11) ----------------------------------------------------
    def user(self) -> dict:
        """``GET /users/self``: the profile (``geniusLevel`` among others)."""
        return self.body_of(self.request("GET", "/users/self"))

    def simulation_options(self) -> dict:
        """``OPTIONS /simulations`` -> ``actions.POST.settings.children`` (setting name -> its description with
        ``choices`` nested by instrumentType then region); cached for the UTC day. ProtocolError when absent."""
        today = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).date()
        if self._options_cache and self._options_cache[0] == today:
            return self._options_cache[1]
        body = self.body_of(self.request("OPTIONS", "/simulations", lane=Lane.CATALOGUE))
        try:
            children = body["actions"]["POST"]["settings"]["children"]
        except (KeyError, TypeError):
            raise ProtocolError("OPTIONS /simulations without actions.POST.settings.children",
                                path="/simulations") from None
        self._options_cache = (today, children)
        return children

    def operators(self) -> list[dict]:
        """``GET /operators``: the operator list (both shapes of §11 accepted)."""
        body = self.body_of(self.request("GET", "/operators", lane=Lane.CATALOGUE))
        if isinstance(body, dict):
            body = body.get("operators")
        if not isinstance(body, list):
            raise ProtocolError("GET /operators gave neither a list nor {operators: [...]}", path="/operators")
        return body

    def data_sets(self, instrument_type: str, region: str, delay: int, universe: str, **filters: Any) -> Catalogue:
        """``GET /data-sets`` paged (§11); ``filters`` are extra query parameters (``search``, ``category``...)."""
        return self._paged("/data-sets", instrument_type, region, delay, universe, filters)

    def data_fields(self, instrument_type: str, region: str, delay: int, universe: str,
                    **filters: Any) -> Catalogue:
        """``GET /data-fields`` paged (§11); ``filters`` such as ``**{"dataset.id": "pv1"}``, ``type``, ``search``."""
        return self._paged("/data-fields", instrument_type, region, delay, universe, filters)

    def _paged(self, path: str, instrument_type, region, delay, universe, filters) -> Catalogue:
        base = {"instrumentType": instrument_type, "region": region, "delay": int(delay), "universe": universe,
                **filters, "limit": PAGE_LIMIT}
        items: list[dict] = []
        offset, count = 0, None
        while count is None or offset < count:
            if offset > MAX_OFFSET - PAGE_LIMIT:
                log.warning("BRAIN %s: %s of %s results reachable by offset; split the query", path, offset, count)
                return Catalogue(items=items, count=count, truncated=True)
            body = self._catalogue_page(path, {**base, "offset": offset})
            count = int(body.get("count", 0))
            page = body["results"]
            items.extend(page)
            if not page:
                break
            offset += len(page)
        return Catalogue(items=items, count=count or 0)

    def _catalogue_page(self, path: str, params: dict) -> dict:
        for attempt in range(self.options.catalogue_retries + 1):
            body = self.body_of(self.request("GET", path, lane=Lane.CATALOGUE, params=params))
            if isinstance(body, dict) and isinstance(body.get("results"), list):
                return body
            if attempt < self.options.catalogue_retries:
                self._sleep(self.options.catalogue_retry_wait)
        raise ProtocolError(f"no 'results' after {self.options.catalogue_retries} retries", path=path)

    # ---- alpha results (§7) ------------------------------------------------------------------------
    def alpha(self, alpha_id: str) -> dict:
        """``GET /alphas/{id}`` (polled while ``Retry-After``): the alpha JSON. NotFound for an unknown id."""
        return self.body_of(self._awaited(f"/alphas/{alpha_id}", Lane.RESULTS))

    def recordsets(self, alpha_id: str) -> Any:
        """``GET /alphas/{id}/recordsets``: BRAIN's list of the record sets."""
        return self.body_of(self._awaited(f"/alphas/{alpha_id}/recordsets", Lane.RESULTS))

    def recordset(self, alpha_id: str, name: str) -> RecordSet:
        """``GET /alphas/{id}/recordsets/{name}`` (polled): columns from ``schema.properties``, raw records."""
        body = self.body_of(self._awaited(f"/alphas/{alpha_id}/recordsets/{name}", Lane.RESULTS))
        try:
            cols = [p["name"] for p in body["schema"]["properties"]]
            return RecordSet(name=name, columns=cols, records=body.get("records") or [])
        except (KeyError, TypeError):
            raise ProtocolError(f"record set {name} without schema.properties",
                                path=f"/alphas/{alpha_id}/recordsets/{name}") from None

    def daily_pnl(self, alpha_id: str) -> list[tuple[str, float]]:
        """The ``daily-pnl`` record set as ``[(ISO date, pnl USD), ...]``."""
        rs = self.recordset(alpha_id, "daily-pnl")
        i, j = rs.columns.index("date"), rs.columns.index("pnl")
        return [(r[i], r[j]) for r in rs.records]

    def yearly_stats(self, alpha_id: str) -> list[dict]:
        """The ``yearly-stats`` record set as dicts (``year, pnl, sharpe, turnover, ...``)."""
        return self.recordset(alpha_id, "yearly-stats").rows()

    # ---- check, submit, correlations (§8-§10) ------------------------------------------------------
    def check(self, alpha_id: str) -> list[dict]:
        """``GET /alphas/{id}/check`` polled until done: the ``is.checks`` list (nothing is submitted).
        NotFound for an unknown alpha."""
        body = self.body_of(self._awaited(f"/alphas/{alpha_id}/check", Lane.SUBMIT))
        return ((body or {}).get("is") or {}).get("checks") or []

    def submit(self, alpha_id: str) -> SubmitResult:
        """``POST /alphas/{id}/submit`` then poll its Location (§9): 201 = started; 403 (on the POST or a poll)
        = REJECTED with the checks; 404 on a poll = ACCEPTED. The ``http://...:443`` Location is rewritten.
        Idempotency across runs is ``Simulator.submit``'s (the ledger). Raises BrainError for other answers."""
        path = f"/alphas/{alpha_id}/submit"
        resp = self.request("POST", path, lane=Lane.SUBMIT, expect_json=False)
        if resp.status_code == 403:
            return _rejected(alpha_id, resp)
        if resp.status_code != 201:
            self.body_of(resp)
            raise ProtocolError(f"submit answered HTTP {resp.status_code}, expected 201 or 403", path=path)
        target = resp.headers.get("location") or path
        wait = parse_retry_after(resp.headers.get("retry-after"))
        if wait:
            self._sleep(wait)
        return self.poll_submit(alpha_id, target)

    def poll_submit(self, alpha_id: str, target: str | None = None) -> SubmitResult:
        """Poll a started submission (also after a restart, §12): 404 = ACCEPTED, 403 = REJECTED."""
        resp = self._awaited(target or f"/alphas/{alpha_id}/submit", Lane.SUBMIT)
        if resp.status_code == 404:
            return SubmitResult(alpha_id=alpha_id, status="ACCEPTED", message="accepted (the submit endpoint is gone)")
        if resp.status_code == 403:
            return _rejected(alpha_id, resp)
        body = _json_or_none(resp)
        raise ProtocolError(f"submit poll answered HTTP {resp.status_code} without Retry-After "
                            f"({str(body)[:100]})", status=resp.status_code, path=f"/alphas/{alpha_id}/submit")

    def correlations(self, alpha_id: str, kind: str = "self") -> Correlation:
        """``GET /alphas/{id}/correlations/{kind}`` (polled); ``kind`` self, prod or power-pool. A 403 gives
        ``available=False``. ValueError for another kind."""
        if kind not in CORRELATION_KINDS:
            raise ValueError(f"correlation kind must be one of {CORRELATION_KINDS}, got {kind!r}")
        resp = self._awaited(f"/alphas/{alpha_id}/correlations/{kind}", Lane.RESULTS)
        if resp.status_code == 403:
            return Correlation(kind=kind, available=False)
        body = self.body_of(resp) or {}
        props = ((body.get("schema") or {}).get("properties")) or []
        return Correlation(kind=kind, max=body.get("max"), min=body.get("min"),
                           columns=[p.get("name") for p in props if isinstance(p, dict)],
                           records=body.get("records") or [])


def _rejected(alpha_id: str, resp: httpx.Response) -> SubmitResult:
    body = _json_or_none(resp) or {}
    checks = ((body.get("is") or {}).get("checks") or []) if isinstance(body, dict) else []
    out = SubmitResult(alpha_id=alpha_id, status="REJECTED", checks=checks)
    return out.model_copy(update={"message": "rejected: " + (", ".join(out.failing()) or _detail(resp))})


def _refusal(detail: str) -> bool:
    """A 429 detail that refuses a simulation (the concurrency or the daily limit, §6), not the request rate."""
    return detail == CONCURRENCY_DETAIL or "DAILY" in detail.upper()


def _stale_body(resp: httpx.Response) -> bool:
    """An HTML 200, or an empty 200 without Retry-After, where JSON is due (§2 stale session)."""
    if resp.headers.get("retry-after") is not None:
        return False
    if not resp.content.strip():
        return True
    kind = resp.headers.get("content-type", "")
    return "html" in kind or resp.content.lstrip()[:1] == b"<"


def _cookie_t(resp: httpx.Response) -> str | None:
    """The value of the ``t`` cookie set by ``resp`` (None when it sets none)."""
    for header in resp.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # http.cookies raises CookieError on odd attributes; such a header carries no t
            continue
        if "t" in jar and jar["t"].value:
            return jar["t"].value
    return None


def _print_persona(url: str) -> None:
    """Default persona prompt: the URL on stderr for the human (console only, never the log)."""
    import sys

    print(f"BRAIN needs the biometric (persona) step: open {url} and complete it; waiting...", file=sys.stderr)

