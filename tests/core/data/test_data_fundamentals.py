"""Fundamental recipes against brain_fields.csv, and the lag rule's calendar (SIMULATION.md §2)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from alpha_core.data.fundamentals import PREV, RECIPES, available_dates
from alpha_core.data.loader import DAILY_FUND_FIELDS
from alpha_core.data.registry import default_registry


def fund_fields():
    return {f.id: f.local_source for f in default_registry() if f.local_source.startswith("fund:")}


def test_every_fund_field_has_a_recipe():
    assert set(fund_fields()) == set(RECIPES) | {"enterprise_value"}
    assert "cap" in DAILY_FUND_FIELDS and fund_fields()["enterprise_value"].startswith("fund: cap + debt - cash")


@pytest.mark.parametrize("field", sorted(RECIPES))
def test_recipe_reads_the_columns_brain_fields_names(field):
    recipe_text = fund_fields()[field].split(" (")[0]  # drop the explanatory parenthesis
    quoted = set(re.findall(r"'([A-Z][^']*)'", recipe_text))
    used = {c[len(PREV):] if c.startswith(PREV) else c for c in RECIPES[field].columns}
    assert used == quoted


def row(**cols):
    return [np.array([v], dtype=float) for v in cols.values()]


def test_recipe_units_and_signs():
    r = RECIPES
    assert r["assets"].fn(np.array([2.5e9]))[0] == 2500.0                    # USD millions
    assert r["capex"].fn(np.array([-3.0e8]))[0] == 300.0                     # outflow stored negative
    assert r["fnd6_newa2v1300_tstk"].fn(np.array([-4.0e6]))[0] == 4.0
    assert r["sharesout"].fn(np.array([3.35e8]))[0] == 335.0
    assert r["eps"].fn(np.array([-5.6]))[0] == -5.6                          # per share, unscaled
    assert r["bookvalue_ps"].fn(np.array([1.0e9]), np.array([2.0e8]))[0] == 5.0
    assert r["current_ratio"].fn(np.array([3.0]), np.array([2.0]))[0] == 1.5  # fraction, not percent
    assert np.isnan(r["current_ratio"].fn(np.array([3.0]), np.array([0.0]))[0])
    assert r["sales_growth"].fn(np.array([110.0]), np.array([100.0]))[0] == pytest.approx(0.1)
    assert np.isnan(r["sales_growth"].fn(np.array([110.0]), np.array([np.nan]))[0])
    assert r["ebitda"].fn(np.array([1e6]), np.array([2e6]))[0] == 3.0
    assert r["operating_expense"].fn(np.array([10e6]), np.array([4e6]))[0] == 6.0


def test_available_dates_calendar():
    dates = np.array(["2013-03-28", "2013-04-01", "2016-03-29", "2016-03-30", "2016-03-31"], dtype="datetime64[D]")
    rows, became = available_dates(np.array([2012, 2015, 2016, 2003]), dates)
    assert list(rows) == [1, 3, 5, 0]                         # 2016 row: after the panel -> never
    assert became[0] == np.datetime64("2013-04-01")           # 2013-03-31 is a Sunday
    assert became[1] == np.datetime64("2016-03-30")           # 2015-12-31 + 90 days in a leap year
    assert became[3] == np.datetime64("2004-03-30")           # before the panel: calendar day, not 2013-03-28
