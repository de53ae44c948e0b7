"""``requests.AuthBase`` adapter, with a response hook that guards every redirect hop."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

from credsign.adapters.policy import redirect_method, redirect_scope, sign_in_scope
from credsign.errors import CredsignError
from credsign.records import Record
from credsign.scope import Target, host_header
from credsign.signing import Clock, Signer, as_signer, utc_now
from credsign.signing.base import HASHES, HeaderSet

_CHUNK = 64 * 1024


def _split_query(url: str) -> tuple[str, str, str]:
    """``url`` as (before ``?``, query, ``#fragment`` or "")."""
    base, mark, rest = url.partition("?")
    if not mark:
        base, hash_mark, fragment = url.partition("#")
        return base, "", hash_mark + fragment
    query, hash_mark, fragment = rest.partition("#")
    return base, query, hash_mark + fragment


class UrlHead:
    """A request head over a URL string, a headers mapping and a body (requests' shapes)."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Any, body: Any) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def host(self) -> str:
        return self.headers.get("host") or host_header(self.target())

    def header_lines(self) -> list[tuple[str, str]]:
        return [(name.lower(), value) for name, value in self.headers.items()]

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


def body_digest(body: Any, algorithm: str) -> bytes:
    """Digest of a requests body as http.client will send it, without consuming it.

    Files are read in chunks and put back where they were; iterators cannot be
    read twice, so they are refused (sign them with ``payload: unsigned``).
    """
    digest = HASHES[algorithm]()
    if body is None:
        pass
    elif isinstance(body, bytes | bytearray | memoryview):
        digest.update(body)
    elif isinstance(body, str):
        digest.update(body.encode("iso-8859-1"))  # what http.client sends for str bodies
    elif hasattr(body, "read") and hasattr(body, "seek") and hasattr(body, "tell"):
        position = body.tell()
        for chunk in iter(lambda: body.read(_CHUNK), b""):
            digest.update(chunk.encode("iso-8859-1") if isinstance(chunk, str) else chunk)
        body.seek(position)
    else:
        raise CredsignError(
            "cannot hash a streaming (iterator) body without consuming it: "
            "sign it with payload 'unsigned', or pass bytes or a seekable file"
        )
    return digest.digest()


def _redirect_target(response: requests.Response) -> str:
    """The absolute URL requests will follow (see ``SessionRedirectMixin.resolve_redirects``)."""
    location = response.headers["location"].encode("latin1").decode("utf8")
    if location.startswith("//"):
        location = f"{urlsplit(response.url).scheme}:{location}"
    if not urlsplit(location).netloc:
        return urljoin(response.url, requote_uri(location))
    return requote_uri(location)


class _ResignedLocation(CaseInsensitiveDict[str]):
    """A 3xx's headers whose Location reads as the re-signed next-hop URL, briefly.

    requests reads Location once to act on the first response (follow it, or build
    ``Response.next``) and twice for each later hop (``Response.next``, then follow).
    After those reads, or once the next response arrives, Location reads as the
    server sent it, so nothing returned to the caller carries the re-signed URL.
    """

    def __init__(self, headers: CaseInsensitiveDict[str], resigned: str, reads: int) -> None:
        super().__init__(headers)
        self._resigned: str | None = resigned
        self._reads_left = reads

    def __getitem__(self, key: str) -> str:
        if self._resigned is not None and key.lower() == "location":
            resigned = self._resigned
            self._reads_left -= 1
            if not self._reads_left:
                self.restore()
            return resigned
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:  # Mapping's would read (and use up) the value
        return isinstance(key, str) and any(name.lower() == key.lower() for name in self)

    def restore(self) -> None:
        self._resigned = None


class RequestsAuth(requests.auth.AuthBase):
    """Authenticate requests (``requests.Session`` or ``requests.get(auth=...)``).

    Redirects stay safe with requests' default following: a response hook sees
    each 3xx before requests copies the request for the next hop, strips every
    credential from it, and signs it again only when the next hop is in scope.
    """

    def __init__(
        self, credentials: Record | Signer, *, clock: Clock | None = None, org: str | None = None
    ) -> None:
        self.signer = as_signer(credentials, org)
        self.clock = clock or utc_now

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        head = RequestsHead(request)
        sign_in_scope(self.signer, head, self.clock)
        request.register_hook("response", _RedirectGuard(self, request))  # type: ignore[no-untyped-call]
        return request


class _RedirectGuard:
    """Response hook: prepares the request requests will copy for the next hop."""

    __slots__ = ("auth", "first", "resigned")

    def __init__(self, auth: RequestsAuth, first: requests.PreparedRequest) -> None:
        self.auth = auth
        self.first = first  # the request auth signed; the chain's scope is its origin
        self.resigned: _ResignedLocation | None = None

    def __call__(self, response: requests.Response, **_: Any) -> requests.Response:
        if self.resigned is not None:
            self.resigned.restore()
            self.resigned = None
        if not response.is_redirect:
            return response
        signer = self.auth.signer
        head = RequestsHead(response.request)
        signer.strip(head)
        location = _redirect_target(response)
        method = redirect_method(head.method, response.status_code)
        body = head.body
        if response.status_code not in (307, 308):  # requests drops the body and its headers
            body = None
            for name in ("Content-Length", "Content-Type", "Transfer-Encoding"):
                head.headers.pop(name, None)
        hop = UrlHead(method, location, head.headers, body)
        scope = redirect_scope(signer, Target.from_url(self.first.url or ""))
        if scope.contains(hop.target()):
            signer.sign(hop, self.auth.clock)
        else:
            signer.strip(hop)
        if hop.url != location:
            reads = 1 if response.request is self.first else 2
            self.resigned = _ResignedLocation(response.headers, hop.url, reads)
            response.headers = self.resigned
        return response
