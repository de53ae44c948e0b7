"""Instants as the store keeps them, and as callers may give them (ISO 8601, any offset).

The store writes one spelling (UTC, microseconds, ``Z``) but compares instants:
``...Z`` and ``...+00:00`` (or ``-05:00`` five hours earlier) are the same
time. Standard library only, so the command line can check a value before it
loads the store's dependencies.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from credsign.errors import StoreValidationError

_STORED = "%Y-%m-%dT%H:%M:%S.%fZ"


def stored(moment: datetime) -> str:
    """``moment`` as the store writes it: ``2026-12-01T19:00:00.000000Z``."""
    return moment.astimezone(timezone.utc).strftime(_STORED)


def parse_stored(text: str) -> datetime:
    """A timestamp the store wrote, as an aware UTC datetime."""
    return datetime.strptime(text, _STORED).replace(tzinfo=timezone.utc)


def now() -> str:
    return stored(datetime.now(timezone.utc))


def after(previous: str) -> str:
    """Now, or just after ``previous`` (stored): strictly forward, even with a coarse clock."""
    moment, earlier = datetime.now(timezone.utc), parse_stored(previous)
    return stored(moment if moment > earlier else earlier + timedelta(microseconds=1))


def instant(value: object, name: str) -> datetime:
    """``value`` (ISO 8601 text or an aware datetime) as an aware datetime.

    A time without an offset is refused: which instant it means depends on a
    time zone the caller did not say. Raises StoreValidationError naming ``name``.
    """
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.isascii() and len(value) <= 64:
        text = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None:
        raise StoreValidationError(
            f"{name} must be an ISO 8601 time with an offset, e.g. 2026-12-01T19:00:00.000000Z"
        )
    if moment.utcoffset() is None:
        raise StoreValidationError(f"{name} needs a time zone offset (Z or +HH:MM)")
    return moment
