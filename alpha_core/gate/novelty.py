"""Novelty: the largest sub-tree a candidate shares with our library of alphas (issue 13, the NOVELTY check).

Every sub-tree of every library alpha is normalised and interned to an integer key, so a query is one
dict lookup per sub-tree of the candidate (no pairwise tree comparison): re-spellings and near-copies are
caught before they are simulated.

Normalisation, on the canonical AST (``alpha_core.expr.canonical``: infix desugared, constants folded,
nested add/multiply flattened, double negation removed, defaults dropped) with variables inlined:

*Sound* (the traded alpha is unchanged; used by both keys):

1. argument order of commutative operators (add, multiply, max, min, and, or, equal, not_equal) and of the
   symmetric pair of ts_corr / ts_covariance; ``a > b`` is ``b < a`` (and ``>=`` / ``<=``);
   ``a - b`` is ``a + (-b)``;
2. signs are pushed out of the call: ``reverse`` is not a node but a sign on a sub-tree, and it passes
   through operators exactly odd in an argument (linear time-series operators, zscores, scale, sign,
   signed_power, winsorize, group_neutralize, ts_corr, ts_covariance, multiply, divide, sums whose first
   term is negative); abs and ts_std_dev drop it; a literal factor's sign joins it (``x * -1`` is ``-x``);
3. positive affine maps by literals are dropped where the value only matters up to one: the value argument
   of rank, group_rank, zscore, ts_zscore, group_zscore, ts_rank and ts_corr (invariant to ``a*x + b``,
   a > 0), and the alpha itself: SIMULATION.md §3 decays (weights normalised over non-NaN terms, so
   ``a*x + b`` decays to ``a*D + b``), neutralizes (removes ``b``) and scales (removes ``a``) the alpha.
   In those places ``rank(-x)`` = ``1 - rank(x)`` is ``-rank(x)`` (average-tie ranks / (n - 1)).
   The alpha-level step assumes a neutralization other than NONE (BRAIN's and our default is INDUSTRY);
   under NONE ``x + c`` adds a market tilt to the same signal and is still treated as a near-copy.

*Shape only* (near-copies, the ``value``): every numeric literal (windows, lags, parameters, thresholds) is
blind, so ``ts_delta(close, 5)`` and ``ts_delta(close, 6)`` share their shape. ``exact`` keeps literals.

``value`` = ``shared_nodes / candidate_nodes``: nodes are the calls and leaves of the normalised tree
(a sign is not a node; dropped literal offsets and factors are not nodes). ``shared_nodes`` is the size
of the largest sub-tree of the candidate whose shape also occurs as a sub-tree of a library alpha, each
sub-tree compared up to a positive affine map and sign (the alpha-level rule applied to it). A shared
sub-tree must be a call holding a data field: a bare field or constant never counts. An exact match
(the whole candidate equals a library alpha, literals and sign included) has value 1.0.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from alpha_core.expr import canonicalize, parse, to_text
from alpha_core.expr.ast import Bool, Call, Ident, Number, Program, String
from alpha_core.expr.canonical import constant_of
from alpha_core.expr.parser import ensure_recursion_limit
from alpha_core.gate.checks import FAIL, PASS, Check

__all__ = ["Novelty", "NoveltyIndex", "novelty_check", "NOVELTY_LIMIT"]

NOVELTY_LIMIT = 0.9
"""Default FAIL threshold on ``Novelty.value``."""

# sign rules (apply to calls without keywords): argument positions whose sign passes out exactly ...
_ODD = {name: (0,) for name in ("ts_delta", "ts_delay", "ts_mean", "ts_sum", "ts_decay_linear", "ts_av_diff",
                                "group_neutralize", "zscore", "ts_zscore", "group_zscore", "scale", "sign",
                                "signed_power", "winsorize")}
_ODD.update({"ts_corr": (0, 1), "ts_covariance": (0, 1), "divide": (0, 1)})
_EVEN = frozenset({"abs", "ts_std_dev"})                      # f(-x) = f(x)
_ODD_UP_TO_CONSTANT = frozenset({"rank", "group_rank"})       # f(-x) = 1 - f(x)
# ... value arguments invariant to a positive affine map a*x + b (any keywords)
_AFFINE_ARGS = {"rank": (0,), "group_rank": (0,), "zscore": (0,), "ts_zscore": (0,), "group_zscore": (0,),
                "ts_rank": (0,), "ts_corr": (0, 1)}
_COMMUTATIVE = frozenset({"add", "multiply", "max", "min", "and", "or", "equal", "not_equal"})
_SYMMETRIC_PAIR = frozenset({"ts_corr", "ts_covariance"})
_MIRROR = {"greater": "less", "greater_equal": "less_equal"}
_AFFINE_SENSITIVE = frozenset({"add", "subtract", "multiply", "divide", "reverse"}) | _ODD_UP_TO_CONSTANT


@dataclass(frozen=True)
class Novelty:
    """How much of a candidate is already in the library.

    ``value``: ``shared_nodes / candidate_nodes`` in [0, 1] (0.0 against an empty library, 1.0 when
    ``exact``); ``shared_nodes``: size of the largest shared sub-tree (0 if none); ``candidate_nodes``:
    size of the candidate's normalised tree; ``other_hash``: the library alpha holding that sub-tree (None
    if none); ``subtree``: the shared sub-tree's canonical text as the candidate spells it (None if none);
    ``exact``: the whole candidate equals a library alpha up to the sound normalisations (module docstring).
    """

    value: float
    shared_nodes: int
    candidate_nodes: int
    other_hash: str | None
    subtree: str | None
    exact: bool


class _Norm:
    """Normaliser of one tree: ``self(node, affine) -> (sign, key, size, has_field)``.

    ``key`` is the interned id of the normalised core (None when ``insert`` is off and it is unknown);
    ``affine``: the node's value only matters up to a positive affine map by literals; ``blind``: numeric
    literals lose their value (the shape key). Memoised per node object: one instance per tree.
    """

    def __init__(self, ids: dict, insert: bool, blind: bool):
        self.ids, self.insert, self.blind = ids, insert, blind
        self.memo: dict = {}

    def intern(self, core):
        key = self.ids.get(core)
        if key is None and self.insert:
            key = self.ids[core] = len(self.ids)
        return key

    def literal(self, value: float):
        return self.intern(("#",) if self.blind else ("n", abs(value)))

    def __call__(self, node, affine: bool):
        affine = affine and isinstance(node, Call) and node.name in _AFFINE_SENSITIVE
        memo_key = (id(node), affine)
        hit = self.memo.get(memo_key)
        if hit is None:
            hit = self.memo[memo_key] = self._norm(node, affine)
        return hit

    def _norm(self, node, affine):
        if isinstance(node, Number):
            return (-1 if node.value < 0 else 1), self.literal(node.value), 1, False
        if isinstance(node, Ident):
            return 1, self.intern(("f", node.name)), 1, True
        if isinstance(node, String):
            return 1, self.intern(("s", node.value)), 1, False
        if isinstance(node, Bool):
            return 1, self.intern(("b", node.value)), 1, False
        if not isinstance(node, Call):
            raise TypeError(f"novelty: not a canonical AST node: {type(node).__name__}")
        plain = not node.kwargs
        if plain and node.name == "reverse" and len(node.args) == 1:
            sign, key, size, field = self(node.args[0], affine)
            return -sign, key, size, field
        if plain and (node.name == "add" or (node.name == "subtract" and len(node.args) == 2)):
            return self._sum(node, affine)
        if plain and node.name == "multiply":
            return self._product(node, affine)
        if plain and node.name == "divide" and len(node.args) == 2 and constant_of(node.args[1]):
            sign, key, size, field = self(node.args[0], affine)
            divisor = constant_of(node.args[1])
            sign = -sign if divisor < 0 else sign
            if affine or abs(divisor) == 1:
                return sign, key, size, field
            lit = self.literal(divisor)
            core = None if key is None else ("divide", ((1, key), (1, lit)), ())
            return sign, core and self.intern(core), size + 2, field
        return self._call(node, affine)

    def _call(self, node, affine):
        name, args = node.name, node.args
        if name in _MIRROR and len(args) == 2 and not node.kwargs:
            name, args = _MIRROR[name], (args[1], args[0])
        plain = not node.kwargs
        out_sign, size, field, refs = 1, 1, False, []
        for i, arg in enumerate(args):
            sign, key, n, f = self(arg, i in _AFFINE_ARGS.get(name, ()))
            size, field = size + n, field or f
            if plain and (i in _ODD.get(name, ()) or (affine and i == 0 and name in _ODD_UP_TO_CONSTANT)):
                out_sign, sign = out_sign * sign, 1
            elif plain and i == 0 and name in _EVEN:
                sign = 1
            refs.append((sign, key))
        kw_refs = []
        for kw in node.kwargs:
            sign, key, n, f = self(kw.value, False)
            size, field = size + n, field or f
            kw_refs.append((kw.name, (sign, key)))
        if any(key is None for _, key in refs) or any(ref[1] is None for _, ref in kw_refs):
            return out_sign, None, size, field
        if name in _COMMUTATIVE:
            refs.sort()
        elif name in _SYMMETRIC_PAIR and len(refs) >= 2:
            refs[:2] = sorted(refs[:2])
        return out_sign, self.intern((name, tuple(refs), tuple(kw_refs))), size, field

    def _sum(self, node, affine):
        terms = _terms(node, 1)
        if affine:
            kept = [t for t in terms if constant_of(t[1]) is None] or terms
            if len(kept) == 1:
                sign, term = kept[0]
                s, key, size, field = self(term, True)
                return sign * s, key, size, field
            terms = kept
        size, field, refs = 1, False, []
        for sign, term in terms:
            s, key, n, f = self(term, False)
            size, field = size + n, field or f
            refs.append((sign * s, key))
        if any(key is None for _, key in refs):
            return 1, None, size, field
        refs.sort(key=lambda r: (r[1], r[0]))
        out_sign = refs[0][0]          # -a - b + c is -(a + b - c): the first term is positive
        refs = sorted(((s * out_sign, key) for s, key in refs), key=lambda r: (r[1], r[0]))
        return out_sign, self.intern(("add", tuple(refs), ())), size, field

    def _product(self, node, affine):
        sign, literals, factors = 1, [], []
        for s, f in _factors(node, 1):
            value = constant_of(f)
            if value is None:
                sign *= s
                factors.append(f)
                continue
            sign *= s * (-1 if value < 0 else 1)
            if abs(value) != 1 and not (affine and value != 0):
                literals.append(value)
        if not factors:                  # all literal: not folded only when non-finite; keep as a call
            return self._call(node, affine)
        if len(factors) == 1 and not literals:
            s, key, size, field = self(factors[0], affine)
            return sign * s, key, size, field
        size, field, refs = 1 + len(literals), False, [(1, self.literal(v)) for v in literals]
        for f in factors:
            s, key, n, fl = self(f, False)
            sign, size, field = sign * s, size + n, field or fl
            refs.append((1, key))
        if any(key is None for _, key in refs):
            return sign, None, size, field
        return sign, self.intern(("multiply", tuple(sorted(refs)), ())), size, field


def _terms(node, sign: int) -> list:
    """(sign, term) of a sum, through nested add / subtract / reverse calls without keywords."""
    if isinstance(node, Call) and not node.kwargs:
        if node.name == "add":
            return [t for a in node.args for t in _terms(a, sign)]
        if node.name == "subtract" and len(node.args) == 2:
            return _terms(node.args[0], sign) + _terms(node.args[1], -sign)
        if node.name == "reverse" and len(node.args) == 1:
            return _terms(node.args[0], -sign)
    return [(sign, node)]


def _factors(node, sign: int) -> list:
    """(sign, factor) of a product, through nested multiply / reverse calls without keywords."""
    if isinstance(node, Call) and not node.kwargs:
        if node.name == "multiply":
            return [t for a in node.args for t in _factors(a, sign)]
        if node.name == "reverse" and len(node.args) == 1:
            return _factors(node.args[0], -sign)
    return [(sign, node)]


def _inline(program: Program):
    """The alpha expression of a canonical ``program`` with its variables replaced by their values."""
    env: dict = {}

    def sub(node):
        if isinstance(node, Ident):
            return env.get(node.name, node)
        if not isinstance(node, Call):
            return node
        args = tuple(sub(a) for a in node.args)
        kwargs = tuple(replace(k, value=sub(k.value)) for k in node.kwargs)
        if all(a is b for a, b in zip(args, node.args)) and all(
                a.value is b.value for a, b in zip(kwargs, node.kwargs)):
            return node
        return replace(node, args=args, kwargs=kwargs)

    for statement in program.statements:
        env[statement.name] = sub(statement.value)
    return sub(program.result)


def _root(expression, where: str):
    """Canonical, variable-free alpha expression of ``expression`` (text or parsed ``Program``)."""
    if isinstance(expression, str):
        try:
            expression = parse(expression)
        except ValueError as exc:
            raise ValueError(f"novelty: cannot parse {where} {expression[:80]!r}: {exc}") from None
    elif not isinstance(expression, Program):
        raise TypeError(f"novelty: {where} must be FastExpr text or a parsed Program, "
                        f"got {type(expression).__name__}")
    return _inline(canonicalize(expression))


def _calls(root):
    """Each distinct call node object of ``root``, outermost first."""
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, Call) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed([*node.args, *(k.value for k in node.kwargs)]))


def _text(node) -> str:
    return to_text(Program((), node))


class NoveltyIndex:
    """Every sub-tree of every library alpha, by normalised shape; answers ``closest`` by dict lookups.

    ``entries``: (alpha_hash, expression) pairs of the library (FastExpr text). Raises ``ValueError``
    naming the hash when an expression does not parse, ``TypeError`` when an entry is not a pair of str.
    The first library alpha holding a shape (or an exact form) is the one reported for it.
    """

    def __init__(self, entries: Iterable[tuple[str, str]] = ()):
        ensure_recursion_limit()
        self._ids: dict = {}          # normalised core -> int key (shared by both keys)
        self._shape: dict = {}        # shape key of a sub-tree -> (size, alpha hash)
        self._exact: dict = {}        # (sign, exact key) of a whole alpha -> alpha hash
        self._count = 0
        for entry in entries:
            if not (isinstance(entry, tuple) and len(entry) == 2):
                raise TypeError(f"novelty: a library entry must be (alpha_hash, expression), got {entry!r:.80}")
            self.add(*entry)

    def __len__(self) -> int:
        """Number of library alphas added."""
        return self._count

    def add(self, alpha_hash: str, expression: str | Program) -> None:
        """Index one library alpha (every sub-tree's shape, and its exact form)."""
        if not isinstance(alpha_hash, str) or not alpha_hash:
            raise TypeError(f"novelty: alpha_hash must be a non-empty str, got {alpha_hash!r:.80}")
        root = _root(expression, f"library alpha {alpha_hash[:12]}")
        shape = _Norm(self._ids, insert=True, blind=True)
        for node in _calls(root):
            _, key, size, field = shape(node, True)
            if size >= 2 and field:
                self._shape.setdefault(key, (size, alpha_hash))
        sign, key, _, _ = _Norm(self._ids, insert=True, blind=False)(root, True)
        self._exact.setdefault((sign, key), alpha_hash)
        self._count += 1

    def closest(self, expression: str | Program) -> Novelty:
        """The library alpha sharing the largest sub-tree with ``expression`` (text or parsed ``Program``).

        Returns a ``Novelty`` (semantics in its docstring and the module docstring). Raises ``ValueError``
        when the text does not parse, ``TypeError`` for another type. Cost: one dict lookup per sub-tree.
        """
        ensure_recursion_limit()
        root = _root(expression, "candidate")
        shape = _Norm(self._ids, insert=False, blind=True)
        _, _, total, _ = shape(root, True)
        sign, key, _, _ = _Norm(self._ids, insert=False, blind=False)(root, True)
        exact = self._exact.get((sign, key)) if key is not None else None
        if exact is not None:
            return Novelty(1.0, total, total, exact, _text(root), True)
        best = None
        for node in _calls(root):
            _, key, size, _ = shape(node, True)
            hit = self._shape.get(key) if key is not None else None
            if hit is not None and (best is None or size > best[0]):
                best = (size, hit[1], node)
        if best is None:
            return Novelty(0.0, 0, total, None, None, False)
        size, other, node = best
        return Novelty(size / total, size, total, other, _text(node), False)


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def novelty_check(n: Novelty, limit: float = NOVELTY_LIMIT) -> Check:
    """The NOVELTY check: FAIL when ``n.value >= limit``, else PASS (an empty library gives value 0.0).

    The message names the closest library alpha (first 12 hex chars of its hash) and the shared sub-tree
    (clipped to 60 characters); "" when nothing is shared.
    """
    result = FAIL if n.value >= limit else PASS
    if n.other_hash is None:
        return Check("NOVELTY", result, n.value, limit)
    other = n.other_hash[:12]
    if n.exact:
        message = f"re-spelling of library alpha {other} ({_clip(n.subtree)}): same traded alpha"
    else:
        message = (f"largest sub-tree shared with library alpha {other}, {_clip(n.subtree)}, covers "
                   f"{n.value:.0%} of the expression ({n.shared_nodes} of {n.candidate_nodes} nodes)")
        if result == FAIL:
            message += "; change the form, not only the windows, constants or sign"
    return Check("NOVELTY", result, n.value, limit, message)
