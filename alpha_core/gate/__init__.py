"""Acceptance gate: pre-submission checks, self-correlation, fitness labels (SIMULATION.md §6-§8)."""
from alpha_core.gate.checks import (Check, SelfCorrelation, all_passed, fitness_label, self_correlation,
                                    sub_universe_limit, submission_checks)

__all__ = ["Check", "SelfCorrelation", "all_passed", "fitness_label", "self_correlation", "sub_universe_limit",
           "submission_checks"]
