"""Canonical form, printer and identity: FASTEXPR.md §9, worked example 22, docs/DESIGN.md."""
import hashlib

import pytest
from hypothesis import given, settings, strategies as st

from alpha_core.expr import alpha_hash, canonicalize, lint, parse, to_text
from alpha_core.expr.ast import Bool, Call, Ident, Keyword, Number, Program, String, walk
from alpha_core.expr.canonical import format_number
from fastexpr_strategies import EXPRESSIONS


def canon(text: str) -> str:
    return to_text(canonicalize(parse(text)))


def test_worked_example_22():
    assert canon("-a*b+c > d ? 1 : 0") == "if_else(-a * b + c > d, 1, 0)"
    assert canon("a || b && c") == "or(a, and(b, c))"
    assert canonicalize(parse("1 - 2 - 3")).result == Number(-4.0)
    assert canon("1 - 2 - 3") == "-4"


def test_canonical_ast_has_only_leaf_and_call_nodes():
    prog = canonicalize(parse("x = -close; +x > 2 ? rank(x) : a && b"))
    for node in walk(prog.result):
        assert isinstance(node, (Number, String, Bool, Ident, Call))
    assert prog.result == Call("if_else", (Call("greater", (Ident("x"), Number(2.0))), Call("rank", (Ident("x"),)),
                                           Call("and", (Ident("a"), Ident("b")))))
    assert prog.statements[0].value == Call("reverse", (Ident("close"),))


@pytest.mark.parametrize("text,expected", [
    ("-3", "-3"),
    ("close * -3", "close * -3"),
    ("close - -3", "close - -3"),
    ("2 * 3 * close", "6 * close"),
    ("(1 + 2) / 4 * close", "0.75 * close"),
    ("a + b + (c + d)", "a + b + c + d"),
    ("add(a, add(b, c))", "a + b + c"),
    ("multiply(a, b * c)", "a * b * c"),
    ("add(a, add(b, c, filter=true))", "a + add(b, c, filter=true)"),
    ("a - (b - c)", "a - (b - c)"),
    ("a - b - c", "a - b - c"),
    ("a / (b * c)", "a / (b * c)"),
    ("a / b * c", "a / b * c"),
    ("(a + b) * c", "(a + b) * c"),
    ("-(a * b)", "-(a * b)"),
    ("-(-close)", "close"),
    ("+close", "close"),
    ("(a < b) == (c > d)", "(a < b) == (c > d)"),
    ("a + b < c * d", "a + b < c * d"),
    ("not(a) ? b : c", "if_else(not(a), b, c)"),
    ("20.0", "20"),
    ("1e-3 * close", "0.001 * close"),
    ("1e20 * close", "1e+20 * close"),
    ("0.1 + 0.2", "0.30000000000000004"),
    ("ts_mean(close, 20.0)", "ts_mean(close, 20)"),
    ("ts_rank(close, 10, 0)", "ts_rank(close, 10)"),
    ("ts_rank(close, 10, constant=1)", "ts_rank(close, 10, constant=1)"),
    ("normalize(close, true, 0.5)", "normalize(close, useStd=true, limit=0.5)"),
    ("NORMALIZE(close, LIMIT=0.5, usestd=1)", "normalize(close, useStd=true, limit=0.5)"),
    ("quantile(close, driver=GAUSSIAN, sigma=1)", "quantile(close)"),
    ("quantile(close, driver=cauchy)", 'quantile(close, driver="cauchy")'),
    ("ts_backfill(close, lookback=20, k=1)", "ts_backfill(close, 20)"),
    ("ts_regression(close, open, 20, 0, 2)", "ts_regression(close, open, 20, rettype=2)"),
    ("bucket(rank(cap), NANGROUP=true, range='0,1,0.1')", 'bucket(rank(cap), range="0,1,0.1", NANGroup=true)'),
    ("ts_mean(close, 2 * 10)", "ts_mean(close, 20)"),
    ("a = close ;  b=a*2 ; rank( b ) ;", "a = close; b = a * 2; rank(b)"),
])
def test_canonical_text(text, expected):
    assert canon(text) == expected


def test_division_by_zero_and_overflow_are_not_folded():
    assert canon("1 / 0") == "1 / 0"
    assert canon("close / (2 - 2)") == "close / 0"
    assert canon("1e308 * 10 * close") == "1e+308 * 10 * close"


def test_number_format_is_shortest_round_trip():
    for value in (20.0, 0.5, -4.0, 1e-05, 123456789.125, 1e16, 2.5e-300, 1 / 3):
        text = format_number(value)
        assert float(text) == value
    assert format_number(20.0) == "20" and format_number(-0.0) == "0" and format_number(1e16) == "1e+16"


SPELLINGS = [
    ["rank(close - open)", "RANK( Close-OPEN )", "rank(subtract(close, open))", "/* c */ rank((close) - (open))",
     "rank(close - open);", "rank(subtract(close, open, filter=false))", "rank(close - open, rate=2)",
     "rank(close - open, 2)"],
    ["ts_rank(volume / adv20, 20) * -1", "multiply(ts_rank(divide(volume, adv20), 20), -1)",
     "TS_RANK(volume/adv20, d=20, constant=0)*-1", "ts_rank(volume / adv20, 10 + 10) * (0 - 1)"],
    ["a = rank(close); a + 1", "A=rank(close);\n add(a, 1)", "a = rank(close); a + 0.5 * 2"],
    ["close > open ? close : open", "if_else(greater(close, open), close, open)", "(close > open) ? close : open"],
]


@pytest.mark.parametrize("group", SPELLINGS)
def test_spellings_of_one_alpha_collide(group):
    hashes = {lint(text).hash for text in group}
    assert len(hashes) == 1 and None not in hashes


def test_alpha_hash_definition():
    settings_ = {"universe": "TOP500", "delay": 1, "decay": 0}
    payload = "rank(close)\n" + '{"decay":0,"delay":1,"universe":"TOP500"}'
    assert alpha_hash("rank(close)", settings_) == hashlib.sha256(payload.encode()).hexdigest()
    assert alpha_hash("rank(close)", {}) != alpha_hash("rank(close)", {"decay": 1})
    assert alpha_hash("rank(close)", {"b": 1, "a": 2}) == alpha_hash("rank(close)", {"a": 2, "b": 1})


def test_corpus_round_trips(corpus):
    for text in corpus:
        c = canonicalize(parse(text))
        printed = to_text(c)
        assert canonicalize(parse(printed)) == c, text
        assert canon(printed) == printed, text
        assert lint(printed).ok, text


# ------------------------------------------------------------ property: random programs

@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS, st.booleans())
def test_canonical_round_trip_and_idempotence(text, with_var):
    if with_var:
        text = f"x = rank(close); {text}"
    c = canonicalize(parse(text))
    printed = to_text(c)
    again = canonicalize(parse(printed))
    assert again == c
    assert to_text(again) == printed
    assert canonicalize(again) == again
    assert all(isinstance(n, (Number, String, Bool, Ident, Call)) for n in walk(c.result))


def test_to_text_of_hand_built_canonical_program():
    prog = Program((), Call("ts_rank", (Ident("close"), Number(10.0)), (Keyword("constant", Number(1.0)),)))
    assert to_text(prog) == "ts_rank(close, 10, constant=1)"
    assert to_text(Program((), String('a"b'))) == "'a\"b'"
