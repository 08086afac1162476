"""Field registry sync from BRAIN's /data-fields (alpha_core.brain.fields) against the loopback emulator."""
import socket

import pytest

from alpha_core.brain.fields import field_info, registry_from_brain_or_embedded
from alpha_core.config import AlphaSettings
from alpha_core.data.registry import default_registry

pytestmark = pytest.mark.real_data


def _settings(monkeypatch, url, **env):
    for name in ("BRAIN_EMAIL", "BRAIN_PASSWORD", "BRAIN_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALPHA_BRAIN_URL", url)
    return AlphaSettings()


def test_sync_reads_brain_fields_and_keeps_local_recipes(emulator, monkeypatch, tmp_path):
    emu = emulator()
    embedded = default_registry()
    settings = _settings(monkeypatch, emu.url, BRAIN_EMAIL="someone@example.com", BRAIN_PASSWORD="emulator-secret")
    registry, summary = registry_from_brain_or_embedded(settings, embedded, state_path=tmp_path / "state.json")
    assert summary["source"] == "brain" and summary["listed"] == len(embedded.fields) == 85 and summary["skipped"] == 0
    assert emu.state.logins >= 1                                        # it really signed in and paged
    assert set(registry.fields) == set(embedded.fields)                 # the emulator serves the embedded catalogue
    for fid in ("close", "volume", "sales", "industry"):
        a, b = registry.get(fid), embedded.get(fid)
        assert (a.kind, a.dataset, a.local_source, a.local) == (b.kind, b.dataset, b.local_source, b.local), fid


def test_no_credentials_or_an_unreachable_brain_fall_back_to_the_embedded_registry(monkeypatch, tmp_path):
    embedded = default_registry()
    registry, summary = registry_from_brain_or_embedded(_settings(monkeypatch, "http://127.0.0.1:9"), embedded)
    assert registry is embedded and summary == {"source": "embedded", "reason": "no BRAIN credentials set"}
    with socket.socket() as s:                                          # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = _settings(monkeypatch, f"http://127.0.0.1:{port}", BRAIN_EMAIL="a@b.c", BRAIN_PASSWORD="pw-sentinel")
    registry, summary = registry_from_brain_or_embedded(settings, embedded, max_retries=0, backoff_base=0,
                                                        state_path=tmp_path / "state.json")
    assert registry is embedded and summary["source"] == "embedded" and "field sync failed" in summary["error"]
    assert "pw-sentinel" not in summary["error"]


def test_field_info_maps_brain_names():
    item = {"id": "Close", "type": "MATRIX", "dataset": {"id": "pv1"}, "category": {"id": "pv"}, "delay": 1,
            "region": "USA", "coverage": 0.97, "userCount": "12", "alphaCount": None, "description": "price"}
    info = field_info(item, default_registry())
    assert (info.id, info.kind, info.dataset, info.coverage, info.user_count, info.local) == (
        "close", "MATRIX", "pv1", 0.97, 12, True)
    assert field_info({"id": "x", "type": "UNIVERSE"}, default_registry()) is None
