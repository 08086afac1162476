"""Checked CSV reading for the panel loader: every problem is a ``DataFileError`` naming file, line and cause.

A file is read as bytes (``.gz`` decompressed), its record structure is checked first (every line after
the header has the header's number of fields, and the file ends with a line end, so a row cut short or a
file cut mid-line is caught even where the cut happens to fall on a field boundary), then polars reads it
with every column as a string and the required columns are parsed explicitly, so an unparsable cell is
reported with its column, line number and text instead of a raw polars traceback. Because every record
is one line, the line of data row ``i`` (0-based) is ``i + 2``.
"""
from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path
from typing import Iterable

import numpy as np
import polars as pl

from .errors import DataFileError

__all__ = ["DataFileError", "read_text_csv", "parse_floats", "parse_dates", "require_text", "line_of"]


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataFileError(path, f"cannot be decompressed ({exc}); the file looks cut or damaged") from None
    except OSError as exc:
        raise DataFileError(path, f"cannot be read ({exc.strerror or exc})") from None


def _fields(line: bytes) -> int:
    """Number of CSV fields on one line (-1 if its quoting is broken, e.g. a quote left open)."""
    try:
        (row,) = csv.reader([line.decode("utf-8", "replace")], strict=True)
    except (csv.Error, ValueError):
        return -1
    return len(row)


def _field_counts(data: bytes) -> np.ndarray:
    """Fields on each line of ``data`` (which ends with a line end); -1 where the quoting is broken.
    Without any quote character a field is whatever lies between commas, counted with numpy."""
    if b'"' in data:
        return np.array([_fields(line) for line in data.split(b"\n")[:-1]])
    chars = np.frombuffer(data, np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(chars == ord("\n"))[:-1] + 1))
    return np.add.reduceat(chars == ord(","), starts, dtype=np.int64) + 1


def _check_records(path: Path, data: bytes) -> None:
    if not data.endswith(b"\n"):
        raise DataFileError(path, "the last line has no line end: the file looks cut mid-line",
                            line=data.count(b"\n") + 1)
    counts = _field_counts(data)
    width = int(counts[0])
    if width < 0:
        raise DataFileError(path, "the header's quoting is broken (a quote left open)", line=1)
    wrong = np.flatnonzero(counts != width)
    if wrong.size:
        i = int(wrong[0])
        n = int(counts[i])
        if n < 0:
            problem = "a quoted field is not closed on its line"
        elif n < width:
            problem = f"{n} field(s) where the header has {width}: the row is cut short (or blank)"
        else:
            problem = f"{n} fields where the header has {width}"
        raise DataFileError(path, problem, line=i + 1)


def read_text_csv(path: Path, required: Iterable[str]) -> pl.DataFrame:
    """Read ``path`` (plain or ``.gz``) with every column as a string (blank -> null).

    Raises ``DataFileError`` if the file is missing, unreadable, empty, cut mid-line, has a line whose
    number of fields differs from the header's (with that line's number), or lacks a ``required`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(path, "file not found")
    data = _read_bytes(path)
    if not data.strip():
        raise DataFileError(path, "file is empty")
    _check_records(path, data)
    try:
        frame = pl.read_csv(data, infer_schema=False)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFileError(path, f"cannot be parsed as CSV ({first})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataFileError(path, f"missing column(s) {missing}; found {frame.columns}", line=1)
    # blank and whitespace-only cells are missing values
    return frame.with_columns(
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c).str.strip_chars()).alias(c)
        for c in frame.columns
    )


def line_of(bad: pl.Series) -> int:
    """The file line of the first True in ``bad`` (a boolean Series over the data rows): row + 2."""
    return int(bad.arg_max()) + 2


def parse_floats(path: Path, frame: pl.DataFrame, columns: Iterable[str]) -> dict[str, pl.Series]:
    """Columns of ``frame`` parsed as float64 (null stays null).

    Raises ``DataFileError`` naming the line, the column and the text of the first cell that is not a
    finite number (``nan``, ``inf`` and ``-inf`` are rejected: a missing value is a blank cell).
    """
    out: dict[str, pl.Series] = {}
    for col in columns:
        parsed = frame[col].cast(pl.Float64, strict=False)
        bad = frame[col].is_not_null() & (parsed.is_null() | ~parsed.is_finite()).fill_null(True)
        if bad.any():
            line = line_of(bad)
            raise DataFileError(path, f"column {col!r} has a value that is not a finite number: "
                                      f"{frame[col][line - 2]!r}", line=line)
        out[col] = parsed
    return out


def parse_dates(path: Path, frame: pl.DataFrame, column: str) -> pl.Series:
    """Column ``column`` parsed as ISO dates (YYYY-MM-DD). Raises ``DataFileError`` on a blank or bad cell."""
    require_text(path, frame, column)
    parsed = frame[column].str.to_date("%Y-%m-%d", strict=False)
    if parsed.is_null().any():
        line = line_of(parsed.is_null())
        raise DataFileError(path, f"column {column!r} has a value that is not a YYYY-MM-DD date: "
                                  f"{frame[column][line - 2]!r}", line=line)
    return parsed


def require_text(path: Path, frame: pl.DataFrame, column: str) -> pl.Series:
    """Column ``column`` with no blank cell; raises ``DataFileError`` naming the first blank line."""
    col = frame[column]
    if col.is_null().any():
        raise DataFileError(path, f"column {column!r} is blank", line=line_of(col.is_null()))
    return col
