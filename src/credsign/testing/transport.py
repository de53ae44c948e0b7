"""Fake servers for tests: transports that check each request against its credential record.

:class:`VerifyingTransport` plugs into ``httpx.Client``/``httpx.AsyncClient``
(``transport=``); :class:`VerifyingAdapter` mounts on a ``requests.Session``.
Both hand every request to one :class:`RequestChecker` and answer like a
server that knows the record: ``401`` with ``{"reason", "detail"}`` when the
request is wrong, else the ``app_handler``'s response (default: ``200``
``{"ok": true}``). Neither sends anything over the network.

Rejection reasons (stable codes): ``out_of_scope``, ``missing_credentials``,
``wrong_credentials``, ``missing_static_header``, and for AWS4 and
HMAC_SHA256 records the verifiers' own :class:`~credsign.errors.SignatureError`
reasons (``missing``, ``mismatch``, ``skew``, ``body_hash``, ``too_old``,
``content_digest``, ...). Details never contain a secret.
"""

from __future__ import annotations

import hmac
import inspect
import json
import threading
from base64 import b64encode
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urlsplit

import httpx

from credsign.adapters.requests_body import body_bytes
from credsign.errors import CredsignError, SignatureError
from credsign.extras import require
from credsign.records import (
    ApiKeyRecord,
    Aws4Record,
    BasicAuthRecord,
    BearerTokenRecord,
    HmacSha256Record,
    NoAuthRecord,
    Record,
)
from credsign.scope import Scope, Target
from credsign.signing.base import Clock, utc_now
from credsign.signing.rfc9421_rules import Component
from credsign.verify.rfc9421 import InMemoryNonceStore, Rfc9421Verifier
from credsign.verify.sigv4 import verify_sigv4

if TYPE_CHECKING:
    import requests
    from requests.adapters import BaseAdapter
else:  # requests is an optional extra: VerifyingTransport works without it
    try:
        import requests
        from requests.adapters import BaseAdapter
    except ImportError:  # pragma: no cover - exercised only without requests
        requests = None
        BaseAdapter = object

__all__ = [
    "DEFAULT_MAX_SKEW",
    "RequestChecker",
    "Seen",
    "Verdict",
    "VerifyingAdapter",
    "VerifyingTransport",
]

DEFAULT_MAX_SKEW = timedelta(minutes=5)
_DEFAULT_COMPONENTS = ("@method", "@authority", "@path")

