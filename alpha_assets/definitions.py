"""The Dagster code location: assets, checks, jobs, schedule, sensors, resources (``dagster dev`` loads ``defs``)."""
from __future__ import annotations

import dagster as dg

from alpha_assets.assets import ALL_ASSETS
from alpha_assets.jobs import ALL_JOBS
from alpha_assets.resources import default_resources
from alpha_assets.schedules import daily_mining_schedule
from alpha_assets.sensors import daily_chain_sensor, field_partitions_sensor


def build_definitions(duckdb_path: str | None = None, data_dir: str | None = None, synthetic: str = "") -> dg.Definitions:
    """Definitions over the DuckDB file ``duckdb_path`` (default ``ALPHA_DUCKDB`` / ``$DAGSTER_HOME/alpha.duckdb``)
    and the panel in ``data_dir`` (or a synthetic ``"T,N,seed"`` panel for tests)."""
    return dg.Definitions(assets=ALL_ASSETS, jobs=ALL_JOBS, schedules=[daily_mining_schedule],
                          sensors=[field_partitions_sensor, daily_chain_sensor],
                          resources=default_resources(duckdb_path, data_dir, synthetic))


defs = build_definitions()
