"""Simulation settings with BRAIN names, defaults and validation messages (SIMULATION.md §1).

``SimSettings`` holds what a BRAIN ``POST /simulations`` body holds (``type`` plus the ``settings`` object).
Invalid values raise ``SettingsError`` whose ``body`` has the shape of BRAIN's 400 answer
(``{"settings": {"delay": ["\\"2\\" is not a valid choice."]}}``). Values BRAIN accepts but the local
simulator cannot run (``type`` SUPER, regions other than USA, neutralizations other than the five local
ones) are valid settings; ``check_local()`` raises ``UnsupportedLocal`` for them.
"""
from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

BOOK = 20_000_000.0

CHOICES: dict[str, tuple] = {
    "type": ("REGULAR", "SUPER"),
    "region": ("USA", "GLB", "EUR", "ASI", "CHN", "AMR", "IND"),
    "delay": (1, 0),
    "neutralization": ("NONE", "MARKET", "SECTOR", "INDUSTRY", "SUBINDUSTRY", "COUNTRY", "SLOW", "FAST",
                       "SLOW_AND_FAST", "CROWDING", "REVERSION_AND_MOMENTUM", "STATISTICAL"),
    "pasteurization": ("ON", "OFF"),
    "nanHandling": ("ON", "OFF"),
    "unitHandling": ("VERIFY",),
    "language": ("FASTEXPR",),
    "maxTrade": ("ON", "OFF"),
}
INSTRUMENT_TYPES = ("EQUITY",)
USA_UNIVERSES = ("TOP3000", "TOP1000", "TOP500", "TOP200")
LOCAL_NEUTRALIZATIONS = ("NONE", "MARKET", "SECTOR", "INDUSTRY", "SUBINDUSTRY")
LOCAL_UNIVERSES = ("TOP500", "TOP200")
UNIVERSE_SIZES = {"TOP3000": 3000, "TOP1000": 1000, "TOP500": 500, "TOP200": 200}
# the next smaller universe, used by the sub-universe test (SIMULATION.md §6)
SUB_UNIVERSE = {"TOP3000": "TOP1000", "TOP1000": "TOP500", "TOP500": "TOP200", "TOP200": None}
# fields echoed by BRAIN on completed alphas: recorded, not used locally
ECHO_FIELDS = ("maxPosition", "startDate", "endDate")
# SIMULATION.md §1 sets no upper bound on decay; ours (docs/DESIGN.md): two trading years
MAX_DECAY = 512

_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")
_INT_TEXT = re.compile(r"^\s*[+-]?\d+(?:\.0*)?\s*$")


class SettingsError(Exception):
    """Invalid settings. ``errors`` maps a setting name to its messages; ``body`` is BRAIN's 400 shape.

    Not a ``ValueError`` on purpose: pydantic would wrap a ``ValueError`` raised during validation.
    """

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {k: list(v) for k, v in errors.items()}
        self.body = {"settings": self.errors}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in sorted(self.errors.items())))


class UnsupportedLocal(Exception):
    """Valid BRAIN settings the local simulator cannot run (code ``UNSUPPORTED_LOCAL``)."""

    code = "UNSUPPORTED_LOCAL"

    def __init__(self, field: str, value: Any, reason: str):
        self.field, self.value = field, value
        super().__init__(f"UNSUPPORTED_LOCAL: {field}={value!r}: {reason}")


def _choice(name: str, value: Any, choices: tuple, errors: dict) -> Any:
    """DRF ChoiceField: the value or its string form must match a choice."""
    if isinstance(value, bool) and not any(isinstance(c, bool) for c in choices):
        errors[name] = [f'"{value}" is not a valid choice.']
        return value
    by_text = {str(c): c for c in choices}
    if isinstance(value, (str, int)) and str(value).strip() in by_text:
        return by_text[str(value).strip()]
    errors[name] = [f'"{value}" is not a valid choice.']
    return value


def _integer(name: str, value: Any, errors: dict, minimum: int | None = None, maximum: int | None = None) -> Any:
    """DRF IntegerField with min and max: ints, integral floats and integer strings ("4", "4.0") are accepted."""
    if isinstance(value, bool):
        errors[name] = ["A valid integer is required."]
        return value
    if isinstance(value, int):
        out = value
    elif isinstance(value, float) and value.is_integer():
        out = int(value)
    elif isinstance(value, str) and _INT_TEXT.match(value):
        out = int(value.strip().split(".")[0])   # exact, also beyond float precision
    else:
        errors[name] = ["A valid integer is required."]
        return value
    if minimum is not None and out < minimum:
        errors[name] = [f"Ensure this value is greater than or equal to {minimum}."]
    elif maximum is not None and out > maximum:
        errors[name] = [f"Ensure this value is less than or equal to {maximum}."]
    return out


def _number(name: str, value: Any, errors: dict, lo: float, hi: float) -> Any:
    """DRF FloatField with min and max."""
    try:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)
    except (TypeError, ValueError):
        errors[name] = ["A valid number is required."]
        return value
    if out != out or out in (float("inf"), float("-inf")):
        errors[name] = ["A valid number is required."]
    elif out < lo:
        errors[name] = [f"Ensure this value is greater than or equal to {lo:g}."]
    elif out > hi:
        errors[name] = [f"Ensure this value is less than or equal to {hi:g}."]
    return out


