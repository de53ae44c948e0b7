"""Secrets at rest: AES-256-GCM under a master key that never enters the database.

Each ciphertext carries its own random nonce and the id of the key that wrote
it; every other stored field of the row is bound as associated data
(:mod:`credsign.store.sealing`), so a row changed without the key does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from credsign.errors import IntegrityError, StoreError, StoreValidationError
from credsign.store.files import fsync_directory, make_private_directories

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

    def check(self) -> str:
        """A value proving this key to a database (an HMAC of a constant; reveals nothing)."""
        return hmac.new(self.material, b"credsign key check\0", hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r})"


class Keyring:
    """The key new writes use, plus older keys still accepted for reading (rotation)."""

    def __init__(self, current: MasterKey, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._keys = {key.key_id: key for key in (*previous, current)}

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    def all_keys(self) -> list[MasterKey]:
        return list(self._keys.values())

    def encrypt(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self.current._aead.encrypt(nonce, plaintext, associated)
        return self.current.key_id, nonce + sealed

    def decrypt(self, key_id: str, blob: bytes, associated: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise IntegrityError(f"stored secret was written with key {key_id}, not given")
        if len(blob) < NONCE_BYTES + 16:  # nonce + GCM tag at the least
            raise IntegrityError("stored secret is truncated")
        try:
            return key._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated)
        except InvalidTag:
            raise IntegrityError("stored secret failed authentication (tampered, moved)") from None

    def with_key(self, new: MasterKey) -> Keyring:
        """A keyring writing with ``new`` that still reads everything this one reads."""
        return Keyring(new, self._keys.values())


def _write_keys(path: Path, keys: Iterable[MasterKey], *, exclusive: bool = False) -> None:
    """Write key lines readable by the owner only, atomically; ``exclusive``: only if absent."""
    make_private_directories(path.parent)
    temporary = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        with os.fdopen(descriptor, "w") as handle:
            handle.write("".join(key.encoded() + "\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            with contextlib.suppress(FileExistsError):  # another process wrote it first
                os.link(temporary, path)
        else:
            os.replace(temporary, path)
        fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _read_keys(path: Path) -> list[MasterKey]:
    """The keys of a key file; a corrupt or empty one is an IntegrityError naming the line.

    Errors are raised outside the handlers: their context must not carry key bytes.
    """
    failure: StoreError | None = None
    try:
        lines = path.read_bytes().split()
    except OSError as error:
        failure = StoreError(f"cannot read key file {path}: {error.strerror}")
        lines = []
    keys = []
    for number, line in enumerate(lines, start=1):
        if failure is not None:
            break
        try:
            keys.append(MasterKey.parse(line.decode("latin-1")))
        except StoreValidationError:
            failure = IntegrityError(f"key file {path} is corrupt (line {number})")
    if failure is None and not keys:
        failure = IntegrityError(f"key file {path} holds no key")
    if failure is not None:
        raise failure
    return keys


class KeyFile:
    """The master keys of an embedded store, in a file beside it (mode 0600).

    The first line is the current key; further lines are older keys, still
    accepted. During a rotation the new key waits in ``<name>.next``: from then
    on every process writes with it, so no row is sealed with a retiring key.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending = path.with_name(path.name + ".next")
        self._seen: tuple[object, ...] = ()

    def _state(self) -> tuple[object, ...]:
        return tuple(
            (stat.st_mtime_ns, stat.st_size, stat.st_ino) if (stat := _stat(file)) else None
            for file in (self.path, self.pending)
        )

    def create(self) -> None:
        """Write a new key unless the file exists (only ever for a store without keys)."""
        _write_keys(self.path, [MasterKey.generate()], exclusive=True)

    def keyring(self, also: Iterable[MasterKey] = ()) -> Keyring:
        """The keys as the files say now; a missing file is an error, never a new key."""
        if not self.path.exists():
            raise IntegrityError(f"key file {self.path} is missing")
        self._seen = self._state()
        keys = _read_keys(self.path)
        pending = _read_keys(self.pending) if self.pending.exists() else []
        current = pending[0] if pending else keys[0]
        return Keyring(current, [*also, *keys, *pending])

    def changed(self) -> bool:
        """Whether another process rotated (or began rotating) since the last read."""
        return self._state() != self._seen

    def begin_rotation(self, key: MasterKey) -> None:
        _write_keys(self.pending, [key], exclusive=True)  # a resumed rotation keeps its key

    @contextlib.contextmanager
    def _rewriting(self) -> Iterator[None]:
        """One rewrite of the key file at a time, across processes (a rotation, a drop)."""
        descriptor = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT)
        try:
            os.fchmod(descriptor, 0o600)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # and with it the lock

    def finish_rotation(self, keyring: Keyring, keep: int = 3) -> None:
        """Make the pending key current; keep a few retired keys for stragglers."""
        retired = [key for key in keyring.all_keys() if key.key_id != keyring.current.key_id]
        with self._rewriting():
            _write_keys(self.path, [keyring.current, *retired[-keep:]])
            self.pending.unlink(missing_ok=True)

    def drop_unlisted(self, listed: Callable[[], Collection[str]]) -> list[str]:
        """Remove the retired keys not in ``listed()`` (read under the lock); return their ids.

        The current key always stays. Reading the list under the lock matters: a
        rotation finishing meanwhile (it takes the lock too) could otherwise
        retire a key listed after the read, with rows still sealed with it.
        """
        with self._rewriting():
            accepted = set(listed())
            current, *retired = _read_keys(self.path)
            kept = [key for key in retired if key.key_id in accepted]
            if len(kept) < len(retired):
                _write_keys(self.path, [current, *kept])
        return sorted({key.key_id for key in retired} - {key.key_id for key in kept})


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None
