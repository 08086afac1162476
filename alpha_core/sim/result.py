"""``SimResult``: the local simulation result in the SIMULATION.md §9 shape plus daily arrays."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alpha_core.sim.settings import SimSettings


def json_safe(value: Any) -> Any:
    """A copy of ``value`` with NaN/inf -> None, numpy scalars -> Python, tuples -> lists, dates -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.datetime64):
        return str(value.astype("datetime64[D]"))
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict())
    return value


@dataclass
class SimResult:
    """One local simulation.

    ``is_`` / ``os`` / ``train`` / ``test``: period metric dicts (§5; ``is_`` also holds ``checks`` and
    ``subUniverseSharpe``); ``yearly``: list of rows; ``factor``: IC / rank IC / quantile spread per period;
    ``warnings``: ``{"code", "message"}`` dicts. Arrays: ``dates`` (T,) datetime64[D], ``daily_pnl`` (T,)
    USD, ``weights`` (T, N) float64 (NaN = no position; None when a batch dropped them, ``simulate.iter_simulate``),
    ``is_slice`` / ``os_slice`` the row ranges.
    """

    settings: SimSettings
    local: dict
    is_: dict
    os: dict | None
    yearly: list[dict]
    factor: dict
    warnings: list[dict]
    dates: np.ndarray
    daily_pnl: np.ndarray
    weights: np.ndarray | None
    is_slice: slice
    os_slice: slice
    train: dict | None = None
    test: dict | None = None
    extra: dict = field(default_factory=dict)

    @property
    def checks(self) -> list[dict]:
        """The IS checks as dicts (``name, result, limit, value``)."""
        return self.is_.get("checks", [])

    def period_pnl(self, period: str = "is") -> tuple[np.ndarray, np.ndarray]:
        """(pnl (D,) USD, dates (D,)) over the metric days of ``period`` ("is" or "os"); empty if none."""
        block = self.is_ if period == "is" else self.os
        sl = self.is_slice if period == "is" else self.os_slice
        if not block or block.get("startDate") is None:
            return np.zeros(0), self.dates[:0]
        dates = self.dates[sl]
        start = int(np.searchsorted(dates, np.datetime64(block["startDate"], "D")))
        return self.daily_pnl[sl][start:], dates[start:]

    def to_dict(self) -> dict:
        """The §9 result: settings, local, is (with checks), os, train/test (when testPeriod set), yearly,
        factor, warnings. JSON-safe: NaN / inf are None."""
        out = {"settings": self.settings.summary(), "local": self.local, "is": self.is_, "os": self.os}
        if self.test is not None or self.train is not None:
            out["train"], out["test"] = self.train, self.test
        out.update(yearly=self.yearly, factor=self.factor, warnings=self.warnings)
        return json_safe(out)