def _boolean(name: str, value: Any, errors: dict) -> Any:
    """DRF BooleanField: true/false, 1/0 and their usual spellings."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on", "t", "y"):
        return True
    if text in ("false", "0", "no", "off", "f", "n"):
        return False
    errors[name] = ["Must be a valid boolean."]
    return value


def parse_period(text: str) -> tuple[int, int, int]:
    """``"P1Y6M"`` -> (1, 6, 0) (years, months, days); raises ``ValueError`` on anything else."""
    m = _PERIOD.match(text) if isinstance(text, str) else None
    if m is None or text == "P":
        raise ValueError(f"{text!r} is not an ISO-8601 period like P1Y6M")
    return tuple(int(g) if g else 0 for g in m.groups())  # type: ignore[return-value]


class SimSettings(BaseModel):
    """Settings of one simulation, BRAIN field names (SIMULATION.md §1). Immutable.

    Defaults are the local ones (``universe`` TOP500). Raises ``SettingsError`` (field-keyed, BRAIN
    messages) on invalid input, including unknown setting names.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str = "REGULAR"
    instrumentType: str = "EQUITY"
    region: str = "USA"
    universe: str = "TOP500"
    delay: int = 1
    decay: int = 0
    neutralization: str = "INDUSTRY"
    truncation: float = 0.08
    pasteurization: str = "ON"
    unitHandling: str = "VERIFY"
    nanHandling: str = "OFF"
    language: str = "FASTEXPR"
    visualization: bool = False
    testPeriod: str = "P0Y0M"
    maxTrade: str = "OFF"
    maxPosition: Any = None
    startDate: str | None = None
    endDate: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _validate(cls, data: Any) -> Any:
        if isinstance(data, SimSettings):
            return data
        if not isinstance(data, dict):
            raise SettingsError({"settings": [f"Expected a dict of settings, got {type(data).__name__}."]})
        errors: dict[str, list[str]] = {}
        out = dict(data)
        for key in out:
            if key not in cls.model_fields:
                errors[key] = ["Unknown setting."]
        for name, choices in CHOICES.items():
            if name in out:
                value = out[name].upper() if isinstance(out[name], str) and name != "delay" else out[name]
                out[name] = _choice(name, value, choices, errors)
        if "instrumentType" in out:
            it = out["instrumentType"]
            if str(it).upper() in INSTRUMENT_TYPES:
                out["instrumentType"] = str(it).upper()
            else:
                errors["instrumentType"] = [f"Instrument type {it} is not available."]
        if "universe" in out:
            uni = str(out["universe"]).upper()
            if out.get("region", "USA") == "USA" and uni not in USA_UNIVERSES:
                errors["universe"] = [f'"{out["universe"]}" is not a valid choice.']
            out["universe"] = uni
        if "decay" in out:
            out["decay"] = _integer("decay", out["decay"], errors, minimum=0, maximum=MAX_DECAY)
        if "truncation" in out:
            out["truncation"] = _number("truncation", out["truncation"], errors, 0.0, 1.0)
        if "visualization" in out:
            out["visualization"] = _boolean("visualization", out["visualization"], errors)
        if "testPeriod" in out:
            try:
                parse_period(out["testPeriod"])
            except ValueError:
                errors["testPeriod"] = [f'"{out["testPeriod"]}" is not a valid ISO-8601 period (e.g. P1Y6M).']
        if errors:
            raise SettingsError(errors)
        return out

    # ---- local run -------------------------------------------------------------------------------
    @property
    def local_universe(self) -> str:
        """The universe the local simulator runs: TOP1000/TOP3000 -> TOP500 (SIMULATION.md §1)."""
        return self.universe if self.universe in LOCAL_UNIVERSES else "TOP500"

    @property
    def universe_substituted(self) -> str | None:
        """The requested universe when it was replaced locally (e.g. ``"TOP3000"``), else None."""
        return None if self.universe == self.local_universe else self.universe

    @property
    def delay_approx(self) -> bool:
        """Delay 0 runs the delay-1 pipeline (daily bars hold no pre-close data)."""
        return self.delay == 0

    @property
    def test_period(self) -> tuple[int, int, int]:
        """``testPeriod`` as (years, months, days)."""
        return parse_period(self.testPeriod)

    def check_local(self) -> None:
        """Raise ``UnsupportedLocal`` when the local simulator cannot run these settings."""
        if self.type != "REGULAR":
            raise UnsupportedLocal("type", self.type, "the local simulator runs REGULAR alphas only")
        if self.region != "USA":
            raise UnsupportedLocal("region", self.region, "the local panel is USA (S&P 500) only")
        if self.neutralization not in LOCAL_NEUTRALIZATIONS:
            raise UnsupportedLocal("neutralization", self.neutralization,
                                   f"local neutralizations are {', '.join(LOCAL_NEUTRALIZATIONS)}")

    # ---- serialisation ---------------------------------------------------------------------------
    def brain_settings(self) -> dict:
        """The ``settings`` object of a BRAIN ``POST /simulations`` body (requested universe, not local)."""
        out = self.model_dump(exclude={"type"})
        for key in ECHO_FIELDS:
            if out[key] is None:
                del out[key]
        return out

    def brain_payload(self, regular: str | None = None) -> dict:
        """``{"type", "settings"[, "regular"]}``: the BRAIN ``POST /simulations`` body."""
        body: dict = {"type": self.type, "settings": self.brain_settings()}
        if regular is not None:
            body["regular"] = regular
        return body

    def identity_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces) of every setting that can change a result.

        Used with the canonical expression to hash an alpha; ``visualization`` is left out.
        """
        ident = {"type": self.type, **self.brain_settings()}
        ident.pop("visualization", None)
        return json.dumps(ident, sort_keys=True, separators=(",", ":"))

    def summary(self) -> dict:
        """The ``settings`` block of the §9 result."""
        return {k: getattr(self, k) for k in ("universe", "delay", "decay", "neutralization", "truncation",
                                              "pasteurization", "nanHandling", "testPeriod")}
