"""Fixtures: temp DAGSTER_HOME + temp DuckDB file, a small synthetic panel, instances."""
import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

SYNTH = "300,60,1"
DATE = "2026-01-05"
BUDGET = 70
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A temp DAGSTER_HOME holding the project's dagster.yaml, and ALPHA_DUCKDB inside it."""
    h = tmp_path / "dagster_home"
    h.mkdir()
    shutil.copyfile(ROOT / "dagster.yaml", h / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(h))
    monkeypatch.setenv("ALPHA_DUCKDB", str(h / "alpha.duckdb"))
    return h


@pytest.fixture
def db(home):
    return str(home / "alpha.duckdb")


@pytest.fixture
def instance(home):
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    """One synthetic mining day run through ``run_mine`` on an ephemeral instance (shared by a module)."""
    from alpha_assets.mine import run_mine

    d = tmp_path_factory.mktemp("mined")
    db = str(d / "alpha.duckdb")
    inst = dg.DagsterInstance.ephemeral()
    old = os.environ.get("DAGSTER_HOME")
    summary = run_mine(DATE, None, BUDGET, n_fields=2, duckdb_path=db, synthetic=SYNTH, instance=inst)
    yield {"summary": summary, "db": db, "instance": inst}
    if old is not None:
        os.environ["DAGSTER_HOME"] = old
