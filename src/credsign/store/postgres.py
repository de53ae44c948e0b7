"""The shared backend: PostgreSQL (psycopg 3), for many workers on many machines."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from credsign.store.backend import Cursor, SqlBackend


class PostgresBackend(SqlBackend):
    """A connection per thread; updates lock their row (SELECT ... FOR UPDATE)."""

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

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._psycopg.connect(self.url)
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        with self._connection().transaction(), self._connection().cursor() as cursor:
            yield cursor

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
