"""Rows and the SQL every backend shares; SQLite and PostgreSQL differ only in connecting.

Secrets arrive here already encrypted. Every write bumps a store-wide
``generation`` in the same transaction, which live adapters in other processes
poll (at most once per interval) to learn that something changed. Every public
method raises only :class:`~credsign.errors.StoreError` s for database faults
(:func:`guarded`); a row that is not what credsign writes is an IntegrityError.
"""

from __future__ import annotations

import builtins
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Concatenate, ParamSpec, TypeVar

from credsign.errors import ConflictError, IntegrityError, StoreError

#: 1: secrets sealed with the ids as associated data; 2: with every stored field.
SCHEMA_VERSION = 2
#: Meta names of the keys this database accepts: ``key:<key id>`` -> the key's check.
KEY_PREFIX = "key:"

P = ParamSpec("P")
T = TypeVar("T")
B = TypeVar("B", bound="SqlBackend")


def guarded(method: Callable[Concatenate[B, P], T]) -> Callable[Concatenate[B, P], T]:
    """Turn the driver's errors into StoreErrors, raised outside the handler.

    Raising outside keeps the driver's exception (which may quote a connection
    string) out of ``__context__``.
    """

    def run(self: B, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except self.driver_errors as error:
            failure = self.translate(error)
        raise failure

    run.__name__, run.__doc__ = method.__name__, method.__doc__
    return run


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
    #: The same, shared: writers sealing with one key hold its meta row so (drop_keys waits).
    share_rows = ""
    #: The driver's exception classes, which :meth:`translate` maps to StoreErrors.
    driver_errors: tuple[type[Exception], ...] = ()

    @abstractmethod
    def translate(self, error: Exception) -> StoreError:
        """The StoreError for a driver error; its message never holds a password."""

    @abstractmethod
    def transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed on success, rolled back on error.

        ``write=False`` promises only reads, which need not wait for writers.
        """

    @abstractmethod
    def close(self) -> None: ...

    #: The column type of ciphertexts.
    blob_type = "BLOB"
    #: A statement making concurrent schema creators queue ("" where BEGIN already does).
    schema_lock = ""

    def _sql(self, text: str) -> str:
        return text.replace("?", self.marker)

    def _start(self) -> None:
        """Create or check the schema; on failure let go of the connection."""
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    @guarded
    def _setup(self) -> None:
        with self.transaction() as cursor:
            if self.schema_lock:
                cursor.execute(self.schema_lock)
            self.create_schema(cursor)

    def create_schema(self, cursor: Cursor) -> None:
        blob_type = self.blob_type
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
        found = self._meta_number(cursor, "schema_version")
        if found > SCHEMA_VERSION:  # older ones are migrated on open (credsign.store.migrate)
            raise StoreError(f"this store has schema {found}; this credsign knows {SCHEMA_VERSION}")

    def _meta_number(self, cursor: Cursor, name: str, lock: str = "") -> int:
        cursor.execute(self._sql(f"SELECT value FROM credsign_meta WHERE name = ?{lock}"), (name,))
        found = cursor.fetchone()
        text = None if found is None else found[0]
        if not isinstance(text, str) or not text.isdigit() or len(text) > 18:
            raise IntegrityError(f"the store's {name} is corrupt")
        return int(text)

    @staticmethod
    def _row(values: tuple[Any, ...]) -> Row:
        """A Row from a SELECT; any column not as credsign writes it is an IntegrityError."""
        texts = (values[0], values[1], values[2], values[3], values[4], values[6], values[7])
        public: Any = None
        if (
            all(isinstance(value, str) for value in texts)
            and isinstance(values[5], bytes | memoryview)
            and type(values[8]) is int
        ):
            try:
                public = json.loads(values[3])
            except (ValueError, RecursionError):
                public = None
        if not isinstance(public, dict):
            raise IntegrityError("a stored row is malformed (tampered, or not written by credsign)")
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

    def _require_key(self, cursor: Cursor, key_id: str) -> None:
        """Refuse a row sealed with a key the database does not list (dropped meanwhile)."""
        cursor.execute(
            self._sql(f"SELECT 1 FROM credsign_meta WHERE name = ?{self.share_rows}"),
            (KEY_PREFIX + key_id,),
        )
        if cursor.fetchone() is None:
            raise IntegrityError(
                f"master key {key_id} is not one of this store's keys (dropped as retired?): "
                "reopen the store with its current key"
            )

    @guarded
    def insert(self, row: Row) -> None:
        with self.transaction() as cursor:
            self._require_key(cursor, row.key_id)
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

    @guarded
    def fetch(self, integration_id: str, auth_id: str) -> Row | None:
        with self.transaction(write=False) as cursor:
            return self._select(cursor, integration_id, auth_id)

    @guarded
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

    @guarded
    def integrations(self) -> builtins.list[str]:
        """The integration ids that have records, sorted the same on every backend."""
        with self.transaction(write=False) as cursor:
            cursor.execute("SELECT DISTINCT integration_id FROM credsign_credentials")
            found = [row[0] for row in cursor.fetchall()]
        if not all(isinstance(name, str) for name in found):
            raise IntegrityError("a stored integration id is not text")
        return sorted(found)

    @guarded
    def update(self, integration_id: str, auth_id: str, change: Callable[[Row], Row]) -> Row | None:
        """Read, change and write one row under a lock: concurrent writers queue up."""
        with self.transaction() as cursor:
            current = self._select(cursor, integration_id, auth_id, self.lock_rows)
            if current is None:
                return None
            updated = change(current)
            self._require_key(cursor, updated.key_id)
            self._write(cursor, updated)
            self._bump(cursor)
            return updated

    @guarded
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

    @guarded
    def keys_not(self, key_id: str) -> builtins.list[tuple[str, str]]:
        """(integration id, auth id) of every row sealed with another key than ``key_id``."""
        with self.transaction(write=False) as cursor:
            cursor.execute(
                self._sql(
                    "SELECT integration_id, auth_id FROM credsign_credentials WHERE key_id <> ?"
                ),
                (key_id,),
            )
            return [(row[0], row[1]) for row in cursor.fetchall()]

    @guarded
    def generation(self) -> int:
        with self.transaction(write=False) as cursor:
            return self._meta_number(cursor, "generation")

    # -- keys and migration (credsign.store.migrate) -----------------------------------

    @guarded
    def state(self) -> tuple[int, Row | None, dict[str, str]]:
        """(schema version, some row if there is one, the listed keys: key id -> check)."""
        with self.transaction(write=False) as cursor:
            version = self._meta_number(cursor, "schema_version")
            cursor.execute(f"SELECT {_COLUMNS} FROM credsign_credentials LIMIT 1")
            found = cursor.fetchone()
            sample = None if found is None else self._row(found)
            cursor.execute(
                self._sql("SELECT name, value FROM credsign_meta WHERE name LIKE ?"),
                (KEY_PREFIX + "%",),
            )
            keys = {str(name).removeprefix(KEY_PREFIX): str(value) for name, value in cursor}
        return version, sample, keys

    @guarded
    def register_key(self, key_id: str, check: str, *, first: bool = False) -> None:
        """Add a key to those this database accepts (kept if listed already).

        ``first``: only if no key is listed yet (two first openers: one key wins).
        """
        with self.transaction() as cursor:
            if first:
                self._meta_number(cursor, "schema_version", self.lock_rows)  # openers queue here
                cursor.execute(
                    self._sql("SELECT 1 FROM credsign_meta WHERE name LIKE ?"), (KEY_PREFIX + "%",)
                )
                if cursor.fetchone() is not None:
                    return
            cursor.execute(
                self._sql(
                    "INSERT INTO credsign_meta (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING"
                ),
                (KEY_PREFIX + key_id, check),
            )

    @guarded
    def drop_keys(self, keep: str) -> builtins.list[str]:
        """Unlist every key but ``keep``; return their ids. Refused while a row uses one.

        The keys' meta rows are deleted first: a writer still sealing with one
        holds its row (:meth:`_require_key`), so the deletion waits for it to
        commit, the count below sees its row, and the whole drop rolls back. A
        writer coming later finds its key gone and is refused.
        """
        with self.transaction() as cursor:
            self._require_key(cursor, keep)
            others = (KEY_PREFIX + "%", KEY_PREFIX + keep)
            cursor.execute(
                self._sql("SELECT name FROM credsign_meta WHERE name LIKE ? AND name <> ?"), others
            )
            dropped = sorted(str(name).removeprefix(KEY_PREFIX) for (name,) in cursor.fetchall())
            cursor.execute(
                self._sql("DELETE FROM credsign_meta WHERE name LIKE ? AND name <> ?"), others
            )
            cursor.execute(
                self._sql("SELECT COUNT(*) FROM credsign_credentials WHERE key_id <> ?"), (keep,)
            )
            (count,) = cursor.fetchone()
            if count:
                noun = "record is" if count == 1 else "records are"
                raise ConflictError(
                    f"{count} {noun} still sealed with another key than {keep}: rotate the "
                    "master key (`credsign keys rotate`) to re-seal every record, then drop"
                )
            return dropped

    @guarded
    def migrate(self, version: int, change: Callable[[Row], Row]) -> int:
        """Rewrite every row with ``change`` and set the schema ``version``, in one transaction.

        Concurrent openers queue on the schema version's row; the later ones find
        the work done. Returns how many rows were rewritten.
        """
        with self.transaction() as cursor:
            if self._meta_number(cursor, "schema_version", self.lock_rows) >= version:
                return 0
            cursor.execute(f"SELECT {_COLUMNS} FROM credsign_credentials")
            rows = [self._row(values) for values in cursor.fetchall()]
            for row in rows:
                self._write(cursor, change(row))
            cursor.execute(
                self._sql("UPDATE credsign_meta SET value = ? WHERE name = 'schema_version'"),
                (str(version),),
            )
            self._bump(cursor)
            return len(rows)
