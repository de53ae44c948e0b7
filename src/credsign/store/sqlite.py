"""The embedded default backend: one SQLite file in WAL mode, safe across processes.

The database file is created 0600 before SQLite opens it (SQLite gives its
``-wal`` and ``-shm`` files the database's mode), in directories made 0700.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from credsign.errors import ConflictError, IntegrityError, StoreError
from credsign.store.backend import Cursor, SqlBackend
from credsign.store.files import create_private_file


class SqliteBackend(SqlBackend):
    """A connection per thread; writes take SQLite's write lock up front (BEGIN IMMEDIATE)."""

    driver_errors = (sqlite3.Error, UnicodeDecodeError)  # a TEXT column that is not UTF-8

    def __init__(self, path: Path) -> None:
        self.path = path
        create_private_file(path)
        self._local = threading.local()
        # Threads of this process queue here rather than in SQLite's busy handler,
        # which sleeps in steps of milliseconds even once the lock is free.
        self._writer = threading.Lock()
        self._start()

    def __repr__(self) -> str:
        return f"SqliteBackend({str(self.path)!r})"

    def translate(self, error: Exception) -> StoreError:
        if isinstance(error, sqlite3.IntegrityError):
            return ConflictError("the record exists already")
        if isinstance(error, UnicodeDecodeError):
            return IntegrityError(f"SQLite database {self.path} holds text that is not UTF-8")
        if isinstance(error, sqlite3.OperationalError | sqlite3.InterfaceError):
            return StoreError(f"SQLite database {self.path}: {error}")
        # "file is not a database", "database disk image is malformed", ...
        return IntegrityError(f"SQLite database {self.path} is corrupt or not a store ({error})")

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            # Text that is not UTF-8 raises UnicodeDecodeError (an IntegrityError quoting
            # nothing), not sqlite3's OperationalError, whose message quotes the column.
            connection.text_factory = bytes.decode
            try:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")  # a returned write survives a crash
                connection.execute("PRAGMA busy_timeout=30000")
            except BaseException:
                connection.close()
                raise
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        if not write:
            connection = self._connection()
            if connection.in_transaction:  # a read from inside a write (a key check) joins it
                cursor = connection.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
                return
            with self._run("BEGIN") as cursor:  # WAL: readers never wait
                yield cursor
            return
        with self._writer, self._run("BEGIN IMMEDIATE") as cursor:
            yield cursor

    @contextmanager
    def _run(self, begin: str) -> Iterator[Cursor]:
        connection = self._connection()
        cursor = connection.cursor()
        cursor.execute(begin)
        try:
            yield cursor
        except BaseException:
            connection.rollback()
            raise
        else:
            connection.commit()
        finally:
            cursor.close()

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
