"""Rows and the SQL every backend shares; SQLite and PostgreSQL differ only in connecting.

Secrets arrive here already encrypted. Every write bumps a store-wide
``generation`` in the same transaction, which live adapters in other processes
poll (at most once per interval) to learn that something changed.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any

from credsign.errors import ConflictError, StoreError

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Row:
    """One stored record: plaintext fields for querying, the secrets sealed."""

    integration_id: str
    auth_id: str
    auth_type: str
    public: dict[str, Any]  # the record's JSON without secrets and metadata
    key_id: str
    secret: bytes  # nonce + AES-GCM ciphertext of the secret fields' JSON
    created_at: str
    updated_at: str
    version: int

    def changed(self, **fields: Any) -> Row:
        return replace(self, **fields)


Cursor = Any  # a DB-API cursor of the backend's driver

# Queries are built from these constants only; every value goes in as a parameter.
_COLUMNS = (
    "integration_id, auth_id, auth_type, public, key_id, secret, created_at, updated_at, version"
)
_MARKERS = ", ".join("?" * len(_COLUMNS.split(",")))


class SqlBackend(ABC):
    """The store's SQL; subclasses say how to connect and how to take a write lock."""

    #: The driver's parameter marker.
    marker = "?"
    #: What makes a SELECT lock the row until commit ("" where BEGIN already locks).
    lock_rows = ""

    @abstractmethod
    def transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed on success, rolled back on error.

        ``write=False`` promises only reads, which need not wait for writers.
        """

    @abstractmethod
    def close(self) -> None: ...

    def _sql(self, text: str) -> str:
        return text.replace("?", self.marker)

    def create_schema(self, cursor: Cursor, blob_type: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS credsign_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS credsign_credentials ("
            " integration_id TEXT NOT NULL, auth_id TEXT NOT NULL, auth_type TEXT NOT NULL,"
            f" public TEXT NOT NULL, key_id TEXT NOT NULL, secret {blob_type} NOT NULL,"
            " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, version INTEGER NOT NULL,"
            " PRIMARY KEY (integration_id, auth_id))"
        )
        for name, value in (("schema_version", str(SCHEMA_VERSION)), ("generation", "0")):
            cursor.execute(
                self._sql(
                    "INSERT INTO credsign_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"
                ),
                (name, value),
            )
        cursor.execute("SELECT value FROM credsign_meta WHERE name = 'schema_version'")
        found = int(cursor.fetchone()[0])
        if found > SCHEMA_VERSION:  # older versions would be migrated here, step by step
            raise StoreError(f"this store has schema {found}; this credsign knows {SCHEMA_VERSION}")

    @staticmethod
    def _row(values: tuple[Any, ...]) -> Row:
        public = json.loads(values[3])
        return Row(
            values[0], values[1], values[2], public, values[4], bytes(values[5]), *values[6:]
        )

    def _bump(self, cursor: Cursor) -> None:
        cursor.execute(
            "UPDATE credsign_meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
            " WHERE name = 'generation'"
        )

    def _select(
        self, cursor: Cursor, integration_id: str, auth_id: str, lock: str = ""
    ) -> Row | None:
        cursor.execute(
            self._sql(
                f"SELECT {_COLUMNS} FROM credsign_credentials"
                f" WHERE integration_id = ? AND auth_id = ?{lock}"
            ),
            (integration_id, auth_id),
        )
        found = cursor.fetchone()
        return None if found is None else self._row(found)

    def _write(self, cursor: Cursor, row: Row) -> None:
        cursor.execute(
            self._sql(
                "UPDATE credsign_credentials SET public = ?, key_id = ?, secret = ?,"
                " updated_at = ?, version = ? WHERE integration_id = ? AND auth_id = ?"
            ),
            (
                json.dumps(row.public),
                row.key_id,
                row.secret,
                row.updated_at,
                row.version,
                row.integration_id,
                row.auth_id,
            ),
        )

    def insert(self, row: Row) -> None:
        with self.transaction() as cursor:
            if self._select(cursor, row.integration_id, row.auth_id) is not None:
                raise ConflictError(f"{row.integration_id}/{row.auth_id} exists already")
            cursor.execute(
                self._sql(f"INSERT INTO credsign_credentials ({_COLUMNS}) VALUES ({_MARKERS})"),
                (
                    row.integration_id,
                    row.auth_id,
                    row.auth_type,
                    json.dumps(row.public),
                    row.key_id,
                    row.secret,
                    row.created_at,
                    row.updated_at,
                    row.version,
                ),
            )
            self._bump(cursor)

    def fetch(self, integration_id: str, auth_id: str) -> Row | None:
        with self.transaction(write=False) as cursor:
            return self._select(cursor, integration_id, auth_id)

    def list(self, integration_id: str) -> list[Row]:
        with self.transaction(write=False) as cursor:
            cursor.execute(
                self._sql(
                    f"SELECT {_COLUMNS} FROM credsign_credentials WHERE integration_id = ?"
                    " ORDER BY created_at, auth_id"
                ),
                (integration_id,),
            )
            return [self._row(values) for values in cursor.fetchall()]

    def update(self, integration_id: str, auth_id: str, change: Callable[[Row], Row]) -> Row | None:
        """Read, change and write one row under a lock: concurrent writers queue up."""
        with self.transaction() as cursor:
            current = self._select(cursor, integration_id, auth_id, self.lock_rows)
            if current is None:
                return None
            updated = change(current)
            self._write(cursor, updated)
            self._bump(cursor)
            return updated

    def delete(self, integration_id: str, auth_id: str) -> bool:
        with self.transaction() as cursor:
            cursor.execute(
                self._sql(
                    "DELETE FROM credsign_credentials WHERE integration_id = ? AND auth_id = ?"
                ),
                (integration_id, auth_id),
            )
            deleted = bool(cursor.rowcount)
            if deleted:
                self._bump(cursor)
            return deleted

    def keys_not(self, key_id: str) -> Iterator[tuple[str, str]]:
        """(integration id, auth id) of every row sealed with another key than ``key_id``."""
        with self.transaction(write=False) as cursor:
            cursor.execute(
                self._sql(
                    "SELECT integration_id, auth_id FROM credsign_credentials WHERE key_id <> ?"
                ),
                (key_id,),
            )
            found = cursor.fetchall()
        yield from ((row[0], row[1]) for row in found)

    def generation(self) -> int:
        with self.transaction(write=False) as cursor:
            cursor.execute("SELECT value FROM credsign_meta WHERE name = 'generation'")
            return int(cursor.fetchone()[0])
