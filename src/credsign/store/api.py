"""CredentialStore: create / get / list / update / delete credential records, sealed at rest.

The semantics mirror an "integration auth" REST API: records belong to an
integration, get an ``auth_...`` id, are read back without any secret, are
patched field by field (``authType`` is permanent), and feed live adapters.
"""

from __future__ import annotations

import builtins
import os
import secrets
import string
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from credsign.errors import ConflictError, IntegrityError, NotFoundError, StoreValidationError
from credsign.record_input import load_record_data
from credsign.records import Record, parse_record
from credsign.store import transfer
from credsign.store.backend import Row, SqlBackend
from credsign.store.crypto import KeyFile, Keyring, MasterKey
from credsign.store.fields import (
    ALL_CREDENTIAL_FIELDS,
    CREDENTIAL_FIELDS,
    METADATA_FIELDS,
    VIEW_FIELDS,
    check_id,
    join_record,
    organizations_patched,
    split_record,
)
from credsign.store.keys import drop_retired, rotate
from credsign.store.live import LiveHttpxAuth, LiveSigner, live_requests_auth
from credsign.store.location import StoreLocation, parse_store_location
from credsign.store.migrate import prepare, require_listed
from credsign.store.sealing import seal, unseal
from credsign.timestamps import after, instant, now, parse_stored, stored

if TYPE_CHECKING:
    from credsign.adapters.requests import RequestsAuth

_BASE62 = string.digits + string.ascii_letters


