"""Secrets at rest: AES-256-GCM under a master key that never enters the database.

Each ciphertext carries its own random nonce and the id of the key that wrote
it; the record's (integrationId, authId) is bound as associated data, so a
ciphertext copied onto another record does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credsign.errors import IntegrityError, StoreValidationError

KEY_BYTES = 32
NONCE_BYTES = 12


class MasterKey:
    """A 256-bit key and its public id (a hash prefix: it names the key, never reveals it)."""

    __slots__ = ("_aead", "key_id", "material")

    def __init__(self, material: bytes) -> None:
        if len(material) != KEY_BYTES:
            raise StoreValidationError(f"a master key is {KEY_BYTES} bytes")
        self.material = material
        self.key_id = hashlib.sha256(b"credsign master key id\0" + material).hexdigest()[:16]
        self._aead = AESGCM(material)

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, value: MasterKey | bytes | str) -> MasterKey:
        """From a MasterKey, 32 raw bytes, or their base64 text."""
        if isinstance(value, MasterKey):
            return value
        if isinstance(value, bytes) and len(value) == KEY_BYTES:
            return cls(value)
        try:
            return cls(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise StoreValidationError("a master key is 32 bytes or their base64") from None

    def encoded(self) -> str:
        return base64.b64encode(self.material).decode()

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


class Keyring:
    """The key new writes use, plus older keys still accepted for reading (rotation)."""

    def __init__(self, current: MasterKey, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._keys = {key.key_id: key for key in (*previous, current)}

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    def keys(self) -> list[MasterKey]:
        return list(self._keys.values())

    def encrypt(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.current._aead.encrypt(nonce, plaintext, associated)
        return self.current.key_id, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes, associated: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise IntegrityError(f"stored secret was written with key {key_id}, not given")
        try:
            return key._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
        except InvalidTag:
            raise IntegrityError("stored secret failed authentication (tampered, moved)") from None

    def with_key(self, new: MasterKey) -> Keyring:
        """A keyring writing with ``new`` that still reads everything this one reads."""
        return Keyring(new, self._keys.values())


def write_key_file(path: Path, key: MasterKey) -> None:
    """Write a key file readable by its owner only, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.encoded() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_key_file(path: Path) -> MasterKey:
    return MasterKey.parse(path.read_text().strip())
