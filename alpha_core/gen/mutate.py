"""The simplest honest mutator (ARCHITECTURE.md "mutation_sensor"): window and operator swaps, settings moves.

Given a parent (its canonical expression, settings and hash) it proposes children that differ by ONE move:

| move | rule |
|---|---|
| window | a constant window/lag (2nd positional argument of a ``ts_*`` call) moves to its neighbour on the ladder 3, 5, 10, 20, 40, 60, 120, 250 (one step down and one step up) |
| operator | a call renamed within its swap group: {ts_mean, ts_median, ts_decay_linear}, {ts_rank, ts_zscore, ts_scale}, {rank, zscore}, {ts_max, ts_min}... only groups whose members share a signature |
| decay | decay moves on the ladder 0, 2, 4, 8, 16 |
| neutralization | MARKET / SECTOR / INDUSTRY / SUBINDUSTRY (each other value) |

Children carry ``origin="mutation"`` and ``parent_hash``. Order is deterministic (a SHA-256 shuffle keyed by
the parent hash), duplicates of the parent are dropped. Expressions are rebuilt on the canonical AST and
printed by ``alpha_core.expr.canonical.to_text``.
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

from alpha_core.expr.ast import Call, Keyword, Number, Program
from alpha_core.gen.templates import Candidate

WINDOW_LADDER = (3, 5, 10, 20, 40, 60, 120, 250)
DECAY_LADDER = (0, 2, 4, 8, 16)
NEUTRALIZATIONS = ("MARKET", "SECTOR", "INDUSTRY", "SUBINDUSTRY")
SWAP_GROUPS = (
    ("ts_mean", "ts_median", "ts_decay_linear"),
    ("ts_rank", "ts_zscore", "ts_scale"),
    ("rank", "zscore"),
    ("ts_max", "ts_min"),
    ("ts_std_dev", "ts_sum"),
)
_SWAP = {name: group for group in SWAP_GROUPS for name in group}


def _neighbours(value: float, ladder: tuple[int, ...]) -> list[int]:
    v = int(value)
    lower = [w for w in ladder if w < v]
    upper = [w for w in ladder if w > v]
    return ([lower[-1]] if lower else []) + ([upper[0]] if upper else [])


def _calls(node, path=()):
    """Yield (path, Call) for every call; path = tuple of ('arg', i) / ('kw', i) steps from the root."""
    if isinstance(node, Call):
        yield path, node
        for i, a in enumerate(node.args):
            yield from _calls(a, path + (("arg", i),))
        for i, k in enumerate(node.kwargs):
            yield from _calls(k.value, path + (("kw", i),))


def _replace_at(node, path, new):
    if not path:
        return new
    (kind, i), rest = path[0], path[1:]
    if kind == "arg":
        args = list(node.args)
        args[i] = _replace_at(args[i], rest, new)
        return replace(node, args=tuple(args))
    kwargs = list(node.kwargs)
    kwargs[i] = Keyword(kwargs[i].name, _replace_at(kwargs[i].value, rest, new))
    return replace(node, kwargs=tuple(kwargs))


def expression_moves(program: Program) -> list[tuple[str, Program]]:
    """(description, mutated program) for every window and operator move of the alpha (last statement)."""
    out = []
    root = program.result
    for path, call in _calls(root):
        if call.name.startswith("ts_") and len(call.args) >= 2 and isinstance(call.args[1], Number):
            w = call.args[1].value
            for nw in _neighbours(w, WINDOW_LADDER):
                args = list(call.args)
                args[1] = Number(float(nw))
                new = replace(call, args=tuple(args))
                out.append((f"window {call.name} {int(w)}->{nw}", replace(program, result=_replace_at(root, path, new))))
        for other in _SWAP.get(call.name, ()):
            if other != call.name:
                new = replace(call, name=other)
                out.append((f"operator {call.name}->{other}", replace(program, result=_replace_at(root, path, new))))
    return out


def settings_moves(settings: dict) -> list[tuple[str, dict]]:
    """(description, new settings) for each decay and neutralization move."""
    out = []
    for d in _neighbours(settings.get("decay", 0), DECAY_LADDER) if settings.get("decay", 0) in DECAY_LADDER \
            else [d for d in DECAY_LADDER if d != settings.get("decay", 0)][:2]:
        out.append((f"decay {settings.get('decay', 0)}->{d}", {**settings, "decay": d}))
    for nz in NEUTRALIZATIONS:
        if nz != settings.get("neutralization"):
            out.append((f"neutralization {settings.get('neutralization')}->{nz}", {**settings, "neutralization": nz}))
    return out


def mutate(expression: str, settings: dict, parent_hash: str, n: int = 4, archetype: str | None = None) -> list[Candidate]:
    """Up to ``n`` one-move children of the parent ``expression`` (FastExpr text) with ``settings``.

    Raises ValueError when the parent does not lint clean (a mutation parent must be a simulated alpha).
    """
    from alpha_core.expr import lint
    from alpha_core.expr.canonical import to_text

    res = lint(expression)
    if not res.ok or res.program is None:
        raise ValueError(f"mutation parent {parent_hash[:12]} does not lint clean: {expression!r}")
    base = res.canonical
    proposals: dict[tuple[str, str], str] = {}
    for desc, prog in expression_moves(res.program):
        text = to_text(prog)
        if text != base:
            proposals.setdefault((text, _key(settings)), desc)
    for desc, st in settings_moves(settings):
        proposals.setdefault((base, _key(st)), desc)
    settings_of = {_key(s): s for _, s in settings_moves(settings)}
    settings_of[_key(settings)] = settings
    ranked = sorted(proposals.items(), key=lambda kv: hashlib.sha256(
        f"{parent_hash}|{kv[0][0]}|{kv[0][1]}".encode()).hexdigest())
    out = []
    for (text, skey), desc in ranked[:max(n, 0)]:
        out.append(Candidate(expression=text, settings=dict(settings_of[skey]), origin="mutation",
                             parent_hash=parent_hash, template=desc, archetype=archetype))
    return out


def _key(settings: dict) -> str:
    return repr(sorted(settings.items()))
