"""Opening a store: bring its schema up to date and make sure the key is one of its own.

Schema 1 sealed secrets with only the ids as associated data: its public fields
are not authenticated until migrated. Opening such a store re-seals every row
(under the current key) with all its fields bound, in one transaction, then
lists the key. The migration trusts the rows as they are when it runs: it is a
one-time step, from a trusted state. Stop older credsign versions before
upgrading: rows they write afterwards would not authenticate.

A store showing that it has been at schema 2 is refused, never migrated again
(a downgrade would re-seal public fields changed without the key as authentic):
keys listed in its meta table, a row sealed with every field bound, or (SQLite)
the mark beside the database, ``<name>.schema``, which no write to the database
can reset. A PostgreSQL database replaced by an edited pre-upgrade copy of
itself cannot be told from a genuine one (like a row rolled back, see
:mod:`credsign.store.sealing`).

The meta table lists the keys a store accepts (``key:<id>`` -> an HMAC check).
A keyring holding none of them is refused for reads and writes; a keyring
holding one adds its current key (that is how a rotation starts).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from credsign.errors import IntegrityError, StoreError
from credsign.store.backend import SCHEMA_VERSION, Row, SqlBackend
from credsign.store.crypto import Keyring
from credsign.store.files import create_private_file, fsync_directory
from credsign.store.location import StoreLocation
from credsign.store.sealing import accepted, listing, refuse, seal_plaintext, unseal


def _v1_associated(row: Row) -> bytes:
    return f"{row.integration_id}\0{row.auth_id}".encode()


def _downgraded(reason: str, advice: str = "") -> IntegrityError:
    return IntegrityError(
        f"the store was downgraded: its schema version is below {SCHEMA_VERSION}, but {reason}."
        f" It is not migrated: that would make fields changed without the key authentic{advice}"
    )


def upgrade(backend: SqlBackend, keyring: Keyring) -> int:
    """Re-seal schema-1 rows for schema 2; return how many (0 when up to date)."""

    def reseal(row: Row) -> Row:
        try:
            plaintext = keyring.decrypt(row.key_id, row.secret, _v1_associated(row))
        except IntegrityError:
            unseal(keyring, row)  # fails as well, unless schema 2 sealed this row
            raise _downgraded("a row is sealed with every field bound, as schema 2 seals") from None
        return seal_plaintext(keyring, row, plaintext)

    return backend.migrate(SCHEMA_VERSION, reseal)


def reached_path(database: Path) -> Path:
    """The file beside a SQLite database that records the highest schema version it reached."""
    return database.with_name(database.name + ".schema")


def _reached(mark: Path) -> int:
    try:
        text = mark.read_bytes().strip()
    except FileNotFoundError:
        return 0
    except OSError as error:
        raise StoreError(f"cannot read {mark}: {error.strerror}") from None
    if not text.isdigit() or len(text) > 18:
        raise IntegrityError(f"{mark} is corrupt (it holds the store's schema version)")
    return int(text)


def _record_reached(mark: Path) -> None:
    """Write the mark atomically and durably (mode 0600, as every file of the store)."""
    temporary = mark.with_name(f"{mark.name}.{secrets.token_hex(4)}.tmp")
    failure = None
    try:
        create_private_file(temporary)
        with temporary.open("w") as handle:
            handle.write(f"{SCHEMA_VERSION}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, mark)
        fsync_directory(mark.parent)
    except OSError as error:
        failure = StoreError(f"cannot write {mark}: {error.strerror}")
    finally:
        temporary.unlink(missing_ok=True)
    if failure is not None:
        raise failure


def _refuse_downgrades(backend: SqlBackend, version: int, mark: Path | None) -> None:
    """Refuse a store below the current schema that has been at it (or above) before."""
    reached = 0 if mark is None else _reached(mark)
    if reached > version:
        raise _downgraded(
            f"{mark} records schema {reached}",
            ". If you restored a pre-upgrade backup on purpose and trust every row of it,"
            f" delete {mark} and open the store again",
        )
    listed = backend.state()[2]
    if listed and backend.state()[0] < SCHEMA_VERSION:  # again: another opener may have migrated
        raise _downgraded("it lists its keys, which only schema 2 does")


def prepare(backend: SqlBackend, keyring: Keyring, location: StoreLocation | None = None) -> None:
    """Upgrade the schema (unless downgraded), then check the keyring against the listed keys.

    ``location``: where a SQLite store is, to keep its mark beside it.
    """
    mark = None if location is None or location.path is None else reached_path(location.path)
    version = backend.state()[0]
    if version < SCHEMA_VERSION:
        _refuse_downgrades(backend, version, mark)
        upgrade(backend, keyring)  # authenticates every row with the keyring on the way
    _, sample, listed = backend.state()
    if not listed:  # a new store, or one from before keys were listed
        if sample is not None:
            unseal(keyring, sample)  # IntegrityError unless the keyring reads its rows
        backend.register_key(*listing(keyring.current), first=True)
        listed = backend.state()[2]  # another first opener's key may have won
    if not accepted(keyring, listed):
        raise refuse(keyring)
    if keyring.current.key_id not in accepted(keyring, listed):
        backend.register_key(*listing(keyring.current))
    if mark is not None and _reached(mark) < SCHEMA_VERSION:
        _record_reached(mark)


def require_listed(backend: SqlBackend, keyring: Keyring) -> None:
    """A keyring picked up from a changed key file must write with a listed key."""
    if keyring.current.key_id not in accepted(keyring, backend.state()[2]):
        raise refuse(keyring)
