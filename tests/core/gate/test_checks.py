"""Submission checks, self-correlation and fitness labels (SIMULATION.md §6-§8; worked example S5)."""
import numpy as np
import pytest

from alpha_core.gate import (SelfCorrelation, all_passed, fitness_label, self_correlation, sub_universe_limit,
                             submission_checks)
from alpha_core.sim.settings import SimSettings

GOOD = {"sharpe": 1.6, "fitness": 1.2, "turnover": 0.2, "maxWeight": 0.05}


def by_name(checks):
    return {c.name: c for c in checks}


def test_s5_sub_universe_limit():
    assert round(sub_universe_limit(2.0, "TOP500"), 6) == 0.948683
    assert round(sub_universe_limit(1.0, "TOP3000"), 6) == round(0.75 * np.sqrt(1000 / 3000), 6)
    assert sub_universe_limit(2.0, "TOP200") is None and sub_universe_limit(None, "TOP500") is None
    c = by_name(submission_checks({**GOOD, "sharpe": 2.0}, SimSettings(), 0.95))["LOW_SUB_UNIVERSE_SHARPE"]
    assert c.result == "PASS" and round(c.limit, 6) == 0.948683 and c.value == 0.95
    c = by_name(submission_checks({**GOOD, "sharpe": 2.0}, SimSettings(), 0.94))["LOW_SUB_UNIVERSE_SHARPE"]
    assert c.result == "FAIL"


def test_delay_one_thresholds_and_order():
    checks = submission_checks(GOOD, SimSettings(), 1.0, SelfCorrelation(None, (), 0))
    assert [c.name for c in checks] == ["LOW_SHARPE", "LOW_FITNESS", "LOW_TURNOVER", "HIGH_TURNOVER",
                                        "CONCENTRATED_WEIGHT", "LOW_SUB_UNIVERSE_SHARPE", "SELF_CORRELATION"]
    assert all(c.result == "PASS" for c in checks) and all_passed(checks)
    limits = {c.name: c.limit for c in checks}
    assert limits["LOW_SHARPE"] == 1.25 and limits["LOW_FITNESS"] == 1.0 and limits["LOW_TURNOVER"] == 0.01
    assert limits["HIGH_TURNOVER"] == 0.70 and limits["CONCENTRATED_WEIGHT"] == 0.10
    assert checks[0].to_dict() == {"name": "LOW_SHARPE", "result": "PASS", "value": 1.6, "limit": 1.25}


@pytest.mark.parametrize("metric, value, name", [("sharpe", 1.2499, "LOW_SHARPE"), ("fitness", 0.99, "LOW_FITNESS"),
                                                  ("turnover", 0.009, "LOW_TURNOVER"),
                                                  ("turnover", 0.71, "HIGH_TURNOVER"),
                                                  ("maxWeight", 0.1001, "CONCENTRATED_WEIGHT"),
                                                  ("sharpe", None, "LOW_SHARPE"),
                                                  ("sharpe", float("nan"), "LOW_SHARPE")])
def test_each_threshold_fails_just_outside(metric, value, name):
    c = by_name(submission_checks({**GOOD, metric: value}, SimSettings(), 5.0))[name]
    assert c.result == "FAIL"
    assert c.value is None if value is None or value != value else c.value == value


def test_boundaries_pass():
    m = {"sharpe": 1.25, "fitness": 1.0, "turnover": 0.7, "maxWeight": 0.1}
    got = by_name(submission_checks(m, SimSettings(), 5.0))
    assert all(got[n].result == "PASS" for n in ("LOW_SHARPE", "LOW_FITNESS", "HIGH_TURNOVER",
                                                 "CONCENTRATED_WEIGHT"))


def test_delay_zero_thresholds_and_live_limit_overrides():
    got = by_name(submission_checks(GOOD, SimSettings(delay=0), 5.0))
    assert (got["LOW_SHARPE"].limit, got["LOW_SHARPE"].result) == (2.0, "FAIL")
    assert (got["LOW_FITNESS"].limit, got["LOW_FITNESS"].result) == (1.3, "FAIL")
    live = {"LOW_SHARPE": 1.58, "BOGUS": 3}
    got = by_name(submission_checks({**GOOD, "sharpe": 1.5}, SimSettings(), 5.0, limits=live))
    assert (got["LOW_SHARPE"].limit, got["LOW_SHARPE"].result) == (1.58, "FAIL")


