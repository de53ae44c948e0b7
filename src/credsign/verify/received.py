"""What a verifier is handed, checked for type before anything is parsed.

A server passes what its framework gives it, and looks keys up with its own code:
anything but the documented types (str method, URL and header lines, a bytes body,
a key of the documented type) is a SignatureError with a reason, not a TypeError
from deep inside (which the server would answer with a 500). A key that fails the
checks never reaches an exception, not even as ``__context__``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone

from credsign.errors import SignatureError

#: Types a body is taken in: the bytes received, in any buffer holding them.
_BUFFERS = (bytes, bytearray, memoryview)


def encodable(value: str) -> bool:
    """Whether UTF-8 encodes ``value`` (no lone surrogate); the encoder's error is dropped."""
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def text(value: object, what: str) -> str:
    """``value`` if it is text UTF-8 can encode (what is signed is hashed as UTF-8)."""
    if not isinstance(value, str):
        raise SignatureError("malformed", f"{what} must be str, not {type(value).__name__}")
    if not encodable(value):
        raise SignatureError("malformed", f"{what} is not valid Unicode text")
    return value


def header_lines(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The received header lines, names lower-cased; anything but str pairs is malformed."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    try:
        pairs: list[object] = list(items)
    except TypeError:  # not iterable
        raise SignatureError("malformed", "headers must be (name, value) pairs of str") from None
    lines = []
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise SignatureError("malformed", "headers must be (name, value) pairs of str")
        lines.append((text(pair[0], "a header name").lower(), text(pair[1], "a header value")))
    return lines


def body_bytes(body: bytes | None) -> bytes | None:
    """The body as received; text has lost those bytes (which charset? which newlines?)."""
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, _BUFFERS):
        return bytes(body)
    if isinstance(body, str):
        raise SignatureError("malformed", "the body must be the bytes received, not str")
    raise SignatureError("malformed", f"the body must be bytes or None, not {type(body).__name__}")


def key_bytes(key: object, keyid: str) -> bytes:
    """The HMAC key ``key_for`` gave for ``keyid``: bytes (a str would not say its encoding)."""
    if key is None:
        raise SignatureError("unknown_key", f"no key for keyid {keyid!r}")
    if not isinstance(key, _BUFFERS):
        raise SignatureError("bad_key", f"key_for gave {type(key).__name__}, not bytes")
    return bytes(key)


def secret_text(secret: object, access_key: str) -> str:
    """The SigV4 secret ``secret_for`` gave for ``access_key``: text UTF-8 can encode."""
    if secret is None:
        raise SignatureError("unknown_key", f"no secret for access key {access_key!r}")
    if not isinstance(secret, str):
        raise SignatureError("bad_key", f"secret_for gave {type(secret).__name__}, not str")
    if not encodable(secret):
        raise SignatureError("bad_key", "the secret secret_for gave is not valid Unicode text")
    return secret


def moment(now: datetime | None) -> datetime:
    """The verifier's clock: ``now``, or the current time. The caller's own setting, so a
    wrong one is a TypeError: a naive time would mean a zone nobody named."""
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise TypeError("now must be a timezone-aware datetime, e.g. datetime.now(timezone.utc)")
    return now
