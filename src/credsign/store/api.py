"""CredentialStore: create / get / list / update / delete credential records, sealed at rest.

The semantics mirror an "integration auth" REST API: records belong to an
integration, get an ``auth_...`` id, are read back without any secret, are
patched field by field (``authType`` is permanent), and feed live adapters.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from credsign.errors import ConflictError, NotFoundError, RecordError, StoreValidationError
from credsign.records import RECORD_TYPES, Record, parse_record
from credsign.store.backend import Row, SqlBackend
from credsign.store.crypto import KeyFile, Keyring, MasterKey
from credsign.store.live import LiveHttpxAuth, LiveSigner, live_requests_auth

if TYPE_CHECKING:
    from credsign.adapters.requests import RequestsAuth

#: Secret fields (top level); ``apiKey.value`` is the nested one.
SECRET_FIELDS = ("password", "token", "secretKey", "sessionToken", "clientSecret")
METADATA_FIELDS = ("authId", "integrationId", "createdAt", "updatedAt")
VIEW_FIELDS = ("label", "baseUrl", "contentType", "environment")
_BASE62 = string.digits + string.ascii_letters


def _aliases(model: Any) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


_COMMON_FIELDS = set.intersection(*(_aliases(model) for model in RECORD_TYPES.values()))
#: The credential fields each authType has beyond what every record has.
CREDENTIAL_FIELDS = {
    auth_type: _aliases(model) - _COMMON_FIELDS for auth_type, model in RECORD_TYPES.items()
}
_ALL_CREDENTIAL_FIELDS = set().union(*CREDENTIAL_FIELDS.values())


def default_store_path() -> Path:
    """``$CREDSIGN_STORE``, else ``$XDG_DATA_HOME/credsign/credentials.db``."""
    configured = os.environ.get("CREDSIGN_STORE")
    if configured:
        return Path(configured)
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "credsign" / "credentials.db"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def _split(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A record's JSON as (public part, secret part); metadata dropped (it has columns)."""
    public = {key: value for key, value in data.items() if key not in METADATA_FIELDS}
    secret = {key: public.pop(key) for key in SECRET_FIELDS if key in public}
    if "apiKey" in public:
        api_key = dict(public["apiKey"])
        secret["apiKey"] = {"value": api_key.pop("value")}
        public["apiKey"] = api_key
    if "apiKeys" in public:
        placements = [dict(placement) for placement in public["apiKeys"]]
        secret["apiKeys"] = [{"value": placement.pop("value")} for placement in placements]
        public["apiKeys"] = placements
    if "organizations" in public:  # each entry split the same way, aligned by position
        parts = [_split(entry) for entry in public["organizations"]]
        public["organizations"] = [entry_public for entry_public, _ in parts]
        secret["organizations"] = [entry_secret for _, entry_secret in parts]
    return public, secret


def _join(public: Mapping[str, Any], secret: Mapping[str, Any]) -> dict[str, Any]:
    nested = ("apiKey", "apiKeys", "organizations")
    data = dict(public) | {key: value for key, value in secret.items() if key not in nested}
    if "apiKey" in secret:
        data["apiKey"] = dict(public["apiKey"]) | secret["apiKey"]
    if "apiKeys" in secret:
        data["apiKeys"] = [
            dict(placement) | value
            for placement, value in zip(public["apiKeys"], secret["apiKeys"], strict=True)
        ]
    if "organizations" in secret:
        data["organizations"] = [
            _join(entry_public, entry_secret)
            for entry_public, entry_secret in zip(
                public["organizations"], secret["organizations"], strict=True
            )
        ]
    return data


