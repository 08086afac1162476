"""Proven templates -> candidates (ARCHITECTURE.md stage ``candidates``; DESIGN.md ``gen/templates.py``).

A template is a FastExpr text with one ``{f}`` slot for the mined field, an archetype and the settings it is
usually run with (BRAIN names, SIMULATION.md §1). The list holds well-known public forms (short-term
reversal, medium-term momentum, value-style level ranks, price-volume correlation, volatility) that lint
clean for any local MATRIX field; whether they *pass* on a given field is for the simulator to say.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field as dc_field

BASE_SETTINGS = {"instrumentType": "EQUITY", "region": "USA", "universe": "TOP500", "delay": 1, "decay": 0,
                 "neutralization": "SUBINDUSTRY", "truncation": 0.08, "pasteurization": "ON",
                 "nanHandling": "OFF", "unitHandling": "VERIFY", "language": "FASTEXPR"}

ARCHETYPES = ("reversal", "momentum", "value", "pv_corr", "volatility")


@dataclass(frozen=True)
class Template:
    """One proven form: ``text`` with ``{f}``, its ``archetype`` and settings overrides."""

    name: str
    archetype: str
    text: str
    settings: dict = dc_field(default_factory=dict)


TEMPLATES: tuple[Template, ...] = (
    Template("rev_delta5", "reversal", "rank(-ts_delta({f}, 5))", {"decay": 4}),
    Template("rev_zscore20", "reversal", "-ts_zscore({f}, 20)", {"decay": 3, "neutralization": "INDUSTRY"}),
    Template("rev_group3", "reversal", "group_rank(-ts_delta({f}, 3), subindustry)", {"decay": 5}),
    Template("rev_avdiff10", "reversal", "-rank(ts_av_diff({f}, 10))", {"decay": 2, "neutralization": "SECTOR"}),
    Template("mom_delta120", "momentum", "rank(ts_delta({f}, 120))", {"decay": 10, "neutralization": "INDUSTRY"}),
    Template("mom_ma_ratio", "momentum", "rank(ts_mean({f}, 10) / ts_mean({f}, 60))", {"decay": 5}),
    Template("mom_tsrank250", "momentum", "ts_rank({f}, 250)", {"decay": 8, "neutralization": "MARKET"}),
    Template("val_level", "value", "group_rank({f}, industry)", {"decay": 0}),
    Template("val_per_cap", "value", "rank({f} / cap)", {"decay": 2, "neutralization": "INDUSTRY"}),
    Template("val_zscore", "value", "zscore(ts_mean({f}, 20))", {"decay": 4, "neutralization": "SECTOR"}),
    Template("pvc_volume10", "pv_corr", "-ts_corr(rank({f}), rank(volume), 10)", {"decay": 4}),
    Template("pvc_close20", "pv_corr", "-ts_corr({f}, close, 20)", {"decay": 6, "neutralization": "INDUSTRY"}),
    Template("vol_std20", "volatility", "-rank(ts_std_dev({f}, 20) / ts_mean({f}, 20))",
             {"decay": 4, "neutralization": "INDUSTRY"}),
    Template("vol_range", "volatility", "-rank(ts_max({f}, 20) - ts_min({f}, 20))", {"decay": 3}),
)


@dataclass(frozen=True)
class Candidate:
    """An expression + settings with its provenance (DESIGN.md ``Candidate(expression, settings, origin, parent_hash)``)."""

    expression: str
    settings: dict
    origin: str = "template"
    parent_hash: str | None = None
    template: str | None = None
    archetype: str | None = None

    def settings_json(self) -> str:
        """Settings as JSON with sorted keys."""
        return json.dumps(self.settings, sort_keys=True)


def settings_for(overrides: dict | None = None) -> dict:
    """``BASE_SETTINGS`` updated with ``overrides`` (a new dict)."""
    return {**BASE_SETTINGS, **(overrides or {})}


def _order_key(seed: str, name: str) -> str:
    return hashlib.sha256(f"{seed}|{name}".encode()).hexdigest()


def template_candidates(field: str, archetype: str | None = None, n: int = 8, seed: str = "") -> list[Candidate]:
    """Up to ``n`` candidates for ``field``: the templates of ``archetype`` first, then the others.

    Within each group the order is a deterministic shuffle keyed by ``seed`` (e.g. the mining date and
    field), so different days try different templates first and the same day always gives the same list.
    Raises ValueError for an unknown archetype, a field id that is not a plain identifier, or n < 0.
    """
    if archetype is not None and archetype not in ARCHETYPES:
        raise ValueError(f"unknown archetype {archetype!r}; known: {ARCHETYPES}")
    if not field or not field.replace("_", "").isalnum() or not field[0].isalpha():
        raise ValueError(f"field id {field!r} is not a plain identifier")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    ranked = sorted(TEMPLATES, key=lambda t: (t.archetype != archetype, _order_key(seed, t.name)))
    out = []
    for t in ranked[:n]:
        out.append(Candidate(expression=t.text.format(f=field).strip(), settings=settings_for(t.settings),
                             origin="template", parent_hash=None, template=t.name, archetype=t.archetype))
    return out
