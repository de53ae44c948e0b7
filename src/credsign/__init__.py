"""credsign: sign outgoing HTTP requests from stored credential records.

Records (``parse_record``) compile once into signers (``compile_signer``);
adapters apply them per request: ``httpx.Client(auth=HttpxAuth(record))`` or
``requests.Session().auth = RequestsAuth(record)``. ``RequestsAuth`` and
``CredentialStore`` need the ``requests`` and ``store`` extras; without them, using
one raises an ImportError naming the extra (``pip install "credsign[store]"``).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING, Any

from credsign import log_redaction
from credsign.adapters.httpx import HttpxAuth
from credsign.debugging import explain
from credsign.errors import (
    ConflictError,
    CredsignError,
    IntegrityError,
    NotFoundError,
    RecordError,
    RedirectWarning,
    ScopeError,
    SignatureError,
    StoreError,
    StoreValidationError,
)
from credsign.records import (
    ApiKeyRecord,
    Aws4Record,
    BasicAuthRecord,
    BearerTokenRecord,
    HmacSha256Record,
    NoAuthRecord,
    Record,
    parse_record,
)
from credsign.signing import Signer, compile_signer

if TYPE_CHECKING:
    from credsign.adapters.requests import RequestsAuth
    from credsign.store import CredentialStore

try:
    __version__ = metadata.version("credsign")  # pyproject.toml's, the one place it is set
except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"

__all__ = [
    "ApiKeyRecord",
    "Aws4Record",
    "BasicAuthRecord",
    "BearerTokenRecord",
    "ConflictError",
    "CredentialStore",
    "CredsignError",
    "HmacSha256Record",
    "HttpxAuth",
    "IntegrityError",
    "NoAuthRecord",
    "NotFoundError",
    "Record",
    "RecordError",
    "RedirectWarning",
    "RequestsAuth",
    "ScopeError",
    "SignatureError",
    "Signer",
    "StoreError",
    "StoreValidationError",
    "compile_signer",
    "explain",
    "log_redaction",
    "parse_record",
]


def __getattr__(name: str) -> Any:
    # The 'requests' and 'store' extras: their parts are imported when asked for, and say
    # which extra to install if it is missing (credsign.extras).
    if name == "RequestsAuth":
        from credsign.adapters.requests import RequestsAuth

        return RequestsAuth
    if name == "CredentialStore":
        from credsign.store import CredentialStore

        return CredentialStore
    raise AttributeError(f"module 'credsign' has no attribute {name!r}")
