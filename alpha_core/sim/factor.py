"""Factor statistics of a simulated alpha (SIMULATION.md §5; the statistics quants expect beside BRAIN's).

Per day t: IC (Pearson) and rank IC (Spearman, average ties) of the traded weights of day t against day t's
returns over the instruments where both are finite, and the top-minus-bottom quintile mean return; then
their mean, IR and t-stat over a period (``factor_summary``). The kernels are numba, one pass per row.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from alpha_core.sim.metrics import DAYS_PER_YEAR, _ZERO_STD
from alpha_core.sim.ops._sortrows import _LAST, average_positions, sorted_keys_joint

MIN_CROSS_SECTION = 5      # instruments needed for a daily IC / quintile spread
QUANTILES = 5


@njit(cache=True)
def _pearson_result(sab, saa, sbb, n, ma, mb):
    # a constant row (up to rounding) has no correlation
    if saa <= 1e-24 * n * max(1.0, ma * ma) or sbb <= 1e-24 * n * max(1.0, mb * mb):
        return np.nan
    return sab / np.sqrt(saa * sbb)


@njit(cache=True, fastmath={"reassoc"})
def _masked_pearson(x, y, n):
    """Pearson correlation of (N,) x and y over the n entries where both are finite, without compacting them:
    the other entries add 0.0. Two passes (means, then centered sums) in SIMD lanes."""
    sa = 0.0
    sb = 0.0
    for i in range(x.shape[0]):
        a, b = x[i], y[i]
        ok = (a - a == 0.0) & (b - b == 0.0)
        sa += a if ok else 0.0
        sb += b if ok else 0.0
    ma = sa / n
    mb = sb / n
    sab = 0.0
    saa = 0.0
    sbb = 0.0
    for i in range(x.shape[0]):
        a, b = x[i], y[i]
        ok = (a - a == 0.0) & (b - b == 0.0)
        da = a - ma if ok else 0.0
        db = b - mb if ok else 0.0
        sab += da * db
        saa += da * da
        sbb += db * db
    return _pearson_result(sab, saa, sbb, n, ma, mb)


@njit(cache=True)
def _valid_count(x, y, valid):
    """valid[i] = x[i] and y[i] both finite; returns their number."""
    n = 0
    for i in range(x.shape[0]):
        a, b = x[i], y[i]
        ok = (a - a == 0.0) & (b - b == 0.0)
        valid[i] = ok
        n += ok
    return n


@njit(cache=True)
def _kept(keys):
    """Number of kept entries of one row of sorted packed keys (the left-out ones sort last): binary search."""
    lo, hi = 0, keys.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] == _LAST:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, inline="always")
def _member_ranks(valid, oy, ny, tptr, tlo, thi, ry):
    """Average 1-based ranks ``ry`` of one row of returns among its ``valid`` entries: position ranks along its
    full finite order ``oy`` (counting only valid entries before each; written for the others too, never
    read), then each run of equal values [tlo[g], thi[g]) for g in tptr[0]:tptr[1] gets the average rank of
    its valid members, ``0.5 * (first + last valid position) + 1``, exact (half-integers)."""
    before = 0
    for k in range(ny):
        i = oy[k]
        ry[i] = before + 1.0
        before += valid[i]
    for g in range(tptr[0], tptr[1]):
        k, e = tlo[g], thi[g]
        cnt = 0
        for q in range(k, e):
            cnt += valid[oy[q]]
        if cnt:
            r = (ry[oy[k]] - 1.0) + (cnt + 1) * 0.5
            for q in range(k, e):
                ry[oy[q]] = r


@njit(cache=True, fastmath={"reassoc"})
def _rank_sums(xt, yt, rx, ry, mr, nq, n):
    """The rank-IC sums (0-based x ranks ``rx``, 1-based y ranks ``ry``, mean rank ``mr``) and the bottom /
    top quintile sums of ``yt`` over the entries where ``xt`` and ``yt`` are both finite, branch-free in SIMD
    lanes. The rank sums are sums of quarter-integers below 2^53, exact in any order; only the return sums can
    move in the last bits.

    Quintile = floor((r - 1) * nq / n); h = (r - 1) * nq is an exact multiple of 0.5 and h / n is never
    within 1 / (2n) below an integer it does not reach, so the rounded division floors like the exact one:
    q == 0 <=> h < n, q == nq - 1 <=> h >= (nq - 1) n (no division)."""
    lo_lim = float(n)
    hi_lim = float((nq - 1) * n)
    sab = saa = sbb = s_lo = s_hi = 0.0
    for i in range(xt.shape[0]):
        a, yv = xt[i], yt[i]
        ok = (a - a == 0.0) & (yv - yv == 0.0)
        r = rx[i]                 # 0-based: rank - 1
        da = r - (mr - 1.0) if ok else 0.0
        db = ry[i] - mr if ok else 0.0
        sab += da * db
        saa += da * da
        sbb += db * db
        h = r * nq
        yv = yv if ok else 0.0
        s_lo += yv if h < lo_lim else 0.0
        s_hi += yv if h >= hi_lim else 0.0
    return sab, saa, sbb, s_lo, s_hi


@njit(cache=True, inline="always")
def _recount(c_lo, c_hi, g, k, n, nq, q_lo, q_hi):
    """Quintile counts after the tie group at 0-based positions g..k takes their mean position: its members
    leave the quintiles their positions gave them and join the one of the mean."""
    size = k - g + 1
    h = (g + k) * 0.5 * nq
    pos_lo = max(0, min(k, q_lo) - g + 1)
    pos_hi = max(0, k - max(g, q_hi) + 1)
    c_lo += (size if h < float(n) else 0) - pos_lo
    c_hi += (size if h >= float((nq - 1) * n) else 0) - pos_hi
    return c_lo, c_hi


@njit(cache=True)
def _factor_kernel(x, y, kx, bits, oy, tptr, tlo, thi, ny, ry_members, n_members, min_n, nq):
    """x, y: (T, N) float64; kx: ``sorted_keys_joint(x, y)``, the sorted keys of x over the entries where x and y
    are both finite (index width ``bits``); oy: a row-wise argsort of y (finite values first); tptr, tlo, thi,
    ny: ``_tie_runs(y, oy)``; ry_members, n_members: ``member_ranks`` of y for the row's usual valid set
    (taken when a row has exactly that many valid entries, which are then the same ones), or a (1, 1) array
    and -1s."""
    T, N = x.shape
    valid = np.zeros(N, dtype=np.bool_)
    ox = np.empty(N, dtype=np.int64)
    dup = np.empty(N + 1, dtype=np.int64)
    ties = np.empty((N, 2), dtype=np.int64)
    ic = np.full(T, np.nan)
    ric = np.full(T, np.nan)
    spread = np.full(T, np.nan)
    rx, ry_row = np.empty(N), np.empty(N)
    for t in range(T):
        xt = x[t]
        yt = y[t]
        n = _kept(kx[t])   # the entries where both are finite
        if n < min_n:
            continue
        c = _masked_pearson(xt, yt, n)
        ic[t] = c
        if c != c:
            continue
        # average 0-based ranks of x from its sorted packed keys (rx), and the tie groups among them.
        # Quintile counts: positions alone give ceil(n / nq) bottom and n - ceil((nq - 1) n / nq) top members
        # (q * nq < n, q * nq >= (nq - 1) n for 0-based positions q); each tie group corrects them
        q_lo = (n + nq - 1) // nq - 1                  # last position in the bottom quintile
        q_hi = ((nq - 1) * n + nq - 1) // nq           # first position in the top quintile
        c_lo = q_lo + 1
        c_hi = n - q_hi
        n_ties = average_positions(xt, kx[t], n, bits, 1.0, rx, ox, dup, ties)
        for g in range(n_ties):
            c_lo, c_hi = _recount(c_lo, c_hi, ties[g, 0], ties[g, 1], n, nq, q_lo, q_hi)
        # average ranks of y among the valid entries
        if n == n_members[t]:
            ry = ry_members[t]
        else:
            ry = ry_row
            _valid_count(xt, yt, valid)
            _member_ranks(valid, oy[t], ny[t], tptr[t:t + 2], tlo, thi, ry)
        # rank means are n (n + 1) / 2 / n exactly (sums of half-integers); second pass + quintiles
        mr = (0.5 * n * (n + 1)) / n
        sab, saa, sbb, s_lo, s_hi = _rank_sums(xt, yt, rx, ry, mr, nq, n)
        ric[t] = _pearson_result(sab, saa, sbb, n, mr, mr)
        if c_hi > 0 and c_lo > 0:
            spread[t] = s_hi / c_hi - s_lo / c_lo
    return ic, ric, spread


@njit(cache=True)
def _member_ranks_kernel(y, members, oy, tptr, tlo, thi, ny):
    T, N = y.shape
    ry = np.full((T, N), np.nan)
    n_members = np.zeros(T, np.int64)
    valid = np.zeros(N, dtype=np.bool_)
    for t in range(T):
        n_members[t] = _valid_count(np.where(members[t], y[t], np.nan), y[t], valid)
        _member_ranks(valid, oy[t], ny[t], tptr[t:t + 2], tlo, thi, ry[t])
    return ry, n_members


def member_ranks(returns: np.ndarray, members: np.ndarray, ranking: tuple) -> tuple[np.ndarray, np.ndarray]:
    """For ``daily_factor_series``: average 1-based ranks (T, N) of ``returns`` row t among the instruments of
    ``members`` (T, N) bool with a finite return, and their number (T,). Rows of an alpha whose valid set
    is exactly this one (the common case: the weights cover the universe) then skip ranking the returns.
    ``ranking``: ``returns_ranking(returns)``."""
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    members = np.ascontiguousarray(members, dtype=np.bool_)
    if members.shape != returns.shape:
        raise ValueError(f"members have shape {members.shape}, returns {returns.shape}")
    oy, tptr, tlo, thi, ny = ranking
    return _member_ranks_kernel(returns, members, oy, tptr, tlo, thi, ny)


@njit(cache=True)
def _tie_runs(y, oy):
    """For a row-wise ``finite_argsort`` ``oy`` of (T, N) y: the runs of equal finite values (two or more) in
    sorted order, as CSR: row t's runs are ``[tlo[g], thi[g])`` for g in ``tptr[t]:tptr[t + 1]``; and
    ``ny[t]`` = the number of finite values of row t."""
    T, N = y.shape
    tptr = np.zeros(T + 1, np.int64)
    tlo = np.empty(T * (N // 2) + 1, np.int64)
    thi = np.empty(T * (N // 2) + 1, np.int64)
    ny = np.zeros(T, np.int64)
    g = 0
    for t in range(T):
        n = 0
        for k in range(N):
            if np.isfinite(y[t, oy[t, k]]):
                n += 1
            else:
                break
        ny[t] = n
        k = 0
        while k < n:
            e = k + 1
            while e < n and y[t, oy[t, e]] == y[t, oy[t, k]]:
                e += 1
            if e - k > 1:
                tlo[g] = k
                thi[g] = e
                g += 1
            k = e
        tptr[t + 1] = g
    return tptr, tlo[:g].copy(), thi[:g].copy(), ny


def returns_ranking(returns: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(order, tptr, tlo, thi, n_finite)`` of (T, N) ``returns`` for ``daily_factor_series``: its
    ``finite_argsort`` (T, N), its runs of tied values in that order (CSR, see ``_tie_runs``), and the finite
    count (T,). Reusable across alphas on one panel."""
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    order = finite_argsort(returns)
    return (order, *_tie_runs(returns, order))


