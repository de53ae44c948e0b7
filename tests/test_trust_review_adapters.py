"""Redirects followed by hand, and Locations the clients cannot parse, against real peers.

- httpx, by hand (``client.send(response.next_request)``): the hop is judged against
  the chain's scope (the baseUrl, else the first request's origin), never afresh, so a
  record without baseUrl does not sign the foreign hop; outside the scope it goes with
  none of the record's credentials, for a record with a baseUrl too.
- requests: a Location requests would follow, or refuse, is met the way requests meets
  it (``requests.exceptions.InvalidURL``), never with a bare ``ValueError`` from credsign.

The peers are real HTTP servers on 127.0.0.1 that record what reached them.
"""

from __future__ import annotations

import gc
import http.server
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests

from credsign import HttpxAuth, RequestsAuth, ScopeError, parse_record
from tests.test_e2e import CASES, CREDENTIAL_HEADERS, SECRETS, Case

Reply = Callable[[str, dict[str, str]], "str | None"]


class Peer:
    """An HTTP server on 127.0.0.1: records each request, answers 302 to ``reply``'s Location."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.reply: Reply = lambda path, headers: None
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                headers = {name.lower(): value for name, value in self.headers.items()}
                peer.seen.append((self.path, headers))
                location = peer.reply(self.path, headers)
                self.send_response(200 if location is None else 302)
                if location is not None:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.seen.clear()
        self.reply = lambda path, headers: None


@pytest.fixture(scope="module")
def peers() -> Iterator[tuple[Peer, Peer]]:
    """Two origins, A and B (they differ by port)."""
    pair = Peer(), Peer()
    yield pair
    for peer in pair:
        peer.server.shutdown()
        peer.server.server_close()


@pytest.fixture
def a_b(peers: tuple[Peer, Peer]) -> tuple[Peer, Peer]:
    for peer in peers:
        peer.reset()
    return peers


def assert_carries_nothing(path: str, headers: dict[str, str]) -> None:
    assert not set(headers) & set(CREDENTIAL_HEADERS)
    assert "api_key" not in path
    for secret in SECRETS:
        assert secret not in path
        assert all(secret not in value for value in headers.values())


def assert_carries(case: Case, path: str, headers: dict[str, str]) -> None:
    assert {name: headers.get(name) for name in case.headers} == case.headers
    for name, value in case.args.items():
        assert f"{name}={value}" in path


async def by_hand(client: str, auth: HttpxAuth, url: str, **options: Any) -> list[httpx.Response]:
    """GET ``url``, then send each ``next_request`` through the same client, as the docs show."""
    responses = []
    if client == "httpx":
        with httpx.Client(auth=auth, trust_env=False) as sync_client:
            response = sync_client.get(url, **options)
            responses.append(response)
            while response.next_request is not None:
                response = sync_client.send(response.next_request)
                responses.append(response)
        return responses
    async with httpx.AsyncClient(auth=auth, trust_env=False) as async_client:
        response = await async_client.get(url, **options)
        responses.append(response)
        while response.next_request is not None:
            response = await async_client.send(response.next_request)
            responses.append(response)
    return responses


async def send_once(client: str, auth: HttpxAuth, request: httpx.Request) -> httpx.Response:
    if client == "httpx":
        with httpx.Client(auth=auth, trust_env=False) as sync_client:
            return sync_client.send(request)
    async with httpx.AsyncClient(auth=auth, trust_env=False) as async_client:
        return await async_client.send(request)


HTTPX = pytest.mark.parametrize("client", ["httpx", "httpx-async"])
CASE = pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
SCOPED = pytest.mark.parametrize("scoped", [False, True], ids=["no-base-url", "base-url"])


def EVERY_CHAIN(test: Any) -> Any:
    """Each client, each record kind, with and without a baseUrl."""
    return HTTPX(CASE(SCOPED(test)))


def record_for(case: Case, a: Peer, scoped: bool) -> Any:
    return parse_record({**case.record, "baseUrl": a.url} if scoped else case.record)


@EVERY_CHAIN
@pytest.mark.parametrize("back", [False, True], ids=["a-to-b", "a-to-b-to-a"])
async def test_a_hop_sent_by_hand_is_judged_by_its_chain(
    a_b: tuple[Peer, Peer], client: str, case: Case, scoped: bool, back: bool
) -> None:
    """Out to B: no credential (however the record is scoped). Back to A: signed again."""
    a, b = a_b
    a.reply = lambda path, headers: f"{b.url}/steal" if path.startswith("/start") else None
    b.reply = lambda path, headers: f"{a.url}/back" if back else None
    auth = HttpxAuth(record_for(case, a, scoped))

    responses = await by_hand(client, auth, f"{a.url}/start")

    assert [r.status_code for r in responses] == ([302, 302, 200] if back else [302, 200])
    [(path, headers)] = b.seen
    assert path == "/steal"
    assert_carries_nothing(path, headers)
    assert [path.partition("?")[0] for path, _ in a.seen] == ["/start", "/back"][: 1 + back]
    for path, headers in a.seen:
        assert_carries(case, path, headers)


@HTTPX
@CASE
async def test_a_fresh_request_to_another_origin_is_still_signed_without_base_url(
    a_b: tuple[Peer, Peer], client: str, case: Case
) -> None:
    """Only hops of a chain are held to its scope; a shared extensions dict changes nothing."""
    a, b = a_b
    a.reply = lambda path, headers: f"{b.url}/steal" if path.startswith("/start") else None
    auth = HttpxAuth(parse_record(case.record))
    shared: dict[str, Any] = {}
    if client == "httpx":
        with httpx.Client(auth=auth, trust_env=False) as sync_client:
            sync_client.get(f"{a.url}/start", extensions=shared)
            sync_client.get(f"{b.url}/fresh", extensions=shared)
    else:
        async with httpx.AsyncClient(auth=auth, trust_env=False) as async_client:
            await async_client.get(f"{a.url}/start", extensions=shared)
            await async_client.get(f"{b.url}/fresh", extensions=shared)
    assert_carries(case, *b.seen[0])


@HTTPX
async def test_a_fresh_request_outside_a_base_url_is_still_refused(
    a_b: tuple[Peer, Peer], client: str
) -> None:
    a, b = a_b
    auth = HttpxAuth(parse_record({**CASES["bearer"].record, "baseUrl": a.url}))
    with pytest.raises(ScopeError):
        await by_hand(client, auth, f"{b.url}/fresh")
    assert b.seen == []


def test_requests_send_of_next_stays_judged_by_the_chain(a_b: tuple[Peer, Peer]) -> None:
    a, b = a_b
    a.reply = lambda path, headers: f"{b.url}/bounce" if path.startswith("/start") else None
    b.reply = lambda path, headers: f"{a.url}/back"
    case = CASES["api-key-query"]
    with requests.Session() as session:
        session.trust_env = False
        session.auth = RequestsAuth(parse_record(case.record))
        response = session.get(f"{a.url}/start", allow_redirects=False, timeout=10)
        while response.next is not None:
            response = session.send(response.next, allow_redirects=False, timeout=10)
    assert_carries_nothing(*b.seen[0])
    assert_carries(case, *a.seen[1])


# --- Locations the clients cannot parse -------------------------------------------------------

BAD_LOCATIONS = {
    "tab-after-port": "{a}\t/x",
    "port-over-65535": "http://127.0.0.1:99999/x",
    "port-not-a-number": "http://127.0.0.1:abc/x",
    "negative-port": "http://127.0.0.1:-1/x",
    "unclosed-ipv6": "http://[::1/x",
}


def _outcome(a: Peer, auth: RequestsAuth | None) -> str:
    try:
        response = requests.get(f"{a.url}/start", auth=auth, timeout=10)
    except Exception as error:  # what requests raises is the expectation
        frames = traceback.extract_tb(error.__traceback__)
        assert all("/credsign/" not in frame.filename for frame in frames)  # requests' own
        return type(error).__name__
    return str(response.status_code)


@pytest.mark.parametrize("location", list(BAD_LOCATIONS.values()), ids=list(BAD_LOCATIONS))
def test_requests_meets_an_unparseable_location_as_without_credsign(
    a_b: tuple[Peer, Peer], location: str
) -> None:
    a, _ = a_b
    target = location.format(a=a.url)
    a.reply = lambda path, headers: target if path.startswith("/start") else None
    without = _outcome(a, None)
    a.seen.clear()

    record = parse_record(CASES["bearer"].record)
    assert _outcome(a, RequestsAuth(record)) == without
    for path, headers in a.seen[1:]:  # a hop requests did follow went back to A, in scope
        assert_carries(CASES["bearer"], path, headers)


def test_the_hops_credsign_remembers_go_with_their_requests(a_b: tuple[Peer, Peer]) -> None:
    a, b = a_b
    a.reply = lambda path, headers: f"{b.url}/steal"
    auth = HttpxAuth(parse_record(CASES["bearer"].record))
    with httpx.Client(auth=auth) as client:
        responses = [client.get(f"{a.url}/start") for _ in range(3)]
    assert len(auth._hops) == 3
    del responses
    gc.collect()
    assert auth._hops == {}


@HTTPX
async def test_a_hop_sent_through_another_auth_is_judged_by_that_auth(
    a_b: tuple[Peer, Peer], client: str
) -> None:
    """The chain of one record's auth does not widen another record's scope."""
    a, _ = a_b
    a.reply = lambda path, headers: f"{a.url}/elsewhere" if path.startswith("/v1/") else None
    first = HttpxAuth(parse_record(CASES["api-key-header"].record))
    second = HttpxAuth(parse_record({**CASES["bearer"].record, "baseUrl": f"{a.url}/v1"}))
    with httpx.Client(auth=first, trust_env=False) as sync_client:
        pending = sync_client.get(f"{a.url}/v1/start").next_request
    assert pending is not None
    with pytest.raises(ScopeError):  # /elsewhere is outside the second record's baseUrl
        await send_once(client, second, pending)
