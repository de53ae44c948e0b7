"""End to end: HMAC_SHA256 (RFC 9421) signatures checked by a real verifying server.

The server (``examples/verifying_server.py`` under gunicorn, fixture ``hmac_server``)
rebuilds each request from what arrived on the wire (raw request target, Host, every
header line, the whole body) and checks it with credsign's ``Rfc9421Verifier``: 200 with
``{"verified": true, "keyid", "components", "body_len"}``, else 401 with ``{"reason"}``.
Every case runs through ``httpx.Client``, ``httpx.AsyncClient`` and ``requests.Session``.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests

from credsign import HttpxAuth, RequestsAuth, parse_record
from tests.conftest import VerifyingServer

CLIENTS = ("httpx", "httpx-async", "requests")
# Only plain http is used; one shared context spares each httpx client ~20 ms of loading CAs.
TLS = ssl.create_default_context()

BASE = {"authType": "HMAC_SHA256", "clientId": "e2e-client", "clientSecret": "e2e-secret"}
EXPLICIT = (
    "@method",
    "@authority",
    "@path",
    "@query",
    '@query-param;name="q"',
    "accept",
    "content-digest",
)


def variants(server: VerifyingServer) -> dict[str, dict[str, Any]]:
    binary = base64.b64encode(server.keys["e2e-binary"]).decode()
    return {
        "default": BASE,
        "nonce": {**BASE, "nonce": True},
        "sha-512": {**BASE, "digest": "sha-512"},
        "explicit-components": {**BASE, "components": list(EXPLICIT)},
        "base64-secret": {
            **BASE,
            "clientId": "e2e-binary",
            "clientSecret": binary,
            "secretEncoding": "base64",
        },
    }


VARIANTS = ("default", "nonce", "sha-512", "explicit-components", "base64-secret")


@dataclass(frozen=True)
class Call:
    """One request: method, path and query on the server, optional body and headers."""

    method: str
    target: str  # path and query, raw
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


PAYLOAD = {"name": "widget", "tags": ["a", "b"], "note": "héllo"}
CALLS = {
    # %2F and %20 stay encoded on the wire: the server must verify the raw target.
    "get-query": Call("GET", "/e2e/a%2Fb/items?q=hello%20world&page=2&empty="),
    "post-json": Call(
        "POST",
        "/e2e/items?q=new",
        json.dumps(PAYLOAD).encode(),
        {"Content-Type": "application/json"},
    ),
    "put-bytes": Call(
        "PUT",
        "/e2e/blobs/1?q=blob",
        bytes(range(256)) * 8,
        {"Content-Type": "application/octet-stream"},
    ),
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _answer(status: int, content: bytes) -> Answer:
    return Answer(status, json.loads(content))


def _httpx_options(auth: httpx.Auth | None = None) -> dict[str, Any]:
    return {"auth": auth, "trust_env": False, "verify": TLS, "timeout": 10}


async def send(client: str, record: Mapping[str, Any], url: str, call: Call) -> Answer:
    """``call`` signed from ``record`` by ``client``'s credsign adapter."""
    parsed = parse_record(record)
    if client == "requests":
        with requests.Session() as session:
            session.trust_env = False
            session.auth = RequestsAuth(parsed)
            response = session.request(
                call.method, url + call.target, data=call.content, headers=call.headers, timeout=10
            )
        return _answer(response.status_code, response.content)
    options = _httpx_options(HttpxAuth(parsed))
    if client == "httpx":
        with httpx.Client(**options) as sync_client:
            reply = sync_client.request(
                call.method, url + call.target, content=call.content, headers=call.headers
            )
    else:
        async with httpx.AsyncClient(**options) as async_client:
            reply = await async_client.request(
                call.method, url + call.target, content=call.content, headers=call.headers
            )
    return _answer(reply.status_code, reply.content)


def expected_components(variant: str, call: Call) -> list[str]:
    """The identifiers the signature covers, as the verifier reports them."""
    if variant == "explicit-components":
        names = list(EXPLICIT)
    else:
        names = ["@method", "@authority", "@path", "@query"]
        if call.content:
            names += ["content-type", "content-digest"]
    return [
        '"@query-param";name="q"' if name.startswith("@query-param") else f'"{name}"'
        for name in names
    ]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
async def test_signed_requests_verify(
    hmac_server: VerifyingServer, client: str, variant: str, call: Call
) -> None:
    record = variants(hmac_server)[variant]
    answer = await send(client, record, hmac_server.url, call)
    assert answer.status == 200, answer.body
    assert answer.body == {
        "verified": True,
        "keyid": record["clientId"],
        "label": "sig1",
        "components": expected_components(variant, call),
        "body_len": len(call.content or b""),
    }


def _chunks() -> Iterator[bytes]:
    yield b'{"part": 1, '
    yield b'"data": "' + b"x" * 5000 + b'", '
    yield b'"part2": true}'


async def _async_chunks() -> AsyncIterator[bytes]:
    for chunk in _chunks():
        yield chunk


