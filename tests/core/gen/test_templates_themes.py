"""Base settings, candidates and alpha identity (seed templates: test_seeds.py; themes: test_themes.py)."""
import json

from alpha_core.expr import alpha_hash, lint
from alpha_core.gen.templates import BASE_SETTINGS, Candidate, settings_for
from alpha_core.sim.settings import SimSettings


def _hash(expression, settings):
    res = lint(expression)
    assert res.ok
    return alpha_hash(res.canonical, json.loads(SimSettings(**settings).identity_json()))


def test_settings_for_overrides_a_copy_of_the_base():
    s = settings_for({"decay": 4})
    assert s["decay"] == 4 and BASE_SETTINGS["decay"] == 0
    assert settings_for() == BASE_SETTINGS and settings_for() is not BASE_SETTINGS
    SimSettings(**s)                                        # valid BRAIN settings
    c = Candidate("rank(close)", s)
    assert json.loads(c.settings_json()) == s and c.settings_json() == json.dumps(s, sort_keys=True)


def test_alpha_identity_is_canonical_text_plus_settings():
    s = settings_for({"decay": 4})
    h = _hash("rank(-ts_delta(close, 5))", s)
    assert _hash("rank( -ts_delta(close,  5) )", s) == h     # formatting does not change identity
    assert _hash("rank(-ts_delta(close, 5))", {**s, "decay": 5}) != h
    assert _hash("rank(-ts_delta(close, 10))", s) != h
