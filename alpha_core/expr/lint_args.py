"""Lint checks of constant arguments and of legal-but-pointless forms (FASTEXPR.md §5, §8).

``ArgumentChecks`` is mixed into the linter of ``lint.py``: it validates window, lag, integer, number
and string arguments (E_NOT_CONSTANT, E_WINDOW_* including E_WINDOW_TOO_LONG, E_LOOKAHEAD, E_KEYWORD_VALUE,
W_LONG_WINDOW) and
raises the W_NO_EFFECT warnings. It relies on the linter's ``err``, ``warn``, ``walk``, ``env``,
``registry``, ``infos`` and ``n_errors``.
"""
from __future__ import annotations

import math

from .ast import Bool, Ident, String
from .canonical import call_view, format_number

MATRIX, CONST, GROUP, VECTOR, STRING = "MATRIX", "CONST", "GROUP", "VECTOR", "STRING"
LONG_WINDOW = 512
#: the longest window, lag or count (``k``, ``nlength``) lint accepts: 20 years of trading days, longer than any
#: panel (BRAIN's or the local 2013-2018 one) can use; a longer one is E_WINDOW_TOO_LONG, not just a warning
MAX_WINDOW = 5040
_AFFINE_INVARIANT = frozenset({"rank", "ts_rank", "group_rank", "quantile", "ts_quantile", "ts_arg_max",
                               "ts_arg_min", "zscore", "ts_zscore", "group_zscore", "ts_scale", "group_scale",
                               "scale_down"})
_IDEMPOTENT = frozenset({"rank", "zscore", "quantile"})
_IDENTITY_AT_1 = frozenset({"ts_mean", "ts_sum", "ts_median", "ts_max", "ts_min", "ts_decay_linear",
                            "ts_product"})
_CONSTANT_AT_1 = frozenset({"ts_std_dev", "ts_rank", "ts_av_diff", "ts_max_diff", "ts_arg_max", "ts_arg_min",
                            "ts_zscore", "ts_scale", "ts_corr", "ts_covariance", "ts_ir", "ts_quantile"})
_INT_RANGES = {"rettype": (0, 9), "mode": (1, 2), "k": (1, MAX_WINDOW), "nlength": (1, MAX_WINDOW)}
_CONST_RANGES = {("winsorize", "std"): (0.0, False), ("quantile", "sigma"): (0.0, False),
                 ("group_backfill", "std"): (0.0, False), ("hump", "hump"): (0.0, True),
                 ("normalize", "limit"): (0.0, True)}
_DRIVERS = ("gaussian", "uniform", "cauchy")


