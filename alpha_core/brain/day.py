"""BRAIN in the day's pipeline (issue 14 item 4): the day's locally passing alphas simulated on BRAIN, BRAIN's
checks laid over the local checklist, and live submissions with their daily cap.

- ``simulate_day``: the day's winners (``gate.order.day_finalists``: no local check FAILs), best local IS fitness
  first, at most ``limit``, through ``Simulator`` and the ``brain_ledger`` (a hash simulated or in flight on
  BRAIN is never posted again; in-flight ids left by a crash are re-polled first). Returns the rows of table
  ``brain_simulations``: BRAIN's metrics beside the local ones, and both verdicts.
- ``with_brain_checks``: a checklist with BRAIN's check rows (name, result, value, limit) in place of ours of the
  same name (BRAIN knows its limits and its own data); a BRAIN FAIL therefore blocks the submission. BRAIN's
  ``SELF_CORRELATION`` while PENDING is not taken (ours is computed by the day's gate).
- ``submit_live``: the gate's chosen alphas submitted on BRAIN (§9) once each (``Simulator.submit``), at most
  ``cap`` attempts per UTC calendar day counted in the ledger, every attempt and its outcome a row.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Mapping, Sequence

from alpha_core.brain.calibration import METRICS, checks_verdict
from alpha_core.gate.checks import PENDING, Check, finite_or_none

#: BRAIN alpha states that carry an alpha (and its checks).
ALPHA_STATES = ("COMPLETE", "WARNING")
#: BRAIN checks whose limit is one number per delay (not per alpha): what ``brain_limits`` carries over
GLOBAL_LIMITS = ("LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER", "CONCENTRATED_WEIGHT",
                 "SELF_CORRELATION", "LOW_2Y_SHARPE")
#: extra rounds of re-polls within one run for simulations parked by polling failures
REPOLL_ROUNDS = 3
#: ``submit_state`` values that used one of the day's submissions (a 403 REJECTED did not).
ATTEMPTED_STATES = ("SUBMITTING", "POLLING", "ACCEPTED", "UNKNOWN")


def brain_checks(alpha: Mapping | None) -> list[Check]:
    """BRAIN's IS checks of one alpha (``GET /alphas/{id}`` body, BRAIN_API.md §7) as ``Check`` rows; [] without
    an alpha. ``value``/``limit`` None when BRAIN gives none; the message says the row is BRAIN's."""
    out = []
    for c in ((alpha or {}).get("is") or {}).get("checks") or []:
        name = str(c.get("name") or "?")
        out.append(Check(name, str(c.get("result") or PENDING), finite_or_none(c.get("value")),
                         finite_or_none(c.get("limit")), "BRAIN: " + str(c.get("message") or c.get("result") or "")))
    return out


def with_brain_checks(checks: Sequence[Check], brain: Sequence[Check]) -> list[Check]:
    """``checks`` with every BRAIN row (``brain_checks``) in place of the local row of the same name, BRAIN rows
    we do not have appended at the end; BRAIN's PENDING ``SELF_CORRELATION`` is left to the local gate."""
    by_name = {c.name: c for c in brain if not (c.name == "SELF_CORRELATION" and c.result == PENDING)}
    out = [by_name.pop(c.name, c) for c in checks]
    return out + list(by_name.values())


def brain_alphas(con, hashes: Sequence[str]) -> dict[str, dict]:
    """The stored BRAIN alpha (``brain_ledger.result_json`` of a COMPLETE/WARNING row) of each of ``hashes`` that
    has one, from an open DuckDB connection; {} when the ledger table does not exist."""
    from alpha_core.brain.ledger import TABLE
    from alpha_core.store import reads

    if not hashes or not reads.table_exists(con, TABLE):
        return {}
    rows = con.execute(f'SELECT alpha_hash, result_json FROM "{TABLE}" WHERE state IN (?, ?) AND alpha_hash IN '
                       f'({", ".join("?" * len(hashes))})', [*ALPHA_STATES, *hashes]).fetchall()
    return {h: json.loads(r) for h, r in rows if r}


