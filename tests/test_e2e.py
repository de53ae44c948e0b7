"""End to end: credsign's adapters against real httpbin servers on 127.0.0.1 (no mocks).

Every behaviour runs through ``httpx.Client``, ``httpx.AsyncClient`` and
``requests.Session``. httpbin's ``/anything`` echoes the headers and query
arguments it received, so the tests read what a server actually saw.

Two servers (``httpbin_url`` = A, ``second_httpbin_url`` = B) differ only by
port: each is its own origin. ``/redirect-to?url=...&status_code=...`` on A sends
clients to B (out of scope) or back to A (in scope).
"""

from __future__ import annotations

import json
import socket
import ssl
from base64 import b64encode
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import requests

from credsign import HttpxAuth, RedirectWarning, RequestsAuth, ScopeError, parse_record

CLIENTS = ("httpx", "httpx-async", "requests")
STATUSES = (301, 302, 303, 307, 308)

USER = "u"
PASSWORD = "pa55-w0rd"
BASIC = "Basic " + b64encode(f"{USER}:{PASSWORD}".encode()).decode()
TOKEN = "tok-123-bearer"
API_KEY = "k3y-s3cr3t"
STATIC_VALUE = "sigmamind-static"
STATIC = {"key": "X-Request-Source", "value": STATIC_VALUE}

# Everything a record may add: what an out-of-scope server must never see.
CREDENTIAL_HEADERS = ("authorization", "x-api-key", "x-request-source")
CREDENTIAL_ARGS = ("api_key",)
SECRETS = (PASSWORD, BASIC.split()[1], TOKEN, API_KEY, STATIC_VALUE)

# Only plain http is used; one shared context spares each httpx client ~20 ms of loading CAs.
TLS = ssl.create_default_context()


# --- clients ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a client call returned, in one shape for all three clients."""

    status: int
    url: str
    body: Any  # the parsed JSON body, or None
    locations: tuple[str | None, ...]  # the Location header of every response, first to last
    next_url: str | None = None  # the request a 3xx leads to, when redirects were not followed
    next_headers: dict[str, str] = field(default_factory=dict)  # its headers, lower-case names


def _json(headers: Mapping[str, str], content: bytes) -> Any:
    if headers.get("content-type", "").startswith("application/json"):
        return json.loads(content)
    return None


def _from_httpx(response: httpx.Response) -> Outcome:
    pending = response.next_request
    return Outcome(
        status=response.status_code,
        url=str(response.url),
        body=_json(response.headers, response.content),
        locations=tuple(hop.headers.get("location") for hop in [*response.history, response]),
        next_url=None if pending is None else str(pending.url),
        next_headers={} if pending is None else {k.lower(): v for k, v in pending.headers.items()},
    )


def _from_requests(response: requests.Response) -> Outcome:
    pending = response.next
    return Outcome(
        status=response.status_code,
        url=response.url,
        body=_json(response.headers, response.content),
        locations=tuple(hop.headers.get("location") for hop in [*response.history, response]),
        next_url=None if pending is None else pending.url,
        next_headers={} if pending is None else {k.lower(): v for k, v in pending.headers.items()},
    )


async def send(
    client: str,
    record: Mapping[str, Any],
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
    follow: bool = True,
) -> Outcome:
    """One request signed from ``record``, in each client's safe configuration.

    ``follow`` is ``HttpxAuth(follow_redirects=...)`` on a client that does not follow
    redirects itself (httpx), or ``allow_redirects`` (requests).
    """
    parsed = parse_record(record)
    if client == "requests":
        with requests.Session() as session:
            session.trust_env = False
            session.auth = RequestsAuth(parsed)
            response = session.request(
                method, url, headers=headers, data=content, allow_redirects=follow, timeout=10
            )
        return _from_requests(response)
    auth = HttpxAuth(parsed, follow_redirects=follow)
    options: dict[str, Any] = {
        "auth": auth,
        "follow_redirects": False,
        "trust_env": False,
        "verify": TLS,
    }
    if client == "httpx":
        with httpx.Client(**options) as sync_client:
            return _from_httpx(sync_client.request(method, url, headers=headers, content=content))
    async with httpx.AsyncClient(**options) as async_client:
        return _from_httpx(
            await async_client.request(method, url, headers=headers, content=content)
        )


def redirect_to(base: str, location: str, status: int = 302) -> str:
    """httpbin's redirect endpoint on ``base`` ("" for a relative URL) sending to ``location``."""
    return f"{base}/redirect-to?{urlencode({'url': location, 'status_code': status})}"


