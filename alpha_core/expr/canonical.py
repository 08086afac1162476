"""Canonical form, canonical text and alpha identity (FASTEXPR.md §9; docs/DESIGN.md "Canonical AST").

``canonicalize`` maps any parsed program to the canonical AST the evaluator consumes: only
``Number``, ``String``, ``Bool``, ``Ident`` and ``Call`` nodes (plus the ``Assign`` statements), infix
and ternary forms desugared to operator calls, constants folded, nested ``add``/``multiply`` without
``filter`` flattened, keywords in catalogue spelling and signature order, defaults dropped.
``to_text`` prints it (minimal parentheses, one space around binary operators and after commas).
``alpha_hash`` is the identity of (canonical text, settings).
"""
from __future__ import annotations

import hashlib
import json
import math

from .ast import Assign, Binary, Bool, Call, Ident, Keyword, Number, Program, String, Ternary, Unary
from .catalogue import REQUIRED, BindError, Bound, bind, catalogue
from .parser import ensure_recursion_limit

INFIX_CALLS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "<": "less", "<=": "less_equal",
               ">": "greater", ">=": "greater_equal", "==": "equal", "!=": "not_equal", "&&": "and", "||": "or"}
"""Infix operator -> operator call (FASTEXPR.md §3)."""

_PRINT_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "less": "<", "less_equal": "<=",
                "greater": ">", "greater_equal": ">=", "equal": "==", "not_equal": "!="}
_CMP, _SUM, _PROD, _UNARY, _ATOM = 2, 3, 4, 5, 6
_PREC = {"add": _SUM, "subtract": _SUM, "multiply": _PROD, "divide": _PROD, "less": _CMP, "less_equal": _CMP,
         "greater": _CMP, "greater_equal": _CMP, "equal": _CMP, "not_equal": _CMP}
_FLATTEN = ("add", "multiply")


def call_view(node):
    """``(name, args, kwargs)`` of a call-like node: infix, prefix minus, ternary or call; else None.

    ``kwargs`` is a tuple of ``Keyword``. Unary plus is not call-like (it is dropped): None.
    """
    if isinstance(node, Call):
        return node.name, node.args, node.kwargs
    if isinstance(node, Binary):
        return INFIX_CALLS[node.op], (node.left, node.right), ()
    if isinstance(node, Unary):
        return ("reverse", (node.operand,), ()) if node.op == "-" else None
    if isinstance(node, Ternary):
        return "if_else", (node.cond, node.then, node.other), ()
    return None


def fold(name: str, values: list[float]) -> float | None:
    """Fold an arithmetic operator over constant ``values``; None when not foldable.

    Only add, subtract, multiply, divide and reverse are folded ("arithmetic of literals",
    FASTEXPR.md §5); division by zero and non-finite results are never folded (lint reports
    E_DIV_ZERO instead of producing inf/NaN).
    """
    try:
        if name == "add" and len(values) >= 2:
            out = sum(values[1:], values[0])
        elif name == "multiply" and len(values) >= 2:
            out = values[0]
            for v in values[1:]:
                out *= v
        elif name == "subtract" and len(values) == 2:
            out = values[0] - values[1]
        elif name == "divide" and len(values) == 2:
            if values[1] == 0:
                return None
            out = values[0] / values[1]
        elif name == "reverse" and len(values) == 1:
            out = -values[0]
        else:
            return None
    except (OverflowError, ZeroDivisionError):
        return None
    if not math.isfinite(out):
        return None
    return out if out != 0 else 0.0


_BIND_CACHE: dict = {}


