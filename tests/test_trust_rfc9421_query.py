"""Issue 10, items 13 and 14: RFC 9421 signs the target as sent, and always its query.

An empty query (httpx sends ``GET /p?``) is not an absent one (requests drops the
``?``); ``@query`` is covered and required by default, so nothing can be added to
the query after signing. Checked against http-message-signatures both ways.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import requests
from http_message_signatures import HTTPMessageSigner, HTTPMessageVerifier, algorithms

from tests.test_rfc9421 import (
    CLIENT_ID,
    CREATED,
    HMS_KEYS,
    KEYS,
    Wire,
    check,
    forge,
    hmac_record,
    refused,
    sign_httpx,
    sign_requests,
    signature_input,
    verifier,
)

KEY = KEYS[CLIENT_ID]


# --- Item 13: an empty query is not an absent one ---------------------------------------

TARGET_COMPONENTS = ["@method", "@authority", "@target-uri", "@request-target", "@query"]


@pytest.mark.parametrize(
    ("url", "target", "request_target"),
    [
        ("https://api.example.com/p?", "https://api.example.com/p?", "/p?"),
        ("https://api.example.com/p", "https://api.example.com/p", "/p"),
        ("https://api.example.com/?", "https://api.example.com/?", "/?"),
        ("https://api.example.com/p?#f", "https://api.example.com/p?", "/p?"),
    ],
)
def test_httpx_signs_the_target_it_sends(url: str, target: str, request_target: str) -> None:
    request = httpx.Request("GET", url)
    assert request.url.raw_path == request_target.encode()  # what httpx puts on the wire
    wire = Wire.of_httpx(sign_httpx(hmac_record(components=TARGET_COMPONENTS), request))
    lines = [
        ('"@method"', "GET"),
        ('"@authority"', "api.example.com"),
        ('"@target-uri"', target),
        ('"@request-target"', request_target),
        ('"@query"', "?"),
    ]
    _, params = signature_input(wire)
    own = f';created={CREATED};keyid="{CLIENT_ID}";alg="hmac-sha256"'
    assert params["created"] == CREATED
    assert forge(wire, lines, own, KEY).header("signature") == wire.header("signature")
    check(wire, verifier(required=()))
    other = target[:-1] if target.endswith("?") else target + "?"
    refused(Wire(wire.method, other, wire.headers, wire.body), "mismatch", verifier(required=()))
    # The independent implementation sees the same target.
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    signed = httpx.Request("GET", target, headers=dict(wire.headers))
    hms.verify(signed, max_age=timedelta(days=36500))


@pytest.mark.parametrize("url", ["https://api.example.com/p?", "https://api.example.com/p"])
def test_requests_signs_the_target_it_sends(url: str) -> None:
    prepared = requests.Request("GET", url).prepare()
    assert prepared.path_url == "/p"  # requests drops an empty "?" before it sends
    wire = Wire.of_requests(sign_requests(hmac_record(components=TARGET_COMPONENTS), prepared))
    check(wire, verifier(required=()))
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    hms.verify(prepared, max_age=timedelta(days=36500))  # it sees prepared.url, as sent
    refused(
        Wire(wire.method, "https://api.example.com/p?", wire.headers, None),
        "mismatch",
        verifier(required=()),
    )


@pytest.mark.parametrize("url", ["https://api.example.com/p?", "https://api.example.com/p"])
def test_credsign_verifies_what_http_message_signatures_signs_for_the_target(url: str) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    request = httpx.Request("GET", url)
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS).sign(
        request,
        key_id=CLIENT_ID,
        created=now,
        covered_component_ids=tuple(TARGET_COMPONENTS),
        label="sig1",
    )
    wire = Wire.of_httpx(request)
    assert wire.url == url
    check(wire, now=now)
    other = url[:-1] if url.endswith("?") else url + "?"
    refused(Wire(wire.method, other, wire.headers, wire.body), "mismatch", now=now)


# --- Item 14: the query is always covered and always required ---------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "https://api.example.com/orders", b""),
        ("GET", "https://api.example.com/orders?", b""),
        ("POST", "https://api.example.com/orders", b"x"),
    ],
)
def test_the_query_is_covered_even_when_absent(method: str, url: str, body: bytes) -> None:
    expected = ["@method", "@authority", "@path", "@query"] + (["content-digest"] if body else [])
    for wire in (
        Wire.of_httpx(sign_httpx(hmac_record(), httpx.Request(method, url, content=body))),
        Wire.of_requests(
            sign_requests(hmac_record(), requests.Request(method, url, data=body).prepare())
        ),
    ):
        names, _ = signature_input(wire)
        assert names == expected
        check(wire)


@pytest.mark.parametrize("adapter", ["httpx", "requests"])
@pytest.mark.parametrize("added", ["?admin=true", "?a", "?="])
def test_a_query_added_after_signing_is_refused(adapter: str, added: str) -> None:
    url = "https://api.example.com/orders"
    if adapter == "httpx":
        wire = Wire.of_httpx(sign_httpx(hmac_record(), httpx.Request("GET", url)))
    else:
        wire = Wire.of_requests(
            sign_requests(hmac_record(), requests.Request("GET", url).prepare())
        )
    refused(Wire(wire.method, url + added, wire.headers, wire.body), "mismatch")
    check(Wire(wire.method, url + "?", wire.headers, wire.body))  # @query is "?" for both


@pytest.mark.parametrize(
    ("covered", "missing"),
    [
        (["@method", "@authority", "@path"], "@query"),
        (["@method", "@authority", "@query"], "@path"),
        (["@method", "@path", "@query"], "@authority"),
        (["@authority", "@path", "@query"], "@method"),
    ],
)
def test_the_default_verifier_requires_method_authority_path_and_query(
    covered: list[str], missing: str
) -> None:
    wire = Wire.of_httpx(
        sign_httpx(hmac_record(components=covered), httpx.Request("GET", "https://a.example/o"))
    )
    assert missing in refused(wire, "missing_component")


def test_a_body_requires_content_digest_by_default() -> None:
    covered = ["@method", "@authority", "@path", "@query"]
    request = httpx.Request("POST", "https://a.example/o", content=b"x")
    wire = Wire.of_httpx(sign_httpx(hmac_record(components=covered), request))
    assert "content-digest" in refused(wire, "missing_component")


@pytest.mark.parametrize(
    "covered",
    [
        ["@method", "@target-uri"],
        ["@method", "@authority", "@request-target"],
    ],
)
def test_target_uri_and_request_target_cover_what_they_contain(covered: list[str]) -> None:
    url = "https://a.example/o?x=1"
    wire = Wire.of_httpx(sign_httpx(hmac_record(components=covered), httpx.Request("GET", url)))
    check(wire)
    refused(Wire(wire.method, url + "&admin=true", wire.headers, wire.body), "mismatch")


@pytest.mark.parametrize("adapter", ["httpx", "requests"])
def test_http_message_signatures_verifies_the_always_covered_query(adapter: str) -> None:
    url = "https://example.com/orders"
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    now = datetime.now(timezone.utc)
    if adapter == "httpx":
        signed: Any = sign_httpx(hmac_record(), httpx.Request("GET", url), lambda: now)
    else:
        signed = sign_requests(hmac_record(), requests.Request("GET", url).prepare(), lambda: now)
    (result,) = hms.verify(signed)
    assert '"@query"' in result.covered_components
    signed.url = url + "?admin=true" if adapter == "requests" else httpx.URL(url + "?admin=true")
    with pytest.raises(Exception):  # noqa: B017, PT011 - its own exception type
        hms.verify(signed)


def test_credsign_verifies_an_http_message_signatures_signature_over_an_absent_query() -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    prepared = requests.Request("GET", "https://example.com/orders").prepare()
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS).sign(
        prepared,
        key_id=CLIENT_ID,
        created=now,
        covered_component_ids=("@method", "@authority", "@path", "@query"),
    )
    wire = Wire.of_requests(prepared)
    check(wire, now=now)
    refused(Wire(wire.method, wire.url + "?admin=true", wire.headers, None), "mismatch", now=now)


@pytest.mark.parametrize("fast", [True, False])
def test_httpx_query_mark_with_and_without_the_fast_path(
    fast: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credsign.adapters import httpx_fast

    monkeypatch.setattr(httpx_fast, "FAST_URL", fast)
    for url, expected in [("https://h/p?", True), ("https://h/p", False), ("https://h/?a", True)]:
        assert httpx_fast.has_query_mark(httpx.URL(url)) is expected