def authority(base_url: str) -> str:
    return base_url.split("://", 1)[1]


# --- what a server saw ------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A record (with a static header), and the credentials an in-scope server must see."""

    record: dict[str, Any]
    headers: dict[str, str]  # lower-case name -> value, each exactly once
    args: dict[str, str] = field(default_factory=dict)


CASES = {
    "basic": Case(
        {"authType": "BASIC_AUTH", "username": USER, "password": PASSWORD, "headers": [STATIC]},
        {"authorization": BASIC, "x-request-source": STATIC_VALUE},
    ),
    "bearer": Case(
        {"authType": "BEARER_TOKEN", "token": TOKEN, "headers": [STATIC]},
        {"authorization": f"Bearer {TOKEN}", "x-request-source": STATIC_VALUE},
    ),
    "api-key-header": Case(
        {
            "authType": "API_KEY",
            "apiKey": {"key": "X-API-KEY", "value": API_KEY, "position": "header"},
            "headers": [STATIC],
        },
        {"x-api-key": API_KEY, "x-request-source": STATIC_VALUE},
    ),
    "api-key-query": Case(
        {
            "authType": "API_KEY",
            "apiKey": {"key": "api_key", "value": API_KEY, "position": "query"},
            "headers": [STATIC],
        },
        {"x-request-source": STATIC_VALUE},
        {"api_key": API_KEY},
    ),
    "no-auth": Case(
        {"authType": "NO_AUTH", "headers": [STATIC]}, {"x-request-source": STATIC_VALUE}
    ),
}


