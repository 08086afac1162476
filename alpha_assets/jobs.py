"""Jobs: one per partitions definition, so each run writes one kind of partition."""
from __future__ import annotations

import dagster as dg

from alpha_assets.assets import (brain_simulations, experience, field_profiles, field_registry, search, submissions,
                                 themes)
from alpha_assets.research import research_job

registry_job = dg.define_asset_job("registry_job", selection=dg.AssetSelection.assets(field_registry),
                                   description="Refresh field_registry.")
profiles_job = dg.define_asset_job("profiles_job", selection=dg.AssetSelection.assets(field_profiles),
                                   description="Profile fields.")
themes_job = dg.define_asset_job("themes_job", selection=dg.AssetSelection.assets(themes),
                                 description="Pick the day's themes.")
mining_job = dg.define_asset_job(
    "mining_job", selection=dg.AssetSelection.assets(search),
    description="The (date, field) search: candidates, lint_results, simulations, checklists in one step.")
submit_job = dg.define_asset_job(
    "submit_job", selection=dg.AssetSelection.assets(brain_simulations, submissions, experience),
    description="The day's winners on BRAIN (when ALPHA_BRAIN_ENABLED), the day's gate and submissions (dry run "
                "unless ALPHA_SUBMIT_LIVE) + the experience memory.")

ALL_JOBS = [registry_job, profiles_job, themes_job, mining_job, submit_job, research_job]
