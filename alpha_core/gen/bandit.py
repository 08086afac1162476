"""The settings bandit of the miner's search: Thompson sampling over decay, neutralization, truncation and
universe (issue 12 "A settings bandit").

An *arm* is one value of one settings dimension (``("decay", 8)``, ``("neutralization", "SECTOR")``...).
Pulling it means: re-simulate a good alpha with that one value changed. The reward is 1 when the child's
search score beats its parent's, else 0; each arm keeps a Beta(1 + wins, 1 + losses) posterior, and a pull
draws one sample per candidate arm and takes the largest (Thompson 1933; Chapelle and Li 2011).

The state is not a separate table: ``SettingsBandit.from_trials`` rebuilds it from the stored trials whose
``origin`` is ``bandit`` (their ``template`` column holds ``"settings <dimension>=<value>"``), so it is
persisted in DuckDB with the trials and a resumed or later run continues where the last one stopped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

DIMENSIONS = ("decay", "neutralization", "truncation", "universe")


def arm_label(dimension: str, value) -> str:
    """The move description of a bandit child, e.g. ``settings decay=8`` (stored in ``candidates.template``)."""
    return f"settings {dimension}={json.dumps(value)}"


def parse_arm(label: str | None) -> tuple[str, object] | None:
    """``(dimension, value)`` of a bandit move description, None for anything else."""
    if not label or not label.startswith("settings ") or "=" not in label:
        return None
    dim, _, raw = label[len("settings "):].partition("=")
    try:
        return dim, json.loads(raw)
    except ValueError:
        return None


@dataclass
class SettingsBandit:
    """Beta posteriors per (dimension, value) arm: ``wins`` and ``losses`` counts."""

    wins: dict[tuple[str, str], int] = field(default_factory=dict)
    losses: dict[tuple[str, str], int] = field(default_factory=dict)

    @staticmethod
    def _key(dimension: str, value) -> tuple[str, str]:
        return dimension, json.dumps(value)

    def update(self, dimension: str, value, reward: bool) -> None:
        """Record one pull of the arm (``reward`` True = the child beat its parent)."""
        k = self._key(dimension, value)
        target = self.wins if reward else self.losses
        target[k] = target.get(k, 0) + 1

    def choose(self, rng: np.random.Generator, options: dict[str, list]) -> tuple[str, object] | None:
        """One (dimension, value) among ``options`` (dimension -> allowed values) by Thompson sampling;
        None when there is no option."""
        best, best_draw = None, -1.0
        for dim in DIMENSIONS:
            for value in options.get(dim, []):
                k = self._key(dim, value)
                draw = rng.beta(1 + self.wins.get(k, 0), 1 + self.losses.get(k, 0))
                if draw > best_draw:
                    best, best_draw = (dim, value), draw
        return best

    def table(self) -> list[dict]:
        """One row per arm seen: dimension, value, wins, losses, posterior mean (for metadata)."""
        keys = sorted(set(self.wins) | set(self.losses))
        return [{"dimension": d, "value": v, "wins": self.wins.get((d, v), 0), "losses": self.losses.get((d, v), 0),
                 "mean": (1 + self.wins.get((d, v), 0)) / (2 + self.wins.get((d, v), 0) + self.losses.get((d, v), 0))}
                for d, v in keys]

    @classmethod
    def from_trials(cls, trials: list[dict]) -> "SettingsBandit":
        """The bandit after every stored bandit trial: rows with ``origin`` == "bandit", ``template`` (the
        arm label), ``score`` and ``parent_score`` (search scores; a missing score counts as a loss)."""
        b = cls()
        for t in trials:
            if t.get("origin") != "bandit":
                continue
            arm = parse_arm(t.get("template"))
            if arm is None:
                continue
            s, p = t.get("score"), t.get("parent_score")
            b.update(arm[0], arm[1], s is not None and p is not None and s > p)
        return b