def seen(body: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The credential headers and query arguments httpbin echoed back."""
    headers = {name.lower(): value for name, value in body["headers"].items()}
    return (
        {name: headers[name] for name in CREDENTIAL_HEADERS if name in headers},
        {name: body["args"][name] for name in CREDENTIAL_ARGS if name in body["args"]},
    )


def assert_no_credentials(body: Any) -> None:
    assert seen(body) == ({}, {})
    echoed = json.dumps(body)
    for secret in SECRETS:
        assert secret not in echoed


def assert_no_credentials_in(url: str | None, headers: Mapping[str, str]) -> None:
    assert url is not None
    assert not set(headers) & set(CREDENTIAL_HEADERS)
    assert "api_key" not in url
    for secret in SECRETS:
        assert secret not in url
        assert all(secret not in value for value in headers.values())


client_param = pytest.mark.parametrize("client", CLIENTS)
case_param = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))


# --- 1. BASIC_AUTH ----------------------------------------------------------------------------


@client_param
@pytest.mark.parametrize(
    ("password", "status"),
    [(PASSWORD, 200), ("wrong", 401), ("p:ä ß&", 200)],
    ids=["right", "wrong", "non-ascii"],
)
async def test_basic_auth(client: str, httpbin_url: str, password: str, status: int) -> None:
    record = {"authType": "BASIC_AUTH", "username": USER, "password": password}
    expected_password = PASSWORD if password == "wrong" else password
    url = f"{httpbin_url}/basic-auth/{USER}/{quote(expected_password, safe='')}"

    outcome = await send(client, record, url)

    assert outcome.status == status
    if status == 200:
        assert outcome.body == {"authenticated": True, "user": USER}


# --- 2. BEARER_TOKEN --------------------------------------------------------------------------


@client_param
async def test_bearer_token(client: str, httpbin_url: str) -> None:
    record = {"authType": "BEARER_TOKEN", "token": TOKEN}

    outcome = await send(client, record, f"{httpbin_url}/bearer")

    assert outcome.status == 200
    assert outcome.body == {"authenticated": True, "token": TOKEN}


# --- 3. API_KEY -------------------------------------------------------------------------------


def api_key_record(position: str, value: str = API_KEY, key: str | None = None) -> dict[str, Any]:
    name = key or ("X-API-KEY" if position == "header" else "api_key")
    return {"authType": "API_KEY", "apiKey": {"key": name, "value": value, "position": position}}


@client_param
@pytest.mark.parametrize(
    "own", [None, {"X-API-KEY": "mine"}, {"x-api-key": "mine"}], ids=["plain", "own", "own-lower"]
)
async def test_api_key_header_sent_once(
    client: str, httpbin_url: str, own: dict[str, str] | None
) -> None:
    outcome = await send(client, api_key_record("header"), f"{httpbin_url}/anything", headers=own)

    assert outcome.status == 200
    assert seen(outcome.body) == ({"x-api-key": API_KEY}, {})  # "mine,k3y..." if sent twice
    assert outcome.body["args"] == {}


@client_param
@pytest.mark.parametrize(
    ("query", "args"),
    [
        ("", {}),
        ("?api_key=old", {}),
        ("?a=1&api_key=old&b=2", {"a": "1", "b": "2"}),
        ("?api_key=old&api_key=older", {}),
        ("?api%5Fkey=old&x=%20y", {"x": " y"}),  # the name spelled with an escape is ours too
        ("?API_KEY=other", {"API_KEY": "other"}),  # names are case-sensitive: not ours
    ],
)
async def test_api_key_query_replaces_not_duplicates(
    client: str, httpbin_url: str, query: str, args: dict[str, str]
) -> None:
    outcome = await send(client, api_key_record("query"), f"{httpbin_url}/anything{query}")

    assert outcome.status == 200
    assert outcome.body["args"] == {**args, "api_key": API_KEY}
    assert "x-api-key" not in {name.lower() for name in outcome.body["headers"]}


@client_param
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("api_key", "a b&c/d+e=f?g#h%25;ü€"),
        ("api key&=/+ü", "v a+l=u&e"),
    ],
    ids=["reserved-value", "reserved-name"],
)
async def test_api_key_query_reserved_characters(
    client: str, httpbin_url: str, key: str, value: str
) -> None:
    record = api_key_record("query", value=value, key=key)

    outcome = await send(client, record, f"{httpbin_url}/anything?other=1")

    assert outcome.status == 200
    assert outcome.body["args"] == {"other": "1", key: value}


@client_param
async def test_api_key_header_reserved_characters(client: str, httpbin_url: str) -> None:
    value = "a b&c/d+e=f?g;h%20,i"
    outcome = await send(client, api_key_record("header", value=value), f"{httpbin_url}/anything")

    assert seen(outcome.body)[0] == {"x-api-key": value}


# --- 4. static headers and Content-Type -------------------------------------------------------

STATIC_RECORD = {"authType": "NO_AUTH", "headers": [STATIC], "contentType": "json"}


@client_param
@pytest.mark.parametrize(
    ("own", "source", "content_type"),
    [
        ({}, STATIC_VALUE, "application/json"),
        ({"X-Request-Source": "mine"}, "mine", "application/json"),
        ({"x-request-source": "mine"}, "mine", "application/json"),
        ({"Content-Type": "text/plain"}, STATIC_VALUE, "text/plain"),
    ],
    ids=["defaults", "own-static", "own-static-lower", "own-content-type"],
)
async def test_static_headers_fill_in_only(
    client: str, httpbin_url: str, own: dict[str, str], source: str, content_type: str
) -> None:
    outcome = await send(
        client, STATIC_RECORD, f"{httpbin_url}/anything", method="POST", headers=own, content=b"{}"
    )

    assert outcome.status == 200
    headers = {name.lower(): value for name, value in outcome.body["headers"].items()}
    assert headers["x-request-source"] == source
    assert headers["content-type"] == content_type
    assert outcome.body["data"] == "{}"


@client_param
@pytest.mark.parametrize("own", ["Bearer other", "Basic b3RoZXI6b3RoZXI="])
async def test_record_authorization_beats_request_authorization(
    client: str, httpbin_url: str, own: str
) -> None:
    record = {"authType": "BEARER_TOKEN", "token": TOKEN}

    outcome = await send(client, record, f"{httpbin_url}/anything", headers={"Authorization": own})

    assert seen(outcome.body)[0] == {"authorization": f"Bearer {TOKEN}"}


# --- 5. scope (baseUrl) -----------------------------------------------------------------------


def scoped_bearer(base_url: str) -> dict[str, Any]:
    return {"authType": "BEARER_TOKEN", "token": TOKEN, "baseUrl": base_url, "headers": [STATIC]}


@client_param
@pytest.mark.parametrize("path", ["/anything", "/anything/x/", "/anything/x/y?q=1"])
async def test_scope_allows_requests_inside(client: str, httpbin_url: str, path: str) -> None:
    outcome = await send(client, scoped_bearer(f"{httpbin_url}/anything"), httpbin_url + path)

    assert outcome.status == 200
    assert seen(outcome.body)[0] == CASES["bearer"].headers


@client_param
@pytest.mark.parametrize(
    "path",
    [
        "/headers",
        "/anythingelse",  # a prefix by characters, not by whole segments
        "/anything/../headers",
        "/anything/%2e%2e/headers",
        "/anything/%2E%2E%2Fheaders",
    ],
)
async def test_scope_refuses_other_paths(client: str, httpbin_url: str, path: str) -> None:
    with pytest.raises(ScopeError):
        await send(client, scoped_bearer(f"{httpbin_url}/anything"), httpbin_url + path)


@pytest.fixture
def silent_server() -> Iterator[tuple[str, socket.socket]]:
    """A listening socket nobody accepts from: any connection attempt waits in its backlog."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", listener


@client_param
async def test_scope_refuses_other_origin_before_connecting(
    client: str, httpbin_url: str, silent_server: tuple[str, socket.socket]
) -> None:
    other, listener = silent_server

    with pytest.raises(ScopeError):
        await send(client, scoped_bearer(f"{httpbin_url}/anything"), f"{other}/anything")

    with pytest.raises(BlockingIOError):  # no connection was even attempted
        listener.accept()


@client_param
@pytest.mark.parametrize("where", ["second-server", "localhost", "https"])
async def test_scope_refuses_other_origins(
    client: str, httpbin_url: str, second_httpbin_url: str, where: str
) -> None:
    url = {
        "second-server": f"{second_httpbin_url}/anything",
        "localhost": f"{httpbin_url.replace('127.0.0.1', 'localhost')}/anything",
        "https": f"{httpbin_url.replace('http:', 'https:')}/anything",
    }[where]

    with pytest.raises(ScopeError):
        await send(client, scoped_bearer(f"{httpbin_url}/anything"), url)


# --- 6. redirects -----------------------------------------------------------------------------


@client_param
@case_param
@pytest.mark.parametrize("status", STATUSES)
async def test_redirect_to_other_origin_carries_no_credentials(
    client: str, httpbin_url: str, second_httpbin_url: str, case: Case, status: int
) -> None:
    url = redirect_to(httpbin_url, f"{second_httpbin_url}/anything", status)

    outcome = await send(client, case.record, url)

    assert outcome.status == 200
    assert outcome.url.startswith(second_httpbin_url)
    assert len(outcome.locations) == 2
    assert_no_credentials(outcome.body)


@client_param
@case_param
@pytest.mark.parametrize("status", STATUSES)
async def test_redirected_post_to_other_origin_carries_no_credentials(
    client: str, httpbin_url: str, second_httpbin_url: str, case: Case, status: int
) -> None:
    url = redirect_to(httpbin_url, f"{second_httpbin_url}/anything", status)

    outcome = await send(client, case.record, url, method="POST", content=b"payload")

    keeps_method = status in (307, 308)
    assert outcome.status == 200
    assert outcome.body["method"] == ("POST" if keeps_method else "GET")
    assert outcome.body["data"] == ("payload" if keeps_method else "")
    assert_no_credentials(outcome.body)


OUT_OF_SCOPE = {
    "scheme-relative": lambda a, b: redirect_to(a, f"//{authority(b)}/anything"),
    "other-host-name": lambda a, b: redirect_to(
        a, f"{a.replace('127.0.0.1', 'localhost')}/anything"
    ),
    "in-scope-hop-first": lambda a, b: redirect_to(a, redirect_to("", f"{b}/anything", 307)),
    "two-hops-outside": lambda a, b: redirect_to(a, redirect_to(b, f"{b}/anything")),
}


@client_param
@case_param
@pytest.mark.parametrize("how", list(OUT_OF_SCOPE))
async def test_redirect_out_of_scope_variants(
    client: str, httpbin_url: str, second_httpbin_url: str, case: Case, how: str
) -> None:
    url = OUT_OF_SCOPE[how](httpbin_url, second_httpbin_url)

    outcome = await send(client, case.record, url)

    assert outcome.status == 200
    assert outcome.body["url"].endswith("/anything")
    assert_no_credentials(outcome.body)


@client_param
@case_param
@pytest.mark.parametrize(
    ("base_path", "target"),
    [("/redirect-to", "{a}/anything"), ("/", "{b}/anything")],
    ids=["same-origin-other-path", "other-origin"],
)
async def test_redirect_out_of_base_url(
    client: str,
    httpbin_url: str,
    second_httpbin_url: str,
    case: Case,
    base_path: str,
    target: str,
) -> None:
    record = {**case.record, "baseUrl": httpbin_url + base_path}
    location = target.format(a=httpbin_url, b=second_httpbin_url)

    outcome = await send(client, record, redirect_to(httpbin_url, location, 307))

    assert outcome.status == 200
    assert outcome.url == location
    assert_no_credentials(outcome.body)


@client_param
@case_param
@pytest.mark.parametrize(
    ("location", "status"),
    [
        *(pytest.param("/anything", status, id=f"relative-{status}") for status in STATUSES),
        pytest.param("{a}/anything", 302, id="absolute"),
        pytest.param("/anything?x=1&api_key=old", 302, id="with-query-302"),
        pytest.param("/anything?x=1&api_key=old", 307, id="with-query-307"),
        pytest.param("/redirect-to?url=%2Fanything", 302, id="two-hops"),
    ],
)
async def test_redirect_in_scope_keeps_credentials(
    client: str, httpbin_url: str, case: Case, status: int, location: str
) -> None:
    url = redirect_to(httpbin_url, location.format(a=httpbin_url), status)

    outcome = await send(client, case.record, url)

    assert outcome.status == 200
    assert outcome.url.startswith(f"{httpbin_url}/anything")
    expected_args = {"x": "1", "api_key": "old"} if "x=1" in location else {}
    assert seen(outcome.body)[0] == case.headers
    assert outcome.body["args"] == {**expected_args, **case.args}  # the key exactly once


@client_param
@case_param
async def test_redirect_in_scope_with_base_url_keeps_credentials(
    client: str, httpbin_url: str, case: Case
) -> None:
    record = {**case.record, "baseUrl": f"{httpbin_url}/"}

    outcome = await send(client, record, redirect_to(httpbin_url, "/anything"))

    assert seen(outcome.body) == (case.headers, case.args)


@client_param
@case_param
@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("target", ["other-port", "https"])
async def test_unfollowed_redirect_next_request_carries_no_credentials(
    client: str, httpbin_url: str, second_httpbin_url: str, case: Case, status: int, target: str
) -> None:
    location = {
        "other-port": f"{second_httpbin_url}/anything",
        "https": f"https://{authority(httpbin_url)}/anything",  # never sent: no TLS server
    }[target]

    outcome = await send(
        client, case.record, redirect_to(httpbin_url, location, status), follow=False
    )

    assert outcome.status == status
    assert outcome.next_url == location
    assert_no_credentials_in(outcome.next_url, outcome.next_headers)


@client_param
@case_param
async def test_redirect_responses_keep_the_location_the_server_sent(
    client: str, httpbin_url: str, case: Case
) -> None:
    outcome = await send(client, case.record, redirect_to(httpbin_url, "/anything"))

    assert outcome.locations == ("/anything", None)


@pytest.mark.parametrize("client", ["requests"])
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=name,
        )
        for name, case in CASES.items()
    ],
)
async def test_unfollowed_redirect_keeps_the_location_the_server_sent(
    client: str, httpbin_url: str, case: Case
) -> None:
    outcome = await send(client, case.record, redirect_to(httpbin_url, "/anything"), follow=False)

    assert outcome.locations == ("/anything",)


