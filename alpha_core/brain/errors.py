"""Errors of the BRAIN client (BRAIN_API.md §2-§12): one root class with structured fields, one subclass per kind.

Every error carries ``status`` (HTTP status or None), ``detail`` (BRAIN's ``detail`` text or our reason) and
``path`` (the URL path only: never a query string, host credentials, cookie or header). ``str(error)`` is one
line built from those fields, so an error can be logged or shown as is: it never holds a secret.
"""
from __future__ import annotations

from typing import Any


class BrainError(Exception):
    """Root of every BRAIN client error. Fields: ``status`` (int | None), ``detail`` (str), ``path`` (str | None),
    ``body`` (parsed JSON error body, e.g. field-keyed validation errors, or None)."""

    kind = "error"

    def __init__(self, detail: str, *, status: int | None = None, path: str | None = None, body: Any = None):
        self.status = status
        self.detail = str(detail)
        self.path = path
        self.body = body
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        code = f" HTTP {self.status}" if self.status is not None else ""
        return f"BRAIN {self.kind}{code}{where}: {self.detail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, path={self.path!r}, detail={self.detail!r})"


class ConfigError(BrainError):
    """The client cannot start: missing credentials, a base URL that is not https (loopback excepted)."""

    kind = "configuration error"


class AuthError(BrainError):
    """Sign-in failed (bad credentials, expired session token, a session that stays stale after a re-login)."""

    kind = "authentication error"


class AuthCircuitOpen(AuthError):
    """Three sign-ins failed in a row (§2): no further attempt until ``BrainClient.reset_auth_circuit()``."""

    kind = "auth circuit open"


class PersonaRequired(AuthError):
    """The biometric (persona) step was not completed within the bounded tries (§2)."""

    kind = "persona step not completed"


class RateLimited(BrainError):
    """429 still answered after the allowed retries (§12), or a concurrency refusal that did not clear."""

    kind = "rate limited"


class QuotaExhausted(BrainError):
    """Posting would eat into the daily simulation reserve (§6), or the daily submissions are used."""

    kind = "daily quota exhausted"


class ValidationError(BrainError):
    """400: BRAIN refused the request body (field-keyed errors in ``body``); never retried unchanged (§3)."""

    kind = "validation error"


class NotFound(BrainError):
    """404 on an endpoint where it is not an outcome (an unknown alpha or simulation)."""

    kind = "not found"


class ServerError(BrainError):
    """5xx, a timeout or a network failure that outlived its retries (§12)."""

    kind = "server error"


class CircuitOpen(BrainError):
    """A lane's circuit breaker is open after 5 consecutive failures (§12); retry after the cool-down."""

    kind = "circuit open"


class UnsafeRedirect(BrainError):
    """A ``Location`` pointing at another host than the configured base URL: refused, nothing is sent there."""

    kind = "unsafe redirect"


class ProtocolError(BrainError):
    """A response that does not match BRAIN_API.md (missing ``Location``, a body that is not the expected JSON)."""

    kind = "protocol error"


class DeliveryUnknown(ServerError):
    """A non-idempotent request (``POST /simulations``, submit) lost its connection after it may have been sent:
    BRAIN may or may not have it, so it is never re-sent automatically."""

    kind = "delivery unknown"


class LedgerStateError(BrainError):
    """The ledger does not allow the call (e.g. submitting a hash that has no simulated alpha)."""

    kind = "ledger state error"
