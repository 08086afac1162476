"""FastExpr abstract syntax tree (FASTEXPR.md §2).

Plain frozen dataclasses. Every node carries a source ``span`` = (start, end) character offsets into
the submitted text (end exclusive). Spans do not take part in equality or hashing, so two parses of
differently spelled but identical programs compare equal, and ``parse(print(ast)) == ast`` can hold.

Names (operators, fields, variables, keyword names) are stored lower-case; the canonical printer
restores the catalogue spelling of keyword names (``useStd``, ``NANGroup``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Union

Span = tuple[int, int]
NO_SPAN: Span = (0, 0)


@dataclass(frozen=True)
class Number:
    """A finite numeric literal (negative only after constant folding)."""

    value: float
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class String:
    """A string literal; legal only as a string-kind argument."""

    value: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Bool:
    """``true`` / ``false`` (any case in the source)."""

    value: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Ident:
    """A bare identifier: a data field, a variable or a bare enum word (``gaussian``). Lower-case."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Unary:
    """Prefix ``-x`` or ``+x``."""

    op: str
    operand: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Binary:
    """Infix operator: ``+ - * / < <= > >= == != && ||``."""

    op: str
    left: "Node"
    right: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Ternary:
    """``cond ? then : other``."""

    cond: "Node"
    then: "Node"
    other: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Keyword:
    """A keyword argument ``name=value`` inside a call; ``name`` lower-case."""

    name: str
    value: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Call:
    """``name(args..., kw=value...)``; ``name`` lower-case; keywords after all positionals."""

    name: str
    args: tuple["Node", ...] = ()
    kwargs: tuple[Keyword, ...] = ()
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Assign:
    """A statement ``name = value``."""

    name: str
    value: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Program:
    """Zero or more assignments followed by the alpha expression (the last statement)."""

    statements: tuple[Assign, ...]
    result: "Node"
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Node = Union[Number, String, Bool, Ident, Unary, Binary, Ternary, Call]


def _cached_hash(self) -> int:
    """The dataclass hash (of the compared fields), computed once per node: the evaluator memoises nodes by
    value, and an uncached hash of a 500-deep chain (``low-1-1-...-1``) re-walks its subtree at every level."""
    h = self.__dict__.get("_hash")
    if h is None:
        h = hash(tuple(getattr(self, f.name) for f in fields(self) if f.compare))
        object.__setattr__(self, "_hash", h)
    return h


for _cls in (Unary, Binary, Ternary, Keyword, Call, Assign, Program):
    _cls.__hash__ = _cached_hash


def children(node: Node) -> tuple[Node, ...]:
    """Direct sub-expressions of ``node`` in source order (keyword values included)."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Ternary):
        return (node.cond, node.then, node.other)
    if isinstance(node, Call):
        return node.args + tuple(k.value for k in node.kwargs)
    return ()


def walk(node: Node):
    """Yield ``node`` and every descendant, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
