"""Diagnostics and the syntax error of the FastExpr front end (FASTEXPR.md §8).

A ``Diagnostic`` is one lint finding: a code from the FASTEXPR.md §8 table, its severity, a message
that names what is wrong and where, and the ``[start, end)`` character offsets into the submitted text.
``ExprSyntaxError`` wraps the single diagnostic that stopped the parser.
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One lint finding.

    ``code`` e.g. ``E_PAREN``; ``severity`` ``"error"`` or ``"warning"``; ``start``/``end`` are
    character offsets (end exclusive) into the submitted text.
    """

    code: str
    severity: str
    message: str
    start: int
    end: int

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_dict(self) -> dict:
        """``{code, severity, message, start, end}`` (the FASTEXPR.md §8 output record)."""
        return {"code": self.code, "severity": self.severity, "message": self.message, "start": self.start,
                "end": self.end}

    def __str__(self) -> str:
        return f"{self.code} at {self.start}-{self.end}: {self.message}"


def error(code: str, message: str, start: int, end: int) -> Diagnostic:
    """An error-severity diagnostic."""
    return Diagnostic(code, ERROR, message, start, end)


def warning(code: str, message: str, start: int, end: int) -> Diagnostic:
    """A warning-severity diagnostic."""
    return Diagnostic(code, WARNING, message, start, end)


class ExprSyntaxError(ValueError):
    """The expression cannot be parsed; ``.diagnostic`` says why and where (FASTEXPR.md §8).

    Codes: E_EMPTY, E_TOO_LONG, E_PAREN, E_DEPTH, E_SYNTAX, E_CHAINED_COMPARISON, E_NO_RESULT.
    """

    def __init__(self, diagnostic: Diagnostic):
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic

    @property
    def code(self) -> str:
        return self.diagnostic.code


def syntax_error(code: str, message: str, start: int, end: int) -> ExprSyntaxError:
    """Build (not raise) an ``ExprSyntaxError`` for ``code`` at ``[start, end)``."""
    return ExprSyntaxError(error(code, message, start, end))
