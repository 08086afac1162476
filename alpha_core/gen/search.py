"""The miner's search for one (mining date, field) under a simulation budget (issue 12).

``run_search`` seeds a population from the LLM source's proposals when a model is configured (``ctx.llm_seeds``,
origin ``llm``, ``gen.llm.daily``) and field-appropriate templates (``seeds.seed_candidates``), then
improves it generation by generation with, per generation:

1. **sign flips** of strongly negative alphas (IS sharpe <= -``mutate.FLIP_SHARPE``);
2. **failure-directed mutation** (``mutate.surgeon_moves``) of the best failing alphas: the move that
   addresses the check that failed;
3. **typed GP** (``gp.crossover`` / ``gp.subtree_mutation`` / ``mutate.lateral_moves``) on parents chosen
   by DEAP's tournament selection, with elitism (``deap.tools.selBest``);
4. the **settings bandit** (``bandit.SettingsBandit``, Thompson sampling) on the best alphas.

Every proposal must use the searched field (a GP child that lost it is dropped, counted ``off_field``), so a
field's winners are that field's and the learning memory credits the right field. Every decision reads IS
only (the OS holdout is stored and reported, never read here), and inside IS the search walks forward
(``gate.stability``): its score uses the fitness of the first 75% of an alpha's IS days, and a winner counts
as found (independent, red sea) only when the last 25% of its IS days, which the score never saw, still earn
(validation sharpe > 0). The search score is ``search_score``: train fitness, minus penalties for each failed turnover / weight / sub-universe check, for
IS instability (quarters of IS with a losing mean), for size (parsimony) and for the "correlation red sea" (IS daily-PnL
correlation with the accepted library, the day's winners of other fields and this search's own winners).

An alpha hash is simulated once: ``memo`` (hash -> stored simulation row, from every partition and day)
is consulted before simulating; a hash stored by an earlier run of *this* partition is replayed (re-emitted,
not re-simulated), so a killed run resumes by re-running it: the proposals are deterministic given the
seed, and the stored ones cost nothing. Kill switches stop the search with a stated reason: the
simulation budget, ``max_seconds`` of wall time, ``max_consecutive_failures`` simulations in a row that
errored, or a generation that found nothing new.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
from pydantic import BaseModel, Field

from alpha_core.expr.ast import Program
from alpha_core.gate.checklist import GateLimits, alpha_checklist
from alpha_core.gate.checks import Check, self_correlation
from alpha_core.gate.stability import train_fitness, validated
from alpha_core.gen import gp, mutate
from alpha_core.gen.bandit import SettingsBandit, arm_label

PNL_KEEP_SHARPE = 0.8          # daily PnL is stored for alphas with IS sharpe >= this (others cannot pass)
RED_SEA_FROM = 0.5             # correlation above which the search score is penalised
RED_SEA_WEIGHT = 3.0
CHECK_PENALTY = 0.5
STABILITY_WEIGHT = 0.5
PARSIMONY_FROM, PARSIMONY_WEIGHT = 12, 0.02   # score - 0.02 per AST node above 12 (GP bloat / overfitting)
GROUPS = ("subindustry", "industry", "sector")
#: failed checks the score penalises; never the late-window ones (LOW_2Y_SHARPE, IS_LADDER_SHARPE,
#: IS_STABILITY read the validation part of IS, which the score must not see) nor sharpe/fitness (the score is)
SCORED_CHECKS = ("HIGH_TURNOVER", "LOW_TURNOVER", "CONCENTRATED_WEIGHT", "LOW_SUB_UNIVERSE_SHARPE", "COVERAGE",
                 "CROWDING", "FACTOR_EXPOSURE")
STOP_SWITCHES = ("wall_time", "failures")   # stop reasons that are tripped kill switches (warned about)


class SearchConfig(BaseModel):
    """Knobs of one (date, field) search (``ALPHA_SEARCH_*`` settings feed it; see ``AlphaSettings``)."""

    budget: int = Field(1000, ge=0, description="local simulations of this (date, field), replays included")
    seeds: int = Field(48, ge=1, description="seed candidates from the field-appropriate templates")
    population: int = Field(32, ge=2)
    offspring: int = Field(48, ge=1, description="new proposals per generation")
    max_generations: int = Field(40, ge=0)
    tournament: int = Field(3, ge=2)
    elite: int = Field(4, ge=0)
    surgeon_parents: int = Field(6, ge=0)
    bandit_parents: int = Field(3, ge=0)
    p_crossover: float = Field(0.45, ge=0, le=1)
    p_subtree: float = Field(0.25, ge=0, le=1)
    corr_limit: float = Field(0.7, gt=0, le=1)
    max_seconds: float = Field(900.0, gt=0)
    max_consecutive_failures: int = Field(60, ge=1)


@dataclass
class Trial:
    """One proposal of the search, evaluated (simulated, replayed or reused)."""

    expression: str                 # canonical text
    program: Program | None
    settings: dict
    alpha_hash: str
    origin: str                     # seed / surgeon / sign_flip / gp / bandit
    parent_hash: str | None
    move: str                       # template name or move description
    family: str
    generation: int
    row: dict                       # simulations-row metrics (pipeline._sim_row shape, without keys)
    checks: list[Check] = field(default_factory=list)
    verdict: str = "fail"
    score: float = -10.0
    parent_score: float | None = None
    red_sea: float | None = None    # max IS PnL correlation with the library + the day's winners
    validated: bool = False         # the last quarter of its IS days still earns (gate.stability.validated)
    lint_warnings: int = 0
    novelty: Check | None = None    # NOVELTY against our library, checked before simulating
    kind: str = "new"               # new (simulated now) / replay (this partition, earlier run) / reused (elsewhere)

    @property
    def ok(self) -> bool:
        return self.row.get("status") == "ok"

    def is_pnl(self) -> tuple[np.ndarray, np.ndarray]:
        from alpha_core.gen.pipeline import is_pnl

        return is_pnl(self.row)


@dataclass
class SearchResult:
    """What a search produced: its own trials (new + replayed), generation progress, why it stopped."""

    trials: list[Trial]
    progress: list[dict]
    stop_reason: str
    stop_detail: str
    counts: dict
    bandit: list[dict]
    independent: frozenset = frozenset()   # hashes of the own winners kept in the independent set

    @property
    def tripped(self) -> bool:
        """True when a kill switch (wall time, consecutive failures) stopped the search."""
        return self.stop_reason in STOP_SWITCHES

    def winners(self) -> list[Trial]:
        return [t for t in self.trials if t.verdict == "winner"]


def rng_for(seed: str) -> np.random.Generator:
    """A numpy Generator seeded by SHA-256 of ``seed`` (deterministic per (date, field))."""
    return np.random.default_rng(int(hashlib.sha256(seed.encode()).hexdigest()[:16], 16))


def stability(pnl: np.ndarray, parts: int = 4) -> float:
    """Fraction of ``parts`` consecutive IS chunks of the daily PnL ``pnl`` (D,) USD with a positive mean."""
    pnl = pnl[np.isfinite(pnl)]
    if pnl.size < parts * 20:
        return 0.0
    return float(np.mean([c.mean() > 0 for c in np.array_split(pnl, parts)]))


def search_score(row: dict, checks: Sequence[Check], red_sea: float | None, stable: float, nodes: int = 0,
                 fitness: float | None = None) -> float:
    """The search's fitness of one simulated alpha (IS only; higher is better).

    ``clip(fitness, -3, 3)`` (``fitness``: the train-part fitness, ``gate.stability.train_fitness``, when the
    daily PnL is kept; else the IS fitness) - ``CHECK_PENALTY`` per failed check of ``SCORED_CHECKS``
    - ``STABILITY_WEIGHT`` x (1 - ``stable``) - ``RED_SEA_WEIGHT`` x max(0, ``red_sea`` - ``RED_SEA_FROM``)
    - ``PARSIMONY_WEIGHT`` x max(0, ``nodes`` - ``PARSIMONY_FROM``) (``nodes``: AST size, ``gp.size``; the
    parsimony pressure of GP against bloat, Koza 1992 / Luke and Panait 2002). A simulation that is not ok
    scores -10."""
    if row.get("status") != "ok":
        return -10.0
    fit = fitness if fitness is not None else row.get("is_fitness")
    s = max(-3.0, min(3.0, fit)) if fit is not None and math.isfinite(fit) else -3.0
    s -= CHECK_PENALTY * sum(c.result == "FAIL" for c in checks
                             if c.name in SCORED_CHECKS)
    s -= STABILITY_WEIGHT * (1.0 - stable)
    if red_sea is not None and math.isfinite(red_sea):
        s -= RED_SEA_WEIGHT * max(0.0, red_sea - RED_SEA_FROM)
    s -= PARSIMONY_WEIGHT * max(0, nodes - PARSIMONY_FROM)
    return float(s)


class _RedSea:
    """IS daily PnL of everything the search should stay away from, aligned on the panel's IS calendar."""

    def __init__(self, calendar: np.ndarray):
        self.calendar = calendar
        self.rows: list[np.ndarray] = []

    def vector(self, pnl: np.ndarray, dates: np.ndarray) -> np.ndarray:
        v = np.full(self.calendar.shape, np.nan)
        if pnl.size:
            idx = np.searchsorted(self.calendar, dates)
            ok = (idx < self.calendar.size)
            idx, vals, d = idx[ok], pnl[ok], dates[ok]
            hit = self.calendar[idx] == d
            v[idx[hit]] = vals[hit]
        return v

    def add(self, pnl: np.ndarray, dates: np.ndarray) -> None:
        self.rows.append(self.vector(pnl, dates))

    def max_corr(self, pnl: np.ndarray, dates: np.ndarray) -> float | None:
        from alpha_core.gate.correlation import correlation_matrix

        if not self.rows or not pnl.size:
            return None
        c = correlation_matrix(self.vector(pnl, dates)[None, :], np.vstack(self.rows))
        c = c[np.isfinite(c)]
        return float(c.max()) if c.size else None


