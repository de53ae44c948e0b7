"""``main``: run a command line, turning every expected failure into a message and a status."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from credsign.cli.common import (
    EXIT_CONFLICT,
    EXIT_ERROR,
    EXIT_INTEGRITY,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    PROG,
    CliError,
    database_errors,
)
from credsign.cli.parser import build_parser
from credsign.errors import (
    ConflictError,
    CredsignError,
    IntegrityError,
    NotFoundError,
    RecordError,
    StoreValidationError,
)

#: Arguments taken as bytes (a body, file names, the store): any other must be UTF-8 text.
_BYTES_ARGUMENTS = frozenset({"data", "data_file", "json", "store"})


def _check_text(args: argparse.Namespace) -> None:
    """Refuse arguments that are not UTF-8 (Python hands them over as lone surrogates)."""
    for name, value in sorted(vars(args).items()):
        values = value if isinstance(value, list) else [value]
        for each in values:
            if name not in _BYTES_ARGUMENTS and isinstance(each, str) and not each.isascii():
                try:
                    each.encode()
                except UnicodeEncodeError:
                    option = name.replace("_", "-")
                    raise CliError(f"{option}: is not valid UTF-8 text", EXIT_USAGE) from None


def _error_message(error: CredsignError) -> tuple[str, int]:
    if isinstance(error, RecordError):
        detail = "; ".join(f"{path}: {reason}" for path, reason in error.issues)
        return f"invalid record: {detail}", EXIT_USAGE
    if isinstance(error, StoreValidationError):
        return f"invalid record: {error}", EXIT_USAGE
    if isinstance(error, NotFoundError):
        return f"not found: {error}", EXIT_NOT_FOUND
    if isinstance(error, ConflictError):
        return f"conflict: {error}", EXIT_CONFLICT
    if isinstance(error, IntegrityError):
        return f"integrity error: {error} (is it the right master key?)", EXIT_INTEGRITY
    return str(error), EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    code: int
    try:
        _check_text(args)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except CliError as error:
        message, code = str(error), error.code
    except CredsignError as error:
        message, code = _error_message(error)
    except database_errors() as error:
        message, code = f"store error: {error}", EXIT_ERROR
    except KeyboardInterrupt:
        message, code = "interrupted", 130
    except BrokenPipeError:  # e.g. `credsign auth list crm | head -1`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    sys.stderr.write(f"{PROG}: {message}\n")
    return code
