"""credsign.testing: the verifying httpx transport and requests adapter, and the pytest plugin.

Every auth type signed through both adapters is accepted; each kind of mistake
(wrong secret, altered header or body, out of scope, stale clock, unsigned) is
answered 401 with its stable reason, and never with a secret in the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import requests

from credsign import CredsignError, HttpxAuth, RequestsAuth, parse_record
from credsign.testing import Seen, VerifyingAdapter, VerifyingTransport

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
BASE = "https://api.example.com/v1"
URL = BASE + "/items?page=2&q=a%20b"
STATIC = [{"key": "X-Client", "value": "credsign-tests"}]


def clock() -> datetime:
    return NOW


def late_clock() -> datetime:
    return NOW + timedelta(minutes=10)


SECRETS = {
    "NO_AUTH": {},
    "BASIC": {"password": "pa55-word"},
    "BEARER": {"token": "tok-abc123"},
    "API_KEY": {},
    "AWS4": {"secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    "AWS4_PRESIGNED": {"secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    "AWS4_S3": {"secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
    "HMAC": {"clientSecret": "hmac-s3cret-value"},
    "HMAC_COMPONENTS": {"clientSecret": "hmac-s3cret-value"},
}

API_KEYS = {
    "apiKey": {"key": "X-Api-Key", "value": "key-header-1"},
    "apiKeys": [
        {"key": "api_key", "value": "key query+2 é", "position": "query"},
        {"key": "X-App-Key", "value": "key-header-3"},
    ],
}


def fields(case: str, secret: bool = True) -> dict[str, Any]:
    """The record of ``case``; ``secret=False`` gives the same record with other secrets."""
    aws = {"accessKey": "AKIDEXAMPLE", "region": "eu-west-1", "service": "execute-api"}
    hmac = {"authType": "HMAC_SHA256", "clientId": "client-7"}
    records: dict[str, dict[str, Any]] = {
        "NO_AUTH": {"authType": "NO_AUTH"},
        "BASIC": {"authType": "BASIC_AUTH", "username": "alice"},
        "BEARER": {"authType": "BEARER_TOKEN"},
        "API_KEY": {"authType": "API_KEY", **API_KEYS},
        "AWS4": {"authType": "AWS4", **aws},
        "AWS4_PRESIGNED": {"authType": "AWS4", **aws, "signatureLocation": "query"},
        "AWS4_S3": {"authType": "AWS4", **aws, "service": "s3"},
        "HMAC": hmac,
        "HMAC_COMPONENTS": {
            **hmac,
            "components": ["@method", "@target-uri", "x-client", "content-digest"],
        },
    }
    record = {**records[case], **SECRETS[case], "baseUrl": BASE, "headers": STATIC}
    if not secret:
        record = {
            key: (f"other-{value}" if key in SECRETS[case] else value)
            for key, value in record.items()
        }
        if case == "API_KEY":
            record["apiKeys"] = [
                {"key": "api_key", "value": "other", "position": "query"},
                {"key": "X-App-Key", "value": "key-header-3"},
            ]
    return record


CASES = list(SECRETS)
SIGNED = [case for case in CASES if case != "NO_AUTH"]
WRONG_SECRET_REASON = {
    "BASIC": "wrong_credentials",
    "BEARER": "wrong_credentials",
    "API_KEY": "wrong_credentials",
    "AWS4": "mismatch",
    "AWS4_PRESIGNED": "mismatch",
    "AWS4_S3": "mismatch",
    "HMAC": "mismatch",
    "HMAC_COMPONENTS": "mismatch",
}
UNSIGNED_REASON = {
    **dict.fromkeys(["BASIC", "BEARER", "API_KEY"], "missing_credentials"),
    **dict.fromkeys(["AWS4", "AWS4_PRESIGNED", "AWS4_S3", "HMAC", "HMAC_COMPONENTS"], "missing"),
}


def record_of(case: str, secret: bool = True) -> Any:
    return parse_record(fields(case, secret))


def secrets_of(case: str) -> list[str]:
    values = [str(v) for v in SECRETS[case].values()]
    if case == "API_KEY":
        values += ["key-header-1", "key-header-3", "key query+2 é", "key%20query"]
    return values


def body_of(response: httpx.Response | requests.Response) -> dict[str, Any]:
    data = json.loads(response.content)
    assert isinstance(data, dict)
    return data


def assert_rejected(
    response: httpx.Response | requests.Response, reason: str, secrets: Sequence[str] = ()
) -> None:
    assert response.status_code == 401, response.content
    data = body_of(response)
    assert data["reason"] == reason, data
    assert isinstance(data["detail"], str)
    for secret in secrets:
        assert secret not in response.text


def sign(case: str, request: httpx.Request, secret: bool = True) -> httpx.Request:
    next(HttpxAuth(record_of(case, secret), clock=clock).sync_auth_flow(request))
    return request


# --- every auth type, through both adapters: accepted ---


@pytest.mark.parametrize("case", CASES)
def test_httpx_client_is_accepted(case: str) -> None:
    record = record_of(case)
    transport = VerifyingTransport(record, clock=clock)
    with httpx.Client(auth=HttpxAuth(record, clock=clock), transport=transport) as client:
        got = client.get(URL)
        posted = client.post(BASE + "/items", json={"name": "x", "n": 1})
    assert (got.status_code, body_of(got)) == (200, {"ok": True})
    assert posted.status_code == 200, posted.text
    assert [seen.ok for seen in transport.seen] == [True, True]
    assert transport.rejected == []
    assert transport.accepted == transport.seen


@pytest.mark.parametrize("case", CASES)
async def test_httpx_async_client_is_accepted(case: str) -> None:
    record = record_of(case)
    transport = VerifyingTransport(record, clock=clock)
    auth = HttpxAuth(record, clock=clock)
    async with httpx.AsyncClient(auth=auth, transport=transport) as client:
        got = await client.get(URL)
        posted = await client.put(BASE + "/items/1", content=b"\x00raw bytes\xff")
    assert got.status_code == 200, got.text
    assert posted.status_code == 200, posted.text
    assert transport.seen[1].body == b"\x00raw bytes\xff"


@pytest.mark.parametrize("case", CASES)
def test_requests_session_is_accepted(case: str) -> None:
    record = record_of(case)
    adapter = VerifyingAdapter(record, clock=clock)
    with requests.Session() as session:
        session.mount("https://", adapter)
        session.auth = RequestsAuth(record, clock=clock)
        got = session.get(URL)
        posted = session.post(BASE + "/items", json={"name": "x"})
        form = session.post(BASE + "/items", data={"a": "1", "b": "two words"})
    for response in (got, posted, form):
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True}
        assert response.headers["Content-Type"] == "application/json"
        assert response.request is not None
    assert got.request.url == adapter.seen[0].url
    assert len(adapter.accepted) == 3


def test_per_organization_record() -> None:
    record = parse_record(
        {
            "authType": "BEARER_TOKEN",
            "baseUrl": BASE,
            "organizations": [
                {"orgId": "acme", "token": "tok-acme"},
                {"orgId": "beta", "token": "tok-beta"},
            ],
        }
    )
    transport = VerifyingTransport(record, org="acme", clock=clock)
    with httpx.Client(auth=HttpxAuth(record, org="acme"), transport=transport) as client:
        assert client.get(URL).status_code == 200
    with httpx.Client(auth=HttpxAuth(record, org="beta"), transport=transport) as client:
        assert_rejected(client.get(URL), "wrong_credentials", ["tok-acme", "tok-beta"])
    adapter = VerifyingAdapter(record, org="beta", clock=clock)
    with requests.Session() as session:
        session.mount("https://", adapter)
        assert session.get(URL, auth=RequestsAuth(record, org="beta")).status_code == 200
    with pytest.raises(CredsignError, match="org="):
        VerifyingTransport(record)


# --- mistakes are caught, for the right reason ---


@pytest.mark.parametrize("case", SIGNED)
def test_wrong_secret(case: str) -> None:
    transport = VerifyingTransport(record_of(case), clock=clock)
    other = record_of(case, secret=False)
    with httpx.Client(auth=HttpxAuth(other, clock=clock), transport=transport) as client:
        assert_rejected(
            client.post(URL, json={"a": 1}), WRONG_SECRET_REASON[case], secrets_of(case)
        )
    adapter = VerifyingAdapter(record_of(case), clock=clock)
    with requests.Session() as session:
        session.mount("https://", adapter)
        response = session.get(URL, auth=RequestsAuth(other, clock=clock))
    assert_rejected(response, WRONG_SECRET_REASON[case], secrets_of(case))
    assert adapter.rejected[0].reason == WRONG_SECRET_REASON[case]


#: (case, header to alter, reason): each covered by the credentials or the signature.
ALTERED_HEADERS = [
    ("BASIC", "Authorization", "wrong_credentials"),
    ("BEARER", "Authorization", "wrong_credentials"),
    ("API_KEY", "X-App-Key", "wrong_credentials"),
    ("AWS4", "X-Amz-Date", "mismatch"),
    ("AWS4_S3", "X-Amz-Date", "mismatch"),
    ("HMAC", "Content-Type", "mismatch"),
    ("HMAC_COMPONENTS", "X-Client", "mismatch"),
]


@pytest.mark.parametrize(("case", "name", "reason"), ALTERED_HEADERS)
def test_header_altered_after_signing(case: str, name: str, reason: str) -> None:
    request = sign(case, httpx.Request("POST", URL, json={"a": 1}))
    value = request.headers[name]
    if name == "X-Amz-Date":  # one second later: still inside the allowed skew
        request.headers[name] = value[:-3] + f"{(int(value[-3:-1]) + 1) % 60:02d}Z"
    else:
        request.headers[name] = value[:-1] + ("x" if value[-1] != "x" else "y")
    transport = VerifyingTransport(record_of(case), clock=clock)
    assert_rejected(transport.handle_request(request), reason, secrets_of(case))


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("HMAC", "content_digest"),
        ("HMAC_COMPONENTS", "content_digest"),
        ("AWS4_S3", "body_hash"),
        ("AWS4", "mismatch"),
        ("AWS4_PRESIGNED", "mismatch"),
    ],
)
def test_body_altered_after_signing(case: str, reason: str) -> None:
    signed = sign(case, httpx.Request("POST", URL, content=b'{"amount": 10}'))
    altered = httpx.Request("POST", signed.url, headers=signed.headers, content=b'{"amount": 99}')
    transport = VerifyingTransport(record_of(case), clock=clock)
    assert_rejected(transport.handle_request(altered), reason, secrets_of(case))
    assert transport.seen[0].body == b'{"amount": 99}'


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(
    "url", ["https://evil.example.net/v1/items", "https://api.example.com/v2/items"]
)
def test_out_of_scope(case: str, url: str) -> None:
    transport = VerifyingTransport(record_of(case), clock=clock)
    with httpx.Client(transport=transport) as client:
        assert_rejected(client.get(url, headers={"X-Client": "x"}), "out_of_scope")
    adapter = VerifyingAdapter(record_of(case), clock=clock)
    with requests.Session() as session:
        session.mount("https://", adapter)
        assert_rejected(session.get(url), "out_of_scope")


@pytest.mark.parametrize(
    ("case", "reason"), [("AWS4", "skew"), ("AWS4_S3", "skew"), ("HMAC", "too_old")]
)
def test_stale_signature(case: str, reason: str) -> None:
    record = record_of(case)
    transport = VerifyingTransport(record, clock=late_clock)
    with httpx.Client(auth=HttpxAuth(record, clock=clock), transport=transport) as client:
        assert_rejected(client.get(URL), reason, secrets_of(case))
    # the same signature is fine inside the allowed skew
    patient = VerifyingTransport(record, clock=late_clock, max_skew=timedelta(minutes=15))
    with httpx.Client(auth=HttpxAuth(record, clock=clock), transport=patient) as client:
        assert client.get(URL).status_code == 200


@pytest.mark.parametrize("case", SIGNED)
def test_unsigned_request(case: str) -> None:
    transport = VerifyingTransport(record_of(case), clock=clock)
    with httpx.Client(transport=transport) as client:
        assert_rejected(client.get(URL, headers={"X-Client": "x"}), UNSIGNED_REASON[case])
    adapter = VerifyingAdapter(record_of(case), clock=clock)
    with requests.Session() as session:
        session.mount("https://", adapter)
        assert_rejected(session.get(URL), UNSIGNED_REASON[case])


def test_static_headers_must_be_present_but_may_be_overridden() -> None:
    record = record_of("NO_AUTH")
    transport = VerifyingTransport(record)
    with httpx.Client(transport=transport) as client:
        assert_rejected(client.get(URL), "missing_static_header")
        assert client.get(URL, headers={"x-client": "mine"}).status_code == 200
    with httpx.Client(auth=HttpxAuth(record), transport=transport) as client:
        assert client.get(URL, headers={"X-Client": "override"}).status_code == 200
    assert [seen.reason for seen in transport.seen] == ["missing_static_header", None, None]


def test_api_key_placements_are_each_checked() -> None:
    record = record_of("API_KEY")
    transport = VerifyingTransport(record)
    headers = {"X-Api-Key": "key-header-1", "X-App-Key": "key-header-3", "X-Client": "c"}
    query = "api_key=key%20query%2B2%20%C3%A9"
    with httpx.Client(transport=transport) as client:
        assert client.get(f"{BASE}/x?{query}", headers=headers).status_code == 200
        assert client.get(f"{BASE}/x?api_key=key+query%2B2+%C3%A9", headers=headers).is_success
        assert_rejected(client.get(f"{BASE}/x", headers=headers), "missing_credentials")
        assert_rejected(
            client.get(f"{BASE}/x?{query}&{query}", headers=headers), "wrong_credentials"
        )
        assert_rejected(client.get(f"{BASE}/x?api_key=key", headers=headers), "wrong_credentials")
        no_app_key = {k: v for k, v in headers.items() if k != "X-App-Key"}
        assert_rejected(client.get(f"{BASE}/x?{query}", headers=no_app_key), "missing_credentials")
        twice = [*headers.items(), ("X-Api-Key", "key-header-1")]
        assert_rejected(client.get(f"{BASE}/x?{query}", headers=twice), "wrong_credentials")


def test_hmac_nonce_replay_is_refused() -> None:
    record = parse_record({**fields("HMAC"), "nonce": True})
    request = httpx.Request("GET", URL)
    next(HttpxAuth(record, clock=clock).sync_auth_flow(request))
    transport = VerifyingTransport(record, clock=clock)
    assert transport.handle_request(request).status_code == 200
    assert_rejected(transport.handle_request(request), "replay")


def test_aws4_records_without_keys_are_refused() -> None:
    record = parse_record({"authType": "AWS4", "region": "eu-west-1", "service": "s3"})
    with pytest.raises(CredsignError, match="accessKey"):
        VerifyingTransport(record)


# --- app_handler and what is seen ---


def test_app_handler_answers_accepted_requests_only() -> None:
    record = record_of("BEARER")
    calls: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(201, json={"id": 7, "path": request.url.path})

    transport = VerifyingTransport(record, app)
    with httpx.Client(auth=HttpxAuth(record), transport=transport) as client:
        created = client.post(BASE + "/items", json={"a": 1})
    with httpx.Client(transport=transport) as client:
        refused = client.post(BASE + "/items", json={"a": 1})
    assert (created.status_code, created.json()) == (201, {"id": 7, "path": "/v1/items"})
    assert_rejected(refused, "missing_credentials")
    assert len(calls) == 1
    assert [seen.ok for seen in transport.seen] == [True, False]
    first, second = transport.seen
    assert isinstance(first, Seen)
    assert (first.method, first.url, first.body) == ("POST", BASE + "/items", b'{"a":1}')
    assert first.header("authorization") == ["Bearer tok-abc123"]
    assert ("x-client", "credsign-tests") in [(n.lower(), v) for n, v in first.headers]
    assert (second.reason, transport.rejected, transport.accepted) == (
        "missing_credentials",
        [second],
        [first],
    )
    assert "tok-abc123" not in repr(first)
    transport.clear()
    assert transport.seen == []


async def test_async_app_handler() -> None:
    record = record_of("HMAC")

    async def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"echo": request.content.decode()})

    transport = VerifyingTransport(record, app, clock=clock)
    async with httpx.AsyncClient(auth=HttpxAuth(record, clock=clock), transport=transport) as c:
        response = await c.post(BASE + "/echo", content=b"hello")
    assert response.json() == {"echo": "hello"}
    with (
        httpx.Client(auth=HttpxAuth(record, clock=clock), transport=transport) as client,
        pytest.raises(TypeError, match="AsyncClient"),
    ):
        client.post(BASE + "/echo", content=b"hello")


def test_requests_app_handler() -> None:
    record = record_of("BASIC")

    def app(request: requests.PreparedRequest) -> requests.Response:
        response = requests.Response()
        response.status_code = 202
        body = request.body if isinstance(request.body, bytes) else b""
        response._content = b"accepted " + body
        return response

    adapter = VerifyingAdapter(record, app)
    with requests.Session() as session:
        session.mount("https://", adapter)
        response = session.post(BASE + "/jobs", data=b"job-1", auth=RequestsAuth(record))
    assert (response.status_code, response.content) == (202, b"accepted job-1")
    assert response.url == BASE + "/jobs"
    assert response.request.body == b"job-1"
    assert adapter.seen[0].body == b"job-1"


def test_requests_streamed_body_is_read_fully() -> None:
    record = record_of("NO_AUTH")
    adapter = VerifyingAdapter(record)
    with requests.Session() as session:
        session.mount("https://", adapter)
        chunks = iter([b"ab", b"cd"])
        response = session.post(BASE + "/up", data=chunks, headers={"X-Client": "c"})
    assert response.status_code == 200
    assert adapter.seen[0].body == b"abcd"


# --- the pytest plugin (loaded through the pytest11 entry point, no conftest) ---


def test_plugin_is_registered_by_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("credsign")
    assert plugin is not None
    assert plugin.__name__ == "credsign.testing.plugin"


def test_verifying_transport_fixture(
    verifying_transport: Callable[..., VerifyingTransport],
) -> None:
    record = record_of("HMAC")
    transport = verifying_transport(record, clock=clock)
    assert isinstance(transport, VerifyingTransport)
    with httpx.Client(auth=HttpxAuth(record, clock=clock), transport=transport) as client:
        assert client.get(URL).status_code == 200
    with httpx.Client(auth=HttpxAuth(record, clock=late_clock), transport=transport) as client:
        assert_rejected(client.get(URL), "future")


def test_verifying_session_fixture(
    verifying_session: Callable[..., tuple[requests.Session, VerifyingAdapter]],
) -> None:
    record = record_of("AWS4_PRESIGNED")
    session, adapter = verifying_session(record, clock=clock)
    assert isinstance(adapter, VerifyingAdapter)
    assert session.get(URL, auth=RequestsAuth(record, clock=clock)).status_code == 200
    assert session.get(URL.replace("https:", "http:")).json()["reason"] == "out_of_scope"
    assert [seen.ok for seen in adapter.seen] == [True, False]