@dataclass
class SearchContext:
    """Everything a search reads (plain data). ``memo``: alpha hash -> stored simulations row (with
    ``mining_date``/``field`` of where it was stored); ``library``: (IS pnl, dates, IS sharpe) of accepted
    alphas (the SELF_CORRELATION check); ``day_winners``: (IS pnl, dates) of what was already found: the
    day's winners on fields planned earlier and earlier days' independent winners (red sea + independence); ``experience``: a memory object (``family_weight``, ``forbidden``,
    ``passed_patterns``) or None; ``bandit``: the settings bandit so far."""

    mining_date: str
    field: str
    panel: object
    registry: object
    kind: str
    companions: Mapping[str, Sequence[str]]
    value_fields: Sequence[str]
    memo: Mapping[str, dict] = field(default_factory=dict)
    library: Sequence[tuple] = ()
    day_winners: Sequence[tuple] = ()
    experience: object | None = None
    bandit: SettingsBandit = field(default_factory=SettingsBandit)
    novelty: object | None = None       # gate.novelty.NoveltyIndex of our library (accepted + found before)
    public: object | None = None        # gate.public.PublicLibrary (the CROWDING check)
    styles: object | None = None        # gate.factors.style_library (the FACTOR_EXPOSURE check)
    gate: GateLimits = field(default_factory=GateLimits)
    llm_seeds: Sequence[tuple[str, dict]] = ()   # (expression, settings) of the LLM source (gen.llm.daily), seeded first
    brain_limits: Mapping[int, Mapping[str, float]] = field(default_factory=dict)   # delay -> BRAIN's live limits


