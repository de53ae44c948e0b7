"""SigV4 and request bodies: bytes, forms, streams and files, signed or unsigned."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import requests

from credsign import CredsignError, HttpxAuth, RequestsAuth, parse_record
from credsign.verify import verify_sigv4

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
SECRET = "body-secret"
URL = "https://bucket.s3.eu-west-1.amazonaws.com/upload/key.bin"


def record(payload: str = "signed", service: str = "s3") -> Any:
    return parse_record(
        {
            "authType": "AWS4",
            "accessKey": "AKIDBODY",
            "secretKey": SECRET,
            "region": "eu-west-1",
            "service": service,
            "payload": payload,
        }
    )


def check(method: str, url: str, headers: Any, body: bytes) -> Any:
    return verify_sigv4(method, url, headers, body, secret_for=lambda key: SECRET, now=NOW)


class Received:
    """A MockTransport handler that reads the body as the server would and verifies it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.bodies.append(body)
        check(request.method, str(request.url), request.headers.multi_items(), body)
        return httpx.Response(200)


def chunks(log: list[str]) -> Iterator[bytes]:
    log.append("started")
    yield b"part one, "
    yield b"part two"


@pytest.mark.parametrize("service", ["s3", "execute-api"])
def test_httpx_streaming_body_is_read_once_and_signed(service: str) -> None:
    server, log = Received(), []
    with httpx.Client(
        transport=httpx.MockTransport(server),
        auth=HttpxAuth(record(service=service), clock=lambda: NOW),
    ) as client:
        client.put(URL, content=chunks(log))
    assert server.bodies == [b"part one, part two"]
    assert log == ["started"]


async def test_httpx_async_streaming_body_is_signed() -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"async "
        yield b"body"

    server = Received()
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(server), auth=HttpxAuth(record(), clock=lambda: NOW)
    ) as client:
        await client.put(URL, content=stream())
    assert server.bodies == [b"async body"]


def test_httpx_unsigned_payload_never_touches_the_stream() -> None:
    log: list[str] = []
    auth = HttpxAuth(record(payload="unsigned"), clock=lambda: NOW)
    request = httpx.Request("PUT", URL, content=chunks(log))
    flow = auth.sync_auth_flow(request)
    next(flow)
    assert log == []
    assert request.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert not auth.requires_request_body


def test_httpx_form_and_json_bodies_are_hashed() -> None:
    server = Received()
    with httpx.Client(
        transport=httpx.MockTransport(server),
        auth=HttpxAuth(record(service="execute-api"), clock=lambda: NOW),
    ) as client:
        client.post(URL, data={"a": "1 2", "b": "é"})
        client.post(URL, json={"k": [1, 2]})
    assert server.bodies[0] == b"a=1+2&b=%C3%A9"


class TrackedFile(io.BytesIO):
    """A file that records how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def test_requests_file_body_is_hashed_in_chunks_and_rewound() -> None:
    data = bytes(range(256)) * 1024  # 256 KiB
    body = TrackedFile(data)
    body.seek(100)
    prepared = requests.Request("PUT", URL, data=body).prepare()
    RequestsAuth(record(), clock=lambda: NOW)(prepared)
    assert body.tell() == 100
    assert body.reads and all(0 < size <= 64 * 1024 for size in body.reads)
    check("PUT", prepared.url or "", prepared.headers.items(), data[100:])


@pytest.mark.parametrize("body", [b"raw bytes", "text body", ""])
def test_requests_bytes_and_text_bodies(body: Any) -> None:
    prepared = requests.Request("POST", URL, data=body).prepare()
    RequestsAuth(record(service="execute-api"), clock=lambda: NOW)(prepared)
    sent = body.encode() if isinstance(body, str) else body  # urllib3 sends text as UTF-8
    check("POST", prepared.url or "", prepared.headers.items(), sent)


def test_requests_iterator_body_needs_unsigned_payload() -> None:
    prepared = requests.Request("PUT", URL, data=iter([b"a", b"b"])).prepare()
    with pytest.raises(CredsignError, match="payload 'unsigned'"):
        RequestsAuth(record(), clock=lambda: NOW)(prepared)
    assert "Authorization" not in prepared.headers

    prepared = requests.Request("PUT", URL, data=iter([b"a", b"b"])).prepare()
    RequestsAuth(record(payload="unsigned"), clock=lambda: NOW)(prepared)
    assert prepared.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
