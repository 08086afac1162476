"""Jobs: one per partitions definition, so each run writes one kind of partition."""
from __future__ import annotations

import dagster as dg

from alpha_assets.assets import (candidates, checklists, field_profiles, field_registry, lint_results, simulations,
                                 submissions, themes, winner_memory)

registry_job = dg.define_asset_job("registry_job", selection=dg.AssetSelection.assets(field_registry),
                                   description="Refresh field_registry.")
profiles_job = dg.define_asset_job("profiles_job", selection=dg.AssetSelection.assets(field_profiles),
                                   description="Profile fields.")
themes_job = dg.define_asset_job("themes_job", selection=dg.AssetSelection.assets(themes),
                                 description="Pick the day's themes.")
mining_job = dg.define_asset_job(
    "mining_job", selection=dg.AssetSelection.assets(candidates, lint_results, simulations, checklists),
    description="candidates -> lint_results -> simulations -> checklists for (date, field).")
submit_job = dg.define_asset_job("submit_job", selection=dg.AssetSelection.assets(submissions, winner_memory),
                                 description="Dry-run submissions of the day + winner memory.")

ALL_JOBS = [registry_job, profiles_job, themes_job, mining_job, submit_job]
