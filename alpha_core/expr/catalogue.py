"""The operator catalogue: ``operators.csv`` as data (FASTEXPR.md §5, §7).

Every operator's parameters (name, kind, default, keyword-only, variadic), arity, scope and level
are read from the CSV shipped with the package; no operator is a code branch here. ``bind`` maps
a call's positional and keyword arguments onto the parameters with BRAIN's rules and raises
``BindError`` with a lint code when the call does not fit.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Generic, Sequence, TypeVar

T = TypeVar("T")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()
"""Default of a parameter that must be given (positional or ``(required)`` keyword)."""

VALUE_KINDS = frozenset({"value", "weight", "cond"})
CONSTANT_KINDS = frozenset({"window", "lag", "int", "const", "bool", "string"})


@dataclass(frozen=True)
class Param:
    """One operator parameter.

    ``name`` keeps the catalogue spelling (``useStd``); ``kind`` is one of value, weight, cond,
    group, group|value, vector, window, lag, int, const, bool, string; ``default`` is a Python
    value (float, bool, str), ``None`` for bucket's alternative strings, or ``REQUIRED``.
    """

    name: str
    kind: str
    default: Any = REQUIRED
    keyword_only: bool = False
    variadic: bool = False

    @property
    def is_constant(self) -> bool:
        """True when the argument must be a compile-time constant (window, lag, keyword values)."""
        return self.kind in CONSTANT_KINDS


@dataclass(frozen=True)
class OperatorSpec:
    """A row of ``operators.csv`` with its parameters parsed."""

    name: str
    category: str
    min_args: int
    max_args: int  # -1 = variadic
    params: tuple[Param, ...]
    scope: frozenset[str]
    level: str
    local: bool
    notes: str
    signature: str

    @property
    def variadic(self) -> bool:
        return self.max_args == -1

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name.lower(): p for p in self.params})

    def param(self, name: str) -> Param | None:
        """The parameter called ``name`` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    def defaults(self) -> dict[str, Any]:
        """Defaults of the optional parameters, keyed by catalogue spelling."""
        return {p.name: p.default for p in self.params if p.default is not REQUIRED and not p.variadic}