class ArgumentChecks:
    """Constant-argument and W_NO_EFFECT checks of the linter (a mixin)."""

    def not_constant(self, spec, p, arg, extra=""):
        self.err("E_NOT_CONSTANT", f"{spec.name}: '{p.name}' must be a compile-time constant (a literal or "
                 f"arithmetic of literals){extra}", arg.span)

    def string_arg(self, spec, p, arg) -> None:
        if isinstance(arg, String):
            text = arg.value
        elif isinstance(arg, Ident) and (arg.name in self.env or arg.name in self.registry):
            if arg.name in self.env:
                self.env[arg.name].used = True
            self.not_constant(spec, p, arg, f"; '{arg.name}' is a {'variable' if arg.name in self.env else 'data field'}")
            return
        elif isinstance(arg, Ident):
            text = arg.name  # bare enum word such as gaussian
        else:
            before = self.n_errors
            info = self.walk(arg)
            if self.n_errors == before:
                if info.kind == CONST:
                    self.err("E_KEYWORD_VALUE", f"{spec.name}: '{p.name}' expects a string, got a number", arg.span)
                else:
                    self.not_constant(spec, p, arg)
            return
        problem = _string_problem(spec.name, p.name, text)
        if problem:
            self.err("E_KEYWORD_VALUE", f"{spec.name}: {problem}", arg.span)

    def number_arg(self, spec, p, arg) -> None:
        before = self.n_errors
        info = self.walk(arg)
        if self.n_errors != before:
            return
        if info.kind == STRING:
            self.err("E_STRING_AS_VALUE", f"{spec.name}: '{p.name}' expects a number, got a string", arg.span)
            return
        if info.kind != CONST or info.value is None:
            self.not_constant(spec, p, arg, "; variables and data fields are not allowed")
            return
        v, kind, name = info.value, p.kind, spec.name
        shown = format_number(v)
        if kind == "bool":
            if not isinstance(arg, Bool) and v not in (0.0, 1.0):
                self.err("E_KEYWORD_VALUE", f"{name}: '{p.name}' must be true or false, got {shown}", arg.span)
            return
        if isinstance(arg, Bool) and kind in ("window", "lag", "int"):
            self.err("E_KEYWORD_VALUE", f"{name}: '{p.name}' expects an integer, got a boolean", arg.span)
            return
        integer = v.is_integer()
        if kind == "lag" and v < 0:
            self.err("E_LOOKAHEAD", f"{name}: negative lag {shown} reads future data (look-ahead)", arg.span)
        elif kind in ("window", "lag") and not integer:
            self.err("E_WINDOW_NOT_INTEGER", f"{name}: {p.name}={shown} is not an integer number of days "
                     f"(suggested fix: {math.floor(v)})", arg.span)
        elif kind == "window" and v < 1:
            self.err("E_WINDOW_LT1", f"{name}: window {p.name}={shown} must be at least 1 day", arg.span)
        elif kind == "lag" and v == 0 and name != "ts_regression":
            self.err("E_WINDOW_LT1", f"{name}: lag {p.name}=0 must be at least 1 day", arg.span)
        elif kind in ("window", "lag") and v > MAX_WINDOW:
            self.err("E_WINDOW_TOO_LONG", f"{name}: {p.name}={shown} days is longer than any panel can use (the "
                     f"limit is {MAX_WINDOW} trading days, 20 years)", arg.span)
        elif kind in ("window", "lag") and v > LONG_WINDOW:
            self.warn("W_LONG_WINDOW", f"{name}: {p.name}={shown} days is longer than {LONG_WINDOW} days", arg.span)
        elif kind == "int":
            low, high = _INT_RANGES.get(p.name.lower(), (None, None))
            if not integer:
                self.err("E_KEYWORD_VALUE", f"{name}: '{p.name}' must be an integer, got {shown}", arg.span)
            elif (low is not None and v < low) or (high is not None and v > high):
                allowed = f"{low}..{high}" if high is not None else f">= {low}"
                self.err("E_KEYWORD_VALUE", f"{name}: '{p.name}' must be {allowed}, got {shown}", arg.span)
        elif kind == "const" and (name, p.name) in _CONST_RANGES:
            low, inclusive = _CONST_RANGES[(name, p.name)]
            if v < low or (v == low and not inclusive):
                self.err("E_KEYWORD_VALUE", f"{name}: '{p.name}' must be {'>=' if inclusive else '>'} "
                         f"{format_number(low)}, got {shown}", arg.span)

    # ------------------------------------------------------------ W_NO_EFFECT
    def const_value(self, node):
        info = self.infos.get(id(node))
        return info.value if info is not None and info.kind == CONST else None

    def affine_problem(self, node) -> str | None:
        """Why ``node`` is a positive affine change of a non-constant (else None)."""
        view = call_view(node)
        if view is None or view[2] or len(view[1]) != 2:
            return None
        name, (a, b), _ = view
        ca, cb = self.const_value(a), self.const_value(b)
        if (ca is None) == (cb is None):
            return None
        if name in ("add", "subtract"):
            return "adding a constant"
        if name == "multiply" and (ca if ca is not None else cb) > 0:
            return "multiplying by a positive constant"
        if name == "divide" and cb is not None and cb > 0:
            return "dividing by a positive constant"
        return None

    def no_effect(self, spec, bound, node) -> None:
        name = spec.name
        x = bound.args.get("x") if not spec.variadic else None
        if name in _AFFINE_INVARIANT and x is not None:
            why = self.affine_problem(x)
            if why:
                self.warn("W_NO_EFFECT", f"{why} inside {name} does not change its result", x.span)
            inner = call_view(x)
            if name in _IDEMPOTENT and inner is not None and inner[0] == name and not inner[2] and len(inner[1]) == 1:
                self.warn("W_NO_EFFECT", f"{name}({name}(x)) is the same as {name}(x)", node.span)
        d = bound.args.get("d")
        if d is not None and self.const_value(d) == 1.0:
            if name in _IDENTITY_AT_1:
                self.warn("W_NO_EFFECT", f"{name} over a 1-day window returns its input unchanged", node.span)
            elif name in _CONSTANT_AT_1:
                self.warn("W_NO_EFFECT", f"{name} over a 1-day window is constant (or NaN)", node.span)

    def no_effect_on_alpha(self, result) -> None:
        why = self.affine_problem(result)
        if why and why != "adding a constant":
            self.warn("W_NO_EFFECT", f"{why} on the whole alpha does nothing: weights are scaled to the book size",
                      result.span)


def _string_problem(op: str, param: str, text: str) -> str | None:
    """Why ``text`` is not a legal value of string parameter ``param`` of ``op`` (FASTEXPR.md §5), or None."""
    key = param.lower()
    if key == "driver" and text.lower() not in _DRIVERS:
        return f"driver must be one of {', '.join(_DRIVERS)}, got {text!r}"
    if key == "ignore" and text.lower() != "nan":
        return f'ignore must be "NaN", got {text!r}'
    if op == "bucket" and key in ("range", "buckets"):
        try:
            numbers = [float(part) for part in text.split(",")]
        except ValueError:
            return f"{param} must be comma-separated numbers, got {text!r}"
        if not all(math.isfinite(v) for v in numbers):
            return f"{param} numbers must be finite, got {text!r}"
        if key == "range":
            if len(numbers) != 3:
                return f'range must be "start,end,step", got {text!r}'
            start, end, step = numbers
            if step <= 0 or end <= start:
                return f"range needs end > start and step > 0, got {text!r}"
            if (end - start) / step > 10000:
                return f"range {text!r} makes more than 10000 buckets"
        elif any(b <= a for a, b in zip(numbers, numbers[1:])):
            return f"buckets boundaries must be strictly ascending, got {text!r}"
    return None

