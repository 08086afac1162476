"""Numba loops behind the group kernels: per date, accumulate per group id, broadcast back.

``ids`` is an int64 ``(T, N)`` array of dense group ids in ``[0, G)`` with -1 for "no group".
Per-group accumulators are sized G and reset lazily per row (a stamp array), so the cost is
O(T N) whatever G is.
"""
from __future__ import annotations

import numpy as np
from numba import njit

COUNT, SUM, MEAN, MAX, MIN, STD, NEUTRALIZE, ZSCORE, SCALE, MEDIAN = range(10)


@njit(inline="always")
def _stat_body(x, w, ids, G, mode, fill_nan_members, exclude, use_exclude):
    """Per (date, group) statistic ``mode`` of the members' non-NaN x (weights ``w`` for SUM / MEAN),
    broadcast back to the members (NEUTRALIZE / ZSCORE / SCALE: each member's own transform). ``mode`` is a
    literal in each compiled wrapper, so only the accumulators it reads are kept."""
    extremes = mode == MAX or mode == MIN or mode == STD or mode == ZSCORE or mode == SCALE
    T, N = x.shape
    out = np.full((T, N), np.nan)
    stamp = np.full(G, -1, np.int64)
    cnt = np.zeros(G, np.int64)
    s1 = np.zeros(G)
    sw = np.zeros(G)
    mx = np.zeros(G)
    mn = np.zeros(G)
    m2 = np.zeros(G)
    val = np.zeros(G)
    mean = np.zeros(G)
    start = np.zeros(G, np.int64)
    fillpos = np.zeros(G, np.int64)
    touched = np.zeros(N, np.int64)
    buf = np.zeros(N)
    for t in range(T):
        et = exclude[t if use_exclude else 0]
        m = 0
        for j in range(N):
            gi = ids[t, j]
            if gi < 0:
                continue
            if stamp[gi] != t:
                stamp[gi] = t
                touched[m] = gi
                m += 1
                cnt[gi] = 0
                s1[gi] = 0.0
                sw[gi] = 0.0
                m2[gi] = 0.0
                mx[gi] = -np.inf
                mn[gi] = np.inf
            v = x[t, j] if et[j] == 0 else np.nan
            if v != v:
                continue
            ww = w[t, j]
            if ww != ww:
                continue
            cnt[gi] += 1
            s1[gi] += ww * v
            sw[gi] += ww
            if extremes:   # selects, not branches: a new max / min is unpredictable
                a = mx[gi]
                mx[gi] = v if v > a else a
                b = mn[gi]
                mn[gi] = v if v < b else b
        if m == 0:
            continue
        if mode == STD or mode == ZSCORE:
            for a in range(m):   # each group's mean divided once, not once per member and pass
                gi = touched[a]
                if cnt[gi] > 0:
                    mean[gi] = s1[gi] / sw[gi]
            for j in range(N):
                gi = ids[t, j]
                v = x[t, j] if et[j] == 0 else np.nan
                if gi >= 0 and v == v and cnt[gi] > 0:
                    dv = v - mean[gi]
                    m2[gi] += dv * dv
        if mode == MEDIAN:
            pos = 0
            for a in range(m):
                gi = touched[a]
                start[gi] = pos
                fillpos[gi] = pos
                pos += cnt[gi]
            for j in range(N):
                gi = ids[t, j]
                v = x[t, j] if et[j] == 0 else np.nan
                if gi >= 0 and v == v:
                    buf[fillpos[gi]] = v
                    fillpos[gi] += 1
        for a in range(m):
            gi = touched[a]
            c = cnt[gi]
            r = np.nan
            if mode == COUNT:
                r = float(c)
            elif c > 0:
                if mode == SUM:
                    r = s1[gi]
                elif mode == MEAN or mode == NEUTRALIZE:
                    if sw[gi] != 0.0:
                        r = s1[gi] / sw[gi]
                elif mode == MAX:
                    r = mx[gi]
                elif mode == MIN:
                    r = mn[gi]
                elif mode == STD or mode == ZSCORE:
                    r = 0.0 if mx[gi] == mn[gi] else np.sqrt(m2[gi] / c)
                elif mode == SCALE:
                    r = mx[gi] - mn[gi]
                elif mode == MEDIAN:
                    seg = np.sort(buf[start[gi]:start[gi] + c])
                    h = c // 2
                    r = seg[h] if c % 2 == 1 else 0.5 * (seg[h - 1] + seg[h])
            val[gi] = r
        for j in range(N):
            gi = ids[t, j]
            if gi < 0:
                continue
            v = x[t, j] if et[j] == 0 else np.nan
            if v != v:
                if fill_nan_members:
                    out[t, j] = val[gi]
                continue
            if mode == NEUTRALIZE:
                out[t, j] = v - val[gi]
            elif mode == ZSCORE:
                if val[gi] > 0.0:
                    out[t, j] = (v - mean[gi]) / val[gi]
            elif mode == SCALE:
                if val[gi] > 0.0:
                    out[t, j] = (v - mn[gi]) / val[gi]
            else:
                out[t, j] = val[gi]
    return out


