"""HttpxAuth with httpx.MockTransport: scope, redirects hop by hop, sync and async.

The same behaviour against real servers is in test_e2e.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from credsign import HttpxAuth, RedirectWarning, ScopeError, parse_record

A = "https://api.example.com"
B = "https://elsewhere.example.net"

RECORDS: dict[str, dict[str, Any]] = {
    "basic": {"authType": "BASIC_AUTH", "username": "u", "password": "pw-secret"},
    "bearer": {"authType": "BEARER_TOKEN", "token": "tok-secret"},
    "key-header": {"authType": "API_KEY", "apiKey": {"key": "X-API-KEY", "value": "k-secret"}},
    "key-query": {
        "authType": "API_KEY",
        "apiKey": {"key": "api_key", "value": "q-secret", "position": "query"},
    },
    "static": {"authType": "NO_AUTH", "headers": [{"key": "X-Tenant", "value": "acme-secret"}]},
}


def _credentials_in(request: httpx.Request) -> list[str]:
    text = str(request.url) + repr(request.headers.raw)
    found = [s for s in ("secret", "dTpwdy1zZWNyZXQ") if s in text]
    return found + [n for n in ("authorization", "x-api-key", "x-tenant") if n in request.headers]


class Server:
    """A MockTransport whose routes answer by (host, path); records every request."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        handler = self.routes.get(f"{request.url.scheme}://{request.url.host}{request.url.path}")
        return handler(request) if handler else httpx.Response(200, json={"ok": True})


def redirect(location: str, status: int = 302, **headers: str) -> Callable[..., httpx.Response]:
    return lambda request: httpx.Response(status, headers={"Location": location, **headers})


@pytest.mark.parametrize("name", RECORDS)
def test_cross_origin_redirect_carries_no_credential(name: str) -> None:
    echoed = "?api_key=q-secret" if name == "key-query" else ""  # a server echoing the key
    server = Server({f"{A}/start": redirect(f"{B}/landing{echoed}")})
    auth = HttpxAuth(parse_record(RECORDS[name]), follow_redirects=True)
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        response = client.get(f"{A}/start")
    assert response.status_code == 200
    assert [str(r.url.host) for r in server.seen] == ["api.example.com", "elsewhere.example.net"]
    assert _credentials_in(server.seen[0])
    assert _credentials_in(server.seen[1]) == []
    assert len(response.history) == 1


@pytest.mark.parametrize("name", RECORDS)
def test_in_scope_redirect_is_signed_again(name: str) -> None:
    server = Server({f"{A}/start": redirect("/next?api_key=stale", 307)})
    auth = HttpxAuth(parse_record(RECORDS[name]), follow_redirects=True)
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        client.get(f"{A}/start")
    final = server.seen[-1]
    assert final.url.path == "/next"
    assert _credentials_in(final) == _credentials_in(server.seen[0])
    if name == "key-query":
        assert final.url.query == b"api_key=q-secret"
    else:
        assert final.url.query == b"api_key=stale"  # not the record's parameter: kept


def test_redirect_back_into_scope_is_signed_and_chain_outside_is_not() -> None:
    server = Server(
        {
            f"{A}/v1/start": redirect(f"{B}/hop"),
            f"{B}/hop": redirect(f"{A}/v1/back"),
            f"{A}/v1/back": redirect(f"{A}/v2/outside"),
        }
    )
    record = parse_record({**RECORDS["bearer"], "baseUrl": f"{A}/v1"})
    with httpx.Client(
        transport=httpx.MockTransport(server), auth=HttpxAuth(record, follow_redirects=True)
    ) as client:
        client.get(f"{A}/v1/start")
    assert [bool(_credentials_in(r)) for r in server.seen] == [True, False, True, False]


def test_303_turns_post_into_get_without_body_and_307_keeps_both() -> None:
    server = Server({f"{A}/a": redirect("/b", 303), f"{A}/c": redirect("/d", 307)})
    auth = HttpxAuth(parse_record(RECORDS["bearer"]), follow_redirects=True)
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        client.post(f"{A}/a", content=b"payload")
        client.post(f"{A}/c", content=b"payload")
    methods = [(r.method, r.url.path, r.content) for r in server.seen]
    assert methods == [
        ("POST", "/a", b"payload"),
        ("GET", "/b", b""),
        ("POST", "/c", b"payload"),
        ("POST", "/d", b"payload"),
    ]
    assert "content-length" not in server.seen[1].headers


