"""Export and import whole records: for backups, and to move records between stores.

An export is the record's JSON plus its ``authId``, ``integrationId``,
``createdAt`` and ``updatedAt``. Only an export with its secrets revealed can be
imported: a masked one would store the mask as the secret. Importing keeps the
ids and both timestamps, so references and history survive the move; the
secrets are sealed again under the importing store's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from credsign.errors import ConflictError, RecordError, StoreValidationError
from credsign.record_fields import MASK, secret_values
from credsign.record_input import load_record_data
from credsign.records import parse_record
from credsign.store.backend import Row
from credsign.store.fields import METADATA_FIELDS, check_id, split_record
from credsign.timestamps import after, instant, now, stored

if TYPE_CHECKING:
    from credsign.store.api import CredentialStore


def export_record(
    store: CredentialStore, integration_id: str, auth_id: str, *, reveal: bool = False
) -> dict[str, Any]:
    """The record with its ids and timestamps; secrets masked unless ``reveal``."""
    row = store._row(integration_id, auth_id)
    record = parse_record(store._record_data(row))  # authenticated on the way
    fields = record.to_dict(reveal_secrets=reveal)
    for name in METADATA_FIELDS:
        fields.pop(name, None)
    return {
        "authId": row.auth_id,
        "integrationId": row.integration_id,
        **fields,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
    }


def _timestamp(data: Mapping[str, Any], name: str, default: str) -> str:
    return default if data.get(name) is None else stored(instant(data[name], name))


def _holds_mask(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_holds_mask(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_mask(item) for item in value)
    return isinstance(value, str) and value == MASK


def import_record(
    store: CredentialStore, body: Mapping[str, Any] | str | bytes, *, replace: bool = False
) -> dict[str, Any]:
    """Store an export (:func:`export_record` with ``reveal``) as it was; return its view.

    An existing ``authId`` is a ConflictError unless ``replace``: then the record
    is overwritten (its authType must stay) and its ``updatedAt`` moves forward,
    so compare-and-set clients see the change.
    """
    data = dict(load_record_data(body))
    integration_id = check_id("integrationId", data.get("integrationId"))
    auth_id = check_id("authId", data.get("authId"))
    created_at = _timestamp(data, "createdAt", now())
    updated_at = _timestamp(data, "updatedAt", created_at)
    if updated_at < created_at:  # one fixed-width spelling: text order is time order
        raise StoreValidationError("updatedAt is before createdAt")
    fields = {key: value for key, value in data.items() if key not in METADATA_FIELDS}
    try:
        record = parse_record(fields)
    except RecordError:
        if not _holds_mask(fields):
            raise
        record = None  # the mask broke a secret's format (e.g. base64): say why
    if record is None or MASK in secret_values(record):
        raise StoreValidationError(
            "the record's secrets are masked (exported without --reveal / reveal=True): "
            "export it again with them revealed to import it"
        )
    public, secret = split_record(record.to_dict(reveal_secrets=True))
    row = Row(integration_id, auth_id, record.auth_type, public, "", b"", created_at, updated_at, 1)

    def overwrite(current: Row) -> Row:
        if current.auth_type != row.auth_type:
            raise StoreValidationError(f"authType is permanent ({current.auth_type})")
        store._verified(current)  # only a record this store can read is overwritten
        later = after(max(current.updated_at, updated_at))
        return store._seal(row.changed(updated_at=later, version=current.version + 1), secret)

    written = store.backend.update(integration_id, auth_id, overwrite) if replace else None
    if written is None:
        written = store._seal(row, secret)
        conflict = None
        try:
            store.backend.insert(written)
        except ConflictError:
            conflict = ConflictError(
                f"{integration_id}/{auth_id} exists already; overwriting it must be asked for "
                "(replace=True, or --replace on the command line)"
            )
        if conflict is not None:
            raise conflict
    store._invalidate(integration_id, auth_id)
    return store._view(written)