def _stat_kernel(mode):
    """The compiled ``_stat_body`` of one statistic: ``mode`` is a closure constant, so it folds away (numba
    caches each closure value separately)."""
    @njit(cache=True)
    def kernel(x, w, ids, G, fill, exclude, use_exclude):
        return _stat_body(x, w, ids, G, mode, fill, exclude, use_exclude)
    return kernel


_STAT_KERNELS = tuple(_stat_kernel(mode) for mode in range(MEDIAN + 1))


def group_stat(x, w, ids, G, mode, fill_nan_members, exclude, use_exclude):
    """(T, N) float64: ``_stat_body`` of C-ordered float64 (T, N) ``x`` and weights ``w``, int64 (T, N) dense
    group ``ids`` (-1 = none) of G groups, statistic ``mode`` (COUNT .. MEDIAN); ``fill_nan_members``: NaN
    members get their group's value (nan_handling ON); ``exclude``, ``use_exclude``: ``_common.exclude_bytes``
    (x read as NaN where excluded)."""
    return _STAT_KERNELS[mode](x, w, ids, G, fill_nan_members, exclude, use_exclude)


@njit(cache=True)
def group_rank(x, ids, G, order, count):
    """Average-tie rank within (date, group) / (n_g - 1); single member -> 0.5.

    ``order[t, :count[t]]`` lists row t's columns by ascending x. The sorted values, ids and columns are
    gathered into contiguous buffers first; a value without ties takes a short path.
    """
    T, N = x.shape
    out = np.full((T, N), np.nan)
    stamp = np.full(G, -1, np.int64)
    ng = np.zeros(G, np.int64)
    seen = np.zeros(G, np.int64)
    tie = np.zeros(G, np.int64)
    p0 = np.zeros(G, np.int64)
    xs = np.empty(N)
    gs = np.empty(N, np.int64)
    js = np.empty(N, np.int64)
    for t in range(T):
        n = count[t]
        xt = x[t]
        it = ids[t]
        ot = order[t]
        o = out[t]
        for i in range(n):
            j = ot[i]
            gi = it[j]
            js[i] = j
            xs[i] = xt[j]
            gs[i] = gi
            if gi < 0:
                continue
            if stamp[gi] != t:
                stamp[gi] = t
                ng[gi] = 0
                seen[gi] = 0
            ng[gi] += 1
        i = 0
        while i < n:
            v = xs[i]
            if i + 1 == n or xs[i + 1] != v:  # no tie: p0 = seen, tie = 1
                gi = gs[i]
                if gi >= 0:
                    o[js[i]] = 0.5 if ng[gi] == 1 else (seen[gi] + 0 * 0.5) / (ng[gi] - 1)
                    seen[gi] += 1
                i += 1
                continue
            k = i + 1
            while k + 1 < n and xs[k + 1] == v:
                k += 1
            for a in range(i, k + 1):
                gi = gs[a]
                if gi >= 0:
                    tie[gi] = 0
                    p0[gi] = seen[gi]
            for a in range(i, k + 1):
                gi = gs[a]
                if gi >= 0:
                    tie[gi] += 1
            for a in range(i, k + 1):
                gi = gs[a]
                if gi < 0:
                    continue
                if ng[gi] == 1:
                    o[js[a]] = 0.5
                else:
                    o[js[a]] = (p0[gi] + (tie[gi] - 1) * 0.5) / (ng[gi] - 1)
            for a in range(i, k + 1):
                gi = gs[a]
                if gi >= 0:
                    seen[gi] = p0[gi] + tie[gi]
            i = k + 1
    return out


