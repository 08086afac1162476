"""NO_LOOKAHEAD: perturb every row after a cut date t and prove nothing at or before t moves (issue 13).

For each cut date t inside the IS period, ``lookahead_check`` builds ``perturbed_panel(panel, t)``: the same
dates, tickers and group fields, every field identical on rows ``<= t`` (bit for bit) and scrambled on rows
``> t``. It then evaluates the alpha and runs the backtest on both panels and compares, on every row ``<= t``:

- the raw alpha (row s = the expression evaluated with data up to date s, SIMULATION.md §3);
- the final weights (row s = the position held on day s: ``raw_{s-1}``, ``U_s``, decay, neutralization by the
  group ids of day s, truncation), rows ``<= t``: day s's groups are day s's data, so day t+1's weights may
  legitimately move (t + 1 is no stricter horizon);
- the daily PnL (row s: the weights of day s times the return of day s, data up to s), rows ``<= t``.

Why the perturbation is complete: the evaluator, the universe (``close``, ``volume``), the returns
(``returns`` or ``close``) and the neutralization groups read data only through ``panel[name]``, and every
field of the perturbed panel is perturbed (lazily, on first access, so an alpha pays only for the fields it
reads). The simulator's caches (universe, returns, groups) are keyed by panel object, so the perturbed panel
gets its own. A derived lazy field whose source reads the panel itself (the loader's ``cap`` =
``close * sharesout``, ``enterprise_value``; through a closure, default or global, ``_rebound``) is
recomputed from the perturbed fields, so a derived field that leaks the future is caught too; a field stored as
an array is taken as point-in-time data (its rows after t are perturbed, nothing more can be proved from the
panel alone: the loader's tests guard the fundamentals' lag).
"""
from __future__ import annotations

import types
import weakref
import zlib
from typing import Callable

import numpy as np

from alpha_core.data.panel import Panel
from alpha_core.gate.checks import FAIL, PASS, PENDING, Check
from alpha_core.sim.backtest import backtest, trading_periods
from alpha_core.sim.evaluate import EvaluationError
from alpha_core.sim.settings import SimSettings
from alpha_core.sim.settings import UnsupportedLocal as UnsupportedSettings
from alpha_core.sim.simulate import ExpressionError, raw_alpha

NAME = "NO_LOOKAHEAD"
CUT_SPAN = (0.25, 0.85)
"""Cut dates are drawn in this span of the IS rows (fractions), one per equal stratum, jittered by the seed."""
LINT_LOOKAHEAD = "E_LOOKAHEAD"  # lint's code for a negative lag: the expression itself reads the future
NOISE_SIGMA = 0.5       # multiplicative noise exp(N(0, sigma)) on values after the cut
NEW_NAN = 0.05          # share of cells after the cut set to NaN
FILL_NAN = 0.5          # share of NaN cells after the cut (after the shuffle) given a value
NEW_GROUP = 0.2         # share of group cells after the cut moved to a random (possibly new) group id


def _rng(seed: int, cut: int, name: str) -> np.random.Generator:
    """Deterministic generator per (seed, cut, field): ``crc32`` of the name, not Python's salted ``hash``."""
    return np.random.default_rng([int(seed), int(cut), zlib.crc32(name.encode())])


