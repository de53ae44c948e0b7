"""What both adapters decide alike: whether a hop is in scope, and how redirects change it."""

from __future__ import annotations

from urllib.parse import unquote

from credsign.errors import ScopeError
from credsign.record_fields import secret_values
from credsign.records import Record
from credsign.scope import Scope, Target
from credsign.signing.base import Clock, RequestHead, Signer
from credsign.signing.query import decode_component

#: Presigned-URL parameters that describe a signature rather than carry a credential.
_DESCRIPTIVE_PARAMS = frozenset(
    {"X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"}
)
#: How many layers of percent-encoding a redirect target is searched through.
_DECODING_LEVELS = 4


def sign_in_scope(signer: Signer, head: RequestHead, clock: Clock) -> None:
    """Sign ``head``, or raise :class:`ScopeError` (sending nothing) if it leaves the scope."""
    if signer.scope is not None:
        check_scope(signer, head)
    signer.sign(head, clock)


def check_scope(signer: Signer, head: RequestHead) -> None:
    """Raise :class:`ScopeError` if ``head`` goes outside the scope of ``signer``'s record."""
    scope = signer.scope
    if scope is not None:
        target = head.target()
        if not scope.contains(target):
            where = str(Scope.origin_of(target)) + target.path
            raise ScopeError(
                f"refusing to send {signer.auth_type} credentials to {where}: "
                f"outside their scope {scope} (nothing was sent)"
            )


def redirect_scope(signer: Signer, first: Target) -> Scope:
    """The scope redirect hops are held to: the baseUrl's, else the first request's origin."""
    return signer.scope or Scope.origin_of(first)


def _url_credentials(signer: Signer, query: str) -> list[str]:
    """The credential values ``signer`` put in a hop's raw ``query`` (API keys, signatures)."""
    names = {name.encode() for name in signer.query_names - _DESCRIPTIVE_PARAMS}
    if not names:
        return []
    values = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        if decode_component(name) in names:
            values.append(decode_component(value).decode("utf-8", "replace"))
    return values


def refuse_carried_credentials(
    signer: Signer, url: str, previous_query: str, record: Record | None, scope: Scope
) -> None:
    """Raise :class:`ScopeError` if a stripped hop out of ``scope`` still holds a credential.

    A server may echo the URL it was sent inside another parameter of the Location
    (``/login?return_to=...``): stripping credsign's own parameters leaves that copy
    in ``url``, in whatever encoding. Searched for: the credential values credsign
    put in the previous hop's query (``previous_query``: API keys, presigned
    signatures, session tokens from a credential source) and ``record``'s secret
    values. Off the hot path: only hops leaving the scope pay.
    """
    carried = _url_credentials(signer, previous_query)
    every = [*carried, *(secret_values(record) if record is not None else ())]
    secrets = [secret for secret in every if secret]
    if not secrets:
        return
    forms = {url}
    for _ in range(_DECODING_LEVELS):
        forms |= {unquote(form) for form in forms} | {unquote(f.replace("+", " ")) for f in forms}
    if any(secret in form for secret in secrets for form in forms):
        raise ScopeError(
            f"refusing to follow a redirect out of the scope {scope}: its target URL "
            f"carries a credential of this {signer.auth_type} record (nothing was sent)"
        )


def redirect_method(method: str, status_code: int) -> str:
    """The method of the next hop, as browsers, httpx and requests all choose it."""
    if status_code in (302, 303) and method != "HEAD":
        return "GET"
    if status_code == 301 and method == "POST":
        return "GET"
    return method


REDIRECT_WARNING = (
    "the HTTP client followed redirects itself, where credsign cannot see them: "
    "the record's headers and query parameters may have gone to another origin "
    "(httpx strips only Authorization). Use HttpxAuth(record, follow_redirects=True) "
    "on a client with follow_redirects=False (httpx's default)."
)
