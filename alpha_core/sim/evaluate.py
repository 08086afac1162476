"""Evaluate a canonical FastExpr program on a panel (FASTEXPR.md §6-§7, SIMULATION.md §1, §3 step 1).

The evaluator walks the canonical AST (only Number, String, Bool, Ident and Call nodes remain after
``alpha_core.expr.canonicalize``), binds each call with the operator catalogue, and calls the vectorised
kernel of ``alpha_core.sim.ops.KERNELS``. Identical sub-expressions (equal canonical nodes, whatever
their source spans) and variables are evaluated once per program.
"""
from __future__ import annotations

from typing import Any

import bottleneck as bn
import numpy as np

from alpha_core.data.panel import Panel
from alpha_core.expr import ast
from alpha_core.expr.catalogue import REQUIRED, VALUE_KINDS, OperatorSpec, bind, catalogue
from alpha_core.expr.lint_args import MAX_WINDOW
from alpha_core.expr.ast import children
from alpha_core.sim.budget import ELEMENTWISE_CATEGORIES, WINDOW_PARAMS, EvalBudget, default_budget, plan
from alpha_core.sim.ops import KERNELS
from alpha_core.sim.ops._ew_numba import masked as _masked

Value = Any  # float | np.ndarray (T, N) | str | bool

PASTEURIZED_CATEGORIES = frozenset({"Cross Sectional", "Group"})
# kernels that take the pasteurization mask as ``exclude`` (no masked copy of their input)
MASK_AWARE_OPS = frozenset({"rank", "quantile", "zscore", "normalize", "winsorize", "scale", "scale_down",
                            "group_count", "group_sum", "group_mean", "group_max", "group_min", "group_median",
                            "group_std_dev", "group_neutralize", "group_zscore", "group_scale", "group_rank"})
NAN_HANDLING_GROUP_OPS = frozenset(
    {"group_count", "group_sum", "group_mean", "group_max", "group_min", "group_median", "group_std_dev"})


class EvaluationError(ValueError):
    """The program cannot be evaluated on this panel (e.g. a data field the panel lacks)."""

    code = "E_EVAL"


class UnsupportedLocal(EvaluationError):
    """The operator or field has no local implementation (BRAIN-only, FASTEXPR.md §7.3, §7.6)."""

    code = "UNSUPPORTED_LOCAL"


class BudgetExceeded(EvaluationError):
    """The program's estimated kernel time or peak memory exceeds the evaluation budget
    (``alpha_core.sim.budget.EvalBudget``); raised before any kernel runs."""

    code = "E_BUDGET"


def evaluate(program: ast.Program, panel: Panel, universe_mask: np.ndarray | None = None,
             pasteurization: bool = True, nan_handling: bool = False, budget: EvalBudget | None = None
             ) -> np.ndarray:
    """Raw alpha values: a (T, N) float64 array whose row ``s`` uses data up to date ``s``.

    ``program`` must be canonical (``alpha_core.expr.canonicalize``); ``universe_mask`` is a (T, N) bool
    array of the instruments that take part on each evaluation date (the universe the row trades in,
    SIMULATION.md §3); with ``pasteurization`` True, inputs of cross-sectional and group operators are
    NaN outside it, and ``pasteurize()`` always uses it. ``nan_handling`` applies the NaN-handling-ON
    rules of SIMULATION.md §1. ±inf never leaves the evaluator (mapped to NaN). A sub-expression without a
    data field (``abs(2)``, ``greater(0.5, 0.5)``) is folded to a scalar and broadcast where an operator
    needs a (T, N) input. Each intermediate is released as soon as the last operator reading it has run.

    Raises ``BudgetExceeded`` (before any kernel runs) when the plan's estimated time or memory exceeds
    ``budget`` (default: ``ALPHA_EVAL_MAX_SECONDS`` / ``ALPHA_EVAL_MAX_MEMORY_MB``), ``UnsupportedLocal`` for
    BRAIN-only operators or fields the panel lacks, ``EvaluationError`` for anything else that cannot be
    computed (an unknown name or a window beyond lint's ``MAX_WINDOW`` in a non-linted program).
    """
    return _Evaluator(panel, universe_mask, pasteurization, nan_handling, budget).run(program)


def evaluate_signed(program: ast.Program, panel: Panel, universe_mask: np.ndarray | None = None,
                    pasteurization: bool = True, nan_handling: bool = False, budget: EvalBudget | None = None
                    ) -> tuple[np.ndarray, float]:
    """``evaluate`` with a root negation folded out: ``(values, sign)`` such that the raw alpha is
    ``sign * values`` exactly (``sign`` is -1.0 for ``-x``, ``-(-(-x))``..., else 1.0). The backtest applies the
    sign in its first pass (``backtest(..., sign=)``), which saves a (T, N) negation on alphas written ``-x``.
    Same arguments and errors as ``evaluate``."""
    return _Evaluator(panel, universe_mask, pasteurization, nan_handling, budget).run(program, fold_sign=True)


