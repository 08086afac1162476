"""Field-appropriate seed templates for the search (issue 12; DESIGN.md ``gen/seeds.py``).

A seed template is a FastExpr text with a ``{f}`` slot for the mined field and, for some, a ``{g}`` slot for
a companion field (a fundamental's denominator, a price field's volume), the template *family* (the kind of
effect it bets on: families are meant to give PnL streams that correlate < 0.7 with each other) and the
settings it is run with. Each template says which field *kinds* it suits (``field_kind``): price, volume,
fundamental or other. The settings were chosen on the real panel, IS period only, so that a family's
turnover lands in 0.05-0.5 where the form allows (DESIGN.md, Decisions, "Seed templates": the IS-only
choice and what was measured).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Collection, Mapping, Sequence

import numpy as np

from alpha_core.gen.templates import Candidate, settings_for

KINDS: tuple[str, ...] = ("price", "volume", "fundamental", "other")

PRICE_FIELDS = frozenset({"open", "high", "low", "close", "vwap", "returns"})
VOLUME_FIELDS = frozenset({"volume", "adv20"})

# The {g} slot: a field of kind COMPANION_KIND[kind of the mined field], the preferred ones first.
COMPANION_KIND: dict[str, str] = {"price": "volume", "volume": "price", "fundamental": "fundamental",
                                  "other": "price"}
DEFAULT_COMPANIONS: dict[str, tuple[str, ...]] = {
    "price": ("volume", "adv20"),             # a price field's volume
    "volume": ("close", "vwap"),              # a volume field's price
    "fundamental": ("assets", "equity", "sales"),   # a fundamental's denominators (cap is written in the text)
    "other": ("close", "volume"),
}
_GROUPS = frozenset({"market", "sector", "industry", "subindustry", "country", "currency"})

_P, _V, _F, _O = "price", "volume", "fundamental", "other"


@dataclass(frozen=True)
class SeedTemplate:
    """One seed form: ``text`` with ``{f}`` (and optionally ``{g}``), its ``family``, the field ``kinds`` it
    suits, and the settings overrides it runs with (BRAIN names, over ``templates.BASE_SETTINGS``)."""

    name: str
    family: str
    kinds: frozenset[str]
    text: str
    settings: dict


def _t(name: str, family: str, kinds: str, text: str, **settings) -> SeedTemplate:
    return SeedTemplate(name, family, frozenset(kinds.split(",")), text, settings)


SEEDS: tuple[SeedTemplate, ...] = (
    # reversal: the last days' move undone
    _t("rev_zscore5", "reversal", "price,volume,other", "-ts_zscore({f}, 5)", decay=16, neutralization="INDUSTRY"),
    _t("rev_zscore20", "reversal", "price,volume,other", "-ts_zscore({f}, 20)", decay=10, neutralization="INDUSTRY"),
    _t("rev_ratio5", "reversal", "price,other", "-rank({f} / ts_mean({f}, 5))", decay=16, neutralization="INDUSTRY"),
    _t("rev_group3", "reversal", "price,other",
       "group_rank(-ts_delta({f}, 3), subindustry)", decay=16, neutralization="INDUSTRY"),
    _t("rev_tsrank10", "reversal", "price,volume,other", "-ts_rank({f}, 10)", decay=16, neutralization="INDUSTRY"),
    _t("rev_avdiff10", "reversal", "price,other",
       "-rank(ts_av_diff({f}, 10) / ts_std_dev({f}, 10))", decay=16, neutralization="INDUSTRY"),
    _t("rev_stoch5", "reversal", "price",
       "-rank(({f} - ts_min(low, 5)) / (ts_max(high, 5) - ts_min(low, 5)))", decay=16, neutralization="INDUSTRY"),
    _t("rev_group_z10", "reversal", "price,volume,other",
       "-group_zscore({f} / ts_mean({f}, 10), subindustry)", decay=16, neutralization="SUBINDUSTRY"),
    _t("rev_group_tsrank20", "reversal", "price,volume,other",
       "group_neutralize(-ts_rank({f}, 20), subindustry)", decay=4, neutralization="INDUSTRY"),
    # momentum: the last months' trend continued (weak in IS 2013-2016; kept for diversity)
    _t("mom_tsrank250", "momentum", "price,volume,other", "ts_rank({f}, 250)", decay=6, neutralization="MARKET"),
    _t("mom_ma_ratio", "momentum", "price,other",
       "rank(ts_mean({f}, 20) / ts_mean({f}, 120))", decay=16, neutralization="MARKET"),
    _t("mom_12_1", "momentum", "price,other",
       "rank(ts_delay({f}, 20) / ts_delay({f}, 250))", decay=2, neutralization="MARKET"),
    _t("mom_zscore120", "momentum", "price,volume,other", "ts_zscore({f}, 120)", decay=16, neutralization="MARKET"),
    _t("mom_group60", "momentum", "price,other",
       "group_rank(ts_delta({f}, 60) / ts_delay({f}, 60), industry)", decay=16, neutralization="MARKET"),
    # volume_conditioned: a price move weighted or gated by unusual volume
    _t("vc_surge_rev", "volume_conditioned", "price",
       "rank(-ts_zscore({f}, 5)) * rank({g} / ts_mean({g}, 60))", decay=6, neutralization="SUBINDUSTRY"),
    _t("vc_trade_when", "volume_conditioned", "price",
       "trade_when({g} > ts_mean({g}, 20), -ts_zscore({f}, 5), -1)", decay=10, neutralization="INDUSTRY"),
    _t("vc_quiet_rev", "volume_conditioned", "price",
       "-ts_zscore({f}, 5) * (1 - rank({g} / ts_mean({g}, 20)))", decay=16, neutralization="INDUSTRY"),
    _t("vc_volume_rev", "volume_conditioned", "volume",
       "rank({f} / ts_mean({f}, 60)) * rank(-ts_zscore({g}, 5))", decay=4, neutralization="SUBINDUSTRY"),
    _t("vc_volume_gate", "volume_conditioned", "volume",
       "trade_when({f} > ts_mean({f}, 20), -ts_zscore({g}, 5), -1)", decay=6, neutralization="INDUSTRY"),
    # group_relative: the field against its industry peers
    _t("grp_mom250", "group_relative", "price,volume,other",
       "group_rank(ts_mean({f}, 20) / ts_mean({f}, 250), industry)", decay=6, neutralization="MARKET"),
    _t("grp_peer_rev20", "group_relative", "price,other",
       "-group_mean(ts_zscore({f}, 20), 1, subindustry)", decay=8, neutralization="SECTOR"),
    _t("grp_industry_mom", "group_relative", "price,other",
       "group_mean(ts_delay({f}, 20) / ts_delay({f}, 250), 1, industry)", decay=2, neutralization="SECTOR"),
    _t("grp_industry_rev20", "group_relative", "price,other",
       "-group_mean(ts_delta({f}, 20) / ts_delay({f}, 20), 1, industry)", decay=4, neutralization="SECTOR"),
    _t("grp_high250", "group_relative", "price,other",
       "-group_rank({f} / ts_max({f}, 250), industry)", decay=2, neutralization="SUBINDUSTRY"),
    _t("grp_fund_cap", "group_relative", "fundamental",
       "group_rank({f} / cap, industry)", decay=0, neutralization="SUBINDUSTRY"),
    _t("grp_fund_z", "group_relative", "fundamental",
       "group_zscore({f} / cap, subindustry)", decay=2, neutralization="MARKET"),
    # intraday: where the field sits in the day's (or week's) high-low range
    _t("intr_clv5", "intraday", "price",
       "-rank(ts_mean(({f} - low) / (high - low), 5))", decay=16, neutralization="MARKET"),
    _t("intr_open3", "intraday", "price", "-rank(ts_mean({f} / open - 1, 3))", decay=16, neutralization="INDUSTRY"),
    _t("intr_shadow10", "intraday", "price",
       "rank(ts_mean((high - {f}) / (high - low), 10))", decay=2, neutralization="MARKET"),
    _t("intr_open_low10", "intraday", "price", "rank(ts_mean((open - low) / {f}, 10))", decay=8,
       neutralization="SECTOR"),
    _t("intr_lower_shadow", "intraday", "price",
       "rank(ts_mean((min(open, {f}) - low) / (high - low), 10))", decay=16, neutralization="SUBINDUSTRY"),
    _t("intr_gap", "intraday", "price", "-rank(open / ts_delay({f}, 1))", decay=16, neutralization="INDUSTRY"),
    # volatility: calm against volatile names
    _t("vol_cv20", "volatility", "price,volume,other",
       "-rank(ts_std_dev({f}, 20) / ts_mean({f}, 20))", decay=4, neutralization="MARKET"),
    _t("vol_range20", "volatility", "price,volume,other",
       "-rank(ts_max({f}, 20) / ts_min({f}, 20))", decay=2, neutralization="SUBINDUSTRY"),
    _t("vol_regime", "volatility", "price,volume,other",
       "-ts_rank(ts_std_dev({f}, 10), 120)", decay=16, neutralization="MARKET"),
    _t("vol_ret_std60", "volatility", "price,other",
       "rank(ts_std_dev(ts_delta({f}, 1) / ts_delay({f}, 1), 60))", decay=0, neutralization="MARKET"),
    _t("vol_day_range20", "volatility", "price", "rank(ts_mean((high - low) / {f}, 20))", decay=4,
       neutralization="SECTOR"),
    # pv_corr: co-movement of the field with its companion
    _t("pvc_rank10", "pv_corr", "price,volume",
       "-ts_corr(rank({f}), rank({g}), 10)", decay=16, neutralization="SUBINDUSTRY"),
    _t("pvc_raw20", "pv_corr", "price,volume", "-ts_corr({f}, {g}, 20)", decay=6, neutralization="SUBINDUSTRY"),
    _t("pvc_cov5", "pv_corr", "price,volume",
       "-rank(ts_covariance(rank({f}), rank({g}), 5))", decay=6, neutralization="INDUSTRY"),
    _t("pvc_delta20", "pv_corr", "price,volume",
       "-ts_corr(ts_delta({f}, 1), ts_delta({g}, 1), 20)", decay=4, neutralization="INDUSTRY"),
    # liquidity: trading activity relative to size
    _t("liq_turnover", "liquidity", "volume", "rank(ts_mean({f}, 20) / sharesout)", decay=2, neutralization="MARKET"),
    _t("liq_amihud", "liquidity", "volume",
       "rank(ts_mean(abs(returns) / ({f} * close), 20))", decay=0, neutralization="INDUSTRY"),
    _t("liq_trend", "liquidity", "volume",
       "-rank(ts_mean({f}, 5) / ts_mean({f}, 60))", decay=16, neutralization="INDUSTRY"),
    # value_ratio: a fundamental per dollar of market value (moves with price every day)
    _t("val_cap", "value_ratio", "fundamental", "rank({f} / cap)", decay=2, neutralization="INDUSTRY"),
    _t("val_cap_tsrank", "value_ratio", "fundamental",
       "ts_rank({f} / cap, 250)", decay=0, neutralization="SUBINDUSTRY"),
    _t("val_cap_z", "value_ratio", "fundamental",
       "zscore(winsorize({f} / cap, std=4))", decay=2, neutralization="SUBINDUSTRY"),
    _t("val_ev", "value_ratio", "fundamental", "rank({f} / enterprise_value)", decay=0, neutralization="INDUSTRY"),
    _t("val_cap_delta20", "value_ratio", "fundamental",
       "rank(ts_delta({f} / cap, 20))", decay=10, neutralization="SUBINDUSTRY"),
    _t("val_backfill", "value_ratio", "fundamental",
       "rank(ts_backfill({f}, 250) / cap)", decay=2, neutralization="INDUSTRY"),
    _t("val_cap_tsz60", "value_ratio", "fundamental",
       "ts_zscore({f} / cap, 60)", decay=6, neutralization="SUBINDUSTRY"),
    # fundamental_ratio: a fundamental per unit of another, priced through a cap leg
    _t("fr_tsz", "fundamental_ratio", "fundamental", "ts_zscore({f} / {g}, 500)", decay=4, neutralization="INDUSTRY"),
    _t("fr_times_value", "fundamental_ratio", "fundamental",
       "rank({f} / {g}) * rank({g} / cap)", decay=0, neutralization="INDUSTRY"),
    _t("fr_plus_value", "fundamental_ratio", "fundamental",
       "group_rank({f} / {g}, industry) + group_rank({g} / cap, industry)", decay=0, neutralization="SUBINDUSTRY"),
    # yoy_change: the field against its value a year earlier
    _t("yoy_cap", "yoy_change", "fundamental", "rank(ts_delta({f}, 250) / cap)", decay=0, neutralization="SUBINDUSTRY"),
    _t("yoy_tsz500", "yoy_change", "fundamental", "ts_zscore({f}, 500)", decay=16, neutralization="SUBINDUSTRY"),
    _t("yoy_cap_tsz", "yoy_change", "fundamental",
       "ts_zscore(ts_delta({f}, 250) / cap, 60)", decay=0, neutralization="INDUSTRY"),
    # cross_field: the field's signal conditioned by another field
    _t("cf_value_rev", "cross_field", "fundamental",
       "rank({f} / cap) * rank(-ts_zscore(close, 5))", decay=16, neutralization="SUBINDUSTRY"),
    _t("cf_value_surge", "cross_field", "fundamental",
       "group_rank({f} / cap, industry) * rank(volume / adv20)", decay=10, neutralization="INDUSTRY"),
    _t("cf_rev_value", "cross_field", "price",
       "rank(-ts_zscore({f}, 5)) * rank(sales / cap)", decay=16, neutralization="SUBINDUSTRY"),
    _t("cf_rev_size", "cross_field", "price,volume",
       "rank(-ts_zscore({f}, 5)) * rank(-cap)", decay=16, neutralization="INDUSTRY"),
)

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(t.family for t in SEEDS))

_IDENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\b(?!\s*[(=])")   # not an operator call or a keyword name
_FIELD_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def field_kind(field: str, registry) -> str:
    """The seed kind of ``field`` in ``registry`` (a ``FieldRegistry``): ``"price"`` (open, high, low, close,
    vwap, returns), ``"volume"`` (volume, adv20), ``"fundamental"`` (category ``fundamental``, and pv fields built
    from the annual fundamentals such as ``sharesout``, whose recipe starts ``fund:``), else ``"other"`` (e.g.
    ``cap``, whose daily moves are price moves but whose level is size). Raises ValueError for a field the
    registry does not know or one that is not a MATRIX field (groups, vectors and symbols are not mined)."""
    info = registry.get(field)
    if info is None:
        raise ValueError(f"unknown field {field!r}: not in the field registry")
    if info.kind != "MATRIX":
        raise ValueError(f"field {field!r} is a {info.kind} field; seeds need a MATRIX field")
    fid = info.id
    if fid in PRICE_FIELDS:
        return _P
    if fid in VOLUME_FIELDS:
        return _V
    if info.category == "fundamental" or info.local_source.startswith("fund:"):
        return _F
    return _O


def _rng(seed: str) -> np.random.Generator:
    return np.random.default_rng(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little"))


def fixed_fields(t: SeedTemplate) -> frozenset[str]:
    """The data fields ``t`` names in its text besides ``{f}`` and ``{g}`` (e.g. ``cap``, ``low``; no groups)."""
    return frozenset(_IDENT.findall(t.text.replace("{f}", "").replace("{g}", ""))) - _GROUPS


def companion_fields(kind: str, companions: Mapping[str, Sequence[str]] = {}) -> list[str]:
    """The ``{g}`` fields for a mined field of ``kind``: ``companions[COMPANION_KIND[kind]]`` (the fields of
    that kind the caller has, e.g. every fundamental of the panel) narrowed to ``DEFAULT_COMPANIONS[kind]``
    when it holds any of them (in that order), else all of them; ``DEFAULT_COMPANIONS[kind]`` when the caller
    gives none of that kind."""
    have = list(dict.fromkeys(companions.get(COMPANION_KIND[kind]) or ()))
    if not have:
        return list(DEFAULT_COMPANIONS[kind])
    preferred = [g for g in DEFAULT_COMPANIONS[kind] if g in have]
    return preferred or have


def _expansions(t: SeedTemplate, field: str, companions: Sequence[str]) -> list[tuple[str, str | None]]:
    """(expression, companion) pairs of ``t`` for ``field``; none when the template names the field itself
    (``{f} / cap`` for ``cap`` is 1, ``high - {f}`` for ``high`` is 0)."""
    if field in fixed_fields(t):
        return []
    if "{g}" not in t.text:
        return [(t.text.format(f=field), None)]
    return [(t.text.format(f=field, g=g), g) for g in companions if g != field]


def seed_candidates(field: str, kind: str, n: int, seed: str, companions: Mapping[str, Sequence[str]] = {},
                    family_weights: Mapping[str, float] | None = None,
                    exclude_families: Collection[str] = ()) -> list[Candidate]:
    """Up to ``n`` distinct seed candidates for ``field`` of seed kind ``kind`` (``field_kind``).

    ``companions`` maps a field kind to the fields of that kind the caller can simulate (e.g. every MATRIX
    field of the panel grouped by ``field_kind``). Templates whose ``kinds`` contain ``kind`` are expanded:
    ``{g}`` once per field of ``companion_fields(kind, companions)`` (a price field's volume fields, a volume
    field's prices, a fundamental's denominators assets / equity / sales), never the field itself. A template
    that already names the field (``{f} / cap`` for ``cap``) is skipped, and so, when ``companions`` is given,
    is one naming a field no kind of ``companions`` holds (``sales / cap`` on a panel without ``sales``).

    The families are then interleaved: each round draws every family that has templates left once, in an
    order drawn without replacement with probabilities proportional to ``family_weights`` (a missing family
    weighs 1.0; a weight of 0 or a family in ``exclude_families`` is never drawn; names that are not seed
    families are ignored, so a memory may pass weights for every archetype it tracks), and takes that
    family's next template (shuffled within the family), so a small ``n`` still covers many families and a
    heavier family tends to come earlier in each round. Deterministic for a given ``seed`` string (a numpy
    Generator seeded from its sha256). Each candidate has ``origin="seed"``, ``template`` = the template
    name, ``archetype`` = its family, ``parent_hash=None``; (expression, settings) pairs are distinct.
    Raises ValueError for an unknown kind, a field id that is not a plain identifier, n < 0, or a negative
    or non-finite family weight.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown field kind {kind!r}; known: {KINDS}")
    if not isinstance(field, str) or not _FIELD_ID.fullmatch(field):
        raise ValueError(f"field id {field!r} is not a plain identifier")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    weights = dict(family_weights or {})
    for name, w in weights.items():
        try:
            good = bool(np.isfinite(float(w)) and float(w) >= 0)
        except (TypeError, ValueError):
            good = False
        if not good:
            raise ValueError(f"family weight of {name!r} must be a finite number >= 0, got {w!r}")
    rng = _rng(seed)
    comps = companion_fields(kind, companions)
    available = {f for fields in companions.values() for f in fields}
    queues: dict[str, list[tuple[SeedTemplate, str]]] = {}
    for t in SEEDS:
        if kind not in t.kinds or t.family in exclude_families or weights.get(t.family, 1.0) == 0:
            continue
        if available and not fixed_fields(t) <= available:
            continue
        for expr, _g in _expansions(t, field, comps):
            queues.setdefault(t.family, []).append((t, expr))
    for fam in queues:                                   # shuffle within a family
        order = rng.permutation(len(queues[fam]))
        queues[fam] = [queues[fam][i] for i in order]
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    while len(out) < n and queues:
        fams = sorted(queues)
        p = np.array([weights.get(f, 1.0) for f in fams], dtype=float)
        for i in rng.choice(len(fams), size=len(fams), replace=False, p=p / p.sum()):
            fam = fams[i]
            t, expr = queues[fam].pop(0)
            if not queues[fam]:
                del queues[fam]
            cand = Candidate(expression=expr, settings=settings_for(t.settings), origin="seed",
                             parent_hash=None, template=t.name, archetype=t.family)
            if (expr, cand.settings_json()) in seen:
                continue
            seen.add((expr, cand.settings_json()))
            out.append(cand)
            if len(out) == n:
                break
    return out
