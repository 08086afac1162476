"""The learning memory (issue 12 item 2): what past trials say about each (field, family, pattern, settings).

A *trial* is one simulated alpha of one (mining_date, field) search. ``Experience.from_trials`` folds the
trials of the days before a mining date into counts per (field, seed family, operator pattern, settings
key), so the themes and the search can ask: which fields paid off (independent winners per trial), which
families are promising or exhausted (forbidden) on a field, and which forms already passed there (a field
that passed is mined again only with new forms). Only IS metrics and local check outcomes enter; OS
metrics are a holdout and are never read.

``operator_pattern`` is the skeleton of a canonical expression (data fields -> ``X``, numbers -> ``N``;
group fields, variables, strings and booleans stay), so ``rank(-ts_delta(close, 5))`` and
``rank(-ts_delta(open, 20))`` are one pattern.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field as dc_field
from datetime import date
from functools import lru_cache
from typing import Mapping

import polars as pl

from alpha_core.data.groups import GROUP_FIELDS
from alpha_core.expr import lint, to_text
from alpha_core.expr.ast import Assign, Call, Ident, Keyword, Number, Program
from alpha_core.sim.settings import SimSettings

#: A family is *forbidden* (exhausted) on a field once it has at least this many trials there and none of
#: them was a winner or a near miss.
FORBID_MIN_TRIALS = 30
#: Sampling weight of a family never tried on the field.
UNTRIED_WEIGHT = 1.0
#: A promising family (>= 1 winner or near miss on the field) weighs PROMISING_WEIGHT + up to PROMISING_BONUS
#: (PROMISING_BONUS x its hit rate x 10, hits = winners + near misses / 2, capped).
PROMISING_WEIGHT, PROMISING_BONUS = 2.0, 3.0
#: A tried family without any hit weighs FAILING_WEIGHT at 1 trial, falling linearly to FAILING_FLOOR at
#: FORBID_MIN_TRIALS - 1 trials (then it is forbidden: weight 0).
FAILING_WEIGHT, FAILING_FLOOR = 0.5, 0.1

TRIAL_COLUMNS = ("mining_date", "field", "expression", "settings_json", "family", "status", "verdict",
                 "is_fitness", "failed_checks", "independent")
"""Columns ``Experience.from_trials`` reads (``pattern`` is optional: computed from ``expression`` when absent)."""

ROW_COLUMNS = ("field", "family", "pattern", "settings_key", "n_trials", "n_ok", "n_winners", "n_near_miss",
               "n_independent", "best_fitness", "mean_fitness", "top_failed_check", "first_mining_date",
               "last_mining_date")
"""Columns of ``Experience.rows()`` (the stored ``experience`` table, one row per (field, family, pattern,
settings_key))."""

_KEEP_IDENTS = frozenset(GROUP_FIELDS)


@lru_cache(maxsize=65536)
def operator_pattern(canonical_text: str) -> str:
    """The skeleton of an expression: data fields replaced by ``X`` and numbers by ``N``.

    ``canonical_text``: FastExpr text (canonical or not; it is linted and canonicalized first).
    Group fields (``subindustry``...), assigned variable names, strings and booleans stay as written, e.g.
    ``rank(-ts_delta(close, 5))`` -> ``rank(-ts_delta(X, N))``,
    ``group_rank(ts_mean(volume, 20) / cap, subindustry)`` -> ``group_rank(ts_mean(X, N) / X, subindustry)``.
    Raises ValueError naming the expression and its lint codes when it does not lint clean.
    """
    res = lint(canonical_text)
    if not res.ok or res.program is None:
        raise ValueError(f"operator_pattern: {canonical_text!r} does not lint clean ({', '.join(res.codes)})")
    program = res.program
    keep = _KEEP_IDENTS | {a.name for a in program.statements}
    statements = tuple(Assign(a.name, _skeleton(a.value, keep)) for a in program.statements)
    return to_text(Program(statements, _skeleton(program.result, keep)))


def _pattern_or_text(text: str) -> str:
    """``operator_pattern(text)``, or ``text`` itself for a trial whose expression does not lint (an error
    trial still counts, under its own text)."""
    try:
        return operator_pattern(text)
    except ValueError:
        return text


def _skeleton(node, keep: frozenset[str]):
    if isinstance(node, Number):
        return Ident("N")
    if isinstance(node, Ident):
        return node if node.name in keep else Ident("X")
    if isinstance(node, Call):
        return Call(node.name, tuple(_skeleton(a, keep) for a in node.args),
                    tuple(Keyword(k.name, _skeleton(k.value, keep)) for k in node.kwargs))
    return node                                     # String, Bool: part of the form


_DEFAULTS = {k: SimSettings.model_fields[k].default for k in ("decay", "neutralization", "truncation", "universe")}


@lru_cache(maxsize=4096)
def settings_key(settings_json: str) -> str:
    """``"d{decay}/{neutralization}/t{truncation}/{universe}"`` of a BRAIN settings JSON object (missing keys
    take the ``SimSettings`` defaults), e.g. ``d4/SUBINDUSTRY/t0.08/TOP500``. Raises ValueError naming the
    text when it is not a JSON object."""
    try:
        s = json.loads(settings_json)
    except (TypeError, ValueError):
        s = None
    if not isinstance(s, dict):
        raise ValueError(f"settings_json {settings_json!r} is not a JSON object")
    v = {k: s.get(k, d) for k, d in _DEFAULTS.items()}
    trunc = v["truncation"]
    trunc = f"{float(trunc):g}" if isinstance(trunc, (int, float)) else str(trunc)
    return f"d{v['decay']}/{str(v['neutralization']).upper()}/t{trunc}/{str(v['universe']).upper()}"


@dataclass(frozen=True)
class Cell:
    """Outcome counts of one (field, family, pattern, settings_key); fitness is IS fitness of ok trials."""

    n_trials: int
    n_ok: int
    n_winners: int
    n_near_miss: int
    n_independent: int
    best_fitness: float | None
    mean_fitness: float | None
    top_failed_check: str | None
    first_mining_date: date
    last_mining_date: date


@dataclass(frozen=True)
class Experience:
    """Aggregated trial outcomes. Build with ``Experience.from_trials``; ``Experience()`` is the empty memory.

    ``cells``: (field, family, pattern, settings_key) -> ``Cell``; ``days``: field -> sorted distinct
    mining dates on which it has trials.
    """

    cells: Mapping[tuple[str, str, str, str], Cell] = dc_field(default_factory=dict)
    days: Mapping[str, tuple[date, ...]] = dc_field(default_factory=dict)
    _by_field: dict = dc_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_field: dict[str, list] = {}
        for key, cell in self.cells.items():
            by_field.setdefault(key[0], []).append((key, cell))
        object.__setattr__(self, "_by_field", by_field)

    # ---- construction ---------------------------------------------------------------------------
    @classmethod
    def from_trials(cls, trials: pl.DataFrame, before_date: str | date | None = None,
                    aliases: Mapping[str, str] | None = None) -> "Experience":
        """The memory of ``trials`` (one row per simulated alpha; columns ``TRIAL_COLUMNS``, optional
        ``pattern``), keeping only rows with ``mining_date < before_date`` when given (so re-running a
        day takes the same decisions). ``aliases`` (alias -> canonical field) files an alias's trials
        under its canonical field. ``family`` null -> ``"unknown"``; ``independent`` null -> False; an
        expression that does not lint is its own pattern.
        Raises ValueError naming the missing columns or a malformed ``before_date``/``settings_json``.
        """
        missing = [c for c in TRIAL_COLUMNS if c not in trials.columns]
        if missing:
            raise ValueError(f"trials lack columns {missing}; got {trials.columns}")
        md = pl.col("mining_date")
        try:
            t = trials.with_columns(md.str.to_date("%Y-%m-%d") if trials.schema["mining_date"] == pl.String
                                    else md.cast(pl.Date))
        except pl.exceptions.PolarsError as exc:
            raise ValueError(f"trials.mining_date is not a date column of YYYY-MM-DD values: {exc}") from None
        if before_date is not None:
            t = t.filter(pl.col("mining_date") < parse_day(before_date, "before_date"))
        if t.height == 0:
            return cls()
        if aliases:
            t = t.with_columns(pl.col("field").replace(dict(aliases)))
        if "pattern" not in t.columns:
            t = t.with_columns(pl.col("expression").map_elements(_pattern_or_text, return_dtype=pl.Utf8)
                               .alias("pattern"))
        t = t.with_columns(
            pl.col("family").fill_null("unknown"),
            pl.col("settings_json").map_elements(settings_key, return_dtype=pl.Utf8).alias("settings_key"),
            pl.col("is_fitness").cast(pl.Float64),
            pl.col("independent").cast(pl.Boolean).fill_null(False))
        agg = t.group_by("field", "family", "pattern", "settings_key").agg(
            pl.len().alias("n_trials"),
            (pl.col("status") == "ok").sum().alias("n_ok"),
            (pl.col("verdict") == "winner").sum().alias("n_winners"),
            (pl.col("verdict") == "near_miss").sum().alias("n_near_miss"),
            ((pl.col("verdict") == "winner") & pl.col("independent")).sum().alias("n_independent"),
            pl.col("is_fitness").filter((pl.col("status") == "ok") & pl.col("is_fitness").is_finite()).max()
            .alias("best_fitness"),
            pl.col("is_fitness").filter((pl.col("status") == "ok") & pl.col("is_fitness").is_finite()).mean()
            .alias("mean_fitness"),
            pl.col("failed_checks").drop_nulls().alias("failed"),
            pl.col("mining_date").min().alias("first_mining_date"),
            pl.col("mining_date").max().alias("last_mining_date"))
        cells = {}
        for r in agg.iter_rows(named=True):
            key = (r["field"], r["family"], r["pattern"], r["settings_key"])
            cells[key] = Cell(int(r["n_trials"]), int(r["n_ok"]), int(r["n_winners"]), int(r["n_near_miss"]),
                              int(r["n_independent"]), _opt(r["best_fitness"]), _opt(r["mean_fitness"]),
                              _top_check(r["failed"]), r["first_mining_date"], r["last_mining_date"])
        days = {f: tuple(sorted(set(g["mining_date"].to_list())))
                for (f,), g in t.select("field", "mining_date").group_by("field")}
        return cls(dict(sorted(cells.items())), dict(sorted(days.items())))

    # ---- queries --------------------------------------------------------------------------------
    def _field_cells(self, field: str) -> list:
        return self._by_field.get(field, [])

    def field_stats(self, field: str) -> dict:
        """``{"mined_days", "trials", "ok", "winners", "near_misses", "independent_winners",
        "last_mined"}`` of ``field`` (zeros and ``last_mined`` None for a field never mined);
        ``last_mined`` is a ``datetime.date``."""
        cells = [c for _, c in self._field_cells(field)]
        days = self.days.get(field, ())
        return {"mined_days": len(days), "trials": sum(c.n_trials for c in cells),
                "ok": sum(c.n_ok for c in cells), "winners": sum(c.n_winners for c in cells),
                "near_misses": sum(c.n_near_miss for c in cells),
                "independent_winners": sum(c.n_independent for c in cells),
                "last_mined": days[-1] if days else None}

    def _family_counts(self, field: str, family: str) -> tuple[int, int, int]:
        n = w = nm = 0
        for (_, fam, _, _), c in self._field_cells(field):
            if fam == family:
                n, w, nm = n + c.n_trials, w + c.n_winners, nm + c.n_near_miss
        return n, w, nm

    def families(self, field: str) -> set[str]:
        """Families tried on ``field``."""
        return {k[1] for k, _ in self._field_cells(field)}

    def forbidden(self, field: str) -> set[str]:
        """Families exhausted on ``field``: >= ``FORBID_MIN_TRIALS`` trials there and no winner nor near miss."""
        out = set()
        for fam in self.families(field):
            n, w, nm = self._family_counts(field, fam)
            if n >= FORBID_MIN_TRIALS and w == 0 and nm == 0:
                out.add(fam)
        return out

    def exhausted(self, field: str) -> bool:
        """True when ``field`` has been tried and every family tried on it is forbidden."""
        fams = self.families(field)
        return bool(fams) and fams == self.forbidden(field)

    def family_weight(self, field: str, family: str) -> float:
        """Sampling weight of seeds of ``family`` on ``field``: promising (a winner or near miss there)
        2.0-5.0 > untried 1.0 > tried without a hit 0.5 falling to 0.1 > forbidden 0.0 (constants above)."""
        n, w, nm = self._family_counts(field, family)
        if n == 0:
            return UNTRIED_WEIGHT
        if w or nm:
            return PROMISING_WEIGHT + min(PROMISING_BONUS, PROMISING_BONUS * 10 * (w + 0.5 * nm) / n)
        if n >= FORBID_MIN_TRIALS:
            return 0.0
        frac = (n - 1) / max(FORBID_MIN_TRIALS - 2, 1)
        return FAILING_WEIGHT - (FAILING_WEIGHT - FAILING_FLOOR) * frac

    def tried_patterns(self, field: str) -> set[str]:
        """Operator patterns simulated on ``field`` (any settings, any outcome)."""
        return {k[2] for k, _ in self._field_cells(field)}

    def passed_patterns(self, field: str) -> set[tuple[str, str]]:
        """``(pattern, settings_key)`` pairs that produced a winner on ``field``: the search skips a proposal
        whose pair is in this set (a field that passed is mined again only with new forms)."""
        return {(k[2], k[3]) for k, c in self._field_cells(field) if c.n_winners}

    def rows(self) -> list[dict]:
        """The stored form: one dict per (field, family, pattern, settings_key) with keys ``ROW_COLUMNS``,
        sorted by that key (dates as ``datetime.date``)."""
        return [{"field": k[0], "family": k[1], "pattern": k[2], "settings_key": k[3], **c.__dict__}
                for k, c in self.cells.items()]


def parse_day(value: str | date, what: str) -> date:
    """``value`` as a date: a ``datetime.date`` or exactly ``YYYY-MM-DD`` text. Raises ValueError naming
    ``what`` otherwise."""
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a YYYY-MM-DD date") from None


def _opt(v) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


def _top_check(values) -> str | None:
    counts = Counter(name.strip() for text in values for name in str(text).split(",") if name.strip())
    if not counts:
        return None
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