@pytest.mark.parametrize("client", ["httpx", "httpx-async"])
@pytest.mark.parametrize("variant", ["default", "sha-512"])
async def test_streaming_httpx_body_verifies(
    hmac_server: VerifyingServer, client: str, variant: str
) -> None:
    """A generator body: the adapter reads it to digest it; httpx still sends it chunked."""
    record = variants(hmac_server)[variant]
    options = _httpx_options(HttpxAuth(parse_record(record)))
    url = f"{hmac_server.url}/e2e/stream?q=chunked"
    headers = {"Content-Type": "application/json"}
    if client == "httpx":
        with httpx.Client(**options) as sync_client:
            reply = sync_client.post(url, content=_chunks(), headers=headers)
    else:
        async with httpx.AsyncClient(**options) as async_client:
            reply = await async_client.post(url, content=_async_chunks(), headers=headers)
    assert "transfer-encoding" in reply.request.headers  # it really went out chunked
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["verified"] is True
    assert body["body_len"] == len(b"".join(_chunks()))
    assert '"content-digest"' in body["components"]


@pytest.mark.parametrize("client", CLIENTS)
async def test_wrong_secret_is_a_mismatch(hmac_server: VerifyingServer, client: str) -> None:
    record = {**BASE, "clientSecret": "not-the-e2e-secret"}
    answer = await send(client, record, hmac_server.url, CALLS["post-json"])
    assert (answer.status, answer.body["reason"]) == (401, "mismatch")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("altered", [False, True], ids=["unchanged", "altered"])
async def test_header_altered_after_signing(
    hmac_server: VerifyingServer, client: str, altered: bool
) -> None:
    """Signed first, then sent without auth: only an unchanged request verifies."""
    record = parse_record(BASE)
    call = CALLS["post-json"]
    url = hmac_server.url + call.target

    def tamper(headers: Any) -> None:
        assert "content-type" in headers["signature-input"]  # a covered header
        if altered:
            headers["Content-Type"] = "text/plain"

    if client == "requests":
        prepared = requests.Request(
            call.method, url, data=call.content, headers=call.headers
        ).prepare()
        RequestsAuth(record)(prepared)
        tamper(prepared.headers)
        with requests.Session() as session:
            session.trust_env = False
            response = session.send(prepared, timeout=10)
        answer = _answer(response.status_code, response.content)
    elif client == "httpx":
        with httpx.Client(**_httpx_options()) as sync_client:
            request = sync_client.build_request(
                call.method, url, content=call.content, headers=call.headers
            )
            next(HttpxAuth(record).sync_auth_flow(request))
            tamper(request.headers)
            reply = sync_client.send(request)
        answer = _answer(reply.status_code, reply.content)
    else:
        async with httpx.AsyncClient(**_httpx_options()) as async_client:
            request = async_client.build_request(
                call.method, url, content=call.content, headers=call.headers
            )
            next(HttpxAuth(record).sync_auth_flow(request))
            tamper(request.headers)
            reply = await async_client.send(request)
        answer = _answer(reply.status_code, reply.content)
    if altered:
        assert (answer.status, answer.body["reason"]) == (401, "mismatch")
    else:
        assert answer.status == 200, answer.body
        assert answer.body["verified"] is True


TARGETS = ("/e2e/items?", "/e2e/items", "/e2e/items?q=", "/e2e/?")


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("target", TARGETS)
async def test_the_target_signed_is_the_target_sent(
    hmac_server: VerifyingServer, client: str, target: str
) -> None:
    """httpx sends "/p?" for "/p?", requests sends "/p": each signs what it sends."""
    components = ["@method", "@authority", "@target-uri", "@request-target", "@query"]
    answer = await send(
        client, {**BASE, "components": components}, hmac_server.url, Call("GET", target)
    )
    assert answer.status == 200, answer.body
    assert answer.body["components"] == [f'"{name}"' for name in components]


@pytest.mark.parametrize("added", ["?admin=true", "?"])
def test_a_query_added_after_signing_is_refused_on_the_wire(
    hmac_server: VerifyingServer, added: str
) -> None:
    """The default coverage holds ``@query``, so no query can be added to a signed request."""
    with httpx.Client(**_httpx_options()) as client:
        request = client.build_request("GET", hmac_server.url + "/e2e/orders")
        next(HttpxAuth(parse_record(BASE)).sync_auth_flow(request))
        request.url = httpx.URL(str(request.url) + added)
        reply = client.send(request)
    if added == "?":  # RFC 9421 section 2.2.7: "?" is the @query of no query too
        assert reply.status_code == 200, reply.json()
    else:
        assert (reply.status_code, reply.json()["reason"]) == (401, "mismatch")


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("/p?", "http://h/p?"),
        ("/p", "http://h/p"),
        ("http://h/p?", "http://h/p?"),  # absolute form: the "?" is kept too
        ("http://h/p", "http://h/p"),
        ("http://h/p?a=1", "http://h/p?a=1"),
    ],
)
def test_the_example_server_keeps_the_query_mark(raw: str, url: str) -> None:
    from verifying_server import request_url

    assert request_url({"HTTP_HOST": "h", "RAW_URI": raw}) == url