def scramble_after(x: np.ndarray, cut: int, rng: np.random.Generator, group: bool = False) -> np.ndarray:
    """A new (T, N) float64 array: ``x`` on rows ``0..cut``, scrambled on rows ``cut+1..T-1``.

    Numeric fields: each row shuffled across tickers, multiplied by ``exp(N(0, NOISE_SIGMA))`` per cell, then
    the NaN pattern changed (``NEW_NAN`` of the cells become NaN, ``FILL_NAN`` of the NaN cells get a value drawn
    from the field's finite values). Group fields (``group=True``) stay integer ids: shuffled across tickers,
    ``NEW_GROUP`` of the cells moved to a random id in ``0..max+3`` (new groups included), NaN pattern changed
    the same way. Raises ``ValueError`` unless ``x`` is 2-D and ``0 <= cut < T``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or not 0 <= cut < x.shape[0]:
        raise ValueError(f"scramble_after needs a (T, N) array and 0 <= cut < T, got shape {x.shape}, cut {cut}")
    out = x.copy()
    tail = rng.permuted(x[cut + 1:], axis=1)
    finite = x[np.isfinite(x)]
    if group:
        top = int(finite.max()) if finite.size else 0
        moved = rng.random(tail.shape) < NEW_GROUP
        tail[moved] = rng.integers(0, top + 4, size=int(moved.sum()))
        pool = np.arange(top + 4, dtype=np.float64)
    else:
        with np.errstate(all="ignore"):
            tail *= np.exp(rng.normal(0.0, NOISE_SIGMA, size=tail.shape))
        pool = finite if finite.size else np.array([1.0])
    holes = np.isnan(tail)
    fill = holes & (rng.random(tail.shape) < FILL_NAN)
    tail[fill] = rng.choice(pool, size=int(fill.sum()))
    tail[~holes & (rng.random(tail.shape) < NEW_NAN)] = np.nan
    out[cut + 1:] = tail
    return out


def _rebound(src, old: Panel, new: Panel) -> Callable[[], np.ndarray] | None:
    """``src`` (a lazy field source) re-pointed from panel ``old`` to ``new`` when it reads ``old`` through a
    closure variable (the loader's ``cap``), a default argument or a module global; None when it does not read
    ``old`` (a source reached through any other object, e.g. a bound method, is not followed)."""
    if not isinstance(src, types.FunctionType):
        return None
    scope = src.__globals__
    names = [n for n in src.__code__.co_names if scope.get(n) is old]
    if names:
        scope = {**scope, **{n: new for n in names}}
    cells = src.__closure__ or ()
    new_cells, hit = [], False
    for cell in cells:
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a variable not bound yet)
            value = None
        if value is old:
            new_cells.append(types.CellType(new))
            hit = True
        else:
            new_cells.append(cell)
    defaults = src.__defaults__
    if defaults and any(d is old for d in defaults):
        defaults = tuple(new if d is old else d for d in defaults)
        hit = True
    if not (hit or names):
        return None
    fn = types.FunctionType(src.__code__, scope, src.__name__, defaults, tuple(new_cells) or None)
    fn.__kwdefaults__ = src.__kwdefaults__
    return fn


def perturbed_panel(panel: Panel, cut: int, seed: int = 0) -> Panel:
    """A ``Panel`` equal to ``panel`` on rows ``0..cut`` and scrambled after (``scramble_after``), field by field.

    Same dates, tickers, group fields and label (suffixed). Every field is lazy: computed on first access from
    ``panel[name]`` (or, for a derived source that reads ``panel``, from the same source evaluated on the
    perturbed panel) and then scrambled after ``cut``, with a generator seeded by (seed, cut, field id).
    Raises ``ValueError`` unless ``0 <= cut < panel.T``.
    """
    return _perturbed(panel, cut, seed, lambda: panel)


def _perturbed(panel: Panel, cut: int, seed: int, original: Callable[[], Panel | None]) -> Panel:
    """``perturbed_panel``, its lazy fields reaching the original panel through ``original()`` only (a weak
    reference for the shared copies, so they never keep their original alive)."""
    if not 0 <= int(cut) < panel.T:
        raise ValueError(f"cut row {cut} is outside the panel's rows 0..{panel.T - 1}")
    cut, groups = int(cut), panel.group_fields
    out: Panel

    def field(name: str) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            source_panel = original()
            if source_panel is None:
                raise ReferenceError(f"field {name!r}: the panel this perturbed copy was made from is gone")
            src = getattr(source_panel, "_sources", {}).get(name)  # Panel has no public accessor for sources
            derived = _rebound(src, source_panel, out)
            base = derived() if derived is not None else source_panel[name]
            return scramble_after(base, cut, _rng(seed, cut, name), group=name in groups)
        return load

    out = Panel(panel.dates, panel.tickers, {name: field(name) for name in panel.field_names()}, groups,
                f"{panel.label} [perturbed after row {cut}]")
    return out


_PERTURBED: "weakref.WeakKeyDictionary[Panel, dict[tuple[int, int], Panel]]" = weakref.WeakKeyDictionary()


def _shared_perturbed(panel: Panel, cut: int, seed: int) -> Panel:
    """``perturbed_panel(panel, cut, seed)``, one object per (panel, cut, seed) while ``panel`` lives: the alphas
    checked on one panel share the scrambled fields and the simulator's per-panel caches (universes, returns,
    groups), so only the first alpha pays for them (about 5 MB per field read, per cut). Dropped with ``panel``."""
    store = _PERTURBED.setdefault(panel, {})
    key = (int(cut), int(seed))
    if key not in store:
        store[key] = _perturbed(panel, cut, seed, weakref.ref(panel))
    return store[key]


def cut_rows(panel: Panel, settings: SimSettings, cuts: int = 3, seed: int = 0,
             oos_fraction: float = 0.2) -> list[int]:
    """``cuts`` distinct row indices inside the IS period, ascending: IS span ``CUT_SPAN`` cut in ``cuts`` equal
    strata, one row drawn uniformly in each (``numpy.random.default_rng(seed)``), so the cuts are deterministic
    from ``seed`` and spread over IS. Raises ``ValueError`` when ``cuts < 1`` or IS has fewer rows than cuts."""
    if isinstance(cuts, bool) or not isinstance(cuts, (int, np.integer)) or cuts < 1:
        raise ValueError(f"cuts must be a positive integer, got {cuts!r}")
    is_sl, _ = trading_periods(panel, settings, oos_fraction)
    n = is_sl.stop - is_sl.start
    lo, hi = CUT_SPAN
    u = np.random.default_rng(seed).random(cuts)
    rows = sorted({is_sl.start + int((lo + (hi - lo) * (k + u[k]) / cuts) * (n - 1)) for k in range(cuts)})
    if len(rows) < cuts:
        raise ValueError(f"IS has {n} rows: too few for {cuts} distinct cut dates")
    return rows


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cells that differ, NaN equal to NaN (exact comparison, no tolerance)."""
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


