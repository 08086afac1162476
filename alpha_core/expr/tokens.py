"""FastExpr tokenizer (FASTEXPR.md §1) and the bracket pre-scan (§8 E_PAREN / E_DEPTH).

``tokenize(text)`` turns the text into ``Token``s (comments and whitespace dropped, identifiers
lower-cased, numbers converted to finite floats) and raises ``ExprSyntaxError`` (E_SYNTAX) at the
first lexical error. ``check_brackets(text)`` finds unbalanced or too deeply nested parentheses
without building anything, so megabytes of ``(`` are rejected after reading 33 characters.
"""
from __future__ import annotations

import math
import re
from typing import NamedTuple

from .errors import syntax_error

MAX_DEPTH = 32
"""Most parentheses open at once (FASTEXPR.md §8 E_DEPTH)."""

NUM, STR, IDENT, OP, EOF = "NUM", "STR", "IDENT", "OP", "EOF"


class Token(NamedTuple):
    """One token: ``kind`` (NUM, STR, IDENT, OP, EOF), ``text`` (identifiers lower-case, strings
    without quotes), ``start``/``end`` character offsets, ``value`` (float for NUM, else None)."""

    kind: str
    text: str
    start: int
    end: int
    value: float | None = None


_TOKEN = re.compile(
    r"""
     (?P<ws>[ \t\r\n\f\v]+)
    |(?P<comment>/\*.*?\*/)
    |(?P<num>(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<str>"[^"\n]*"|'[^'\n]*')
    |(?P<op><=|>=|==|!=|&&|\|\||[-+*/<>()?:,;=])
    |(?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]")

_UNSUPPORTED = {
    "!": "'!' is not supported; use not(x) (or != for inequality)",
    "^": "'^' is not supported; use power(x, y)",
    "&": "single '&' is not supported; use && or and(a, b)",
    "|": "single '|' is not supported; use || or or(a, b)",
    "#": "'#' comments are not supported; use /* ... */",
    "[": "'[' is not supported; FastExpr has no indexing",
    "]": "']' is not supported; FastExpr has no indexing",
    "{": "'{' is not supported",
    "}": "'}' is not supported",
    ".": "stray '.'; a number needs digits after the point (write 0.5, .5 or 1)",
}


def _lex_error(text: str, pos: int):
    ch = text[pos]
    if text.startswith("/*", pos):
        return syntax_error("E_SYNTAX", f"unterminated comment starting at offset {pos}", pos, len(text))
    if ch in "\"'":
        return syntax_error("E_SYNTAX", f"unterminated string starting at offset {pos} (strings are single-line)",
                            pos, len(text))
    if text.startswith("**", pos):
        return syntax_error("E_SYNTAX", "'**' is not supported; use power(x, y)", pos, pos + 2)
    if ch in _UNSUPPORTED:
        return syntax_error("E_SYNTAX", f"{_UNSUPPORTED[ch]} (offset {pos})", pos, pos + 1)
    shown = ch if ch.isprintable() else repr(ch)
    return syntax_error("E_SYNTAX", f"unexpected character {shown!s} (U+{ord(ch):04X}) at offset {pos}", pos, pos + 1)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with an EOF token (FASTEXPR.md §1).

    Raises ``ExprSyntaxError`` E_SYNTAX for an unterminated comment or string, an unsupported
    character (``!``, ``^``, ``#``, unicode...), ``//`` comments, a malformed number (``1.``, ``1e``,
    ``3abc``) or a number that is not finite (``1e999``).
    """
    tokens: list[Token] = []
    append = tokens.append
    n = len(text)
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            continue
        pos, end = m.span()
        if kind == "ident":
            append(Token(IDENT, m.group().lower(), pos, end))
        elif kind == "op":
            op = m.group()
            if op == "/" and text.startswith("*", end):
                raise _lex_error(text, pos)  # a '/*' the comment rule did not close
            if (op == "/" or op == "*") and text.startswith(op, end):
                if op == "/":
                    raise syntax_error("E_SYNTAX", f"'//' comments are not supported; use /* ... */ (offset {pos})",
                                       pos, pos + 2)
                raise _lex_error(text, pos)
            append(Token(OP, op, pos, end))
        elif kind == "num":
            if end < n and _NUMBER_TAIL.match(text, end):
                tail = end + 1
                while tail < n and _NUMBER_TAIL.match(text, tail):
                    tail += 1
                raise syntax_error("E_SYNTAX", f"malformed number {text[pos:tail]!r} at offset {pos}", pos, tail)
            value = float(m.group())
            if not math.isfinite(value):
                raise syntax_error("E_SYNTAX", f"number {m.group()!r} at offset {pos} is not finite", pos, end)
            append(Token(NUM, m.group(), pos, end, value))
        elif kind == "str":
            append(Token(STR, m.group()[1:-1], pos, end))
        else:
            raise _lex_error(text, pos)
    tokens.append(Token(EOF, "", n, n))
    return tokens


_STRUCTURE = re.compile(r"/\*|[\"'()]")


def check_brackets(text: str) -> None:
    """Raise E_DEPTH / E_PAREN / E_SYNTAX for bracket structure, reading only what it must.

    Parentheses inside comments and strings do not count. E_DEPTH is raised at the 33rd
    parenthesis open at once, E_PAREN at an unmatched ``)`` or, at the end, at the innermost ``(``
    left open. An unterminated comment or string is E_SYNTAX. Cost: O(number of brackets, quotes and
    comments), never recursion. Source: FASTEXPR.md §8.
    """
    if len(text) > _VECTOR_SCAN and '"' not in text and "'" not in text and "/*" not in text:
        _check_brackets_vectorised(text)
        return
    stack: list[int] = []
    pos = 0
    search = _STRUCTURE.search
    while True:
        m = search(text, pos)
        if m is None:
            break
        start = m.start()
        tok = m.group()
        if tok == "(":
            stack.append(start)
            if len(stack) > MAX_DEPTH:
                raise syntax_error("E_DEPTH", f"more than {MAX_DEPTH} parentheses open at once "
                                   f"(parenthesis number {MAX_DEPTH + 1} opens at offset {start})", start, start + 1)
            pos = start + 1
        elif tok == ")":
            if not stack:
                raise syntax_error("E_PAREN", f"unmatched ')' at offset {start}", start, start + 1)
            stack.pop()
            pos = start + 1
        elif tok == "/*":
            close = text.find("*/", start + 2)
            if close < 0:
                raise _lex_error(text, start)
            pos = close + 2
        else:  # quote
            close = text.find(tok, start + 1)
            newline = text.find("\n", start + 1)
            if close < 0 or 0 <= newline < close:
                raise _lex_error(text, start)
            pos = close + 1
    if stack:
        start = stack[-1]
        raise syntax_error("E_PAREN", f"'(' at offset {start} is never closed", start, start + 1)


_VECTOR_SCAN = 20_000


def _check_brackets_vectorised(text: str) -> None:
    """``check_brackets`` for long texts without strings or comments, in numpy (1 MB in milliseconds)."""
    import numpy as np

    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    step = (codes == 40).astype(np.int64) - (codes == 41)
    depth = np.cumsum(step)
    over = np.flatnonzero(depth > MAX_DEPTH)
    under = np.flatnonzero(depth < 0)
    first_over = int(over[0]) if over.size else len(text)
    first_under = int(under[0]) if under.size else len(text)
    if first_over < first_under:
        raise syntax_error("E_DEPTH", f"more than {MAX_DEPTH} parentheses open at once (parenthesis number "
                           f"{MAX_DEPTH + 1} opens at offset {first_over})", first_over, first_over + 1)
    if first_under < len(text):
        raise syntax_error("E_PAREN", f"unmatched ')' at offset {first_under}", first_under, first_under + 1)
    if depth.size and depth[-1] > 0:
        suffix_min = np.minimum.accumulate(depth[::-1])[::-1]
        start = int(np.flatnonzero((step == 1) & (suffix_min >= depth))[-1])
        raise syntax_error("E_PAREN", f"'(' at offset {start} is never closed", start, start + 1)