class BindError(Exception):
    """A call that does not fit its operator's signature.

    ``code`` is the lint code (E_ARITY, E_UNKNOWN_KEYWORD, E_DUPLICATE_KEYWORD); ``keyword`` is the
    index into the call's keyword list of the offending keyword, or None when the whole call is at fault.
    """

    def __init__(self, code: str, message: str, keyword: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.keyword = code, message, keyword


@dataclass(frozen=True)
class Bound(Generic[T]):
    """A call's arguments matched to parameters.

    ``args`` maps catalogue parameter names to the given argument (positional or keyword);
    ``inputs`` holds the value inputs of a variadic operator (add, multiply, max, min) in order.
    Parameters not given are absent from ``args``: take them from ``OperatorSpec.defaults()``.
    """

    args: dict[str, T] = field(default_factory=dict)
    inputs: tuple[T, ...] = ()


def bind(spec: OperatorSpec, args: Sequence[T], kwargs: Sequence[tuple[str, T]]) -> Bound[T]:
    """Match ``args`` (positional) and ``kwargs`` ((name, value) pairs, after positionals) to ``spec``.

    Raises ``BindError``: E_ARITY (count outside [min_args, max_args], or a required parameter
    missing, or bucket without exactly one of range/buckets), E_UNKNOWN_KEYWORD, E_DUPLICATE_KEYWORD.
    Source: FASTEXPR.md §5.
    """
    total = len(args) + len(kwargs)
    if total < spec.min_args or (spec.max_args >= 0 and total > spec.max_args):
        expected = f"{spec.min_args}+" if spec.variadic else (
            str(spec.min_args) if spec.min_args == spec.max_args else f"{spec.min_args} to {spec.max_args}")
        raise BindError("E_ARITY", f"{spec.name} takes {expected} arguments, got {total}")
    bound: dict[str, T] = {}
    inputs: list[T] = []
    positional = [p for p in spec.params if not p.keyword_only]
    if spec.variadic:
        inputs = list(args)
        if len(inputs) < spec.min_args:
            raise BindError("E_ARITY", f"{spec.name} takes at least {spec.min_args} value inputs, got {len(inputs)}")
    else:
        if len(args) > len(positional):
            raise BindError("E_ARITY", f"{spec.name} takes at most {len(positional)} positional arguments, got {len(args)}")
        for p, a in zip(positional, args):
            bound[p.name] = a
    for i, (name, value) in enumerate(kwargs):
        p = spec.param(name)
        if p is None or p.variadic:
            known = ", ".join(q.name for q in spec.params if not q.variadic) or "none"
            raise BindError("E_UNKNOWN_KEYWORD", f"{spec.name} has no keyword '{name}' (keywords: {known})", i)
        if p.name in bound:
            raise BindError("E_DUPLICATE_KEYWORD", f"{spec.name}: '{p.name}' given twice", i)
        if spec.variadic and not p.keyword_only:
            raise BindError("E_UNKNOWN_KEYWORD", f"{spec.name}: '{p.name}' is positional only", i)
        bound[p.name] = value
    for p in spec.params:
        if p.default is REQUIRED and not p.variadic and p.name not in bound and not spec.variadic:
            raise BindError("E_ARITY", f"{spec.name}: required argument '{p.name}' is missing")
    if spec.name == "bucket" and (("range" in bound) == ("buckets" in bound)):
        raise BindError("E_ARITY", "bucket takes exactly one of range= or buckets=")
    return Bound(bound, tuple(inputs))


# ---------------------------------------------------------------- CSV parsing


def _split_top(text: str) -> list[str]:
    """Split on commas outside quotes."""
    parts, buf, quote = [], [], None
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    if "".join(buf).strip():
        parts.append("".join(buf).strip())
    return parts


def parse_default(text: str) -> Any:
    """Parse a catalogue default: ``false`` -> False, ``0.5`` -> 0.5, ``"NaN"`` -> 'NaN', ``(required)`` -> REQUIRED."""
    text = text.strip()
    if text == "(required)":
        return REQUIRED
    if text == "":
        return None
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if text[0] in "\"'" and text[-1] == text[0]:
        return text[1:-1]
    try:
        return float(text)
    except ValueError:
        return text  # bare enum word such as gaussian


def _kind_of_default(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, float):
        return "const"
    return "string"


def _parse_params(row: dict[str, str]) -> tuple[Param, ...]:
    name = row["name"]
    signature = row["signature"].split(";")[0].strip() if row["name"] != "bucket" else row["signature"]
    kinds = [k for k in row["arg_kinds"].split(",") if k] if row["arg_kinds"] else []
    keywords: dict[str, Any] = {}
    for item in _split_top(row["keywords"].replace(";", ",")) if row["keywords"] else []:
        key, _, default = item.partition("=")
        keywords[key.strip().lower()] = (key.strip(), parse_default(default))
    if "(" not in signature:
        return ()
    inner = signature[signature.index("(") + 1: signature.rindex(")")]
    if name == "bucket":
        inner = inner.replace("|", ",")
    params: list[Param] = []
    kind_iter = iter(kinds)
    variadic = False
    for part in _split_top(inner):
        pname, has_eq, _ = part.partition("=")
        pname = pname.strip()
        if pname == "...":
            variadic = True
            next(kind_iter, None)
            continue
        if not pname.isidentifier():  # ts_step(1)
            pname = "x"
        kind = next(kind_iter, None)
        if pname.lower() in keywords:
            spelled, default = keywords[pname.lower()]
            kind = kind or _kind_of_default(default)
            if name == "bucket" and pname in ("range", "buckets"):
                kind, default = "string", None
            keyword_only = (name in ("add", "multiply", "max", "min") and pname == "filter") or (
                name == "bucket" and pname in ("range", "buckets"))
            params.append(Param(spelled, kind, default, keyword_only=keyword_only))
        else:
            params.append(Param(pname, kind or "value", REQUIRED))
    if variadic:
        params.append(Param("...", "value", REQUIRED, variadic=True))
    if name == "bucket":  # range and buckets both consume the 'string' kind slot; fix the flag kinds
        params = [p if p.name in ("x", "range", "buckets") else Param(p.name, "bool", p.default, True) for p in params]
    return tuple(params)


@dataclass(frozen=True)
class Catalogue:
    """All operators by lower-case name."""

    operators: dict[str, OperatorSpec]

    def get(self, name: str) -> OperatorSpec | None:
        """The operator called ``name`` (case-insensitive), or None."""
        return self.operators.get(name.lower())

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.operators


def load_catalogue(text: str | None = None) -> Catalogue:
    """Parse ``operators.csv`` (the packaged copy unless ``text`` is given)."""
    if text is None:
        text = resources.files("alpha_core.expr").joinpath("operators.csv").read_text(encoding="utf-8")
    operators = {}
    for row in csv.DictReader(text.splitlines()):
        notes = row["notes"]
        operators[row["name"].lower()] = OperatorSpec(
            name=row["name"].lower(),
            category=row["category"],
            min_args=int(row["min_args"]),
            max_args=int(row["max_args"]),
            params=_parse_params(row),
            scope=frozenset(s.strip() for s in row["scope"].split(",") if s.strip()),
            level=row["level"],
            local="local=yes" in notes,
            notes=notes,
            signature=row["signature"],
        )
    return Catalogue(operators)


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """The packaged operator catalogue (parsed once)."""
    return load_catalogue()
