"""Fixtures for the market-panel tests: the real panel (skipped when the data folder is absent) and tiny
hand-written source files under tmp_path (never a copy of the real data)."""
from __future__ import annotations

from pathlib import Path

import pytest
from data_tiny_files import write_tiny

from alpha_core.data.csvfiles import DataFileError


def _real_dir() -> Path | None:
    from alpha_core.data.loader import data_dir

    try:
        return data_dir()
    except DataFileError:
        return None


@pytest.fixture(scope="session")
def real_dir() -> Path:
    path = _real_dir()
    if path is None:
        pytest.skip("real S&P 500 data not found (set ALPHA_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def real_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("panel_cache")


@pytest.fixture(scope="session")
def real_panel(real_dir, real_cache):
    """The real panel, built cold into a private cache folder (so warm-load tests can reuse it)."""
    from alpha_core.data.loader import load_panel

    return load_panel(real_dir, real_cache)


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return write_tiny(tmp_path / "data")