HttpxHandler = Callable[[httpx.Request], "httpx.Response | Awaitable[httpx.Response]"]
RequestsHandler = Callable[["requests.PreparedRequest"], "requests.Response"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one request: accepted, or why not."""

    ok: bool
    reason: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the verifying transport received it, and its verdict.

    ``headers`` and ``body`` hold the credentials as sent: they are left out of the repr.
    """

    method: str
    url: str
    headers: list[tuple[str, str]] = field(repr=False)
    body: bytes = field(repr=False)
    ok: bool
    reason: str | None
    detail: str | None = None

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (any case), in order."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _query_values(url: str) -> dict[str, list[str]]:
    """The decoded query parameters of ``url``, as servers read them (``+`` is a space)."""
    found: dict[str, list[str]] = {}
    for part in urlsplit(url).query.split("&"):
        if part:
            name, _, value = part.partition("=")
            found.setdefault(unquote_plus(name), []).append(unquote_plus(value))
    return found


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


class RequestChecker:
    """Checks requests against one record: the code both verifying transports share.

    ``org`` selects an organization's credentials (``record.for_organization``);
    ``clock`` is the server's clock (default: the system's), and ``max_skew``
    how far a SigV4 signature time (or an RFC 9421 ``created``) may be from it.
    Only AWS4 records with their own ``accessKey``/``secretKey`` can be checked:
    the secret must be known here.
    """

    def __init__(
        self,
        record: Record,
        *,
        org: str | None = None,
        clock: Clock | None = None,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
    ) -> None:
        self.record: Record = record.for_organization(org)
        self.clock: Clock = clock or utc_now
        self.max_skew = max_skew
        self.scope = None if record.base_url is None else Scope.from_base_url(record.base_url)
        self._nonces = InMemoryNonceStore()
        if isinstance(self.record, Aws4Record) and self.record.access_key is None:
            raise CredsignError(
                "VerifyingTransport checks AWS4 records with their own accessKey/secretKey "
                "only (a credential source's keys are unknown to it)"
            )

    def check(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Verdict:
        """Check one received request: ``url`` as sent, the header lines, the exact body."""
        lines = [(name.lower(), value) for name, value in headers]
        try:
            self._check_scope(url)
            self._check_credentials(method, url, headers, lines, body)
            self._check_static_headers(lines)
        except _Reject as rejection:
            return Verdict(False, rejection.reason, rejection.detail)
        return Verdict(True)

    def _check_scope(self, url: str) -> None:
        if self.scope is None:
            return
        target = Target.from_url(url)
        if not self.scope.contains(target):
            where = str(Scope.origin_of(target)) + target.path
            raise _Reject("out_of_scope", f"{where} is outside the record's scope {self.scope}")

    def _check_credentials(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        lines: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        record = self.record
        if isinstance(record, NoAuthRecord):
            return
        if isinstance(record, BasicAuthRecord):
            password = record.credential("password").get_secret_value()
            pair = f"{record.credential('username')}:{password}".encode()
            _expect_header(lines, "Authorization", "Basic " + b64encode(pair).decode("ascii"))
        elif isinstance(record, BearerTokenRecord):
            token = record.credential("token").get_secret_value()
            _expect_header(lines, "Authorization", "Bearer " + token)
        elif isinstance(record, ApiKeyRecord):
            query = _query_values(url)
            for placement in record.placements():
                secret = placement.value.get_secret_value()
                if placement.position == "header":
                    _expect_header(lines, placement.key, secret)
                else:
                    _expect_param(query, placement.key, secret)
        elif isinstance(record, Aws4Record):
            self._check_sigv4(record, method, url, headers, lines, body)
        elif isinstance(record, HmacSha256Record):
            self._check_rfc9421(record, method, url, headers, body)

    def _check_sigv4(
        self,
        record: Aws4Record,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        lines: list[tuple[str, str]],
        body: bytes,
    ) -> None:
        keys = {record.credential("access_key"): record.credential("secret_key").get_secret_value()}
        try:
            verify_sigv4(
                method,
                url,
                headers,
                body,
                secret_for=keys.get,
                region=record.region,
                service=record.service,
                now=self.clock(),
                max_skew=self.max_skew,
            )
        except SignatureError as error:
            raise _Reject(error.reason, str(error)) from None
        if record.session_token is not None:
            token = record.session_token.get_secret_value()
            if record.signature_location == "query":
                _expect_param(_query_values(url), "X-Amz-Security-Token", token)
            else:
                _expect_header(lines, "X-Amz-Security-Token", token)

    def _check_rfc9421(
        self,
        record: HmacSha256Record,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        if record.components is None:
            required = _DEFAULT_COMPONENTS + (("@query",) if urlsplit(url).query else ())
            require_digest = True
        else:
            required = record.components
            digest = Component.parse("content-digest")
            require_digest = any(Component.parse(c) == digest for c in record.components)
        verifier = Rfc9421Verifier(
            key_for={record.credential("client_id"): record.secret_bytes()}.get,
            required=required,
            max_age=self.max_skew,
            require_digest=require_digest,
            nonce_store=self._nonces,
        )
        try:
            verifier.verify(
                method, url, headers, body, label=record.signature_label, now=self.clock()
            )
        except SignatureError as error:
            raise _Reject(error.reason, str(error)) from None

    def _check_static_headers(self, lines: list[tuple[str, str]]) -> None:
        # A request may set its own value for a static header: only presence is checked.
        names = {name for name, _ in lines}
        missing = [h.key for h in self.record.headers if h.key.lower() not in names]
        if missing:
            raise _Reject("missing_static_header", f"the record's headers {missing} are missing")


def _expect_header(lines: list[tuple[str, str]], name: str, expected: str) -> None:
    values = [value for key, value in lines if key == name.lower()]
    if not values:
        raise _Reject("missing_credentials", f"no {name} header")
    if len(values) > 1:
        raise _Reject("wrong_credentials", f"{name} is sent {len(values)} times, not once")
    if not _same(values[0].strip(" \t"), expected):
        raise _Reject("wrong_credentials", f"{name} is not the record's credential")


def _expect_param(query: dict[str, list[str]], name: str, expected: str) -> None:
    values = query.get(name, [])
    if not values:
        raise _Reject("missing_credentials", f"no query parameter {name!r}")
    if len(values) > 1:
        raise _Reject("wrong_credentials", f"query parameter {name!r} is sent {len(values)} times")
    if not _same(values[0], expected):
        raise _Reject("wrong_credentials", f"query parameter {name!r} is not the record's key")


def _reply(seen: Seen) -> tuple[int, bytes]:
    """The default answer: 200 ``{"ok": true}``, or 401 with the reason and detail."""
    if seen.ok:
        return 200, b'{"ok":true}'
    return 401, json.dumps({"reason": seen.reason, "detail": seen.detail}).encode()


class _Verifying:
    """What both transports share: the checker and the log of what was seen."""

    def __init__(
        self,
        record: Record,
        *,
        org: str | None,
        clock: Clock | None,
        max_skew: timedelta,
    ) -> None:
        self.checker = RequestChecker(record, org=org, clock=clock, max_skew=max_skew)
        self.record = self.checker.record
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    def inspect(
        self, method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Seen:
        """Check a request, log it in :attr:`seen`, and return the entry."""
        lines = list(headers)
        verdict = self.checker.check(method, url, lines, body)
        seen = Seen(method, url, lines, body, verdict.ok, verdict.reason, verdict.detail)
        with self._lock:
            self.seen.append(seen)
        return seen

    @property
    def accepted(self) -> list[Seen]:
        """The requests that passed every check, in order."""
        return [seen for seen in self.seen if seen.ok]

    @property
    def rejected(self) -> list[Seen]:
        """The requests answered with 401, in order."""
        return [seen for seen in self.seen if not seen.ok]

    def clear(self) -> None:
        """Forget what was seen."""
        with self._lock:
            self.seen.clear()


class VerifyingTransport(_Verifying, httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that checks every request against ``record``.

    Accepted requests go to ``app_handler(request)`` (which may return an
    awaitable under ``AsyncClient``), or get ``200 {"ok": true}``; rejected ones
    get ``401 {"reason": ..., "detail": ...}``. See :class:`RequestChecker`.
    """

    def __init__(
        self,
        record: Record,
        app_handler: HttpxHandler | None = None,
        *,
        org: str | None = None,
        clock: Clock | None = None,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
    ) -> None:
        super().__init__(record, org=org, clock=clock, max_skew=max_skew)
        self.app_handler = app_handler

    def _inspect(self, request: httpx.Request) -> Seen:
        return self.inspect(
            request.method, str(request.url), request.headers.multi_items(), request.content
        )

    def _default(self, request: httpx.Request, seen: Seen) -> httpx.Response:
        status, content = _reply(seen)
        return httpx.Response(
            status, headers={"Content-Type": "application/json"}, content=content, request=request
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        seen = self._inspect(request)
        if not seen.ok or self.app_handler is None:
            return self._default(request, seen)
        response = self.app_handler(request)
        if inspect.isawaitable(response):
            close = getattr(response, "close", None)
            if callable(close):
                close()
            raise TypeError("app_handler returned an awaitable: use it with httpx.AsyncClient")
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        seen = self._inspect(request)
        if not seen.ok or self.app_handler is None:
            return self._default(request, seen)
        response = self.app_handler(request)
        if inspect.isawaitable(response):
            return await response
        return response


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


class VerifyingAdapter(_Verifying, BaseAdapter):
    """A requests transport adapter checking every request against ``record``.

    Mount it: ``session.mount("https://", VerifyingAdapter(record))``. It shares
    :class:`RequestChecker` with :class:`VerifyingTransport` and answers alike;
    ``app_handler(prepared_request)`` returns a ``requests.Response`` for accepted
    requests (its ``request``, ``url`` and ``connection`` are filled in if unset).
    """

    def __init__(
        self,
        record: Record,
        app_handler: RequestsHandler | None = None,
        *,
        org: str | None = None,
        clock: Clock | None = None,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
    ) -> None:
        if requests is None:  # pragma: no cover - only without the requests extra
            require("requests", "requests", "VerifyingAdapter")  # raises, naming the extra
        _Verifying.__init__(self, record, org=org, clock=clock, max_skew=max_skew)
        BaseAdapter.__init__(self)
        self.app_handler = app_handler

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = body_bytes(request.body)  # the bytes the signer hashed: one definition
        headers = [(_text(name), _text(value)) for name, value in request.headers.items()]
        seen = self.inspect(str(request.method), str(request.url), headers, body)
        if seen.ok and self.app_handler is not None:
            response = self.app_handler(request)
        else:
            status, content = _reply(seen)
            response = requests.Response()
            response.status_code = status
            response.reason = "OK" if status == 200 else "Unauthorized"
            response._content = content
            response.headers["Content-Type"] = "application/json"
            response.headers["Content-Length"] = str(len(content))
            response.encoding = "utf-8"
        if response.request is None:
            response.request = request
        if not response.url:
            response.url = str(request.url)
        response.connection = self  # type: ignore[assignment]  # stubs: HTTPAdapter only
        return response

    def close(self) -> None:
        pass
