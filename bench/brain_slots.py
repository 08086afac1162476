"""BRAIN slot figures (issue 14, "Measured"): slot utilisation and simulations per minute of
``Simulator(client, Ledger).run(requests)`` against the loopback BRAIN emulator on the real panel, with the
emulator's faults off and on, printed side by side. Target: >= 90% utilisation and zero unhandled 429s.

Setup: ``--n`` distinct lint-clean random expressions over the panel's MATRIX fields (``gen.random_expr``, depth
3, seeded), default settings. Per column a fresh emulator (``run_in_thread``: ``--slots`` concurrent
simulations, each running at least ``--sim-seconds`` after its POST, ``Retry-After`` ``--retry-after``), a fresh
ledger (a temporary DuckDB file) and a fresh client (slots start at 1 and adapt, as in a first run).

"faults on" switches on, from the start: ``burst_429`` (3 in every 3 + ``fault_gap`` API requests answer 429
with Retry-After), ``burst_5xx`` (2 in every 2 + ``fault_gap``), ``slow`` (every API response ``--slow`` s late,
under the read timeout), ``stuck`` (the first simulation posted never finishes; the client parks it as
TIMEOUT after ``--sim-timeout`` s, the benchmark then switches the fault off and ``resume()`` re-polls it) and
``expired`` (one session expiry after ``--expire-after`` API requests).

Figures per column:

- slot utilisation: the emulator's time-weighted running simulations (``EmulatorState.slot_seconds``) over
  ``slots`` x the time work was queued (from ``run()``'s start to the last accepted POST; after it the queue is
  empty and slots drain). A stuck simulation counts as busy (BRAIN counts it against the limit); the slot-time
  it held is printed on its own line, and the utilisation of the slot-time it left to the others;
- simulations finished per minute (a BRAIN terminal status, COMPLETE / WARNING / ERROR) over ``run()``'s wall
  time; 429s the emulator sent (all seen by the client), of them concurrency refusals; unhandled 429s (an
  outcome whose reason is a 429 / rate limit, or a ``RateLimited`` raised out of ``run``); outcomes by status;
  posts per expression (must be 1); wall time.

``python bench/brain_slots.py [--quick] [--n 300] [--slots 5] [--sim-seconds 2] [--multi] [--json PATH]``
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_UTILISATION = 0.90
EMAIL, PASSWORD = "bench@example.com", "bench-only-password"
FINISHED = ("COMPLETE", "WARNING", "ERROR")
RATE_WORDS = ("429", "rate limit", "concurrency limit", "concurrent_simulation")


def expressions(panel, n: int, seed: int) -> list:
    """``n`` ``SimulationRequest``s of distinct (by alpha hash) lint-clean random expressions, default settings."""
    from alpha_core.brain.simulations import SimulationRequest
    from alpha_core.expr import lint
    from alpha_core.gen.random_expr import random_expression
    from alpha_core.sim.simulate import registry_for

    reg = registry_for(panel)
    fields = sorted(f for f in panel.field_names() if f not in panel.group_fields
                    and (reg.get(f) is None or reg.get(f).kind == "MATRIX"))
    groups = sorted(panel.group_fields)
    rng = np.random.default_rng(seed)
    out: dict[str, object] = {}
    while len(out) < n:
        text = random_expression(rng, fields, groups, max_depth=3, p_constant=0, p_long_window=0)
        if lint(text, reg).ok:
            req = SimulationRequest.of(text)
            out.setdefault(req.alpha_hash, req)
    return list(out.values())


def unhandled_429(outcome) -> bool:
    """An outcome that ended because of a 429: not finished on BRAIN and its reason names a rate limit."""
    text = (outcome.message or "").lower()
    return outcome.status not in FINISHED and any(w in text for w in RATE_WORDS)


def run_column(name: str, faults: list[str], requests: list, panel, args) -> dict:
    """One emulator + ledger + client; ``Simulator.run(requests)``; the figures of one column."""
    from pydantic import SecretStr

    from alpha_core.brain.client import BrainClient, ClientOptions
    from alpha_core.brain.emulator import EmulatorConfig, run_in_thread
    from alpha_core.brain.errors import BrainError, RateLimited
    from alpha_core.brain.ledger import Ledger
    from alpha_core.brain.simulations import Simulator
    from alpha_core.config import BrainCredentials

    config = EmulatorConfig(email=EMAIL, password=PASSWORD, faults=faults, slots=args.slots,
                            sim_seconds=args.sim_seconds, retry_after=args.retry_after, polls_to_finish=1,
                            burst_429=3, burst_5xx=2, fault_gap=args.fault_gap, slow_seconds=args.slow,
                            expire_after=args.expire_after, daily_quota=100_000)
    creds = BrainCredentials(email=SecretStr(EMAIL), password=SecretStr(PASSWORD))
    with tempfile.TemporaryDirectory(prefix="brain_slots_") as tmp, run_in_thread(config, panel=panel) as h:
        options = ClientOptions(base_url=h.url, max_concurrency=args.slots, backoff_base=0.05, backoff_cap=0.5,
                                poll_error_wait=0.05, sim_timeout=args.sim_timeout, rate_second_sleep=0.01,
                                rate_minute_sleep=0.01, state_path=Path(tmp) / "brain_state.json")
        client = BrainClient(creds, options)
        sim = Simulator(client, Ledger(Path(tmp) / "ledger.duckdb"), multi=args.multi)
        client.login()
        raised = None
        t0 = time.monotonic()
        try:
            outs = sim.run(requests)
        except BrainError as exc:   # reported, not re-raised: the figure is whether it happens
            outs, raised = [], exc
        t1 = time.monotonic()
        end = h.state.last_post_at or t1
        busy, stuck = h.state.slot_seconds(t0, end)
        allowed = args.slots * max(end - t0, 1e-9)
        sent_429, conc_429 = h.state.sent_429, h.state.concurrency_429
        sent_5xx, expired, logins = h.state.sent_5xx, h.state.sessions_expired, h.state.logins
        resumed = []
        if any(o.status in ("TIMEOUT", "IN_FLIGHT") for o in outs):
            h.set_faults()          # the stuck simulation is released; re-poll what was parked (never re-post)
            resumed = sim.resume()
        t2 = time.monotonic()
        posts = Counter(h.state.posts)
        client.close()
    statuses = Counter(o.status for o in outs)
    final = {o.alpha_hash: o.status for o in outs} | {o.alpha_hash: o.status for o in resumed}
    reasons = Counter(f"{o.status}: {(o.message or '')[:70]}" for o in outs if o.status not in FINISHED)
    finished = sum(statuses[s] for s in FINISHED)
    posted = [posts.get(r.expression, 0) for r in requests]
    return {
        "name": name, "faults": faults, "requests": len(requests),
        "utilisation": busy / allowed, "stuck_share": stuck / allowed, "queued_s": end - t0,
        "utilisation_left": (busy - stuck) / (allowed - stuck),
        "per_minute": finished / (t1 - t0) * 60.0, "finished": finished, "wall_s": t1 - t0,
        "wall_with_resume_s": t2 - t0, "sent_429": sent_429, "concurrency_429": conc_429,
        "sent_5xx": sent_5xx, "sessions_expired": expired, "logins": logins,
        "unhandled_429": sum(unhandled_429(o) for o in outs) + isinstance(raised, RateLimited),
        "raised": str(raised) if raised else None, "statuses": dict(statuses),
        "after_resume": dict(Counter(final.values())), "reasons": dict(reasons),
        "max_posts": max(posted, default=0), "posted_twice": sum(p > 1 for p in posted),
        "not_posted": sum(p == 0 for p in posted), "slot_limit_end": client.slots.limit,
    }


def print_table(cols: list[dict]) -> None:
    """The columns side by side, a PASS/NOT met line per target."""
    width = 44
    head = "".join(f"{c['name']:>18}" for c in cols)
    print(f"\n{'figure':<{width}}{head}")

    def row(label, fmt):
        print(f"{label:<{width}}" + "".join(f"{fmt(c):>18}" for c in cols))

    row("slot utilisation (busy / allowed, queued)", lambda c: f"{c['utilisation']:.1%}")
    row("  of it held by the stuck simulation", lambda c: f"{c['stuck_share']:.1%}")
    row("  the other slots' utilisation", lambda c: f"{c['utilisation_left']:.1%}")
    row("time work was queued (s)", lambda c: f"{c['queued_s']:.1f}")
    row("simulations finished per minute", lambda c: f"{c['per_minute']:.0f}")
    row("finished (COMPLETE/WARNING/ERROR)", lambda c: f"{c['finished']}/{c['requests']}")
    row("429s sent by the emulator (seen)", lambda c: str(c["sent_429"]))
    row("  of them concurrency-limit refusals", lambda c: str(c["concurrency_429"]))
    row("unhandled 429s", lambda c: str(c["unhandled_429"]))
    row("5xx sent by the emulator", lambda c: str(c["sent_5xx"]))
    row("sessions expired / sign-ins", lambda c: f"{c['sessions_expired']} / {c['logins']}")
    row("posts per expression (max)", lambda c: str(c["max_posts"]))
    row("expressions posted twice", lambda c: str(c["posted_twice"]))
    row("expressions never posted", lambda c: str(c["not_posted"]))
    row("client slot limit at the end", lambda c: str(c["slot_limit_end"]))
    row("wall time of run() (s)", lambda c: f"{c['wall_s']:.1f}")
    row("  plus resume() of parked ones (s)", lambda c: f"{c['wall_with_resume_s']:.1f}")
    for c in cols:
        print(f"\n{c['name']}: faults {', '.join(c['faults']) or 'none'}")
        print(f"  outcomes of run(): {dict(sorted(c['statuses'].items()))}")
        print(f"  after resume():    {dict(sorted(c['after_resume'].items()))}")
        for reason, k in sorted(c["reasons"].items()):
            print(f"    {k} x {reason}")
        if c["raised"]:
            print(f"  run() raised: {c['raised']}")
    print()
    for c in cols:
        ok_u = c["utilisation"] >= TARGET_UTILISATION
        ok_429 = c["unhandled_429"] == 0
        print(f"{c['name']}: utilisation >= {TARGET_UTILISATION:.0%}: {'met' if ok_u else 'NOT met'}; "
              f"zero unhandled 429s: {'met' if ok_429 else 'NOT met'}; one post per hash: "
              f"{'met' if c['max_posts'] <= 1 else 'NOT met'}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 expressions, shorter simulations (< 60 s)")
    ap.add_argument("--n", type=int, default=None, help="expressions (default 300, --quick 60)")
    ap.add_argument("--slots", type=int, default=5, help="the account's concurrency limit (1-10)")
    ap.add_argument("--sim-seconds", type=float, default=None,
                    help="a simulation runs at least this long on the emulator (default 2, --quick 1)")
    ap.add_argument("--retry-after", type=float, default=0.05, help="the emulator's Retry-After (s)")
    ap.add_argument("--fault-gap", type=int, default=12, help="normal answers between two fault bursts")
    ap.add_argument("--slow", type=float, default=0.02, help="delay of every API response with faults on (s)")
    ap.add_argument("--expire-after", type=int, default=150, help="API requests before the session expires")
    ap.add_argument("--sim-timeout", type=float, default=None,
                    help="client: park a simulation not done after this (s) (default 8, --quick 3)")
    ap.add_argument("--multi", action="store_true", help="multi-simulations of up to 10 (default: single)")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    args.n = args.n or (60 if args.quick else 300)
    args.sim_seconds = args.sim_seconds if args.sim_seconds is not None else (1.0 if args.quick else 2.0)
    args.sim_timeout = args.sim_timeout or (3.0 if args.quick else 8.0)
    if not 1 <= args.slots <= 10:
        ap.error(f"--slots must be 1..10 (the client's max_concurrency range), got {args.slots}")
    if args.n < 1 or args.sim_seconds < 0 or args.sim_timeout <= 0:
        ap.error("--n must be >= 1, --sim-seconds >= 0 and --sim-timeout > 0")
    logging.getLogger("alpha_core.brain").setLevel(logging.ERROR)   # parked / re-login notes are counted instead

    from alpha_core.data.loader import load_panel

    t = time.perf_counter()
    panel = load_panel()
    requests = expressions(panel, args.n, args.seed)
    print(f"setup: {len(requests)} distinct lint-clean random expressions (depth 3, seed {args.seed}) on the real "
          f"panel; emulator: {args.slots} slots, sim_seconds {args.sim_seconds:g}, Retry-After "
          f"{args.retry_after:g}; {'multi' if args.multi else 'single'} simulations; {time.perf_counter() - t:.1f} s")
    faults = ["burst_429", "burst_5xx", "slow", "stuck", "expired"]
    cols = [run_column("faults off", [], requests, panel, args),
            run_column("faults on", faults, requests, panel, args)]
    print_table(cols)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "columns": cols}, indent=2, default=str))
        print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
