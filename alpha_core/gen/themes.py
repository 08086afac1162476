"""Theme picking: which fields (and archetypes) to mine on a given day (ARCHITECTURE.md stage ``themes``).

Priority of a field = ``|ic_ir|`` (daily rank-IC mean / std of the field profile, see ``profiles.py``)
x ``coverage`` + a winner-memory term (``+0.5`` per passed alpha on that field, ``-0.05`` per
simulated-without-pass, capped to [-0.5, 1.5]) + an exploration jitter in [0, 0.1) drawn from
SHA-256(mining date, field), so the same day always picks the same fields and different days rotate.
The archetype follows the profile: slow fields (``autocorr1 >= 0.98``) -> ``value``; otherwise IC < 0
-> ``reversal``, IC >= 0 -> ``momentum``.
"""
from __future__ import annotations

import hashlib
import math

import polars as pl

SLOW_AUTOCORR = 0.98


def _jitter(mining_date: str, field: str) -> float:
    h = hashlib.sha256(f"{mining_date}|{field}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64 * 0.1


def archetype_for(profile: dict | None) -> str:
    """Archetype implied by a profile row (``value`` / ``reversal`` / ``momentum``); ``reversal`` when unknown."""
    if not profile:
        return "reversal"
    ac, ic = profile.get("autocorr1"), profile.get("ic_mean")
    if ac is not None and math.isfinite(ac) and ac >= SLOW_AUTOCORR:
        return "value"
    if ic is not None and math.isfinite(ic) and ic >= 0:
        return "momentum"
    return "reversal"


def _finite(v, default=0.0) -> float:
    return float(v) if v is not None and math.isfinite(float(v)) else default


def _memory_term(memory: pl.DataFrame | None, field: str) -> tuple[float, str]:
    if memory is None or memory.height == 0:
        return 0.0, ""
    rows = memory.filter(pl.col("field") == field)
    if rows.height == 0:
        return 0.0, ""
    passed = int(rows["n_passed"].fill_null(0).sum())
    sims = int(rows["n_simulated"].fill_null(0).sum())
    term = max(-0.5, min(1.5, 0.5 * passed - 0.05 * (sims - passed)))
    return term, f"; memory {passed} passed of {sims}"


def pick_themes(mining_date: str, profiles: pl.DataFrame, memory: pl.DataFrame | None = None, n: int = 3,
                fields: list[str] | None = None) -> list[dict]:
    """Rows of the ``themes`` table for ``mining_date`` (without ``run_id``), best first.

    ``profiles``: ``field_profiles`` rows (field, coverage, autocorr1, ic_mean, ic_ir...). ``memory``:
    ``winner_memory`` rows or None. ``fields``: an explicit list (from ``alpha mine --fields``) that
    replaces the ranking (kept in the given order, reason ``requested``); every one must have a profile
    (ValueError naming the missing ones). ``n``: number of fields picked when ``fields`` is None.
    """
    by_field = {r["field"]: r for r in profiles.iter_rows(named=True)} if profiles.height else {}
    rows = []
    if fields:
        missing = [f for f in fields if f not in by_field]
        if missing:
            raise ValueError(f"no field profile for {missing}; profiled fields: {sorted(by_field)[:10]}...")
        for i, f in enumerate(dict.fromkeys(fields)):
            rows.append({"mining_date": mining_date, "rank": i + 1, "field": f,
                         "archetype": archetype_for(by_field[f]), "reason": "requested",
                         "priority": float(len(fields) - i)})
        return rows
    scored = []
    for f, p in by_field.items():
        base = abs(_finite(p.get("ic_ir"))) * _finite(p.get("coverage"))
        mem, mem_text = _memory_term(memory, f)
        jit = _jitter(mining_date, f)
        reason = (f"|IC IR| {abs(_finite(p.get('ic_ir'))):.3f} x coverage {_finite(p.get('coverage')):.2f}"
                  f"{mem_text}; jitter {jit:.3f}")
        scored.append((base + mem + jit, f, reason, p))
    scored.sort(key=lambda s: (-s[0], s[1]))
    for i, (prio, f, reason, p) in enumerate(scored[:max(n, 0)]):
        rows.append({"mining_date": mining_date, "rank": i + 1, "field": f, "archetype": archetype_for(p),
                     "reason": reason, "priority": float(prio)})
    return rows
