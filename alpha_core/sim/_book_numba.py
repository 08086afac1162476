"""Numba row kernels behind ``portfolio`` and ``metrics``: decay, neutralization, scaling, truncation and the
daily book series (SIMULATION.md §3 steps 3-8).

Everything works one row (trading day) at a time on (T, N) float64 arrays, with dense int64 group codes
(-1 = no group) and zeroed per-group scratch arrays. The steps are fused so that each row is read a few times
while it is in cache. The weights follow the step-by-step reference (``tests/core/sim/test_fast_paths.py``)
operation for operation, so they are bit-identical to it; the daily PnL and dollars traded are summed in
SIMD lanes and may differ from a left-to-right sum in the last bits (docs/DESIGN.md "Speed").
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def count_huge(bits, min_exponent):
    """How many entries of (n,) int64 ``bits`` (a float64 array's bits) are finite with a biased binary exponent
    >= ``min_exponent`` (|x| >= 2**(min_exponent - 1023)): integer compares only, so it vectorises (~0.07 ms
    on the real panel's 636k cells)."""
    n = 0
    for i in range(bits.shape[0]):
        e = (bits[i] >> 52) & 0x7FF
        n += (e >= min_exponent) & (e < 0x7FF)
    return n


@njit(cache=True)
def decay_kernel(a, n):
    """Step 3 on (T, N) ``a``: ``sum_k (n - k) a_{t-k} / sum of the weights of the non-NaN terms``."""
    T, N = a.shape
    out = np.empty((T, N))
    num = np.empty(N)
    den = np.empty(N)
    for t in range(T):
        num[:] = 0.0
        den[:] = 0.0
        for k in range(min(n, t + 1)):
            wk = float(n - k)
            for i in range(N):
                v = a[t - k, i]
                if v == v:
                    num[i] += wk * v
                    den[i] += wk
        for i in range(N):
            out[t, i] = num[i] / den[i] if den[i] > 0 else np.nan
    return out


@njit(cache=True)
def zero_groups(codes, sums, counts):
    """Reset the group scratch arrays touched by ``codes`` (all of them when G <= N)."""
    N = codes.shape[0]
    if sums.shape[0] <= N:
        sums[:] = 0.0
        counts[:] = 0
    else:
        for i in range(N):
            c = codes[i]
            if c >= 0:
                sums[c] = 0.0
                counts[c] = 0


@njit(cache=True, inline="always")
def group_sums(src, codes, sums, counts):
    """Add each grouped non-NaN value of (N,) ``src`` (group ``codes[i] >= 0``) into ``sums``/``counts``;
    returns their max |value| (0.0 for none)."""
    m = 0.0
    for i in range(src.shape[0]):
        c, v = codes[i], src[i]
        if c >= 0 and v == v:
            sums[c] += v
            counts[c] += 1
            if abs(v) > m:
                m = abs(v)
    return m


@njit(inline="always")
def masked_group_sums(src, keep, sign, row, codes, sums, counts, single):
    """``row`` = ``sign * src`` where ``keep`` and finite, else NaN; and ``group_sums(row, ...)`` in the same
    pass (returns the max |value|). ``single`` (a constant at each call site, so the test folds away): one
    group (MARKET), summed in registers, since a scatter into one slot makes each addition wait for the
    previous store. The same additions in the same order either way."""
    m = 0.0
    s0 = 0.0
    n0 = 0
    for i in range(src.shape[0]):
        v = src[i]
        ok = keep[i] and v - v == 0.0
        r = sign * v if ok else np.nan
        row[i] = r
        c = codes[i]
        if ok and c >= 0:
            if single:
                s0 += r
                n0 += 1
            else:
                sums[c] += r
                counts[c] += 1
            if abs(r) > m:
                m = abs(r)
    if single:
        sums[0] += s0
        counts[0] += n0
    return m


@njit(cache=True)
def neutralize_row(src, codes, sums, counts, tol, dst):
    """dst = src - mean of its group over valid members; no group or NaN -> NaN; |result| <= tol x the row's
    max |src| -> 0 (a group of equal values gives 0, not rounding noise that scaling would blow up).
    ``sums``/``counts`` are zeroed scratch arrays of length G, left zeroed."""
    N = src.shape[0]
    row_max = group_sums(src, codes, sums, counts)
    for i in range(N):
        c, v = codes[i], src[i]
        if c >= 0 and v == v:
            r = v - sums[c] / counts[c]
            dst[i] = 0.0 if abs(r) <= tol * row_max else r
        else:
            dst[i] = np.nan
    zero_groups(codes, sums, counts)


@njit(cache=True)
def neutralize_kernel(w, codes, n_groups, tol):
    """Step 4 on every row of (T, N) ``w``."""
    T, N = w.shape
    out = np.empty((T, N))
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    for t in range(T):
        neutralize_row(w[t], codes[t], sums, counts, tol, out[t])
    return out


_ABS_BITS = np.int64(0x7FFFFFFFFFFFFFFF)
_INF_BITS = np.int64(0x7FF0000000000000)


@njit(cache=True)
def _max_abs(row):
    """max |v| over the non-NaN values of C-contiguous (N,) float64 ``row`` (0.0 for none). Exact, on the
    bits: those of |v| order like the values, and an integer max runs in SIMD lanes (a float max does
    not without assuming there is no NaN)."""
    bits = row.view(np.int64)
    m = np.int64(0)
    for i in range(bits.shape[0]):
        a = bits[i] & _ABS_BITS
        m = max(m, a if a <= _INF_BITS else np.int64(0))
    out = np.empty(1, np.int64)
    out[0] = m
    return out.view(np.float64)[0]


@njit(cache=True)
def demean(src, codes, sums, counts, means, tol, row_max, neutral, dst):
    """Pass 2 of ``neutralize_row`` (``sums``/``counts``/``row_max`` already accumulated over ``src``, then
    reset here) or a plain copy when not ``neutral``; ``dst`` may be ``src``. Returns gross: sum |dst| over
    the non-NaN values, left to right. This sum stays in column order: the weights are exactly those of the
    step-by-step reference, so their ties (which rank IC sees) do not depend on SIMD lanes."""
    N = src.shape[0]
    gross = 0.0
    if neutral:
        G = sums.shape[0]
        lim = tol * row_max
        if G <= N:
            for g in range(G):
                if counts[g] > 0:
                    means[g] = sums[g] / counts[g]   # the value neutralize_row divides per member
            for i in range(N):   # branch-free
                c, v = codes[i], src[i]
                r = v - means[max(c, 0)]
                r = 0.0 if abs(r) <= lim else r
                r = r if (c >= 0) & (v == v) else np.nan
                dst[i] = r
                gross += abs(r) if r == r else 0.0
        else:
            for i in range(N):
                c, v = codes[i], src[i]
                if c >= 0 and v == v:
                    r = v - sums[c] / counts[c]
                    if abs(r) <= lim:
                        r = 0.0
                    dst[i] = r
                    gross += abs(r) if r == r else 0.0
                else:
                    dst[i] = np.nan
        zero_groups(codes, sums, counts)
    else:
        for i in range(N):
            v = src[i]
            dst[i] = v
            gross += abs(v) if v == v else 0.0
    return gross


@njit(cache=True)
def _scale(row, gross):
    """Step 5 in place: row / gross (all NaN if gross <= 0)."""
    if gross > 0.0:
        for i in range(row.shape[0]):
            row[i] = row[i] / gross
    else:
        row[:] = np.nan


@njit(cache=True)
def _clip(row, gross, clip, buf, codes, sums, counts, neutral):
    """Scale ``row`` by ``gross`` in place (1.0: already scaled), then a truncation round's input: ``buf`` =
    row clipped to +-clip, with the group sums of ``buf`` accumulated into the zeroed ``sums``/``counts``
    (if ``neutral``). Returns max |buf| over the grouped values."""
    for i in range(row.shape[0]):
        r = row[i] / gross
        row[i] = r
        buf[i] = clip if r > clip else (-clip if r < -clip else r)
    return group_sums(buf, codes, sums, counts) if neutral else 0.0


@njit(cache=True, fastmath={"reassoc"})
def daily_row(row, gross, prev, rt, book, has_prev):
    """Step 5's division by ``gross`` in place (1.0 for a finished row: x / 1.0 == x), then step 8 and the book
    series of the row: (PnL, dollars traded vs ``prev`` (0.0 when not ``has_prev``), long count, short count).
    ``row``/``prev``: (N,) weights (NaN = no position); ``rt``: (N,) returns (non-finite contribute 0);
    ``book`` in USD. Branch-free, and the two sums may be reassociated, so the loop runs in SIMD lanes:
    the PnL and traded amounts can differ from a left-to-right sum in the last bits (docs/DESIGN.md)."""
    p = 0.0
    tr = 0.0
    lc = 0
    sc = 0
    for i in range(row.shape[0]):
        v = row[i] / gross
        row[i] = v
        pos = v * book if v == v else 0.0
        r = rt[i]
        p += pos * r if r - r == 0.0 else 0.0
        lc += pos > 0.0
        sc += pos < 0.0
        pv = prev[i]
        traded = abs(pos - (pv * book if pv == pv else 0.0))
        tr += traded if has_prev else 0.0
    return p, tr, lc, sc


@njit(inline="always")
def _book_day(daily, t, day, max_w):
    """Store ``daily_row``'s result ``day`` and the row's max |w| ``max_w`` for row t into the five (T,) ``daily``
    arrays (traded: from row 1)."""
    pnl, traded, long_c, short_c, max_weight = daily
    p, trd, lc, sc = day
    pnl[t] = p
    long_c[t] = lc
    short_c[t] = sc
    max_weight[t] = max_w
    if t > 0:
        traded[t] = trd


@njit(cache=True)
def daily_kernel(w, returns, book):
    """(pnl, traded (NaN on row 0), long count, short count, max |w|), each (T,), of (T, N) weights."""
    T, N = w.shape
    daily = (np.zeros(T), np.full(T, np.nan), np.zeros(T), np.zeros(T), np.zeros(T))
    row = np.empty(N)     # daily_row writes its (unchanged) quotients back: keep ``w`` untouched
    for t in range(T):
        row[:] = w[t]
        _book_day(daily, t, daily_row(row, 1.0, w[t - 1] if t > 0 else row, returns[t], book, t > 0),
                  _max_abs(row))
    return daily


@njit(cache=True)
def portfolio_rows(src, shift, sign, mask, use_mask, finite_only, codes, n_groups, neutral, scale_first, tr, rounds,
                   tol_tr, tol_neutral, returns, book, with_daily):
    """Steps 4 (neutralize) - 6 per row, and with ``with_daily`` the step-8 book series of the final rows.

    Row t of the input is ``sign * src[t - shift]`` (all NaN for t < shift; ``sign`` +-1.0, so exactly
    ``src`` or ``-src``), NaN where ``mask`` is False (with ``use_mask``) and, with ``finite_only``, where the
    value is +-inf. ``scale_first`` False skips steps 4-5 (input already scaled: truncation only). Returns
    (w, unmet, daily) where daily = ``daily_kernel(w, returns, book)`` when ``with_daily`` (else empty
    arrays), computed as each row is finished."""
    T, N = src.shape
    w = np.empty((T, N))
    unmet = np.zeros(T, dtype=np.bool_)
    M = T if with_daily else 0
    daily = (np.zeros(M), np.full(M, np.nan), np.zeros(M), np.zeros(M), np.zeros(M))
    sums = np.zeros(n_groups)
    counts = np.zeros(n_groups, dtype=np.int64)
    means = np.zeros(n_groups)
    buf = np.empty(N)
    clip = tr if tr > 0.0 else 0.0
    for t in range(T):
        row = w[t]
        ct = codes[t]
        top = 0.0             # max |w| of the finished row
        if t < shift:
            row[:] = np.nan   # no positions: max |w| = 0, truncation met
        else:
            s = src[t - shift]
            acc = scale_first and neutral
            row_max = 0.0
            if use_mask and finite_only and acc:
                # the backtest's neutralized case: masking and group sums in one pass
                if n_groups == 1:
                    row_max = masked_group_sums(s, mask[t], sign, row, ct, sums, counts, True)
                else:
                    row_max = masked_group_sums(s, mask[t], sign, row, ct, sums, counts, False)
                acc = False
            elif use_mask and finite_only:
                mt = mask[t]
                for i in range(N):   # one vectorisable masking loop
                    v = s[i]
                    row[i] = sign * v if mt[i] and v - v == 0.0 else np.nan
            else:
                for i in range(N):
                    v = s[i]
                    if use_mask and not mask[t, i]:
                        v = np.nan
                    elif finite_only and v - v != 0.0:
                        v = np.nan
                    row[i] = sign * v
            if acc:
                row_max = group_sums(row, ct, sums, counts)
            if scale_first:
                gross = demean(row, ct, sums, counts, means, tol_neutral, row_max, neutral, row)
                if with_daily and gross > 0.0:
                    # optimistic: scale and book series in one pass; a row that then needs truncation
                    # rounds goes on from its scaled values (the same as ``_scale``'s) and is booked again
                    day = daily_row(row, gross, w[t - 1] if t > 0 else row, returns[t], book, t > 0)
                    top = _max_abs(row)
                    if not (clip > 0.0 and top > tr + tol_tr):
                        _book_day(daily, t, day, top)
                        continue
                else:
                    _scale(row, gross)
                    top = _max_abs(row)
            else:
                top = _max_abs(row)
            if clip > 0.0:
                done = 0
                if top > tr + tol_tr and rounds > 0:
                    bmax = _clip(row, 1.0, clip, buf, ct, sums, counts, neutral)
                while top > tr + tol_tr and done < rounds:
                    # clip to +-tr (buf, with the group sums), re-neutralize, re-scale; when another round
                    # follows, its clipping is fused into the scaling pass. max |row / gross| is
                    # max |row| / gross exactly: the rounded division is monotone
                    gross = demean(buf, ct, sums, counts, means, tol_neutral, bmax, neutral, row)
                    top = _max_abs(row) / gross if gross > 0.0 else 0.0
                    done += 1
                    if gross > 0.0 and top > tr + tol_tr and done < rounds:
                        bmax = _clip(row, gross, clip, buf, ct, sums, counts, neutral)
                    else:
                        _scale(row, gross)
                unmet[t] = top > tr + tol_tr
        if with_daily:
            _book_day(daily, t, daily_row(row, 1.0, w[t - 1] if t > 0 else row, returns[t], book, t > 0), top)
    return w, unmet, daily
