"""FastExpr lint (FASTEXPR.md §4, §5, §8): every code of the §8 table, spans into the submitted text.

``lint(text)`` parses, checks names, kinds, arities, constants and variables (collecting as many
findings as it can instead of stopping at the first), then builds the canonical text and verifies it
re-lints clean and fits 2,000 characters. Extra warning beyond the §8 table: ``W_NO_EFFECT`` for legal
but pointless forms (``rank(2 * x)``, ``rank(x + 3)``, ``rank(rank(x))``, ``ts_mean(x, 1)``, a
positive constant weight on the whole alpha).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable

from .ast import Bool, Call, Ident, Number, Program, String, Unary
from .canonical import alpha_hash, bind_call, call_view, canonicalize, fold, to_text
from .lint_args import CONST, GROUP, MATRIX, STRING, VECTOR, ArgumentChecks
from .catalogue import BindError, catalogue
from .errors import Diagnostic, ExprSyntaxError, error, warning
from .parser import MAX_LENGTH, parse
from ..data.registry import FieldRegistry, default_registry

GROUP_RESULT = frozenset({"densify", "bucket", "group_cartesian_product"})
_FOLDING = frozenset({"Arithmetic", "Logical"})
_LEVEL_WARN = frozenset({"Genius", "Unknown"})


@dataclass
class LintResult:
    """Lint verdict of one expression (FASTEXPR.md §8).

    ``ok`` is True when no diagnostic is an error; ``diagnostics`` are sorted by start offset;
    ``canonical`` (§9 text) and ``program`` (canonical AST) are None when there are errors.
    """

    text: str
    ok: bool
    diagnostics: list[Diagnostic]
    canonical: str | None = None
    program: Program | None = None

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if not d.is_error]

    @property
    def codes(self) -> list[str]:
        """All diagnostic codes in order."""
        return [d.code for d in self.diagnostics]

    @property
    def hash(self) -> str | None:
        """``alpha_hash(canonical, {})`` when ok, else None."""
        return alpha_hash(self.canonical, {}) if self.ok and self.canonical is not None else None

    def to_dict(self) -> dict:
        """``{"expression", "ok", "errors", "warnings", "canonical", "hash"}`` (JSON-ready)."""
        def brief(d: Diagnostic) -> dict:
            return {"code": d.code, "message": d.message, "start": d.start, "end": d.end}

        return {"expression": self.text, "ok": self.ok, "errors": [brief(d) for d in self.errors],
                "warnings": [brief(d) for d in self.warnings], "canonical": self.canonical, "hash": self.hash}


def lint(text: str, registry: FieldRegistry | None = None, *, live_operators: Iterable[str] | None = None
         ) -> LintResult:
    """Lint one FastExpr program (FASTEXPR.md §8).

    ``registry`` resolves field ids (default: ``default_registry()``); ``live_operators`` is the
    account's cached live ``/operators`` list (names), which silences W_OPERATOR_LEVEL for the
    operators it contains. Never raises for a ``str`` input; TypeError otherwise.
    """
    registry = registry if registry is not None else default_registry()
    live = frozenset(n.lower() for n in live_operators) if live_operators is not None else frozenset()
    try:
        program = parse(text)
    except ExprSyntaxError as exc:
        return LintResult(text, False, [exc.diagnostic])
    diagnostics = _Linter(registry, live).run(program)
    canonical = canonical_program = None
    if not any(d.is_error for d in diagnostics):
        canonical_program = canonicalize(program)
        canonical = to_text(canonical_program)
        if len(canonical) > MAX_LENGTH:
            diagnostics.append(error("E_TOO_LONG", f"canonical text is {len(canonical)} characters long; the "
                                     f"limit is {MAX_LENGTH}", 0, len(text)))
        elif canonical != text:  # an already canonical input was just linted
            diagnostics.extend(_relint(canonical, registry, live, len(text)))
    diagnostics.sort(key=lambda d: (d.start, d.end))
    ok = not any(d.is_error for d in diagnostics)
    return LintResult(text, ok, diagnostics, canonical if ok else None, canonical_program if ok else None)


def lint_many(texts: Iterable[str], registry: FieldRegistry | None = None, *,
              live_operators: Iterable[str] | None = None) -> list[LintResult]:
    """``lint`` of each text, in order, sharing one registry; a text repeated in the batch is linted once
    (its results are the same object)."""
    registry = registry if registry is not None else default_registry()
    live = list(live_operators) if live_operators is not None else None
    seen: dict[str, LintResult] = {}
    out = []
    for t in texts:
        result = seen.get(t) if isinstance(t, str) else None
        if result is None:
            result = lint(t, registry, live_operators=live)
            if isinstance(t, str):
                seen[t] = result
        out.append(result)
    return out


def _relint(canonical: str, registry, live, n: int) -> list[Diagnostic]:
    """Errors of the canonical text (there should be none; this guards the canonical printer)."""
    try:
        found = _Linter(registry, live).run(parse(canonical))
    except ExprSyntaxError as exc:
        found = [exc.diagnostic]
    return [error(d.code, f"canonical form {canonical!r} fails lint: {d.message}", 0, n)
            for d in found if d.is_error]


@dataclass
class _Info:
    kind: str | None  # None: unknown (an error was reported)
    has_field: bool
    value: float | None = None  # folded constant


@dataclass
class _Var:
    kind: str | None
    has_field: bool
    span: tuple[int, int]
    used: bool = False


def _name_span(node, name: str) -> tuple[int, int]:
    if isinstance(node, Call):
        return node.span[0], node.span[0] + len(name)
    return node.span


def _kind_word(kind) -> str:
    return {MATRIX: "value", CONST: "constant", GROUP: "group", STRING: "string", VECTOR: "vector"}.get(kind, kind)


@dataclass
class _Linter(ArgumentChecks):
    registry: FieldRegistry
    live: frozenset
    diags: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    infos: dict = field(default_factory=dict)
    later: set = field(default_factory=set)
    warned: set = field(default_factory=set)
    n_errors: int = 0

    def err(self, code, message, span):
        self.n_errors += 1
        self.diags.append(error(code, message, span[0], span[1]))

    def warn(self, code, message, span, once_key=None):
        if once_key is not None:
            if once_key in self.warned:
                return
            self.warned.add(once_key)
        self.diags.append(warning(code, message, span[0], span[1]))

    # ------------------------------------------------------------ program
    def run(self, program: Program) -> list[Diagnostic]:
        self.later = {a.name for a in program.statements}
        cat = catalogue()
        for a in program.statements:
            name_span = (a.span[0], a.span[0] + len(a.name))
            info = self.walk(a.value)
            if info.kind == STRING:
                self.err("E_STRING_AS_VALUE", f"variable '{a.name}' cannot hold a string; strings are only legal "
                         "as string-kind keyword values", a.value.span)
            if a.name in self.env:
                self.err("E_ASSIGN", f"variable '{a.name}' is assigned twice; re-assignment is not allowed", name_span)
            elif a.name in cat or a.name in self.registry or a.name in ("true", "false"):
                what = ("an operator" if a.name in cat else "a data field" if a.name in self.registry
                        else "a reserved word")
                self.err("E_SHADOW", f"variable '{a.name}' shadows {what}; choose another name", name_span)
                self.later.discard(a.name)
            else:
                self.env[a.name] = _Var(info.kind, info.has_field, name_span)
        result = self.walk(program.result)
        for name, var in self.env.items():
            if not var.used:
                self.warn("W_UNUSED_VAR", f"variable '{name}' is assigned but never used", var.span)
        span = program.result.span
        if result.kind == GROUP:
            self.err("E_GROUP_AS_VALUE", "the alpha is a group, not a value; use it as the group argument of a "
                     "group operator (e.g. group_rank(x, sector))", span)
        elif result.kind == STRING:
            self.err("E_STRING_AS_VALUE", "the alpha is a string; strings are only legal as string-kind keyword "
                     "values", span)
        elif result.kind in (CONST, MATRIX) and (result.kind == CONST or not result.has_field):
            self.err("E_NO_DATA_FIELD", "the alpha depends on no data field (it is the same for every instrument)",
                     span)
        self.no_effect_on_alpha(program.result)
        return self.diags

    # ------------------------------------------------------------ nodes
    def walk(self, node) -> _Info:
        if isinstance(node, Number):
            info = _Info(CONST, False, node.value)
        elif isinstance(node, Bool):
            info = _Info(CONST, False, 1.0 if node.value else 0.0)
        elif isinstance(node, String):
            info = _Info(STRING, False)
        elif isinstance(node, Ident):
            info = self.ident(node)
        elif isinstance(node, Unary) and node.op == "+":
            info = self.value(node.operand)
        else:
            info = self.call(node, *call_view(node))
        self.infos[id(node)] = info
        return info

    def value(self, node) -> _Info:
        """Walk ``node`` where a value (MATRIX or CONST) is expected."""
        info = self.walk(node)
        if info.kind == GROUP:
            self.err("E_GROUP_AS_VALUE", "group data used as a value; groups are only legal as the group "
                     "argument of a group operator (e.g. group_neutralize(x, sector))", node.span)
            return _Info(None, info.has_field)
        if info.kind == STRING:
            self.err("E_STRING_AS_VALUE", "a string is only legal as a string-kind keyword value "
                     "(e.g. driver=\"gaussian\")", node.span)
            return _Info(None, info.has_field)
        return info

    def ident(self, node: Ident) -> _Info:
        name = node.name
        var = self.env.get(name)
        if var is not None:
            var.used = True
            return _Info(var.kind, var.has_field)
        info = self.registry.get(name)
        if info is not None:
            if info.kind == "SYMBOL":
                self.err("E_SYMBOL_FIELD", f"'{name}' is an identifier field (ticker/cusip/isin/sedol) and cannot "
                         "be used in an alpha", node.span)
                return _Info(None, True)
            if info.kind == VECTOR:
                self.err("E_VECTOR_UNREDUCED", f"'{name}' is a VECTOR field; reduce it first with a vec_* operator "
                         f"(e.g. vec_avg({name}))", node.span)
                return _Info(None, True)
            if not info.local:
                self.warn("W_FIELD_NOT_LOCAL", f"field '{name}' is not available locally (BRAIN only); the local "
                          "simulation cannot evaluate it", node.span, ("field", name))
            return _Info(info.kind, True)
        spec = catalogue().get(name)
        if name in self.later:
            self.err("E_UNKNOWN_IDENTIFIER", f"variable '{name}' is used before it is assigned", node.span)
        elif spec is not None and spec.min_args == 0:
            self.err("E_SCOPE", f"'{name}' is a SuperAlpha {'/'.join(sorted(spec.scope))} keyword, not valid in a "
                     "REGULAR alpha", node.span)
        elif spec is not None:
            self.err("E_UNKNOWN_IDENTIFIER", f"'{name}' is an operator; call it as {name}(...)", node.span)
        else:
            self.err("E_UNKNOWN_IDENTIFIER", f'Attempted to use unknown variable "{name}"', node.span)
        return _Info(None, True)

    def call(self, node, name, args, kwargs) -> _Info:
        cat = catalogue()
        spec = cat.get(name)
        name_span = _name_span(node, name)
        if spec is None:
            close = difflib.get_close_matches(name, list(cat.operators), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            self.err("E_UNKNOWN_OPERATOR", f'unknown operator "{name}"{hint}', name_span)
            return self.walk_loose(args, kwargs)
        if "REGULAR" not in spec.scope:
            self.err("E_SCOPE", f"{name} is a SuperAlpha ({', '.join(sorted(spec.scope))}) operator, not valid in a "
                     "REGULAR alpha", name_span)
        if spec.level in _LEVEL_WARN and name not in self.live:
            self.warn("W_OPERATOR_LEVEL", f"{name} has level {spec.level} and is not in a cached live /operators "
                      "list; BRAIN may reject it for this account", name_span, ("op", name))
        try:
            bound = bind_call(spec, args, [(k.name, k.value) for k in kwargs])
        except BindError as exc:
            span = kwargs[exc.keyword].span if exc.keyword is not None else node.span
            self.err(exc.code, exc.message, span)
            return self.walk_loose(args, kwargs, GROUP if name in GROUP_RESULT else MATRIX)
        if spec.variadic and len(bound.inputs) < 2:
            self.err("E_ARITY", f"{name} needs at least 2 inputs (filter does not count), got {len(bound.inputs)}",
                     node.span)
        value_infos, has_field = [], False
        pairs = [(spec.params[-1], a) for a in bound.inputs] if spec.variadic else []
        pairs += [(p, bound.args[p.name]) for p in spec.params if p.name in bound.args]
        for p, arg in pairs:
            info = self.argument(spec, p, arg)
            has_field = has_field or info.has_field
            if p.kind in ("value", "weight", "cond"):
                value_infos.append(info)
        if name in ("divide", "inverse"):
            divisor = bound.args.get("y" if name == "divide" else "x")
            if divisor is not None and self.infos.get(id(divisor), _Info(None, False)).value == 0:
                self.err("E_DIV_ZERO", f"{'divisor' if name == 'divide' else 'argument of inverse'} is a constant "
                         "that is 0 (the result would be NaN everywhere)", divisor.span)
        self.no_effect(spec, bound, node)
        if name in GROUP_RESULT:
            return _Info(GROUP, has_field)
        if spec.category in _FOLDING and value_infos and all(i.kind == CONST for i in value_infos):
            values = [i.value for i in value_infos]
            folded = fold(name, values) if all(v is not None for v in values) else None
            return _Info(CONST, has_field, folded)
        return _Info(MATRIX, has_field)

    def walk_loose(self, args, kwargs, kind=None) -> _Info:
        """Walk the arguments of a call that could not be checked, for their own errors."""
        for a in list(args) + [k.value for k in kwargs]:
            self.walk(a)
        return _Info(kind, True)

    # ------------------------------------------------------------ arguments
    def argument(self, spec, p, arg) -> _Info:
        kind = p.kind
        if kind in ("value", "weight", "cond"):
            return self.value(arg)
        if kind in ("group", "group|value"):
            info = self.walk(arg)
            if info.kind == STRING:
                self.err("E_STRING_AS_VALUE", f"{spec.name}: a string cannot be the group argument '{p.name}'", arg.span)
            elif info.kind == CONST or (info.kind == MATRIX and kind == "group"):
                self.err("E_NOT_A_GROUP", f"{spec.name}: argument '{p.name}' must be a group (a GROUP field such as "
                         f"sector, densify(), bucket() or group_cartesian_product()), got a {_kind_word(info.kind)}",
                         arg.span)
            return info
        if kind == "vector":
            return self.vector_arg(spec, arg)
        if kind == "string":
            self.string_arg(spec, p, arg)
            return _Info(STRING, False)
        self.number_arg(spec, p, arg)
        return _Info(CONST, False)

    def vector_arg(self, spec, arg) -> _Info:
        if isinstance(arg, Ident) and arg.name not in self.env:
            info = self.registry.get(arg.name)
            if info is not None and info.kind == VECTOR:
                if not info.local:
                    self.warn("W_FIELD_NOT_LOCAL", f"field '{arg.name}' is not available locally (BRAIN only)",
                              arg.span, ("field", arg.name))
                return _Info(MATRIX, True)
            if info is not None and info.kind in (MATRIX, GROUP):
                self.err("E_VECTOR_OP_INPUT", f'Invalid data field "{arg.name}": {spec.name} needs a VECTOR (event) '
                         "field", arg.span)
                return _Info(None, True)
        before = self.n_errors
        info = self.walk(arg)
        if self.n_errors == before:
            what = "must be an event data (VECTOR) field, not a constant" if info.kind == CONST else \
                "must be a VECTOR data field itself, not a variable or an expression"
            self.err("E_VECTOR_OP_INPUT", f"{spec.name}: input {what}", arg.span)
        return _Info(None, True)
