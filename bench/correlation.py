"""Time the matrix self-correlation: K candidates x M library series on D days (synthetic data).

Synthetic daily PnL (normal noise in USD plus a shared market factor), every library series starting on a
random one of the first 200 days (NaN before it) and 2% of cells NaN, so the masked (pairwise-complete)
path is what is timed. Prints the wall time of ``correlation_matrix`` + ``max_correlation`` (the latter
recomputes the matrix) and of ``independent_set`` on the candidates. Not a test: the time depends on the
machine and its load. ``python bench/correlation.py [--k 1000] [--m 5000] [--days 1008]``
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from alpha_core.gate.correlation import correlation_matrix, independent_set, max_correlation


def synthetic(rng: np.random.Generator, n: int, days: int, factor: np.ndarray) -> np.ndarray:
    """(n, days) synthetic PnL in USD with a random start per row and 2% NaN cells."""
    m = rng.normal(size=(n, days)) * 1e5 + rng.uniform(-3, 3, size=(n, 1)) * factor * 1e5
    start = rng.integers(0, min(200, days), size=n)
    m[np.arange(days)[None, :] < start[:, None]] = np.nan
    m[rng.random((n, days)) < 0.02] = np.nan
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=1000, help="candidates")
    ap.add_argument("--m", type=int, default=5000, help="library series")
    ap.add_argument("--days", type=int, default=1008, help="days")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    factor = rng.normal(size=args.days)
    cands = synthetic(rng, args.k, args.days, factor)
    library = synthetic(rng, args.m, args.days, factor)
    print(f"synthetic data: {args.k} candidates x {args.m} library series on {args.days} days "
          f"({np.isnan(library).mean():.1%} of library cells NaN); cores visible: {os.cpu_count()}")

    t = time.perf_counter()
    corr = correlation_matrix(cands, library)
    print(f"correlation_matrix {corr.shape}: {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    values, _ = max_correlation(cands, library)
    print(f"max_correlation: {time.perf_counter() - t:.2f} s (median max corr {np.nanmedian(values):.3f})")

    dates = np.datetime64("2014-01-01") + np.arange(args.days)
    items = [(i, row[np.isfinite(row)], dates[np.isfinite(row)], float(rng.normal())) for i, row in enumerate(cands)]
    t = time.perf_counter()
    res = independent_set(items, limit=0.7)
    print(f"independent_set of {args.k} (no library): {time.perf_counter() - t:.2f} s, {len(res.kept)} kept")


if __name__ == "__main__":
    main()
