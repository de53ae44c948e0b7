"""Signers: one strategy per auth type, compiled once from a record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from credsign.errors import CredsignError
from credsign.log_redaction import register_query_names
from credsign.records import (
    ApiKeyRecord,
    Aws4Record,
    BasicAuthRecord,
    BearerTokenRecord,
    HmacSha256Record,
    NoAuthRecord,
    Record,
)
from credsign.signing.api_key import compile_api_key
from credsign.signing.base import Clock, RequestHead, Signer, utc_now
from credsign.signing.basic import compile_basic
from credsign.signing.bearer import compile_bearer
from credsign.signing.hmac_sha256 import HmacSigner
from credsign.signing.no_auth import compile_no_auth
from credsign.signing.sigv4 import Sigv4Signer

__all__ = [
    "Clock",
    "HmacSigner",
    "RequestHead",
    "Signer",
    "Sigv4Signer",
    "as_signer",
    "compile_signer",
    "utc_now",
]

_COMPILERS: dict[type[Any], Callable[[Any], Signer]] = {
    NoAuthRecord: compile_no_auth,
    BasicAuthRecord: compile_basic,
    BearerTokenRecord: compile_bearer,
    ApiKeyRecord: compile_api_key,
    Aws4Record: Sigv4Signer,
    HmacSha256Record: HmacSigner,
}


def compile_signer(record: Record, org: str | None = None) -> Signer:
    """Precompute everything ``record`` needs for signing; the result is reusable.

    ``org`` selects one of the record's per-organization credential sets.
    """
    compiler = _COMPILERS.get(type(record))
    if compiler is None:
        raise CredsignError(f"no signer for records of type {type(record).__name__}")
    signer = compiler(record.for_organization(org))
    register_query_names(signer.query_names)  # their values are then masked in client logs
    return signer


def as_signer(credentials: Record | Signer, org: str | None = None) -> Signer:
    """What adapters accept: a record (compiled here) or an already compiled signer."""
    if isinstance(credentials, Signer):
        if org is not None:
            raise CredsignError("org= selects credentials of a record, not of a compiled signer")
        register_query_names(credentials.query_names)  # a signer built without compile_signer
        return credentials
    return compile_signer(credentials, org)
