"""The ``credsign`` logger: silent by default, at DEBUG one record per signature.

``logging.getLogger("credsign").setLevel(logging.DEBUG)`` (and a handler) makes every
SigV4 and RFC 9421 signature log what it covered, masked (see ``explanation``). Nothing
is logged per request at INFO or above. With DEBUG off a signer pays one
``isEnabledFor`` call: the explanation is built only past it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from credsign.records import Record

logging.getLogger("credsign").addHandler(logging.NullHandler())  # a library stays silent

LOGGER = logging.getLogger("credsign.signing")
DEBUG = logging.DEBUG
#: The hot path's one check, bound once (``debug_enabled(DEBUG)``).
debug_enabled = LOGGER.isEnabledFor


class _Explanation(Protocol):
    def describe(self, *, reveal: bool = False) -> str: ...


def title(record: Record) -> str:
    """Which signature this is: ``AWS4 signature, record 'Billing' (auth_...)``."""
    label = repr(record.label) if record.label is not None else "(no label)"
    auth_id = f" ({record.auth_id})" if record.auth_id is not None else ""
    return f"{record.auth_type} signature, record {label}{auth_id}"


def log_signature(record: Record, explanation: _Explanation) -> None:
    """Log ``explanation`` (masked) of a signature made with ``record``, at DEBUG."""
    LOGGER.debug("%s:\n%s", title(record), explanation.describe())
