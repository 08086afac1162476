"""One research request (issue 15 items 2-3): hypothesis -> expressions -> lint -> simulate -> feedback.

``Research(...).run()`` iterates up to ``iterations`` times. Each iteration asks the model (``prompts``) for up to
``n_alphas`` alphas, then:

1. the answer is checked against the contract (``answers.parse_answer``); a rejected answer (prose, broken JSON,
   invented keys, injection text, a huge answer) is stored with its reason on its ``research_iterations`` row;
2. every expression is linted with the panel's registry (``expr.lint``) and its settings checked
   (``SimSettings`` + ``check_local``); errors (code, span, message) go back to the model in a **repair round**,
   at most ``MAX_REPAIRS`` (2) per iteration (an alpha already tried in the request is sent back the same way);
   nothing that failed lint or the settings is ever simulated;
3. a clean alpha is simulated once per alpha hash: a hash evaluated earlier in this request is a ``duplicate``
   (nothing done), a hash stored by the miner (``simulations``) or an earlier request is ``reused``
   (``kb.stored_results``), only a new one is simulated (``sim.simulate.simulate_one``);
4. its checklist (``gate.checklist.alpha_checklist``: BRAIN's checks, IS stability, coverage, complexity,
   self-correlation with the accepted alphas, crowding with the public alphas, novelty, and the deflated sharpe
   over this request's trials) reads IS only; the verdict is ``gen.pipeline.verdict``;
5. the next iteration's prompt lists every alpha tried so far with its IS metrics and the checks it failed.

The request stops early when an alpha passes every check (verdict ``winner``), when the model's iterations are
used (``exhausted``; ``proposed`` in the propose-only mode of the daily miner's source), when the day's token
budget is spent (``budget``), or when the provider refuses or stays unavailable (``failed``). Every simulated or reused variant is a trial (``n_trials``; the deflated sharpe's N).
The request's rows are rewritten after each iteration (partition ``request_id`` of each table) and lessons are
distilled at the end (``kb.distill``).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import secrets
from dataclasses import dataclass
from typing import Callable

import numpy as np

from alpha_core.gen.llm import kb, prompts
from alpha_core.gen.llm.answers import Rejected, parse_answer
from alpha_core.gen.llm.client import LLMClient, LLMError

MAX_ITERATIONS = 20
MAX_REPAIRS = 2
MAX_HYPOTHESIS_CHARS = 2000
ANSWER_KEEP_CHARS = 4000        # characters of a model answer stored on its research_iterations row
HISTORY_LINES = 15              # earlier alphas shown to the model in a later iteration (the latest ones)
DAYS_PER_YEAR = 252
log = logging.getLogger("alpha_core.gen.llm")


class ResearchError(ValueError):
    """A research request that cannot start; the message names the flag or setting."""


def check_request(hypothesis: str, iterations) -> tuple[str, int]:
    """The hypothesis (whitespace collapsed, 1..2,000 characters) and iterations (1..20) of a request; raises
    ``ResearchError`` naming what is wrong."""
    text = " ".join(str(hypothesis or "").split())
    if not text:
        raise ResearchError("hypothesis: empty; describe the idea, e.g. \"momentum in small caps reverses after "
                            "earnings\"")
    if len(text) > MAX_HYPOTHESIS_CHARS:
        raise ResearchError(f"hypothesis: {len(text):,} characters; the limit is {MAX_HYPOTHESIS_CHARS:,}")
    try:
        n = int(str(iterations).strip())
    except ValueError:
        raise ResearchError(f"--iterations: {iterations!r} is not a whole number; use 1 to {MAX_ITERATIONS}") from None
    if not 1 <= n <= MAX_ITERATIONS:
        raise ResearchError(f"--iterations: {n} is out of range; use 1 to {MAX_ITERATIONS}")
    return text, n


def new_request_id(now: dt.datetime | None = None) -> str:
    """A fresh request id: ``r`` + UTC time + 6 random hex digits, e.g. ``r20261203-072310-a1b2c3``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    return f"r{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass
