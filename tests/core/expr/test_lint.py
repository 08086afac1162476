"""Lint: every FASTEXPR.md §8 code with its span, worked example 23, the published-alpha corpus."""
import random
import time

import pytest
from hypothesis import given, settings, strategies as st

from alpha_core.data.registry import default_registry
from alpha_core.expr import Diagnostic, LintResult, lint, lint_many
from fastexpr_strategies import EXPRESSIONS


def test_worked_example_23():
    expected = {"ts_delay(close, -1)": "E_LOOKAHEAD", "ts_mean(close, 2.5)": "E_WINDOW_NOT_INTEGER",
                "close / 0": "E_DIV_ZERO", "sector + 1": "E_GROUP_AS_VALUE", "rank(close": "E_PAREN"}
    for text, code in expected.items():
        result = lint(text)
        assert not result.ok
        assert [d.code for d in result.errors] == [code], text
        assert result.canonical is None and result.program is None and result.hash is None


# (text, code, start, end): the first (or only) error of each expression and its span
ERRORS = [
    ("ts_delay(close, -1)", "E_LOOKAHEAD", 16, 18),
    ("ts_mean(close, 2.5)", "E_WINDOW_NOT_INTEGER", 15, 18),
    ("close / 0", "E_DIV_ZERO", 8, 9),
    ("close / (3 - 3)", "E_DIV_ZERO", 9, 14),
    ("inverse(0) * close", "E_DIV_ZERO", 8, 9),
    ("sector + 1", "E_GROUP_AS_VALUE", 0, 6),
    ("rank(close", "E_PAREN", 4, 5),
    ("", "E_EMPTY", 0, 0),
    ("close" + " " * 1996, "E_TOO_LONG", 0, 2001),
    ("((((((((((((((((((((((((((((((((((close)))))))))))))))))))))))))))))))))", "E_DEPTH", 32, 33),
    ("rank(close) @", "E_SYNTAX", 12, 13),
    ("x = rank(close);", "E_NO_RESULT", 0, 15),
    ("a < b < c", "E_CHAINED_COMPARISON", 0, 9),
    ("rnak(close)", "E_UNKNOWN_OPERATOR", 0, 4),
    ("rank(clsoe)", "E_UNKNOWN_IDENTIFIER", 5, 10),
    ("rank(x); ", "E_UNKNOWN_IDENTIFIER", 5, 6),
    ("a = b; b = close; a", "E_UNKNOWN_IDENTIFIER", 4, 5),
    ("rank * close", "E_UNKNOWN_IDENTIFIER", 0, 4),
    ("rank(close, 2, 3)", "E_ARITY", 0, 17),
    ("ts_backfill(close)", "E_ARITY", 0, 18),
    ("ts_decay_exp_window(close, 5)", "E_ARITY", 0, 29),
    ("bucket(rank(cap))", "E_ARITY", 0, 17),
    ("add(close, filter=true)", "E_ARITY", 0, 23),
    ("rank(close, speed=1)", "E_UNKNOWN_KEYWORD", 12, 19),
    ("add(close, open, x=1)", "E_UNKNOWN_KEYWORD", 17, 20),
    ("ts_rank(close, 5, d=5)", "E_DUPLICATE_KEYWORD", 18, 21),
    ("quantile(close, driver=normal)", "E_KEYWORD_VALUE", 23, 29),
    ("ts_quantile(close, 20, driver=\"GAUSS\")", "E_KEYWORD_VALUE", 30, 37),
    ("ts_regression(close, open, 20, rettype=10)", "E_KEYWORD_VALUE", 39, 41),
    ("ts_returns(close, 5, mode=3)", "E_KEYWORD_VALUE", 26, 27),
    ("kth_element(close, 5, 0)", "E_KEYWORD_VALUE", 22, 23),
    ("kth_element(close, 5, 1.5)", "E_KEYWORD_VALUE", 22, 25),
    ("ts_backfill(close, 5, ignore=\"zero\")", "E_KEYWORD_VALUE", 29, 35),
    ("normalize(close, useStd=2)", "E_KEYWORD_VALUE", 24, 25),
    ("winsorize(close, std=0)", "E_KEYWORD_VALUE", 21, 22),
    ("group_rank(close, bucket(rank(cap), range=\"1,0,0.1\"))", "E_KEYWORD_VALUE", 42, 51),
    ("group_rank(close, bucket(rank(cap), buckets=\"0.2,0.1\"))", "E_KEYWORD_VALUE", 44, 53),
    ("ts_mean(close, true)", "E_KEYWORD_VALUE", 15, 19),
    ("ts_mean(close, volume)", "E_NOT_CONSTANT", 15, 21),
    ("n = 5; ts_mean(close, n)", "E_NOT_CONSTANT", 22, 23),
    ("ts_rank(close, 5, constant=open)", "E_NOT_CONSTANT", 27, 31),
    ("quantile(close, driver=close)", "E_NOT_CONSTANT", 23, 28),
    ("ts_mean(close, abs(-3))", "E_NOT_CONSTANT", 15, 22),
    ("ts_delta(close, 1.5)", "E_WINDOW_NOT_INTEGER", 16, 19),
    ("ts_mean(close, 0)", "E_WINDOW_LT1", 15, 16),
    ("ts_sum(close, 1 - 3)", "E_WINDOW_LT1", 14, 19),
    ("ts_delta(close, 0)", "E_WINDOW_LT1", 16, 17),
    ("ts_regression(close, open, 20, lag=-2)", "E_LOOKAHEAD", 35, 37),
    ("ts_returns(close, -5)", "E_LOOKAHEAD", 18, 20),
    ("group_rank(close, 1)", "E_NOT_A_GROUP", 18, 19),
    ("group_rank(close, volume)", "E_NOT_A_GROUP", 18, 24),
    ("group_neutralize(close, rank(cap))", "E_NOT_A_GROUP", 24, 33),
    ("group_rank(close, densify(3))", "E_NOT_A_GROUP", 26, 27),
    ("fnd6_sales * close", "E_VECTOR_UNREDUCED", 0, 10),
    ("rank(fnd6_sales)", "E_VECTOR_UNREDUCED", 5, 15),
    ("vec_avg(close)", "E_VECTOR_OP_INPUT", 8, 13),
    ("vec_sum(3) + close", "E_VECTOR_OP_INPUT", 8, 9),
    ("vec_max(close * 2)", "E_VECTOR_OP_INPUT", 8, 17),
    ("rank(ticker)", "E_SYMBOL_FIELD", 5, 11),
    ("close + cusip", "E_SYMBOL_FIELD", 8, 13),
    ("close + \"a\"", "E_STRING_AS_VALUE", 8, 11),
    ("x = 'a'; rank(close)", "E_STRING_AS_VALUE", 4, 7),
    ("ts_mean(close, \"5\")", "E_STRING_AS_VALUE", 15, 18),
    ("reduce_avg(close)", "E_SCOPE", 0, 10),
    ("combo_a(close)", "E_SCOPE", 0, 7),
    ("rank(close) * in", "E_SCOPE", 14, 16),
    ("universe_size + close", "E_SCOPE", 0, 13),
    ("x = close; x = open; x", "E_ASSIGN", 11, 12),
    ("rank = close; rank(rank)", "E_SHADOW", 0, 4),
    ("volume = close; volume", "E_SHADOW", 0, 6),
    ("true = close; rank(close)", "E_SHADOW", 0, 4),
    ("1 + 2", "E_NO_DATA_FIELD", 0, 5),
    ("ts_step(1)", "E_NO_DATA_FIELD", 0, 10),
    ("x = 3; x * 2", "E_NO_DATA_FIELD", 7, 12),
    ("bucket(rank(cap), range=\"0,1,0.1\")", "E_GROUP_AS_VALUE", 0, 34),
    ("g = densify(sector); g", "E_GROUP_AS_VALUE", 21, 22),
    ("ts_mean(sector, 5)", "E_GROUP_AS_VALUE", 8, 14),
    ("close > sector", "E_GROUP_AS_VALUE", 8, 14),
]


