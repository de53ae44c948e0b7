"""The harness on credsign itself: generated records and requests through every adapter."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import requests as requests_lib
from hypothesis import HealthCheck, assume, given, settings

from credsign import HttpxAuth, RequestsAuth, parse_record
from credsign.testing import VerifyingAdapter, VerifyingTransport, records, requests

BASE = "https://api.example.com"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
SECRETS = ("password", "token", "secretKey", "clientSecret")
RUNS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def clock() -> datetime:
    return NOW


def with_other_secret(record: Any) -> Any:
    """The same record with every secret changed (what a misconfigured client holds)."""
    data = record.to_dict(reveal_secrets=True)
    changed = False
    for name in SECRETS:
        if isinstance(data.get(name), str):
            data[name] = data[name] + "x" if data.get("secretEncoding") != "base64" else "eHh4"
            changed = True
    for placement in [data.get("apiKey"), *data.get("apiKeys", [])]:
        if isinstance(placement, dict):
            placement["value"] += "x"
            changed = True
    assume(changed)
    return parse_record(data)


def as_requests(request: httpx.Request) -> requests_lib.PreparedRequest:
    skip = {"host", "content-length"}
    headers = [(k, v) for k, v in request.headers.multi_items() if k not in skip]
    return requests_lib.Request(
        request.method, str(request.url), headers=dict(headers), data=request.content or None
    ).prepare()


@RUNS
@given(record=records(base_url=BASE), request=requests(BASE))
def test_async_client_requests_pass(record: Any, request: httpx.Request) -> None:
    async def send() -> httpx.Response:
        transport = VerifyingTransport(record, clock=clock)
        async with httpx.AsyncClient(
            transport=transport, auth=HttpxAuth(record, clock=clock)
        ) as client:
            return await client.send(request)

    response = asyncio.run(send())
    assert response.status_code == 200, response.json()


@RUNS
@given(record=records(base_url=BASE), request=requests(BASE))
def test_requests_session_requests_pass(record: Any, request: httpx.Request) -> None:
    session = requests_lib.Session()
    adapter = VerifyingAdapter(record, clock=clock)
    session.mount("https://", adapter)
    response = session.send(RequestsAuth(record, clock=clock)(as_requests(request)))
    assert response.status_code == 200, response.json()
    assert adapter.rejected == []


@RUNS
@given(record=records(base_url=BASE), request=requests(BASE))
def test_a_wrong_secret_is_caught(record: Any, request: httpx.Request) -> None:
    transport = VerifyingTransport(record, clock=clock)
    auth = HttpxAuth(with_other_secret(record), clock=clock)
    with httpx.Client(transport=transport, auth=auth) as client:
        response = client.send(request)
    assert response.status_code == 401
    assert response.json()["reason"] in {"wrong_credentials", "mismatch"}


@RUNS
@given(record=records(("AWS4", "HMAC_SHA256"), base_url=BASE), request=requests(BASE))
def test_an_expired_clock_is_caught(record: Any, request: httpx.Request) -> None:
    later = NOW + timedelta(days=8)  # past any presigned URL's expiry (7 days at most)
    transport = VerifyingTransport(record, clock=lambda: later)
    with httpx.Client(transport=transport, auth=HttpxAuth(record, clock=clock)) as client:
        response = client.send(request)
    assert response.status_code == 401
    assert response.json()["reason"] in {"skew", "too_old", "expired"}


@RUNS
@given(record=records(base_url=BASE))
def test_a_request_outside_the_scope_is_caught(record: Any) -> None:
    transport = VerifyingTransport(record, clock=clock)
    with httpx.Client(transport=transport) as client:
        response = client.get("https://elsewhere.example.net/x")
    assert response.json()["reason"] == "out_of_scope"
