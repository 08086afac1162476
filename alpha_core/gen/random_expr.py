"""Random well-formed FastExpr expressions, driven by the operator catalogue (FASTEXPR.md §5).

``random_expression`` grows a random tree from ``operators.csv``: every call has a legal arity, each
parameter gets an argument of its kind (value inputs are sub-trees, group parameters get a group field
or a group-returning call, windows/lags/ints/consts/bools/enum strings get sensible literals), optional
parameters are sometimes given positionally and sometimes by keyword, arithmetic and comparisons are
sometimes written infix. On purpose it also produces what a careless author writes: constant
sub-expressions in value positions (``ts_mean(abs(2), 5)``) and, rarely, windows longer than the panel.

Well-formed means it parses; nearly all outputs lint clean (lint still decides). The random initial
population of the genetic search and the fuzz tests (``tests/core/sim/test_random_trees.py``,
``bench/fuzz.py``) use it.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

import numpy as np

from alpha_core.expr.catalogue import REQUIRED, OperatorSpec, Param, catalogue
from alpha_core.expr.lint import GROUP_RESULT

__all__ = ["random_expression", "default_operators"]

WINDOWS = (1, 2, 3, 5, 10, 20, 40, 60, 120, 250)
LONG_WINDOWS = (513, 1000, 1500, 2520, 5000)
LAGS = (1, 2, 3, 5, 10, 20)
LITERALS = (-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 10.0)
_CONSTS = {  # sensible values per parameter name (lower case); unknown const parameters use LITERALS
    "hump": (0.001, 0.01, 0.05, 0.1), "sensitivity": (0.25, 0.5, 1.0), "force": (0.05, 0.1, 0.5),
    "std": (1.0, 2.0, 3.0, 4.0), "sigma": (0.5, 1.0, 2.0), "constant": (-1.0, 0.0, 0.5, 1.0),
    "rate": (0.0, 1.0, 2.0), "scale": (0.5, 1.0, 2.0), "longscale": (0.5, 1.0, 2.0),
    "shortscale": (0.5, 1.0, 2.0), "limit": (0.0, 1.0, 2.0, 3.0), "value": (-1.0, 0.0, 1.0),
    "lower": (-1.0, -0.5, 0.0), "upper": (0.0, 0.5, 1.0), "newval": (-1.0, 0.0, 1.0),
    "lambda_min": (0.0, 0.1), "lambda_max": (0.5, 1.0), "target_tvr": (0.05, 0.1, 0.2), "factor": (0.5, 0.9),
}
_INTS = {"k": (1, 2, 3), "rettype": tuple(range(10)), "mode": (1, 2), "nlength": (20, 60, 250)}
_STRINGS = {"driver": ('"gaussian"', '"uniform"', '"cauchy"', "gaussian"), "ignore": ('"NaN"',),
            "range": ('"0,1,0.1"', '"-1,1,0.25"', '"0,100,10"'), "buckets": ('"0.2,0.5,0.8"', '"-1,0,1"')}
_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "greater": ">", "greater_equal": ">=",
          "less": "<", "less_equal": "<=", "equal": "==", "not_equal": "!=", "and": "&&", "or": "||"}
_ELEMENTWISE = frozenset({"Arithmetic", "Logical"})


def default_operators() -> tuple[str, ...]:
    """Names of the operators simulated locally and legal in a REGULAR alpha (no vector operators), sorted."""
    return tuple(sorted(name for name, spec in catalogue().operators.items()
                        if spec.local and "REGULAR" in spec.scope and all(p.kind != "vector" for p in spec.params)))


def random_expression(rng: np.random.Generator, fields: Sequence[str], group_fields: Sequence[str],
                      max_depth: int = 4, ops: Iterable[str] | None = None, *, p_leaf: float = 0.3,
                      p_optional: float = 0.3, p_keyword: float = 0.3, p_infix: float = 0.3,
                      p_constant: float = 0.05, p_long_window: float = 0.02) -> str:
    """One random well-formed FastExpr expression (a single statement, no assignments).

    ``fields`` are the value data fields leaves are drawn from (e.g. ``close``, ``volume``; at least one),
    ``group_fields`` the GROUP fields for group parameters (e.g. ``sector``; at least one). ``max_depth``
    (>= 1) bounds the call nesting; the root is always a call. ``ops`` restricts the operators (default
    ``default_operators()``); unknown names raise ``ValueError``; an operator whose parameters need kinds
    the generator cannot produce (vector) is skipped. Probabilities: ``p_leaf`` a value argument below the
    root is a leaf, ``p_optional`` each optional parameter is given, ``p_keyword`` a call switches to
    keywords early, ``p_infix`` arithmetic/comparisons are written infix, ``p_constant`` a leaf is a
    constant sub-expression such as ``abs(2)`` instead of a data field, ``p_long_window`` a window/lag is
    longer than 512 days (W_LONG_WINDOW). Set the last two to 0 for search populations.

    Returns the expression text, deterministic for a given ``rng`` state. It always contains a data field
    (a tree of constants gets ``+ field`` at the root, so E_NO_DATA_FIELD cannot occur) and always parses;
    lint decides whether it is clean (2,000 of 2,000 were with the defaults, depth 4, the real panel's fields).
    Operator signatures and parameter kinds come from ``operators.csv`` (FASTEXPR.md §5).
    """
    if not fields or not group_fields:
        raise ValueError("random_expression needs at least one value field and one group field")
    if max_depth < 1:
        raise ValueError(f"max_depth must be >= 1, got {max_depth}")
    cat = catalogue()
    names = default_operators() if ops is None else tuple(ops)
    unknown = [n for n in names if cat.get(n) is None]
    if unknown:
        raise ValueError(f"unknown operators: {', '.join(unknown)}")
    specs = [cat.get(n) for n in names]
    specs = [s for s in specs if all(p.kind != "vector" for p in s.params)]
    if not any(s.name not in GROUP_RESULT and s.name != "ts_step" for s in specs):
        raise ValueError("ops holds no operator that returns a value from an input")
    builder = _Builder(rng, tuple(fields), tuple(group_fields), specs, p_leaf, p_optional, p_keyword, p_infix,
                       p_constant, p_long_window)
    return builder.value(max_depth, root=True)


class _Builder:
    def __init__(self, rng, fields, group_fields, specs, p_leaf, p_optional, p_keyword, p_infix, p_constant,
                 p_long_window):
        self.rng, self.fields, self.group_fields = rng, fields, group_fields
        self.value_ops = [s for s in specs if s.name not in GROUP_RESULT and s.name != "ts_step"]
        self.group_ops = [s for s in specs if s.name in GROUP_RESULT]
        self.constant_ops = [s for s in specs if s.category in _ELEMENTWISE
                             and all(p.kind in ("value", "cond") or p.default is not REQUIRED for p in s.params)]
        self.has_step = any(s.name == "ts_step" for s in specs)
        self.p_leaf, self.p_optional, self.p_keyword, self.p_infix = p_leaf, p_optional, p_keyword, p_infix
        self.p_constant, self.p_long_window = p_constant, p_long_window
        self.literal_mode = 0  # > 0 while building a constant sub-expression: value inputs are literals

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    # ------------------------------------------------------------------ nodes
    def value(self, depth: int, root: bool = False) -> str:
        if root:
            text = self.call(self.pick(self.value_ops), depth - 1)
            if not set(self.fields) & set(re.findall(r"[A-Za-z_]\w*", text)):  # only constants: anchor on a field
                text = f"{text} + {self.pick(self.fields)}"
            return text
        if self.literal_mode:
            if depth > 0 and self.constant_ops and self.chance(0.2):
                return self.call(self.pick(self.constant_ops), depth - 1)
            return _number(self.pick(LITERALS))
        if depth <= 0 or self.chance(self.p_leaf):
            if self.constant_ops and self.chance(self.p_constant):
                self.literal_mode += 1
                try:
                    return self.call(self.pick(self.constant_ops), 1)
                finally:
                    self.literal_mode -= 1
            if self.has_step and self.chance(0.02):
                return "ts_step(1)"
            return self.pick(self.fields)
        return self.call(self.pick(self.value_ops), depth - 1)

    def group(self, depth: int) -> str:
        if depth <= 0 or self.literal_mode or not self.group_ops or self.chance(0.7):
            return self.pick(self.group_fields)
        return self.call(self.pick(self.group_ops), depth - 1)

    def argument(self, spec: OperatorSpec, p: Param, depth: int) -> str:
        kind = p.kind
        if kind in ("value", "weight", "cond"):
            if kind == "weight" and self.chance(0.5):
                return "1"
            if self.literal_mode and (spec.name, p.name) in (("divide", "y"), ("inverse", "x")):
                return _number(self.pick([v for v in LITERALS if v != 0.0]))  # a literal 0 divisor is E_DIV_ZERO
            return self.value(depth)
        if kind == "group":
            return self.group(depth)
        if kind == "group|value":  # densify: a group, or numeric ids from a data field (never a constant)
            return self.group(depth) if self.literal_mode or self.chance(0.5) else self.pick(self.fields)
        return self.constant(spec, p)

    def constant(self, spec: OperatorSpec, p: Param) -> str:
        key = p.name.lower()
        if spec.name == "ts_step":
            return "1"
        if p.kind in ("window", "lag"):
            if self.chance(self.p_long_window):
                return _number(self.pick(LONG_WINDOWS))
            if spec.name == "ts_regression" and key == "lag":
                return _number(self.pick((0, 1, 2, 5)))
            return _number(self.pick(WINDOWS if p.kind == "window" else LAGS))
        if p.kind == "int":
            return _number(self.pick(_INTS.get(key, (1, 2, 3))))
        if p.kind == "bool":
            return self.pick(("true", "false"))
        if p.kind == "string":
            return self.pick(_STRINGS.get(key, ('"NaN"',)))
        return _number(self.pick(_CONSTS.get(key, LITERALS)))

    # ------------------------------------------------------------------ calls
    def call(self, spec: OperatorSpec, depth: int) -> str:
        if spec.variadic:
            return self.variadic(spec, depth)
        given: list[tuple[Param, str]] = []
        if spec.name == "bucket":
            choice = self.pick(("range", "buckets"))
            params = [p for p in spec.params if p.name == "x" or p.name == choice
                      or (p.kind == "bool" and self.chance(self.p_optional / 2))]
        else:
            params = [p for p in spec.params if p.default is REQUIRED or self.chance(self.p_optional)]
        for p in params:
            given.append((p, self.argument(spec, p, depth)))
        # positional while the parameters are contiguous from the first, then keywords
        positional = 0
        for i, (p, _) in enumerate(given):
            if p.keyword_only or spec.params[i] is not p:
                break
            positional = i + 1
        if positional > 1 and self.chance(self.p_keyword):
            positional = int(self.rng.integers(1, positional))  # some parameters by keyword although they fit
        parts = [a for _, a in given[:positional]] + [f"{p.name}={a}" for p, a in given[positional:]]
        if positional == len(given) and spec.name in _INFIX and len(parts) == 2 and self.chance(self.p_infix):
            return f"({parts[0]} {_INFIX[spec.name]} {parts[1]})"
        if spec.name == "reverse" and positional == 1 and self.chance(self.p_infix):
            return f"(-{parts[0]})"
        if spec.name == "if_else" and positional == 3 and self.chance(self.p_infix):
            return f"({parts[0]} ? {parts[1]} : {parts[2]})"
        return f"{spec.name}({', '.join(parts)})"

    def variadic(self, spec: OperatorSpec, depth: int) -> str:
        n = spec.min_args + int(self.rng.integers(0, 2)) + (1 if self.chance(0.1) else 0)
        inputs = [self.value(depth) for _ in range(n)]
        flag = next((p for p in spec.params if p.keyword_only), None)
        if flag is not None and self.chance(self.p_optional):
            return f"{spec.name}({', '.join(inputs)}, {flag.name}={self.pick(('true', 'false'))})"
        if spec.name in _INFIX and self.chance(self.p_infix):
            return "(" + f" {_INFIX[spec.name]} ".join(inputs) + ")"
        return f"{spec.name}({', '.join(inputs)})"


def _number(v: float) -> str:
    """A literal as a FastExpr number: integers without a decimal point, others by Python's shortest repr."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
