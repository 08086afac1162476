"""FastExpr front end: tokens, parser, canonical form, hashing and lint (FASTEXPR.md §1-§5, §8-§10)."""
from .canonical import alpha_hash, canonicalize, to_text
from .errors import Diagnostic, ExprSyntaxError
from .lint import LintResult, lint, lint_many
from .parser import parse

__all__ = ["parse", "canonicalize", "to_text", "alpha_hash", "lint", "lint_many", "LintResult", "Diagnostic",
           "ExprSyntaxError"]
