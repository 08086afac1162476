"""Recursive-descent FastExpr parser (FASTEXPR.md §2-§4, §8 syntax codes).

``parse(text) -> Program`` builds the AST of ``ast.py`` with source spans. Every input string ends in
either a ``Program`` or an ``ExprSyntaxError``: brackets are pre-scanned without recursion (E_PAREN,
E_DEPTH), the length is capped (E_TOO_LONG) before tokenizing, so the recursive part only ever sees
at most 2,000 characters and 32 open parentheses.
"""
from __future__ import annotations

import sys

from .ast import Assign, Binary, Bool, Call, Ident, Keyword, Number, Program, String, Ternary, Unary
from .errors import syntax_error
from .tokens import EOF, IDENT, NUM, OP, STR, Token, check_brackets, tokenize

MAX_LENGTH = 2000
"""Longest accepted expression in characters, comments included (FASTEXPR.md §8 E_TOO_LONG)."""

COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
_SUM_OPS = frozenset({"+", "-"})
_CMP_PREC = 3
_BINARY_PREC = {"||": 1, "&&": 2, "+": 4, "-": 4, "*": 5, "/": 5, **{op: _CMP_PREC for op in COMPARISONS}}

_RECURSION_LIMIT = 20000


def ensure_recursion_limit() -> None:
    """Make room for walking the deepest AST a 2,000-character program can produce.

    A chain such as ``- - - ... x`` or ``a - a - ... - a`` nests up to ~2,000 levels; the tree walkers
    (canonical form, lint, dataclass equality) recurse once or a few times per level. Python 3.11
    runs pure-Python recursion without growing the C stack, so raising the limit is safe.
    """
    if sys.getrecursionlimit() < _RECURSION_LIMIT:
        sys.setrecursionlimit(_RECURSION_LIMIT)


ensure_recursion_limit()  # once at import, so test frameworks do not see the limit change mid-test


