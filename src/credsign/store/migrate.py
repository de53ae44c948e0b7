"""Opening a store: bring its schema up to date and make sure the key is one of its own.

Schema 1 sealed secrets with only the ids as associated data; opening such a
store re-seals every row (under the current key) with all its fields bound,
in one transaction, then lists the key. Stop older credsign versions before
upgrading: rows they write afterwards would not authenticate.

The meta table lists the keys a store accepts (``key:<id>`` -> an HMAC check).
A keyring holding none of them is refused for reads and writes; a keyring
holding one adds its current key (that is how a rotation starts).
"""

from __future__ import annotations

from credsign.store.backend import SCHEMA_VERSION, Row, SqlBackend
from credsign.store.crypto import Keyring
from credsign.store.sealing import accepted, listing, refuse, seal_plaintext, unseal


def _v1_associated(row: Row) -> bytes:
    return f"{row.integration_id}\0{row.auth_id}".encode()


def upgrade(backend: SqlBackend, keyring: Keyring) -> int:
    """Re-seal schema-1 rows for schema 2; return how many (0 when up to date)."""

    def reseal(row: Row) -> Row:
        plaintext = keyring.decrypt(row.key_id, row.secret, _v1_associated(row))
        return seal_plaintext(keyring, row, plaintext)

    return backend.migrate(SCHEMA_VERSION, reseal)


def prepare(backend: SqlBackend, keyring: Keyring) -> None:
    """Upgrade the schema, then check the keyring against the store's listed keys."""
    if backend.state()[0] < SCHEMA_VERSION:
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


def require_listed(backend: SqlBackend, keyring: Keyring) -> None:
    """A keyring picked up from a changed key file must write with a listed key."""
    if keyring.current.key_id not in accepted(keyring, backend.state()[2]):
        raise refuse(keyring)
