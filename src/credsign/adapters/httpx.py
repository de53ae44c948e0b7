"""``httpx.Auth`` adapter: one generator flow serving ``Client`` and ``AsyncClient``."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import NamedTuple
from weakref import finalize

import httpx

from credsign.adapters.httpx_fast import (
    FAST_HEADERS,
    has_query_mark,
    query_of,
    target_of,
    with_query,
)
from credsign.adapters.policy import (
    REDIRECT_WARNING,
    redirect_method,
    redirect_scope,
    refuse_carried_credentials,
    sign_in_scope,
)
from credsign.errors import RedirectWarning
from credsign.records import Record
from credsign.scope import Scope, Target, host_header
from credsign.signing import Clock, Signer, as_signer, utc_now
from credsign.signing.base import HASHES, HeaderSet


class HttpxHead:
    """An ``httpx.Request`` seen as a :class:`~credsign.signing.RequestHead`.

    Headers arrive pre-encoded and go straight into httpx's header list when
    the import-time probe (see ``httpx_fast``) allows; else via the public API.
    """

    __slots__ = ("request",)

    def __init__(self, request: httpx.Request) -> None:
        self.request = request

    @property
    def headers(self) -> httpx.Headers:
        return self.request.headers

    @property
    def method(self) -> str:
        return self.request.method

    def set_headers(self, header_set: HeaderSet) -> None:
        headers = self.request.headers
        if not FAST_HEADERS:
            for name, value in header_set.pairs:
                headers[name] = value
            return
        items = headers._list
        encoded = header_set.encoded
        if len(encoded) > 1:  # one rebuild beats a scan per header
            names = {entry[1] for entry in encoded}
            items[:] = [item for item in items if item[1] not in names]
            items.extend(encoded)
            return
        for entry in encoded:
            lower = entry[1]
            for index, item in enumerate(items):
                if item[1] == lower:
                    items[index] = entry
                    for later in range(len(items) - 1, index, -1):  # drop repeats of the name
                        if items[later][1] == lower:
                            del items[later]
                    break
            else:
                items.append(entry)

    def fill_headers(self, header_set: HeaderSet) -> None:
        headers = self.request.headers
        if not FAST_HEADERS:
            for name, value in header_set.pairs:
                if name not in headers:
                    headers[name] = value
            return
        items = headers._list
        present = {item[1] for item in items}
        items.extend(entry for entry in header_set.encoded if entry[1] not in present)

    def target(self) -> Target:
        return target_of(self.request.url)

    def host(self) -> str:
        return self.request.headers.get("host") or host_header(self.target())

    def header_lines(self) -> list[tuple[str, str]]:
        headers = self.request.headers
        if FAST_HEADERS:
            try:
                return [
                    (lower.decode("ascii"), value.decode("ascii"))
                    for _, lower, value in headers._list
                ]
            except UnicodeDecodeError:
                pass  # non-ASCII values: let httpx decode them as it sends them
        return headers.multi_items()

    def body_digest(self, algorithm: str) -> bytes:
        # The adapter read any streaming body first (requires_request_body).
        return HASHES[algorithm](self.request.content).digest()

    @property
    def query(self) -> str:
        return query_of(self.request.url)

    @property
    def has_query_mark(self) -> bool:
        return has_query_mark(self.request.url)

    def set_query(self, query: str) -> None:
        self.request.url = with_query(self.request.url, query)


class _Chain(NamedTuple):
    """What a redirect hop is judged by: its chain's scope, and what the previous hop carried."""

    scope: Scope
    previous_query: str  # the query of the hop the 3xx answered, as credsign signed it