def parse(text: str) -> Program:
    """Parse a FastExpr program (FASTEXPR.md §2).

    Returns a ``Program`` (assignments + the alpha expression) with names lower-cased and spans
    into ``text``. Raises ``ExprSyntaxError`` with code E_PAREN, E_DEPTH, E_TOO_LONG, E_EMPTY,
    E_SYNTAX, E_CHAINED_COMPARISON or E_NO_RESULT (checked in that order of stages: brackets,
    length, tokens, grammar). Raises ``TypeError`` when ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression must be a str, got {type(text).__name__}")
    check_brackets(text)
    if len(text) > MAX_LENGTH:
        raise syntax_error("E_TOO_LONG", f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}",
                           0, len(text))
    tokens = tokenize(text)
    if len(tokens) == 1:
        raise syntax_error("E_EMPTY", "expression is empty (nothing left after removing comments and whitespace)",
                           0, len(text))
    ensure_recursion_limit()
    return _Parser(tokens).program()


def _describe(tok: Token) -> str:
    if tok.kind == EOF:
        return "end of input"
    if tok.kind == STR:
        return f'string "{tok.text}"'
    if tok.kind == NUM:
        return f"number {tok.text}"
    return f"'{tok.text}'"


class _Parser:
    """Recursive descent over a token list; ``keys[i]`` is the operator text or the token kind."""

    def __init__(self, tokens: list[Token]):
        eof = tokens[-1]
        self.toks = tokens + [eof, eof]  # lookahead past the end always sees EOF
        self.keys = [t.text if t.kind == OP else t.kind for t in self.toks]
        self.i = 0

    # -------------------------------------------------------------- helpers
    def peek(self, k: int = 0) -> Token:
        return self.toks[self.i + k]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    def at(self, op: str, k: int = 0) -> bool:
        return self.keys[self.i + k] == op

    def fail(self, tok: Token, message: str, code: str = "E_SYNTAX"):
        return syntax_error(code, f"{message} (offset {tok.start})", tok.start, tok.end)

    def expect(self, op: str, context: str) -> Token:
        if self.keys[self.i] == op:
            return self.advance()
        tok = self.toks[self.i]
        raise self.fail(tok, f"expected '{op}' {context}, got {_describe(tok)}")

    # -------------------------------------------------------------- grammar
    def program(self) -> Program:
        statements: list[Assign] = []
        while True:
            tok = self.peek()
            if tok.kind == IDENT and self.at("=", 1):
                self.advance()
                self.advance()
                value = self.expr()
                assign = Assign(tok.text, value, (tok.start, value.span[1]))
                statements.append(assign)
                if self.at(";"):
                    self.advance()
                if self.peek().kind == EOF:
                    raise syntax_error(
                        "E_NO_RESULT", f"the program ends with the assignment to '{tok.text}'; the last statement "
                        "must be the alpha expression", assign.span[0], assign.span[1])
                if self.keys[self.i - 1] != ";":
                    raise self.fail(self.peek(), f"expected ';' after the assignment to '{tok.text}', "
                                                 f"got {_describe(self.peek())}")
                continue
            result = self.expr()
            had_semicolon = self.at(";")
            if had_semicolon:
                self.advance()
            nxt = self.peek()
            if nxt.kind != EOF:
                if had_semicolon:
                    raise syntax_error(
                        "E_SYNTAX", "only the last statement may be an expression; earlier statements must be "
                        f"assignments 'name = expr;' (offset {result.span[0]})", result.span[0], result.span[1])
                if nxt.kind == OP and nxt.text == "=":
                    raise self.fail(nxt, "'=' can only assign a name at the start of a statement; use == to compare")
                raise self.fail(nxt, f"unexpected {_describe(nxt)} after a complete expression")
            start = statements[0].span[0] if statements else result.span[0]
            return Program(tuple(statements), result, (start, result.span[1]))

    def expr(self):
        cond = self.or_()
        if not self.at("?"):
            return cond
        self.advance()
        then = self.expr()
        self.expect(":", "in the conditional 'c ? a : b'")
        other = self.expr()
        return Ternary(cond, then, other, (cond.span[0], other.span[1]))

    def or_(self):
        """Binary operators by precedence climbing (FASTEXPR.md §3): || < && < comparisons < + - < * /."""
        return self.binary(1)

    def binary(self, min_prec: int):
        left = self.unary()
        keys = self.keys
        compared = False
        while True:
            op = keys[self.i]
            prec = _BINARY_PREC.get(op)
            if prec is None or prec < min_prec:
                return left
            tok = self.advance()
            right = self.binary(prec + 1)
            if prec == _CMP_PREC:
                if compared:
                    raise syntax_error(
                        "E_CHAINED_COMPARISON", f"comparisons do not chain: '{left.op}' then '{op}' at offset "
                        f"{tok.start}; write (a {left.op} b) && (b {op} c)", left.span[0], right.span[1])
                compared = True
            left = Binary(op, left, right, (left.span[0], right.span[1]))

    def unary(self):
        ops: list[Token] = []
        while self.keys[self.i] in _SUM_OPS:
            ops.append(self.advance())
        node = self.primary()
        for tok in reversed(ops):
            node = Unary(tok.text, node, (tok.start, node.span[1]))
        return node

    def primary(self):
        tok = self.peek()
        if tok.kind == NUM:
            self.advance()
            return Number(tok.value, (tok.start, tok.end))
        if tok.kind == STR:
            self.advance()
            return String(tok.text, (tok.start, tok.end))
        if tok.kind == IDENT:
            self.advance()
            if self.at("("):
                return self.call(tok)
            if tok.text in ("true", "false"):
                return Bool(tok.text == "true", (tok.start, tok.end))
            return Ident(tok.text, (tok.start, tok.end))
        if tok.kind == OP and tok.text == "(":
            self.advance()
            inner = self.expr()
            self.expect(")", f"to close the '(' at offset {tok.start}")
            return inner
        raise self.fail(tok, f"expected a number, name, call or '(', got {_describe(tok)}")

    def call(self, name: Token) -> Call:
        self.advance()  # '('
        args: list = []
        kwargs: list[Keyword] = []
        if self.at(")"):
            close = self.advance()
            return Call(name.text, (), (), (name.start, close.end))
        while True:
            tok = self.peek()
            if tok.kind == IDENT and self.at("=", 1):
                self.advance()
                self.advance()
                value = self.expr()
                kwargs.append(Keyword(tok.text, value, (tok.start, value.span[1])))
            else:
                value = self.expr()
                if kwargs:
                    raise syntax_error(
                        "E_SYNTAX", f"positional argument after keyword argument '{kwargs[-1].name}' in the call "
                        f"to {name.text} (offset {value.span[0]})", value.span[0], value.span[1])
                args.append(value)
            if self.at(","):
                self.advance()
                if self.at(")"):
                    raise self.fail(self.peek(), f"trailing ',' in the call to {name.text}")
                continue
            if self.at(")"):
                close = self.advance()
                return Call(name.text, tuple(args), tuple(kwargs), (name.start, close.end))
            raise self.fail(self.peek(), f"expected ',' or ')' in the call to {name.text}, "
                                         f"got {_describe(self.peek())}")
