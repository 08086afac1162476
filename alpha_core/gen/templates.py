"""Candidates and BRAIN settings of the miner (DESIGN.md ``Candidate(expression, settings, origin, parent_hash)``).

The field-appropriate seed templates live in ``alpha_core.gen.seeds``; this module holds what every proposal
shares: the ``Candidate`` record and the base BRAIN settings (SIMULATION.md §1) templates override.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

BASE_SETTINGS = {"instrumentType": "EQUITY", "region": "USA", "universe": "TOP500", "delay": 1, "decay": 0,
                 "neutralization": "SUBINDUSTRY", "truncation": 0.08, "pasteurization": "ON",
                 "nanHandling": "OFF", "unitHandling": "VERIFY", "language": "FASTEXPR"}


@dataclass(frozen=True)
class Candidate:
    """An expression + settings with its provenance: ``origin`` (seed, surgeon, sign_flip, gp, bandit),
    ``parent_hash``, ``template`` (template name or move description), ``archetype`` (the family)."""

    expression: str
    settings: dict
    origin: str = "seed"
    parent_hash: str | None = None
    template: str | None = None
    archetype: str | None = None

    def settings_json(self) -> str:
        """Settings as JSON with sorted keys."""
        return json.dumps(self.settings, sort_keys=True)


def settings_for(overrides: dict | None = None) -> dict:
    """``BASE_SETTINGS`` updated with ``overrides`` (a new dict)."""
    return {**BASE_SETTINGS, **(overrides or {})}