@client_param
async def test_redirect_loops_end(client: str, httpbin_url: str) -> None:
    errors = (httpx.TooManyRedirects, requests.TooManyRedirects)
    with pytest.raises(errors):
        await send(client, CASES["bearer"].record, f"{httpbin_url}/redirect/35")


# --- 6b. httpx following redirects itself: unsafe, and credsign says so ---------------------


async def get_with_following_client(
    auth: HttpxAuth, url: str, asynchronous: bool
) -> httpx.Response:
    """GET through an httpx client that follows redirects itself (the unsafe configuration)."""
    if asynchronous:
        async with httpx.AsyncClient(auth=auth, follow_redirects=True, verify=TLS) as async_client:
            return await async_client.get(url)
    with httpx.Client(auth=auth, follow_redirects=True, verify=TLS) as sync_client:
        return sync_client.get(url)


@pytest.mark.parametrize("auth_follows", [False, True])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_client_following_redirects_warns(
    httpbin_url: str, second_httpbin_url: str, auth_follows: bool, asynchronous: bool
) -> None:
    auth = HttpxAuth(parse_record(CASES["api-key-header"].record), follow_redirects=auth_follows)
    url = redirect_to(httpbin_url, f"{second_httpbin_url}/anything")

    with pytest.warns(RedirectWarning):
        response = await get_with_following_client(auth, url, asynchronous)

    assert response.status_code == 200


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_client_following_redirects_without_a_redirect_is_quiet(
    httpbin_url: str, asynchronous: bool
) -> None:
    # pyproject turns RedirectWarning into an error: this passes only if none is emitted.
    auth = HttpxAuth(parse_record(CASES["bearer"].record))

    response = await get_with_following_client(auth, f"{httpbin_url}/anything", asynchronous)

    assert seen(response.json()) == (CASES["bearer"].headers, {})
