"""Moves of the miner's search: failure-directed mutation (the "performance surgeon") and lateral moves.

A move turns a parent (canonical program + BRAIN settings) into a child that differs in one way. Each
move has a short description that is stored with the child (``candidates.template``).

Lateral moves (``lateral_moves``):

| move | rule |
|---|---|
| window | a window / lag literal moves one step on ``WINDOW_LADDER`` (down and up) |
| operator | a call renamed within its family (``SWAP_GROUPS``: {ts_mean, ts_median, ts_decay_linear}, ...) |
| wrapper | the alpha wrapped in ``rank``, ``group_rank(., subindustry)``, ``winsorize(., std=4)``, ``ts_backfill(., 20)`` |

Failure-directed moves (``surgeon_moves``) read which check FAILed and by how much (``Check``, SIMULATION.md §7):

| failed check | moves |
|---|---|
| HIGH_TURNOVER | decay up (two ladder steps when turnover > 1.5 x limit), windows up, ``ts_mean(., 5)`` smoothing |
| LOW_TURNOVER | decay down to 0, windows down, ``ts_zscore(., 60)`` of the alpha (a slow level -> its recent change) |
| CONCENTRATED_WEIGHT | ``rank(.)``, ``winsorize(., std=3)``, truncation one step down |
| LOW_SUB_UNIVERSE_SHARPE | liquidity conditioning ``. * rank(adv20)``, universe TOP200 |
| LOW_SHARPE / LOW_FITNESS | strongly negative (IS sharpe <= -``FLIP_SHARPE``): the sign flip ``-(.)``; otherwise decay up when turnover > 0.3, neutralization moves, ``group_rank`` |
| SELF_CORRELATION | operator swaps and wrappers (another form of the same idea) |
| FACTOR_EXPOSURE, FACTOR_NEUTRAL_SHARPE | take the commonest style factors out: ``group_neutralize(., bucket(rank(log(cap)), range="0.1,1,0.1"))`` (size deciles), the same with ``ts_std_dev(returns, 60)`` (volatility deciles) |

Settings moves that cannot change the alpha are recognised and skipped (``settings_noop``): neutralizing
by a group at least as coarse as the group of an outer ``group_rank`` / ``group_neutralize`` / ``group_zscore``
(the alpha already has a constant mean inside each of those groups, so the neutralization subtracts a
constant per group and the scaled weights do not change). That is exact without decay; with decay
(SIMULATION.md §3 decays *before* it restricts to today's universe and neutralizes, and a decayed mix of
past days no longer has exactly constant group means) the child is a near-copy: measured on the real
panel with decay 16, its daily PnL correlates 0.9999 (TOP500) and 0.98 (TOP200) with the parent's, far
above the 0.7 at which two alphas count as one, so the move is skipped all the same.
"""
from __future__ import annotations

import functools
from dataclasses import replace

from alpha_core.expr.ast import Call, Ident, Keyword, Number, Program
from alpha_core.gen import gp

WINDOW_LADDER = (2, 3, 5, 10, 20, 40, 60, 120, 250)
DECAY_LADDER = (0, 2, 4, 6, 8, 12, 16, 24)
TRUNCATION_LADDER = (0.01, 0.03, 0.05, 0.08, 0.1)
NEUTRALIZATIONS = ("MARKET", "SECTOR", "INDUSTRY", "SUBINDUSTRY")
UNIVERSES = ("TOP500", "TOP200")
FLIP_SHARPE = 1.0
SWAP_GROUPS = (
    ("ts_mean", "ts_median", "ts_decay_linear"),
    ("ts_rank", "ts_zscore", "ts_scale"),
    ("rank", "zscore"),
    ("ts_max", "ts_min"),
    ("ts_std_dev", "ts_sum"),
)
_SWAP = {name: group for group in SWAP_GROUPS for name in group}
#: Group coarseness: a neutralization by a group at this level or coarser is a no-op under an outer
#: group operator at ``level`` (SIMULATION.md §2 neutralization; market is the whole universe).
GROUP_LEVEL = {"subindustry": 0, "industry": 1, "sector": 2, "market": 3}
_NEUTRAL_LEVEL = {"SUBINDUSTRY": 0, "INDUSTRY": 1, "SECTOR": 2, "MARKET": 3}
_MEAN_FIXING = ("group_rank", "group_neutralize", "group_zscore")

Move = tuple[str, Program, dict]   # (description, child program, child settings)


def _ladder_neighbours(value: float, ladder) -> list:
    lower = [w for w in ladder if w < value]
    upper = [w for w in ladder if w > value]
    return ([lower[-1]] if lower else []) + ([upper[0]] if upper else [])


def _wrap(program: Program, name: str, *extra, kwargs: tuple = ()) -> Program:
    return replace(program, result=Call(name, (program.result, *extra), kwargs))


