"""Deflated sharpe ratio (SIMULATION.md §11; Bailey and Lopez de Prado 2014, "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality", J. Portfolio Management 40(5)).

The probability that an alpha's sharpe is above what the best of N unskilled trials would show by luck. Every
quantity is per day (not annualised). N is what the miner actually simulated (stored ``simulations`` rows), made
effective for correlated trials with ``N_eff = N (1 - rho) + rho`` (rho: their mean pairwise daily-PnL
correlation, §11).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329
DSR_LIMIT = 0.95


@dataclass(frozen=True)
class Deflated:
    """``dsr`` probability (0..1), ``sr`` the daily sharpe, ``sr0`` the expected best daily sharpe of ``n_trials``
    unskilled trials, ``sigma`` the standard error of ``sr``, ``days`` T."""

    dsr: float
    sr: float
    sr0: float
    sigma: float
    n_trials: float
    days: int


def expected_max_sharpe(n_trials: float, variance: float) -> float:
    """SR0 of §11: the expected maximum daily sharpe of ``n_trials`` (>= 1, may be fractional: an effective
    count) unskilled trials whose daily sharpes have variance ``variance``. 0 when ``n_trials`` <= 1.
    Raises ValueError on a negative variance."""
    if variance < 0 or not math.isfinite(variance):
        raise ValueError(f"expected_max_sharpe: variance must be finite and >= 0, got {variance}")
    n = float(n_trials)
    if n <= 1:
        return 0.0
    return math.sqrt(variance) * ((1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
                                  + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * math.e)))


def deflated_sharpe(sr: float, days: int, skew: float, kurtosis: float, n_trials: float,
                    variance: float) -> Deflated:
    """DSR of §11 from moments: ``sr`` daily sharpe, ``days`` T (> 1), ``skew`` g3, ``kurtosis`` g4 (raw: 3 for a
    normal series), ``n_trials`` N (effective), ``variance`` V of the trials' daily sharpes.
    Raises ValueError when T < 2 or the variance term is not positive (say what)."""
    if days < 2:
        raise ValueError(f"deflated_sharpe: needs at least 2 days, got {days}")
    sr0 = expected_max_sharpe(n_trials, variance)
    term = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    if not term > 0:
        raise ValueError(f"deflated_sharpe: 1 - g3*SR + (g4-1)/4*SR^2 = {term} is not positive "
                         f"(SR {sr}, g3 {skew}, g4 {kurtosis})")
    sigma = math.sqrt(term / (days - 1))
    return Deflated(float(stats.norm.cdf((sr - sr0) / sigma)), float(sr), float(sr0), float(sigma),
                    float(n_trials), int(days))


def deflated_sharpe_of(pnl: np.ndarray, n_trials: float, variance: float) -> Deflated | None:
    """DSR of the IS daily PnL ``pnl`` (D,) USD (NaN days dropped; ddof 0 as SIMULATION.md §5). None when fewer
    than 2 days or a constant series."""
    p = np.asarray(pnl, dtype=np.float64)
    p = p[np.isfinite(p)]
    if p.size < 2:
        return None
    sd = float(p.std())
    if sd == 0 or not math.isfinite(sd):
        return None
    sr = float(p.mean()) / sd
    skew = float(stats.skew(p))
    kurt = float(stats.kurtosis(p, fisher=False))
    try:
        return deflated_sharpe(sr, int(p.size), skew, kurt, n_trials, variance)
    except ValueError:
        return None


def effective_trials(n_trials: int, mean_correlation: float | None) -> float:
    """``N (1 - rho) + rho`` (§11), rho clipped to [0, 1]; ``N`` when rho is unknown. Raises ValueError when
    ``n_trials`` < 0."""
    if n_trials < 0:
        raise ValueError(f"effective_trials: n_trials must be >= 0, got {n_trials}")
    if mean_correlation is None or not math.isfinite(mean_correlation):
        return float(n_trials)
    rho = min(1.0, max(0.0, float(mean_correlation)))
    return float(n_trials) * (1 - rho) + rho


def mean_pairwise_correlation(pnl: np.ndarray, min_days: int = 30) -> float | None:
    """Mean off-diagonal Pearson correlation of the rows of ``pnl`` (K, D) USD, each pair over the days where
    both are finite (``gate.correlation.correlation_matrix``); None with fewer than 2 usable rows."""
    from alpha_core.gate.correlation import correlation_matrix

    m = np.asarray(pnl, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2:
        return None
    c = correlation_matrix(m, m, min_days)
    off = c[~np.eye(c.shape[0], dtype=bool)]
    off = off[np.isfinite(off)]
    return float(off.mean()) if off.size else None
