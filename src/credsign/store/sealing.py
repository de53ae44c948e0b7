"""What a row's ciphertext authenticates: every stored field, not only the ids.

The associated data of a row's AES-GCM seal is a canonical JSON of its ids,
authType, public (non-secret) JSON, timestamps and version, so any column or
JSON field changed without the master key fails authentication on read. What it
cannot catch: a whole row put back to an older sealed copy of itself, or a
deleted row. Both need state kept outside the database.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from credsign.errors import IntegrityError
from credsign.store.backend import Row
from credsign.store.crypto import Keyring, MasterKey

#: Names the layout of the associated data (a new layout is a new schema version).
ROW_FORMAT = "credsign row 2"


def associated_data(row: Row) -> bytes:
    """The row's fields apart from its key id and ciphertext, canonically (ASCII JSON)."""
    fields = [
        ROW_FORMAT,
        row.integration_id,
        row.auth_id,
        row.auth_type,
        row.public,
        row.created_at,
        row.updated_at,
        row.version,
    ]
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


def seal_plaintext(keyring: Keyring, row: Row, plaintext: bytes) -> Row:
    """``row`` with ``plaintext`` sealed under the current key, bound to its other fields."""
    key_id, sealed = keyring.encrypt(plaintext, associated_data(row))
    return row.changed(key_id=key_id, secret=sealed)


def seal(keyring: Keyring, row: Row, secret: Mapping[str, Any]) -> Row:
    """``row`` with the secret part of its record sealed (see :func:`seal_plaintext`)."""
    return seal_plaintext(keyring, row, json.dumps(secret, separators=(",", ":")).encode())


def unseal(keyring: Keyring, row: Row) -> dict[str, Any]:
    """The secret part of ``row``'s record; IntegrityError if any field of the row changed."""
    loaded: dict[str, Any] = json.loads(
        keyring.decrypt(row.key_id, row.secret, associated_data(row))
    )
    return loaded


def accepted(keyring: Keyring, listed: Mapping[str, str]) -> set[str]:
    """Ids of the keyring's keys the database lists, each proven by its check value."""
    return {
        key.key_id
        for key in keyring.all_keys()
        if hmac.compare_digest(listed.get(key.key_id, ""), key.check())
    }


def refuse(keyring: Keyring) -> IntegrityError:
    ids = ", ".join(sorted(key.key_id for key in keyring.all_keys()))
    return IntegrityError(
        f"master key {keyring.current.key_id} is not one of this store's keys "
        f"(given: {ids}); is it the right master key?"
    )


def listing(key: MasterKey) -> tuple[str, str]:
    """What the meta table keeps of a key: its id and its check (never the key)."""
    return key.key_id, key.check()
