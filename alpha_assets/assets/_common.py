"""Shared bits of the stage assets."""

from pathlib import Path

GROUP = "mining"
POOL = "duckdb"


def artifacts_dir(duckdb) -> Path | None:
    """Folder for images beside the DuckDB file (under DAGSTER_HOME by default); None for ``:memory:``."""
    if duckdb.database == ":memory:":
        return None
    return Path(duckdb.database).resolve().parent / "artifacts"
