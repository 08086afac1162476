"""Errors of the data layer (kept free of heavy imports so the warm cache path stays light)."""
from __future__ import annotations


class DataFileError(Exception):
    """A data file is missing or malformed. ``path`` is the file, ``line`` the 1-based line of the file
    at fault (None when the problem is not one line's), ``problem`` what is wrong. The message is one
    line: ``<path>, line <n>: <problem>`` (or ``<path>: <problem>``)."""

    def __init__(self, path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {problem}")
