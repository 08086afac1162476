"""The NOVELTY check: largest shared sub-tree of normalised canonical ASTs (alpha_core/gate/novelty.py)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alpha_core.expr import canonicalize, parse
from alpha_core.gate.checks import FAIL, PASS
from alpha_core.gate.novelty import Novelty, NoveltyIndex, novelty_check
from alpha_core.gen.gp import SEARCH_OPERATORS
from alpha_core.gen.random_expr import random_expression

REVERSAL = "rank(-ts_delta(close, 5))"
H_REV, H_CORR, H_MOM = "a1" * 32, "b2" * 32, "c3" * 32
LIBRARY = [(H_REV, REVERSAL), (H_CORR, "ts_corr(rank(volume), rank(close), 10)"),
           (H_MOM, "group_rank(ts_mean(returns, 20), industry)")]
FIELDS, GROUPS = ["close", "open", "volume", "returns", "vwap"], ["sector", "industry", "subindustry"]


@pytest.fixture(scope="module")
def index():
    return NoveltyIndex(LIBRARY)


# (candidate, library hash it re-spells, exact: the same traded alpha, not only the same shape)
RESPELLINGS = [
    ("-rank(ts_delta(close, 5))", H_REV, True),              # sign pushed out of rank
    ("2 * rank(-ts_delta(close, 5)) + 1", H_REV, True),      # positive scale and offset of the alpha
    ("rank(3 - ts_delta(close, 5) * 2)", H_REV, True),       # affine map inside rank
    ("a = ts_delta(close, 5); -rank(a)", H_REV, True),       # a variable
    ("rank(-ts_delta(close, 10))", H_REV, False),            # changed window
    ("-(-rank(-ts_delta(close, 3)))", H_REV, False),         # double negation and a changed window
    ("ts_corr(rank(close), rank(volume), 10)", H_CORR, True),             # argument order
    ("-ts_corr(-rank(close), 2 * rank(volume), 10)", H_CORR, True),       # signs and scale through ts_corr
    ("ts_corr(rank(close), rank(volume), 30)", H_CORR, False),
    ("group_rank(ts_mean(returns, 20) * 3 - 1, industry)", H_MOM, True),
    ("group_rank(ts_mean(returns, 60), industry)", H_MOM, False),
]


@pytest.mark.parametrize("candidate, other, exact", RESPELLINGS)
def test_respelling_of_a_library_alpha_fails(index, candidate, other, exact):
    n = index.closest(candidate)
    assert (n.value, n.other_hash, n.exact) == (1.0, other, exact)
    assert n.shared_nodes == n.candidate_nodes
    check = novelty_check(n)
    assert (check.name, check.result, check.value, check.limit) == ("NOVELTY", FAIL, 1.0, 0.9)
    assert other[:12] in check.message and other[:13] not in check.message


def test_the_sign_of_the_alpha_is_kept_by_exact_but_not_by_the_shape(index):
    n = index.closest("rank(ts_delta(close, 5))")          # the opposite trade of the reversal
    assert (n.value, n.exact, n.other_hash) == (1.0, False, H_REV)


def test_wrapper_around_a_library_alpha_gets_its_fraction(index):
    n = index.closest(f"group_rank({REVERSAL}, industry)")   # 4 library nodes + group_rank + industry
    assert (n.shared_nodes, n.candidate_nodes, n.other_hash, n.exact) == (4, 6, H_REV, False)
    assert n.value == pytest.approx(4 / 6) and n.subtree == REVERSAL
    check = novelty_check(n)
    assert check.result == PASS and "67%" in check.message and H_REV[:12] in check.message
    assert novelty_check(n, limit=0.6).result == FAIL
    # in a value position where the offset matters, the library alpha's own form is still recognised
    n = index.closest(f"ts_mean(2 * {REVERSAL} + 1, 3) * volume")
    assert (n.shared_nodes, n.candidate_nodes) == (4, 12)     # the literals 2 and 1 count here


def test_a_different_alpha_on_the_same_field_passes(index):
    n = index.closest("ts_rank(ts_delta(close, 20), 60) * volume")   # shares only ts_delta(close, d)
    assert (n.shared_nodes, n.candidate_nodes, n.other_hash) == (3, 7, H_REV)
    assert n.subtree == "ts_delta(close, 20)" and not n.exact
    assert novelty_check(n).result == PASS
    n = index.closest("rank(close / ts_delay(close, 5))")
    assert n == Novelty(0.0, 0, 6, None, None, False)
    assert novelty_check(n).to_dict() == {"name": "NOVELTY", "result": PASS, "value": 0.0, "limit": 0.9}


def test_a_bare_field_or_constant_never_counts(index):
    assert index.closest("close").value == 0.0                       # a leaf of every library alpha
    assert index.closest("ts_delta(open, 5)").value == 0.0           # same window, other field
    assert index.closest("rank(-ts_delta(open, 5))").value == 0.0    # same form, other field
    lib = NoveltyIndex([("d4" * 32, "close")])
    assert lib.closest("close * 2 - 1").exact is True                # ...unless it is the whole alpha
    assert lib.closest("-close").value == 0.0 and not lib.closest("-close").exact
    assert lib.closest("rank(close)").value == 0.0


def test_only_sound_rewrites_make_an_exact_match(index):
    assert not index.closest(f"{REVERSAL} * 0").exact                  # a zero factor is not a positive scale
    assert not index.closest("ts_mean(rank(-ts_delta(close, 5)), 5)").exact
    assert not index.closest("ts_rank(-ts_delta(close, 5), 5)").exact   # ts_rank(-x) is not 1 - ts_rank(x)
    n = index.closest("abs(rank(-ts_delta(close, 5)))")                 # the library alpha inside abs
    assert (n.shared_nodes, n.candidate_nodes, n.exact) == (4, 5, False)
    assert index.closest("ts_corr(rank(volume), rank(close), 10) + close").value == pytest.approx(6 / 8)


def test_empty_library_passes():
    n = NoveltyIndex([]).closest(REVERSAL)
    assert n == Novelty(0.0, 0, 4, None, None, False)
    check = novelty_check(n)
    assert (check.result, check.value, check.limit, check.message) == (PASS, 0.0, 0.9, "")


def test_add_and_parsed_programs():
    ix = NoveltyIndex()
    assert len(ix) == 0
    ix.add(H_REV, parse(REVERSAL))
    assert len(ix) == 1
    assert ix.closest(canonicalize(parse("-rank(ts_delta(close, 5))"))).exact is True


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"library alpha a1a1a1a1a1a1 .*E_PAREN"):
        NoveltyIndex([(H_REV, "rank(close")])
    with pytest.raises(TypeError, match="library entry must be"):
        NoveltyIndex([REVERSAL])
    with pytest.raises(ValueError, match="candidate 'ts_mean.*E_"):
        NoveltyIndex(LIBRARY).closest("ts_mean(close,, 5)")
    with pytest.raises(TypeError, match="got int"):
        NoveltyIndex(LIBRARY).closest(42)


SOUND_PAIRS = [  # (library alpha, re-spelling with exact=True): the same traded alpha after steps 3-6
    (REVERSAL, "-rank(ts_delta(close, 5))"),
    (REVERSAL, "2 * rank(5 - ts_delta(close, 5) * 3) + 1"),
    ("ts_corr(rank(volume), rank(close), 10)", "-ts_corr(-rank(close), rank(volume) / 4, 10)"),
    ("zscore(-ts_mean(returns, 5))", "3 - zscore(ts_mean(returns, 5))"),
    ("group_rank(ts_mean(returns, 20), industry) * volume",
     "-(volume * -group_rank(ts_mean(returns, 20) * 3 - 1, industry))"),
    ("ts_decay_linear(close - open, 5) / ts_std_dev(high - low, 10)",
     "-ts_decay_linear(open - close, 5) / ts_std_dev(low - high, 10)"),
    ("close > open ? volume : -returns", "open < close ? volume : -returns"),
]


@pytest.mark.real_data
@pytest.mark.parametrize("library, respelling", SOUND_PAIRS)
def test_exact_respellings_trade_the_same_portfolio(real_panel, library, respelling):
    """What the index calls the same alpha gets the same weights from SIMULATION.md §3 steps 3-6 (decay 3,
    INDUSTRY neutralization, truncation 0.08), on the real panel."""
    from alpha_core.sim.evaluate import evaluate
    from alpha_core.sim.portfolio import weights
    from alpha_core.sim.universe import panel_universe

    assert NoveltyIndex([("e5" * 32, library)]).closest(respelling).exact
    mask = panel_universe(real_panel, 500, ahead=True)
    universe = panel_universe(real_panel, 500)
    industry = real_panel["industry"]
    w = [weights(evaluate(canonicalize(parse(text)), real_panel, mask), universe, industry, 3, 0.08)
         for text in (library, respelling)]
    assert np.isfinite(w[0]).sum() > 100_000
    np.testing.assert_allclose(w[1], w[0], rtol=1e-9, atol=1e-12)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_every_library_member_is_found_exactly(seed):
    rng = np.random.default_rng(seed)
    texts = [random_expression(rng, FIELDS, GROUPS, max_depth=4, ops=SEARCH_OPERATORS, p_constant=0.0,
                               p_long_window=0.0) for _ in range(12)]
    ix = NoveltyIndex((f"{i:064x}", t) for i, t in enumerate(texts))
    for text in texts:
        n = ix.closest(text)
        assert n.value == 1.0 and n.exact and n.shared_nodes == n.candidate_nodes
    other = ix.closest(random_expression(rng, FIELDS, GROUPS, max_depth=4, ops=SEARCH_OPERATORS))
    assert 0.0 <= other.value <= 1.0 and other.shared_nodes <= other.candidate_nodes
