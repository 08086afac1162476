"""Asset checks: the tests a user sees in the UI (ARCHITECTURE.md "Automation").

Each stage asset declares ``check_specs=specs(<table>)`` and returns ``evaluate(...)`` results with its
materialisation, computed on the partitions it just wrote. Blocking checks (all of them here, since a
duplicate key, a drifted schema, a linter that rejects proven templates, a NaN metric or a double
submission would each poison the stages after it) stop the downstream steps of the run on failure.

| check | rule |
|---|---|
| ``unique_keys`` | no key (``KEY_COLUMNS``) appears twice in the written partitions |
| ``schema`` | the live table matches its DDL exactly |
| ``lint_pass_rate`` | >= 50 % of the partition's candidates lint clean (templates should be 100 %) |
| ``finite_metrics`` | no NaN / +-inf stored in a metric column (undefined = NULL) |
| ``no_duplicate_submission`` | no alpha hash submitted twice, on any day |
| ``registry_coverage`` | every panel field is in the registry table, flagged local; >= 1 local MATRIX field |
"""
from __future__ import annotations

import dagster as dg

from alpha_core.store import reads, schema
from alpha_core.store.writes import reading, replace_partitions, writing

MIN_LINT_PASS_RATE = 0.5

_EXTRA = {
    "field_registry": ("registry_coverage",),
    "lint_results": ("lint_pass_rate",),
    "simulations": ("finite_metrics",),
    "submissions": ("no_duplicate_submission",),
}

_DESCRIPTIONS = {
    "unique_keys": "No duplicate key within the written partitions.",
    "schema": "The DuckDB table matches the DDL in alpha_core.store.schema.",
    "lint_pass_rate": f"At least {MIN_LINT_PASS_RATE:.0%} of the candidates lint clean.",
    "finite_metrics": "No NaN or infinite value stored in a metric column (undefined metrics are NULL).",
    "no_duplicate_submission": "No alpha hash is submitted twice.",
    "registry_coverage": "Every panel field is in field_registry and flagged local.",
}


def check_names(table: str) -> tuple[str, ...]:
    """Names of the checks of ``table``'s asset."""
    return ("unique_keys", "schema") + _EXTRA.get(table, ())


def specs(table: str) -> list[dg.AssetCheckSpec]:
    """The ``AssetCheckSpec`` list of the asset writing ``table`` (all blocking)."""
    return [dg.AssetCheckSpec(name, asset=table, blocking=True, description=_DESCRIPTIONS[name])
            for name in check_names(table)]


def _result(table: str, name: str, passed: bool, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=table, check_name=name, passed=bool(passed),
                               severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)


def _metric_columns(table: str) -> list[str]:
    return [c for c, kind in schema.TABLES[table] if kind == "DOUBLE"]


def evaluate(con, table: str, keys, panel_fields=None) -> list[dg.AssetCheckResult]:
    """Run every check of ``table`` on the partitions ``keys`` (None = whole table)."""
    out = []
    dup = reads.duplicate_keys(con, table, keys)
    out.append(_result(table, "unique_keys", dup == 0, duplicate_keys=dup))
    problems = schema.schema_problems(con, table)
    out.append(_result(table, "schema", not problems, problems="; ".join(problems) or "none"))
    if table == "lint_results":
        frame = reads.read_partitions(con, table, keys)
        rate = frame["ok"].mean() if frame.height else 1.0
        out.append(_result(table, "lint_pass_rate", rate >= MIN_LINT_PASS_RATE, pass_rate=float(rate),
                           rows=frame.height))
    elif table == "simulations":
        cols = _metric_columns(table)
        cond = " OR ".join(f'isnan("{c}") OR isinf("{c}")' for c in cols)
        bad = con.execute(f'SELECT count(*) FROM "{table}" WHERE {cond}').fetchone()[0]
        out.append(_result(table, "finite_metrics", bad == 0, rows_with_non_finite=int(bad)))
    elif table == "submissions":
        dups = con.execute("SELECT count(*) FROM (SELECT alpha_hash FROM submissions GROUP BY alpha_hash "
                           "HAVING count(*) > 1)").fetchone()[0] if reads.table_exists(con, table) else 0
        out.append(_result(table, "no_duplicate_submission", dups == 0, duplicated_hashes=int(dups)))
    elif table == "field_registry":
        frame = reads.read_partitions(con, table)
        local = set(frame.filter(frame["local"])["id"].to_list()) if frame.height else set()
        missing = sorted(set(panel_fields or ()) - local)
        n_matrix = frame.filter(frame["local"] & (frame["kind"] == "MATRIX")).height if frame.height else 0
        out.append(_result(table, "registry_coverage", not missing and n_matrix > 0,
                           panel_fields_missing=", ".join(missing) or "none", local_matrix_fields=n_matrix))
    return out


def write_and_check(duckdb, table: str, keys, rows, run_id: str, panel_fields=None) -> tuple[int, list]:
    """Write ``rows`` as the partitions ``keys`` of ``table`` (``replace_partitions``; DuckDB's exclusive
    file lock is held only for that transaction), then run the table's checks on those partitions through
    a read-only connection. ``duckdb``: the DuckDBResource. Returns (rows written, check results)."""
    with writing(duckdb.database) as con:
        n = replace_partitions(con, table, keys, rows, run_id=run_id)
    with reading(duckdb.database) as con:
        return n, evaluate(con, table, keys, panel_fields)
