"""Acceptance gate: pre-submission checks, self-correlation, fitness labels (SIMULATION.md §6-§8).

Modules (imported by name, not re-exported, so the simulator's import of ``checks`` stays light):
``checks`` (BRAIN's checks, self-correlation), ``checklist`` (the 17-check alpha checklist), ``correlation``
(matrix self-correlation, independent set), ``deflated`` (§11), ``stability`` (walk-forward split inside IS),
``novelty`` (shared sub-trees), ``public`` (public alphas, CROWDING), ``lookahead`` (NO_LOOKAHEAD),
``order`` (the day's gate and submission order).
"""
from alpha_core.gate.checks import (Check, SelfCorrelation, all_passed, fitness_label, self_correlation,
                                    sub_universe_limit, submission_checks)

__all__ = ["Check", "SelfCorrelation", "all_passed", "fitness_label", "self_correlation", "sub_universe_limit",
           "submission_checks"]