def window_moves(program: Program, direction: int = 0) -> list[tuple[str, Program]]:
    """Each window / lag literal one ladder step down (``direction`` -1), up (+1) or both (0)."""
    out = []
    root = program.result
    for path, i, name in gp.number_paths(program):
        call = gp.get_at(root, path)
        w = call.args[i].value
        for nw in _ladder_neighbours(w, WINDOW_LADDER):
            if direction and (nw - w) * direction < 0:
                continue
            if name == "ts_delay" and nw > 60:
                continue
            args = list(call.args)
            args[i] = Number(float(nw))
            out.append((f"window {name} {int(w)}->{nw}",
                        replace(program, result=gp.replace_at(root, path, replace(call, args=tuple(args))))))
    return out


def scale_windows(program: Program, direction: int) -> tuple[str, Program] | None:
    """Every window / lag literal one ladder step in ``direction`` at once (None when nothing moves)."""
    root = program.result
    moved = False
    for path, i, name in gp.number_paths(program):
        call = gp.get_at(root, path)
        w = call.args[i].value
        nxt = [x for x in _ladder_neighbours(w, WINDOW_LADDER) if (x - w) * direction > 0]
        if not nxt or (name == "ts_delay" and nxt[0] > 60):
            continue
        args = list(call.args)
        args[i] = Number(float(nxt[0]))
        root = gp.replace_at(root, path, replace(call, args=tuple(args)))
        moved = True
    return (f"all windows {'up' if direction > 0 else 'down'}", replace(program, result=root)) if moved else None


def operator_moves(program: Program) -> list[tuple[str, Program]]:
    """Each call renamed within its ``SWAP_GROUPS`` family."""
    out = []
    root = program.result
    for path in [()] + [p for p in gp.value_paths(program, include_root=False)]:
        call = gp.get_at(root, path)
        if not isinstance(call, Call):
            continue
        for other in _SWAP.get(call.name, ()):
            if other != call.name:
                out.append((f"operator {call.name}->{other}",
                            replace(program, result=gp.replace_at(root, path, replace(call, name=other)))))
    return out


def wrapper_moves(program: Program) -> list[tuple[str, Program]]:
    """The alpha wrapped in a cross-sectional normaliser (skipped when the root already is one)."""
    root = program.result
    out = []
    if not (isinstance(root, Call) and root.name in ("rank", "zscore", "group_rank")):
        out.append(("wrap rank", _wrap(program, "rank")))
    if not (isinstance(root, Call) and root.name in _MEAN_FIXING):
        out.append(("wrap group_rank subindustry", _wrap(program, "group_rank", Ident("subindustry"))))
    if not (isinstance(root, Call) and root.name == "winsorize"):
        out.append(("wrap winsorize", _wrap(program, "winsorize", kwargs=(Keyword("std", Number(4.0)),))))
    if not (isinstance(root, Call) and root.name == "ts_backfill"):
        out.append(("wrap ts_backfill 20", _wrap(program, "ts_backfill", Number(20.0))))
    return out


def lateral_moves(program: Program, settings: dict) -> list[Move]:
    """Window ladder, operator swaps and wrappers (settings unchanged)."""
    return [(d, p, settings) for d, p in window_moves(program) + operator_moves(program) + wrapper_moves(program)]


def outer_group_level(program: Program) -> int | None:
    """Level (``GROUP_LEVEL``) of the group of an outermost group_rank / group_neutralize / group_zscore,
    looking through ``reverse`` (a sign keeps group means constant); None when the root is none of them."""
    node = program.result
    while isinstance(node, Call) and node.name == "reverse":
        node = node.args[0]
    if isinstance(node, Call) and node.name in _MEAN_FIXING and len(node.args) >= 2 \
            and isinstance(node.args[1], Ident):
        return GROUP_LEVEL.get(node.args[1].name)
    return None


def settings_noop(program: Program, old: dict, new: dict) -> bool:
    """True when moving from ``old`` to ``new`` settings cannot change the alpha's positions (exactly with
    decay 0; with decay the child is a near-copy of the parent: module doc)."""
    changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
    if changed != {"neutralization"}:
        return not changed
    level = outer_group_level(program)
    if level is None:
        return False
    a = _NEUTRAL_LEVEL.get(str(old.get("neutralization")).upper())
    b = _NEUTRAL_LEVEL.get(str(new.get("neutralization")).upper())
    return a is not None and b is not None and a >= level and b >= level


def _decay(settings: dict, steps: int) -> dict | None:
    d = int(settings.get("decay", 0))
    ladder = [x for x in DECAY_LADDER if (x - d) * steps > 0]
    if not ladder:
        return None
    ladder = ladder if steps > 0 else ladder[::-1]
    return {**settings, "decay": ladder[min(abs(steps), len(ladder)) - 1]}


def settings_options(settings: dict) -> dict[str, list]:
    """The values each settings dimension may move to (the settings bandit's arms): decay, neutralization,
    truncation, universe."""
    return {"decay": [d for d in DECAY_LADDER if d != settings.get("decay", 0)],
            "neutralization": [n for n in NEUTRALIZATIONS if n != settings.get("neutralization")],
            "truncation": [t for t in TRUNCATION_LADDER if t != settings.get("truncation")],
            "universe": [u for u in UNIVERSES if u != settings.get("universe")]}