class ResearchOutcome:
    """The rows a request wrote, by table (``research_requests`` holds one row)."""

    request: dict
    iterations: list[dict]
    alphas: list[dict]
    calls: list[dict]
    lessons: list[dict]

    @property
    def best(self) -> dict | None:
        """The best evaluated alpha: a winner first, then the highest IS fitness (None when nothing ran)."""
        done = [a for a in self.alphas if a["status"] in ("simulated", "reused") and a["is_fitness"] is not None]
        return max(done, key=lambda a: (a["verdict"] == "winner", a["is_fitness"], a["alpha_hash"]), default=None)


class Research:
    """One research request on ``panel`` (see module doc), stored in the DuckDB file ``db``.

    ``settings``: ``AlphaSettings`` (LLM knobs, gate limits); ``client``: an ``LLMClient`` (default built from
    ``settings`` and ``model``; raises ``LLMError`` code ``config`` when no model is set); ``progress``: called
    with one line of text per model answer (also logged at INFO on the ``alpha_core.gen.llm`` logger);
    ``run_id``: the Dagster run stored on every row. ``simulate`` False: propose only (the daily miner's source,
    ``gen.llm.daily``): lint-clean alphas get status ``proposed``, nothing is simulated or judged here, and the
    request ends ``proposed`` after its iterations.
    """

    def __init__(self, db: str, panel, settings, hypothesis: str, iterations: int = 3, model: str | None = None,
                 request_id: str | None = None, run_id: str = "", client: LLMClient | None = None,
                 progress: Callable[[str], None] | None = None, n_alphas: int = 3, simulate: bool = True):
        from alpha_core.gate.novelty import NoveltyIndex
        from alpha_core.gen.dayplan import accepted_library, novelty_library
        from alpha_core.sim.simulate import registry_for
        from alpha_core.store.writes import reading

        self.hypothesis, self.iterations = check_request(hypothesis, iterations)
        self.db, self.panel, self.run_id = db, panel, run_id
        self.request_id = request_id or new_request_id()
        self.limits = settings.gate_limits()
        self.registry = registry_for(panel)
        self.progress = progress
        self.n_alphas = n_alphas
        tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
        with reading(db) as con:
            self.lessons_used = kb.lessons_for(con, self.hypothesis)
            used = kb.tokens_today(con, self.request_id)
            self.accepted = accepted_library(con, tomorrow)
            self.novelty = NoveltyIndex(novelty_library(con, tomorrow))
        self.client = client or LLMClient.from_settings(settings, model, used)
        self.simulate = simulate
        self.system = prompts.system_prompt(self.registry, self.limits, self.lessons_used, n_alphas)
        self.created_at = _now()
        self.status, self.stop_reason, self.finished_at = "running", "", None
        self.iteration_rows: list[dict] = []
        self.alpha_rows: list[dict] = []
        self.lesson_rows: list[dict] = []
        self.seen: dict[str, dict] = {}      # alpha hash -> its first row in this request
        self.call_log: list[tuple[int, int, object]] = []   # (iteration, round, CallRecord) of every attempt

    # ------------------------------------------------------------------ rows
    @property
    def trials(self) -> list[dict]:
        """The request's trials: every variant simulated now (a failed simulation too) or reused from the store."""
        return [r for r in self.alpha_rows if r["status"] in ("simulated", "reused", "sim_error")]

    def proposals(self) -> list[tuple[str, dict]]:
        """(canonical expression, settings) of every lint-clean alpha the request evaluated or proposed, in order."""
        return [(r["canonical"], json.loads(r["settings_json"])) for r in self.alpha_rows
                if r["status"] in ("proposed", "simulated", "reused", "sim_error")]

    def outcome(self) -> ResearchOutcome:
        """The request's rows as they stand."""
        calls = [{"request_id": self.request_id, "call_no": i + 1, "iteration": it, "round": rnd,
                  "attempt": r.attempt, "model": r.model, "called_at": r.called_at, "status": r.status,
                  "error": r.error, "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
                  "total_tokens": r.total_tokens, "cost_usd": r.cost_usd, "latency_s": r.latency_s}
                 for i, (it, rnd, r) in enumerate(self.call_log)]
        costs = [c["cost_usd"] for c in calls if c["cost_usd"] is not None]
        out = ResearchOutcome({}, self.iteration_rows, self.alpha_rows, calls, self.lesson_rows)
        best = out.best
        out.request = {
            "request_id": self.request_id, "hypothesis": self.hypothesis, "model": self.client.config.model,
            "iterations": self.iterations, "status": self.status, "stop_reason": self.stop_reason,
            "best_alpha_hash": best["alpha_hash"] if best else None, "n_trials": len(self.trials),
            "n_calls": len(calls), "prompt_tokens": sum(c["prompt_tokens"] for c in calls),
            "completion_tokens": sum(c["completion_tokens"] for c in calls),
            "cost_usd": sum(costs) if costs else None, "created_at": self.created_at, "finished_at": self.finished_at}
        return out

    def write(self) -> ResearchOutcome:
        """Rewrite this request's partition of every research table (one transaction); returns the rows."""
        from alpha_core.store.schema import RESEARCH_TABLES
        from alpha_core.store.writes import replace_many, writing

        out = self.outcome()
        rows = {"research_requests": [out.request], "research_iterations": out.iterations,
                "research_alphas": out.alphas, "llm_calls": out.calls, "research_lessons": out.lessons}
        with writing(self.db) as con:
            replace_many(con, [(t, [self.request_id], rows[t]) for t in RESEARCH_TABLES], self.run_id)
        return out

    # ------------------------------------------------------------------ the loop
    def run(self) -> ResearchOutcome:
        """Run the request to its end (module doc); the rows are written after every iteration and at the end.
        Never raises for what the model answers or for a provider failure (they end the request with a status)."""
        self.write()
        try:
            for it in range(1, self.iterations + 1):
                self._iteration(it)
                self.write()
                winners = [a for a in self.alpha_rows if a.get("verdict") == "winner"]
                if winners:
                    self.status = "passed"
                    self.stop_reason = (f"`{winners[0]['canonical']}` passed every check in iteration {it}")
                    break
            else:
                if self.simulate:
                    self.status = "exhausted"
                    self.stop_reason = f"no alpha passed every check in {self.iterations} iteration(s)"
                else:
                    self.status = "proposed"
                    self.stop_reason = f"{len(self.proposals())} lint-clean alpha(s) proposed, not simulated here"
        except LLMError as exc:
            self.status = "budget" if exc.code == "budget" else "failed"
            self.stop_reason = str(exc)
        self.finished_at = _now()
        self.lesson_rows = kb.distill(self.request_id, self.hypothesis, self.alpha_rows, self.finished_at)
        self._say(f"research {self.request_id}: {self.status}: {self.stop_reason}")
        return self.write()

    def _say(self, line: str) -> None:
        log.info(line)
        if self.progress is not None:
            self.progress(line)

    def _call(self, messages: list[dict], it: int, rnd: int):
        before = len(self.client.records)
        try:
            return self.client.complete(messages)
        finally:
            self.call_log.extend((it, rnd, r) for r in self.client.records[before:])

    def _iteration(self, it: int) -> None:
        history = [prompts.result_line(r) for r in self.alpha_rows if r["status"] != "duplicate"][-HISTORY_LINES:]
        messages = [{"role": "system", "content": self.system},
                    {"role": "user", "content": prompts.first_prompt(self.hypothesis, history)}]
        for rnd in range(MAX_REPAIRS + 1):
            reply = self._call(messages, it, rnd)
            row = {"request_id": self.request_id, "iteration": it, "round": rnd, "call_no": len(self.call_log),
                   "answer": reply.text[:ANSWER_KEEP_CHARS], "model_hypothesis": None, "n_alphas": 0,
                   "n_simulated": 0, "n_winners": 0, "feedback": None}
            try:
                answer = parse_answer(reply.text)
            except Rejected as rj:
                row.update(answer_status="rejected", reason=f"{rj.reason}: {rj}")
                problems = [f"the answer was rejected ({rj.reason}): {rj}"]
                kept = "[answer withheld: rejected]"
            else:
                rows = self._evaluate(answer, it, rnd)
                problems = [p for p in (self._problem(r) for r in rows) if p]
                row.update(answer_status="accepted", reason=None, model_hypothesis=answer.hypothesis,
                           n_alphas=len(rows), n_simulated=sum(r["source"] == "local" for r in rows),
                           n_winners=sum(r.get("verdict") == "winner" for r in rows))
                kept = reply.text[:ANSWER_KEEP_CHARS]
            self.iteration_rows.append(row)
            self._say(self._progress_line(row))
            if not problems or rnd == MAX_REPAIRS or row["n_winners"]:
                return
            row["feedback"] = prompts.repair_prompt(problems)
            messages += [{"role": "assistant", "content": kept}, {"role": "user", "content": row["feedback"]}]

    def _progress_line(self, row: dict) -> str:
        head = f"iteration {row['iteration']} round {row['round']}: "
        if row["answer_status"] == "rejected":
            return head + f"answer rejected ({row['reason'][:120]})"
        mine = [a for a in self.alpha_rows if a["iteration"] == row["iteration"] and a["round"] == row["round"]]
        parts = [f"{a['status']} {a['canonical'] or a['expression'][:60]}"
                 + (f" fitness {a['is_fitness']:.2f} {a['verdict']}" if a.get("is_fitness") is not None else "")
                 for a in mine]
        return head + "; ".join(parts)

    @staticmethod
    def _problem(row: dict) -> str | None:
        if row["status"] == "lint_error":
            return prompts.lint_problem(row["expression"], json.loads(row["diagnostics_json"]))
        if row["status"] == "settings_error":
            return f"`{row['expression']}` settings {row['settings_json']}: {row['reason']}"
        if row["status"] == "duplicate":
            return f"`{row['canonical']}` with settings {row['settings_json']} was {row['reason']}: propose another"
        return None

    # ------------------------------------------------------------------ one answer
    def _evaluate(self, answer, it: int, rnd: int) -> list[dict]:
        """Lint, check settings, dedupe, reuse or simulate, and judge every alpha of ``answer``; returns its rows."""
        from alpha_core.expr import alpha_hash, lint
        from alpha_core.gen.pipeline import metric_nulls
        from alpha_core.sim.settings import SettingsError, SimSettings, UnsupportedLocal
        from alpha_core.sim.simulate import json_settings
        from alpha_core.store.writes import reading

        rows, clean = [], []
        for pos, alpha in enumerate(answer.alphas):
            row = {"request_id": self.request_id, "iteration": it, "round": rnd, "position": pos,
                   "expression": alpha.expression, "canonical": None, "alpha_hash": None,
                   "settings_json": json.dumps(alpha.settings, sort_keys=True, default=str),
                   "rationale": alpha.rationale, "status": "", "reason": None, "diagnostics_json": None,
                   "source": None, "error": None, **metric_nulls(), "verdict": None, "failed_checks": None,
                   "checks_json": None}
            rows.append(row)
            self.alpha_rows.append(row)
            res = lint(alpha.expression, self.registry)
            row["diagnostics_json"] = json.dumps([{"code": d.code, "start": d.start, "end": d.end,
                                                   "message": d.message, "severity": d.severity}
                                                  for d in (res.errors if not res.ok else res.diagnostics)])
            if not res.ok:
                row.update(status="lint_error", reason="lint: " + ", ".join(d.code for d in res.errors))
                continue
            try:
                sim_settings = SimSettings(**alpha.settings)
                sim_settings.check_local()
            except (SettingsError, UnsupportedLocal, TypeError) as exc:
                row.update(status="settings_error", reason=f"settings: {exc}"[:500])
                continue
            row.update(canonical=res.canonical, alpha_hash=alpha_hash(res.canonical, json_settings(sim_settings)))
            clean.append((row, res, sim_settings))
        if clean:
            with reading(self.db) as con:
                stored = kb.stored_results(con, [r["alpha_hash"] for r, _, _ in clean], self.request_id)
            for row, res, sim_settings in clean:
                self._run_one(row, res, sim_settings, stored.get(row["alpha_hash"]))
        return rows

    def _run_one(self, row: dict, res, sim_settings, stored: dict | None) -> None:
        """Reuse ``stored``, or simulate, then judge one lint-clean alpha (``row`` is updated in place)."""
        from alpha_core.gen.pipeline import sim_row
        from alpha_core.sim.simulate import simulate_one

        h = row["alpha_hash"]
        first = self.seen.get(h)
        if first is not None:
            row.update(status="duplicate", reason=f"already tried in iteration {first['iteration']} "
                                                  f"round {first['round']}")
            return
        self.seen[h] = row
        if not self.simulate:
            row.update(status="proposed")
            return
        if stored is not None:
            row.update(stored, status="reused")
        else:
            outcome = simulate_one(res, self.panel, sim_settings, self.registry)
            if outcome.result is None:
                row.update(status="sim_error", source="local", error=(outcome.error or "")[:500],
                           reason=f"simulation: {outcome.code}")
                return
            row.update(sim_row({}, outcome.result), status="simulated", source="local")
        self._judge(row, res, sim_settings)

    def _judge(self, row: dict, res, sim_settings) -> None:
        from alpha_core.gate.checklist import alpha_checklist
        from alpha_core.gate.checks import self_correlation
        from alpha_core.gate.deflated import deflated_sharpe_of
        from alpha_core.gate.factors import factor_exposure, style_library, with_factor_neutral
        from alpha_core.gate.novelty import novelty_check
        from alpha_core.gate.public import crowding, public_library
        from alpha_core.gen.pipeline import is_pnl, verdict

        pnl, dates = is_pnl(row)
        trials = self.trials      # this row included: every variant so far counts (the DSR's N)
        sharpes = [r["is_sharpe"] / math.sqrt(DAYS_PER_YEAR) for r in trials if r["is_sharpe"] is not None]
        deflated = deflated_sharpe_of(pnl, len(trials), float(np.var(sharpes))) if pnl.size and sharpes else None
        checks = alpha_checklist(
            row, sim_settings, pnl=pnl, dates=dates, program=res.program, lint_warnings=len(res.warnings),
            self_corr=self_correlation(pnl, dates, self.accepted) if pnl.size else None, limits=self.limits,
            novelty=novelty_check(self.novelty.closest(res.program), self.limits.novelty_max),
            crowding=crowding(pnl, dates, public_library(self.panel), self.limits.crowding_max)[0] if pnl.size
            else None,
            factor=factor_exposure(pnl, dates, style_library(self.panel), self.limits.factor_max) if pnl.size
            else None,
            deflated=deflated)
        if pnl.size:
            checks = with_factor_neutral(checks, res.canonical, self.panel, sim_settings)
        row["verdict"] = verdict(checks)
        row["failed_checks"] = ", ".join(c.name for c in checks if c.result == "FAIL") or None
        row["checks_json"] = json.dumps([{"name": c.name, "result": c.result, "value": c.value, "limit": c.limit,
                                          "message": c.message} for c in checks])
