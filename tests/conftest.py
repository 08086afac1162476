"""Project-wide fixtures: the real S&P 500 panel, skipped with a reason when the data folder is absent."""
import pytest


@pytest.fixture(scope="session")
def real_panel():
    """The real panel through the default cache (what the ``alpha`` command loads)."""
    from alpha_core.data.loader import DataFileError, load_panel

    try:
        return load_panel()
    except DataFileError as exc:
        pytest.skip(f"real S&P 500 panel not available: {exc}")
