"""IS validation: a walk-forward split of the IS daily PnL into a train part and a validation part.

A search that tries thousands of variants and keeps the best IS fitness selects luck as much as skill. So the
miner scores its alphas on the first ``1 - VALIDATION_FRACTION`` of their IS days (*train*) and counts a
winner as found only when its last ``VALIDATION_FRACTION`` of IS days (*validation*, never used by the
search's score) still earn: sharpe > ``VALIDATION_MIN_SHARPE``. Both parts are IS: the OS holdout is never
read (SIMULATION.md §4). Sharpe as SIMULATION.md §5: mean / std (ddof 0) of daily PnL x sqrt(252).
"""
from __future__ import annotations

import math

import numpy as np

VALIDATION_FRACTION = 0.25
VALIDATION_MIN_SHARPE = 0.0
MIN_DAYS = 20


def _sharpe(x: np.ndarray) -> float | None:
    if x.size < MIN_DAYS:
        return None
    sd = float(x.std())
    return None if sd == 0 or not math.isfinite(sd) else float(x.mean() / sd * math.sqrt(252))


def split_sharpe(pnl: np.ndarray, fraction: float = VALIDATION_FRACTION) -> tuple[float | None, float | None]:
    """(train sharpe, validation sharpe) of the IS daily PnL ``pnl`` (D,) USD (NaN days dropped): the last
    ``round(fraction x D)`` days are the validation part. None where a part has < 20 days or no variance."""
    p = np.asarray(pnl, dtype=np.float64)
    p = p[np.isfinite(p)]
    k = int(round(fraction * p.size))
    return _sharpe(p[: p.size - k]), _sharpe(p[p.size - k:])


def train_fitness(pnl: np.ndarray, is_returns: float | None, is_turnover: float | None,
                  fraction: float = VALIDATION_FRACTION) -> float | None:
    """BRAIN's fitness (SIMULATION.md §5: sharpe x sqrt(|returns| / max(turnover, 0.125))) on the train part of
    the IS PnL: the train sharpe, the IS returns scaled by the train part's mean daily PnL over the whole IS
    mean, the IS turnover. None when undefined."""
    p = np.asarray(pnl, dtype=np.float64)
    p = p[np.isfinite(p)]
    k = int(round(fraction * p.size))
    train = p[: p.size - k]
    sharpe = _sharpe(train)
    if sharpe is None or is_returns is None or is_turnover is None or p.mean() == 0:
        return None
    returns = float(is_returns) * float(train.mean() / p.mean())
    return sharpe * math.sqrt(abs(returns) / max(float(is_turnover), 0.125))


def validated(pnl: np.ndarray) -> bool:
    """True when the validation part of the IS PnL ``pnl`` has sharpe > ``VALIDATION_MIN_SHARPE``."""
    v = split_sharpe(pnl)[1]
    return v is not None and v > VALIDATION_MIN_SHARPE
