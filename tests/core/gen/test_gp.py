"""Typed GP operators on the canonical AST (alpha_core.gen.gp): value slots only, children well-typed."""
import numpy as np
import pytest

from alpha_core.expr import lint
from alpha_core.expr.ast import Call, Ident, Number
from alpha_core.expr.canonical import to_text
from alpha_core.gen import gp
from alpha_core.gen.seeds import SEEDS

GROUPS = ("subindustry", "industry", "sector")
FIELDS = ("close", "volume", "vwap", "returns")


def _prog(text):
    res = lint(text)
    assert res.ok, (text, [d.code for d in res.diagnostics])
    return res.program


def _seed_programs():
    """Every seed template that suits a price field, filled for ``close`` (companion ``volume``)."""
    out = []
    for t in SEEDS:
        if "price" not in t.kinds:
            continue
        res = lint(t.text.format(f="close", g="volume"))
        if res.ok:
            out.append(res.program)
    return out


PROGRAMS = _seed_programs()


def _typed_ok(node):
    """Windows / lags are integer literals, group slots hold group fields, everywhere in ``node``."""
    if not isinstance(node, Call):
        return True
    pos, kws = gp._slot_kinds(node)
    for arg, kind in list(zip(node.args, pos)) + [(k.value, kind) for k, kind in zip(node.kwargs, kws)]:
        if kind in ("window", "lag"):
            if not (isinstance(arg, Number) and float(arg.value).is_integer()):
                return False
        if kind == "group" and not (isinstance(arg, Ident) and arg.name in GROUPS):
            return False
        if not _typed_ok(arg):
            return False
    return True


def test_seed_programs_are_many():
    assert len(PROGRAMS) >= 20


def test_value_paths_skip_window_and_group_slots():
    prog = _prog("group_rank(ts_delta(close, 5), subindustry)")
    paths = gp.value_paths(prog)
    nodes = [gp.get_at(prog.result, p) for p in paths]
    assert paths == [(), (("arg", 0),), (("arg", 0), ("arg", 0))]
    assert [to_text(type(prog)(statements=(), result=n)) for n in nodes] == [
        "group_rank(ts_delta(close, 5), subindustry)", "ts_delta(close, 5)", "close"]
    assert gp.value_paths(prog, include_root=False) == paths[1:]
    assert not any(isinstance(n, (Number,)) or (isinstance(n, Ident) and n.name == "subindustry") for n in nodes)


def test_value_paths_skip_keyword_constants_and_lag():
    prog = _prog("ts_delay(winsorize(close, std=3), 20)")
    nodes = [gp.get_at(prog.result, p) for p in gp.value_paths(prog)]
    assert all(isinstance(n, (Call, Ident)) for n in nodes)
    assert [n.name for n in nodes] == ["ts_delay", "winsorize", "close"]


def test_size_depth_and_number_paths():
    prog = _prog("group_rank(ts_delta(close, 5), subindustry)")
    assert gp.size(prog.result) == 5 and gp.depth(prog.result) == 2
    assert gp.number_paths(prog) == [((("arg", 0),), 1, "ts_delta")]
    assert gp.fields_of(prog.result) == {"close", "subindustry"}


def _pairs(n, seed):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield PROGRAMS[int(rng.integers(len(PROGRAMS)))], PROGRAMS[int(rng.integers(len(PROGRAMS)))]


def _check_child(child, parent):
    assert child.result != parent.result
    text = to_text(child)
    res = lint(text)
    assert res.ok, (text, [d.code for d in res.diagnostics])
    assert _typed_ok(child.result), text
    assert gp.size(child.result) <= gp.MAX_NODES and gp.depth(child.result) <= gp.MAX_DEPTH


def test_crossover_children_are_well_typed_or_none():
    rng = np.random.default_rng(7)
    made = 0
    for a, b in _pairs(400, 1):
        child = gp.crossover(a, b, rng)
        if child is not None:
            made += 1
            _check_child(child, a)
    assert made >= 200                                  # None is the exception, not the rule


def test_subtree_mutation_children_are_well_typed_or_none():
    rng = np.random.default_rng(11)
    made = 0
    for a, _ in _pairs(300, 2):
        child = gp.subtree_mutation(a, rng, FIELDS, GROUPS)
        if child is not None:
            made += 1
            _check_child(child, a)
            assert gp.fields_of(child.result) <= set(FIELDS) | set(GROUPS) | gp.fields_of(a.result)
    assert made >= 100


def test_bloat_bound_drops_large_children():
    big = _prog("add(" + ", ".join(f"ts_mean(close, {w})" for w in (2, 3, 5, 10, 20, 40, 60, 120)) + ")")
    assert gp.size(big.result) > gp.MAX_NODES / 2
    rng = np.random.default_rng(3)
    for _ in range(50):
        child = gp.crossover(big, big, rng)             # grafting big into big mostly exceeds MAX_NODES
        assert child is None or gp.size(child.result) <= gp.MAX_NODES


@pytest.mark.parametrize("op", ["crossover", "subtree"])
def test_operators_are_deterministic_for_a_seed(op):
    def run(seed):
        rng = np.random.default_rng(seed)
        out = []
        for a, b in _pairs(60, 5):
            c = gp.crossover(a, b, rng) if op == "crossover" else gp.subtree_mutation(a, rng, FIELDS, GROUPS)
            out.append(None if c is None else to_text(c))
        return out

    first = run(42)
    assert first == run(42)
    assert first != run(43)
