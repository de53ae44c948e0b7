"""HMAC-SHA256 with its RFC 2104 pads hashed once per key.

``hmac.new`` hashes both 64-byte pads again on every call; a signer keeps one
key for many requests, so each signature here only copies two SHA-256 states.
"""

from __future__ import annotations

import hashlib

_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))
_BLOCK = 64  # SHA-256's block size


class HmacSha256Key:
    """One key, ready to authenticate many messages."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_INNER_PAD))
        self._outer = hashlib.sha256(block.translate(_OUTER_PAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        return self.digest(message).hex()
