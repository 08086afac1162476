"""Resources: the DuckDB file, the market panel (loaded once per process, cached) and BRAIN settings.

Secrets (BRAIN_EMAIL / BRAIN_PASSWORD / BRAIN_SESSION_TOKEN) are never resource config: Dagster config cannot
hold a pydantic ``SecretStr`` (``DagsterInvalidPythonicConfigDefinitionError``), and a ``dg.EnvVar`` field is
resolved into a plain ``str`` attribute of the resource at run time (one ``repr`` away from a log line). So
``BrainResource`` holds none: ``credentials()`` reads them from ``AlphaSettings`` (environment or ``.env``)
as ``SecretStr`` when a client needs them, and nothing in the UI, run config or event log carries them.
"""
from __future__ import annotations

import threading

import dagster as dg
from dagster_duckdb import DuckDBResource

from alpha_core.config import AlphaSettings, BrainCredentials

_PANELS: dict[tuple, object] = {}
_LOCK = threading.Lock()


class MarketData(dg.ConfigurableResource):
    """The market panel. ``synthetic`` = ``"T,N,seed"`` selects a synthetic panel (tests); otherwise the real
    S&P 500 panel is loaded from ``data_dir`` (``''`` = ALPHA_DATA_DIR / the shared folder)."""

    data_dir: str = ""
    synthetic: str = ""

    def panel(self):
        """The Panel, loaded once per process and configuration."""
        key = (self.data_dir, self.synthetic)
        with _LOCK:
            if key not in _PANELS:
                if self.synthetic:
                    from alpha_core.data.synthetic import synthetic_panel

                    t, n, seed = (int(x) for x in self.synthetic.split(","))
                    _PANELS[key] = synthetic_panel(t, n, seed=seed)
                else:
                    from alpha_core.data.loader import load_panel

                    _PANELS[key] = load_panel(self.data_dir or None)
            return _PANELS[key]

    def aliases(self) -> dict[str, str]:
        """Field aliases of the panel (alias -> canonical field: identical data, ``profiles.field_aliases``),
        computed once per process and configuration."""
        key = ("aliases", self.data_dir, self.synthetic)
        panel = self.panel()
        with _LOCK:
            if key not in _PANELS:
                from alpha_core.gen.profiles import field_aliases

                _PANELS[key] = field_aliases(panel)
            return _PANELS[key]

    def registry(self):
        """The field registry with ``local`` set to exactly the panel's fields."""
        from alpha_core.sim.simulate import registry_for

        return registry_for(self.panel())


class BrainResource(dg.ConfigurableResource):
    """BRAIN switches (no secret): ``enabled`` (``ALPHA_BRAIN_ENABLED``: the day's winners are simulated on
    BRAIN), ``submit_live`` (``ALPHA_SUBMIT_LIVE``: the day's chosen alphas are submitted for real),
    ``day_limit`` (``ALPHA_BRAIN_DAY_LIMIT``), ``submit_cap`` (``ALPHA_SUBMIT_DAILY_CAP``). Credentials and the
    client: ``credentials()`` / ``client()``, read from the environment when called."""

    enabled: bool = False
    submit_live: bool = False
    day_limit: int = 20
    submit_cap: int = 4

    def credentials(self) -> BrainCredentials:
        """BRAIN credentials as ``SecretStr`` (None when unset), read from the environment / ``.env`` on each
        call; ``.get_secret_value()`` only where a request is built."""
        return AlphaSettings().brain_credentials()

    def client(self):
        """A ``BrainClient`` from the environment (``ALPHA_BRAIN_URL``, credentials, pacing settings); the
        caller closes it (``with resource.client() as client``)."""
        from alpha_core.brain.client import BrainClient

        return BrainClient.from_settings(AlphaSettings())


def brain_resource() -> BrainResource:
    """BrainResource from the environment (``ALPHA_BRAIN_ENABLED``, ``ALPHA_SUBMIT_LIVE``, ...)."""
    s = AlphaSettings()
    return BrainResource(enabled=s.brain_enabled, submit_live=s.submit_live, day_limit=s.brain_day_limit,
                         submit_cap=s.submit_daily_cap)


def default_resources(duckdb_path: str | None = None, data_dir: str | None = None, synthetic: str = "") -> dict:
    """The resource dict of the Definitions: ``duckdb``, ``market``, ``brain``."""
    settings = AlphaSettings()
    path = duckdb_path or str(settings.resolved_duckdb())
    ddir = data_dir if data_dir is not None else str(settings.resolved_data_dir() or "")
    return {"duckdb": DuckDBResource(database=path), "market": MarketData(data_dir=ddir, synthetic=synthetic),
            "brain": brain_resource()}