def brain_limits(con) -> dict[int, dict[str, float]]:
    """BRAIN's live check limits by delay, from the latest BRAIN alpha of each delay in the ledger (open DuckDB
    connection): check name -> limit for the checks whose limit is the same for every alpha (``GLOBAL_LIMITS``;
    LOW_SUB_UNIVERSE_SHARPE's depends on the alpha's sharpe). {} before BRAIN simulated anything. The search's
    alpha checklist uses them in place of SIMULATION.md §7's table (``gate.checklist.alpha_checklist``)."""
    from alpha_core.brain.ledger import TABLE
    from alpha_core.store import reads

    if not reads.table_exists(con, TABLE):
        return {}
    out: dict[int, dict[str, float]] = {}
    for settings_json, result_json in con.execute(
            f'SELECT settings_json, result_json FROM "{TABLE}" WHERE state IN (?, ?) AND result_json IS NOT NULL '
            "ORDER BY updated_at DESC LIMIT 50", list(ALPHA_STATES)).fetchall():
        delay = int(json.loads(settings_json or "{}").get("delay", 1))
        if delay in out:
            continue
        limits = {c.name: c.limit for c in brain_checks(json.loads(result_json))
                  if c.name in GLOBAL_LIMITS and c.limit is not None}
        if limits:
            out[delay] = limits
    return out


def simulate_alphas(db_path: str, alphas: Sequence[tuple[str, str, str]], client) -> list:
    """Simulate ``alphas`` = (alpha hash, expression, settings JSON) on BRAIN through ``client`` (``BrainClient``)
    and the ``brain_ledger`` of ``db_path``, re-polling beside them what a stopped run left in flight, and then,
    up to ``REPOLL_ROUNDS`` times while it makes progress, the ones whose polls were parked. Returns one
    ``SimulationOutcome`` per alpha, in order. Raises ``ValueError`` when a stored hash does not match its
    expression and settings (nothing is posted then); ``AuthError`` when no session can be had."""
    from alpha_core.brain.ledger import Ledger
    from alpha_core.brain.simulations import SimulationRequest, Simulator

    requests = []
    for h, expression, settings_json in alphas:
        req = SimulationRequest.of(expression, json.loads(settings_json or "{}"))
        if req.alpha_hash != h:
            raise ValueError(f"{h[:12]}: the stored settings give hash {req.alpha_hash[:12]}; nothing was sent")
        requests.append(req)
    simulator = Simulator(client, Ledger(db_path))
    outcomes = simulator.run(requests, resume_all=True)
    for _ in range(REPOLL_ROUNDS):      # polls parked by 5xx or an open circuit: again while that makes progress
        parked = [r for r, o in zip(requests, outcomes) if o.status == "IN_FLIGHT"]
        if not parked:
            break
        again = dict(zip((r.alpha_hash for r in parked), simulator.run(parked)))
        if all(o.status == "IN_FLIGHT" for o in again.values()):
            break
        outcomes = [o if r.alpha_hash not in again else
                    again[r.alpha_hash].model_copy(update={"posted": o.posted}) for r, o in zip(requests, outcomes)]
    return outcomes


def simulate_day(db_path: str, mining_date: str, client, limit: int) -> list[dict]:
    """``brain_simulations`` rows (without ``run_id``) of ``mining_date``: its ``limit`` best winners by local IS
    fitness (then hash) simulated on BRAIN (``simulate_alphas``), each with local and BRAIN sharpe, fitness,
    turnover (fractions), verdicts (``pass``/``fail``) and BRAIN's checks as JSON. [] when the day has no winner."""
    from alpha_core.gate.order import day_finalists
    from alpha_core.store.writes import reading

    with reading(db_path) as con:
        finalists = day_finalists(con, mining_date)
    finalists.sort(key=lambda f: (-(f.row.get("is_fitness") or -1e9), f.alpha_hash))
    finalists = finalists[:max(0, int(limit))]
    if not finalists:
        return []
    outcomes = simulate_alphas(db_path, [(f.alpha_hash, f.expression, f.settings_json) for f in finalists], client)
    rows = []
    for f, o in zip(finalists, outcomes):
        brain = (o.alpha or {}).get("is") or {}
        row = {"mining_date": mining_date, "alpha_hash": f.alpha_hash, "field": f.field, "expression": f.expression,
               "status": o.status, "brain_alpha_id": o.alpha_id, "message": o.message, "posted": o.posted}
        for m in METRICS:
            row[f"local_{m}"] = finite_or_none(f.row.get(f"is_{m}"))
            row[f"brain_{m}"] = finite_or_none(brain.get(m))
        row["local_verdict"] = "fail" if any(c.result == "FAIL" for c in f.checks) else "pass"
        row["brain_verdict"] = checks_verdict(brain.get("checks"))
        row["brain_checks_json"] = json.dumps(brain.get("checks")) if brain.get("checks") else None
        rows.append(row)
    return rows


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def submissions_used_today(db_path: str, now: dt.datetime | None = None) -> int:
    """Live submissions attempted on the UTC calendar day of ``now`` (ledger rows whose ``submit_state`` is one
    of ``ATTEMPTED_STATES``, last updated that day): BRAIN's daily cap counts these, whatever the mining date."""
    from alpha_core.brain.ledger import TABLE
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    day = (now or _utc_now()).date()
    with reading(db_path) as con:
        if not reads.table_exists(con, TABLE):
            return 0
        return int(con.execute(
            f'SELECT count(*) FROM "{TABLE}" WHERE submit_state IN ({", ".join("?" * len(ATTEMPTED_STATES))}) '
            "AND CAST(updated_at AS DATE) = CAST(? AS DATE)", [*ATTEMPTED_STATES, day.isoformat()]).fetchone()[0])