def _run(expression, panel: Panel, settings: SimSettings, oos_fraction: float):
    """(lint result, compared outputs) of one alpha on ``panel``; the outputs are the raw alpha (T, N), the
    weights (T, N) as ``simulate`` makes them and the daily PnL (T,) as a (T, 1) column."""
    checked, raw = raw_alpha(expression, panel, settings)
    with np.errstate(all="ignore"):
        result = backtest(raw, panel, settings, oos_fraction=oos_fraction, factor_stats=False)
    return checked, {"raw alpha": raw, "weight": result.weights, "daily PnL": result.daily_pnl[:, None]}


def lookahead_check(expression: str, panel: Panel, settings: dict | SimSettings | None = None, cuts: int = 3,
                    seed: int = 0, oos_fraction: float = 0.2) -> Check:
    """The NO_LOOKAHEAD check of one alpha: perturb every row after each cut date t (``cut_rows``,
    ``perturbed_panel``), rerun, and compare the raw alpha, the final weights and the daily PnL on rows
    ``<= t`` with the unperturbed run, exactly (NaN equals NaN).

    Returns ``Check("NO_LOOKAHEAD", result, value, limit=0.0, message)``: ``value`` = number of values that
    changed, summed over the cuts ((date, ticker) cells of the raw alpha and of the weights, plus dates of the
    daily PnL; 0.0 on PASS); FAIL names the first offending date, ticker and quantity, and its cut date.
    PENDING (value None) when the alpha cannot be simulated locally (lint error, BRAIN-only operator, field or
    settings, evaluation budget): the message says why; FAIL (value None) when lint refuses it as look-ahead
    (``E_LOOKAHEAD``, a negative lag). Cost: ``1 + cuts`` evaluations and backtests; the perturbed panels are shared by
    every alpha checked on ``panel`` with the same ``seed`` (real panel, 3 cuts: about 0.1 s an alpha, the
    first alpha on a panel about 0.8 s, which builds the perturbed universes). Raises ``SettingsError`` for invalid settings,
    ``ValueError`` for a bad ``cuts``.
    """
    s = settings if isinstance(settings, SimSettings) else SimSettings(**(settings or {}))
    try:
        s.check_local()
        rows = cut_rows(panel, s, cuts, seed, oos_fraction)
        checked, base = _run(expression, panel, s, oos_fraction)
    except (ExpressionError, EvaluationError, UnsupportedSettings) as exc:
        if isinstance(exc, ExpressionError) and any(d.code == LINT_LOOKAHEAD for d in exc.lint.errors):
            return Check(NAME, FAIL, None, 0.0, f"lint refuses the expression as look-ahead: {exc}"[:300])
        why, code = str(exc), getattr(exc, "code", "")   # lint's and the settings' texts start with their code
        why = why if why.startswith(code) else f"{code}: {why}"
        return Check(NAME, PENDING, None, 0.0, f"not evaluated locally: {why}"[:300])
    total = 0
    first = ""
    for cut in rows:
        _, run = _run(checked, _shared_perturbed(panel, cut, seed), s, oos_fraction)
        hits = []
        for stage, what in enumerate(base):  # pipeline order breaks ties on the first offending date
            moved = _changed(run[what][:cut + 1], base[what][:cut + 1])
            total += int(moved.sum())
            if moved.any():
                row, col = np.argwhere(moved)[0]
                hits.append((int(row), stage, what, "" if what == "daily PnL" else f" of {panel.tickers[col]}"))
        if hits and not first:
            row, _, what, whose = min(hits)
            first = (f"{what}{whose} on {panel.dates[row]} changed when the data after {panel.dates[cut]} "
                     "was perturbed: the alpha reads the future")
    if total:
        return Check(NAME, FAIL, float(total), 0.0, first)
    return Check(NAME, PASS, 0.0, 0.0)
