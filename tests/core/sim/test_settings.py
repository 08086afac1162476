"""SimSettings: BRAIN names, defaults, validation messages (SIMULATION.md §1)."""
import json

import pytest

from alpha_core.sim.settings import SettingsError, SimSettings, UnsupportedLocal, parse_period


def test_defaults_are_the_local_ones():
    s = SimSettings()
    assert (s.type, s.instrumentType, s.region, s.universe, s.delay, s.decay) == ("REGULAR", "EQUITY", "USA",
                                                                                  "TOP500", 1, 0)
    assert (s.neutralization, s.truncation, s.pasteurization, s.nanHandling) == ("INDUSTRY", 0.08, "ON", "OFF")
    assert (s.unitHandling, s.language, s.visualization, s.testPeriod, s.maxTrade) == ("VERIFY", "FASTEXPR",
                                                                                       False, "P0Y0M", "OFF")


@pytest.mark.parametrize("given, field, message", [
    ({"delay": 2}, "delay", '"2" is not a valid choice.'),
    ({"delay": "2"}, "delay", '"2" is not a valid choice.'),
    ({"universe": "TOP9"}, "universe", '"TOP9" is not a valid choice.'),
    ({"neutralization": "BOGUS"}, "neutralization", '"BOGUS" is not a valid choice.'),
    ({"pasteurization": "MAYBE"}, "pasteurization", '"MAYBE" is not a valid choice.'),
    ({"decay": "abc"}, "decay", "A valid integer is required."),
    ({"decay": 1.5}, "decay", "A valid integer is required."),
    ({"decay": True}, "decay", "A valid integer is required."),
    ({"decay": -1}, "decay", "Ensure this value is greater than or equal to 0."),
    ({"decay": 513}, "decay", "Ensure this value is less than or equal to 512."),
    ({"decay": "99999999999999999999"}, "decay", "Ensure this value is less than or equal to 512."),
    ({"decay": 1e20}, "decay", "Ensure this value is less than or equal to 512."),
    ({"decay": float("nan")}, "decay", "A valid integer is required."),
    ({"decay": "inf"}, "decay", "A valid integer is required."),
    ({"truncation": float("nan")}, "truncation", "A valid number is required."),
    ({"truncation": "-inf"}, "truncation", "A valid number is required."),
    ({"truncation": -0.01}, "truncation", "Ensure this value is greater than or equal to 0."),
    ({"truncation": "x"}, "truncation", "A valid number is required."),
    ({"truncation": 1.5}, "truncation", "Ensure this value is less than or equal to 1."),
    ({"instrumentType": "CRYPTO"}, "instrumentType", "Instrument type CRYPTO is not available."),
    ({"testPeriod": "1Y"}, "testPeriod", '"1Y" is not a valid ISO-8601 period (e.g. P1Y6M).'),
    ({"neutralisation": "MARKET"}, "neutralisation", "Unknown setting."),
])
def test_invalid_values_give_brain_messages(given, field, message):
    with pytest.raises(SettingsError) as info:
        SimSettings(**given)
    assert info.value.body == {"settings": {field: [message]}}
    assert info.value.errors == {field: [message]}
    assert field in str(info.value)


def test_all_errors_are_reported_together_and_model_validate_raises_the_same():
    with pytest.raises(SettingsError) as info:
        SimSettings.model_validate({"delay": 3, "decay": "x"})
    assert set(info.value.errors) == {"delay", "decay"}


def test_brain_style_coercions():
    s = SimSettings(delay="0", decay="4", truncation="0.05", universe="top1000", neutralization="market",
                    visualization="true")
    assert (s.delay, s.decay, s.truncation, s.universe, s.neutralization, s.visualization) == (
        0, 4, 0.05, "TOP1000", "MARKET", True)
    assert SimSettings(decay=4.0).decay == 4
    assert SimSettings(decay="512").decay == 512 and SimSettings(decay=" +3.00 ").decay == 3


def test_local_universe_substitution_and_delay_approx():
    assert SimSettings(universe="TOP3000").local_universe == "TOP500"
    assert SimSettings(universe="TOP3000").universe_substituted == "TOP3000"
    assert SimSettings(universe="TOP1000").local_universe == "TOP500"
    assert SimSettings(universe="TOP200").local_universe == "TOP200"
    assert SimSettings(universe="TOP200").universe_substituted is None
    assert SimSettings(delay=0).delay_approx and not SimSettings().delay_approx


@pytest.mark.parametrize("given, field", [({"neutralization": "SLOW"}, "neutralization"),
                                          ({"neutralization": "STATISTICAL"}, "neutralization"),
                                          ({"type": "SUPER"}, "type"), ({"region": "EUR"}, "region")])
def test_brain_only_settings_are_valid_but_unsupported_locally(given, field):
    s = SimSettings(**given)
    with pytest.raises(UnsupportedLocal) as info:
        s.check_local()
    assert info.value.code == "UNSUPPORTED_LOCAL" and info.value.field == field


def test_identity_json_is_sorted_canonical_and_ignores_visualization():
    a = SimSettings(decay=4, neutralization="SUBINDUSTRY")
    b = SimSettings(neutralization="SUBINDUSTRY", decay="4", visualization=True)
    assert a.identity_json() == b.identity_json()
    ident = json.loads(a.identity_json())
    assert list(ident) == sorted(ident) and ident["decay"] == 4 and "visualization" not in ident
    assert a.identity_json() != SimSettings(decay=5, neutralization="SUBINDUSTRY").identity_json()


def test_brain_payload_matches_the_post_body_shape():
    body = SimSettings(universe="TOP3000", decay=4).brain_payload("rank(close)")
    assert body["type"] == "REGULAR" and body["regular"] == "rank(close)"
    assert body["settings"] == {"instrumentType": "EQUITY", "region": "USA", "universe": "TOP3000", "delay": 1,
                                "decay": 4, "neutralization": "INDUSTRY", "truncation": 0.08,
                                "pasteurization": "ON", "unitHandling": "VERIFY", "nanHandling": "OFF",
                                "language": "FASTEXPR", "visualization": False, "testPeriod": "P0Y0M",
                                "maxTrade": "OFF"}


def test_settings_are_immutable():
    s = SimSettings()
    with pytest.raises(Exception):
        s.decay = 3


def test_parse_period():
    assert parse_period("P1Y6M") == (1, 6, 0)
    assert parse_period("P0Y0M0D") == (0, 0, 0)
    assert parse_period("P2M") == (0, 2, 0)
    for bad in ("P", "1Y", "P1Y6", ""):
        with pytest.raises(ValueError):
            parse_period(bad)
