"""Domain errors. Each carries a machine id and details; the edge maps them to status codes."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    error_id = "domain-error"

    def __init__(self, message: str, *, error_id: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if error_id is not None:
            # A more precise machine id than the class gives ("already-answered").
            self.error_id = error_id


class NotFound(DomainError):
    error_id = "not-found"


class InvalidInput(DomainError):
    error_id = "invalid-input"


class Forbidden(DomainError):
    error_id = "forbidden"


class Conflict(DomainError):
    error_id = "conflict"


class QuotaExceeded(Conflict):
    error_id = "tier-quota-exceeded"


class TooManyAttempts(DomainError):
    """Refused for a while after repeated failures; `retry_after` says for how many seconds."""

    error_id = "too-many-attempts"

    def __init__(self, message: str, *, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class SignedOut(DomainError):
    """The credential a long-lived request (a console socket) signed in with no longer
    stands: signed out, expired, revoked, or its user disabled."""

    error_id = "signed-out"
