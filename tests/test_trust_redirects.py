"""Redirects under attack, end to end against real httpbin servers on 127.0.0.1.

- An in-scope hop of a body-hashing signer (AWS4 signed payload, HMAC with
  content-digest) is re-signed over its own body, sync and async.
- A -> B -> A: the hop back inside the scope is authenticated again (requests'
  ``rebuild_auth`` strips Authorization on every host change).
- Following by hand (``allow_redirects=False``, then ``Session.send(r.next)``): the
  caller only ever reads the Location the server sent, never a re-signed URL.

The signatures the last hop carried are checked with credsign's verifiers on what
httpbin echoed back (method, URL, every header, the body).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from credsign import RequestsAuth, parse_record
from credsign.verify.rfc9421 import Rfc9421Verifier
from credsign.verify.sigv4 import verify_sigv4
from tests.test_e2e import API_KEY, CASES, CLIENTS, Case, redirect_to, seen, send

ACCESS_KEY, SECRET_KEY = "AKIDREDIRECT", "redirect-secret-key"
HMAC_ID, HMAC_SECRET = "redirect-client", "redirect-hmac-secret"
AWS4 = {
    "authType": "AWS4",
    "accessKey": ACCESS_KEY,
    "secretKey": SECRET_KEY,
    "region": "eu-west-1",
    "service": "execute-api",
}
HMAC = {"authType": "HMAC_SHA256", "clientId": HMAC_ID, "clientSecret": HMAC_SECRET}
BODY_SIGNERS = {"aws4-signed-payload": AWS4, "hmac": HMAC}
BODY = b'{"order": 42, "note": "r\xc3\xa9sum\xc3\xa9"}'

# (status, what the next hop's method is): 302 turns a POST into a GET without a body.
HOPS = [pytest.param(302, "GET", id="302-same-origin"), (307, "POST"), (308, "POST")]

client_param = pytest.mark.parametrize("client", CLIENTS)


def assert_verifies(echo: dict[str, Any], record: dict[str, Any], body: bytes) -> None:
    """The hop httpbin saw carries a valid signature of ``record``'s kind over ``body``."""
    headers = list(echo["headers"].items())
    if record["authType"] == "AWS4":
        verified = verify_sigv4(
            echo["method"], echo["url"], headers, body, secret_for={ACCESS_KEY: SECRET_KEY}.get
        )
        assert verified.access_key == ACCESS_KEY
    else:
        verifier = Rfc9421Verifier(key_for={HMAC_ID: HMAC_SECRET.encode()}.get)
        assert verifier.verify(echo["method"], echo["url"], headers, body).keyid == HMAC_ID


def echoed_body(echo: dict[str, Any]) -> bytes:
    data: str = echo["data"]
    return data.encode()


# --- item 2: an in-scope hop is re-signed over its body ---------------------------------------


@client_param
@pytest.mark.parametrize("signer", list(BODY_SIGNERS))
@pytest.mark.parametrize(("status", "method"), HOPS)
async def test_in_scope_redirect_resigns_over_the_body(
    client: str, httpbin_url: str, signer: str, status: int, method: str
) -> None:
    record = BODY_SIGNERS[signer]
    url = redirect_to(httpbin_url, "/anything?hop=2", status)
    headers = {"Content-Type": "application/json"}

    outcome = await send(client, record, url, method="POST", headers=headers, content=BODY)

    assert outcome.status == 200
    echo = outcome.body
    assert echo["method"] == method
    body = BODY if method == "POST" else b""
    assert echoed_body(echo) == body
    assert_verifies(echo, record, body)


@client_param
@pytest.mark.parametrize("signer", list(BODY_SIGNERS))
async def test_in_scope_redirect_with_a_base_url_resigns_over_the_body(
    client: str, httpbin_url: str, signer: str
) -> None:
    record = {**BODY_SIGNERS[signer], "baseUrl": f"{httpbin_url}/"}
    url = redirect_to(httpbin_url, f"{httpbin_url}/anything", 307)

    outcome = await send(client, record, url, method="PUT", content=BODY)

    assert outcome.status == 200
    assert_verifies(outcome.body, record, BODY)


# --- item 3: A -> B -> A ----------------------------------------------------------------------

ROUND_TRIP_CASES = {
    **{name: case for name, case in CASES.items() if name != "no-auth"},
    **{name: Case(record, {}) for name, record in BODY_SIGNERS.items()},
}


