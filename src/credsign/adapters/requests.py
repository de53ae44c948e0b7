"""``requests.AuthBase`` adapter, with a response hook that guards every redirect hop."""

from __future__ import annotations

import sys
from types import CodeType
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlparse, urlsplit

from credsign.extras import require

if TYPE_CHECKING:
    import requests
else:  # the 'requests' extra: importing this module is the point of use
    requests = require("requests", "requests", "RequestsAuth")

from requests.sessions import SessionRedirectMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

from credsign.adapters.policy import (
    redirect_method,
    redirect_scope,
    refuse_carried_credentials,
    sign_in_scope,
)
from credsign.adapters.requests_body import body_digest
from credsign.records import Record
from credsign.scope import Target, host_header
from credsign.signing import Clock, Signer, as_signer, utc_now
from credsign.signing.base import HeaderSet


def _split_query(url: str) -> tuple[str, str, str]:
    """``url`` as (before ``?``, query, ``#fragment`` or "")."""
    base, mark, rest = url.partition("?")
    if not mark:
        base, hash_mark, fragment = url.partition("#")
        return base, "", hash_mark + fragment
    query, hash_mark, fragment = rest.partition("#")
    return base, query, hash_mark + fragment


def wire_text(value: str | bytes) -> str:
    """A header value as text: requests allows bytes, which http.client sends unchanged.

    http.client encodes text values as Latin-1, so bytes read as Latin-1 are the text
    that puts the same bytes on the wire.
    """
    return value.decode("latin-1") if isinstance(value, bytes) else value


class UrlHead:
    """A request head over a URL string, a headers mapping and a body (requests' shapes)."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Any, body: Any) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def host(self) -> str:
        host = self.headers.get("host")
        return wire_text(host) if host else host_header(self.target())

    def header_lines(self) -> list[tuple[str, str]]:
        return [(name.lower(), wire_text(value)) for name, value in self.headers.items()]

    def body_digest(self, algorithm: str) -> bytes:
        return body_digest(self.body, algorithm)

    def set_headers(self, header_set: HeaderSet) -> None:
        headers = self.headers
        for name, value in header_set.pairs:
            headers[name] = value

    def fill_headers(self, header_set: HeaderSet) -> None:
        headers = self.headers
        for name, value in header_set.pairs:
            if name not in headers:
                headers[name] = value

    def target(self) -> Target:
        return Target.from_url(self.url)

    @property
    def query(self) -> str:
        return _split_query(self.url)[1]

    @property
    def has_query_mark(self) -> bool:
        """requests sends ``path_url``, which drops the ``?`` of an empty query."""
        return bool(self.query)

    def set_query(self, query: str) -> None:
        base, _, fragment = _split_query(self.url)
        self.url = f"{base}?{query}{fragment}" if query else base + fragment


class RequestsHead(UrlHead):
    """A ``requests.PreparedRequest`` seen as a :class:`~credsign.signing.RequestHead`."""

    __slots__ = ("request",)

    def __init__(self, request: requests.PreparedRequest) -> None:
        super().__init__(request.method or "GET", request.url or "", request.headers, request.body)
        self.request = request

    def set_query(self, query: str) -> None:
        super().set_query(query)
        self.request.url = self.url


def _redirect_target(response: requests.Response) -> str:
    """The absolute URL requests will follow (see ``SessionRedirectMixin.resolve_redirects``)."""
    location = response.headers["location"].encode("latin1").decode("utf8")
    if location.startswith("//"):
        location = f"{urlsplit(response.url).scheme}:{location}"
    parsed = urlparse(location)  # drops tabs and newlines, as requests' own parse does
    if not parsed.netloc:
        return urljoin(response.url, requote_uri(parsed.geturl()))
    return requote_uri(parsed.geturl())


def _code_of(name: str) -> CodeType | None:
    """The code of requests' redirect step ``name``; None if requests no longer has it."""
    return getattr(getattr(SessionRedirectMixin, name, None), "__code__", None)


