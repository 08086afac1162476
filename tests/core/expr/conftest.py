"""Shared fixtures for the FastExpr front-end tests."""
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus" / "published_alphas.txt"


def corpus_lines() -> list[str]:
    """The published alphas, one per non-comment line."""
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return corpus_lines()
