"""What both adapters decide alike: whether a hop is in scope, and how redirects change it."""

from __future__ import annotations

from credsign.errors import ScopeError
from credsign.scope import Scope, Target
from credsign.signing.base import Clock, RequestHead, Signer


def sign_in_scope(signer: Signer, head: RequestHead, clock: Clock) -> None:
    """Sign ``head``, or raise :class:`ScopeError` (sending nothing) if it leaves the scope."""
    scope = signer.scope
    if scope is not None:
        target = head.target()
        if not scope.contains(target):
            where = str(Scope.origin_of(target)) + target.path
            raise ScopeError(
                f"refusing to send {signer.auth_type} credentials to {where}: "
                f"outside their scope {scope} (nothing was sent)"
            )
    signer.sign(head, clock)


def redirect_scope(signer: Signer, first: Target) -> Scope:
    """The scope redirect hops are held to: the baseUrl's, else the first request's origin."""
    return signer.scope or Scope.origin_of(first)


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
