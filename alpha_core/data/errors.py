"""Errors of the data layer (kept free of heavy imports so the warm cache path stays light)."""
from __future__ import annotations


class DataFileError(Exception):
    """A data file is missing or malformed. ``path`` is the file, ``problem`` what is wrong."""

    def __init__(self, path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
