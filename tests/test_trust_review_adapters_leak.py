"""A server in scope redirects out of it with a credential embedded in another parameter.

``Location: http://B/login?return_to=<the URL it was sent, api_key and all>``: stripping
credsign's own parameters leaves that copy. A hop outside the scope never carries a
credential of the record in any encoding (percent-encoded once or more, either hex
case, ``+`` for space, in the path or the query): credsign refuses to follow it with
``ScopeError`` and sends nothing, through httpx (following, and by hand) and requests.
Real peers on 127.0.0.1 record what reached them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

import httpx
import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import HttpxAuth, RequestsAuth, ScopeError, parse_record
from credsign.record_fields import secret_values
from tests.test_trust_review_adapters import Peer, a_b, by_hand, peers

__all__ = ["a_b", "peers"]  # fixtures

CREDENTIAL_PARAMS = {"api_key", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token"}

ENCODINGS: dict[str, Callable[[str], str]] = {
    "quote": lambda text: quote(text, safe=""),
    "quote-plus": lambda text: quote_plus(text, safe=""),
    "lower-hex": lambda text: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), text),
    "keep-slashes": lambda text: quote(text, safe="/:"),
}


def record_body(kind: str, secret: str, base: str) -> dict[str, Any]:
    if kind == "api-key-query":
        api_key = {"key": "api_key", "value": secret, "position": "query"}
        return {"authType": "API_KEY", "apiKey": api_key, "baseUrl": base}
    if kind == "bearer":
        return {"authType": "BEARER_TOKEN", "token": secret, "baseUrl": base}
    return {  # a presigned URL: its X-Amz-* values are credentials too
        "authType": "AWS4",
        "accessKey": "AKIDLEAK",
        "secretKey": secret,
        "sessionToken": "session-token-leak",
        "region": "us-east-1",
        "service": "s3",
        "signatureLocation": "query",
        "baseUrl": base,
    }


def reflect(kind: str, steps: list[str], in_path: bool, b: Peer, a: Peer) -> Any:
    """A's login redirect: the URL (or, for a header credential, the header) it was sent."""

    def reply(path: str, headers: dict[str, str]) -> str | None:
        if not path.startswith("/v1/"):
            return None
        echoed = headers["authorization"] if kind == "bearer" else f"{a.url}{path}"
        for step in steps:
            echoed = ENCODINGS[step](echoed)
        return f"{b.url}/login/{echoed}" if in_path else f"{b.url}/login?return_to={echoed}"

    return reply


def forms(text: str) -> set[str]:
    """``text`` decoded zero to four times, ``+`` read as a space or not."""
    found = {text}
    for _ in range(4):
        found |= {unquote(f) for f in found} | {unquote(f.replace("+", " ")) for f in found}
    return found


def credentials(record: Any, a: Peer) -> list[str]:
    """What must never leave the scope: the record's secrets, and what A got in its URL."""
    sent = [value for path, _ in a.seen for name, value in parse_qsl(urlsplit(path).query)]
    names = [name for path, _ in a.seen for name, _ in parse_qsl(urlsplit(path).query)]
    carried = [value for name, value in zip(names, sent, strict=True) if name in CREDENTIAL_PARAMS]
    return [*secret_values(record), *carried]


def assert_nothing_left_the_scope(b: Peer, secrets: list[str]) -> None:
    for path, headers in b.seen:
        for form in forms(path):
            assert not any(secret in form for secret in secrets)
        assert not any(secret in value for secret in secrets for value in headers.values())


def assert_refusal_is_clean(error: ScopeError, secrets: list[str]) -> None:
    shown = f"{error} {error.args!r}"
    assert not any(secret in shown for secret in secrets)
    assert "carries a credential" in str(error)


KINDS = st.sampled_from(["api-key-query", "bearer", "aws4-presigned"])
SECRETS = st.sampled_from(["SECRETKEY123", "k y+/%&=x", "tok.en-~_", "sk/With+Plus=="])
# The first step encodes: a Location reflecting the raw URL makes api_key its own parameter,
# which credsign strips (and then follows the hop).
STEPS = st.builds(
    lambda first, rest: [first, *rest],
    st.sampled_from(["quote", "quote-plus", "keep-slashes"]),
    st.lists(st.sampled_from(list(ENCODINGS)), max_size=2),
)
CLIENTS = st.sampled_from(["httpx-follow", "httpx-by-hand", "httpx-async-by-hand", "requests"])


def run(client: str, record: Any, url: str) -> None:
    if client == "requests":
        with requests.Session() as session:
            session.trust_env = False
            session.get(url, auth=RequestsAuth(record), timeout=10)
    elif client == "httpx-follow":
        auth = HttpxAuth(record, follow_redirects=True)
        with httpx.Client(auth=auth, trust_env=False) as sync_client:
            sync_client.get(url)
    else:
        sync = client == "httpx-by-hand"
        asyncio.run(by_hand("httpx" if sync else "httpx-async", HttpxAuth(record), url))


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(KINDS, SECRETS, STEPS, st.booleans(), CLIENTS)
@example("api-key-query", "SECRETKEY123", ["quote"], False, "httpx-follow")  # the review's case
@example("api-key-query", "SECRETKEY123", ["quote"], False, "requests")
@example("api-key-query", "SECRETKEY123", ["quote"], False, "httpx-by-hand")
@example("aws4-presigned", "SECRETKEY123", ["quote", "quote"], True, "requests")
@example("aws4-presigned", "SECRETKEY123", ["quote-plus"], False, "httpx-async-by-hand")
@example("bearer", "k y+/%&=x", ["quote-plus", "lower-hex"], False, "httpx-follow")
def test_no_hop_outside_the_scope_carries_a_credential(
    a_b: tuple[Peer, Peer], kind: str, secret: str, steps: list[str], in_path: bool, client: str
) -> None:
    a, b = a_b
    a.seen.clear()
    b.seen.clear()
    a.reply = reflect(kind, steps, in_path, b, a)
    record = parse_record(record_body(kind, secret, f"{a.url}/v1"))

    with pytest.raises(ScopeError) as refused:
        run(client, record, f"{a.url}/v1/orders?page=2")

    assert_refusal_is_clean(refused.value, credentials(record, a))
    assert b.seen == []  # nothing was sent


@pytest.mark.parametrize("client", ["httpx-follow", "httpx-by-hand", "requests"])
def test_a_redirect_out_of_scope_without_a_credential_is_still_followed(
    a_b: tuple[Peer, Peer], client: str
) -> None:
    """Only hops holding a credential are refused: the usual login redirect still works."""
    a, b = a_b
    a.reply = lambda path, headers: (
        f"{b.url}/login?return_to=%2Fv1%2Forders" if "v1" in path else None
    )
    record = parse_record(record_body("api-key-query", "SECRETKEY123", f"{a.url}/v1"))
    run(client, record, f"{a.url}/v1/orders")
    assert [path for path, _ in b.seen] == ["/login?return_to=%2Fv1%2Forders"]