@pytest.mark.parametrize("text,code,start,end", ERRORS)
def test_error_code_and_span(text, code, start, end):
    result = lint(text)
    assert not result.ok
    first = result.errors[0]
    assert (first.code, first.start, first.end) == (code, start, end), [str(d) for d in result.diagnostics]
    assert result.canonical is None and result.program is None
    assert first.message


WARNINGS = [
    ("rank(2 * close)", "W_NO_EFFECT", 5, 14),
    ("rank(close + 3)", "W_NO_EFFECT", 5, 14),
    ("group_rank(close / 4, sector)", "W_NO_EFFECT", 11, 20),
    ("rank(rank(close))", "W_NO_EFFECT", 0, 17),
    ("ts_mean(close, 1)", "W_NO_EFFECT", 0, 17),
    ("ts_std_dev(close, 1) + close", "W_NO_EFFECT", 0, 20),
    ("0.5 * rank(close)", "W_NO_EFFECT", 0, 17),
    ("ts_mean(close, 600)", "W_LONG_WINDOW", 15, 18),
    ("ts_delay(close, 513)", "W_LONG_WINDOW", 16, 19),
    ("a = open; b = close; rank(b)", "W_UNUSED_VAR", 0, 1),
    ("group_max(close, sector)", "W_OPERATOR_LEVEL", 0, 9),
    ("ts_max(close, 5)", "W_OPERATOR_LEVEL", 0, 6),
    ("rank(dividend)", "W_FIELD_NOT_LOCAL", 5, 13),
    ("vec_avg(fnd6_sales)", "W_FIELD_NOT_LOCAL", 8, 18),
]


