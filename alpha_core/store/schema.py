"""DuckDB schema of every stage table (ARCHITECTURE.md "Stages (assets) and their tables").

Each table carries its partition columns (``mining_date`` DATE and/or ``field`` VARCHAR) and ``run_id``
(the Dagster run that wrote the row). ``TABLES[name]`` lists ``(column, duckdb_type)`` in order;
``PARTITION_COLUMNS[name]`` the slice a write replaces; ``KEY_COLUMNS[name]`` the columns unique within a
partition (checked by the ``unique keys`` asset checks). ``themes`` is written per (mining_date, field),
although its Dagster partition is the day: a run replaces only the fields it picked, so concurrent runs of
one day with different ``--fields`` keep each other's rows. The LLM research tables (``RESEARCH_TABLES``)
are partitioned by ``request_id`` instead: a research run rewrites only its own request's rows.
"""
from __future__ import annotations

TABLES: dict[str, list[tuple[str, str]]] = {
    "field_registry": [
        ("id", "VARCHAR"), ("dataset", "VARCHAR"), ("category", "VARCHAR"), ("kind", "VARCHAR"),
        ("description", "VARCHAR"), ("region", "VARCHAR"), ("delay", "INTEGER"), ("coverage", "DOUBLE"),
        ("user_count", "BIGINT"), ("alpha_count", "BIGINT"), ("local_source", "VARCHAR"), ("local", "BOOLEAN"),
        ("run_id", "VARCHAR"),
    ],
    "field_profiles": [
        ("field", "VARCHAR"), ("panel_label", "VARCHAR"), ("n_dates", "INTEGER"), ("n_tickers", "INTEGER"),
        ("coverage", "DOUBLE"), ("autocorr1", "DOUBLE"), ("ic_mean", "DOUBLE"), ("ic_std", "DOUBLE"),
        ("ic_ir", "DOUBLE"), ("ic_days", "INTEGER"), ("run_id", "VARCHAR"),
    ],
    "themes": [
        ("mining_date", "DATE"), ("rank", "INTEGER"), ("field", "VARCHAR"), ("archetype", "VARCHAR"),
        ("reason", "VARCHAR"), ("priority", "DOUBLE"), ("run_id", "VARCHAR"),
    ],
    "candidates": [
        ("mining_date", "DATE"), ("field", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("expression", "VARCHAR"),
        ("settings_json", "VARCHAR"), ("origin", "VARCHAR"), ("parent_hash", "VARCHAR"),
        ("template", "VARCHAR"), ("archetype", "VARCHAR"), ("generation", "INTEGER"), ("score", "DOUBLE"),
        ("parent_score", "DOUBLE"), ("independent", "BOOLEAN"), ("run_id", "VARCHAR"),
    ],
    "search_progress": [
        ("mining_date", "DATE"), ("field", "VARCHAR"), ("generation", "INTEGER"), ("evaluated", "INTEGER"),
        ("simulated", "INTEGER"), ("replayed", "INTEGER"), ("reused", "INTEGER"), ("best_score", "DOUBLE"),
        ("best_is_fitness", "DOUBLE"), ("passes", "INTEGER"), ("independent_passes", "INTEGER"),
        ("diversity", "DOUBLE"), ("elapsed_s", "DOUBLE"), ("stop_reason", "VARCHAR"), ("run_id", "VARCHAR"),
    ],
    "lint_results": [
        ("mining_date", "DATE"), ("field", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("ok", "BOOLEAN"),
        ("canonical", "VARCHAR"), ("n_errors", "INTEGER"), ("n_warnings", "INTEGER"), ("codes", "VARCHAR"),
        ("diagnostics_json", "VARCHAR"), ("run_id", "VARCHAR"),
    ],
    "simulations": [
        ("mining_date", "DATE"), ("field", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("source", "VARCHAR"),
        ("status", "VARCHAR"), ("error", "VARCHAR"),
        ("is_sharpe", "DOUBLE"), ("is_fitness", "DOUBLE"), ("is_turnover", "DOUBLE"), ("is_returns", "DOUBLE"),
        ("is_drawdown", "DOUBLE"), ("is_margin", "DOUBLE"), ("is_pnl", "DOUBLE"), ("is_long_count", "DOUBLE"),
        ("is_short_count", "DOUBLE"), ("is_max_weight", "DOUBLE"), ("is_sub_universe_sharpe", "DOUBLE"),
        ("os_sharpe", "DOUBLE"), ("os_returns", "DOUBLE"), ("os_turnover", "DOUBLE"), ("os_fitness", "DOUBLE"),
        ("is_start", "DATE"), ("is_end", "DATE"), ("result_json", "VARCHAR"),
        ("pnl_dates", "DATE[]"), ("daily_pnl", "DOUBLE[]"), ("run_id", "VARCHAR"),
        ("is_min_coverage", "DOUBLE"),
    ],
    "checklists": [
        ("mining_date", "DATE"), ("field", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("check_name", "VARCHAR"),
        ("result", "VARCHAR"), ("value", "DOUBLE"), ("limit_value", "DOUBLE"), ("verdict", "VARCHAR"),
        ("run_id", "VARCHAR"), ("message", "VARCHAR"),
    ],
    "gate_checks": [
        ("mining_date", "DATE"), ("alpha_hash", "VARCHAR"), ("check_name", "VARCHAR"), ("result", "VARCHAR"),
        ("value", "DOUBLE"), ("limit_value", "DOUBLE"), ("message", "VARCHAR"), ("run_id", "VARCHAR"),
    ],
    "submission_order": [
        ("mining_date", "DATE"), ("rank", "INTEGER"), ("alpha_hash", "VARCHAR"), ("field", "VARCHAR"),
        ("expression", "VARCHAR"), ("settings_json", "VARCHAR"), ("deflated_sharpe", "DOUBLE"),
        ("is_sharpe", "DOUBLE"), ("is_fitness", "DOUBLE"), ("os_sharpe", "DOUBLE"), ("n_trials", "INTEGER"),
        ("decision", "VARCHAR"), ("reason", "VARCHAR"), ("run_id", "VARCHAR"),
    ],
    "submissions": [
        ("mining_date", "DATE"), ("alpha_hash", "VARCHAR"), ("field", "VARCHAR"), ("expression", "VARCHAR"),
        ("settings_json", "VARCHAR"), ("mode", "VARCHAR"), ("brain_alpha_id", "VARCHAR"), ("status", "VARCHAR"),
        ("message", "VARCHAR"), ("is_sharpe", "DOUBLE"), ("is_fitness", "DOUBLE"), ("max_self_corr", "DOUBLE"),
        ("submitted_at", "TIMESTAMP"), ("run_id", "VARCHAR"),
    ],
    "brain_simulations": [
        ("mining_date", "DATE"), ("alpha_hash", "VARCHAR"), ("field", "VARCHAR"), ("expression", "VARCHAR"),
        ("status", "VARCHAR"), ("brain_alpha_id", "VARCHAR"), ("message", "VARCHAR"), ("posted", "BOOLEAN"),
        ("local_sharpe", "DOUBLE"), ("brain_sharpe", "DOUBLE"), ("local_fitness", "DOUBLE"),
        ("brain_fitness", "DOUBLE"), ("local_turnover", "DOUBLE"), ("brain_turnover", "DOUBLE"),
        ("local_verdict", "VARCHAR"), ("brain_verdict", "VARCHAR"), ("brain_checks_json", "VARCHAR"),
        ("run_id", "VARCHAR"),
    ],
    "experience": [
        ("field", "VARCHAR"), ("family", "VARCHAR"), ("pattern", "VARCHAR"), ("settings_key", "VARCHAR"),
        ("n_trials", "INTEGER"), ("n_ok", "INTEGER"), ("n_winners", "INTEGER"), ("n_near_miss", "INTEGER"),
        ("n_independent", "INTEGER"), ("best_fitness", "DOUBLE"), ("mean_fitness", "DOUBLE"),
        ("top_failed_check", "VARCHAR"), ("first_mining_date", "DATE"), ("last_mining_date", "DATE"),
        ("run_id", "VARCHAR"),
    ],
    # LLM research (alpha research, alpha_core.gen.llm): one partition per request
    "research_requests": [
        ("request_id", "VARCHAR"), ("hypothesis", "VARCHAR"), ("model", "VARCHAR"), ("iterations", "INTEGER"),
        ("status", "VARCHAR"), ("stop_reason", "VARCHAR"), ("best_alpha_hash", "VARCHAR"), ("n_trials", "INTEGER"),
        ("n_calls", "INTEGER"), ("prompt_tokens", "BIGINT"), ("completion_tokens", "BIGINT"), ("cost_usd", "DOUBLE"),
        ("created_at", "TIMESTAMP"), ("finished_at", "TIMESTAMP"), ("run_id", "VARCHAR"),
    ],
    "research_iterations": [
        ("request_id", "VARCHAR"), ("iteration", "INTEGER"), ("round", "INTEGER"), ("call_no", "INTEGER"),
        ("answer_status", "VARCHAR"), ("reason", "VARCHAR"), ("model_hypothesis", "VARCHAR"), ("answer", "VARCHAR"),
        ("n_alphas", "INTEGER"), ("n_simulated", "INTEGER"), ("n_winners", "INTEGER"), ("feedback", "VARCHAR"),
        ("run_id", "VARCHAR"),
    ],
    "research_alphas": [
        ("request_id", "VARCHAR"), ("iteration", "INTEGER"), ("round", "INTEGER"), ("position", "INTEGER"),
        ("expression", "VARCHAR"), ("canonical", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("settings_json", "VARCHAR"),
        ("rationale", "VARCHAR"), ("status", "VARCHAR"), ("reason", "VARCHAR"), ("diagnostics_json", "VARCHAR"),
        ("source", "VARCHAR"), ("error", "VARCHAR"),
        ("is_sharpe", "DOUBLE"), ("is_fitness", "DOUBLE"), ("is_turnover", "DOUBLE"), ("is_returns", "DOUBLE"),
        ("is_drawdown", "DOUBLE"), ("is_margin", "DOUBLE"), ("is_pnl", "DOUBLE"), ("is_long_count", "DOUBLE"),
        ("is_short_count", "DOUBLE"), ("is_max_weight", "DOUBLE"), ("is_sub_universe_sharpe", "DOUBLE"),
        ("os_sharpe", "DOUBLE"), ("os_returns", "DOUBLE"), ("os_turnover", "DOUBLE"), ("os_fitness", "DOUBLE"),
        ("is_start", "DATE"), ("is_end", "DATE"), ("result_json", "VARCHAR"),
        ("pnl_dates", "DATE[]"), ("daily_pnl", "DOUBLE[]"), ("is_min_coverage", "DOUBLE"),
        ("verdict", "VARCHAR"), ("failed_checks", "VARCHAR"), ("checks_json", "VARCHAR"), ("run_id", "VARCHAR"),
    ],
    "llm_calls": [
        ("request_id", "VARCHAR"), ("call_no", "INTEGER"), ("iteration", "INTEGER"), ("round", "INTEGER"),
        ("attempt", "INTEGER"), ("model", "VARCHAR"), ("called_at", "TIMESTAMP"), ("status", "VARCHAR"),
        ("error", "VARCHAR"), ("prompt_tokens", "BIGINT"), ("completion_tokens", "BIGINT"),
        ("total_tokens", "BIGINT"), ("cost_usd", "DOUBLE"), ("latency_s", "DOUBLE"), ("run_id", "VARCHAR"),
    ],
    "research_lessons": [
        ("request_id", "VARCHAR"), ("lesson_no", "INTEGER"), ("kind", "VARCHAR"), ("hypothesis", "VARCHAR"),
        ("keywords", "VARCHAR"), ("lesson", "VARCHAR"), ("alpha_hash", "VARCHAR"), ("failed_checks", "VARCHAR"),
        ("is_fitness", "DOUBLE"), ("created_at", "TIMESTAMP"), ("run_id", "VARCHAR"),
    ],
}

#: the tables of LLM research requests: written by ``research_job`` only, never by a mining day
RESEARCH_TABLES = ("research_requests", "research_iterations", "research_alphas", "llm_calls", "research_lessons")

PARTITION_COLUMNS: dict[str, tuple[str, ...]] = {
    "field_registry": (),
    "field_profiles": ("field",),
    "themes": ("mining_date", "field"),
    "candidates": ("mining_date", "field"),
    "search_progress": ("mining_date", "field"),
    "lint_results": ("mining_date", "field"),
    "simulations": ("mining_date", "field"),
    "checklists": ("mining_date", "field"),
    "submissions": ("mining_date",),
    "brain_simulations": ("mining_date",),
    "gate_checks": ("mining_date",),
    "submission_order": ("mining_date",),
    "experience": (),
    "research_requests": ("request_id",),
    "research_iterations": ("request_id",),
    "research_alphas": ("request_id",),
    "llm_calls": ("request_id",),
    "research_lessons": ("request_id",),
}

KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "field_registry": ("id",),
    "field_profiles": ("field",),
    "themes": ("mining_date", "field"),
    "candidates": ("mining_date", "field", "alpha_hash"),
    "search_progress": ("mining_date", "field", "generation"),
    "lint_results": ("mining_date", "field", "alpha_hash"),
    "simulations": ("mining_date", "field", "alpha_hash"),
    "checklists": ("mining_date", "field", "alpha_hash", "check_name"),
    "submissions": ("mining_date", "alpha_hash"),
    "brain_simulations": ("mining_date", "alpha_hash"),
    "gate_checks": ("mining_date", "alpha_hash", "check_name"),
    "submission_order": ("mining_date", "alpha_hash"),
    "experience": ("field", "family", "pattern", "settings_key"),
    "research_requests": ("request_id",),
    "research_iterations": ("request_id", "iteration", "round"),
    "research_alphas": ("request_id", "iteration", "round", "position"),
    "llm_calls": ("request_id", "call_no"),
    "research_lessons": ("request_id", "lesson_no"),
}

#: Columns that legitimately differ between two runs writing the same partition.
VOLATILE_COLUMNS = ("run_id", "submitted_at", "elapsed_s", "simulated", "replayed")


def columns(table: str) -> list[str]:
    """Column names of ``table`` in DDL order. Raises KeyError naming the unknown table."""
    if table not in TABLES:
        raise KeyError(f"unknown table {table!r}; known: {sorted(TABLES)}")
    return [name for name, _ in TABLES[table]]


def ddl(table: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement of ``table``."""
    cols = ", ".join(f'"{name}" {kind}' for name, kind in TABLES[table])
    return f'CREATE TABLE IF NOT EXISTS "{table}" ({cols})'


def ensure_schema(con, tables=None) -> None:
    """Create every table (or those named in ``tables``) that does not exist yet, and add the columns a newer
    schema appended to an existing one (``ALTER TABLE ... ADD COLUMN``: a DuckDB file written by
    an older version keeps its rows; the new columns are NULL there). Idempotent."""
    names = list(tables or TABLES)
    live: dict[str, set[str]] = {}
    sql = ("SELECT table_name, column_name FROM information_schema.columns WHERE table_catalog = current_database() "
           "AND table_schema = current_schema()")
    for table, col in con.execute(sql).fetchall():
        live.setdefault(table, set()).add(col)
    for name in names:
        if name not in live:
            con.execute(ddl(name))
            continue
        for col, kind in TABLES[name]:
            if col not in live[name]:
                con.execute(f'ALTER TABLE "{name}" ADD COLUMN "{col}" {kind}')


def schema_problems(con, table: str) -> list[str]:
    """Differences between the live table and its DDL: missing table, missing/extra columns, type mismatches.

    Returns an empty list when the table matches ``TABLES[table]`` exactly.
    """
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position", [table]).fetchall()
    if not rows:
        return [f"table {table} does not exist"]
    live = {name: kind.upper() for name, kind in rows}
    want = dict(TABLES[table])
    problems = [f"{table}.{c} missing" for c in want if c not in live]
    problems += [f"{table}.{c} not in the schema" for c in live if c not in want]
    problems += [f"{table}.{c} is {live[c]}, expected {want[c]}" for c in want
                 if c in live and live[c] != want[c].upper()]
    return problems
