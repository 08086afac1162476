"""CROWDING: daily-PnL correlation with a library of well-known public alphas (issue 13).

The library is ``public_alphas.csv`` (columns ``id, source, expression, note``): the 101 formulaic alphas of
Kakushadze, "101 Formulaic Alphas" (Wilmott 2016, arXiv:1601.00991) translated to FastExpr (ids
``alpha101_001``..``alpha101_101``; the ``note`` column holds the paper's formula and what the translation
changed), and the BRAIN tutorial/consultant example alphas the project carries (``brain_ex_..``).
``public_library`` simulates each of them once on a panel (IS daily PnL only), cached on disk beside the
panel cache and memoised in-process; ``crowding`` is the CROWDING check of one candidate, ``crowding_matrix``
the same correlations for many candidates at once. Correlations follow the self-correlation rule of
SIMULATION.md §6 (``gate.correlation``: pairwise-complete Pearson over each pair's last
``SELF_CORR_MAX_DAYS`` common days, NaN under ``SELF_CORR_MIN_DAYS``).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import weakref
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from alpha_core.data import cache as _cache
from alpha_core.data.panel import Panel
from alpha_core.gate.checks import FAIL, PASS, PENDING, Check
from alpha_core.gate.correlation import (SELF_CORR_MAX_DAYS, SELF_CORR_MIN_DAYS, correlation_matrix, pnl_matrix,
                                         series_correlations)
from alpha_core.sim.settings import SimSettings
from alpha_core.sim.simulate import iter_simulate

log = logging.getLogger(__name__)

PUBLIC_ALPHAS = Path(__file__).with_name("public_alphas.csv")
COLUMNS = ("id", "source", "expression", "note")
CROWDING_LIMIT = 0.7   # as BRAIN's SELF_CORRELATION limit (docs/DESIGN.md, Decisions)
TOP_CLOSEST = 5
LIBRARY_FORMAT = 1
"""Part of the disk-cache key: bump when what a library build stores, or how it simulates, changes."""

_MEMO: "weakref.WeakKeyDictionary[Panel, dict[tuple[str, str], PublicLibrary]]" = weakref.WeakKeyDictionary()
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class PublicAlpha:
    """One row of ``public_alphas.csv``."""

    id: str
    source: str
    expression: str
    note: str


@dataclass(frozen=True)
class PublicLibrary:
    """The public alphas simulated on one panel: ``ids`` and ``expressions`` (K each, CSV order, failed ones
    left out), ``dates`` (D,) datetime64[D] the union of their IS days, ``pnl`` (K, D) float64 IS daily PnL in
    USD (NaN where an alpha has none), ``sharpe`` (K,) float64 IS sharpe (NaN when undefined)."""

    ids: tuple[str, ...]
    expressions: tuple[str, ...]
    dates: np.ndarray
    pnl: np.ndarray
    sharpe: np.ndarray


def read_public_alphas(path: Path | None = None) -> tuple[PublicAlpha, ...]:
    """The rows of ``path`` (default ``PUBLIC_ALPHAS``), in file order.

    Raises ``ValueError`` naming the file (and line) when the header is not ``id,source,expression,note``,
    an id or expression is empty, or an id repeats; ``OSError`` when the file cannot be read.
    """
    path = Path(path) if path is not None else PUBLIC_ALPHAS
    return _parse(path.read_bytes(), path)


def _parse(raw: bytes, path: Path) -> tuple[PublicAlpha, ...]:
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise ValueError(f"{path}: header must be {','.join(COLUMNS)}, got {','.join(reader.fieldnames or [])!r}")
    rows, seen = [], set()
    for row in reader:
        where = f"{path}, line {reader.line_num}"
        alpha = PublicAlpha(*((row.get(c) or "").strip() for c in COLUMNS))
        if not alpha.id or not alpha.expression:
            raise ValueError(f"{where}: empty id or expression")
        if alpha.id in seen:
            raise ValueError(f"{where}: id {alpha.id!r} repeats")
        seen.add(alpha.id)
        rows.append(alpha)
    return tuple(rows)


def panel_fingerprint(panel: Panel, fields: Sequence[str]) -> str:
    """sha256 (hex) of the panel's label, dates, tickers and the CRC-32 of each of ``fields`` it has (the
    content a library build reads): two panels with the same fingerprint give the same simulations."""
    h = hashlib.sha256()
    h.update(panel.label.encode())
    h.update(np.ascontiguousarray(panel.dates).view(np.int64).tobytes())
    h.update("\n".join(panel.tickers).encode())
    for name in sorted({f.lower() for f in fields if panel.has(f)}):
        crc = zlib.crc32(memoryview(np.ascontiguousarray(panel[name])).cast("B")) & 0xFFFFFFFF
        h.update(f"{name}:{crc};".encode())
    return h.hexdigest()


def _settings(settings: SimSettings | dict | None) -> SimSettings:
    if isinstance(settings, SimSettings):
        return settings
    return SimSettings(**(settings or {}))


def public_library(panel: Panel, settings: SimSettings | dict | None = None, cache_dir: Path | None = None, *,
                   csv_path: Path | None = None) -> PublicLibrary:
    """Every public alpha of ``csv_path`` (default ``PUBLIC_ALPHAS``) simulated once on ``panel``: IS PnL only.

    ``settings``: BRAIN settings (a dict of overrides or a ``SimSettings``; default ``SimSettings()``);
    ``cache_dir``: the cache root (default ``data.cache.default_cache_dir()``, as the panel cache). The
    result is stored in ``<cache_dir>/public-alphas-<digest>`` keyed by (``LIBRARY_FORMAT``, the panel
    fingerprint, the CSV's sha256, the settings' identity JSON), so a later call in any process reads the
    file (CRC-checked by ``data.cache.read_cache``) instead of simulating; within a process the library is
    also memoised per panel object. A public alpha that fails to simulate, or has no IS PnL, is left out
    with a logged warning. Raises ``SettingsError`` / ``UnsupportedLocal`` for settings the local simulator
    cannot run and ``ValueError`` / ``OSError`` for a bad CSV (``read_public_alphas``). An unwritable cache
    is logged and ignored.
    """
    s = _settings(settings)
    path = Path(csv_path) if csv_path is not None else PUBLIC_ALPHAS
    raw = path.read_bytes()
    alphas = _parse(raw, path)
    csv_hash, ident = hashlib.sha256(raw).hexdigest(), s.identity_json()
    memo = _MEMO.setdefault(panel, {})
    if (csv_hash, ident) in memo:
        return memo[(csv_hash, ident)]
    fields = {name for a in alphas for name in _IDENT.findall(a.expression)}
    key = {"format": LIBRARY_FORMAT, "panel": panel_fingerprint(panel, sorted(fields)), "csv_sha256": csv_hash,
           "settings": json.loads(ident)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    root = Path(cache_dir).expanduser() if cache_dir is not None else _cache.default_cache_dir()
    folder = root / f"public-alphas-{digest}"
    hit = _cache.read_cache(folder, key)
    if hit is not None:
        meta, arrays = hit
        library = PublicLibrary(tuple(meta["ids"]), tuple(meta["expressions"]), np.array(arrays["dates"]),
                                np.array(arrays["pnl"]), np.array(arrays["sharpe"]))
    else:
        library = _build(panel, s, alphas, path.name)
        _cache.write_cache(folder, key, {"ids": list(library.ids), "expressions": list(library.expressions)},
                           {"dates": library.dates, "pnl": library.pnl, "sharpe": library.sharpe})
    memo[(csv_hash, ident)] = library
    return library


def _build(panel: Panel, settings: SimSettings, alphas: Sequence[PublicAlpha], what: str) -> PublicLibrary:
    kept, series, sharpes, left_out = [], [], [], []
    for alpha, outcome in zip(alphas, iter_simulate([a.expression for a in alphas], panel, settings)):
        if outcome.result is None:
            left_out.append(f"{alpha.id} ({outcome.code or outcome.error})")
            continue
        pnl, dates = outcome.result.period_pnl("is")
        if pnl.size == 0:
            left_out.append(f"{alpha.id} (no IS PnL)")
            continue
        sharpe = outcome.result.is_.get("sharpe")
        kept.append(alpha)
        series.append((pnl, dates))
        sharpes.append(np.nan if sharpe is None else float(sharpe))
    if left_out:
        log.warning("%d of %d alphas of %s left out of the library on %s: %s", len(left_out),
                    len(alphas), what, panel.label, ", ".join(left_out))
    matrix, calendar = pnl_matrix(series, max_days=None, labels=[f"public alpha {a.id}" for a in kept])
    return PublicLibrary(tuple(a.id for a in kept), tuple(a.expression for a in kept), calendar, matrix,
                         np.asarray(sharpes, dtype=np.float64))


def crowding_matrix(pnls: Sequence[tuple[np.ndarray, np.ndarray]], library: PublicLibrary) -> np.ndarray:
    """Correlation of each candidate's daily PnL with each public alpha's: (M, K) float64.

    ``pnls``: M ``(pnl (D_m,) USD, dates (D_m,) datetime64[D])`` pairs (IS days). Pairwise-complete Pearson
    over each pair's last 1,008 common days, NaN under ``SELF_CORR_MIN_DAYS`` common days or
    for a series constant over them: the rule of ``checks.self_correlation`` (``correlation.series_correlations``).
    When the union calendar has at most 1,008 days (an IS period of up to 4 years) that is one matrix
    call for all pairs; otherwise one call per candidate. Raises ``ValueError`` naming the candidate when a
    pnl and its dates differ in shape, or its dates repeat a day or hold NaT.
    """
    pnls = list(pnls)
    if library.dates.size <= SELF_CORR_MAX_DAYS and all(
            np.shape(p) == np.shape(d) == library.dates.shape
            and np.array_equal(np.asarray(d, dtype="datetime64[D]"), library.dates) for p, d in pnls):
        # the search's case: every candidate on the library's own IS calendar, which fits in the window: the
        # alignment is the identity, so skip it (same numbers as series_correlations)
        return correlation_matrix(np.vstack([np.asarray(p, dtype=np.float64) for p, _ in pnls]) if pnls
                                  else np.zeros((0, library.dates.size)), library.pnl, SELF_CORR_MIN_DAYS)
    labels = [f"crowding: candidate {i}" for i in range(len(pnls))] + [f"crowding: public alpha {i}"
                                                                         for i in library.ids]
    return series_correlations(pnls, [(library.pnl[j], library.dates) for j in range(len(library.ids))], labels)


def crowding(pnl: np.ndarray, dates: np.ndarray, library: PublicLibrary,
             limit: float = CROWDING_LIMIT) -> tuple[Check, list[tuple[str, float]]]:
    """The CROWDING check of one alpha and its closest public alphas.

    ``pnl`` (D,) USD IS daily PnL on ``dates`` (D,) datetime64[D]; ``library`` from ``public_library``.
    Returns ``(Check("CROWDING", result, value, limit, message), closest)``: ``value`` the highest (signed)
    correlation with a public alpha (``crowding_matrix``), FAIL when ``value >= limit``, else PASS; PENDING
    with value None when no public alpha shares ``SELF_CORR_MIN_DAYS`` days of PnL with it. The message names
    the public alpha reaching ``value``. ``closest``: up to ``TOP_CLOSEST`` ``(id, corr)`` with the largest
    ``|corr|``, descending (a mirror-image public alpha shows with a negative corr). Raises ``ValueError``
    when ``limit`` is not a finite number or on bad series (``crowding_matrix``).
    """
    limit = float(limit)
    if not np.isfinite(limit):
        raise ValueError(f"crowding: limit must be a finite number, got {limit!r}")
    corr = crowding_matrix([(pnl, dates)], library)[0]
    finite = np.flatnonzero(np.isfinite(corr))
    if finite.size == 0:
        return Check("CROWDING", PENDING, None, limit,
                     f"no public alpha shares {SELF_CORR_MIN_DAYS}+ days of non-constant daily PnL with it"), []
    order = finite[np.argsort(-np.abs(corr[finite]), kind="stable")]
    closest = [(library.ids[j], float(corr[j])) for j in order[:TOP_CLOSEST]]
    best = int(finite[np.argmax(corr[finite])])
    value, name = float(corr[best]), library.ids[best]
    if value >= limit:
        return Check("CROWDING", FAIL, value, limit,
                     f"daily PnL correlates {value:.2f} with public alpha {name}: a well-known signal, "
                     "change the idea, not its windows"), closest
    return Check("CROWDING", PASS, value, limit, f"closest public alpha {name} at {value:.2f}"), closest
