"""The Dagster layer of the alpha factory: thin assets that wire alpha_core functions to DuckDB tables."""
import warnings

import dagster as dg

# `backfill_policy` is marked beta in dagster 1.13; single-run backfills are what ARCHITECTURE.md asks for.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
