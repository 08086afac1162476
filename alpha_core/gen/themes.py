"""Theme picking: which fields to mine on a given day (ARCHITECTURE.md stage ``themes``; issue 12).

A bandit over fields. The reward of a field is its independent winners per trial in the ``Experience``
(days before the mining date only). Each field's rate has a Beta prior set by its kind
(``seeds.field_kind``; ``PRIOR_RATE``, worth ``PRIOR_TRIALS`` pseudo-trials): price and volume fields start
more promising than other fields (``cap``) and fundamentals, so they are tried first, and a field mined
without result falls below the untried ones, so fundamentals are not starved. The score is an upper
confidence bound of the Beta posterior, ``UCB = mean + UCB_Z x sd`` (Bayes-UCB), multiplied by 0.25 when
the field was mined the day before and by 0.5 two days before (rotation: ``RECENT_FACTOR``,
``RECENT_DAYS``), and by ``1 + JITTER x u`` with ``u`` in [0, 1) from SHA-256(mining date, field): equal
scores break differently on different days, and the same day always picks the same fields. Aliases (same
data as another field) are never picked; exhausted fields (every family tried there is forbidden, see
``memory.Experience``) drop. The profiles' IC spans the whole panel (OS included), so it is not used at
all; profiles only drop fields without data (coverage 0).
"""
from __future__ import annotations

import hashlib
import math
from typing import Mapping

import polars as pl

from alpha_core.gen.memory import Experience, parse_day

SLOW_AUTOCORR = 0.98
#: Prior independent winners per trial by field kind (mean of the Beta prior).
PRIOR_RATE = {"price": 0.002, "volume": 0.0015, "other": 0.001, "fundamental": 0.0005}
#: Weight of the prior, in trials.
PRIOR_TRIALS = 500.0
#: Standard deviations of the posterior added to its mean.
UCB_Z = 2.0
#: A field last mined k <= RECENT_DAYS days before the mining date has its score multiplied by
#: RECENT_FACTOR ** (RECENT_DAYS + 1 - k): x0.25 the day after, x0.5 two days after.
RECENT_DAYS, RECENT_FACTOR = 2, 0.5
#: Relative size of the date-keyed tie-breaking jitter.
JITTER = 0.01