@njit(cache=True)
def densify_rows(ids, G):
    T, N = ids.shape
    out = np.full((T, N), np.nan)
    stamp = np.full(G, -1, np.int64)
    newid = np.zeros(G)
    touched = np.zeros(N, np.int64)
    for t in range(T):
        m = 0
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0 and stamp[gi] != t:
                stamp[gi] = t
                touched[m] = gi
                m += 1
        present = np.sort(touched[:m])
        for a in range(m):
            newid[present[a]] = a
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0:
                out[t, j] = newid[gi]
    return out


@njit(cache=True)
def group_backfill(x, ids, G, d, k):
    """Where x is NaN: mean of the group's pooled valid x over the last d rows, after clipping the
    pool at mean +- k * std (ddof 0); else x."""
    T, N = x.shape
    out = x.copy()
    cnt = np.zeros(G)
    s1 = np.zeros(G)
    s2 = np.zeros(G)
    c2 = np.zeros(G)
    lo_ = np.zeros(G)
    hi_ = np.zeros(G)
    need = np.zeros(G, np.bool_)
    for t in range(T):
        anyneed = False
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0 and x[t, j] != x[t, j]:
                anyneed = True
        if not anyneed:
            continue
        lo = max(0, t - d + 1)
        for s in range(lo, t + 1):
            for j in range(N):
                gi = ids[s, j]
                if gi >= 0:
                    cnt[gi] = 0.0
                    s1[gi] = 0.0
                    s2[gi] = 0.0
                    c2[gi] = 0.0
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0:
                need[gi] = False
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0 and x[t, j] != x[t, j]:
                need[gi] = True
        for s in range(lo, t + 1):
            for j in range(N):
                gi = ids[s, j]
                v = x[s, j]
                if gi >= 0 and v == v:
                    cnt[gi] += 1.0
                    s1[gi] += v
        for s in range(lo, t + 1):
            for j in range(N):
                gi = ids[s, j]
                v = x[s, j]
                if gi >= 0 and v == v and cnt[gi] > 0:
                    dv = v - s1[gi] / cnt[gi]
                    s2[gi] += dv * dv
        for s in range(lo, t + 1):
            for j in range(N):
                gi = ids[s, j]
                if gi >= 0 and cnt[gi] > 0:
                    mu = s1[gi] / cnt[gi]
                    sd = np.sqrt(s2[gi] / cnt[gi])
                    lo_[gi] = mu - k * sd
                    hi_[gi] = mu + k * sd
        for s in range(lo, t + 1):
            for j in range(N):
                gi = ids[s, j]
                v = x[s, j]
                if gi >= 0 and v == v and need[gi]:
                    c2[gi] += min(max(v, lo_[gi]), hi_[gi])
        for j in range(N):
            gi = ids[t, j]
            if gi >= 0 and x[t, j] != x[t, j] and cnt[gi] > 0:
                out[t, j] = c2[gi] / cnt[gi]
    return out


@njit(cache=True)
def small_int_ids(g, limit):
    """ids = int(g) when every finite g is an integer in [0, limit); else ok=False."""
    T, N = g.shape
    ids = np.full((T, N), -1, np.int64)
    hi = -1
    for t in range(T):
        for j in range(N):
            v = g[t, j]
            if v != v or v == np.inf or v == -np.inf:
                continue
            if v < 0 or v >= limit or v != np.floor(v):
                return ids, 0, False
            k = np.int64(v)
            ids[t, j] = k
            if k > hi:
                hi = k
    return ids, hi + 1, True