@functools.lru_cache(maxsize=1)
def _fitness_class():
    from deap import base

    class SearchFitness(base.Fitness):
        """The search score, maximised (DEAP's ``weights`` convention)."""

        weights = (1.0,)

    return SearchFitness


class _Individual:
    """A DEAP individual: a trial with a ``fitness`` attribute (deap.base.Fitness, maximised)."""

    def __init__(self, trial: Trial):
        self.trial = trial
        self.fitness = _fitness_class()((trial.score,))


def _deap_select(pool: list[Trial], k: int, tournsize: int, seed: int) -> list[Trial]:
    """``k`` parents by DEAP's tournament selection on the search score (DEAP draws from Python's ``random``;
    it is seeded for the call and restored, so the search stays deterministic)."""
    from deap import tools

    if not pool or k <= 0:
        return []
    inds = [_Individual(t) for t in pool]
    state = random.getstate()
    random.seed(seed)
    try:
        chosen = tools.selTournament(inds, k, tournsize)
    finally:
        random.setstate(state)
    return [c.trial for c in chosen]


def _elite(pool: list[Trial], k: int) -> list[Trial]:
    from deap import tools

    return [c.trial for c in tools.selBest([_Individual(t) for t in pool], k)] if k > 0 else []


class _Search:
    def __init__(self, ctx: SearchContext, config: SearchConfig, on_generation: Callable | None):
        from alpha_core.sim.simulate import registry_for

        self.ctx, self.cfg, self.on_generation = ctx, config, on_generation
        self.registry = ctx.registry or registry_for(ctx.panel)
        self.rng = rng_for(f"{ctx.mining_date}|{ctx.field}")
        self.t0 = time.monotonic()
        self.own: list[Trial] = []
        self.by_hash: dict[str, Trial] = {}
        self.proposed: set[tuple[str, str]] = set()
        self.counts = {"simulated": 0, "replayed": 0, "reused": 0, "lint_rejected": 0, "duplicates": 0,
                       "noop_settings": 0, "passed_pattern_skipped": 0, "off_field": 0,
                       "novelty_rejected": 0, "factor_neutral_runs": 0}
        self.fail_streak, self.last_error = 0, ""
        self.progress: list[dict] = []
        dates = np.asarray(ctx.panel.dates, dtype="datetime64[D]")
        n_os = math.ceil(0.2 * dates.size)
        self.red_sea = _RedSea(dates[: dates.size - n_os])
        for pnl, d, *_ in ctx.library:
            self.red_sea.add(np.asarray(pnl, dtype=np.float64), np.asarray(d, dtype="datetime64[D]"))
        for pnl, d, *_ in ctx.day_winners:
            self.red_sea.add(np.asarray(pnl, dtype=np.float64), np.asarray(d, dtype="datetime64[D]"))
        exp = ctx.experience
        self.passed_patterns = set(exp.passed_patterns(ctx.field)) if exp is not None else set()
        self.stop: tuple[str, str] | None = None
        self.independent: set[str] = set()

    # ------------------------------------------------------------------ evaluation
    def budget_left(self) -> int:
        return self.cfg.budget - (self.counts["simulated"] + self.counts["replayed"])

    def _check_switches(self) -> bool:
        if self.stop:
            return True
        if self.budget_left() <= 0:
            self.stop = ("budget", f"simulation budget of {self.cfg.budget} used")
        elif time.monotonic() - self.t0 > self.cfg.max_seconds:
            self.stop = ("wall_time", f"wall-time limit of {self.cfg.max_seconds:.0f} s reached")
        elif self.fail_streak >= self.cfg.max_consecutive_failures:
            self.stop = ("failures", f"{self.fail_streak} simulations in a row failed (last: {self.last_error})")
        return self.stop is not None

    def propose(self, program_or_text, settings: dict, origin: str, parent: Trial | None, move: str,
                family: str, generation: int) -> Trial | None:
        """Lint, dedupe and evaluate one proposal; None when it is rejected or a duplicate."""
        from alpha_core.expr import alpha_hash, lint
        from alpha_core.expr.canonical import to_text
        from alpha_core.sim.settings import SimSettings

        if self._check_switches():
            return None
        text = program_or_text if isinstance(program_or_text, str) else to_text(program_or_text)
        res = lint(text, self.registry)
        if not res.ok or res.program is None or not res.canonical:
            self.counts["lint_rejected"] += 1
            return None
        try:
            ident = json.loads(SimSettings(**settings).identity_json())
        except Exception:  # noqa: BLE001 - invalid settings from a move: not a candidate
            self.counts["lint_rejected"] += 1
            return None
        if self.ctx.field not in gp.fields_of(res.program.result):
            self.counts["off_field"] += 1      # a (date, field) search mines alphas that use its field
            return None
        h = alpha_hash(res.canonical, ident)
        if h in self.by_hash:
            self.counts["duplicates"] += 1
            return None
        if self.passed_patterns and _pattern_key(res.canonical, settings) in self.passed_patterns:
            self.counts["passed_pattern_skipped"] += 1
            return None
        novelty = self._novelty(res.program)
        if novelty is not None and novelty.result == "FAIL":
            self.counts["novelty_rejected"] += 1     # a near-copy of our library: caught before it is simulated
            return None
        trial = Trial(expression=res.canonical, program=res.program, settings=dict(settings), alpha_hash=h,
                      origin=origin, parent_hash=parent.alpha_hash if parent else None, move=move, family=family,
                      generation=generation, row={}, parent_score=parent.score if parent else None,
                      lint_warnings=len(res.diagnostics) - len(res.errors), novelty=novelty)
        stored = self.ctx.memo.get(h)
        if stored is not None:
            own = str(stored.get("mining_date")) == self.ctx.mining_date and stored.get("field") == self.ctx.field
            trial.kind = "replay" if own else "reused"
            trial.row = {k: v for k, v in stored.items() if k not in ("mining_date", "field", "alpha_hash", "run_id")}
            self.counts["replayed" if own else "reused"] += 1
        else:
            trial.row = self._simulate(res, settings)
            self.counts["simulated"] += 1
        self._judge(trial)
        self.by_hash[h] = trial
        if trial.kind != "reused":
            self.own.append(trial)
            if trial.ok:
                self.fail_streak = 0
            else:
                self.fail_streak += 1
                self.last_error = (trial.row.get("error") or "")[:120]
        if origin == "bandit" and parent is not None:
            arm = move[len("settings "):].partition("=")
            self.ctx.bandit.update(arm[0], json.loads(arm[2]), trial.score > parent.score)
        return trial

    def _simulate(self, lint_result, settings: dict) -> dict:
        from alpha_core.gen.pipeline import metric_nulls, sim_row
        from alpha_core.sim.simulate import simulate_one

        outcome = simulate_one(lint_result, self.ctx.panel, settings, self.registry)
        if outcome.result is None:
            status = "unsupported" if outcome.code == "UNSUPPORTED_LOCAL" else "error"
            return {"source": "local", "status": status, "error": (outcome.error or "")[:500], **metric_nulls()}
        row = sim_row({"source": "local"}, outcome.result)
        if (row.get("is_sharpe") or -99) < PNL_KEEP_SHARPE:
            row["pnl_dates"], row["daily_pnl"] = None, None
        return row

    def _judge(self, trial: Trial) -> None:
        from alpha_core.gen.pipeline import verdict
        from alpha_core.sim.settings import SimSettings

        row = trial.row
        if row.get("status") != "ok":
            trial.checks = [Check("SIMULATION", "FAIL", None, None)]
            trial.verdict, trial.score = "fail", -10.0
            return
        pnl, dates = trial.is_pnl()
        corr = self_correlation(pnl, dates, self.ctx.library) if pnl.size else None
        crowd = None
        if self.ctx.public is not None and pnl.size:
            from alpha_core.gate.public import crowding

            crowd = crowding(pnl, dates, self.ctx.public, self.ctx.gate.crowding_max)[0]
        factor = None
        if self.ctx.styles is not None and pnl.size:
            from alpha_core.gate.factors import factor_exposure

            factor = factor_exposure(pnl, dates, self.ctx.styles, self.ctx.gate.factor_max)
        settings = SimSettings(**trial.settings)
        trial.checks = alpha_checklist(row, settings, pnl=pnl, dates=dates,
                                       program=trial.program, lint_warnings=trial.lint_warnings, self_corr=corr,
                                       limits=self.ctx.gate,
                                       brain_limits=self.ctx.brain_limits.get(int(settings.delay)),
                                       novelty=trial.novelty, crowding=crowd, factor=factor)
        if pnl.size:
            from alpha_core.gate.factors import with_factor_neutral

            before = trial.checks
            trial.checks = with_factor_neutral(before, trial.expression, self.ctx.panel, settings)
            self.counts["factor_neutral_runs"] += trial.checks is not before
        trial.verdict = verdict(trial.checks)
        trial.red_sea = self.red_sea.max_corr(pnl, dates) if pnl.size else None
        nodes = gp.size(trial.program.result) if trial.program is not None else 0
        train = train_fitness(pnl, row.get("is_returns"), row.get("is_turnover")) if pnl.size else None
        trial.score = search_score(row, trial.checks, trial.red_sea, stability(pnl) if pnl.size else 0.0, nodes,
                                   train)
        trial.validated = bool(pnl.size) and validated(pnl)
        if trial.verdict == "winner" and trial.validated and trial.kind != "reused":
            if trial.red_sea is None or trial.red_sea < self.cfg.corr_limit:
                self.red_sea.add(pnl, dates)

    def _novelty(self, program) -> Check | None:
        """The NOVELTY check of ``program`` against ``ctx.novelty`` (None without a library)."""
        if self.ctx.novelty is None:
            return None
        from alpha_core.gate.novelty import novelty_check

        return novelty_check(self.ctx.novelty.closest(program), self.ctx.gate.novelty_max)

    # ------------------------------------------------------------------ generations
    def seed(self) -> None:
        from alpha_core.gen.seeds import seed_candidates

        exp = self.ctx.experience
        weights = None
        exclude: set[str] = set()
        if exp is not None:
            from alpha_core.gen.seeds import FAMILIES

            weights = {f: exp.family_weight(self.ctx.field, f) for f in FAMILIES}
            exclude = set(exp.forbidden(self.ctx.field))
        cands = seed_candidates(self.ctx.field, self.ctx.kind, self.cfg.seeds, f"{self.ctx.mining_date}|{self.ctx.field}",
                                self.ctx.companions, weights, exclude)
        for expression, settings in self.ctx.llm_seeds:
            self.propose(expression, settings, "llm", None, "llm", "llm", 0)
        for c in cands:
            self.propose(c.expression, c.settings, "seed", None, c.template or "seed", c.archetype or "seed", 0)

    def pool(self) -> list[Trial]:
        return sorted((t for t in self.by_hash.values() if t.ok and t.program is not None),
                      key=lambda t: (-t.score, t.alpha_hash))

    def generation(self, g: int) -> int:
        made = 0
        pool = self.pool()
        if not pool:
            return 0
        population = pool[: self.cfg.population]
        quota = self.cfg.offspring

        def take(program, settings, origin, parent, move, family=None):
            nonlocal made, quota
            if quota <= 0:
                return
            quota -= 1
            t = self.propose(program, settings, origin, parent, move, family or parent.family, g)
            made += t is not None

        # 1. sign flips of strongly negative alphas (any trial of this run, best |sharpe| first)
        negs = sorted((t for t in self.by_hash.values() if t.ok and t.program is not None
                       and (t.row.get("is_sharpe") or 0) <= -mutate.FLIP_SHARPE),
                      key=lambda t: (t.row["is_sharpe"], t.alpha_hash))
        for t in negs[:4]:
            if quota > 0 and (t.alpha_hash, "flip") not in self.proposed:
                self.proposed.add((t.alpha_hash, "flip"))
                take(mutate.sign_flip(t.program), t.settings, "sign_flip", t, "sign flip")
        # 2. failure-directed moves on the best failing alphas
        failing = [t for t in population if t.verdict != "winner"][: self.cfg.surgeon_parents]
        for t in failing:
            moves = mutate.surgeon_moves(t.program, t.settings, t.checks, t.row.get("is_sharpe"),
                                         t.row.get("is_turnover"))
            fresh = [m for m in moves if (t.alpha_hash, m[0]) not in self.proposed]
            for desc, prog, st in fresh[:3]:
                if quota <= 0:
                    break
                self.proposed.add((t.alpha_hash, desc))
                take(prog, st, "surgeon", t, desc)
        # 3. the settings bandit on the best alphas
        for t in population[: self.cfg.bandit_parents]:
            if quota <= 0:
                break
            options = {}
            for d, vals in mutate.settings_options(t.settings).items():
                fresh = [v for v in vals if (t.alpha_hash, arm_label(d, v)) not in self.proposed]
                options[d] = [v for v in fresh if not mutate.settings_noop(t.program, t.settings, {**t.settings, d: v})]
                self.counts["noop_settings"] += len(fresh) - len(options[d])
                for v in set(fresh) - set(options[d]):
                    self.proposed.add((t.alpha_hash, arm_label(d, v)))   # a no-op is counted once
            arm = self.ctx.bandit.choose(self.rng, options)
            if arm is None:
                continue
            label = arm_label(*arm)
            self.proposed.add((t.alpha_hash, label))
            take(t.program, {**t.settings, arm[0]: arm[1]}, "bandit", t, label)
        # 4. typed GP: elitism keeps the best in the population; tournament picks parents
        elite = _elite(population, self.cfg.elite)
        parents = _deap_select(population, 2 * max(quota, 0), self.cfg.tournament, int(self.rng.integers(2**31)))
        fields = list(dict.fromkeys([self.ctx.field, *self.ctx.value_fields]))
        i = 0
        tries = 0
        while quota > 0 and i + 1 < len(parents) and tries < 6 * self.cfg.offspring:
            tries += 1
            a = parents[i] if self.rng.random() > 0.3 or not elite else elite[int(self.rng.integers(len(elite)))]
            b = parents[i + 1]
            i += 2
            u = self.rng.random()
            if u < self.cfg.p_crossover:
                child = gp.crossover(a.program, b.program, self.rng)
                if child is not None:
                    take(child, a.settings, "gp", a, f"crossover with {b.alpha_hash[:12]}")
            elif u < self.cfg.p_crossover + self.cfg.p_subtree:
                child = gp.subtree_mutation(a.program, self.rng, fields, GROUPS)
                if child is not None:
                    take(child, a.settings, "gp", a, "subtree mutation")
            else:
                moves = mutate.lateral_moves(a.program, a.settings)
                if moves:
                    desc, prog, st = moves[int(self.rng.integers(len(moves)))]
                    take(prog, st, "gp", a, desc)
            if i + 1 >= len(parents):
                parents += _deap_select(population, 2 * max(quota, 1), self.cfg.tournament,
                                        int(self.rng.integers(2**31)))
        return made

    def record(self, g: int) -> None:
        from alpha_core.gate.correlation import independent_set

        pool = self.pool()
        own_winners = [t for t in self.own if t.verdict == "winner"]
        items = [(t.alpha_hash, *t.is_pnl(), t.score) for t in own_winners if t.validated]
        lib = [(np.asarray(p, dtype=np.float64), np.asarray(d, dtype="datetime64[D]"))
               for p, d, *_ in list(self.ctx.library) + list(self.ctx.day_winners)]
        self.independent = set(independent_set(items, lib, self.cfg.corr_limit).kept) if items else set()
        independent = len(self.independent)
        population = pool[: self.cfg.population]
        fits = [t.row.get("is_fitness") for t in population if t.row.get("is_fitness") is not None]
        from alpha_core.gen.memory import operator_pattern

        patterns = {operator_pattern(t.expression) for t in population}
        self.progress.append({
            "generation": g, "evaluated": len(self.own), "simulated": self.counts["simulated"],
            "replayed": self.counts["replayed"], "reused": self.counts["reused"],
            "best_score": pool[0].score if pool else None, "best_is_fitness": max(fits) if fits else None,
            "passes": len(own_winners), "independent_passes": independent,
            "diversity": len(patterns) / len(population) if population else 0.0,
            "elapsed_s": round(time.monotonic() - self.t0, 2)})
        if self.on_generation is not None:
            self.on_generation(self.own, self.progress, self.independent)

    def run(self) -> SearchResult:
        self.seed()
        self.record(0)
        g = 0
        while not self._check_switches():
            if g >= self.cfg.max_generations:
                self.stop = ("max_generations", f"{self.cfg.max_generations} generations done")
                break
            g += 1
            made = self.generation(g)
            self.record(g)
            if made == 0 and not self._check_switches():
                self.stop = ("exhausted", f"generation {g} proposed nothing new")
        reason, detail = self.stop or ("budget", "")
        return SearchResult(self.own, self.progress, reason, detail, dict(self.counts), self.ctx.bandit.table(),
                            frozenset(self.independent))


def _pattern_key(canonical: str, settings: dict) -> tuple[str, str]:
    from alpha_core.gen.memory import operator_pattern, settings_key

    return operator_pattern(canonical), settings_key(json.dumps(settings, sort_keys=True))


def run_search(ctx: SearchContext, config: SearchConfig | None = None,
               on_generation: Callable[[list[Trial], list[dict], set[str]], None] | None = None) -> SearchResult:
    """Search ``ctx.field`` on ``ctx.mining_date`` (module doc). ``on_generation(own_trials, progress, independent_hashes)`` is
    called after the seeds and after every generation (the asset checkpoints there). Never raises for one
    alpha; raises ``ValueError`` for an unknown field kind (from the seeds)."""
    return _Search(ctx, config or SearchConfig(), on_generation).run()