@client_param
@pytest.mark.parametrize("case", list(ROUND_TRIP_CASES.values()), ids=list(ROUND_TRIP_CASES))
@pytest.mark.parametrize("status", [302, 307])
async def test_back_inside_the_scope_is_authenticated_again(
    client: str, httpbin_url: str, second_httpbin_url: str, case: Case, status: int
) -> None:
    back = f"{httpbin_url}/anything?back=1"
    url = redirect_to(httpbin_url, redirect_to(second_httpbin_url, back, status), status)

    outcome = await send(client, case.record, url)

    assert outcome.status == 200
    assert outcome.url.startswith(f"{httpbin_url}/anything")
    if case.headers or case.args:
        assert seen(outcome.body) == (case.headers, case.args)
    else:
        assert_verifies(outcome.body, case.record, b"")


@pytest.mark.parametrize("status", [302, 307])
def test_the_hop_out_of_the_scope_still_carries_nothing(
    httpbin_url: str, second_httpbin_url: str, status: int
) -> None:
    """Following by hand shows each hop: B gets no credentials, A gets them again."""
    back = f"{httpbin_url}/anything"
    url = redirect_to(httpbin_url, redirect_to(second_httpbin_url, back, status), status)
    with requests.Session() as session:
        session.trust_env = False
        session.auth = RequestsAuth(parse_record(CASES["bearer"].record))
        first = session.get(url, allow_redirects=False, timeout=10)
        to_b = first.next
        assert to_b is not None and to_b.url is not None
        assert to_b.url.startswith(second_httpbin_url)
        assert "Authorization" not in to_b.headers
        from_b = session.send(to_b, allow_redirects=False, timeout=10)
        to_a = from_b.next
        assert to_a is not None
        assert to_a.headers["Authorization"] == CASES["bearer"].headers["authorization"]


# --- item 4: requests, following by hand ------------------------------------------------------


def chain(base: str, hops: int, status: int) -> tuple[str, list[str]]:
    """A URL on ``base`` redirecting ``hops`` times in scope, and each Location sent."""
    location = "/anything?x=1"
    locations = [location]
    for _ in range(hops - 1):
        location = redirect_to("", location, status)
        locations.insert(0, location)
    return redirect_to(base, location, status), locations


PRESIGNED = {**AWS4, "signatureLocation": "query"}
MANUAL_CASES = {**CASES, "aws4-presigned": Case(PRESIGNED, {})}


@pytest.mark.parametrize("case", list(MANUAL_CASES.values()), ids=list(MANUAL_CASES))
@pytest.mark.parametrize("status", [302, 307, 308])
@pytest.mark.parametrize("hops", [1, 2, 3])
def test_manual_following_shows_only_the_locations_the_server_sent(
    httpbin_url: str, case: Case, status: int, hops: int
) -> None:
    url, sent = chain(httpbin_url, hops, status)
    with requests.Session() as session:
        session.trust_env = False
        session.auth = RequestsAuth(parse_record(case.record))
        response = session.get(url, allow_redirects=False, timeout=10)
        shown = [response.headers.get("Location")]  # read as a caller would: right away
        while response.next is not None:
            shown_headers = json.dumps(dict(response.headers))
            assert API_KEY not in shown_headers and "X-Amz-" not in shown_headers
            response = session.send(response.next, allow_redirects=False, timeout=10)
            shown.append(response.headers.get("Location"))
            assert response.headers.get("LOCATION") == shown[-1]

    assert shown == [*sent, None]
    if case.record is PRESIGNED:
        assert_verifies(response.json(), case.record, b"")
    else:
        assert seen(response.json()) == (case.headers, case.args)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("status", [302, 307])
def test_send_of_next_following_on_shows_only_what_the_server_sent(
    httpbin_url: str, case: Case, status: int
) -> None:
    url, sent = chain(httpbin_url, 3, status)
    with requests.Session() as session:
        session.trust_env = False
        session.auth = RequestsAuth(parse_record(case.record))
        first = session.get(url, allow_redirects=False, timeout=10)
        assert first.next is not None
        last = session.send(first.next, timeout=10)  # requests follows the rest
        shown = [first, *last.history, last]
        assert [r.headers.get("Location") for r in shown] == [*sent, None]
    assert seen(last.json()) == (case.headers, case.args)
