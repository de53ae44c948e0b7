"""Finding why a service answers ``SignatureDoesNotMatch``: ``explain()`` and the debug log.

The service rebuilds the canonical request (SigV4) or signature base (RFC 9421) from
the request it received and compares signatures; ``explain()`` returns the signer's
side for any ``httpx.Request`` or ``requests.PreparedRequest``, computed exactly as
signing computes it, without signing or changing the request. The ``credsign`` logger
at DEBUG logs the same, masked, for every request signed (``credsign.signing.sign_log``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TypeGuard, Union, overload

import httpx

from credsign.adapters.httpx import HttpxHead
from credsign.adapters.policy import check_scope
from credsign.errors import CredsignError
from credsign.records import Aws4Record, HmacSha256Record, Record
from credsign.signing import Clock, HmacSigner, Signer, Sigv4Signer, as_signer, utc_now
from credsign.signing.base import RequestHead
from credsign.signing.explanation import Rfc9421Explanation, Sigv4Explanation

if TYPE_CHECKING:
    import requests

__all__ = ["Explanation", "Rfc9421Explanation", "Sigv4Explanation", "explain", "explainable"]

Explanation = Union[Sigv4Explanation, Rfc9421Explanation]  # noqa: UP007 - a runtime alias
Request = Union[httpx.Request, "requests.PreparedRequest"]


@overload
def explain(
    credentials: Aws4Record | Sigv4Signer,
    request: Request,
    *,
    clock: Clock | None = None,
    org: str | None = None,
) -> Sigv4Explanation: ...


@overload
def explain(
    credentials: HmacSha256Record | HmacSigner,
    request: Request,
    *,
    clock: Clock | None = None,
    org: str | None = None,
) -> Rfc9421Explanation: ...


@overload
def explain(
    credentials: Record | Signer,
    request: Request,
    *,
    clock: Clock | None = None,
    org: str | None = None,
) -> Explanation: ...


def explain(
    credentials: Record | Signer,
    request: Request,
    *,
    clock: Clock | None = None,
    org: str | None = None,
) -> Explanation:
    """What signing ``request`` with ``credentials`` covers, without signing or changing it.

    ``credentials`` and ``org`` are what ``HttpxAuth`` takes: an ``AWS4`` or
    ``HMAC_SHA256`` record, or a compiled signer. ``clock`` gives the signing time
    (default: now); return the failed request's instant (its ``X-Amz-Date``) to
    reproduce its signature. An unread httpx body is read first, as ``HttpxAuth``
    does. Raises :class:`ScopeError` outside the record's ``baseUrl`` (nothing would be
    signed), :class:`CredsignError` for the other auth types (they sign nothing) and
    ``TypeError`` for other request objects.
    """
    signer = as_signer(credentials, org)
    if not explainable(signer):
        raise CredsignError(
            f"explain() shows AWS4 (SigV4) and HMAC_SHA256 (RFC 9421) signatures; "
            f"{signer.auth_type} signs nothing (its headers are fixed: see credsign sign)"
        )
    head = _head(request, read_body=signer.requires_body)
    check_scope(signer, head)
    return signer.explain(head, clock or utc_now)


def explainable(signer: Signer) -> TypeGuard[Sigv4Signer | HmacSigner]:
    """Whether ``signer`` computes a signature over the request (SigV4, RFC 9421)."""
    return isinstance(signer, Sigv4Signer | HmacSigner)


def _head(request: Request, *, read_body: bool) -> RequestHead:
    """``request`` as the adapters show it to signers (requests is imported only if in use)."""
    if isinstance(request, httpx.Request):
        if read_body:
            _read(request)
        return HttpxHead(request)
    client = sys.modules.get("requests")  # a PreparedRequest means requests is imported
    if client is not None and isinstance(request, client.PreparedRequest):
        from credsign.adapters.requests import RequestsHead

        return RequestsHead(request)
    raise TypeError(
        "explain() takes an httpx.Request or a requests.PreparedRequest, "
        f"not {type(request).__name__}"
    )


def _read(request: httpx.Request) -> None:
    """Load a streaming body, which httpx then keeps and sends (what ``HttpxAuth`` does)."""
    try:
        request.content  # noqa: B018 - raises RequestNotRead for an unread stream
    except httpx.RequestNotRead:
        if not isinstance(request.stream, httpx.SyncByteStream):
            raise CredsignError(
                "the request body is an async stream: await request.aread() before explain()"
            ) from None
        request.read()