@pytest.mark.parametrize("text,code,start,end", WARNINGS)
def test_warning_code_and_span(text, code, start, end):
    result = lint(text)
    assert result.ok and result.canonical is not None
    assert [(d.code, d.start, d.end) for d in result.warnings] == [(code, start, end)]
    assert result.warnings[0].severity == "warning"


def test_no_warning_for_effective_forms():
    for text in ("rank(-2 * close)", "rank(0 * close + close)", "rank(close * 0 + volume)", "rank(close * volume)", "rank(close) - 0.5", "ts_mean(close, 2)",
                 "-1 * rank(close)", "rank(close) + rank(open)", "ts_regression(close, open, 20, lag=0)"):
        assert lint(text).diagnostics == [], text


def test_operator_level_silenced_by_live_list():
    assert lint("group_max(close, sector)", live_operators=["GROUP_MAX"]).diagnostics == []


def test_collects_several_errors_sorted_by_start():
    result = lint("ts_mean(sector, -1) + rank(foo) / 0 + vec_avg(close)")
    assert [d.code for d in result.errors] == ["E_GROUP_AS_VALUE", "E_WINDOW_LT1", "E_UNKNOWN_IDENTIFIER",
                                               "E_DIV_ZERO", "E_VECTOR_OP_INPUT"]
    starts = [d.start for d in result.diagnostics]
    assert starts == sorted(starts)


def test_group_kinds_accepted_by_group_arguments():
    for text in ("group_rank(close, sector)", "group_rank(close, densify(industry))",
                 "group_rank(close, bucket(rank(cap), range=\"0,1,0.1\"))",
                 "group_zscore(close, group_cartesian_product(sector, bucket(rank(cap), buckets=\"0.2,0.5,0.8\")))",
                 "g = densify(subindustry); group_neutralize(close, g)", "group_mean(close, 1, sector)",
                 "group_rank(close, densify(volume))"):
        assert lint(text).ok, text


def test_string_kind_accepts_string_or_bare_enum_word():
    assert lint("quantile(close, driver=uniform)").canonical == 'quantile(close, driver="uniform")'
    assert lint("quantile(close, driver='Cauchy')").canonical == 'quantile(close, driver="Cauchy")'
    assert lint("ts_quantile(close, 20, driver=\"gaussian\")").canonical == "ts_quantile(close, 20)"
    assert lint("kth_element(close, 5, 2, ignore=\"NaN\")").canonical == "kth_element(close, 5, 2)"


