"""Panel: axes, read-only fields, lazy memoised sources, errors (DESIGN.md alpha_core.data contract)."""
from __future__ import annotations

import numpy as np
import pytest

from alpha_core.data.panel import Panel, PanelShapeError, UnknownFieldError

DATES = np.array(["2020-01-02", "2020-01-03", "2020-01-06"], dtype="datetime64[D]")
TICKERS = ("AAA", "BBB")


def small(**extra) -> Panel:
    close = np.array([[1.0, 2.0], [3.0, np.nan], [5, 6]])
    fields = {"close": close, "Sector": np.array([[0, 1], [0, 1], [0, np.nan]]), **extra}
    return Panel.from_arrays(DATES, TICKERS, fields, group_fields=("sector",), label="test")


def test_axes_and_fields():
    p = small()
    assert (p.T, p.N) == (3, 2)
    assert p.dates.dtype == np.dtype("datetime64[D]") and p.dates[2] == np.datetime64("2020-01-06")
    assert p.tickers == ("AAA", "BBB") and p.label == "test"
    assert p.field_names() == ("close", "sector")
    assert p.group_fields == frozenset({"sector"})
    assert p.has("CLOSE") and "close" in p and not p.has("open")
    assert p["Close"].dtype == np.float64 and p["close"][1, 0] == 3.0 and np.isnan(p["close"][1, 1])


def test_fields_are_read_only_and_copied():
    src = np.ones((3, 2))
    p = Panel.from_arrays(DATES, TICKERS, {"x": src})
    with pytest.raises(ValueError):
        p["x"][0, 0] = 5.0
    src[0, 0] = 7.0  # the caller's array is copied by default
    assert p["x"][0, 0] == 1.0
    with pytest.raises(ValueError):
        p.dates[0] = np.datetime64("2000-01-01")


def test_int_input_is_stored_as_float64():
    p = Panel.from_arrays(DATES, TICKERS, {"v": np.arange(6).reshape(3, 2)})
    assert p["v"].dtype == np.float64 and p["v"][2, 1] == 5.0


def test_unknown_field_names_it_and_lists_available():
    p = small()
    with pytest.raises(UnknownFieldError) as info:
        p["opn"]
    msg = str(info.value)
    assert "'opn'" in msg and "close, sector" in msg
    assert isinstance(info.value, KeyError) and info.value.available == ("close", "sector")


def test_lazy_source_runs_once_and_is_checked():
    calls = []

    def make():
        calls.append(1)
        return np.full((3, 2), 2.0)

    p = small(lazy=make)
    assert p.has("lazy") and not p.is_loaded("lazy") and calls == []
    a, b = p["lazy"], p["lazy"]
    assert a is b and calls == [1] and not a.flags.writeable

    bad = small(bad=lambda: np.zeros((2, 2)))
    with pytest.raises(PanelShapeError, match=r"'bad' has shape \(2, 2\), expected \(T, N\) = \(3, 2\)"):
        bad["bad"]


@pytest.mark.parametrize("kwargs, message", [
    ({"tickers": ("BBB", "AAA")}, "sorted"),
    ({"tickers": ("AAA", "AAA")}, "duplicated"),
    ({"dates": DATES[::-1]}, "strictly increasing"),
    ({"fields": {"close": np.zeros((2, 2))}}, "'close' has shape"),
    ({"fields": {"g": np.full((3, 2), 0.5)}, "group_fields": ("g",)}, "non-integer"),
    ({"fields": {"c": np.zeros((3, 2))}, "group_fields": ("g",)}, "no array"),
])
def test_bad_construction_is_named(kwargs, message):
    args = {"dates": DATES, "tickers": TICKERS, "fields": {"close": np.zeros((3, 2))}, **kwargs}
    with pytest.raises(PanelShapeError, match=message):
        Panel.from_arrays(**args)