def test_sub_universe_pending_for_top200_and_failing_when_undefined():
    got = by_name(submission_checks(GOOD, SimSettings(universe="TOP200"), None))
    assert got["LOW_SUB_UNIVERSE_SHARPE"].result == "PENDING" and all_passed(got.values())
    assert by_name(submission_checks(GOOD, SimSettings(), None))["LOW_SUB_UNIVERSE_SHARPE"].result == "FAIL"
    # TOP3000 runs as TOP500 locally: its sub-universe is TOP200
    c = by_name(submission_checks(GOOD, SimSettings(universe="TOP3000"), 1.0))["LOW_SUB_UNIVERSE_SHARPE"]
    assert c.limit == pytest.approx(0.75 * np.sqrt(0.4) * 1.6)


def _dates(n, start="2014-01-01"):
    return np.arange(np.datetime64(start), np.datetime64(start) + n, dtype="datetime64[D]")


def test_self_correlation_over_common_dates():
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    noise = rng.normal(size=300)
    dates = _dates(300)
    twin = (a[50:] + 0.1 * noise[50:], dates[50:], 1.0)           # highly correlated, 250 common dates
    other = (noise[:200], dates[:200], 3.0)                        # unrelated
    short = (a[:20], dates[:20], 9.0)                              # 20 common dates: skipped
    sc = self_correlation(a, dates, [twin, other, short])
    expected = np.corrcoef(a[50:], a[50:] + 0.1 * noise[50:])[0, 1]
    assert sc.value == pytest.approx(expected) and sc.skipped == 1 and len(sc.pairs) == 2
    assert self_correlation(a, dates, []).value is None


def test_self_correlation_uses_at_most_the_last_1008_common_dates():
    rng = np.random.default_rng(1)
    n = 1300
    a, b = rng.normal(size=n), rng.normal(size=n)
    b[-1008:] = a[-1008:]                                          # identical over the last 1008 days only
    sc = self_correlation(a, _dates(n), [(b, _dates(n), 1.0)])
    assert sc.value == pytest.approx(1.0)


def test_self_correlation_check_rule():
    high = SelfCorrelation(0.8, ((0.8, 1.0), (0.3, 5.0)), 0)
    assert by_name(submission_checks({**GOOD, "sharpe": 1.1}, SimSettings(), 5.0, high))[
        "SELF_CORRELATION"].result == "PASS"                       # 1.1 >= 1.1 x 1.0
    assert by_name(submission_checks({**GOOD, "sharpe": 1.09}, SimSettings(), 5.0, high))[
        "SELF_CORRELATION"].result == "FAIL"
    low = SelfCorrelation(0.69, ((0.69, 9.0),), 0)
    c = by_name(submission_checks(GOOD, SimSettings(), 5.0, low))["SELF_CORRELATION"]
    assert (c.result, c.value, c.limit) == ("PASS", 0.69, 0.7)
    assert by_name(submission_checks(GOOD, SimSettings(), 5.0))["SELF_CORRELATION"].result == "PENDING"


def test_self_correlation_bad_input_is_named():
    with pytest.raises(ValueError, match="accepted alpha 0"):
        self_correlation(np.zeros(3), _dates(3), [(np.zeros(4), _dates(3), 1.0)])


@pytest.mark.parametrize("fitness, delay, label", [(2.51, 1, "Spectacular"), (2.5, 1, "Excellent"),
                                                   (2.01, 1, "Excellent"), (1.6, 1, "Good"), (1.01, 1, "Average"),
                                                   (1.0, 1, "Needs Improvement"), (3.3, 0, "Spectacular"),
                                                   (3.0, 0, "Excellent"), (2.0, 0, "Good"), (1.4, 0, "Average"),
                                                   (1.3, 0, "Needs Improvement"), (-2.0, 1, "Needs Improvement"),
                                                   (None, 1, None)])
def test_fitness_labels(fitness, delay, label):
    assert fitness_label(fitness, delay) == label