class _Evaluator:
    def __init__(self, panel: Panel, universe_mask, pasteurization: bool, nan_handling: bool,
                 budget: EvalBudget | None = None):
        self.panel = panel
        self.shape = (panel.T, panel.N)
        if universe_mask is not None and universe_mask.shape != self.shape:
            raise EvaluationError(f"universe mask has shape {universe_mask.shape}, panel is {self.shape}")
        self.universe = universe_mask
        self._outside: np.ndarray | None = None
        self.pasteurization = pasteurization and universe_mask is not None
        self.nan_handling = nan_handling
        self.variables: dict[str, Value] = {}
        self.memo: dict[ast.Node, Value] = {}
        self.refs: dict[ast.Node, int] = {}  # parents still to read each call node's value
        self.catalogue = catalogue()
        self.budget = budget or default_budget()

    def run(self, program: ast.Program, fold_sign: bool = False):
        root, sign = program.result, 1.0
        while fold_sign and _is_negation(root):
            root, sign = root.args[0], -sign
        steps = plan(program, root, *self.shape)
        problem = steps.over(self.budget)
        if problem:
            raise BudgetExceeded(problem)
        self.refs = steps.refs
        with np.errstate(all="ignore"):  # overflow and 0/0 are NaN by definition (FASTEXPR.md §6), not a warning
            for statement in program.statements:
                self.variables[statement.name] = self.eval(statement.value)
            out = self.eval(root)
        if isinstance(out, str):
            raise EvaluationError("the alpha is a string, not a value")
        out = self.matrix(out)
        if not out.flags.writeable:
            out = out.copy()
        return (out, sign) if fold_sign else out

    # ------------------------------------------------------------------ values

    def matrix(self, value: Value) -> np.ndarray:
        """Broadcast a constant to a fresh (T, N) array; pass (T, N) arrays through."""
        if isinstance(value, np.ndarray) and value.ndim == 2:
            return value
        return np.full(self.shape, float(value))

    def eval(self, node: ast.Node) -> Value:
        if isinstance(node, ast.Number):
            return float(node.value)
        if isinstance(node, ast.Bool):
            return 1.0 if node.value else 0.0
        if isinstance(node, ast.String):
            return node.value
        if isinstance(node, ast.Ident):
            return self.ident(node)
        if not isinstance(node, ast.Call):
            raise EvaluationError(f"non-canonical node {type(node).__name__}: canonicalize the program first")
        cached = self.memo.get(node)
        if cached is None:
            cached = self.call(node)
            if isinstance(cached, np.ndarray) and cached.ndim == 0:
                cached = float(cached)  # a constant sub-expression (abs(2)) folds to a scalar
            self.memo[node] = cached
            self.release(node)
        return cached

    def release(self, node: ast.Call) -> None:
        """Forget the values only ``node`` still needed: its argument nodes whose last reader it was."""
        for child in children(node):
            left = self.refs.get(child)
            if left is not None:
                if left <= 1:
                    del self.refs[child]
                    self.memo.pop(child, None)
                else:
                    self.refs[child] = left - 1

    def ident(self, node: ast.Ident) -> Value:
        if node.name in self.variables:
            return self.variables[node.name]
        if node.name in ("true", "false"):
            return 1.0 if node.name == "true" else 0.0
        if self.panel.has(node.name):
            return self.panel[node.name]
        raise UnsupportedLocal(f"data field '{node.name}' is not available on the local panel ({self.panel.label})")

    def constant(self, node: ast.Node, kind: str) -> Any:
        """A compile-time constant argument as a Python value of its kind."""
        if isinstance(node, ast.Number):
            value: Any = node.value
        elif isinstance(node, ast.Bool):
            value = node.value
        elif isinstance(node, ast.String):
            value = node.value
        elif isinstance(node, ast.Ident):  # bare enum word (gaussian) or true/false
            value = {"true": True, "false": False}.get(node.name, node.name)
        else:
            raise EvaluationError(f"argument of kind {kind} must be a constant")
        return _coerce(value, kind)

    # ------------------------------------------------------------------- calls

    def call(self, node: ast.Call) -> Value:
        spec = self.catalogue.get(node.name)
        if spec is None:
            raise EvaluationError(f"unknown operator '{node.name}'")
        if node.name == "ts_step":
            return np.broadcast_to(np.arange(1.0, self.shape[0] + 1)[:, None], self.shape).copy()
        if node.name == "pasteurize":
            x = self.matrix(self.eval(node.args[0]))
            return x if self.universe is None else self.mask(x)
        kernel = KERNELS.get(node.name)
        if kernel is None:
            raise UnsupportedLocal(f"operator '{node.name}' is BRAIN-only: it cannot be simulated locally")
        bound = bind(spec, node.args, [(k.name, k.value) for k in node.kwargs])
        elementwise = spec.category in ELEMENTWISE_CATEGORIES and node.name != "densify"
        masked = self.pasteurization and spec.category in PASTEURIZED_CATEGORIES
        fused = masked and node.name in MASK_AWARE_OPS and not spec.variadic
        masked = masked and not fused
        if spec.variadic:
            inputs = [self.value_arg(n, elementwise, masked) for n in bound.inputs]
            options = {p.name: (self.constant(bound.args[p.name], p.kind) if p.name in bound.args else p.default)
                       for p in spec.params if not p.variadic and p.keyword_only}
            out = kernel(*inputs, **options)
        else:
            params = self.params(spec, bound.args, elementwise, masked)
            if node.name in NAN_HANDLING_GROUP_OPS:
                params["nan_handling"] = self.nan_handling
            if fused:
                params["exclude"] = self.outside()
            out = kernel(**params)
            if self.nan_handling and spec.category == "Time Series":
                out = self.zero_all_nan_windows(out, params)
        return out

    def params(self, spec: OperatorSpec, given: dict[str, ast.Node], elementwise: bool, masked: bool) -> dict:
        params: dict[str, Any] = {}
        for p in spec.params:
            if p.name in given:
                node = given[p.name]
                if p.kind in VALUE_KINDS or p.kind.startswith("group"):
                    params[p.name] = self.value_arg(node, elementwise, masked and p.kind in VALUE_KINDS)
                else:
                    params[p.name] = self.constant(node, p.kind)
            elif p.default is not REQUIRED:
                params[p.name] = _coerce(p.default, p.kind) if p.default is not None else None
            else:
                raise EvaluationError(f"{spec.name}: missing argument '{p.name}'")
        return params

    def value_arg(self, node: ast.Node, elementwise: bool, masked: bool) -> Value:
        value = self.eval(node)
        if isinstance(value, str):
            raise EvaluationError("a string cannot be used as a value")
        if elementwise:
            return value
        value = self.matrix(value)
        if masked:
            value = self.mask(value)
        return value

    def mask(self, value: np.ndarray) -> np.ndarray:
        """A new array: ``value`` inside the universe mask, NaN outside (one pass for C-ordered float64)."""
        u = self.universe
        if (value.dtype == np.float64 and value.flags.c_contiguous and u.dtype == np.bool_
                and u.flags.c_contiguous and value.shape == u.shape):
            return _masked(value, u)
        return np.where(u, value, np.nan)

    def outside(self) -> np.ndarray:
        """(T, N) bool: True outside the universe mask (computed once per evaluation)."""
        if self._outside is None:
            self._outside = ~np.asarray(self.universe, dtype=np.bool_)
        return self._outside

    def zero_all_nan_windows(self, out: np.ndarray, params: dict) -> np.ndarray:
        """NaN handling ON: a time-series window that is entirely NaN gives 0 (SIMULATION.md §1)."""
        window = next((params[k] for k in WINDOW_PARAMS if isinstance(params.get(k), int)), None)
        x = params.get("x", params.get("y"))
        if window is None or not isinstance(x, np.ndarray) or window > x.shape[0]:
            return out
        valid = bn.move_sum(np.isfinite(x).astype(np.float64), window, min_count=window, axis=0)
        return np.where(valid == 0, 0.0, out)


def _is_negation(node: ast.Node) -> bool:
    return isinstance(node, ast.Call) and node.name == "reverse" and len(node.args) == 1 and not node.kwargs


def _coerce(value: Any, kind: str) -> Any:
    """Convert a constant to the Python type its parameter kind expects."""
    if kind in ("window", "lag", "int"):
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            if not -MAX_WINDOW <= value <= MAX_WINDOW:  # also NaN; lint reports E_WINDOW_TOO_LONG first
                raise EvaluationError(f"{kind} {value!r} is outside +-{MAX_WINDOW} (the longest window any panel "
                                      f"can use)")
            return int(np.floor(value))
        raise EvaluationError(f"expected an integer, got {value!r}")
    if kind == "bool":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if kind == "const":
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, (int, float)):
            return float(value)
        return value  # enum word passed to a const slot; the kernel validates it
    if kind == "string":
        return value if isinstance(value, str) else str(value)
    return value
