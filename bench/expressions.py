"""The fixed benchmark set: FASTEXPR alphas, each paired with the same alpha written in pandas.

Every ``Case`` holds the expression text, the simulation settings it runs with (SIMULATION.md §1 defaults
``TOP500 / delay 1 / decay 0 / INDUSTRY / truncation 0.08 / pasteurization ON`` unless overridden, so the
portfolio steps are exercised too), and ``pandas(o)``: the same alpha on ``PandasOps`` ``o`` (fields as
attributes, operators as methods, plain DataFrame arithmetic in between). Only local price/volume fields
and the sector/industry/subindustry groups are used, so every case runs on the real and synthetic panels.

Kinds: ``ts`` time series, ``cs`` cross-sectional, ``group``, ``nested`` (several families mixed),
``logic`` (conditions / trade_when).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Case:
    """One benchmark alpha: ``expr`` (FASTEXPR), ``pandas`` (PandasOps -> (T, N) DataFrame), settings overrides."""

    name: str
    kind: str
    expr: str
    pandas: Callable[..., pd.DataFrame]
    settings: dict = field(default_factory=dict)


def _c(name, kind, expr, fn, **settings) -> Case:
    return Case(name, kind, expr, fn, dict(settings))


CASES: tuple[Case, ...] = (
    # ---------------- time series
    _c("reversal5", "ts", "-ts_delta(close, 5)", lambda o: -o.close.diff(5)),
    _c("mom_skip", "ts", "ts_delay(close, 21) / ts_delay(close, 252) - 1",
       lambda o: o.divide(o.close.shift(21), o.close.shift(252)) - 1, decay=5),
    _c("ts_rank_close", "ts", "-ts_rank(close, 10)", lambda o: -o.ts_rank(o.close, 10)),
    _c("ts_zscore_ret", "ts", "-ts_zscore(returns, 20)", lambda o: -o.ts_zscore(o.returns, 20)),
    _c("vol20", "ts", "-ts_std_dev(returns, 20)", lambda o: -o.ts_std_dev(o.returns, 20), neutralization="SECTOR"),
    _c("arg_max30", "ts", "-ts_arg_max(close, 30)", lambda o: -o.ts_arg_max(o.close, 30)),
    _c("arg_spread", "ts", "ts_arg_min(low, 20) - ts_arg_max(high, 20)",
       lambda o: o.ts_arg_min(o.low, 20) - o.ts_arg_max(o.high, 20)),
    _c("corr_hv", "ts", "-ts_corr(high, volume, 10)", lambda o: -o.ts_corr(o.high, o.volume, 10)),
    _c("autocorr", "ts", "-ts_corr(returns, ts_delay(returns, 1), 20)",
       lambda o: -o.ts_corr(o.returns, o.returns.shift(1), 20)),
    _c("cov_cv", "ts", "-ts_covariance(close, volume, 5) / adv20",
       lambda o: o.divide(-o.ts_covariance(o.close, o.volume, 5), o.adv20)),
    _c("resid_trend", "ts", "-ts_regression(close, ts_step(1), 20)",
       lambda o: -o.ts_regression(o.close, o.ts_step(o.close), 20)),
    _c("beta_lag", "ts", "ts_regression(returns, ts_delay(returns, 1), 60, rettype=2)",
       lambda o: o.ts_regression(o.returns, o.returns.shift(1), 60, rettype=2), neutralization="MARKET"),
    _c("decay_ret", "ts", "-ts_decay_linear(returns, 10)", lambda o: -o.ts_decay_linear(o.returns, 10)),
    _c("decay_dense", "ts", "-ts_decay_linear(returns, 5, dense=true)",
       lambda o: -o.ts_decay_linear(o.returns, 5, dense=True)),
    _c("hi_ratio", "ts", "ts_max(high, 20) / close - 1", lambda o: o.divide(o.high.rolling(20).max(), o.close) - 1),
    _c("lo_ratio", "ts", "-(close / ts_min(low, 20) - 1)", lambda o: -(o.divide(o.close, o.low.rolling(20).min()) - 1)),
    _c("prod_ret", "ts", "-ts_product(1 + returns, 5)", lambda o: -o.ts_product(1 + o.returns, 5), decay=2),
    _c("median_ret", "ts", "-ts_median(returns, 10)", lambda o: -o.ts_median(o.returns, 10)),
    _c("ts_scale_c", "ts", "-ts_scale(close, 20)", lambda o: -o.ts_scale(o.close, 20)),
    _c("av_diff", "ts", "-ts_av_diff(close, 10) / close", lambda o: o.divide(-o.ts_av_diff(o.close, 10), o.close)),
    _c("ir_ret", "ts", "-ts_ir(returns, 20)", lambda o: -o.ts_ir(o.returns, 20)),
    _c("vol_surge", "ts", "-ts_sum(volume, 5) / ts_sum(volume, 60)",
       lambda o: o.divide(-o.volume.rolling(5).sum(), o.volume.rolling(60).sum())),
    _c("backfill", "ts", "-ts_backfill(returns, 5)", lambda o: -o.ts_backfill(o.returns, 5), truncation=0.05),
    # ---------------- cross-sectional
    _c("rank_rev", "cs", "rank(-ts_delta(close, 5))", lambda o: o.rank(-o.close.diff(5))),
    _c("zscore_mean", "cs", "-zscore(ts_mean(returns, 5))", lambda o: -o.zscore(o.returns.rolling(5).mean())),
    _c("scale_vwap", "cs", "scale(rank(vwap - close))", lambda o: o.scale(o.rank(o.vwap - o.close))),
    _c("winsor_z", "cs", "-winsorize(ts_zscore(close, 60), std=3)",
       lambda o: -o.winsorize(o.ts_zscore(o.close, 60), std=3)),
    _c("normalize_d", "cs", "-normalize(ts_delta(close, 10) / close, useStd=true)",
       lambda o: -o.normalize(o.divide(o.close.diff(10), o.close), useStd=True)),
    _c("quantile_r", "cs", "-quantile(ts_rank(returns, 10))", lambda o: -o.quantile(o.ts_rank(o.returns, 10))),
    _c("rank_close", "cs", "-rank(close)", lambda o: -o.rank(o.close), neutralization="NONE"),
    _c("rank_close_off", "cs", "-rank(close)", lambda o: -o.rank(o.close), neutralization="NONE",
       pasteurization="OFF"),
    _c("scale_down_v", "cs", "-scale_down(volume / adv20)", lambda o: -o.scale_down(o.divide(o.volume, o.adv20))),
    _c("rank_diff", "cs", "rank(ts_sum(returns, 60)) - rank(ts_sum(returns, 10))",
       lambda o: o.rank(o.returns.rolling(60).sum()) - o.rank(o.returns.rolling(10).sum())),
    # ---------------- group
    _c("gn_sector", "group", "group_neutralize(rank(-ts_delta(close, 3)), sector)",
       lambda o: o.group_neutralize(o.rank(-o.close.diff(3)), o.sector), neutralization="NONE"),
    _c("grank_ind", "group", "group_rank(ts_mean(volume, 5) / adv20, industry)",
       lambda o: o.group_rank(o.divide(o.volume.rolling(5).mean(), o.adv20), o.industry)),
    _c("gz_sub", "group", "group_zscore(-returns, subindustry)",
       lambda o: o.group_zscore(-o.returns, o.subindustry), neutralization="SUBINDUSTRY"),
    _c("gn_vol", "group", "-group_neutralize(ts_zscore(volume, 20), industry)",
       lambda o: -o.group_neutralize(o.ts_zscore(o.volume, 20), o.industry), decay=3),
    _c("gscale", "group", "-group_scale(ts_mean(returns, 10), sector)",
       lambda o: -o.group_scale(o.returns.rolling(10).mean(), o.sector)),
    _c("gmean_rel", "group", "-(returns - group_mean(returns, 1, sector))",
       lambda o: -(o.returns - o.group_mean(o.returns, o.returns * 0 + 1, o.sector)), neutralization="MARKET"),
    _c("grank_rev", "group", "group_rank(-ts_delta(close, 5) / close, sector)",
       lambda o: o.group_rank(o.divide(-o.close.diff(5), o.close), o.sector), decay=4, neutralization="SUBINDUSTRY"),
    _c("gcount", "group", "-returns * group_count(returns, industry)",
       lambda o: -o.returns * o.group_count(o.returns, o.industry)),
    # ---------------- logic / trade_when
    _c("trade_vol", "logic", "trade_when(volume > adv20, -returns, -1)",
       lambda o: o.trade_when(o.greater(o.volume, o.adv20), -o.returns, o.returns * 0 - 1)),
    _c("trade_exit", "logic", "trade_when(ts_rank(volume, 10) > 0.8, rank(-returns), abs(returns) > 0.05)",
       lambda o: o.trade_when(o.greater(o.ts_rank(o.volume, 10), 0.8), o.rank(-o.returns),
                              o.greater(o.returns.abs(), 0.05))),
    _c("if_up", "logic", "if_else(returns > 0, -ts_mean(returns, 3), rank(volume / adv20))",
       lambda o: o.if_else(o.greater(o.returns, 0), -o.returns.rolling(3).mean(), o.rank(o.divide(o.volume, o.adv20)))),
    _c("and_or", "logic", "if_else(and(returns > 0, volume > adv20), -1, 1) * rank(abs(returns))",
       lambda o: o.if_else(o.and_(o.greater(o.returns, 0), o.greater(o.volume, o.adv20)), -1.0,
                           o.returns * 0 + 1) * o.rank(o.returns.abs())),
    _c("sign_vol", "logic", "sign(ts_delta(volume, 1)) * -ts_delta(close, 1)",  # 101 alphas #12
       lambda o: np.sign(o.volume.diff(1)) * -o.close.diff(1)),
    # ---------------- nested (101-alpha style and mixtures)
    _c("a006", "nested", "-ts_corr(open, volume, 10)", lambda o: -o.ts_corr(o.open, o.volume, 10)),
    _c("a004", "nested", "-ts_rank(rank(low), 9)", lambda o: -o.ts_rank(o.rank(o.low), 9)),
    _c("a013", "nested", "-rank(ts_covariance(rank(close), rank(volume), 5))",
       lambda o: -o.rank(o.ts_covariance(o.rank(o.close), o.rank(o.volume), 5))),
    _c("a033", "nested", "rank(-(1 - open / close))", lambda o: o.rank(-(1 - o.divide(o.open, o.close)))),
    _c("a041", "nested", "sqrt(high * low) - vwap", lambda o: o.sqrt(o.high * o.low) - o.vwap),
    _c("a042", "nested", "rank(vwap - close) / rank(vwap + close)",
       lambda o: o.divide(o.rank(o.vwap - o.close), o.rank(o.vwap + o.close))),
    _c("a053", "nested", "-ts_delta(((close - low) - (high - close)) / (close - low), 9)",
       lambda o: -o.divide((o.close - o.low) - (o.high - o.close), o.close - o.low).diff(9)),
    _c("a054", "nested", "-(low - close) * signed_power(open, 5) / ((low - high) * signed_power(close, 5))",
       lambda o: o.divide(-(o.low - o.close) * o.signed_power(o.open, 5),
                          (o.low - o.high) * o.signed_power(o.close, 5))),
    _c("a101", "nested", "(close - open) / (high - low + 0.001)",
       lambda o: o.divide(o.close - o.open, o.high - o.low + 0.001)),
    _c("a026", "nested", "-ts_max(ts_corr(ts_rank(volume, 5), ts_rank(high, 5), 5), 3)",
       lambda o: -o.ts_corr(o.ts_rank(o.volume, 5), o.ts_rank(o.high, 5), 5).rolling(3).max()),
    _c("decay_rank", "nested", "rank(ts_decay_linear(vwap - close, 10))",
       lambda o: o.rank(o.ts_decay_linear(o.vwap - o.close, 10))),
    _c("corr_rank", "nested", "-rank(ts_corr(vwap, volume, 20))",
       lambda o: -o.rank(o.ts_corr(o.vwap, o.volume, 20)), decay=3, truncation=0.1),
    _c("rank_x_tsrank", "nested", "ts_rank(volume / adv20, 20) * rank(-returns)",
       lambda o: o.ts_rank(o.divide(o.volume, o.adv20), 20) * o.rank(-o.returns)),
    _c("max_wick", "nested", "-max(high - open, open - low) / close",
       lambda o: o.divide(-o.max(o.high - o.open, o.open - o.low), o.close)),
    _c("min_wick", "nested", "min(high - close, close - low) / close",
       lambda o: o.divide(o.min(o.high - o.close, o.close - o.low), o.close)),
    _c("log_volratio", "nested", "-log(volume / adv20) * rank(returns)",
       lambda o: -o.log(o.divide(o.volume, o.adv20)) * o.rank(o.returns)),
    _c("vars", "nested", "r = ts_delta(close, 5) / close; v = rank(volume / adv20); -rank(r) * v",
       lambda o: (lambda r, v: -o.rank(r) * v)(o.divide(o.close.diff(5), o.close), o.rank(o.divide(o.volume, o.adv20)))),
    _c("gz_tsz", "nested", "group_zscore(-ts_zscore(returns, 10), sector) + 0.5 * zscore(-returns)",
       lambda o: o.group_zscore(-o.ts_zscore(o.returns, 10), o.sector) + 0.5 * o.zscore(-o.returns), decay=2),
    _c("gn_decay", "nested", "group_neutralize(ts_decay_linear(rank(-returns), 5), subindustry)",
       lambda o: o.group_neutralize(o.ts_decay_linear(o.rank(-o.returns), 5), o.subindustry),
       neutralization="SECTOR"),
    _c("trade_nested", "nested", "trade_when(ts_arg_max(close, 10) == 0, -rank(ts_delta(close, 3)), -1)",
       lambda o: o.trade_when(o.equal(o.ts_arg_max(o.close, 10), 0), -o.rank(o.close.diff(3)), o.close * 0 - 1)),
    _c("regr_z", "nested", "zscore(ts_regression(returns, ts_mean(returns, 5), 40))",
       lambda o: o.zscore(o.ts_regression(o.returns, o.returns.rolling(5).mean(), 40))),
)
"""The benchmark set (at least 50 alphas)."""

# a fixed, kind-balanced subset for the (slow) pandas baseline on the large synthetic panel
LARGE_PANDAS_SUBSET: tuple[str, ...] = (
    "reversal5", "ts_zscore_ret", "corr_hv", "decay_ret", "rank_rev", "winsor_z",
    "gn_sector", "grank_ind", "trade_vol", "a013",
)

# the handful the smoke test checks (fast, one per family)
SMOKE_SUBSET: tuple[str, ...] = ("reversal5", "ts_rank_close", "rank_rev", "gn_sector", "trade_vol", "a026")


def by_name(name: str) -> Case:
    """The case called ``name``; KeyError naming the known cases otherwise."""
    for case in CASES:
        if case.name == name:
            return case
    raise KeyError(f"no benchmark case {name!r}; known: {', '.join(c.name for c in CASES)}")
