"""RequestsAuth with an in-process transport adapter: scope and the redirect hook.

The same behaviour against real servers is in test_e2e.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from credsign import RequestsAuth, ScopeError, parse_record
from tests.test_adapters_httpx import RECORDS

A = "https://api.example.com"
B = "https://elsewhere.example.net"
SECRETS = ("pw-secret", "dTpwdy1zZWNyZXQ", "tok-secret", "k-secret", "q-secret", "acme-secret")

Sent = tuple[str, str, dict[str, str], Any]
Handler = Callable[[requests.PreparedRequest], tuple[int, dict[str, str]]]


class FakeServers(BaseAdapter):
    """Answers by URL prefix; snapshots each request as it is sent."""

    def __init__(self, routes: dict[str, Handler]) -> None:
        super().__init__()
        self.routes = routes
        self.sent: list[Sent] = []

    def send(self, request: requests.PreparedRequest, **_: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        self.sent.append((request.method or "", url, dict(request.headers), request.body))
        status, headers = next(
            (h(request) for prefix, h in self.routes.items() if url.startswith(prefix)),
            (200, {}),
        )
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response.raw = io.BytesIO(b"")
        response._content = b""
        response.url = url
        response.request = request
        return response

    def close(self) -> None:
        pass


def redirect(location: str, status: int = 302) -> Handler:
    return lambda request: (status, {"Location": location})


def session(servers: FakeServers, auth: RequestsAuth) -> requests.Session:
    client = requests.Session()
    client.mount("https://", servers)
    client.auth = auth
    return client


def leaked(sent: Sent) -> list[str]:
    text = sent[1] + repr(sent[2])
    return [secret for secret in SECRETS if secret in text]


@pytest.mark.parametrize("name", RECORDS)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_cross_origin_redirect_carries_no_credential(name: str, status: int) -> None:
    echoed = "?api_key=q-secret" if name == "key-query" else ""
    servers = FakeServers({f"{A}/start": redirect(f"{B}/landing{echoed}", status)})
    response = session(servers, RequestsAuth(parse_record(RECORDS[name]))).post(
        f"{A}/start", data=b"x"
    )
    assert response.status_code == 200 and len(response.history) == 1
    assert leaked(servers.sent[0])
    assert leaked(servers.sent[1]) == []
    assert response.history[0].headers["Location"] == f"{B}/landing{echoed}"


@pytest.mark.parametrize("name", RECORDS)
def test_in_scope_redirect_keeps_credentials(name: str) -> None:
    servers = FakeServers({f"{A}/start": redirect("/next?api_key=stale", 307)})
    response = session(servers, RequestsAuth(parse_record(RECORDS[name]))).get(f"{A}/start")
    final = servers.sent[-1]
    assert final[1].startswith(f"{A}/next?")
    assert leaked(final) == leaked(servers.sent[0])
    expected = "api_key=q-secret" if name == "key-query" else "api_key=stale"
    assert final[1].endswith("?" + expected)
    assert response.history[0].headers["Location"] == "/next?api_key=stale"  # put back


def test_chain_leaving_scope_then_returning() -> None:
    servers = FakeServers(
        {
            f"{A}/v1/start": redirect(f"{B}/hop"),
            f"{B}/hop": redirect(f"{A}/v1/back"),
            f"{A}/v1/back": redirect(f"{A}/v2/out"),
        }
    )
    record = parse_record({**RECORDS["key-query"], "baseUrl": f"{A}/v1"})
    session(servers, RequestsAuth(record)).get(f"{A}/v1/start")
    assert [bool(leaked(s)) for s in servers.sent] == [True, False, True, False]


def test_allow_redirects_false_leaves_a_clean_next_request() -> None:
    servers = FakeServers({f"{A}/start": redirect(f"{B}/x")})
    client = session(servers, RequestsAuth(parse_record(RECORDS["key-header"])))
    response = client.get(f"{A}/start", allow_redirects=False)
    assert response.status_code == 302
    assert response.next is not None
    assert "X-API-KEY" not in response.next.headers


def test_out_of_scope_raises_before_sending() -> None:
    servers = FakeServers({})
    record = parse_record({**RECORDS["basic"], "baseUrl": f"{A}/v1"})
    client = session(servers, RequestsAuth(record))
    client.get(f"{A}/v1/x")
    for url in (f"{A}/v2", f"{B}/v1", f"{A}/v1/%2e%2e/admin"):
        with pytest.raises(ScopeError):
            client.get(url)
    assert len(servers.sent) == 1


def test_record_authorization_replaces_the_users() -> None:
    servers = FakeServers({})
    client = session(servers, RequestsAuth(parse_record(RECORDS["bearer"])))
    client.get(f"{A}/x", headers={"Authorization": "Bearer mine"})
    assert servers.sent[0][2]["Authorization"] == "Bearer tok-secret"


def test_per_request_auth_argument_works() -> None:
    servers = FakeServers({})
    client = requests.Session()
    client.mount("https://", servers)
    client.get(f"{A}/x", auth=RequestsAuth(parse_record(RECORDS["static"])))
    assert servers.sent[0][2]["X-Tenant"] == "acme-secret"
