"""Window time-series kernels (FASTEXPR.md §7.3), per instrument over dates.

Inputs ``x``, ``y`` are ``(T, N)`` float64 arrays (dates oldest first); ``d`` is the window in
trading days including today. Strict window: the output is NaN unless ``d`` rows exist and none of
the ``d`` values is NaN (``ts_count_nans`` excepted). Outputs are new ``(T, N)`` float64 arrays
with ``+-inf`` mapped to NaN. Bad constants raise ``KernelArgumentError``.
"""
from __future__ import annotations

from typing import Any

import bottleneck as bn
import numpy as np
from scipy.special import ndtri

from . import _moments_numba as mo
from . import _ts_numba as nb
from ._common import NAN, choice, finite, flag, integer, matrix, number, same_shape, window


def _x(op: str, x: Any) -> np.ndarray:
    return np.ascontiguousarray(matrix(op, "x", x))


def _xy(op: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    a, b = _x(op, x), np.ascontiguousarray(matrix(op, "y", y))
    same_shape(op, x=a, y=b)
    return a, b


def _delay(x: np.ndarray, d: int) -> np.ndarray:
    out = np.full_like(x, NAN)
    if d < x.shape[0]:
        out[d:] = x[:-d] if d > 0 else x
    return out


def ts_delay(x: Any, d: int) -> np.ndarray:
    """x[t - d] (NaN for the first d rows)."""
    return nb.delay(_x("ts_delay", x), window("ts_delay", "d", d))


def ts_delta(x: Any, d: int) -> np.ndarray:
    """x - ts_delay(x, d)."""
    return nb.delta(_x("ts_delta", x), window("ts_delta", "d", d))


def ts_returns(x: Any, d: int, mode: int = 1) -> np.ndarray:
    """mode 1: (x - x[t-d]) / x[t-d]; mode 2: log(x / x[t-d]) (non-positive ratio -> NaN)."""
    x = _x("ts_returns", x)
    prev = _delay(x, window("ts_returns", "d", d))
    m = integer("ts_returns", "mode", mode, allowed=(1, 2))
    with np.errstate(all="ignore"):
        if m == 1:
            out = np.where(prev == 0, NAN, (x - prev) / prev)
        else:
            ratio = np.where(prev == 0, NAN, x / prev)
            out = np.log(np.where(ratio > 0, ratio, NAN))
    return finite(out)


def ts_sum(x: Any, d: int) -> np.ndarray:
    """Window sum."""
    return finite(mo.moments1(_x("ts_sum", x), window("ts_sum", "d", d), mo.SUM))


def ts_mean(x: Any, d: int) -> np.ndarray:
    """Window mean."""
    return finite(mo.moments1(_x("ts_mean", x), window("ts_mean", "d", d), mo.MEAN))


def ts_std_dev(x: Any, d: int) -> np.ndarray:
    """Population (ddof 0) window standard deviation; >= 0, exactly 0 for a constant window."""
    return finite(mo.moments1(_x("ts_std_dev", x), window("ts_std_dev", "d", d), mo.STD))


def ts_zscore(x: Any, d: int) -> np.ndarray:
    """(x - ts_mean) / ts_std_dev; std 0 -> NaN."""
    return finite(mo.moments1(_x("ts_zscore", x), window("ts_zscore", "d", d), mo.ZSCORE))


def ts_ir(x: Any, d: int) -> np.ndarray:
    """ts_mean / ts_std_dev; std 0 -> NaN."""
    return finite(mo.moments1(_x("ts_ir", x), window("ts_ir", "d", d), mo.IR))


def ts_av_diff(x: Any, d: int) -> np.ndarray:
    """x - ts_mean(x, d)."""
    return finite(mo.moments1(_x("ts_av_diff", x), window("ts_av_diff", "d", d), mo.AV_DIFF))


def ts_max(x: Any, d: int) -> np.ndarray:
    """Window maximum."""
    return finite(nb.rolling_extreme(_x("ts_max", x), window("ts_max", "d", d), True))


def ts_min(x: Any, d: int) -> np.ndarray:
    """Window minimum."""
    return finite(nb.rolling_extreme(_x("ts_min", x), window("ts_min", "d", d), False))


def ts_max_diff(x: Any, d: int) -> np.ndarray:
    """x - ts_max(x, d)."""
    x = _x("ts_max_diff", x)
    return finite(x - nb.rolling_extreme(x, window("ts_max_diff", "d", d), True))


def ts_scale(x: Any, d: int, constant: float = 0.0) -> np.ndarray:
    """(x - ts_min) / (ts_max - ts_min) + constant; max == min -> NaN."""
    x = _x("ts_scale", x)
    d = window("ts_scale", "d", d)
    c = number("ts_scale", "constant", constant)
    return nb.scale_in_range(np.ascontiguousarray(x), nb.rolling_max(x, d), nb.rolling_min(x, d), c)


def ts_median(x: Any, d: int) -> np.ndarray:
    """Window median (bottleneck move_median with min_count=d, i.e. strict)."""
    x = _x("ts_median", x)
    d = window("ts_median", "d", d)
    if d > x.shape[0]:
        return np.full_like(x, NAN)
    out = bn.move_median(x.T, d, min_count=d, axis=1).T
    return finite(np.ascontiguousarray(out))


def ts_product(x: Any, d: int) -> np.ndarray:
    """Window product."""
    with np.errstate(all="ignore"):
        return finite(nb.product_window(_x("ts_product", x), window("ts_product", "d", d)))


def ts_rank(x: Any, d: int, constant: float = 0.0) -> np.ndarray:
    """(count_lt + (count_eq - 1)/2) / (d - 1) + constant of today in the window; d = 1 -> constant."""
    c = number("ts_rank", "constant", constant)
    return finite(nb.rank_window(_x("ts_rank", x), window("ts_rank", "d", d)) + c)


def ts_quantile(x: Any, d: int, driver: str = "gaussian") -> np.ndarray:
    """r = ts_rank(x, d); r2 = 1/d + r (1 - 2/d); inverse CDF of ``driver`` at r2."""
    d = window("ts_quantile", "d", d)
    drv = choice("ts_quantile", "driver", driver, ("gaussian", "uniform", "cauchy"))
    r = nb.rank_window(_x("ts_quantile", x), d)
    r2 = 1.0 / d + r * (1.0 - 2.0 / d)
    return finite(_inverse_cdf(r2, drv, 1.0))


def _inverse_cdf(r2: np.ndarray, driver: str, sigma: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        if driver == "gaussian":
            return ndtri(r2) * sigma
        if driver == "uniform":
            return r2 * sigma
        return np.tan(np.pi * (r2 - 0.5)) * sigma


def ts_arg_max(x: Any, d: int) -> np.ndarray:
    """Days since the window maximum (0 = today; ties -> most recent)."""
    return finite(nb.arg_extreme(_x("ts_arg_max", x), window("ts_arg_max", "d", d), True))


def ts_arg_min(x: Any, d: int) -> np.ndarray:
    """Days since the window minimum (0 = today; ties -> most recent)."""
    return finite(nb.arg_extreme(_x("ts_arg_min", x), window("ts_arg_min", "d", d), False))


def ts_decay_linear(x: Any, d: int, dense: bool = False) -> np.ndarray:
    """Weights d (today) .. 1 over the window / sum of weights used; dense=false: NaN = 0 with its
    weight, dense=true: NaN skipped; all-NaN window or fewer than d rows -> NaN."""
    x = _x("ts_decay_linear", x)
    return finite(nb.decay_linear(x, window("ts_decay_linear", "d", d), flag("ts_decay_linear", "dense", dense)))


def ts_corr(x: Any, y: Any, d: int) -> np.ndarray:
    """Pearson correlation over the window; a constant window (either input) -> NaN."""
    a, b = _xy("ts_corr", x, y)
    return finite(mo.moments2(b, a, window("ts_corr", "d", d), mo.CORR))


def ts_covariance(y: Any, x: Any, d: int) -> np.ndarray:
    """Population (ddof 0) covariance over the window."""
    a, b = _xy("ts_covariance", x, y)
    return finite(mo.moments2(b, a, window("ts_covariance", "d", d), mo.COV))


def ts_regression(y: Any, x: Any, d: int, lag: int = 0, rettype: int = 0) -> np.ndarray:
    """OLS of y_t on x_{t-lag} over the window; ``rettype`` 0 residual, 1 intercept, 2 slope,
    3 fitted, 4 SSE, 5 SST, 6 R^2, 7 MSE = SSE/(d-2), 8 SE(slope), 9 SE(intercept).
    Sxx == 0 (constant x window) -> NaN for every rettype; R^2 with SST == 0 and MSE/SEs with
    d <= 2 -> NaN."""
    a, b = _xy("ts_regression", x, y)
    d = window("ts_regression", "d", d)
    lg = window("ts_regression", "lag", lag, minimum=0)
    rt = integer("ts_regression", "rettype", rettype, allowed=tuple(range(10)))
    xl = _delay(a, lg) if lg else a
    return finite(mo.moments2(b, xl, d, mo.REG + rt))


def ts_count_nans(x: Any, d: int) -> np.ndarray:
    """Number of NaN in the window; NaN only for the first d - 1 rows."""
    x = _x("ts_count_nans", x)
    d = window("ts_count_nans", "d", d)
    c = np.cumsum(np.isnan(x), axis=0, dtype=np.int64)
    out = np.full(x.shape, NAN)
    if d <= x.shape[0]:
        out[d - 1:] = c[d - 1:]
        out[d:] -= c[:-d]
    return out


def jump_decay(x: Any, d: int, sensitivity: float = 0.5, force: float = 0.1) -> np.ndarray:
    """Where |x_t - x_{t-1}| > sensitivity * ts_std_dev(x, d): x_{t-1} + (x_t - x_{t-1}) * force,
    else x. Where the jump test is undefined (std NaN) x passes through."""
    x = _x("jump_decay", x)
    d = window("jump_decay", "d", d)
    sens = number("jump_decay", "sensitivity", sensitivity)
    fo = number("jump_decay", "force", force)
    prev = _delay(x, 1)
    delta = x - prev
    sd = mo.moments1(x, d, mo.STD)
    with np.errstate(invalid="ignore"):
        jump = np.abs(delta) > sens * sd
    return finite(np.where(jump, prev + delta * fo, x))
