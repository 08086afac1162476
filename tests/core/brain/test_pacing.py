"""Pacing without a server (alpha_core.brain.pacing): backoff, adaptive slots, daily quota, circuits, lanes."""
import random
import threading

import pytest

from alpha_core.brain.pacing import (AdaptiveSlots, Circuit, DailyQuota, Lane, LaneGate, StateFile, backoff_delay,
                                     parse_retry_after)


def test_backoff_honours_retry_after_else_grows_with_jitter_and_cap():
    assert backoff_delay(3, 0.25) == 0.25
    rng = random.Random(1)
    for n in range(8):
        d = backoff_delay(n, None, base=1.0, cap=60.0, rng=rng)
        assert 0.8 * min(60, 2 ** n) <= d <= min(60.0, 1.2 * 2 ** n)
    assert backoff_delay(20, None, cap=60.0) <= 60.0
    with pytest.raises(ValueError, match="attempt"):
        backoff_delay(-1)


def test_parse_retry_after():
    assert parse_retry_after("5.0") == 5.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None and parse_retry_after("-1") is None


def test_slots_grow_after_clean_runs_shrink_on_429_and_persist(tmp_path):
    state = StateFile(tmp_path / "state.json")
    slots = AdaptiveSlots(maximum=3, start=1, grow_after=2, state=state)
    assert slots.limit == 1
    with slots.slot():
        pass
    assert slots.limit == 1                     # a completion alone does not grow it before BRAIN refused one
    with slots.slot():
        slots.accepted()                        # slow start: every accepted POST is one more slot
    assert slots.limit == 2
    slots.accepted(), slots.accepted()
    assert slots.limit == 3                     # never past the maximum
    slots.acquire(), slots.acquire()
    slots.on_rate_limited()                     # two busy, BRAIN refused a third: limit 1
    assert slots.limit == 1 and slots.clean == 0
    assert slots.acquire(timeout=0.01) is False  # full
    slots.release(clean=False), slots.release(clean=False)
    with slots.slot():
        slots.accepted()
    assert slots.limit == 1                     # refused once: growing needs grow_after clean runs again
    for _ in range(2):
        with slots.slot():
            pass
    assert slots.limit == 2
    slots.on_rate_limited()
    again = AdaptiveSlots(maximum=3, start=1, grow_after=2, state=StateFile(tmp_path / "state.json"))
    assert again.limit == 1 and again.refused   # a new process starts where the last left


def test_slots_never_exceed_the_maximum_from_a_stale_state(tmp_path):
    state = StateFile(tmp_path / "s.json")
    state.put("slots", {"limit": 9, "clean": 0})
    assert AdaptiveSlots(maximum=3, state=state).limit == 3


def test_quota_keeps_the_reserve_and_forgets_after_the_reset(tmp_path):
    now = [1000.0]
    quota = DailyQuota(0.1, StateFile(tmp_path / "q.json"), clock=lambda: now[0])
    assert quota.allows(100)                    # nothing known yet
    quota.update({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "12", "x-ratelimit-reset": "60"})
    assert quota.reserve() == 10 and quota.allows(2) and not quota.allows(3)
    quota.update({"x-ratelimit-remaining": "10"})        # the next POST's headers
    assert not quota.allows(1) and quota.limit == 100
    reloaded = DailyQuota(0.1, StateFile(tmp_path / "q.json"), clock=lambda: now[0])
    assert reloaded.remaining == 10 and not reloaded.allows(1)
    now[0] += 61
    assert quota.allows(50)


def test_circuit_opens_after_five_failures_then_one_probe():
    t = [0.0]
    c = Circuit(threshold=5, cooldown=300, clock=lambda: t[0])
    for _ in range(4):
        c.failure()
    assert c.allow()
    c.failure()
    assert not c.allow()
    t[0] = 301
    assert c.allow() and not c.allow()          # one probe only
    c.failure()                                  # probe failed: open again
    t[0] = 500
    assert not c.allow()
    t[0] = 700
    assert c.allow()
    c.success()
    assert c.allow() and c.allow()


def test_lane_gate_lets_simulation_traffic_go_before_the_catalogue():
    gate = LaneGate(width=1)
    order = []
    hold = threading.Event()

    def worker(lane, name):
        with gate.enter(lane):
            order.append(name)

    with gate.enter(Lane.RESULTS):               # the one place is taken; queue a crawl, then a simulation
        crawl = threading.Thread(target=worker, args=(Lane.CATALOGUE, "crawl"))
        crawl.start()
        while not gate._queue:
            hold.wait(0.001)
        sim = threading.Thread(target=worker, args=(Lane.SIMULATION, "sim"))
        sim.start()
        while len(gate._queue) < 2:
            hold.wait(0.001)
    crawl.join(5), sim.join(5)
    assert order == ["sim", "crawl"]
