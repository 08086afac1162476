"""Typed genetic operators on the canonical FastExpr AST (issue 12: "typed genetic programming").

A canonical program (``alpha_core.expr.lint(text).program``) holds only ``Call``, ``Ident``, ``Number``,
``String`` and ``Bool`` nodes. Every argument position has a *kind* from the operator catalogue
(``operators.csv``, FASTEXPR.md §5): value inputs (``value``, ``weight``, ``cond``), ``group`` slots,
and constants (``window``, ``lag``, ``int``, ``const``...). The operators here only ever exchange
**value sub-trees** (a call or a data field sitting in a value slot), so windows stay integer literals and
groups stay group fields: a child is well-typed by construction and lint has the last word.

- ``value_paths(program)``: where the value sub-trees are (root included);
- ``crossover(a, b, rng)``: a value sub-tree of ``a`` replaced by one of ``b`` (one child);
- ``subtree_mutation(a, rng, fields, groups)``: a value sub-tree replaced by a small random tree
  (``random_expression`` over ``SEARCH_OPERATORS``);
- ``size(node)`` / ``depth(node)``: bloat control (children above ``MAX_NODES`` / ``MAX_DEPTH`` are dropped).

Selection (tournament, elitism) is DEAP's (``alpha_core.gen.search``); these are the FastExpr-specific parts.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from alpha_core.expr.ast import Call, Ident, Keyword, Number, Program
from alpha_core.expr.catalogue import VALUE_KINDS, catalogue

MAX_NODES = 40
MAX_DEPTH = 7

#: Operators random sub-trees are grown from: the cross-sectional and time-series workhorses of public
#: BRAIN alphas (all simulated locally), so GP explores forms a researcher would write.
SEARCH_OPERATORS = ("rank", "zscore", "scale", "ts_delta", "ts_mean", "ts_rank", "ts_zscore", "ts_std_dev",
                    "ts_corr", "ts_decay_linear", "ts_sum", "ts_av_diff", "ts_delay", "ts_scale",
                    "group_rank", "group_neutralize", "abs", "log", "sign", "signed_power", "add", "subtract",
                    "multiply", "divide", "reverse", "winsorize", "ts_backfill")

Path = tuple[tuple[str, int], ...]   # ('arg', i) / ('kw', i) steps from the root


def _slot_kinds(call: Call) -> tuple[list[str], list[str]]:
    """Kinds of the positional and keyword arguments of ``call`` ('value' for a variadic input)."""
    spec = catalogue().get(call.name)
    if spec is None:
        return ["?"] * len(call.args), ["?"] * len(call.kwargs)
    if spec.variadic:
        pos = ["value"] * len(call.args)
    else:
        positional = [p for p in spec.params if not p.keyword_only]
        pos = [positional[i].kind if i < len(positional) else "?" for i in range(len(call.args))]
    kws = []
    for k in call.kwargs:
        p = spec.param(k.name)
        kws.append(p.kind if p is not None else "?")
    return pos, kws


def value_paths(program: Program, include_root: bool = True) -> list[Path]:
    """Paths of every value sub-tree (a call, or a data field in a value slot) of the alpha expression.

    Group slots, constants (windows, lags, numbers) and keyword constants are never returned."""
    out: list[Path] = [()] if include_root else []

    def walk(node, path):
        if not isinstance(node, Call):
            return
        pos, kws = _slot_kinds(node)
        for i, (a, kind) in enumerate(zip(node.args, pos)):
            if kind in VALUE_KINDS and isinstance(a, (Call, Ident)):
                out.append(path + (("arg", i),))
            walk(a, path + (("arg", i),))
        for i, (k, kind) in enumerate(zip(node.kwargs, kws)):
            if kind in VALUE_KINDS and isinstance(k.value, (Call, Ident)):
                out.append(path + (("kw", i),))
            walk(k.value, path + (("kw", i),))

    walk(program.result, ())
    return out


def get_at(node, path: Path):
    """The sub-tree of ``node`` at ``path``."""
    for kind, i in path:
        node = node.args[i] if kind == "arg" else node.kwargs[i].value
    return node


def replace_at(node, path: Path, new):
    """A copy of ``node`` with the sub-tree at ``path`` replaced by ``new``."""
    if not path:
        return new
    (kind, i), rest = path[0], path[1:]
    if kind == "arg":
        args = list(node.args)
        args[i] = replace_at(args[i], rest, new)
        return replace(node, args=tuple(args))
    kwargs = list(node.kwargs)
    kwargs[i] = Keyword(kwargs[i].name, replace_at(kwargs[i].value, rest, new))
    return replace(node, kwargs=tuple(kwargs))


def size(node) -> int:
    """Number of nodes of a sub-tree (keyword values included)."""
    if isinstance(node, Call):
        return 1 + sum(size(a) for a in node.args) + sum(size(k.value) for k in node.kwargs)
    return 1


def depth(node) -> int:
    """Call nesting depth of a sub-tree (a leaf is 0)."""
    if isinstance(node, Call):
        kids = list(node.args) + [k.value for k in node.kwargs]
        return 1 + max((depth(k) for k in kids), default=0)
    return 0


def fields_of(node) -> set[str]:
    """Identifiers (data fields and group fields) used by a sub-tree."""
    if isinstance(node, Ident):
        return {node.name}
    if isinstance(node, Call):
        out: set[str] = set()
        for a in list(node.args) + [k.value for k in node.kwargs]:
            out |= fields_of(a)
        return out
    return set()


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _fits(node) -> bool:
    return size(node) <= MAX_NODES and depth(node) <= MAX_DEPTH


def crossover(a: Program, b: Program, rng: np.random.Generator) -> Program | None:
    """One child: a value sub-tree of ``a`` (the root only when ``a`` has no other) replaced by a value
    sub-tree of ``b``; None when the child is too large (``MAX_NODES`` / ``MAX_DEPTH``) or equals ``a``."""
    targets = value_paths(a, include_root=False) or [()]
    donors = value_paths(b)
    target, donor = _pick(rng, targets), _pick(rng, donors)
    child = replace_at(a.result, target, get_at(b.result, donor))
    if child == a.result or not _fits(child):
        return None
    return replace(a, result=child)


def subtree_mutation(a: Program, rng: np.random.Generator, fields: Sequence[str], groups: Sequence[str],
                     max_depth: int = 2) -> Program | None:
    """One child: a value sub-tree of ``a`` replaced by a random tree of depth <= ``max_depth`` over
    ``SEARCH_OPERATORS``, ``fields`` (value leaves) and ``groups`` (group slots); None when the random
    tree does not lint clean or the child is too large."""
    from alpha_core.expr import lint
    from alpha_core.gen.random_expr import random_expression

    text = random_expression(rng, list(fields), list(groups), max_depth=max_depth, ops=SEARCH_OPERATORS,
                             p_constant=0.0, p_long_window=0.0, p_optional=0.1)
    res = lint(text)
    if not res.ok or res.program is None:
        return None
    target = _pick(rng, value_paths(a))
    child = replace_at(a.result, target, res.program.result)
    if child == a.result or not _fits(child):
        return None
    return replace(a, result=child)


def number_paths(program: Program) -> list[tuple[Path, int, str]]:
    """(path of the call, argument index, operator name) of every window / lag literal of the alpha."""
    out = []

    def walk(node, path):
        if not isinstance(node, Call):
            return
        pos, _ = _slot_kinds(node)
        for i, (arg, kind) in enumerate(zip(node.args, pos)):
            if kind in ("window", "lag") and isinstance(arg, Number):
                out.append((path, i, node.name))
            walk(arg, path + (("arg", i),))
        for i, k in enumerate(node.kwargs):
            walk(k.value, path + (("kw", i),))

    walk(program.result, ())
    return out
