"""The shared backend: PostgreSQL (psycopg 3), for many workers on many machines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from credsign.store.backend import Cursor, SqlBackend


class PostgresBackend(SqlBackend):
    """Connections per thread (a writer, and an autocommit reader); updates lock their row."""

    marker = "%s"
    lock_rows = " FOR UPDATE"

    def __init__(self, url: str) -> None:
        import psycopg  # the 'store' extra; imported only when PostgreSQL is asked for

        self._psycopg: Any = psycopg
        self.url = url
        self._local = threading.local()
        with self.transaction() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7150000001)")  # one schema creator
            self.create_schema(cursor, "BYTEA")

    def _connection(self, role: str) -> Any:
        connection = getattr(self._local, role, None)
        if connection is None or connection.closed:
            # Reads run alone in autocommit: one round trip instead of BEGIN/SELECT/COMMIT.
            connection = self._psycopg.connect(self.url, autocommit=role == "reader")
            setattr(self._local, role, connection)
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        if not write:
            with self._connection("reader").cursor() as cursor:
                yield cursor
            return
        connection = self._connection("writer")
        with connection.transaction(), connection.cursor() as cursor:
            yield cursor

    def close(self) -> None:
        for role in ("reader", "writer"):
            connection = getattr(self._local, role, None)
            if connection is not None:
                connection.close()
                setattr(self._local, role, None)
