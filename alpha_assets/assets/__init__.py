"""The stage assets, one module per stage (ARCHITECTURE.md "The shape of a stage module")."""
from alpha_assets.assets.candidates import candidates
from alpha_assets.assets.checklists import checklists
from alpha_assets.assets.lint import lint_results
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.assets.registry import field_registry
from alpha_assets.assets.simulations import simulations
from alpha_assets.assets.submissions import submissions, winner_memory
from alpha_assets.assets.themes import themes

ALL_ASSETS = [field_registry, field_profiles, themes, candidates, lint_results, simulations, checklists,
              submissions, winner_memory]

__all__ = ["ALL_ASSETS", "candidates", "checklists", "field_profiles", "field_registry", "lint_results",
           "simulations", "submissions", "themes", "winner_memory"]
