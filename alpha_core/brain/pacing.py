"""Pacing of BRAIN traffic (BRAIN_API.md §6 and §12): backoff, adaptive simulation slots, the daily quota,
priority lanes, per-lane circuit breakers, and the small JSON state file that carries slots, quota and the
auth circuit from one process to the next.

Everything here is plain data plus a lock: no HTTP, so it is tested without a server. Times are seconds;
``now`` arguments are ``time.time()`` epoch seconds unless said otherwise.
"""
from __future__ import annotations

import heapq
import itertools
import json
import math
import os
import random
import threading
import time
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import Any, Callable, Mapping


class Lane(IntEnum):
    """HTTP lanes, highest priority first (§6 "priority")."""

    SIMULATION = 0
    SUBMIT = 1
    RESULTS = 2
    CATALOGUE = 3


def backoff_delay(attempt: int, retry_after: float | None = None, *, base: float = 1.0, cap: float = 60.0,
                  jitter: float = 0.2, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based) (§12 "backoff").

    ``retry_after`` (the header, seconds) wins when given; else ``base * 2**attempt`` with +-``jitter`` (a
    fraction), capped at ``cap``. Raises ValueError for a negative ``attempt``.
    """
    if attempt < 0:
        raise ValueError(f"backoff attempt must be >= 0, got {attempt}")
    if retry_after is not None:
        return max(0.0, float(retry_after))
    raw = min(cap, base * (2 ** attempt))
    spread = (rng or random).uniform(-jitter, jitter)
    return max(0.0, min(cap, raw * (1 + spread)))


def parse_retry_after(value: str | None) -> float | None:
    """The ``Retry-After`` header as seconds (``"5.0"`` -> 5.0); None when absent or not a number."""
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except ValueError:
        return None
    return out if math.isfinite(out) and out >= 0 else None


class StateFile:
    """A small JSON document persisted atomically (temp file + rename) at ``path``; ``path=None`` keeps it in
    memory only. Sections: ``slots``, ``quota``, ``auth``. Never holds a secret."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        if self.path and self.path.exists():
            try:
                self._data = json.loads(self.path.read_text(encoding="utf-8")) or {}
            except (OSError, ValueError):
                self._data = {}  # a damaged state file only loses pacing hints; start from the defaults

    def get(self, section: str) -> dict:
        """A copy of ``section`` ({} when absent)."""
        with self._lock:
            return dict(self._data.get(section) or {})

    def put(self, section: str, value: Mapping[str, Any]) -> None:
        """Replace ``section`` and write the file (when it has a path)."""
        with self._lock:
            self._data[section] = dict(value)
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(self.path.suffix + f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._data, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)


class AdaptiveSlots:
    """Simulation slots whose number adapts (§6 "concurrent simulations"; issue 14 "adaptive concurrency").

    Starts at ``start`` (or the persisted limit), grows by one after ``grow_after`` clean completions in a row,
    up to ``maximum``; until BRAIN first refuses a simulation (``refused``, persisted) every POST BRAIN accepts
    grows it by one (slow start, ``accepted``: the ramp from 1 to the account's limit costs at most one refused
    POST, and a first simulation that is slow or stuck does not keep the other slots idle). A 429 shrinks it at once to ``max(1, busy - 1)`` (BRAIN refused the newest one) and resets the
    clean run. ``acquire`` blocks while every slot is busy; a multi-simulation parent takes one slot.
    """

    def __init__(self, maximum: int = 3, start: int = 1, grow_after: int = 3, state: StateFile | None = None):
        if maximum < 1 or start < 1 or grow_after < 1:
            raise ValueError(f"slots need maximum, start, grow_after >= 1 (got {maximum}, {start}, {grow_after})")
        self.maximum = maximum
        self.grow_after = grow_after
        self._state = state or StateFile(None)
        saved = self._state.get("slots")
        self.limit = int(min(maximum, max(1, saved.get("limit", start))))
        self.clean = int(saved.get("clean", 0))
        self.refused = bool(saved.get("refused", False))
        self.busy = 0
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot, waiting while ``busy >= limit``; False when ``timeout`` seconds passed first."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self.busy < self.limit, timeout)
            if ok:
                self.busy += 1
            return ok

    def release(self, clean: bool) -> None:
        """Give a slot back; ``clean`` = the job ran without a 429 (counts toward growing)."""
        with self._cond:
            self.busy = max(0, self.busy - 1)
            if clean and self.refused:
                self.clean += 1
                if self.clean >= self.grow_after and self.limit < self.maximum:
                    self.limit += 1
                    self.clean = 0
            self._save()
            self._cond.notify_all()

    def accepted(self) -> None:
        """BRAIN accepted a simulation POST (201): while no simulation was ever refused, one more slot."""
        with self._cond:
            if not self.refused and self.limit < self.maximum:
                self.limit += 1
                self._save()
                self._cond.notify_all()

    def on_rate_limited(self) -> None:
        """A 429 on a simulation POST: shrink at once (never below 1) and restart the clean run."""
        with self._cond:
            self.limit = max(1, min(self.limit, self.busy - 1))
            self.clean, self.refused = 0, True
            self._save()

    def wait_for_release(self, timeout: float) -> None:
        """Block until another slot is released or ``timeout`` seconds pass (§6 "wait for a running slot")."""
        with self._cond:
            self._cond.wait(timeout)

    @contextmanager
    def held(self):
        """``with slots.held():`` counts a simulation already running on BRAIN (a parked one being re-polled) as
        busy without waiting for a slot: it holds a BRAIN slot whether or not we poll it, and polling it is
        what frees that slot, so it must never queue behind new posts."""
        with self._cond:
            self.busy += 1
        try:
            yield
        finally:
            self.release(True)

    @contextmanager
    def slot(self):
        """``with slots.slot() as s:`` holds a slot; set ``s["clean"] = False`` when the job saw a 429."""
        self.acquire()
        mark = {"clean": True}
        try:
            yield mark
        finally:
            self.release(mark["clean"])

    def _save(self) -> None:
        self._state.put("slots", {"limit": self.limit, "clean": self.clean, "refused": self.refused})


