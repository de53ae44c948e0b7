"""The exceptions and warnings credsign raises: one type per kind of failure."""

from __future__ import annotations

from collections.abc import Sequence


class CredsignError(Exception):
    """Base class of every error credsign raises on purpose."""


class RecordError(CredsignError, ValueError):
    """A credential record is invalid.

    ``issues`` holds ``(field_path, reason)`` pairs; the message lists them all.
    Neither ever contains the offending value, and no other exception is chained
    (``__context__`` and ``__cause__`` are None), so secrets cannot leak through it.
    """

    def __init__(self, issues: Sequence[tuple[str, str]]) -> None:
        self.issues: tuple[tuple[str, str], ...] = tuple(issues)
        detail = "; ".join(f"{path}: {reason}" for path, reason in self.issues)
        super().__init__(f"invalid credential record: {detail}")


class ScopeError(CredsignError):
    """A request targets an origin or path outside the record's ``baseUrl``.

    Raised before anything is sent: credsign never silently sends such a request
    unauthenticated, and never sends credentials outside their scope.
    """


class RedirectWarning(UserWarning):
    """The HTTP client followed redirects itself, out of credsign's sight."""


class SignatureError(CredsignError):
    """A received request's signature is missing, malformed, stale or wrong.

    ``reason`` is a stable code (each verifier lists its own); the message says
    why in words, never echoing a secret or a signature.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class StoreError(CredsignError):
    """A credential store operation failed; ``code`` is stable for programs to test."""

    code = "store_error"


class StoreValidationError(StoreError):
    """The operation is not allowed on this record (e.g. changing its authType)."""

    code = "validation_error"


class NotFoundError(StoreError):
    """No record with that integration id and auth id."""

    code = "not_found"


class ConflictError(StoreError):
    """The record exists already, or changed since the caller read it."""

    code = "conflict"


class IntegrityError(StoreError):
    """A stored secret cannot be decrypted: wrong master key, or a tampered row."""

    code = "integrity_error"