@functools.lru_cache(maxsize=1)
def _factor_buckets() -> tuple[tuple[str, object], ...]:
    """(name, group AST) of the style descriptors a FACTOR_EXPOSURE / FACTOR_NEUTRAL_SHARPE failure takes out:
    deciles of size and volatility (``gate.factors.NEUTRAL_DESCRIPTORS``), ``bucket(rank(d), range="0.1,1,0.1")``,
    for ``group_neutralize``: Base operators only, so the child stays submittable (``vector_neut``, which the
    FACTOR_NEUTRAL_SHARPE diagnostic uses, is not Base on BRAIN)."""
    from alpha_core.expr.parser import parse
    from alpha_core.gate.factors import NEUTRAL_DESCRIPTORS

    return tuple((name, parse(f'bucket(rank({raw}), range="0.1,1,0.1")').result)
                 for name, raw in NEUTRAL_DESCRIPTORS[:2])


def sign_flip(program: Program) -> Program:
    """``-(alpha)``; a root ``reverse`` is removed instead."""
    root = program.result
    if isinstance(root, Call) and root.name == "reverse":
        return replace(program, result=root.args[0])
    return replace(program, result=Call("reverse", (root,)))


def surgeon_moves(program: Program, settings: dict, checks, is_sharpe: float | None,
                  is_turnover: float | None) -> list[Move]:
    """Failure-directed children of a simulated parent (module doc table), most specific first.

    ``checks``: the parent's ``Check`` list (objects with ``name``, ``result``, ``value``, ``limit``).
    Returns [] when no check failed."""
    failed = {c.name: c for c in checks if c.result == "FAIL"}
    out: list[Move] = []
    if not failed:
        return out
    if is_sharpe is not None and is_sharpe <= -FLIP_SHARPE:
        return [("sign flip", sign_flip(program), settings)]

    def add_settings(desc, st):
        if st is not None and not settings_noop(program, settings, st):
            out.append((desc, program, st))

    if "HIGH_TURNOVER" in failed:
        c = failed["HIGH_TURNOVER"]
        steps = 2 if (c.value or 0) > 1.5 * (c.limit or 1) else 1
        add_settings(f"decay up x{steps} (turnover {c.value:.2f} > {c.limit})", _decay(settings, steps))
        up = scale_windows(program, +1)
        if up:
            out.append((up[0], up[1], settings))
        out.append(("smooth ts_mean 5", _wrap(program, "ts_mean", Number(5.0)), settings))
    if "LOW_TURNOVER" in failed:
        add_settings("decay 0 (turnover too low)", {**settings, "decay": 0} if settings.get("decay") else None)
        down = scale_windows(program, -1)
        if down:
            out.append((down[0], down[1], settings))
        out.append(("ts_zscore 60 of the alpha", _wrap(program, "ts_zscore", Number(60.0)), settings))
    if "CONCENTRATED_WEIGHT" in failed:
        out.append(("wrap rank (concentrated)", _wrap(program, "rank"), settings))
        out.append(("wrap winsorize 3", _wrap(program, "winsorize", kwargs=(Keyword("std", Number(3.0)),)), settings))
        lower = [t for t in TRUNCATION_LADDER if t < float(settings.get("truncation", 0.08) or 0.08)]
        if lower:
            add_settings(f"truncation {settings.get('truncation')}->{lower[-1]}", {**settings, "truncation": lower[-1]})
    if "LOW_SUB_UNIVERSE_SHARPE" in failed:
        out.append(("liquidity conditioning * rank(adv20)",
                    replace(program, result=Call("multiply", (program.result, Call("rank", (Ident("adv20"),))))),
                    settings))
        if settings.get("universe") != "TOP200":
            add_settings("universe TOP200", {**settings, "universe": "TOP200"})
    if "LOW_SHARPE" in failed or "LOW_FITNESS" in failed:
        if (is_turnover or 0) > 0.3:
            add_settings("decay up (fitness)", _decay(settings, 1))
        for nz in NEUTRALIZATIONS:
            if nz != settings.get("neutralization"):
                add_settings(f"neutralization {settings.get('neutralization')}->{nz}", {**settings, "neutralization": nz})
        if outer_group_level(program) is None:
            out.append(("wrap group_rank subindustry", _wrap(program, "group_rank", Ident("subindustry")), settings))
    if "SELF_CORRELATION" in failed:
        out += [(d, p, settings) for d, p in operator_moves(program) + wrapper_moves(program)]
    if "FACTOR_EXPOSURE" in failed or "FACTOR_NEUTRAL_SHARPE" in failed:
        out += [(f"neutralize {name} deciles", replace(program, result=Call("group_neutralize", (program.result, g))),
                 settings) for name, g in _factor_buckets()]
    return out
