"""What an evaluation will cost, before it runs: the evaluation plan and the per-alpha budget.

``plan(program, root, T, N)`` walks a canonical program the way ``evaluate`` does and returns an ``EvalPlan``:
how many parents read each call node (so the evaluator can drop an intermediate as soon as its last reader has
run), an estimate of the seconds the kernels will take and of the peak memory of the live (T, N) float64
intermediates. ``EvalBudget`` (pydantic-settings, ``ALPHA_EVAL_MAX_SECONDS`` / ``ALPHA_EVAL_MAX_MEMORY_MB``) is
the limit the evaluator refuses to go beyond (``E_BUDGET``, docs/DESIGN.md "Evaluator budget").

The time model is a coarse, per-operator cost measured on the real panel (1,259 x 505, this machine class):
a base cost per cell, plus, for the operators whose work per cell grows with the window, a cost per cell and
window day. It is meant to catch the pathological (``group_backfill(x, market, 1500)``: ~5 s), not to predict
the 20 ms of an ordinary alpha.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from alpha_core.expr import ast
from alpha_core.expr.ast import children
from alpha_core.expr.catalogue import BindError, bind, catalogue

ELEMENTWISE_CATEGORIES = frozenset({"Arithmetic", "Logical"})
WINDOW_PARAMS = ("d", "lookback")
#: (T, N) arrays a kernel may hold besides its inputs and output (masked copies, running sums, sort keys)
KERNEL_TEMPORARIES = 3

BASE_NS = 3.0  # per cell, any kernel producing a (T, N) array
_BASE_NS = {"rank": 8.0, "quantile": 10.0, "group_rank": 20.0, "ts_median": 20.0, "ts_quantile": 10.0,
            "ts_regression": 5.0, "bucket": 10.0, "vector_neut": 10.0}
# per cell and day of a complete window (sliding sorts / recomputed sums): work ~ d x (T - d + 1) / T
_FULL_WINDOW_NS = {"ts_rank": 0.15, "ts_quantile": 0.15, "kth_element": 0.15, "ts_product": 0.15,
                   "ts_decay_linear": 0.15, "ts_median": 0.05}
# per cell and day of a window cut by the panel start and used as is: work ~ min(d, s + 1) on row s
# (group_backfill re-reads its pool five times on each row with a member to fill: 7.7 ns measured with
# sector groups, about twice that over the whole market)
_CUT_WINDOW_NS = {"group_backfill": 12.0, "ts_backfill": 0.01}


class EvalBudget(BaseSettings):
    """The most one alpha's evaluation may cost; an expression estimated above it is refused before it runs.

    ``max_seconds``: estimated kernel time (seconds, the ``budget`` module's model); ``max_memory_mb``: peak
    estimated memory of the live (T, N) float64 intermediates (MiB). From ``ALPHA_EVAL_MAX_SECONDS`` and
    ``ALPHA_EVAL_MAX_MEMORY_MB``.
    """

    model_config = SettingsConfigDict(env_prefix="ALPHA_EVAL_", extra="ignore")

    max_seconds: float = Field(default=2.0, gt=0)
    max_memory_mb: float = Field(default=2048.0, gt=0)


@cache
def default_budget() -> EvalBudget:
    """``EvalBudget()`` from the environment, read once per process."""
    return EvalBudget()


@dataclass
class EvalPlan:
    """``refs``: call node -> how many argument slots of evaluated parents read it (the evaluator releases a
    node's value when they have all run); ``seconds``: estimated kernel time; ``peak_bytes``: estimated peak of
    live (T, N) float64 arrays; ``heaviest``: (operator, estimated seconds) of the costliest node."""

    refs: dict[ast.Node, int] = field(default_factory=dict)
    seconds: float = 0.0
    peak_bytes: int = 0
    heaviest: tuple[str, float] = ("", 0.0)

    def over(self, budget: EvalBudget) -> str | None:
        """Why this plan exceeds ``budget`` (a sentence), or None when it fits."""
        mb = self.peak_bytes / 2**20
        if self.seconds > budget.max_seconds:
            op, s = self.heaviest
            return (f"estimated {self.seconds:.1f} s of kernel time ({op}: {s:.1f} s) exceeds the evaluation budget "
                    f"of {budget.max_seconds:g} s (ALPHA_EVAL_MAX_SECONDS)")
        if mb > budget.max_memory_mb:
            return (f"estimated peak memory {mb:,.0f} MB of intermediates exceeds the evaluation budget of "
                    f"{budget.max_memory_mb:,.0f} MB (ALPHA_EVAL_MAX_MEMORY_MB)")
        return None


def plan(program: ast.Program, root: ast.Node, T: int, N: int) -> EvalPlan:
    """The evaluation plan of canonical ``program`` whose result is ``root`` (the program's result, or its
    operand when a root negation is folded) on a (T, N) panel: reference counts, estimated seconds and peak
    bytes (see the module docstring). Never raises: nodes that do not bind are costed at the base rate."""
    cat = catalogue()
    out = EvalPlan()
    variables: dict[str, bool] = {}  # name -> holds a (T, N) array
    arrays: dict[ast.Node, bool] = {}
    cells, array_bytes = T * N, T * N * 8

    def is_array(node: ast.Node) -> bool:
        if isinstance(node, ast.Ident):
            return variables.get(node.name, node.name not in ("true", "false"))
        if not isinstance(node, ast.Call):
            return False
        known = arrays.get(node)
        if known is None:
            spec = cat.get(node.name)
            if spec is not None and spec.category in ELEMENTWISE_CATEGORIES and node.name != "densify":
                known = any(is_array(c) for c in children(node))
            else:
                known = True
            arrays[node] = known
        return known

    # reference counts over the unique call nodes reachable from the statements and the root
    seen: set[ast.Node] = set()
    stack = [s.value for s in program.statements] + [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, ast.Call) or node in seen:
            continue
        seen.add(node)
        for c in children(node):
            if isinstance(c, ast.Call):
                out.refs[c] = out.refs.get(c, 0) + 1
                stack.append(c)

    left = dict(out.refs)
    done: set[ast.Node] = set()
    pinned: set[ast.Node] = set()
    live = peak = 0

    def visit(node: ast.Node) -> None:
        nonlocal live, peak
        if not isinstance(node, ast.Call) or node in done:
            return
        for c in children(node):
            visit(c)
        done.add(node)
        if is_array(node):
            peak = max(peak, live + 1 + KERNEL_TEMPORARIES)
            live += 1
            seconds = _seconds(cat, node, T) * cells * 1e-9
            out.seconds += seconds
            if seconds > out.heaviest[1]:
                out.heaviest = (node.name, seconds)
        for c in children(node):
            if isinstance(c, ast.Call):
                left[c] -= 1
                if left[c] == 0 and c not in pinned and arrays.get(c):
                    live -= 1

    for statement in program.statements:
        visit(statement.value)
        variables[statement.name] = is_array(statement.value)
        if isinstance(statement.value, ast.Call):
            pinned.add(statement.value)
    visit(root)
    out.peak_bytes = peak * array_bytes
    return out


def _seconds(cat, node: ast.Call, T: int) -> float:
    """Estimated nanoseconds per cell of one call node (module docstring)."""
    ns = _BASE_NS.get(node.name, BASE_NS)
    full, cut = _FULL_WINDOW_NS.get(node.name), _CUT_WINDOW_NS.get(node.name)
    if full is None and cut is None:
        return ns
    d = _window(cat, node)
    if d is None:
        return ns
    if full is not None and d <= T:
        ns += full * d * (T - d + 1) / T
    if cut is not None:
        ns += cut * (d - d * d / (2 * T) if d <= T else T / 2)
    return ns


def _window(cat, node: ast.Call) -> float | None:
    spec = cat.get(node.name)
    try:
        bound = bind(spec, node.args, [(k.name, k.value) for k in node.kwargs])
    except BindError:
        return None
    for name in WINDOW_PARAMS:
        arg = bound.args.get(name)
        if isinstance(arg, ast.Number):
            return float(arg.value)
    return None