def bind_call(spec, args, kwargs):
    """``catalogue.bind`` memoised on the call's shape (operator, positional count, keyword names).

    ``kwargs`` are ``(name, value)`` pairs. Returns ``Bound`` or raises the same ``BindError`` as
    ``bind``. The shape decides the binding, so it is computed once with index placeholders.
    """
    key = (spec.name, len(args), tuple(name for name, _ in kwargs))
    shape = _BIND_CACHE.get(key)
    if shape is None:
        try:
            placeholder = bind(spec, list(range(len(args))), [(n, -1 - i) for i, (n, _) in enumerate(kwargs)])
            shape = (placeholder.args, placeholder.inputs)
        except BindError as exc:
            shape = exc
        if len(_BIND_CACHE) < 100_000:
            _BIND_CACHE[key] = shape
    if isinstance(shape, BindError):
        raise BindError(shape.code, shape.message, shape.keyword)
    values = list(args) + [v for _, v in kwargs]

    def pick(i):
        return values[i] if i >= 0 else values[len(args) - 1 - i]

    return Bound({name: pick(i) for name, i in shape[0].items()}, tuple(pick(i) for i in shape[1]))


def constant_of(node) -> float | None:
    """The float value of a canonical constant node (Number, or Bool as 1.0/0.0), else None."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Bool):
        return 1.0 if node.value else 0.0
    return None


def canonicalize(program: Program) -> Program:
    """The canonical AST of ``program`` (FASTEXPR.md §9, docs/DESIGN.md "Canonical AST").

    Works on any parsed program: calls that do not bind to the catalogue (unknown operator, wrong
    arity) are kept with their arguments canonicalized, so lint decides what is an error. Names of
    assigned variables are not turned into enum strings. Never raises for a parsed program.
    """
    ensure_recursion_limit()
    variables = frozenset(a.name for a in program.statements)
    statements = tuple(Assign(a.name, _canon(a.value, variables), a.span) for a in program.statements)
    return Program(statements, _canon(program.result, variables), program.span)


def _canon(node, variables):
    if isinstance(node, Number):
        return node if node.value != 0 else Number(0.0, node.span)
    if isinstance(node, (String, Bool, Ident)):
        return node
    if isinstance(node, Unary) and node.op == "+":
        return _canon(node.operand, variables)
    name, args, kwargs = call_view(node)
    args = [_canon(a, variables) for a in args]
    kws = [Keyword(k.name, _canon(k.value, variables), k.span) for k in kwargs]
    return _normalize_call(name, args, kws, node.span, variables)


def _normalize_const(kind: str, value, variables):
    if kind == "string" and isinstance(value, Ident) and value.name not in variables:
        return String(value.name, value.span)
    if kind == "bool" and isinstance(value, Number) and value.value in (0.0, 1.0):
        return Bool(value.value == 1.0, value.span)
    if kind in ("const", "int", "window", "lag") and isinstance(value, Bool):
        return Number(1.0 if value.value else 0.0, value.span)
    return value


def _is_default(default, value) -> bool:
    if default is REQUIRED or default is None:
        return False
    if isinstance(default, bool):
        return isinstance(value, Bool) and value.value == default
    if isinstance(default, float):
        return isinstance(value, Number) and value.value == default
    if isinstance(default, str):
        return isinstance(value, String) and value.value.lower() == default.lower()
    return False


def _normalize_call(name, args, kws, span, variables):
    spec = catalogue().get(name)
    if spec is None:
        return Call(name, tuple(args), tuple(kws), span)
    try:
        bound = bind_call(spec, args, [(k.name, k.value) for k in kws])
    except BindError:
        return Call(name, tuple(args), tuple(kws), span)
    keywords: list[Keyword] = []
    if spec.variadic:
        positional = list(bound.inputs)
    else:
        positional = [bound.args[p.name] for p in spec.params
                      if p.default is REQUIRED and not p.variadic and p.name in bound.args]
    for p in spec.params:
        if p.variadic or p.default is REQUIRED or p.name not in bound.args:
            continue
        value = _normalize_const(p.kind, bound.args[p.name], variables)
        if not _is_default(p.default, value):
            keywords.append(Keyword(p.name, value, getattr(value, "span", (0, 0))))
    if name in _FLATTEN and not keywords:
        flat = []
        for a in positional:
            if isinstance(a, Call) and a.name == name and not a.kwargs:
                flat.extend(a.args)
            else:
                flat.append(a)
        positional = _fold_leading_constants(name, flat)
        if len(positional) == 1:
            return positional[0]
    if name == "reverse" and len(positional) == 1:
        inner = positional[0]
        if isinstance(inner, Call) and inner.name == "reverse" and len(inner.args) == 1 and not inner.kwargs:
            return inner.args[0]
    values = [constant_of(a) for a in positional]
    if values and all(v is not None for v in values):
        folded = fold(name, values)
        if folded is not None:
            return Number(folded, span)
    return Call(name, tuple(positional), tuple(keywords), span)


def _fold_leading_constants(name: str, inputs: list) -> list:
    """Fold the leading constant inputs of a flattened add/multiply, left to right, while finite.

    The printed chain ``2 * 3 * x`` re-parses left-associatively as ``(2 * 3) * x``, whose inner call
    folds; folding the same prefix here (same order, same float result) keeps the canonical form a
    fixed point of parse + canonicalize.
    """
    if len(inputs) < 2 or constant_of(inputs[0]) is None:
        return inputs
    acc, used = constant_of(inputs[0]), 1
    while used < len(inputs):
        value = constant_of(inputs[used])
        folded = fold(name, [acc, value]) if value is not None else None
        if folded is None:
            break
        acc, used = folded, used + 1
    if used < 2:
        return inputs
    return [Number(acc, inputs[0].span)] + inputs[used:]


# ------------------------------------------------------------------ printing


def format_number(value: float) -> str:
    """Shortest round-trip text of a finite float: ``20`` not ``20.0``, ``0.5``, ``1e-05``.

    Raises ValueError for inf/NaN (never produced by the parser or the canonical form).
    """
    if not math.isfinite(value):
        raise ValueError(f"cannot print non-finite number {value!r}")
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def to_text(program: Program) -> str:
    """Canonical text of ``program`` (FASTEXPR.md §9): statements joined by ``"; "``, no trailing ``;``.

    Meant for a canonical program; a raw parsed program prints too (infix desugared to calls where
    the canonical form would, without folding).
    """
    ensure_recursion_limit()
    parts = [f"{a.name} = {_print(a.value)[0]}" for a in program.statements]
    parts.append(_print(program.result)[0])
    return "; ".join(parts)


def _wrap(printed, need_parens: bool) -> str:
    return f"({printed[0]})" if need_parens else printed[0]


def _print(node) -> tuple[str, int]:
    if isinstance(node, Number):
        text = format_number(node.value)
        return text, _UNARY if text.startswith("-") else _ATOM
    if isinstance(node, String):
        quote = "'" if '"' in node.value else '"'
        return f"{quote}{node.value}{quote}", _ATOM
    if isinstance(node, Bool):
        return ("true" if node.value else "false"), _ATOM
    if isinstance(node, Ident):
        return node.name, _ATOM
    if isinstance(node, Unary) and node.op == "+":
        return _print(node.operand)
    view = call_view(node)
    if view is None:
        raise TypeError(f"cannot print {type(node).__name__} node")
    name, args, kwargs = view
    if not kwargs:
        if name == "reverse" and len(args) == 1:
            inner = _print(args[0])
            return "-" + _wrap(inner, inner[1] < _UNARY or inner[0].startswith("-")), _UNARY
        op = _PRINT_INFIX.get(name)
        if op is not None and (len(args) == 2 or (name in _FLATTEN and len(args) > 2)):
            prec = _PREC[name]
            printed = [_print(a) for a in args]
            first_limit = prec + 1 if prec == _CMP else prec
            texts = [_wrap(printed[0], printed[0][1] < first_limit)]
            texts += [_wrap(p, p[1] <= prec) for p in printed[1:]]
            return f" {op} ".join(texts), prec
    inner = [_print(a)[0] for a in args] + [f"{k.name}={_print(k.value)[0]}" for k in kwargs]
    return f"{name}({', '.join(inner)})", _ATOM


def alpha_hash(canonical_text: str, settings: dict) -> str:
    """Alpha identity (FASTEXPR.md §9): hex SHA-256 of ``canonical + "\\n" + settings JSON``.

    The settings JSON has sorted keys and no spaces (``separators=(",", ":")``). Raises TypeError
    when ``settings`` is not JSON-serialisable.
    """
    payload = canonical_text + "\n" + json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
