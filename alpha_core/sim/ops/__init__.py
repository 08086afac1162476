"""Operator kernels of the local evaluator (FASTEXPR.md §6-§7).

``KERNELS`` maps every locally simulated operator name (lower case, as in ``operators.csv``) to a
kernel called with keyword arguments named as the catalogue parameters (variadic add/multiply/
max/min as ``kernel(*inputs, filter=...)``). Value inputs are ``(T, N)`` float64 arrays (dates
oldest first); every kernel returns a new ``(T, N)`` float64 array with ``+-inf`` mapped to NaN.
``pasteurize`` and ``ts_step`` are handled by the evaluator and have no kernel here; BRAIN-only
operators and ``vec_*`` have none either. Bad constant arguments raise ``KernelArgumentError``.
"""
from __future__ import annotations

from typing import Callable

from . import crosssection as cs
from . import elementwise as ew
from . import group as gr
from . import history as hi
from . import timeseries as ts
from . import transform as tr
from ._alloc import tune_allocator
from ._common import KernelArgumentError

tune_allocator()

KERNELS: dict[str, Callable] = {
    # arithmetic (§7.1)
    "add": ew.add, "subtract": ew.subtract, "multiply": ew.multiply, "divide": ew.divide,
    "reverse": ew.reverse, "abs": ew.abs_, "sign": ew.sign, "log": ew.log, "sqrt": ew.sqrt,
    "inverse": ew.inverse, "power": ew.power, "signed_power": ew.signed_power,
    "max": ew.max_, "min": ew.min_, "to_nan": ew.to_nan, "densify": gr.densify,
    # logical (§7.2)
    "less": ew.less, "less_equal": ew.less_equal, "greater": ew.greater,
    "greater_equal": ew.greater_equal, "equal": ew.equal, "not_equal": ew.not_equal,
    "and": ew.and_, "or": ew.or_, "not": ew.not_, "is_nan": ew.is_nan, "if_else": ew.if_else,
    # time series (§7.3)
    "ts_delay": ts.ts_delay, "ts_delta": ts.ts_delta, "ts_sum": ts.ts_sum, "ts_mean": ts.ts_mean,
    "ts_product": ts.ts_product, "ts_min": ts.ts_min, "ts_max": ts.ts_max, "ts_median": ts.ts_median,
    "ts_std_dev": ts.ts_std_dev, "ts_zscore": ts.ts_zscore, "ts_av_diff": ts.ts_av_diff,
    "ts_max_diff": ts.ts_max_diff, "ts_ir": ts.ts_ir, "ts_scale": ts.ts_scale, "ts_rank": ts.ts_rank,
    "ts_quantile": ts.ts_quantile, "ts_arg_max": ts.ts_arg_max, "ts_arg_min": ts.ts_arg_min,
    "ts_corr": ts.ts_corr, "ts_covariance": ts.ts_covariance, "ts_decay_linear": ts.ts_decay_linear,
    "ts_backfill": hi.ts_backfill, "kth_element": hi.kth_element, "ts_count_nans": ts.ts_count_nans,
    "ts_returns": ts.ts_returns, "ts_regression": ts.ts_regression, "hump": hi.hump,
    "days_from_last_change": hi.days_from_last_change, "last_diff_value": hi.last_diff_value,
    "jump_decay": ts.jump_decay,
    # cross-sectional (§7.4)
    "rank": cs.rank, "zscore": cs.zscore, "normalize": cs.normalize, "scale": cs.scale,
    "winsorize": cs.winsorize, "quantile": cs.quantile, "scale_down": cs.scale_down,
    "vector_neut": cs.vector_neut,
    # group (§7.5)
    "group_neutralize": gr.group_neutralize, "group_rank": gr.group_rank,
    "group_zscore": gr.group_zscore, "group_scale": gr.group_scale, "group_mean": gr.group_mean,
    "group_sum": gr.group_sum, "group_count": gr.group_count, "group_std_dev": gr.group_std_dev,
    "group_max": gr.group_max, "group_min": gr.group_min, "group_median": gr.group_median,
    "group_backfill": gr.group_backfill, "group_cartesian_product": gr.group_cartesian_product,
    # transformational (§7.6)
    "trade_when": hi.trade_when, "bucket": tr.bucket, "tail": ew.tail,
}

#: group statistics that take the extra ``nan_handling`` keyword (SIMULATION.md §1)
NAN_HANDLING_GROUP_OPS = frozenset(
    {"group_count", "group_sum", "group_mean", "group_max", "group_min", "group_median", "group_std_dev"})

__all__ = ["KERNELS", "NAN_HANDLING_GROUP_OPS", "KernelArgumentError"]
