"""The BRAIN ledger (issue 14 item 2; BRAIN_API.md §12 "idempotency"): one row per alpha hash that was ever
sent to BRAIN, in the DuckDB table ``brain_ledger`` of the project's database file.

A hash is *claimed* (state ``QUEUED``) by the job that will post it, is ``POSTING`` only while its
``POST /simulations`` is on the wire (back to ``QUEUED`` when BRAIN answered 429); the simulation id is stored
(``IN_FLIGHT``) before the first poll, so a crash leaves a row a new process re-polls instead of re-posting.
States:

| state | meaning | posted again? |
|---|---|---|
| ``QUEUED`` | claimed, waiting for a slot or a retry: nothing BRAIN accepted | no (``recover`` releases a stale one) |
| ``POSTING`` | the POST is under way | no (a stale one becomes ``UNKNOWN`` on ``recover``) |
| ``IN_FLIGHT`` | BRAIN accepted it; ``simulation_id`` (or the multi-sim ``parent_id``) is known | no, re-polled |
| ``TIMEOUT`` | not done ``sim_timeout`` s after its POST (§12): parked | no, re-polled |
| ``COMPLETE`` / ``WARNING`` | done, ``alpha_id`` and the alpha JSON stored | no, reused |
| ``ERROR`` / ``FAIL`` / ``REJECTED`` | BRAIN's expression error, failure, or a 400 on the POST | no |
| ``CANCELLED`` | a multi-sim sibling cancelled by another child's error (§5) | yes (the one exception) |
| ``UNKNOWN`` | the process stopped between POST and storing the id: BRAIN may have it | no, until ``forget`` |

Submissions (§9, §12) add ``submit_state`` (``SUBMITTING``, ``ACCEPTED``, ``REJECTED``) to the same row.
Writes use short exclusive connections (``store.writes.writing``) so the pipeline can share the file.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict

from alpha_core.store.writes import reading, writing

TABLE = "brain_ledger"
COLUMNS: list[tuple[str, str]] = [
    ("alpha_hash", "VARCHAR PRIMARY KEY"), ("expression", "VARCHAR"), ("settings_json", "VARCHAR"),
    ("state", "VARCHAR"), ("simulation_id", "VARCHAR"), ("parent_id", "VARCHAR"), ("alpha_id", "VARCHAR"),
    ("message", "VARCHAR"), ("result_json", "VARCHAR"), ("posted_at", "TIMESTAMP"), ("updated_at", "TIMESTAMP"),
    ("submit_state", "VARCHAR"), ("submit_message", "VARCHAR"),
]
NAMES = [c for c, _ in COLUMNS]
REPOLL_STATES = ("IN_FLIGHT", "TIMEOUT")
CLAIM_STATES = ("QUEUED", "POSTING")
DONE_STATES = ("COMPLETE", "WARNING", "ERROR", "FAIL", "REJECTED")
REPOSTABLE_STATES = ("CANCELLED",)


class LedgerError(ValueError):
    """A ledger call that does not fit the rows (unknown hash, empty hash); the message names the hash."""


class LedgerEntry(BaseModel):
    """One ledger row (see the module table for ``state``). ``result`` is the parsed alpha JSON or None."""

    model_config = ConfigDict(frozen=True)

    alpha_hash: str
    expression: str | None = None
    settings_json: str | None = None
    state: str
    simulation_id: str | None = None
    parent_id: str | None = None
    alpha_id: str | None = None
    message: str | None = None
    result_json: str | None = None
    posted_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    submit_state: str | None = None
    submit_message: str | None = None

    @property
    def result(self) -> dict | None:
        """The stored alpha JSON (``GET /alphas/{id}``), parsed."""
        return json.loads(self.result_json) if self.result_json else None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Ledger:
    """The ``brain_ledger`` table of the DuckDB file ``path`` (created on first use). Thread-safe in one process."""

    def __init__(self, path: str | Path):
        if str(path) == ":memory:":
            raise LedgerError("the BRAIN ledger needs a DuckDB file (it must survive the process), not :memory:")
        self.path = Path(path)
        self._lock = threading.RLock()
        with writing(self.path) as con:
            cols = ", ".join(f'"{c}" {k}' for c, k in COLUMNS)
            con.execute(f'CREATE TABLE IF NOT EXISTS "{TABLE}" ({cols})')

    # ---- reads -----------------------------------------------------------------------------------
    def get(self, alpha_hash: str) -> LedgerEntry | None:
        """The row of ``alpha_hash`` or None."""
        rows = self._select('WHERE alpha_hash = ?', [alpha_hash])
        return rows[0] if rows else None

    def entries(self, states: Iterable[str] | None = None) -> list[LedgerEntry]:
        """Every row (or those in ``states``), ordered by ``posted_at`` then hash."""
        states = list(states) if states is not None else None
        if states == []:
            return []
        if states is None:
            return self._select("", [])
        return self._select(f"WHERE state IN ({', '.join('?' * len(states))})", states)

    def pending(self) -> list[LedgerEntry]:
        """Rows to re-poll (``IN_FLIGHT`` or ``TIMEOUT``)."""
        return self.entries(REPOLL_STATES)

    # ---- writes ----------------------------------------------------------------------------------
    def claim(self, alpha_hash: str, expression: str, settings_json: str) -> tuple[bool, LedgerEntry]:
        """Claim ``alpha_hash`` for a POST: (True, the new ``QUEUED`` row) when it has no row or a ``CANCELLED``
        one; else (False, the existing row): the caller must not post it. Atomic within the process."""
        if not alpha_hash:
            raise LedgerError("an alpha hash is required to claim a BRAIN simulation")
        with self._lock:
            old = self.get(alpha_hash)
            if old is not None and old.state not in REPOSTABLE_STATES:
                return False, old
            now = _now()
            row = LedgerEntry(alpha_hash=alpha_hash, expression=expression, settings_json=settings_json,
                              state="QUEUED", posted_at=now, updated_at=now)
            self._upsert(row)
            return True, row

    def update(self, alpha_hash: str, **changes: Any) -> LedgerEntry:
        """Change columns of an existing row (``updated_at`` set); ``result`` (a dict) is stored as
        ``result_json``. Raises LedgerError for an unknown hash or column."""
        if "result" in changes:
            result = changes.pop("result")
            changes["result_json"] = None if result is None else json.dumps(result, sort_keys=True)
        bad = [k for k in changes if k not in NAMES or k == "alpha_hash"]
        if bad:
            raise LedgerError(f"unknown ledger column(s) {bad}")
        with self._lock:
            old = self.get(alpha_hash)
            if old is None:
                raise LedgerError(f"alpha hash {alpha_hash[:12]} has no ledger row")
            row = old.model_copy(update={**changes, "updated_at": _now()})
            self._upsert(row)
            return row

    def mark(self, hashes: Iterable[str], state: str) -> None:
        """Set ``state`` (``POSTING`` before a POST goes out, ``QUEUED`` after BRAIN refused it with a 429) on the
        claimed rows of ``hashes`` in one transaction (``updated_at`` set). Raises LedgerError for another state."""
        if state not in CLAIM_STATES:
            raise LedgerError(f"mark takes {CLAIM_STATES}, not {state!r}")
        hashes = list(hashes)
        if not hashes:
            return
        with self._lock, writing(self.path) as con:
            con.execute(f'UPDATE "{TABLE}" SET state = ?, updated_at = ? WHERE state IN (?, ?) AND alpha_hash IN '
                        f'({", ".join("?" * len(hashes))})', [state, _now(), *CLAIM_STATES, *hashes])

    def release(self, alpha_hash: str) -> None:
        """Drop a claim (``QUEUED`` or ``POSTING``) whose POST BRAIN certainly did not accept (a 429 that never
        cleared, a connection that never opened): the hash may be posted later. Other states are left alone."""
        with self._lock, writing(self.path) as con:
            con.execute(f'DELETE FROM "{TABLE}" WHERE alpha_hash = ? AND state IN (?, ?)', [alpha_hash, *CLAIM_STATES])

    def recover(self) -> list[LedgerEntry]:
        """At start-up (no other client running on this file): ``QUEUED`` rows left by a stopped process are
        released (BRAIN never accepted them), ``POSTING`` rows become ``UNKNOWN`` (BRAIN may or may not have it;
        not re-posted). Returns the ``UNKNOWN`` rows."""
        with self._lock:
            with writing(self.path) as con:
                con.execute(f'DELETE FROM "{TABLE}" WHERE state = ?', ["QUEUED"])
            stale = self.entries(["POSTING"])
            for row in stale:
                self.update(row.alpha_hash, state="UNKNOWN",
                            message="the process stopped between POST and storing the simulation id")
            return stale

    def forget(self, alpha_hash: str) -> None:
        """A human's reset of one row (e.g. ``UNKNOWN`` after checking BRAIN's UI): the hash may be posted again."""
        with self._lock, writing(self.path) as con:
            con.execute(f'DELETE FROM "{TABLE}" WHERE alpha_hash = ?', [alpha_hash])

    # ---- plumbing --------------------------------------------------------------------------------
    def _select(self, where: str, params: list) -> list[LedgerEntry]:
        cols = ", ".join(f'"{c}"' for c in NAMES)
        with self._lock, reading(self.path) as con:
            rows = con.execute(f'SELECT {cols} FROM "{TABLE}" {where} ORDER BY posted_at, alpha_hash',
                               params).fetchall()
        return [LedgerEntry(**dict(zip(NAMES, r))) for r in rows]

    def _upsert(self, row: LedgerEntry) -> None:
        values = [getattr(row, c) for c in NAMES]
        cols = ", ".join(f'"{c}"' for c in NAMES)
        with writing(self.path) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f'DELETE FROM "{TABLE}" WHERE alpha_hash = ?', [row.alpha_hash])
                con.execute(f'INSERT INTO "{TABLE}" ({cols}) VALUES ({", ".join("?" * len(NAMES))})', values)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