def _organizations_patched(
    current: list[dict[str, Any]], patch: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """``{"acme": {...}}`` adds or replaces acme's set, ``{"acme": null}`` removes it."""
    by_org = {entry["orgId"]: entry for entry in current}
    for org, entry in patch.items():
        if entry is None:
            if by_org.pop(org, None) is None:
                raise NotFoundError(f"no credentials for organization {org!r} to remove")
        elif isinstance(entry, Mapping):
            by_org[org] = {**entry, "orgId": org}
        else:
            raise StoreValidationError(f"organizations.{org} must be an object or null")
    return list(by_org.values())


def _load_body(body: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError as error:
            raise RecordError([("record", f"is not valid JSON ({error})")]) from None
    if not isinstance(body, Mapping):
        raise RecordError([("record", "must be a JSON object")])
    return dict(body)


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
        url: str | None = None,
        *,
        master_key: MasterKey | bytes | str | None = None,
        previous_keys: Iterable[MasterKey | bytes | str] = (),
        refresh_interval: float = 1.0,
    ) -> CredentialStore:
        """Open a store: None (embedded SQLite), ``sqlite:///path`` or ``postgresql://...``.

        The master key is ``master_key``, else ``$CREDSIGN_MASTER_KEY`` (base64),
        else (SQLite only) a key file beside the database, created on first use
        with mode 0600. ``previous_keys`` are still accepted for reading.
        """
        backend: SqlBackend
        path: Path | None = None
        if url is None or url.startswith("sqlite://"):
            from credsign.store.sqlite import SqliteBackend

            path = default_store_path() if url is None else Path(url.removeprefix("sqlite://"))
            backend = SqliteBackend(path)
        elif url.startswith(("postgresql://", "postgres://")):
            from credsign.store.postgres import PostgresBackend

            backend = PostgresBackend(url)
        else:
            raise StoreValidationError("a store URL is sqlite:///path or postgresql://...")
        previous = [MasterKey.parse(key) for key in previous_keys]
        given = master_key or os.environ.get("CREDSIGN_MASTER_KEY")
        key_file = None
        if given:
            keyring = Keyring(MasterKey.parse(given), previous)
        elif path is not None:
            key_file = KeyFile(path.with_name(path.name + ".key"))
            keyring = key_file.keyring(previous)
        else:
            raise StoreValidationError("PostgreSQL stores need master_key or CREDSIGN_MASTER_KEY")
        store = cls(backend, keyring, refresh_interval=refresh_interval)
        store._key_file = key_file
        return store

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> CredentialStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- records -----------------------------------------------------------------

    def _seal(self, integration_id: str, auth_id: str, secret: dict[str, Any]) -> tuple[str, bytes]:
        self._follow_key_file()
        plaintext = json.dumps(secret, separators=(",", ":")).encode()
        return self.keyring.encrypt(plaintext, f"{integration_id}\0{auth_id}".encode())

    def _follow_key_file(self, force: bool = False) -> None:
        """Pick up keys another process rotated to (one stat per write, none per read)."""
        if self._key_file is not None and (force or self._key_file.changed()):
            self.keyring = self._key_file.keyring(self.keyring.all_keys())

    def _unseal(self, row: Row) -> dict[str, Any]:
        if not self.keyring.knows(row.key_id):
            self._follow_key_file(force=True)
        associated = f"{row.integration_id}\0{row.auth_id}".encode()
        plaintext = self.keyring.decrypt(row.key_id, row.secret, associated)
        loaded: dict[str, Any] = json.loads(plaintext)
        return loaded

    def _record_data(self, row: Row) -> dict[str, Any]:
        data = _join(row.public, self._unseal(row))
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
        row = self.backend.fetch(integration_id, auth_id)
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
        record = parse_record(data)
        auth_id = auth_id or "auth_" + "".join(secrets.choice(_BASE62) for _ in range(12))
        now = _timestamp(datetime.now(timezone.utc))
        public, secret = _split(record.to_dict(reveal_secrets=True))
        key_id, sealed = self._seal(integration_id, auth_id, secret)
        row = Row(integration_id, auth_id, record.auth_type, public, key_id, sealed, now, now, 1)
        self.backend.insert(row)
        return self._view(row)

    def get(self, integration_id: str, auth_id: str) -> dict[str, Any]:
        return self._view(self._row(integration_id, auth_id))

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
        return [self._view(row) for row in self.backend.list(integration_id)]

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
        if_updated_at: str | None = None,
    ) -> dict[str, Any]:
        """Change the fields present in ``patch``; the rest stay. Refused patches change nothing.

        ``headers``: a list replaces all static headers (``[]`` removes them).
        ``apiKey`` merges into the stored one. ``if_updated_at`` makes it a
        compare-and-set: :class:`ConflictError` if the record changed since.
        """
        changes = _load_body(patch)
        read_only = [name for name in METADATA_FIELDS if name in changes]
        if read_only:
            raise StoreValidationError(f"{read_only} cannot be changed")

        def change(row: Row) -> Row:
            if if_updated_at is not None and row.updated_at != if_updated_at:
                raise ConflictError(f"{auth_id} changed at {row.updated_at}, not {if_updated_at}")
            if changes.get("authType", row.auth_type) != row.auth_type:
                raise StoreValidationError(f"authType is permanent ({row.auth_type})")
            foreign = sorted(
                (set(changes) & _ALL_CREDENTIAL_FIELDS) - CREDENTIAL_FIELDS[row.auth_type]
            )
            if foreign:
                raise StoreValidationError(f"{foreign} do not belong to {row.auth_type} records")
            data = self._record_data(row)
            merged = data | changes
            if isinstance(changes.get("apiKey"), Mapping) and isinstance(data.get("apiKey"), dict):
                merged["apiKey"] = data["apiKey"] | dict(changes["apiKey"])
            if isinstance(changes.get("organizations"), Mapping):
                merged["organizations"] = _organizations_patched(
                    data.get("organizations", []), changes["organizations"]
                )
            for name in METADATA_FIELDS:
                merged.pop(name, None)
            record = parse_record(merged)
            public, secret = _split(record.to_dict(reveal_secrets=True))
            key_id, sealed = self._seal(integration_id, auth_id, secret)
            updated_at = datetime.now(timezone.utc)
            previous = _parse_timestamp(row.updated_at)
            if updated_at <= previous:  # strictly forward, even with a coarse clock
                updated_at = previous + timedelta(microseconds=1)
            return row.changed(
                public=public,
                key_id=key_id,
                secret=sealed,
                updated_at=_timestamp(updated_at),
                version=row.version + 1,
            )

        row = self.backend.update(integration_id, auth_id, change)
        if row is None:
            raise NotFoundError(f"no credential {auth_id!r} in integration {integration_id!r}")
        self._invalidate(integration_id, auth_id)
        return self._view(row)

    def delete(self, integration_id: str, auth_id: str) -> None:
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
        reopening resumes; run it again to finish. Retired keys stay in the key
        file a while, so a straggling write can never be lost.
        """
        key = MasterKey.generate() if new_key is None else MasterKey.parse(new_key)
        if self._key_file is not None:
            self._key_file.begin_rotation(key)
            self._follow_key_file(force=True)  # a resumed rotation keeps its first key
        else:
            self.keyring = self.keyring.with_key(key)
        target = self.keyring.current.key_id

        def reseal(row: Row) -> Row:
            key_id, sealed = self._seal(row.integration_id, row.auth_id, self._unseal(row))
            return row.changed(key_id=key_id, secret=sealed)

        count = 0
        for _ in range(3):  # again for rows another process wrote with an older key meanwhile
            left = list(self.backend.keys_not(target))
            if not left:
                break
            for integration_id, auth_id in left:
                if self.backend.update(integration_id, auth_id, reseal) is not None:
                    count += 1
        if self._key_file is not None:
            self._key_file.finish_rotation(self.keyring)
        return count
