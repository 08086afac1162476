"""The settings bandit (alpha_core.gen.bandit): Thompson sampling, rebuilt from stored trials."""
import numpy as np

from alpha_core.gen.bandit import SettingsBandit, arm_label, parse_arm

OPTIONS = {"decay": [0, 4, 8], "neutralization": ["MARKET", "SECTOR"], "truncation": [0.05], "universe": ["TOP200"]}


def test_arm_label_round_trip():
    for dim, vals in OPTIONS.items():
        for v in vals:
            assert parse_arm(arm_label(dim, v)) == (dim, v)
    assert arm_label("decay", 8) == "settings decay=8"
    assert parse_arm("wrap rank") is None and parse_arm(None) is None and parse_arm("settings decay=oops") is None


def test_from_trials_round_trip():
    b = SettingsBandit()
    rows = []
    pulls = [("decay", 8, 1.2, 0.9), ("decay", 8, 0.5, 0.9), ("neutralization", "SECTOR", 1.1, 1.0),
             ("decay", 8, 2.0, 1.0), ("universe", "TOP200", None, 1.0)]
    for dim, v, score, parent in pulls:
        b.update(dim, v, score is not None and score > parent)
        rows.append({"origin": "bandit", "template": arm_label(dim, v), "score": score, "parent_score": parent})
    rows.append({"origin": "surgeon", "template": "settings decay=4", "score": 9.0, "parent_score": 0.0})
    rows.append({"origin": "bandit", "template": "wrap rank", "score": 9.0, "parent_score": 0.0})
    rebuilt = SettingsBandit.from_trials(rows)
    assert rebuilt == b
    table = {(r["dimension"], r["value"]): (r["wins"], r["losses"]) for r in rebuilt.table()}
    assert table == {("decay", "8"): (2, 1), ("neutralization", '"SECTOR"'): (1, 0), ("universe", '"TOP200"'): (0, 1)}


def test_choose_prefers_an_arm_with_many_wins():
    b = SettingsBandit()
    for _ in range(20):
        b.update("decay", 8, True)
    for _ in range(5):
        b.update("decay", 4, False)
        b.update("neutralization", "MARKET", False)
    rng = np.random.default_rng(0)
    picks = [b.choose(rng, OPTIONS) for _ in range(400)]
    share = picks.count(("decay", 8)) / len(picks)
    assert share > 0.5                                       # 7 arms; the winning one is drawn most
    assert picks.count(("decay", 4)) < picks.count(("decay", 0))   # losses push an arm below an untried one
    assert all(p[1] in OPTIONS[p[0]] for p in picks)
    assert b.choose(rng, {}) is None and b.choose(rng, {"decay": []}) is None


def test_choose_is_deterministic_for_a_seed():
    b = SettingsBandit()
    b.update("decay", 4, True)
    run = lambda seed: [b.choose(rng, OPTIONS) for rng in [np.random.default_rng(seed)] for _ in range(30)]
    assert run(5) == run(5)
    assert run(5) != run(6)
