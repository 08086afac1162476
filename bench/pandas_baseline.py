"""The pandas baseline: FASTEXPR operators and the SIMULATION.md §3 pipeline written as a quant would.

An independent implementation of the spec with pandas DataFrames (dates x tickers) and their
idiomatic tools (``rolling``, ``rank(axis=1)``, ``groupby`` over (date, group), ``shift``, ``where``),
not numpy kernels. It is the speed baseline of ``bench/run_bench.py`` and, being written from the
spec alone, a cell-by-cell cross-check of ``alpha_core.sim``.

Semantics followed (FASTEXPR.md §6-§7, SIMULATION.md §2-§5):

- strict windows: ``rolling(d)`` with its default ``min_periods=d`` is NaN when any value in the window
  is NaN or fewer than ``d`` rows exist;
- cross-sectional and group operators see their value inputs masked outside the universe (pasteurization
  ON); the row evaluated at date s uses ``U_{s+1}``, the universe it trades in (SIMULATION.md §3);
- ``rank`` = (average rank - 1) / (count - 1), 0.5 for a single valid value;
- group statistics via ``groupby([date, group])``; NaN group or NaN input -> NaN;
- every operator output maps +-inf to NaN.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

BOOK = 20_000_000.0

_NEUTRAL_GROUP = {"SECTOR": "sector", "INDUSTRY": "industry", "SUBINDUSTRY": "subindustry"}
_UNIVERSE_SIZE = {"TOP200": 200, "TOP500": 500, "TOP1000": 500, "TOP3000": 500}


def _finite(df: pd.DataFrame) -> pd.DataFrame:
    """Map +-inf to NaN (FASTEXPR.md §6)."""
    return df.replace([np.inf, -np.inf], np.nan)


def frames_from_panel(panel, names) -> dict[str, pd.DataFrame]:
    """Wrap ``panel[name]`` ((T, N) float64) as DataFrames indexed by date, columns = tickers."""
    index = pd.DatetimeIndex(panel.dates)
    cols = pd.Index(list(panel.tickers))
    return {n: pd.DataFrame(panel[n], index=index, columns=cols) for n in names}


def universe_frames(close: pd.DataFrame, volume: pd.DataFrame, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """TOPn universe (SIMULATION.md §2) -> ``(U, U_next)``, bool DataFrames.

    ``U`` row t = the universe trading on t (ranking of mean close*volume over the 20 rows ending t-1,
    NaN skipped, >= 10 valid, descending, ties by ticker); ``U_next`` row s = ``U_{s+1}``, the mask of the
    alpha row evaluated at s (data up to s only).
    """
    dollar = (close * volume).rolling(20, min_periods=10).mean()
    order = dollar.rank(axis=1, ascending=False, method="first")  # ties: column (ticker) order
    u_next = order <= size
    return u_next.shift(1, fill_value=False), u_next


class PandasOps:
    """FASTEXPR operators on DataFrames.

    ``fields``: name -> (T, N) DataFrame; ``mask``: bool DataFrame (``U_next``) applied to the value inputs
    of cross-sectional and group operators, or None for pasteurization OFF. Fields are attributes
    (``o.close``); operators are methods named as in FASTEXPR.
    """

    def __init__(self, fields: dict[str, pd.DataFrame], mask: pd.DataFrame | None):
        self.fields = fields
        self.mask = mask

    def __getattr__(self, name: str) -> pd.DataFrame:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(f"pandas baseline: no field or operator named {name!r}")

    def paste(self, x: pd.DataFrame) -> pd.DataFrame:
        """Pasteurization step 1: NaN outside the universe (no-op when OFF)."""
        return x if self.mask is None else x.where(self.mask)

    # ---- arithmetic / logical (§7.1-§7.2) ----
    def divide(self, x, y):
        return _finite(x / y)

    def log(self, x):
        return np.log(x.where(x > 0))

    def sqrt(self, x):
        return np.sqrt(x.where(x >= 0))

    def signed_power(self, x, e):
        return _finite(np.sign(x) * x.abs() ** e)

    def max(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = np.maximum(out, x)  # NaN propagates
        return out

    def min(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = np.minimum(out, x)
        return out

    @staticmethod
    def _cmp(res, *xs):
        valid = xs[0].notna() if isinstance(xs[0], pd.DataFrame) else None
        for x in xs[1:]:
            if isinstance(x, pd.DataFrame):
                valid = x.notna() if valid is None else valid & x.notna()
        return res.astype(float).where(valid)

    def greater(self, x, y):
        return self._cmp(x > y, x, y)

    def equal(self, x, y):
        return self._cmp(x == y, x, y)

    def less(self, x, y):
        return self._cmp(x < y, x, y)

    def and_(self, a, b):
        return self._cmp((a != 0) & (b != 0), a, b)

    def or_(self, a, b):
        return self._cmp((a != 0) | (b != 0), a, b)

    def if_else(self, c, a, b):
        if not isinstance(a, pd.DataFrame):
            a = pd.DataFrame(float(a), index=c.index, columns=c.columns)
        return a.where(c != 0, b).where(c.notna())

    # ---- time series (§7.3) ----
    def ts_mean(self, x, d):
        return x.rolling(d).mean()

    def ts_sum(self, x, d):
        return x.rolling(d).sum()

    def ts_std_dev(self, x, d):
        return x.rolling(d).std(ddof=0)

    def ts_min(self, x, d):
        return x.rolling(d).min()

    def ts_max(self, x, d):
        return x.rolling(d).max()

    def ts_median(self, x, d):
        return x.rolling(d).median()

    def ts_product(self, x, d):
        return x.rolling(d).apply(np.prod, raw=True)

    def ts_delta(self, x, d):
        return x.diff(d)

    def ts_delay(self, x, d):
        return x.shift(d)

    def ts_zscore(self, x, d):
        r = x.rolling(d)
        return (x - r.mean()) / r.std(ddof=0).replace(0.0, np.nan)

    def ts_ir(self, x, d):
        r = x.rolling(d)
        return r.mean() / r.std(ddof=0).replace(0.0, np.nan)

    def ts_av_diff(self, x, d):
        return x - x.rolling(d).mean()

    def ts_scale(self, x, d, constant=0.0):
        lo, hi = x.rolling(d).min(), x.rolling(d).max()
        return (x - lo) / (hi - lo).replace(0.0, np.nan) + constant

    def ts_rank(self, x, d, constant=0.0):
        if d == 1:
            return x.where(x.isna(), 0.0) + constant
        return (x.rolling(d).rank(method="average") - 1.0) / (d - 1) + constant

    def ts_arg_max(self, x, d):
        # days since the max, ties -> most recent: first argmax of the reversed window
        return x.rolling(d).apply(lambda a: np.argmax(a[::-1]), raw=True)

    def ts_arg_min(self, x, d):
        return x.rolling(d).apply(lambda a: np.argmin(a[::-1]), raw=True)

    def ts_corr(self, x, y, d):
        return _finite(x.rolling(d).corr(y))

    def ts_covariance(self, y, x, d):
        return y.rolling(d).cov(x, ddof=0)

    def ts_decay_linear(self, x, d, dense=False):
        # weights d (today) .. 1; dense=False: NaN counts as 0 and keeps its weight
        num = sum((d - k) * x.shift(k).fillna(0.0) for k in range(d))
        has = x.notna()
        if dense:
            den = sum((d - k) * has.shift(k, fill_value=False) for k in range(d))
        else:
            den = pd.DataFrame(d * (d + 1) / 2.0, index=x.index, columns=x.columns)
        n_valid = has.astype(float).rolling(d).sum()  # NaN for the first d-1 rows (< d rows)
        return (num / den).where(n_valid > 0)

    def ts_regression(self, y, x, d, rettype=0):
        mx, my = x.rolling(d).mean(), y.rolling(d).mean()
        sxx = x.rolling(d).var(ddof=0).replace(0.0, np.nan)
        slope = y.rolling(d).cov(x, ddof=0) / sxx
        intercept = my - slope * mx
        if rettype == 0:
            return y - (intercept + slope * x)
        if rettype == 1:
            return intercept
        if rettype == 2:
            return slope
        raise ValueError(f"pandas baseline: ts_regression rettype {rettype} not written")

    def ts_backfill(self, x, lookback):
        return x.ffill(limit=lookback - 1)

    def ts_count_nans(self, x, d):
        return x.isna().astype(float).rolling(d).sum()

    def ts_step(self, like):
        steps = np.arange(1, len(like.index) + 1, dtype=float)
        return pd.DataFrame({c: steps for c in like.columns}, index=like.index)

    # ---- cross-sectional (§7.4), inputs pasteurized ----
    def rank(self, x):
        x = self.paste(x)
        n = x.count(axis=1)
        r = (x.rank(axis=1, method="average") - 1.0).div(n - 1, axis=0)
        return r.mask(x.notna().mul(n == 1, axis=0), 0.5)

    def zscore(self, x):
        x = self.paste(x)
        std = x.std(axis=1, ddof=0).replace(0.0, np.nan)
        return x.sub(x.mean(axis=1), axis=0).div(std, axis=0)

    def normalize(self, x, useStd=False, limit=0.0):
        x = self.paste(x)
        out = x.sub(x.mean(axis=1), axis=0)
        if useStd:
            out = out.div(x.std(axis=1, ddof=0).replace(0.0, np.nan), axis=0)
        return out.clip(-limit, limit) if limit > 0 else out

    def scale(self, x, scale=1.0):
        x = self.paste(x)
        return x.mul(scale).div(x.abs().sum(axis=1).replace(0.0, np.nan), axis=0)

    def winsorize(self, x, std=4.0):
        x = self.paste(x)
        mu, sd = x.mean(axis=1), x.std(axis=1, ddof=0)
        return x.clip(lower=mu - std * sd, upper=mu + std * sd, axis=0)

    def quantile(self, x, sigma=1.0):
        r = self.rank(x)
        n = self.paste(x).count(axis=1)
        r2 = r.mul(1 - 2.0 / n, axis=0).add(1.0 / n, axis=0)
        return pd.DataFrame(norm.ppf(r2), index=x.index, columns=x.columns) * sigma

    def scale_down(self, x, constant=0.0):
        x = self.paste(x)
        lo, hi = x.min(axis=1), x.max(axis=1)
        return x.sub(lo, axis=0).div((hi - lo).replace(0.0, np.nan), axis=0) - constant

    # ---- group (§7.5), value inputs pasteurized ----
    def _grouped(self, x, g):
        """Long Series of x and its groupby over (date, group id); NaN group ids drop out."""
        xs = x.stack()  # pandas 3: keeps NaN cells
        gs = g.stack()
        return xs, xs.groupby([xs.index.get_level_values(0), gs])

    @staticmethod
    def _wide(long: pd.Series, like: pd.DataFrame) -> pd.DataFrame:
        return long.unstack().reindex(index=like.index, columns=like.columns)

    def group_neutralize(self, x, g):
        x = self.paste(x)
        xs, grp = self._grouped(x, g)
        return self._wide(xs - grp.transform("mean"), x)

    def group_zscore(self, x, g):
        x = self.paste(x)
        xs, grp = self._grouped(x, g)
        std = grp.transform("std", ddof=0).replace(0.0, np.nan)
        return self._wide((xs - grp.transform("mean")) / std, x)

    def group_rank(self, x, g):
        x = self.paste(x)
        xs, grp = self._grouped(x, g)
        n = grp.transform("count")
        r = (grp.rank(method="average") - 1.0) / (n - 1)
        return self._wide(r.mask(n == 1, 0.5).where(xs.notna()), x)

    def group_scale(self, x, g):
        x = self.paste(x)
        xs, grp = self._grouped(x, g)
        lo, hi = grp.transform("min"), grp.transform("max")
        return self._wide((xs - lo) / (hi - lo).replace(0.0, np.nan), x)

    def group_mean(self, x, w, g):
        x = self.paste(x)
        w = self.paste(w)
        both = x.notna() & w.notna()
        xs, grp = self._grouped((x * w).where(both), g)
        ws, wgrp = self._grouped(w.where(both), g)
        return self._wide(grp.transform("sum") / wgrp.transform("sum").replace(0.0, np.nan), x).where(x.notna())

    def group_count(self, x, g):
        x = self.paste(x)
        xs, grp = self._grouped(x, g)
        return self._wide(grp.transform("count").where(xs.notna()), x)

    # ---- transformational (§7.6) ----
    def trade_when(self, x, y, z):
        exit_ = z > 0
        enter = (x > 0) & ~exit_
        # explicit NaN outputs (exit, or entry with NaN y) must not be forward-filled over: sentinel inf
        out = y.where(enter).mask(exit_ | (enter & y.isna()), np.inf)
        return out.where(enter | exit_).ffill().replace(np.inf, np.nan)


# ---------------------------------------------------------------- simulation (SIMULATION.md §3-§5)

def _neutralize(w: pd.DataFrame, how: str, groups: dict[str, pd.DataFrame]) -> pd.DataFrame:
    if how == "NONE":
        return w
    if how == "MARKET":
        return w.sub(w.mean(axis=1), axis=0)
    g = groups[_NEUTRAL_GROUP[how]]
    ws = w.stack()
    gs = g.stack()
    mean = ws.groupby([ws.index.get_level_values(0), gs]).transform("mean")
    return (ws - mean).unstack().reindex(index=w.index, columns=w.columns)


def _scale(w: pd.DataFrame) -> pd.DataFrame:
    return w.div(w.abs().sum(axis=1).replace(0.0, np.nan), axis=0)


def simulate_pandas(alpha: pd.DataFrame, settings: dict, universe: pd.DataFrame,
                    groups: dict[str, pd.DataFrame], returns: pd.DataFrame, oos_fraction: float = 0.2) -> dict:
    """SIMULATION.md §3 steps 3-8 and the IS sharpe of §4-§5 for a raw alpha (row s = data up to s).

    ``settings``: decay, neutralization, truncation (delay 1). ``universe``: U_t (bool DataFrame).
    Returns ``{"weights", "pnl" (daily Series, USD), "sharpe" (IS), "is_start"}``.
    """
    a = alpha.shift(1)  # delay 1: A_t = row evaluated at t-1
    n = int(settings.get("decay", 0))
    if n > 0:  # step 3: linear decay, NaN terms skipped
        num = sum((n - k) * a.shift(k).fillna(0.0) for k in range(n))
        den = sum((n - k) * a.shift(k).notna() for k in range(n))
        a = num / den.replace(0, np.nan)
    how = settings.get("neutralization", "INDUSTRY")
    w = _scale(_neutralize(a.where(universe), how, groups))  # steps 4-5
    tr = float(settings.get("truncation", 0.08))
    if tr > 0:  # step 6
        for _ in range(10):
            if not (w.abs().max(axis=1) > tr + 1e-9).any():
                break
            w = _scale(_neutralize(w.clip(-tr, tr), how, groups))
    pos = w.fillna(0.0) * BOOK  # step 7
    pnl = (pos * returns.fillna(0.0)).sum(axis=1)  # step 8
    t = len(pnl)
    is_days = t - math.ceil(oos_fraction * t)
    held = (pos != 0).any(axis=1).iloc[:is_days]
    if not held.any():
        return {"weights": w, "pnl": pnl, "sharpe": float("nan"), "is_start": None}
    start = held.values.argmax()
    d = pnl.iloc[start:is_days]
    sd = d.std(ddof=0)
    sharpe = float(np.sqrt(252) * d.mean() / sd) if sd > 0 else float("nan")
    return {"weights": w, "pnl": pnl, "sharpe": sharpe, "is_start": pnl.index[start]}