def test_cookies_set_by_a_redirect_reach_the_next_hop() -> None:
    server = Server({f"{A}/login": redirect("/home", 302, **{"Set-Cookie": "sid=42; Path=/"})})
    auth = HttpxAuth(parse_record(RECORDS["bearer"]), follow_redirects=True)
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        client.get(f"{A}/login")
    assert server.seen[1].headers["cookie"] == "sid=42"


def test_redirect_loops_stop_at_the_clients_limit() -> None:
    server = Server({f"{A}/loop": redirect("/loop")})
    auth = HttpxAuth(parse_record(RECORDS["bearer"]), follow_redirects=True)
    with (
        httpx.Client(transport=httpx.MockTransport(server), auth=auth, max_redirects=3) as client,
        pytest.raises(httpx.TooManyRedirects),
    ):
        client.get(f"{A}/loop")


def test_without_following_the_next_request_to_another_origin_is_clean() -> None:
    server = Server({f"{A}/start": redirect(f"{B}/x")})
    auth = HttpxAuth(parse_record(RECORDS["key-header"]))
    with httpx.Client(transport=httpx.MockTransport(server), auth=auth) as client:
        response = client.get(f"{A}/start")
    assert response.status_code == 302 and len(server.seen) == 1
    assert response.next_request is not None
    assert _credentials_in(response.next_request) == []


def test_client_side_following_warns() -> None:
    server = Server({f"{A}/start": redirect(f"{B}/x")})
    auth = HttpxAuth(parse_record(RECORDS["key-header"]))
    with (
        httpx.Client(
            transport=httpx.MockTransport(server), auth=auth, follow_redirects=True
        ) as client,
        pytest.warns(RedirectWarning, match="follow_redirects"),
    ):
        client.get(f"{A}/start")


def test_out_of_scope_request_raises_before_sending() -> None:
    server = Server({})
    record = parse_record({**RECORDS["bearer"], "baseUrl": f"{A}/v1"})
    with httpx.Client(transport=httpx.MockTransport(server), auth=HttpxAuth(record)) as client:
        client.get(f"{A}/v1/ok")
        for url in (f"{A}/v2", f"{B}/v1", "http://api.example.com/v1", f"{A}/v1/../admin"):
            with pytest.raises(
                ScopeError, match=r"outside their scope https://api\.example\.com/v1"
            ):
                client.get(url)
    assert len(server.seen) == 1


def test_scope_error_never_shows_the_query_or_secrets() -> None:
    record = parse_record({**RECORDS["bearer"], "baseUrl": f"{A}/v1"})
    with pytest.raises(ScopeError) as caught:
        next(HttpxAuth(record).sync_auth_flow(httpx.Request("GET", f"{B}/p?token=mine")))
    assert "mine" not in str(caught.value) and "tok-secret" not in str(caught.value)


async def test_async_client_signs_and_follows() -> None:
    server = Server({f"{A}/start": redirect(f"{B}/x")})
    auth = HttpxAuth(parse_record(RECORDS["basic"]), follow_redirects=True)
    async with httpx.AsyncClient(transport=httpx.MockTransport(server), auth=auth) as client:
        response = await client.get(f"{A}/start")
    assert response.status_code == 200
    assert server.seen[0].headers["authorization"] == "Basic dTpwdy1zZWNyZXQ="
    assert _credentials_in(server.seen[1]) == []


def test_clock_is_configurable_and_signer_is_accepted() -> None:
    from datetime import datetime, timezone

    from credsign import compile_signer

    def frozen() -> datetime:
        return datetime(2020, 1, 1, tzinfo=timezone.utc)

    signer = compile_signer(parse_record(RECORDS["bearer"]))
    auth = HttpxAuth(signer, clock=frozen)
    assert auth.signer is signer and auth.clock is frozen
    request = httpx.Request("GET", A)
    next(auth.sync_auth_flow(request))
    assert request.headers["authorization"] == "Bearer tok-secret"