def test_to_dict_shape():
    result = lint("RANK(close)  ")
    out = result.to_dict()
    assert out == {"expression": "RANK(close)  ", "ok": True, "errors": [], "warnings": [],
                   "canonical": "rank(close)", "hash": result.hash}
    assert len(out["hash"]) == 64
    bad = lint("ts_delay(close, -1)").to_dict()
    assert bad["ok"] is False and bad["canonical"] is None and bad["hash"] is None
    assert bad["errors"][0] == {"code": "E_LOOKAHEAD", "message": bad["errors"][0]["message"], "start": 16, "end": 18}
    assert lint("rank(close, 600)").diagnostics == []
    first = lint("ts_mean(close, 600)").diagnostics[0].to_dict()
    assert first["severity"] == "warning" and first["code"] == "W_LONG_WINDOW"


def test_canonical_longer_than_limit_is_too_long():
    # 2,000 characters of input whose canonical text is longer (spaces added around operators)
    text = "close" + "+close" * 332
    assert len(text) <= 2000
    result = lint(text)
    assert [d.code for d in result.errors] == ["E_TOO_LONG"]


def test_lint_uses_given_registry():
    registry = default_registry().with_local(["close", "my_signal"])
    assert lint("rank(my_signal)", registry).ok
    assert [d.code for d in lint("rank(my_signal)").errors] == ["E_UNKNOWN_IDENTIFIER"]
    assert [d.code for d in lint("rank(open)", registry).warnings] == ["W_FIELD_NOT_LOCAL"]


def test_corpus_lints_clean(corpus):
    assert len(corpus) >= 60
    results = lint_many(corpus)
    failures = [(r.text, [str(d) for d in r.errors]) for r in results if not r.ok]
    assert failures == []
    assert len({r.hash for r in results}) == len(corpus)


def _mutations(corpus, n, seed=7):
    rng = random.Random(seed)
    junk = list("()+-*/<>=!?:;,.\"'&|^# _") + ["ts_mean(", "close", "rank", ",", "/*", "*/", "1e999", "\x00", "é"]
    for _ in range(n):
        text = rng.choice(corpus)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(text) + 1)
            op = rng.random()
            if op < 0.4:
                text = text[:i] + text[i + rng.randint(1, 5):]
            elif op < 0.8:
                text = text[:i] + rng.choice(junk) + text[i:]
            else:
                text = text[:i]
        yield text


def test_fuzz_corpus_mutations_never_crash(corpus):
    texts = list(_mutations(corpus, 3000))
    started = time.perf_counter()
    results = lint_many(texts)
    elapsed = time.perf_counter() - started
    assert all(isinstance(r, LintResult) for r in results)
    for r in results:
        for d in r.diagnostics:
            assert isinstance(d, Diagnostic) and 0 <= d.start <= d.end <= len(r.text)
        assert r.ok == (not r.errors)
        if r.ok:
            assert lint(r.canonical).canonical == r.canonical
    assert sum(not r.ok for r in results) > 1000  # the mutations do break most expressions
    assert elapsed < 30


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_lint_any_string_never_raises(text):
    result = lint(text)
    assert result.ok == (result.canonical is not None)


@pytest.mark.parametrize("text", ["-" * 1994 + "close", "close" + "-close" * 332, "a?" * 300 + "close" + ":1" * 300])
def test_lint_deep_chains(text):
    lint(text)


def test_speed_10k_expressions(corpus):
    texts = (corpus * (10_000 // len(corpus) + 1))[:10_000]
    started = time.perf_counter()
    results = lint_many(texts)
    elapsed = time.perf_counter() - started
    assert all(r.ok for r in results)
    assert elapsed < 60, elapsed  # ~3-6 s measured on 2 loaded cores; generous bound for CI noise


@settings(max_examples=300, deadline=None)
@given(EXPRESSIONS, st.sampled_from(["", "x = rank(volume); ", "x = densify(sector); ", "x = 3; "]))
def test_lint_random_programs(text, prefix):
    from alpha_core.expr import canonicalize, parse, to_text

    result = lint(prefix + text)
    assert result.ok == (not result.errors)
    if result.ok:
        assert result.canonical == to_text(result.program)
        assert lint(result.canonical).ok
        assert canonicalize(parse(result.canonical)) == result.program
