"""Checked CSV reading for the panel loader: every problem is a ``DataFileError`` naming file and cause.

Files are read with polars as strings, then the required columns are parsed explicitly so that an
unparsable cell is reported with its column, line number and text instead of a raw polars traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import polars as pl

from .errors import DataFileError

__all__ = ["DataFileError", "read_text_csv", "parse_floats", "parse_dates", "require_text"]


def read_text_csv(path: Path, required: Iterable[str]) -> pl.DataFrame:
    """Read ``path`` (plain or ``.gz``) with every column as a string (blank -> null).

    Raises ``DataFileError`` if the file is missing, unreadable, empty, or lacks a ``required`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, "file not found")
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except pl.exceptions.NoDataError:
        raise DataFileError(path, "file is empty") from None
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(path, f"cannot be parsed as CSV ({first})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFileError(path, f"missing column(s) {missing}; found {frame.columns}")
    # blank and whitespace-only cells are missing values
    return frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c in frame.columns
    )


def _first_bad(frame: pl.DataFrame, column: str, parsed: pl.Series) -> str:
    bad = frame[column].is_not_null() & parsed.is_null()
    row = int(bad.arg_max())
    return f"line {row + 2}: {frame[column][row]!r}"


def parse_floats(path: Path, frame: pl.DataFrame, columns: Iterable[str]) -> dict[str, pl.Series]:
    """Columns of ``frame`` parsed as float64 (null stays null).

    Raises ``DataFileError`` naming the column, the line number and the text of the first cell that is
    not a number.
    """
    out: dict[str, pl.Series] = {}
    for col in columns:
        parsed = frame[col].cast(pl.Float64, strict=False)
        if (frame[col].is_not_null() & parsed.is_null()).any():
            raise DataFileError(path, f"column {col!r} has a value that is not a number ({_first_bad(frame, col, parsed)})")
        out[col] = parsed
    return out


def parse_dates(path: Path, frame: pl.DataFrame, column: str) -> pl.Series:
    """Column ``column`` parsed as ISO dates (YYYY-MM-DD). Raises ``DataFileError`` on a blank or bad cell."""
    parsed = frame[column].str.to_date("%Y-%m-%d", strict=False)
    if frame[column].is_null().any():
        row = int(frame[column].is_null().arg_max())
        raise DataFileError(path, f"column {column!r} is blank at line {row + 2}")
    if parsed.is_null().any():
        raise DataFileError(path, f"column {column!r} has a value that is not a YYYY-MM-DD date "
                                  f"({_first_bad(frame, column, parsed)})")
    return parsed


def require_text(path: Path, frame: pl.DataFrame, column: str) -> pl.Series:
    """Column ``column`` with no blank cell; raises ``DataFileError`` naming the first blank line."""
    col = frame[column]
    if col.is_null().any():
        row = int(col.is_null().arg_max())
        raise DataFileError(path, f"column {column!r} is blank at line {row + 2}")
    return col