def _load_body(body: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    return dict(load_record_data(body))


class CredentialStore:
    """Credential records of integrations, in SQLite (default) or PostgreSQL.

    Open with :meth:`open`. Views returned by :meth:`create`, :meth:`get`,
    :meth:`list` and :meth:`update` never contain a secret.
    """

    def __init__(
        self, backend: SqlBackend, keyring: Keyring, *, refresh_interval: float = 1.0
    ) -> None:
        self.backend = backend
        self.keyring = keyring
        self.refresh_interval = refresh_interval
        self._key_file: KeyFile | None = None
        self._live: dict[tuple[str, str], weakref.WeakSet[LiveSigner]] = {}

    @classmethod
    def open(
        cls,
        url: str | os.PathLike[str] | StoreLocation | None = None,
        *,
        master_key: MasterKey | bytes | str | None = None,
        previous_keys: Iterable[MasterKey | bytes | str] = (),
        refresh_interval: float = 1.0,
    ) -> CredentialStore:
        """Open a store: ``sqlite:///PATH``, ``postgresql://...``, a path, or None.

        None means ``$CREDSIGN_STORE``, else the embedded default (see
        :func:`~credsign.store.location.parse_store_location`). The master key is
        ``master_key``, else ``$CREDSIGN_MASTER_KEY`` (base64), else (SQLite only)
        a key file beside the database, created with mode 0600 for a store that
        has no keys yet. ``previous_keys`` are still accepted for reading. A
        keyring holding none of the store's listed keys raises IntegrityError.
        """
        location = url if isinstance(url, StoreLocation) else parse_store_location(url)
        previous = [MasterKey.parse(key) for key in previous_keys]
        given = master_key or os.environ.get("CREDSIGN_MASTER_KEY")
        if not given and location.path is None:
            raise StoreValidationError("PostgreSQL stores need master_key or CREDSIGN_MASTER_KEY")
        keyring = Keyring(MasterKey.parse(given), previous) if given else None
        backend: SqlBackend
        if location.path is not None:
            from credsign.store.sqlite import SqliteBackend

            backend = SqliteBackend(location.path)
        else:
            from credsign.store.postgres import PostgresBackend

            backend = PostgresBackend(location.url)
        try:
            key_file = None
            if keyring is None:
                assert location.path is not None
                key_file = KeyFile(location.path.with_name(location.path.name + ".key"))
                if not key_file.path.exists():
                    _, sample, listed = backend.state()
                    if sample is not None or listed:  # never a new key for sealed rows
                        raise IntegrityError(
                            f"key file {key_file.path} is missing and the store has keys:"
                            " restore it, or give the master key"
                        )
                    key_file.create()
                keyring = key_file.keyring(previous)
            prepare(backend, keyring, location)
        except BaseException:
            backend.close()
            raise
        store = cls(backend, keyring, refresh_interval=refresh_interval)
        store._key_file = key_file
        return store

    def __repr__(self) -> str:
        return f"CredentialStore({self.backend!r})"

    def close(self) -> None:
        """Close the database connection(s); ``with CredentialStore.open() as store:`` does it."""
        self.backend.close()

    def __enter__(self) -> CredentialStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- records -----------------------------------------------------------------

    def _seal(self, row: Row, secret: Mapping[str, Any]) -> Row:
        self._follow_key_file()
        return seal(self.keyring, row, secret)

    def _follow_key_file(self, force: bool = False) -> None:
        """Pick up keys another process rotated to (one stat per write, none per read)."""
        if self._key_file is not None and (force or self._key_file.changed()):
            keyring = self._key_file.keyring(self.keyring.all_keys())
            if keyring.current.key_id != self.keyring.current.key_id:
                require_listed(self.backend, keyring)  # a replaced key file writes nothing
            self.keyring = keyring

    def _unseal(self, row: Row) -> dict[str, Any]:
        if not self.keyring.knows(row.key_id):
            self._follow_key_file(force=True)
        return unseal(self.keyring, row)

    def _verified(self, row: Row) -> Row:
        """``row``, once its seal proves no field of it changed since credsign wrote it."""
        self._unseal(row)
        return row

    def _record_data(self, row: Row) -> dict[str, Any]:
        data = join_record(row.public, self._unseal(row))
        data |= {
            "authId": row.auth_id,
            "integrationId": row.integration_id,
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        }
        return data

    @staticmethod
    def _view(row: Row) -> dict[str, Any]:
        view: dict[str, Any] = {
            "authId": row.auth_id,
            "integrationId": row.integration_id,
            "authType": row.auth_type,
            "headers": row.public.get("headers", []),
            "createdAt": row.created_at,
            "updatedAt": row.updated_at,
        }
        view |= {name: row.public[name] for name in VIEW_FIELDS if name in row.public}
        return view

    def _row(self, integration_id: str, auth_id: str) -> Row:
        row = self.backend.fetch(
            check_id("integrationId", integration_id), check_id("authId", auth_id)
        )
        if row is None:
            raise NotFoundError(f"no credential {auth_id!r} in integration {integration_id!r}")
        return row

    def create(
        self,
        integration_id: str,
        body: Mapping[str, Any] | str | bytes,
        *,
        auth_id: str | None = None,
    ) -> dict[str, Any]:
        """Validate and store a record; return its view.

        ``authId`` is assigned here (``auth_`` + 12 base62 characters) unless a
        caller with its own id scheme gives one (provider credentials: ``crd_...``).
        """
        data = _load_body(body)
        for name in METADATA_FIELDS:
            data.pop(name, None)
        check_id("integrationId", integration_id)
        if auth_id is not None:
            check_id("authId", auth_id)
        record = parse_record(data)
        auth_id = auth_id or "auth_" + "".join(secrets.choice(_BASE62) for _ in range(12))
        at = now()
        public, secret = split_record(record.to_dict(reveal_secrets=True))
        unsealed = Row(integration_id, auth_id, record.auth_type, public, "", b"", at, at, 1)
        row = self._seal(unsealed, secret)
        self.backend.insert(row)
        return self._view(row)

    def get(self, integration_id: str, auth_id: str) -> dict[str, Any]:
        """The view of one record: its JSON without a secret (``NotFoundError`` if none)."""
        return self._view(self._verified(self._row(integration_id, auth_id)))

    def store_credentials(
        self,
        provider: str,
        credentials: Mapping[str, Any],
        label: str | None = None,
        *,
        validate: bool = True,
        base_url: str | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Store a catalog provider's credentials (see :mod:`credsign.providers`)."""
        from credsign.providers import store_credentials

        return store_credentials(
            self,
            provider,
            credentials,
            label,
            validate=validate,
            base_url=base_url,
            timeout=timeout,
        )

    def list(self, integration_id: str) -> list[dict[str, Any]]:
        """The views of an integration's records, without secrets."""
        rows = self.backend.list(check_id("integrationId", integration_id))
        return [self._view(self._verified(row)) for row in rows]

    def integrations(self) -> builtins.list[str]:
        """The ids of the integrations that have records, sorted."""
        return self.backend.integrations()

    def export(self, integration_id: str, auth_id: str, *, reveal: bool = False) -> dict[str, Any]:
        """The record with ids and timestamps; secrets masked unless ``reveal`` (a backup)."""
        return transfer.export_record(self, integration_id, auth_id, reveal=reveal)

    def import_record(
        self, body: Mapping[str, Any] | str | bytes, *, replace: bool = False
    ) -> dict[str, Any]:
        """Store a revealed :meth:`export` as it was (ids and timestamps); return its view.

        An existing ``authId`` is a :class:`ConflictError` unless ``replace``,
        which overwrites it (same authType) and moves its ``updatedAt`` forward.
        """
        return transfer.import_record(self, body, replace=replace)

    def resolve(
        self, integration_id: str, environment: str = "production", label: str | None = None
    ) -> dict[str, Any]:
        """The view of the one record of ``environment`` (and ``label``, if given).

        A record without ``environment`` is a production record; a test record is
        never picked for production. None or several matches raise (``not_found``,
        ``conflict``): say which ``label`` to take.
        """
        if environment not in ("production", "test"):
            raise StoreValidationError("environment is 'production' or 'test'")
        matches = [
            view
            for view in self.list(integration_id)
            if view.get("environment", "production") == environment
            and (label is None or view.get("label") == label)
        ]
        wanted = f"{environment} record" + ("" if label is None else f" labelled {label!r}")
        if not matches:
            raise NotFoundError(f"no {wanted} in integration {integration_id!r}")
        if len(matches) > 1:
            labels = sorted(str(view.get("label")) for view in matches)
            raise ConflictError(f"several {wanted}s in {integration_id!r} ({labels}): give a label")
        return matches[0]

    def record(self, integration_id: str, auth_id: str) -> Record:
        """The full record, secrets included (for signing; never for display)."""
        return parse_record(self._record_data(self._row(integration_id, auth_id)))

    def update(
        self,
        integration_id: str,
        auth_id: str,
        patch: Mapping[str, Any] | str | bytes,
        *,
        if_updated_at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """Change the fields present in ``patch``; the rest stay. Refused patches change nothing.

        ``headers``: a list replaces all static headers (``[]`` removes them).
        ``apiKey`` merges into the stored one. ``if_updated_at`` makes it a
        compare-and-set: :class:`ConflictError` unless the record's ``updatedAt``
        is still that instant (ISO 8601 text with an offset, or an aware datetime).
        """
        check_id("integrationId", integration_id)
        check_id("authId", auth_id)
        changes = _load_body(patch)
        expected = None if if_updated_at is None else instant(if_updated_at, "if_updated_at")
        read_only = [name for name in METADATA_FIELDS if name in changes]
        if read_only:
            raise StoreValidationError(f"{read_only} cannot be changed")

        def change(row: Row) -> Row:
            data = self._record_data(row)  # authenticated before any field of it is used
            if expected is not None and parse_stored(row.updated_at) != expected:
                raise ConflictError(
                    f"{auth_id} changed at {row.updated_at}, not {stored(expected)}"
                )
            if changes.get("authType", row.auth_type) != row.auth_type:
                raise StoreValidationError(f"authType is permanent ({row.auth_type})")
            foreign = sorted(
                (set(changes) & ALL_CREDENTIAL_FIELDS) - CREDENTIAL_FIELDS[row.auth_type]
            )
            if foreign:
                raise StoreValidationError(f"{foreign} do not belong to {row.auth_type} records")
            merged = data | changes
            if isinstance(changes.get("apiKey"), Mapping) and isinstance(data.get("apiKey"), dict):
                merged["apiKey"] = data["apiKey"] | dict(changes["apiKey"])
            if isinstance(changes.get("organizations"), Mapping):
                merged["organizations"] = organizations_patched(
                    data.get("organizations", []), changes["organizations"]
                )
            for name in METADATA_FIELDS:
                merged.pop(name, None)
            record = parse_record(merged)
            public, secret = split_record(record.to_dict(reveal_secrets=True))
            changed = row.changed(
                public=public, updated_at=after(row.updated_at), version=row.version + 1
            )
            return self._seal(changed, secret)

        row = self.backend.update(integration_id, auth_id, change)
        if row is None:
            raise NotFoundError(f"no credential {auth_id!r} in integration {integration_id!r}")
        self._invalidate(integration_id, auth_id)
        return self._view(row)

    def delete(self, integration_id: str, auth_id: str) -> None:
        """Remove a record (``NotFoundError`` if there is none)."""
        check_id("integrationId", integration_id)
        check_id("authId", auth_id)
        if not self.backend.delete(integration_id, auth_id):
            raise NotFoundError(f"no credential {auth_id!r} in integration {integration_id!r}")
        self._invalidate(integration_id, auth_id)

    def generation(self) -> int:
        """A number that changes whenever any record of the store is written."""
        return self.backend.generation()

    # -- live adapters -------------------------------------------------------------

    def live_signer(self, integration_id: str, auth_id: str, org: str | None = None) -> LiveSigner:
        source = LiveSigner(self, integration_id, auth_id, org)
        self._live.setdefault((integration_id, auth_id), weakref.WeakSet()).add(source)
        return source

    def _invalidate(self, integration_id: str, auth_id: str) -> None:
        for source in list(self._live.get((integration_id, auth_id), ())):
            source.invalidate()

    def _source(
        self,
        integration_id: str,
        auth_id: str | None,
        environment: str | None,
        label: str | None,
        org: str | None,
    ) -> LiveSigner:
        """The live signer of ``auth_id``, or of the record the selector resolves to."""
        if auth_id is None:
            auth_id = str(
                self.resolve(integration_id, environment or "production", label)["authId"]
            )
        elif environment is not None or label is not None:
            raise StoreValidationError("give an auth id or an environment/label, not both")
        return self.live_signer(integration_id, auth_id, org)

    def httpx_auth(
        self,
        integration_id: str,
        auth_id: str | None = None,
        *,
        environment: str | None = None,
        label: str | None = None,
        org: str | None = None,
        **options: Any,
    ) -> LiveHttpxAuth:
        """An ``httpx.Auth`` that always signs with the record as stored now.

        The record is ``auth_id``, or the one :meth:`resolve` picks for
        ``environment``/``label`` (chosen once, when the auth is made). ``org``
        picks a per-organization credential set; a request for an organization
        the record has no credentials for raises before anything is sent.
        """
        source = self._source(integration_id, auth_id, environment, label, org)
        return LiveHttpxAuth(source, **options)

    def requests_auth(
        self,
        integration_id: str,
        auth_id: str | None = None,
        *,
        environment: str | None = None,
        label: str | None = None,
        org: str | None = None,
        **options: Any,
    ) -> RequestsAuth:
        """A ``requests`` auth that always signs with the record as stored now (see httpx_auth)."""
        source = self._source(integration_id, auth_id, environment, label, org)
        return live_requests_auth(source, **options)

    # -- keys ------------------------------------------------------------------------

    def rotate_master_key(self, new_key: MasterKey | bytes | str | None = None) -> int:
        """Re-encrypt every record under ``new_key`` (generated if None); return how many.

        Safe to interrupt: rows are re-sealed one transaction at a time and both
        keys are accepted meanwhile. With a key file the new key is saved first
        (``.key.next``), other processes write with it from then on, and
        reopening resumes; run it again to finish. The key file keeps up to three
        retired keys, so a straggling write can never be lost; remove them with
        :meth:`drop_retired_keys`.
        """
        return rotate(self, new_key)

    def drop_retired_keys(self) -> builtins.list[str]:
        """Forget every master key but the current one; return the ids of those dropped.

        They leave the key file (if the store has one) and the database's list
        of accepted keys, so they no longer open the store, and a process still
        writing with one is refused rather than sealing a row nobody can read.
        :class:`ConflictError` (nothing dropped) while any record is still sealed
        with another key, or a key file rotation is unfinished.
        """
        return drop_retired(self)