class HttpxAuth(httpx.Auth):
    """Authenticate httpx requests from a credential record.

    ``follow_redirects=True`` makes this auth follow redirects hop by hop,
    applying credentials only to hops inside the record's scope (its baseUrl,
    else the first request's origin). Leave the client's own
    ``follow_redirects`` at False: httpx follows those out of any auth's sight.
    Without it, a 3xx's ``next_request`` sent through the client later is held
    to the same scope: signed inside it, sent with no credential outside it.
    """

    #: The record whose secret values no hop out of scope may carry; None when given a
    #: compiled signer (a class default for subclasses that skip ``__init__``).
    _record: Record | None = None

    def __init__(
        self,
        credentials: Record | Signer,
        *,
        clock: Clock | None = None,
        follow_redirects: bool = False,
        org: str | None = None,
    ) -> None:
        self.signer = as_signer(credentials, org)
        self.clock = clock or utc_now
        self.follow_redirects = follow_redirects
        self._record = None if isinstance(credentials, Signer) else credentials
        #: The ``next_request`` of every 3xx this auth saw without following it, by
        #: ``id()`` while it lives: sent by hand, it is a hop of its chain, not a fresh
        #: request. Not marked in ``request.extensions``: httpx passes that dict on,
        #: and callers may share one. A fresh request pays one dict lookup.
        self._hops: dict[int, _Chain] = {}
        self.requires_request_body = self.signer.requires_body

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        # httpx's default wraps auth_flow in a second generator; one is enough.
        if self.requires_request_body:
            request.read()
        return self.auth_flow(request)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signer = self.signer
        head = HttpxHead(request)
        hops = self._hops
        chain = hops.get(id(request)) if hops else None
        if chain is not None:  # a hop of a chain, sent by hand
            self._redirect_hop(head, chain.scope, chain.previous_query)
        elif signer.scope is None:
            signer.sign(head, self.clock)
        else:
            sign_in_scope(signer, head, self.clock)
        response = yield request
        if response.history:
            warnings.warn(REDIRECT_WARNING, RedirectWarning, stacklevel=2)
        if not response.has_redirect_location:
            return
        scope = redirect_scope(signer, head.target()) if chain is None else chain.scope
        if not self.follow_redirects:
            pending = response.next_request
            if pending is not None:
                if not scope.contains(HttpxHead(pending).target()):
                    signer.strip(HttpxHead(pending))
                hops[id(pending)] = _Chain(scope, head.query)
                finalize(pending, hops.pop, id(pending), None)  # before its id is reused
            return
        cookies = httpx.Cookies()
        while response.has_redirect_location:
            cookies.extract_cookies(response)
            previous_query = head.query
            request = _next_hop(request, response, cookies)
            if self.requires_request_body:  # the body is in memory now: hash it for this hop
                request.read()
            head = HttpxHead(request)
            self._redirect_hop(head, scope, previous_query)
            response = yield request

    def _redirect_hop(self, head: HttpxHead, scope: Scope, previous_query: str) -> None:
        """A redirect hop: signed again inside its chain's scope, else sent with no credential."""
        signer = self.signer
        signer.strip(head)
        if scope.contains(head.target()):
            signer.sign(head, self.clock)
        else:
            url = str(head.request.url)
            refuse_carried_credentials(signer, url, previous_query, self._record, scope)


def _next_hop(
    request: httpx.Request, response: httpx.Response, cookies: httpx.Cookies
) -> httpx.Request:
    """The request httpx itself would send next (see ``httpx.Client._build_redirect_request``)."""
    method = redirect_method(request.method, response.status_code)
    try:
        url = httpx.URL(response.headers["Location"])
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(f"Invalid URL in location header: {exc}.") from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)

    headers = httpx.Headers(request.headers)
    if (url.scheme, url.raw_host, url.port) != (
        request.url.scheme,
        request.url.raw_host,
        request.url.port,
    ):
        headers.pop("Authorization", None)
        headers.pop("Cookie", None)
        headers["Host"] = url.netloc.decode("ascii")
    stream = request.stream
    if method != request.method and method == "GET":
        headers.pop("Content-Length", None)
        headers.pop("Transfer-Encoding", None)
        stream = httpx.ByteStream(b"")
    hop = httpx.Request(method, url, headers=headers, stream=stream, extensions=request.extensions)
    if "Cookie" not in hop.headers:
        cookies.set_cookie_header(hop)
    return hop
