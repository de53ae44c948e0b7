"""What every ``credsign`` command shares: exit statuses, the error type, input, the store."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from credsign.errors import StoreValidationError

if TYPE_CHECKING:
    from credsign.store import CredentialStore, MasterKey

PROG = "credsign"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_CONFLICT = 4
EXIT_INTEGRITY = 5
EXIT_CREDENTIAL_REJECTED = 6


class CliError(Exception):
    """An expected failure: a message for stderr and the exit status."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


def read_input(source: str, what: str) -> bytes:
    """The bytes of a file, or of stdin for ``-``."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise CliError(f"cannot read {what} {source!r}: {error.strerror}", EXIT_USAGE) from None


def open_store(
    args: argparse.Namespace, previous_keys: Iterable[MasterKey] = ()
) -> CredentialStore:
    """The store named by ``--store`` or ``$CREDSIGN_STORE``, parsed by the store itself."""
    try:
        from credsign.store import CredentialStore
    except ImportError as error:  # the extra is missing: the message names it
        raise CliError(str(error)) from None
    try:
        return CredentialStore.open(args.store, previous_keys=previous_keys)
    except StoreValidationError as error:
        raise CliError(f"cannot open store: {error}", EXIT_USAGE) from None
    except ImportError as error:
        raise CliError(f"cannot open store: {error}") from None  # psycopg, for PostgreSQL
    except OSError as error:
        raise CliError(f"cannot open store: {error}") from None


def database_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [sqlite3.Error]
    psycopg = sys.modules.get("psycopg")  # only ever imported for PostgreSQL stores
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