def _jitter(mining_date: str, field: str) -> float:
    h = hashlib.sha256(f"{mining_date}|{field}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2 ** 64


def archetype_for(profile: dict | None, kind: str | None = None) -> str:
    """Archetype of a field for the template stage: ``value`` for fundamentals, ``reversal`` for price and
    volume fields; for other kinds ``value`` when the profile is slow (``autocorr1 >= 0.98``), else
    ``reversal``. (The profile's IC is not used: it spans the OS period.)"""
    if kind == "fundamental":
        return "value"
    if kind in ("price", "volume"):
        return "reversal"
    ac = (profile or {}).get("autocorr1")
    return "value" if ac is not None and math.isfinite(ac) and ac >= SLOW_AUTOCORR else "reversal"


def bandit_score(stats: dict, kind: str) -> tuple[float, float, float]:
    """``(ucb, mean, sd)`` of a field's Beta posterior of independent winners per trial, from
    ``Experience.field_stats`` and the field kind's prior (``PRIOR_RATE``, ``PRIOR_TRIALS``)."""
    rate = PRIOR_RATE.get(kind, PRIOR_RATE["other"])
    wins, trials = stats["independent_winners"], stats["trials"]
    a = rate * PRIOR_TRIALS + wins
    b = (1 - rate) * PRIOR_TRIALS + max(trials - wins, 0)
    mean = a / (a + b)
    sd = math.sqrt(mean * (1 - mean) / (a + b + 1))
    return mean + UCB_Z * sd, mean, sd


def _aliases_of(profiles: pl.DataFrame, aliases: Mapping[str, str] | None) -> dict[str, str]:
    if aliases is not None:
        return dict(aliases)
    if "alias_of" in profiles.columns:
        return {r["field"]: r["alias_of"] for r in profiles.select("field", "alias_of").iter_rows(named=True)
                if r["alias_of"]}
    return {}


def pick_themes(mining_date: str, profiles: pl.DataFrame, experience: Experience | None = None, n: int = 3,
                fields: list[str] | None = None, aliases: Mapping[str, str] | None = None,
                kinds: Mapping[str, str] | None = None) -> list[dict]:
    """Rows of the ``themes`` table for ``mining_date`` (without ``run_id``), best first: ``mining_date``,
    ``rank`` (1..), ``field``, ``archetype``, ``reason`` (in words: score, winners, trials, kind, last mined),
    ``priority`` (the score).

    ``profiles``: ``field_profiles`` rows (``field``, ``coverage``, ``autocorr1``; optional ``alias_of``).
    ``experience``: the memory of the days before ``mining_date`` (None = empty). ``aliases``: alias ->
    canonical field (default: the profiles' ``alias_of`` column, else none). ``kinds``: field -> kind
    (``seeds.field_kind``; missing = ``other``). ``fields``: an explicit list (``alpha mine --fields``) that
    replaces the ranking: kept in the given order, aliases replaced by their canonical field, reason
    ``requested``; every one must have a profile (ValueError naming the missing ones). ``n``: number of
    fields picked when ``fields`` is None (fewer when fewer fields qualify).
    """
    by_field = {r["field"]: r for r in profiles.iter_rows(named=True)} if profiles.height else {}
    alias = _aliases_of(profiles, aliases)
    kinds = dict(kinds or {})
    if fields:
        missing = [f for f in fields if f not in by_field]
        if missing:
            raise ValueError(f"no field profile for {missing}; profiled fields: {sorted(by_field)[:10]}...")
        chosen = {}
        for f in fields:
            chosen.setdefault(alias.get(f, f), f)
        rows = []
        for i, (f, asked) in enumerate(chosen.items()):
            if f not in by_field:
                raise ValueError(f"field {asked} is an alias of {f}, which has no field profile")
            reason = "requested" if f == asked else f"requested (as {asked}, an alias of {f})"
            rows.append({"mining_date": mining_date, "rank": i + 1, "field": f,
                         "archetype": archetype_for(by_field[f], kinds.get(f)), "reason": reason,
                         "priority": float(len(chosen) - i)})
        return rows
    if experience is not None and not isinstance(experience, Experience):
        raise TypeError(f"experience must be a memory.Experience or None, got {type(experience).__name__}")
    exp = experience or Experience()
    today = parse_day(mining_date, "mining_date")
    scored = []
    for f, p in by_field.items():
        cov = p.get("coverage")
        if f in alias or cov is None or not math.isfinite(cov) or cov <= 0 or exp.exhausted(f):
            continue
        kind = kinds.get(f, "other")
        stats = exp.field_stats(f)
        ucb, _, _ = bandit_score(stats, kind)
        last = stats["last_mined"]
        ago = (today - last).days if last is not None else None
        rotation = RECENT_FACTOR ** (RECENT_DAYS + 1 - ago) if ago is not None and 0 < ago <= RECENT_DAYS else 1.0
        score = ucb * rotation * (1 + JITTER * _jitter(mining_date, f))
        reason = (f"UCB {ucb:.4f}: {stats['independent_winners']} independent winners in {stats['trials']} "
                  f"trials over {stats['mined_days']} days, kind {kind}, last mined {last or 'never'}"
                  + (f" ({ago} days ago: rotation x{rotation:g})" if rotation != 1.0 else ""))
        scored.append((score, f, reason, p, kind))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [{"mining_date": mining_date, "rank": i + 1, "field": f, "archetype": archetype_for(p, kind),
             "reason": reason, "priority": float(score)}
            for i, (score, f, reason, p, kind) in enumerate(scored[:max(n, 0)])]