# The two steps of requests' redirect following that credsign answers differently from
# everyone else. If a requests release renames them, nothing matches: hops then go
# without the re-signed query or Authorization (never with credentials out of scope).
_GET_REDIRECT_TARGET = _code_of("get_redirect_target")
_REBUILD_AUTH = _code_of("rebuild_auth")


class _ResignedLocation(CaseInsensitiveDict[str]):
    """A 3xx's headers whose Location reads as the re-signed next-hop URL to requests alone.

    requests builds the next hop from Location (``get_redirect_target``), so a signer
    that puts credentials in the query can only reach that hop through it. Every other
    reader, the caller included, reads the Location the server sent.
    """

    def __init__(self, headers: CaseInsensitiveDict[str], resigned: str) -> None:
        super().__init__(headers)
        self._resigned = resigned

    def __getitem__(self, key: str) -> str:
        if key.lower() == "location" and sys._getframe(1).f_code is _GET_REDIRECT_TARGET:
            return self._resigned
        return super().__getitem__(key)


class _SignedHopHeaders(CaseInsensitiveDict[str]):
    """Headers credsign signed for an in-scope next hop: ``rebuild_auth`` keeps Authorization.

    requests drops Authorization whenever the host changes (``rebuild_auth``), so on
    A -> B -> A the hop back to A would go unauthenticated. The hook already judged
    that hop in scope and signed it for its URL; only that one deletion is ignored.
    """

    def copy(self) -> _SignedHopHeaders:  # requests copies the headers for the next hop
        return _SignedHopHeaders(self)

    def __delitem__(self, key: str) -> None:
        if key.lower() == "authorization" and sys._getframe(1).f_code is _REBUILD_AUTH:
            return
        super().__delitem__(key)


class RequestsAuth(requests.auth.AuthBase):
    """Authenticate requests (``requests.Session`` or ``requests.get(auth=...)``).

    Redirects stay safe with requests' default following: a response hook sees
    each 3xx before requests copies the request for the next hop, strips every
    credential from it, and signs it again only when the next hop is in scope.
    """

    #: The record whose secret values no hop out of scope may carry; None when given a
    #: compiled signer (a class default for subclasses that skip ``__init__``).
    _record: Record | None = None

    def __init__(
        self, credentials: Record | Signer, *, clock: Clock | None = None, org: str | None = None
    ) -> None:
        self.signer = as_signer(credentials, org)
        self.clock = clock or utc_now
        self._record = None if isinstance(credentials, Signer) else credentials

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        head = RequestsHead(request)
        sign_in_scope(self.signer, head, self.clock)
        request.register_hook("response", _RedirectGuard(self, request))  # type: ignore[no-untyped-call]
        return request


class _RedirectGuard:
    """Response hook: prepares the request requests will copy for the next hop."""

    __slots__ = ("auth", "first")

    def __init__(self, auth: RequestsAuth, first: requests.PreparedRequest) -> None:
        self.auth = auth
        self.first = first  # the request auth signed; the chain's scope is its origin

    def __call__(self, response: requests.Response, **_: Any) -> requests.Response:
        if not response.is_redirect:
            return response
        signer = self.auth.signer
        head = RequestsHead(response.request)
        previous_query = head.query
        signer.strip(head)
        try:
            location = _redirect_target(response)
            target = Target.from_url(location)
        except ValueError:  # a Location requests refuses (InvalidURL...): it goes stripped
            response.request.headers = CaseInsensitiveDict(head.headers)
            return response
        method = redirect_method(head.method, response.status_code)
        body = head.body
        if response.status_code not in (307, 308):  # requests drops the body and its headers
            body = None
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                head.headers.pop(name, None)
        hop = UrlHead(method, location, head.headers, body)
        scope = redirect_scope(signer, Target.from_url(self.first.url or ""))
        inside = scope.contains(target)
        if inside:
            signer.sign(hop, self.auth.clock)
        else:
            signer.strip(hop)
            record = self.auth._record
            refuse_carried_credentials(signer, hop.url, previous_query, record, scope)
        response.request.headers = (_SignedHopHeaders if inside else CaseInsensitiveDict)(
            hop.headers
        )
        if hop.url != location:
            response.headers = _ResignedLocation(response.headers, hop.url)
        return response