def finite_argsort(x: np.ndarray) -> np.ndarray:
    """Row-wise argsort of (T, N) ``x`` with the finite values in order (non-finite ones last, any order).

    NaN are replaced by +inf first: numpy's SIMD quicksort is ~4x slower on rows holding NaN."""
    return np.argsort(np.where(np.isfinite(x), x, np.inf), axis=1)


def daily_factor_series(alpha: np.ndarray, returns: np.ndarray, returns_order: np.ndarray | None = None,
                        max_abs: np.ndarray | None = None, members: tuple | None = None) -> dict[str, np.ndarray]:
    """(T,) daily IC, rank IC (Spearman, average ties) and top-minus-bottom quintile mean return of ``alpha``
    row t vs ``returns`` row t, over the instruments where both are finite.

    ``alpha``: (T, N) the traded row of day t (data up to t-1); ``returns``: (T, N) return of day t.
    Quintile of an instrument = floor((rank - 1) * 5 / n). Days with fewer than 5 instruments or a constant
    row are NaN. ``returns_order``: optional ``finite_argsort(returns)`` or ``returns_ranking(returns)``
    (reusable across alphas); ``max_abs``: optional (T,) max |alpha| per row, if known (the book's max weight);
    ``members``: optional ``member_ranks(returns, mask, ranking)`` for the mask that usually bounds the valid
    entries (the universe and group members), reusable across alphas. Results do not depend on these
    optional arguments.
    """
    alpha = np.ascontiguousarray(alpha, dtype=np.float64)
    returns = np.ascontiguousarray(returns, dtype=np.float64)
    if alpha.shape != returns.shape:
        raise ValueError(f"alpha has shape {alpha.shape}, returns {returns.shape}")
    if returns_order is None:
        ranking = returns_ranking(returns)
    elif isinstance(returns_order, tuple):
        ranking = returns_order
    else:
        order = np.ascontiguousarray(returns_order, dtype=np.int64)
        if order.shape != returns.shape:
            raise ValueError(f"returns order has shape {order.shape}, returns {returns.shape}")
        ranking = (order, *_tie_runs(returns, order))
    oy, tptr, tlo, thi, ny = ranking
    if oy.shape != returns.shape or tptr.shape != (returns.shape[0] + 1,) or ny.shape != returns.shape[:1]:
        raise ValueError(f"returns order has shape {oy.shape}, returns {returns.shape}")
    # one packed-key sort of alpha over the jointly finite entries (exact order; see ops._sortrows)
    kx, bits = sorted_keys_joint(alpha, returns, max_abs)
    if members is None:
        ry_members, n_members = np.full((1, 1), np.nan), np.full(returns.shape[0], -1, np.int64)
    else:
        ry_members, n_members = members
        if ry_members.shape != returns.shape or n_members.shape != returns.shape[:1]:
            raise ValueError(f"member ranks have shape {ry_members.shape}, returns {returns.shape}")
    ic, ric, spread = _factor_kernel(alpha, returns, kx, bits, oy, tptr, tlo, thi, ny, ry_members, n_members,
                                     MIN_CROSS_SECTION, QUANTILES)
    return {"ic": ic, "rankIc": ric, "spread": spread}


