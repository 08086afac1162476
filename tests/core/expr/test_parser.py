"""Tokenizer and parser: FASTEXPR.md §1-§4 and the syntax codes of §8."""
import time

import pytest
from hypothesis import given, settings, strategies as st

from alpha_core.expr import ExprSyntaxError, parse
from alpha_core.expr.ast import Assign, Binary, Bool, Call, Ident, Keyword, Number, String, Ternary, Unary
from alpha_core.expr.tokens import tokenize


def test_worked_example_22_parse_trees():
    # -a*b+c > d ? 1 : 0: unary binds tighter than *, * than +, + than >, ternary lowest
    tree = parse("-a*b+c > d ? 1 : 0").result
    assert tree == Ternary(
        Binary(">", Binary("+", Binary("*", Unary("-", Ident("a")), Ident("b")), Ident("c")), Ident("d")),
        Number(1.0), Number(0.0))
    assert parse("a || b && c").result == Binary("||", Ident("a"), Binary("&&", Ident("b"), Ident("c")))
    assert parse("1 - 2 - 3").result == Binary("-", Binary("-", Number(1.0), Number(2.0)), Number(3.0))


def test_spans_point_into_the_source():
    text = "rank(ts_delta(close, 5))"
    call = parse(text).result
    assert call.span == (0, 24)
    inner = call.args[0]
    assert text[inner.span[0]:inner.span[1]] == "ts_delta(close, 5)"
    assert text[slice(*inner.args[0].span)] == "close"
    assert text[slice(*inner.args[1].span)] == "5"


def test_case_insensitive_names_comments_and_statements():
    prog = parse("/* lead */ X = Rank(CLOSE);\n y = TS_MEAN(x, 5 /* days */);\n Y * TRUE;")
    assert prog.statements == (Assign("x", Call("rank", (Ident("close"),))),
                               Assign("y", Call("ts_mean", (Ident("x"), Number(5.0)))))
    assert prog.result == Binary("*", Ident("y"), Bool(True))


def test_keywords_strings_and_numbers():
    call = parse("Normalize(x, USESTD=true, limit=.5e1)").result
    assert call == Call("normalize", (Ident("x"),), (Keyword("usestd", Bool(True)), Keyword("limit", Number(5.0))))
    assert parse("bucket(x, range='0,1,0.1')").result.kwargs[0].value == String("0,1,0.1")
    assert [t.value for t in tokenize("3 0.5 .5 1e-3 2E+2")[:-1]] == [3.0, 0.5, 0.5, 0.001, 200.0]


def test_comparison_is_not_assignment_in_calls():
    assert parse("f(a == 1)").result == Call("f", (Binary("==", Ident("a"), Number(1.0)),))


# (text, code, start, end): every broken input names its code and its span
BROKEN = [
    ("", "E_EMPTY", 0, 0),
    ("  /* only a comment */ ", "E_EMPTY", 0, 23),
    ("rank(close", "E_PAREN", 4, 5),
    ("rank(close))", "E_PAREN", 11, 12),
    ("ts_mean(rank(close, 5)", "E_PAREN", 7, 8),
    (")", "E_PAREN", 0, 1),
    ("(" * 33 + "x" + ")" * 33, "E_DEPTH", 32, 33),
    ("a < b < c", "E_CHAINED_COMPARISON", 0, 9),
    ("a == b != c", "E_CHAINED_COMPARISON", 0, 11),
    ("x = close;", "E_NO_RESULT", 0, 9),
    ("x = close", "E_NO_RESULT", 0, 9),
    ("x" * 2001, "E_TOO_LONG", 0, 2001),
    ("close /* open", "E_SYNTAX", 6, 13),
    ("rank(\"abc)", "E_SYNTAX", 5, 10),
    ("!close", "E_SYNTAX", 0, 1),
    ("close ^ 2", "E_SYNTAX", 6, 7),
    ("close ** 2", "E_SYNTAX", 6, 8),
    ("close // x", "E_SYNTAX", 6, 8),
    ("close # x", "E_SYNTAX", 6, 7),
    ("close & open", "E_SYNTAX", 6, 7),
    ("1.", "E_SYNTAX", 0, 2),
    ("3abc", "E_SYNTAX", 0, 4),
    ("1e999 * close", "E_SYNTAX", 0, 5),
    ("close é", "E_SYNTAX", 6, 7),
    ("ts_mean(d=5, close)", "E_SYNTAX", 13, 18),
    ("f(a,)", "E_SYNTAX", 4, 5),
    ("f(a b)", "E_SYNTAX", 4, 5),
    ("close +", "E_SYNTAX", 7, 7),
    ("a ? b", "E_SYNTAX", 5, 5),
    ("rank(x); rank(y)", "E_SYNTAX", 0, 7),
    ("a + b = c", "E_SYNTAX", 6, 7),
    ("x = 1;; x", "E_SYNTAX", 6, 7),
]


@pytest.mark.parametrize("text,code,start,end", BROKEN)
def test_broken_expressions_report_code_and_span(text, code, start, end):
    with pytest.raises(ExprSyntaxError) as info:
        parse(text)
    d = info.value.diagnostic
    assert (d.code, d.start, d.end, d.severity) == (code, start, end, "error")
    assert d.message


def test_one_megabyte_of_parentheses_is_rejected_fast():
    for text, code in (("(" * 1_000_000, "E_DEPTH"), (")" * 1_000_000, "E_PAREN"),
                       ("(x)" * 400_000, "E_TOO_LONG"), ("(" * 20 + ")" * 1_000_000, "E_PAREN")):
        started = time.perf_counter()
        with pytest.raises(ExprSyntaxError) as info:
            parse(text)
        assert info.value.code == code
        assert time.perf_counter() - started < 1.0


def test_vectorised_bracket_scan_agrees_with_the_loop(monkeypatch):
    import random

    from alpha_core.expr import tokens

    def outcome(text, vectorised):
        try:
            (tokens._check_brackets_vectorised if vectorised else tokens.check_brackets)(text)
        except ExprSyntaxError as exc:
            return exc.code, exc.diagnostic.start, exc.diagnostic.end
        return None

    monkeypatch.setattr(tokens, "_VECTOR_SCAN", 10**9)
    rng = random.Random(3)
    for _ in range(2000):
        text = "".join(rng.choice("(()x)") for _ in range(rng.randint(0, 90)))
        assert outcome(text, True) == outcome(text, False), text


def test_deepest_legal_nesting_parses():
    text = "(" * 32 + "close" + ")" * 32
    assert parse(text).result == Ident("close")
    calls = "rank(" * 32 + "close" + ")" * 32
    assert parse(calls).result.name == "rank"


@pytest.mark.parametrize("text", [
    "-" * 1999 + "x",
    "x" + "+x" * 999,
    "a?" * 400 + "b" + ":c" * 400,
    "x" + "?x:x" * 499,
    "f(" + ",".join(["x"] * 999) + ")",
])
def test_long_chains_within_2000_chars_parse_without_recursion_error(text):
    assert len(text) <= 2000
    parse(text)


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError):
        parse(b"close")


_ALPHABET = st.sampled_from(list("()+-*/<>=!?:;,. \"'&|^#_/*\n\t") + ["ts_mean", "close", "rank", "1", "0.5",
                                                                       "e", "/*", "*/", "==", "x", "é", "\x00"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(_ALPHABET, max_size=120).map("".join)))
def test_parse_any_string_yields_program_or_syntax_error(text):
    try:
        parse(text)
    except ExprSyntaxError as exc:
        d = exc.diagnostic
        assert 0 <= d.start <= d.end <= len(text)
        assert d.code.startswith("E_")