def submit_live(db_path: str, mining_date: str, chosen: Sequence, client, cap: int,
                now: dt.datetime | None = None) -> list[dict]:
    """Submit the gate's ``chosen`` finalists (``gate.order.Finalist``, best first) on BRAIN; returns one
    ``submissions`` row (without ``run_id``) per finalist with ``mode='live'`` and the attempt's outcome:

    - ``ACCEPTED`` / ``REJECTED`` (with BRAIN's failing checks) / ``UNKNOWN``: BRAIN's answer (§9), or the
      ledger's when the alpha was submitted before (never posted twice);
    - ``NOT_ON_BRAIN``: the alpha has no BRAIN alpha id (not simulated there, or BRAIN's simulation failed);
    - ``CAP``: ``cap`` live submissions were already attempted today (UTC), so it was not sent;
    - ``ERROR``: the request failed (the message names the error class and BRAIN's detail).
    """
    import httpx

    from alpha_core.brain.errors import BrainError
    from alpha_core.brain.ledger import Ledger
    from alpha_core.brain.simulations import Simulator

    ledger = Ledger(db_path)
    simulator = Simulator(client, ledger)
    used = submissions_used_today(db_path, now)
    stamp = now or _utc_now()
    rows = []
    for f in chosen:
        corr = next((c.value for c in f.checks if c.name == "SELF_CORRELATION"), None)
        entry = ledger.get(f.alpha_hash)
        alpha_id = entry.alpha_id if entry else None
        status, message = None, None
        if alpha_id is None or entry.state not in ALPHA_STATES:
            status = "NOT_ON_BRAIN"
            message = ("not simulated on BRAIN (set ALPHA_BRAIN_ENABLED=true)" if entry is None else
                       f"BRAIN simulation {entry.state}: {entry.message or 'no alpha'}")
        elif entry.submit_state is None and used >= cap:
            status, message = "CAP", f"{used} live submission(s) already attempted today (cap {cap})"
        else:
            try:
                result = simulator.submit(f.alpha_hash)
                status = result.status
                failing = result.failing()
                message = (result.message or "") + (f" failing: {', '.join(failing)}" if failing else "")
                message = (message.strip() or status) + ("" if result.posted else " (from the ledger)")
                used += int(result.posted and result.status != "REJECTED")
            except (BrainError, httpx.HTTPError) as exc:
                status, message = "ERROR", f"{type(exc).__name__}: {exc}"
        rows.append({"mining_date": mining_date, "alpha_hash": f.alpha_hash, "field": f.field,
                     "expression": f.expression, "settings_json": f.settings_json, "mode": "live",
                     "brain_alpha_id": alpha_id, "status": status, "message": message,
                     "is_sharpe": f.row.get("is_sharpe"), "is_fitness": f.row.get("is_fitness"),
                     "max_self_corr": corr, "submitted_at": stamp})
    return rows


def day_submissions(db_path: str, mining_date: str, outcome, client=None, cap: int = 4) -> list[dict]:
    """The ``submissions`` rows of ``mining_date`` for the day's gate ``outcome`` (``gate.order.GateOutcome``):
    dry-run records without ``client`` (``brain.dryrun.dry_run_records``), else ``submit_live`` of the chosen
    alphas with ``cap`` live attempts per UTC day, plus the day's earlier live attempts that this gate did not
    choose again (an attempt made is a fact: it stays recorded when the partition is rewritten)."""
    from alpha_core.brain.dryrun import dry_run_records
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    if client is None:
        return dry_run_records(mining_date, outcome.chosen, outcome.order_rows)
    rows = submit_live(db_path, mining_date, outcome.chosen, client, cap)
    chosen = {r["alpha_hash"] for r in rows}
    with reading(db_path) as con:
        if not reads.table_exists(con, "submissions"):
            return rows
        earlier = reads.read_partitions(con, "submissions", [mining_date])
    keep = [r for r in earlier.to_dicts() if r["mode"] == "live" and r["alpha_hash"] not in chosen
            and r["status"] in (*ATTEMPTED_STATES, "REJECTED")]
    return rows + [{k: v for k, v in r.items() if k != "run_id"} for r in keep]
