"""BRAIN simulations through the ledger (issue 14 items 1-2; BRAIN_API.md §3-§6, §12).

``Simulator(client, ledger).run(requests)`` claims every alpha hash in the ledger just before its POST, posts the
new ones (single, or multi-simulations of 2..10 children when the account has ``MULTI_SIMULATION``), stores each
simulation id before polling, polls with ``Retry-After``, fetches the alpha of every finished child, and records
the outcome. One thread per job, twice as many threads as slots; a job holds one adaptive slot from its POST
until BRAIN answers its top-level poll (a multi-simulation parent takes one slot).

Rules implemented: a hash already simulated or in flight is never posted again (``Ledger.claim``); a crashed
run's in-flight ids are re-polled by ``resume()``; a 429 on the POST shrinks the slots and waits for a running
slot before retrying (the claim is released, never lost, if it does not clear); a multi-simulation whose child
fails re-posts the cancelled siblings without it; the daily quota reserve is kept (children counted before
posting); a simulation not done ``sim_timeout`` s after its POST is recorded ``TIMEOUT`` (parked for
``resume``); polling failures (5xx, network, twice ``poll_error_wait`` apart) park the job ``IN_FLIGHT``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from alpha_core.brain.client import CONCURRENCY_DETAIL, BrainClient, SubmitResult
from alpha_core.brain.errors import (AuthError, BrainError, DeliveryUnknown, LedgerStateError, QuotaExhausted,
                                     RateLimited, ValidationError)
from alpha_core.brain.ledger import Ledger, LedgerEntry
from alpha_core.brain.pacing import Lane, backoff_delay

log = logging.getLogger("alpha_core.brain")

MULTI_MAX = 10
MULTI_EQUAL = ("instrumentType", "region", "delay", "language")
ALPHA_STATES = ("COMPLETE", "WARNING")


class SimulationRequest(BaseModel):
    """One alpha to simulate: its ``alpha_hash`` (the project's identity, FASTEXPR §9), the ``expression`` sent as
    ``regular``, and the BRAIN ``settings`` object (``SimSettings.brain_settings()``)."""

    model_config = ConfigDict(frozen=True)

    alpha_hash: str
    expression: str
    settings: dict
    type: str = "REGULAR"

    @classmethod
    def of(cls, expression: str, settings: Any = None, canonical: str | None = None) -> "SimulationRequest":
        """A request with the project's hash: ``alpha_hash(canonical or expression, identity settings)``;
        ``settings`` a ``SimSettings``, a dict of BRAIN settings, or None (defaults). Raises ``SettingsError``."""
        from alpha_core.expr.canonical import alpha_hash
        from alpha_core.sim.settings import SimSettings

        s = settings if isinstance(settings, SimSettings) else SimSettings(**(settings or {}))
        return cls(alpha_hash=alpha_hash(canonical or expression, json.loads(s.identity_json())),
                   expression=expression, settings=s.brain_settings(), type=s.type)

    def payload(self) -> dict:
        """The ``POST /simulations`` item (§3)."""
        return {"type": self.type, "settings": self.settings, "regular": self.expression}

    def group(self) -> tuple:
        """What must be equal across a multi-simulation's children (§5)."""
        return (self.type, *(self.settings.get(k) for k in MULTI_EQUAL))


class SimulationOutcome(BaseModel):
    """What became of one request. ``status``: BRAIN's terminal status (COMPLETE, WARNING, ERROR, CANCELLED, FAIL),
    or ours: ``TIMEOUT`` / ``IN_FLIGHT`` (parked, re-polled by ``resume``), ``REJECTED`` (400 on the POST),
    ``LINT_FAILED`` (not posted), ``NOT_POSTED`` (quota reserve or a 429 that did not clear; may be posted
    later), ``UNKNOWN`` (the POST's fate is unknown; never re-posted automatically). ``posted`` False when the
    ledger answered (reused) or nothing was sent."""

    alpha_hash: str
    status: str
    simulation_id: str | None = None
    alpha_id: str | None = None
    message: str | None = None
    location: dict | None = None
    alpha: dict | None = None
    posted: bool = False

    @classmethod
    def from_entry(cls, row: LedgerEntry, posted: bool = False) -> "SimulationOutcome":
        """The outcome a ledger row records."""
        result = row.result or {}
        return cls(alpha_hash=row.alpha_hash, status=row.state, simulation_id=row.simulation_id,
                   alpha_id=row.alpha_id, message=row.message, posted=posted,
                   location=result.get("location") if row.state not in ALPHA_STATES else None,
                   alpha=result if row.state in ALPHA_STATES else None)


class Simulator:
    """Runs BRAIN simulations for ``client`` under ``ledger``. ``lint(request)`` returns an error message for a
    request that must not be posted (None when fine); ``multi`` False forces single simulations (default:
    multi when the session has ``MULTI_SIMULATION``)."""

    def __init__(self, client: BrainClient, ledger: Ledger, *,
                 lint: Callable[[SimulationRequest], str | None] | None = None, multi: bool | None = None):
        self.client, self.ledger, self.lint, self.multi = client, ledger, lint, multi
        self._owned: set[str] = set()      # simulation ids this process polls (single poller, §12)
        self._owned_lock = threading.Lock()

    # ---- public ------------------------------------------------------------------------------------
    def run(self, requests: Iterable[SimulationRequest], resume_all: bool = False) -> list[SimulationOutcome]:
        """Simulate ``requests`` (duplicates by hash collapse to one); outcomes in input order, one per request.
        A requested hash parked in the ledger (IN_FLIGHT/TIMEOUT) is re-polled, never re-posted; ``resume_all``
        also re-polls every other parked row (after ``Ledger.recover``), beside the new posts rather than before
        them, so a stuck simulation left by a crash does not hold the day's posts back. Never raises for one
        alpha's failure (it is in its outcome); raises ``AuthError`` family when the session cannot be had,
        ``LedgerError`` for a request without a hash."""
        requests = list(requests)
        if resume_all:
            self.ledger.recover()
        out: dict[str, SimulationOutcome] = {}
        new: list[SimulationRequest] = []
        repoll: list[LedgerEntry] = []
        parked = {row.alpha_hash: row for row in self.ledger.pending()}
        for req in {r.alpha_hash: r for r in requests}.values():
            problem = self.lint(req) if self.lint else None
            row = parked.get(req.alpha_hash)
            if problem:
                out[req.alpha_hash] = SimulationOutcome(alpha_hash=req.alpha_hash, status="LINT_FAILED",
                                                        message=problem)
            elif row is None:
                new.append(req)      # claimed by its job just before its POST (``_claimed``)
            elif not self._is_owned(row):
                repoll.append(row)
            else:
                out[req.alpha_hash] = SimulationOutcome.from_entry(row)
        if resume_all:
            wanted = {r.alpha_hash for r in requests}
            repoll += [row for h, row in parked.items() if h not in wanted and not self._is_owned(row)]
        # re-polls first: a finished simulation holds its BRAIN slot until a poll sees it (§6)
        jobs: list[Callable[[], dict]] = [lambda g=g: self._repoll(g) for g in _poll_groups(repoll)]
        jobs += [lambda b=b: self._batch(b) for b in self._batches(new)]
        out.update(self._execute(jobs))
        return [out[r.alpha_hash] for r in requests]

    def resume(self) -> list[SimulationOutcome]:
        """After a crash or a parked run: stale ``QUEUED`` claims are released and stale ``POSTING`` rows become
        ``UNKNOWN`` (``Ledger.recover``), and every
        ``IN_FLIGHT``/``TIMEOUT`` simulation id is re-polled (never re-posted), each with a fresh ``sim_timeout``.
        Call it when no other process is simulating with this ledger. Returns the outcomes of the re-polled rows."""
        self.ledger.recover()
        rows = [r for r in self.ledger.pending() if not self._is_owned(r)]
        return list(self._execute([lambda g=g: self._repoll(g) for g in _poll_groups(rows)]).values())

    def submit(self, alpha_hash: str) -> SubmitResult:
        """Submit the alpha of ``alpha_hash`` at most once (§9, §12): its ledger row must hold an ``alpha_id``.
        ``submit_state`` SUBMITTING is written before the POST; a row already ACCEPTED/REJECTED answers from the
        ledger (``posted=False``); SUBMITTING or POLLING (a crashed run) is resumed by polling, and a 404 then is
        confirmed with ``GET /alphas/{id}`` (OS/ACTIVE) before it counts as ACCEPTED. Raises
        ``LedgerStateError`` when the hash has no simulated alpha."""
        row = self.ledger.get(alpha_hash)
        if row is None or not row.alpha_id:
            raise LedgerStateError(f"alpha {alpha_hash[:12]} has no BRAIN alpha id in the ledger; simulate it first")
        if row.submit_state in ("ACCEPTED", "REJECTED", "UNKNOWN"):
            return SubmitResult(alpha_id=row.alpha_id, status=row.submit_state, message=row.submit_message or "",
                                posted=False)
        if row.submit_state in ("SUBMITTING", "POLLING"):
            result = self.client.poll_submit(row.alpha_id)
            if result.status == "ACCEPTED" and not _accepted(self.client.alpha(row.alpha_id)):
                result = result.model_copy(update={"status": "UNKNOWN", "message": "resumed submission: the "
                                                   "endpoint is gone but the alpha is not OS/ACTIVE"})
        else:
            self.ledger.update(alpha_hash, submit_state="SUBMITTING", submit_message=None)
            result = self.client.submit(row.alpha_id)
        self.ledger.update(alpha_hash, submit_state=result.status, submit_message=result.message)
        return result

    # ---- jobs --------------------------------------------------------------------------------------
    def _execute(self, jobs: Sequence[Callable[[], dict]]) -> dict[str, SimulationOutcome]:
        out: dict[str, SimulationOutcome] = {}
        if not jobs:
            return out
        # twice the slots: while every slot holds a simulation, the next jobs claim their hashes and the
        # finished ones fetch their alphas and write the ledger, so a freed slot is re-filled at once
        with ThreadPoolExecutor(max_workers=2 * self.client.options.max_concurrency,
                                thread_name_prefix="brain-sim") as pool:
            for result in pool.map(lambda job: job(), jobs):
                out.update(result)
        return out

    def _batches(self, reqs: list[SimulationRequest]) -> list[list[SimulationRequest]]:
        multi = self.multi
        if multi is None:
            multi = len(reqs) > 1 and "MULTI_SIMULATION" in self.client.permissions
        if not multi:
            return [[r] for r in reqs]
        groups: dict[tuple, list[SimulationRequest]] = {}
        for r in reqs:
            groups.setdefault(r.group(), []).append(r)
        return [g[i:i + MULTI_MAX] for g in groups.values() for i in range(0, len(g), MULTI_MAX)]

    def _batch(self, batch: list[SimulationRequest]) -> dict[str, SimulationOutcome]:
        """Claim, post and poll one batch; a hash the ledger already has is answered from its row (never posted);
        re-post the CANCELLED siblings of a failed child (each round drops >= 1)."""
        out: dict[str, SimulationOutcome] = {}
        pending = self._claimed(batch, out)
        while pending:
            got = self._post_and_poll(pending)
            out.update(got)
            failed = any(o.status in ("ERROR", "FAIL") for o in got.values())
            cancelled = [r for r in pending if got[r.alpha_hash].status == "CANCELLED"]
            if not (failed and cancelled):
                break
            log.info("BRAIN multi-simulation: re-posting %s cancelled sibling(s) without the failed child",
                     len(cancelled))
            pending = self._claimed(cancelled, out)
        return out

    def _claimed(self, reqs: list[SimulationRequest], out: dict[str, SimulationOutcome]) -> list[SimulationRequest]:
        """The requests whose hash this job claimed in the ledger; the others get their row's outcome in ``out``."""
        claimed = []
        for r in reqs:
            ok, row = self.ledger.claim(r.alpha_hash, r.expression, json.dumps(r.settings, sort_keys=True))
            if ok:
                claimed.append(r)
            else:
                out[r.alpha_hash] = SimulationOutcome.from_entry(row)
        return claimed

    def _post_and_poll(self, items: list[SimulationRequest]) -> dict[str, SimulationOutcome]:
        client = self.client
        with contextlib.ExitStack() as held:
            mark = held.enter_context(client.slots.slot())
            while True:
                n = len(items)
                if not client.quota.allows(n):
                    return self._unposted(items, "NOT_POSTED", "daily simulation quota reserve reached")
                body = items[0].payload() if n == 1 else [r.payload() for r in items]
                try:
                    resp = self._post(body, mark, [r.alpha_hash for r in items])
                except (RateLimited, QuotaExhausted) as exc:
                    return self._unposted(items, "NOT_POSTED", f"not posted: {exc.detail}")
                except ValidationError as exc:
                    bad = _bad_items(items, exc.body)
                    for r in bad or items:
                        self._finish(r.alpha_hash, "REJECTED", message=f"BRAIN refused the settings: {exc.body}")
                    rejected = {r.alpha_hash: SimulationOutcome.from_entry(self.ledger.get(r.alpha_hash))
                                for r in bad or items}
                    items = [r for r in items if r.alpha_hash not in rejected] if bad else []
                    if not items:
                        return rejected
                    continue  # post the good items of a multi-simulation without the refused ones
                except DeliveryUnknown as exc:
                    return self._unknown(items, exc.detail)
                except BrainError as exc:
                    return self._unposted(items, "NOT_POSTED", f"not posted: {exc}")
                break
            client.slots.accepted()
            location = resp.headers.get("location")
            if not location:
                return self._unknown(items, "POST /simulations answered 201 without a Location")
            sim_id = location.rstrip("/").rsplit("/", 1)[-1]
            for r in items:  # stored before the first poll: a crash leaves an id to re-poll
                self.ledger.update(r.alpha_hash, state="IN_FLIGHT", simulation_id=sim_id if n == 1 else None,
                                   parent_id=sim_id if n > 1 else None, message=None)
            self._own(sim_id)
            try:
                return self._poll(sim_id, location, [r.alpha_hash for r in items], n > 1, done=held.close)
            finally:
                self._disown(sim_id)

    def _post(self, body: Any, mark: dict, hashes: list[str]):
        """``POST /simulations``; a concurrency 429 shrinks the slots and waits for a running one (§6); the
        daily limit raises ``QuotaExhausted``. The claims of ``hashes`` are ``POSTING`` only while a POST is on
        the wire and ``QUEUED`` again while waiting after a 429 (a crash then releases them, ``Ledger.recover``)."""
        client = self.client
        for attempt in range(client.options.concurrency_waits):
            self.ledger.mark(hashes, "POSTING")
            try:
                return client.request("POST", "/simulations", lane=Lane.SIMULATION, json=body, retry_429=False,
                                      expect_json=False)
            except RateLimited as exc:
                self.ledger.mark(hashes, "QUEUED")      # BRAIN answered 429: it has not taken them
                if "DAILY" in exc.detail.upper():
                    raise QuotaExhausted(exc.detail, status=429, path="/simulations") from None
                if exc.detail == CONCURRENCY_DETAIL:   # BRAIN refused this one: fewer slots (a request-rate 429
                    mark["clean"] = False              # says nothing about them; it outlived its retries here)
                    client.slots.on_rate_limited()
                wait = backoff_delay(min(attempt, 6), None, base=client.options.backoff_base,
                                     cap=client.options.backoff_cap)
                log.info("BRAIN 429 on POST /simulations (%s); waiting up to %.2fs for a slot", exc.detail, wait)
                client.slots.wait_for_release(wait)
        raise RateLimited(f"concurrency limit did not clear after {client.options.concurrency_waits} waits",
                          status=429, path="/simulations")

    def _repoll(self, rows: list[LedgerEntry]) -> dict[str, SimulationOutcome]:
        first = rows[0]
        multi = first.simulation_id is None      # parked before its multi parent answered: poll the parent
        sim_id = first.simulation_id or first.parent_id
        if not self._own(sim_id):
            return {r.alpha_hash: SimulationOutcome.from_entry(r) for r in rows}
        try:
            self.client.slots.accepted()     # it is an accepted simulation too: slow start makes room for new posts
            with self.client.slots.held():
                polled = self._poll(sim_id, f"/simulations/{sim_id}", [r.alpha_hash for r in rows], multi)
            return {h: o.model_copy(update={"posted": False}) for h, o in polled.items()}   # re-polled, not posted
        finally:
            self._disown(sim_id)

    def _poll(self, sim_id: str, target: str, hashes: list[str], multi: bool,
              done: Callable[[], None] = lambda: None) -> dict[str, SimulationOutcome]:
        """Poll a simulation (a multi parent, then its children) and record every child's outcome. ``done()`` is
        called once BRAIN answered the top-level poll (its slot is free there): the caller's slot is released
        before the children, the alpha and the ledger are read and written."""
        client, opts = self.client, self.client.options
        deadline = client.clock() + opts.sim_timeout
        try:
            resp = client.poll(target, Lane.SIMULATION, deadline, retries=opts.poll_error_retries,
                               retry_wait=opts.poll_error_wait)
            done()
            if resp is None:
                return {h: self._finish(h, "TIMEOUT", message=f"not done {opts.sim_timeout:g}s after its POST; "
                                        "parked for a later re-poll") for h in hashes}
            body = client.body_of(resp)
            if not multi:
                return {hashes[0]: self._settle(hashes[0], sim_id, body)}
            children = body.get("children") or []
            if not children:
                msg = body.get("message") or f"multi-simulation {body.get('status')} without children"
                return {h: self._finish(h, body.get("status") or "FAIL", message=msg) for h in hashes}
            out = {}
            for h, child in zip(hashes, children):
                try:
                    cresp = client.poll(f"/simulations/{child}", Lane.SIMULATION, deadline,
                                        retries=opts.poll_error_retries, retry_wait=opts.poll_error_wait)
                    if cresp is None:
                        out[h] = self._finish(h, "TIMEOUT", simulation_id=child, message="child not done in time")
                    else:
                        out[h] = self._settle(h, child, client.body_of(cresp))
                except BrainError as exc:    # this child only: its siblings keep what they got
                    if isinstance(exc, AuthError):
                        raise
                    log.warning("BRAIN child simulation %s parked: %s", child, exc)
                    out[h] = self._finish(h, "IN_FLIGHT", simulation_id=child, message=f"parked, re-poll later: {exc}")
            return out
        except BrainError as exc:
            if isinstance(exc, AuthError):
                raise
            log.warning("BRAIN simulation %s parked: %s", sim_id, exc)
            return {h: self._finish(h, "IN_FLIGHT", message=f"parked, re-poll later: {exc}") for h in hashes}

    def _settle(self, alpha_hash: str, sim_id: str, body: dict) -> SimulationOutcome:
        if not _same_request(self.ledger.get(alpha_hash), body):
            # never store another alpha's result under this hash (a multi child matched to the wrong row)
            return self._finish(alpha_hash, "IN_FLIGHT", message=f"simulation {sim_id} is for another alpha "
                                f"({str(body.get('regular'))[:60]!r}); parked for a re-poll")
        status = str(body.get("status") or "FAIL")
        if status in ALPHA_STATES and body.get("alpha"):
            alpha_id = body["alpha"]
            alpha = self.client.alpha(alpha_id)
            return self._finish(alpha_hash, status, simulation_id=sim_id, alpha_id=alpha_id, result=alpha,
                                message=None)
        result = {"location": body["location"]} if body.get("location") else None
        return self._finish(alpha_hash, status, simulation_id=sim_id, result=result,
                            message=body.get("message") or f"simulation ended {status}")

    # ---- ledger helpers ----------------------------------------------------------------------------
    def _finish(self, alpha_hash: str, state: str, **changes: Any) -> SimulationOutcome:
        row = self.ledger.update(alpha_hash, state=state, **changes)
        return SimulationOutcome.from_entry(row, posted=True)

    def _unposted(self, items, status: str, message: str) -> dict[str, SimulationOutcome]:
        for r in items:
            self.ledger.release(r.alpha_hash)
        return {r.alpha_hash: SimulationOutcome(alpha_hash=r.alpha_hash, status=status, message=message)
                for r in items}

    def _unknown(self, items, message: str) -> dict[str, SimulationOutcome]:
        return {r.alpha_hash: self._finish(r.alpha_hash, "UNKNOWN", message=message) for r in items}

    def _own(self, sim_id: str) -> bool:
        with self._owned_lock:
            if sim_id in self._owned:
                return False
            self._owned.add(sim_id)
            return True

    def _disown(self, sim_id: str) -> None:
        with self._owned_lock:
            self._owned.discard(sim_id)

    def _is_owned(self, row: LedgerEntry) -> bool:
        with self._owned_lock:
            return (row.simulation_id or row.parent_id) in self._owned


def _same_request(row: LedgerEntry | None, body: dict) -> bool:
    """False when a simulation's body (§4: the request echoed) shows another expression, or another value of a
    setting we sent, than the ledger row; True when it matches or says nothing."""
    if row is None or body.get("regular") is None:
        return True
    if row.expression is not None and body["regular"] != row.expression:
        return False
    sent, echoed = json.loads(row.settings_json or "{}"), body.get("settings")
    return not isinstance(echoed, dict) or all(str(echoed[k]) == str(v) for k, v in sent.items() if k in echoed)


def _poll_groups(rows: list[LedgerEntry]) -> list[list[LedgerEntry]]:
    """Rows to re-poll grouped by what is polled: the simulation itself when its id is known (a single, or a
    multi child whose parent answered), else the multi parent (its children in posting order)."""
    groups: dict[str, list[LedgerEntry]] = {}
    for r in rows:
        key = r.simulation_id or r.parent_id
        if key:
            groups.setdefault(key, []).append(r)
    # claim order is the order of a multi-simulation's items, hence of its children (rows may come in the
    # order of the day's requests)
    epoch = dt.datetime.min
    return [sorted(g, key=lambda r: (r.posted_at or epoch, r.alpha_hash)) for g in groups.values()]


def _bad_items(items: list[SimulationRequest], body: Any) -> list[SimulationRequest]:
    """The items of a multi-simulation a 400 names (§5: an array of per-item errors aligned with the input)."""
    if not isinstance(body, list) or len(body) != len(items):
        return []
    return [r for r, err in zip(items, body) if err]


def _accepted(alpha: dict) -> bool:
    return alpha.get("stage") == "OS" or alpha.get("status") == "ACTIVE"
