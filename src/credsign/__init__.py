"""credsign: sign outgoing HTTP requests from stored credential records.

Records (``parse_record``) compile once into signers (``compile_signer``);
adapters apply them per request: ``httpx.Client(auth=HttpxAuth(record))`` or
``requests.Session().auth = RequestsAuth(record)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from credsign import log_redaction
from credsign.adapters.httpx import HttpxAuth
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
    "log_redaction",
    "parse_record",
]


def __getattr__(name: str) -> Any:
    # requests and cryptography are optional extras: import their parts only when asked for.
    if name == "RequestsAuth":
        from credsign.adapters.requests import RequestsAuth

        return RequestsAuth
    if name == "CredentialStore":
        from credsign.store import CredentialStore

        return CredentialStore
    raise AttributeError(f"module 'credsign' has no attribute {name!r}")