@njit(cache=True)
def _finite_stats(v):
    """(count, mean, std with ddof 0, max |v|) of the finite values of (n,) v; mean and std 0.0 when none."""
    n = 0
    total = 0.0
    top = 0.0
    for x in v:
        if np.isfinite(x):
            n += 1
            total += x
            top = max(top, abs(x))
    if n == 0:
        return 0, 0.0, 0.0, 0.0
    mean = total / n
    ss = 0.0
    for x in v:
        if np.isfinite(x):
            ss += (x - mean) * (x - mean)
    return n, mean, np.sqrt(ss / n), top


def factor_summary(daily: dict[str, np.ndarray], sl) -> dict:
    """Mean, IR (``mean / std * sqrt(252)``, ddof 0) and t-stat of IC and rank IC over rows ``sl``, and the
    annualised quantile spread (mean daily top-minus-bottom quintile return x 252), over the days where
    each is defined. None when undefined."""
    out: dict = {}
    for key in ("ic", "rankIc"):
        n, mean, std, top = _finite_stats(np.ascontiguousarray(daily[key][sl]))
        if n < 2 or std <= _ZERO_STD * top:
            std = 0.0
        out[f"{key}Mean"] = float(mean) if n else None
        out[f"{key}IR"] = float(mean / std * np.sqrt(DAYS_PER_YEAR)) if std > 0 else None
        out[f"{key}TStat"] = float(mean / std * np.sqrt(n)) if std > 0 else None
    n, mean, _, _ = _finite_stats(np.ascontiguousarray(daily["spread"][sl]))
    out["quantileSpread"] = float(mean * DAYS_PER_YEAR) if n else None
    out["days"] = int(n)
    return out