class DailyQuota:
    """The daily simulation quota from ``X-Ratelimit-Limit/-Remaining/-Reset`` (§6), with a reserve.

    ``reserve_fraction`` of the limit (default 10%) is never spent. Unknown values (no header seen yet, or the
    reset time passed) allow posting. Persisted in the ``quota`` section of the state file.
    """

    def __init__(self, reserve_fraction: float = 0.1, state: StateFile | None = None,
                 clock: Callable[[], float] = time.time):
        if not 0 <= reserve_fraction < 1:
            raise ValueError(f"quota reserve must be a fraction in [0, 1), got {reserve_fraction}")
        self.reserve_fraction = reserve_fraction
        self._state = state or StateFile(None)
        self._clock = clock
        self._lock = threading.Lock()
        saved = self._state.get("quota")
        self.limit: int | None = saved.get("limit")
        self.remaining: int | None = saved.get("remaining")
        self.reset_at: float | None = saved.get("reset_at")

    def update(self, headers: Mapping[str, str]) -> None:
        """Read the daily headers of a ``POST /simulations`` response (case-insensitive mapping); missing or
        non-numeric values leave the previous ones."""
        def num(name):
            try:
                return float(headers.get(name))
            except (TypeError, ValueError):
                return None

        limit, remaining, reset = num("x-ratelimit-limit"), num("x-ratelimit-remaining"), num("x-ratelimit-reset")
        if limit is None and remaining is None:
            return
        with self._lock:
            if limit is not None:
                self.limit = int(limit)
            if remaining is not None:
                self.remaining = int(remaining)
            if reset is not None:
                self.reset_at = self._clock() + reset
            self._state.put("quota", {"limit": self.limit, "remaining": self.remaining, "reset_at": self.reset_at})

    def reserve(self) -> int:
        """Simulations kept back: ``ceil(limit * reserve_fraction)`` (0 while the limit is unknown)."""
        return math.ceil(self.limit * self.reserve_fraction) if self.limit else 0

    def allows(self, n: int = 1) -> bool:
        """True when ``n`` more simulations (each multi-sim child counts) leave the reserve intact."""
        with self._lock:
            if self.remaining is None or (self.reset_at is not None and self._clock() >= self.reset_at):
                return True
            return self.remaining - n >= self.reserve()


class Circuit:
    """One lane's circuit breaker (§12): ``threshold`` consecutive failures open it for ``cooldown`` seconds;
    then one probe may pass (half-open); a success closes it, a failure re-opens it."""

    def __init__(self, threshold: int = 5, cooldown: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.threshold, self.cooldown, self._clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    def allow(self) -> bool:
        """True when a request may go out now (closed, or the single half-open probe)."""
        with self._lock:
            if self.opened_at is None:
                return True
            if self._clock() - self.opened_at >= self.cooldown and not self._probing:
                self._probing = True
                return True
            return False

    def success(self) -> None:
        """A request of this lane succeeded: close the circuit."""
        with self._lock:
            self.failures, self.opened_at, self._probing = 0, None, False

    def failure(self) -> None:
        """A 5xx, timeout or unparseable body: count it; open (or re-open) at the threshold."""
        with self._lock:
            self.failures += 1
            if self._probing or self.failures >= self.threshold:
                self.opened_at, self._probing = self._clock(), False


class LaneGate:
    """At most ``width`` HTTP requests in flight; waiting requests leave in lane order (``Lane``), then FIFO."""

    def __init__(self, width: int = 4):
        if width < 1:
            raise ValueError(f"lane gate width must be >= 1, got {width}")
        self.width = width
        self._busy = 0
        self._queue: list[tuple[int, int]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()

    @contextmanager
    def enter(self, lane: Lane):
        """``with gate.enter(Lane.SIMULATION):`` waits for a free place and for every higher lane to go first."""
        ticket = (int(lane), next(self._seq))
        with self._cond:
            heapq.heappush(self._queue, ticket)
            self._cond.wait_for(lambda: self._busy < self.width and self._queue[0] == ticket)
            heapq.heappop(self._queue)
            self._busy += 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()
