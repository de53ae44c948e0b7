"""Issue 11, item 5: ``credsign.explain`` shows exactly what the signer signs, and changes nothing.

Each property explains a request (``httpx.Request`` or ``requests.PreparedRequest``), signs
an equal one through the adapter at the same instant, recomputes the signature from the
explanation alone (HMAC over the string to sign / signature base) and compares it with the
one the adapter put on the request.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

import credsign
from credsign import CredsignError, HttpxAuth, RequestsAuth, ScopeError, parse_record
from credsign.aws import Sigv4Explanation
from credsign.debugging import Rfc9421Explanation
from credsign.records import Aws4Record, HmacSha256Record
from credsign.signing import compile_signer
from tests.leaks import revealed_secrets

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN_MARK = "TOKENMARK"  # every generated session token holds it; nothing else does


def clock() -> datetime:
    return NOW


token_chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E) | st.just(" ")
session_tokens = st.tuples(
    st.text(token_chars, max_size=12), st.text(token_chars, max_size=12)
).map(lambda parts: f"{parts[0]}{TOKEN_MARK}  {parts[1]}".strip())


@st.composite
def aws_records(draw: st.DrawFn) -> Aws4Record:
    data: dict[str, Any] = {
        "authType": "AWS4",
        "accessKey": AKID,
        "secretKey": SECRET,
        "region": draw(st.sampled_from(["us-east-1", "eu-west-1"])),
        "service": draw(st.sampled_from(["execute-api", "s3", "iam"])),
        "signatureLocation": draw(st.sampled_from(["header", "query"])),
        "label": "billing",
    }
    if draw(st.booleans()):
        data["sessionToken"] = draw(session_tokens)
    if data["signatureLocation"] == "header" and draw(st.booleans()):
        data["payload"] = "unsigned"
    if draw(st.booleans()):
        data["headers"] = [{"key": "X-Static", "value": "static  value"}]
    record = parse_record(data)
    assert isinstance(record, Aws4Record)
    return record


@st.composite
def hmac_records(draw: st.DrawFn) -> HmacSha256Record:
    data: dict[str, Any] = {
        "authType": "HMAC_SHA256",
        "clientId": "client-1",
        "includeAlg": draw(st.booleans()),
        "digest": draw(st.sampled_from(["sha-256", "sha-512"])),
        "signatureLabel": draw(st.sampled_from(["sig1", "client"])),
    }
    secret, encoding = draw(st.sampled_from([("hmac-secret-1", "utf-8"), ("c2VjcmV0", "base64")]))
    data["clientSecret"], data["secretEncoding"] = secret, encoding
    if draw(st.booleans()):
        data["components"] = draw(
            st.sampled_from(
                [
                    ["@method", "@target-uri", "x-one"],
                    ["@request-target", "@authority", "content-digest"],
                    ['@query-param;name="a"', "@scheme", "x-one"],
                ]
            )
        )
    if draw(st.booleans()):
        data["expiresIn"] = 300
    record = parse_record(data)
    assert isinstance(record, HmacSha256Record)
    return record


paths = st.sampled_from(["/", "/prod/items", "/a/../b//c", "/%7Euser/x%2Fy", "/sp%20ace"])
queries = st.sampled_from(["", "?a=1", "?b=2&a=1&a=0", "?a=x%20y&z=%FF", "?a=1&k"])
methods = st.sampled_from(["GET", "POST", "PUT"])
bodies = st.sampled_from([b"", b'{"a": 1}', bytes(range(256))])
extra_headers = st.tuples(
    st.sampled_from(["1", "two  inner  spaces"]),
    st.sampled_from([[], [("Content-Type", "text/x")], [("X-Two", "a,  b")]]),
).map(lambda parts: [("X-One", parts[0]), *parts[1]])


def httpx_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    return httpx.Request(method, url, headers=headers, content=body or None)


def requests_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    return requests.Request(method, url, headers=dict(headers), data=body or None).prepare()


def snapshot(request: Any) -> Any:
    if isinstance(request, httpx.Request):
        return (request.method, str(request.url), request.headers.raw, request.content)
    return (request.method, request.url, dict(request.headers), request.body)


def signed_copy(record: Any, request: Any) -> Any:
    """An equal request, signed by the adapter at ``NOW``."""
    if isinstance(request, httpx.Request):
        twin = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.content
        )
        flow = HttpxAuth(record, clock=clock).sync_auth_flow(twin)
        signed = next(flow)
        flow.close()
        return signed
    return RequestsAuth(record, clock=clock)(copy.deepcopy(request))


def sent_url(request: Any) -> str:
    return str(request.url)


def signing_key(record: Aws4Record, date: str) -> bytes:
    key = ("AWS4" + SECRET).encode()
    for part in (date, record.region, record.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


BUILDERS = [httpx_request, requests_request]


@settings(max_examples=150, deadline=None)
@given(aws_records(), st.sampled_from(BUILDERS), methods, paths, queries, extra_headers, bodies)
@example(
    parse_record(
        {
            "authType": "AWS4",
            "accessKey": AKID,
            "secretKey": SECRET,
            "sessionToken": f"a {TOKEN_MARK}  b",
            "region": "us-east-1",
            "service": "s3",
            "signatureLocation": "query",
        }
    ),
    requests_request,
    "GET",
    "/a/../b",
    "?a=1",
    [("X-One", "0")],
    b"",
)
def test_sigv4_explanation_is_what_is_signed(
    record: Aws4Record,
    build: Any,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    url = f"https://examplebucket.s3.amazonaws.com{path}{query}"
    request = build(method, url, headers, body)
    before = snapshot(request)
    explanation = credsign.explain(record, request, clock=clock)
    assert snapshot(request) == before  # explain() changes nothing
    assert isinstance(explanation, Sigv4Explanation)

    # The string to sign is over this canonical request, and the signature over it.
    lines = explanation.string_to_sign.split("\n")
    assert lines[0] == "AWS4-HMAC-SHA256" and lines[1] == "20261122T120000Z"
    assert lines[3] == hashlib.sha256(explanation.canonical_request.encode()).hexdigest()
    key = signing_key(record, "20261122")
    recomputed = hmac.new(key, explanation.string_to_sign.encode(), hashlib.sha256).hexdigest()
    assert recomputed == explanation.signature

    # ... and that is the signature the adapter sends for an equal request.
    signed = signed_copy(record, request)
    if record.signature_location == "query":
        assert f"X-Amz-Signature={recomputed}" in sent_url(signed)
    else:
        authorization = signed.headers["Authorization"]
        assert authorization.endswith(f", Signature={recomputed}")
        assert dict(explanation.headers)["Authorization"] == authorization

    shown = repr(explanation) + explanation.describe()
    for secret in [SECRET, recomputed, *revealed_secrets(record)]:
        assert secret not in shown
    assert TOKEN_MARK not in shown
    assert TOKEN_MARK in explanation.describe(reveal=True) or record.session_token is None


@settings(max_examples=150, deadline=None)
@given(hmac_records(), st.sampled_from(BUILDERS), methods, paths, queries, extra_headers, bodies)
@example(
    parse_record(
        {
            "authType": "HMAC_SHA256",
            "clientId": "client-1",
            "clientSecret": "hmac-secret-1",
            "components": ["@method", "authorization"],
        }
    ),
    httpx_request,
    "POST",
    "/",
    "",
    [("X-One", "0"), ("Authorization", "Bearer other-credential")],
    b"{}",
)
def test_rfc9421_explanation_is_what_is_signed(
    record: HmacSha256Record,
    build: Any,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    if record.components is not None and '@query-param;name="a"' in record.components:
        query = query if "a=" in query and query.count("a=") == 1 else "?a=1"
    request = build(method, f"https://api.example.com{path}{query}", headers, body)
    before = snapshot(request)
    explanation = credsign.explain(record, request, clock=clock)
    assert snapshot(request) == before
    assert isinstance(explanation, Rfc9421Explanation)

    base = explanation.signature_base
    covered = " ".join(explanation.covered_components)
    assert explanation.signature_params.startswith(f"({covered});created=1795348800")
    assert base.endswith(f'\n"@signature-params": {explanation.signature_params}')
    assert [line.partition(": ")[0] for line in base.split("\n")[:-1]] == list(
        explanation.covered_components
    )
    recomputed = base64.b64encode(
        hmac.new(record.secret_bytes(), base.encode(), hashlib.sha256).digest()
    ).decode()
    assert recomputed == explanation.signature

    signed = signed_copy(record, request)
    label = record.signature_label
    assert signed.headers["Signature"] == f"{label}=:{recomputed}:"
    assert signed.headers["Signature-Input"] == f"{label}={explanation.signature_params}"
    assert dict(explanation.headers)["Signature"] == signed.headers["Signature"]

    shown = repr(explanation) + explanation.describe()
    for secret in [recomputed, "other-credential", *revealed_secrets(record)]:
        assert secret not in shown
    assert "other-credential" in explanation.describe(reveal=True) or "authorization" not in (
        record.components or ()
    )


def test_nonce_explanations_are_self_consistent() -> None:
    record = parse_record(
        {"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "s3cret", "nonce": True}
    )
    explanation = credsign.explain(record, httpx.Request("GET", "https://a.example/"))
    assert isinstance(explanation, Rfc9421Explanation)
    assert ';nonce="' in explanation.signature_params
    digest = hmac.new(b"s3cret", explanation.signature_base.encode(), hashlib.sha256).digest()
    assert base64.b64encode(digest).decode() == explanation.signature


def test_a_compiled_signer_and_an_organization_are_accepted() -> None:
    data = {
        "authType": "AWS4",
        "region": "us-east-1",
        "service": "iam",
        "organizations": [{"orgId": "acme", "accessKey": AKID, "secretKey": SECRET}],
    }
    record = parse_record(data)
    request = httpx.Request("GET", "https://iam.amazonaws.com/?Action=ListUsers")
    by_org = credsign.explain(record, request, clock=clock, org="acme")
    by_signer = credsign.explain(compile_signer(record, "acme"), request, clock=clock)
    assert by_org == by_signer
    assert f"Credential={AKID}/20261122/us-east-1/iam/aws4_request" in by_org.describe()


def test_an_unread_streaming_body_is_read_first() -> None:
    record = parse_record({"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "k"})
    request = httpx.Request("POST", "https://a.example/", content=iter([b"ab", b"c"]))
    explanation = credsign.explain(record, request, clock=clock)
    assert "content-digest" in explanation.describe()
    assert request.content == b"abc"  # still sendable: httpx keeps what it read


def test_what_explain_refuses() -> None:
    bearer = parse_record({"authType": "BEARER_TOKEN", "token": "tok-secret-1"})
    with pytest.raises(CredsignError, match="BEARER_TOKEN") as refused:
        credsign.explain(bearer, httpx.Request("GET", "https://a.example/"))
    assert "tok-secret-1" not in str(refused.value)
    aws = parse_record(
        {
            "authType": "AWS4",
            "accessKey": AKID,
            "secretKey": SECRET,
            "region": "us-east-1",
            "service": "iam",
            "baseUrl": "https://iam.amazonaws.com",
        }
    )
    with pytest.raises(ScopeError):
        credsign.explain(aws, httpx.Request("GET", "https://evil.example/"))
    with pytest.raises(TypeError, match=r"httpx\.Request or a requests\.PreparedRequest"):
        credsign.explain(aws, "https://iam.amazonaws.com/")  # type: ignore[call-overload]


def test_explain_is_exported() -> None:
    assert "explain" in credsign.__all__
    from credsign.debugging import explain

    assert credsign.explain is explain
