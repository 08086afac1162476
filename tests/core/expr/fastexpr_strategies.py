"""Hypothesis strategy: random FastExpr programs built from the grammar (FASTEXPR.md §2)."""
from hypothesis import strategies as st

_NAMES = st.sampled_from(["close", "open", "volume", "returns", "x", "adv20"])
_NUMBERS = st.sampled_from([0, 1, 2, 0.5, 3.25, 1e-3, 1e20, 20, 7])


def _expr(children):
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "<", "<=", ">", ">=", "==", "!=", "&&", "||"]),
                       children).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["-", "+"]), children).map(lambda t: f"{t[0]}{t[1]}")
    ternary = st.tuples(children, children, children).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})")
    calls = st.one_of(
        st.tuples(children).map(lambda t: f"rank({t[0]})"),
        st.tuples(children, st.integers(1, 30)).map(lambda t: f"ts_mean({t[0]}, {t[1]})"),
        st.tuples(children, st.integers(1, 30), st.sampled_from(["", ", constant=0", ", constant=1"])).map(
            lambda t: f"ts_rank({t[0]}, {t[1]}{t[2]})"),
        st.tuples(children, children, st.sampled_from(["", ", filter=true", ", filter=false"])).map(
            lambda t: f"add({t[0]}, {t[1]}{t[2]})"),
        st.tuples(children, st.sampled_from(["", ", useStd=true", ", limit=2", ", true, 0"])).map(
            lambda t: f"normalize({t[0]}{t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"multiply({t[0]}, {t[1]}, {t[2]})"),
        st.tuples(children).map(lambda t: f"reverse({t[0]})"),
    )
    return st.one_of(binary, unary, ternary, calls)


EXPRESSIONS = st.recursive(st.one_of(_NAMES, _NUMBERS.map(str)), _expr, max_leaves=12)


