"""The stage assets, one module per stage (ARCHITECTURE.md "The shape of a stage module")."""
from alpha_assets.assets.brain import brain_simulations
from alpha_assets.assets.profiles import field_profiles
from alpha_assets.assets.registry import field_registry
from alpha_assets.assets.search import search
from alpha_assets.assets.submissions import experience, submissions
from alpha_assets.assets.themes import themes

ALL_ASSETS = [field_registry, field_profiles, themes, search, brain_simulations, submissions, experience]

__all__ = ["ALL_ASSETS", "brain_simulations", "experience", "field_profiles", "field_registry", "search",
           "submissions", "themes"]
