"""The embedded default backend: one SQLite file in WAL mode, safe across processes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from credsign.store.backend import Cursor, SqlBackend


class SqliteBackend(SqlBackend):
    """A connection per thread; writes take SQLite's write lock up front (BEGIN IMMEDIATE)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Threads of this process queue here rather than in SQLite's busy handler,
        # which sleeps in steps of milliseconds even once the lock is free.
        self._writer = threading.Lock()
        with self.transaction() as cursor:
            self.create_schema(cursor, "BLOB")

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # a returned write survives a crash
            connection.execute("PRAGMA busy_timeout=30000")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        if not write:
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
