"""The shared backend: PostgreSQL (psycopg 3), for many workers on many machines.

The URL is parsed once, here, and psycopg gets its parts as keywords: libpq
then never parses (nor quotes in an error) the URL again. No message, repr or
exception context of this backend holds the password.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from credsign.errors import ConflictError, StoreError, StoreValidationError
from credsign.extras import require
from credsign.store.backend import Cursor, SqlBackend
from credsign.store.location import MASK, SECRET_KEYWORDS, redact_url


def _parse(psycopg: Any, url: str) -> dict[str, str]:
    """The URL's connection parameters; a malformed URL is refused without quoting it."""
    try:
        params: dict[str, str] = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error as error:
        # libpq quotes the offending part ("pw%zz..."): keep only the words before it.
        reason = str(error).split('"', 1)[0].strip().rstrip(":").strip()[:80]
    else:
        return params
    raise StoreValidationError(f"cannot parse the PostgreSQL URL {redact_url(url)} ({reason})")


class PostgresBackend(SqlBackend):
    """Connections per thread (a writer, and an autocommit reader); updates lock their row."""

    marker = "%s"
    lock_rows = " FOR UPDATE"
    share_rows = " FOR SHARE"
    blob_type = "BYTEA"
    schema_lock = "SELECT pg_advisory_xact_lock(7150000001)"  # one schema creator at a time

    def __init__(self, url: str) -> None:
        psycopg = require("psycopg", "store", "a PostgreSQL store")  # only when one is asked for

        self._psycopg: Any = psycopg
        self.driver_errors = (psycopg.Error,)
        self.url = redact_url(url)  # for display; the parameters hold the password
        self._params = _parse(psycopg, url)
        self._hidden = [url] + [
            value for name, value in self._params.items() if name in SECRET_KEYWORDS and value
        ]
        self._local = threading.local()
        self._start()

    def __repr__(self) -> str:
        return f"PostgresBackend({self.url!r})"

    def translate(self, error: Exception) -> StoreError:
        if isinstance(error, self._psycopg.errors.UniqueViolation):
            return ConflictError("the record exists already")
        message = str(error).strip()
        for hidden in self._hidden:  # belt and braces: libpq has no reason to echo these
            message = message.replace(hidden, MASK)
        return StoreError(f"PostgreSQL {self.url}: {message}")

    def _connection(self, role: str) -> Any:
        connection = getattr(self._local, role, None)
        if connection is None or connection.closed:
            # Reads run alone in autocommit: one round trip instead of BEGIN/SELECT/COMMIT.
            try:
                connection = self._psycopg.connect(autocommit=role == "reader", **self._params)
            except (UnicodeError, ValueError) as error:  # a host or user psycopg cannot encode
                if isinstance(error, self._psycopg.Error):
                    raise
                failure = StoreValidationError(
                    f"PostgreSQL {self.url}: a connection parameter cannot be encoded"
                )
            else:
                setattr(self._local, role, connection)
                return connection
            raise failure
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
