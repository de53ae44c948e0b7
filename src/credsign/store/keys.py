"""Master keys over a store's life: rotating to a new one, dropping the retired ones.

Both are safe while other processes read and write. A rotation lists the new
key before anyone writes with it and re-seals row by row; the key file keeps up
to three retired keys afterwards, for a write that raced the rotation. Dropping
them is a separate, explicit step (:func:`drop_retired`), refused while any row
is still sealed with one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from credsign.errors import ConflictError
from credsign.store.backend import Row
from credsign.store.crypto import Keyring, MasterKey
from credsign.store.sealing import listing

if TYPE_CHECKING:
    from credsign.store.api import CredentialStore


def rotate(store: CredentialStore, new_key: MasterKey | bytes | str | None) -> int:
    """See :meth:`CredentialStore.rotate_master_key`."""
    key = MasterKey.generate() if new_key is None else MasterKey.parse(new_key)
    store.backend.register_key(*listing(key))  # listed before any process can write with it
    if store._key_file is not None:
        store._key_file.begin_rotation(key)
        store._follow_key_file(force=True)  # a resumed rotation keeps its first key
    else:
        store.keyring = store.keyring.with_key(key)
    target = store.keyring.current.key_id

    def reseal(row: Row) -> Row:
        return store._seal(row, store._unseal(row))

    count = 0
    for _ in range(3):  # again for rows another process wrote with an older key meanwhile
        left = list(store.backend.keys_not(target))
        if not left:
            break
        for integration_id, auth_id in left:
            if store.backend.update(integration_id, auth_id, reseal) is not None:
                count += 1
    if store._key_file is not None:
        store._key_file.finish_rotation(store.keyring)
    return count


def drop_retired(store: CredentialStore) -> list[str]:
    """See :meth:`CredentialStore.drop_retired_keys`."""
    key_file = store._key_file
    if key_file is not None:
        store._follow_key_file(force=True)  # the current key as the files say now
        if key_file.pending.exists():
            raise ConflictError(
                f"a master key rotation is in progress ({key_file.pending} exists): "
                "finish it (`credsign keys rotate` again) before dropping keys"
            )
    current = store.keyring.current
    dropped = set(store.backend.drop_keys(current.key_id))  # refused while a row uses one
    if key_file is not None:  # also keys that were never listed (stores from before lists)
        dropped |= set(key_file.drop_unlisted(lambda: store.backend.state()[2]))
    store.keyring = Keyring(current)
    return sorted(dropped)
