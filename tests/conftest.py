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


@pytest.fixture(scope="session")
def os_scrambled_panel(real_panel):
    """A copy of the real panel whose MATRIX fields are multiplied by a random factor in [0.5, 1.5) per cell on
    the OS dates (the last ceil(0.2 T) rows); IS rows and group fields are untouched."""
    import math

    import numpy as np

    from alpha_core.data.panel import Panel

    panel = real_panel
    n_is = panel.T - math.ceil(0.2 * panel.T)
    rng = np.random.default_rng(0)
    factors = rng.uniform(0.5, 1.5, size=(panel.T - n_is, panel.N))

    def scrambled(name):
        def load():
            a = np.array(panel[name], dtype=np.float64)
            a[n_is:] *= factors
            return a
        return load

    fields = {f: (lambda f=f: panel[f]) if f in panel.group_fields else scrambled(f) for f in panel.field_names()}
    return Panel.from_arrays(panel.dates, panel.tickers, fields, panel.group_fields, panel.label + " (OS scrambled)")
