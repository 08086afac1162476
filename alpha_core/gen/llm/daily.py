"""The LLM as a source of the daily miner (issue 15 item 5).

When a model is configured (``ALPHA_LLM_MODEL``), each (date, field) search of a mining day starts from the
alphas the model proposes for that day's theme of the field, beside the template seeds: ``day_proposals`` asks
the model once (one iteration of ``loop.Research`` in its propose-only mode: contract, lint, up to two repair
rounds, nothing simulated) with a hypothesis built from the theme (field, its meaning, archetype, reason), and
returns the lint-clean (expression, settings) pairs. The search then simulates them under its own budget and
checklist like any seed (origin ``llm``). The request is stored as ``day-<date>-<field>`` in the research tables,
so running the partition again replays the stored proposals instead of asking again (same seeds, no tokens).

With no model configured, or when the day's token budget is spent or the provider fails, ``day_proposals``
returns no proposal and a note, and the other sources carry on: it never raises for the model's sake.
"""
from __future__ import annotations

import json
import logging

log = logging.getLogger("alpha_core.gen.llm")
N_ALPHAS = 3


def request_id_for(mining_date: str, field: str) -> str:
    """The research request id of the (``mining_date``, ``field``) search's proposals."""
    return f"day-{mining_date}-{field}"


def theme_hypothesis(field: str, registry, theme: dict | None) -> str:
    """The hypothesis sent for a field's theme: the field and its meaning, the theme's archetype and reason (the
    ``themes`` row; None -> none), and the rule that every alpha must use the field."""
    info = registry.get(field)
    meaning = f" ({' '.join(info.description.split())})" if info is not None and info.description else ""
    text = f"Alphas built on the data field {field}{meaning}."
    if theme:
        text += f" Today's theme for it: {theme.get('archetype') or 'any'}: {theme.get('reason') or ''}".rstrip(": ")
        text += "."
    return text + f" Every alpha must use the field {field}."


def _stored(db: str, mining_date: str, field: str) -> tuple[dict | None, list[tuple[str, dict]] | None]:
    """The field's ``themes`` row of the day (None without one) and the stored proposals of its request (None
    when the request never ran or did not end ``proposed``)."""
    from alpha_core.store import reads
    from alpha_core.store.writes import reading

    with reading(db) as con:
        themes = reads.read_partitions(con, "themes", [(mining_date, field)]).to_dicts()
        req = reads.read_partitions(con, "research_requests", [request_id_for(mining_date, field)])
        rows = reads.read_partitions(con, "research_alphas", [request_id_for(mining_date, field)])
    theme = themes[0] if themes else None
    if not req.height or req["status"][0] != "proposed":
        return theme, None
    rows = rows.filter(rows["status"] == "proposed")
    return theme, [(r["canonical"], json.loads(r["settings_json"])) for r in rows.iter_rows(named=True)]


def day_proposals(db: str, mining_date: str, field: str, panel, settings, run_id: str = ""
                  ) -> tuple[list[tuple[str, dict]], str]:
    """(proposals, note) for the (``mining_date``, ``field``) search (module doc): lint-clean ``(canonical
    expression, settings dict)`` pairs, and one line saying where they came from or why there are none. The
    hypothesis uses the field's ``themes`` row of the day in the DuckDB file ``db`` when there is one. Never
    raises for the model's sake (no model, budget, provider errors, garbage answers)."""
    from alpha_core.gen.llm.client import LLMError
    from alpha_core.gen.llm.loop import Research
    from alpha_core.sim.simulate import registry_for

    if not settings.llm_model:
        return [], "no LLM model configured (ALPHA_LLM_MODEL)"
    request_id = request_id_for(mining_date, field)
    theme, stored = _stored(db, mining_date, field)
    if stored is not None:
        return stored, f"{len(stored)} LLM proposal(s) replayed from request {request_id}"
    try:
        research = Research(db, panel, settings, theme_hypothesis(field, registry_for(panel), theme), 1,
                            request_id=request_id, run_id=run_id, n_alphas=N_ALPHAS, simulate=False)
    except LLMError as exc:
        return [], f"LLM source off: {exc}"
    out = research.run()
    if out.request["status"] != "proposed":
        log.warning("LLM source of %s %s: %s", mining_date, field, out.request["stop_reason"])
        return [], f"LLM source stopped ({out.request['status']}): {out.request['stop_reason']}"
    proposals = research.proposals()
    return proposals, f"{len(proposals)} LLM proposal(s) from request {request_id}"
