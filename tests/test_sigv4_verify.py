"""Signer against verifier: whatever credsign signs verifies; any mutation is refused."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from credsign import HttpxAuth, RequestsAuth, parse_record
from credsign.verify import SignatureError, verify_sigv4

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def clock() -> datetime:
    return NOW


def aws_record(**fields: Any) -> Any:
    return parse_record(
        {
            "authType": "AWS4",
            "accessKey": "AKIDEXAMPLE",
            "secretKey": KEYS["AKIDEXAMPLE"],
            "region": "eu-west-1",
            "service": "execute-api",
            **fields,
        }
    )


def sign_httpx(record: Any, request: httpx.Request) -> httpx.Request:
    auth = HttpxAuth(record, clock=clock)
    next(auth.sync_auth_flow(request))
    return request


def verify(request: httpx.Request, **options: Any) -> Any:
    options.setdefault("now", NOW)
    return verify_sigv4(
        request.method,
        str(request.url),
        request.headers.multi_items(),
        request.content,
        secret_for=KEYS.get,
        **options,
    )


segments = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)
paths = st.lists(segments, max_size=3).map(lambda parts: "/" + "/".join(quote(p) for p in parts))
queries = st.lists(
    st.tuples(st.sampled_from(["a", "b", "x y", "é", "k&=", "Z"]), st.text(max_size=6)),
    max_size=4,
)
header_values = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=10)
extra_headers = st.dictionaries(
    st.sampled_from(["x-amz-target", "content-type", "x-custom", "accept"]),
    header_values.map(lambda v: f" {v}  {v} "),
    max_size=3,
)
bodies = st.binary(max_size=64)
records = st.builds(
    lambda service, location, payload, token: aws_record(
        service=service,
        signatureLocation=location,
        payload="signed" if location == "query" else payload,
        **({"sessionToken": token} if token else {}),
    ),
    st.sampled_from(["execute-api", "s3", "dynamodb"]),
    st.sampled_from(["header", "query"]),
    st.sampled_from(["signed", "unsigned"]),
    st.none()
    | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=4, max_size=12),
)


def build(
    method: str, path: str, query: list[tuple[str, str]], headers: Any, body: bytes
) -> httpx.Request:
    url = httpx.URL(f"https://api.example.com{path}", params=query)
    return httpx.Request(method, url, headers=headers, content=body)


requests_strategy = st.builds(
    build, st.sampled_from(["GET", "POST", "PUT", "DELETE"]), paths, queries, extra_headers, bodies
)


@settings(max_examples=150, deadline=None)
@given(record=records, request=requests_strategy)
def test_whatever_httpx_signs_verifies(record: Any, request: httpx.Request) -> None:
    sign_httpx(record, request)
    result = verify(request, region="eu-west-1", service=record.service)
    assert result.access_key == "AKIDEXAMPLE"
    assert result.presigned == (record.signature_location == "query")
    assert result.signed_at == NOW


@settings(max_examples=60, deadline=None)
@given(record=records, path=paths, query=queries, body=bodies)
def test_whatever_requests_signs_verifies(
    record: Any, path: str, query: list[tuple[str, str]], body: bytes
) -> None:
    prepared = requests.Request(
        "PUT", f"https://api.example.com:8443{path}", params=query, data=body
    ).prepare()
    RequestsAuth(record, clock=clock)(prepared)
    verify_sigv4(
        prepared.method or "",
        prepared.url or "",
        prepared.headers.items(),
        body,
        secret_for=KEYS.get,
        now=NOW,
    )


def _signed(**fields: Any) -> httpx.Request:
    request = build(
        "POST", "/v1/orders", [("b", "2"), ("a", "1")], {"x-amz-target": "Svc.Op"}, b'{"x":1}'
    )
    return sign_httpx(aws_record(**fields), request)


def _with_url(request: httpx.Request, url: str) -> httpx.Request:
    return httpx.Request(request.method, url, headers=request.headers, content=request.content)


MUTATIONS = {
    "method": lambda r: httpx.Request("PUT", r.url, headers=r.headers, content=r.content),
    "path": lambda r: _with_url(r, str(r.url).replace("/v1/orders", "/v1/order")),
    "query value": lambda r: _with_url(r, str(r.url).replace("b=2", "b=3")),
    "query added": lambda r: _with_url(r, str(r.url) + "&c=1"),
    "signed header": lambda r: httpx.Request(
        r.method, r.url, headers={**r.headers, "x-amz-target": "Svc.Other"}, content=r.content
    ),
    "host": lambda r: httpx.Request(
        r.method, r.url, headers={**r.headers, "host": "evil.example.com"}, content=r.content
    ),
    "body": lambda r: httpx.Request(r.method, r.url, headers=r.headers, content=b'{"x":2}'),
}


@pytest.mark.parametrize("location", ["header", "query"])
@pytest.mark.parametrize("mutation", MUTATIONS)
def test_any_single_mutation_is_refused(location: str, mutation: str) -> None:
    request = _signed(signatureLocation=location)
    verify(request)
    with pytest.raises(SignatureError) as caught:
        verify(MUTATIONS[mutation](request))
    assert caught.value.reason == "mismatch"


def test_body_against_declared_hash_is_checked() -> None:
    request = _signed(service="s3")
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(b'{"x":1}').hexdigest()
    tampered = httpx.Request(request.method, request.url, headers=request.headers, content=b"{}")
    with pytest.raises(SignatureError) as caught:
        verify(tampered)
    assert caught.value.reason == "body_hash"


def test_unsigned_payload_is_accepted_as_declared() -> None:
    request = _signed(service="s3", payload="unsigned")
    assert request.headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    verify(httpx.Request(request.method, request.url, headers=request.headers, content=b"other"))


@pytest.mark.parametrize(
    ("shift", "reason"),
    [(timedelta(minutes=6), "skew"), (timedelta(minutes=-6), "skew"), (timedelta(minutes=4), None)],
)
def test_clock_skew(shift: timedelta, reason: str | None) -> None:
    request = _signed()
    if reason is None:
        verify(request, now=NOW + shift)
        return
    with pytest.raises(SignatureError) as caught:
        verify(request, now=NOW + shift)
    assert caught.value.reason == reason
    verify(request, now=NOW + shift, max_skew=timedelta(minutes=10))


def test_presigned_url_expires() -> None:
    request = _signed(signatureLocation="query", expiresIn=60)
    verify(request, now=NOW + timedelta(seconds=60))
    with pytest.raises(SignatureError) as caught:
        verify(request, now=NOW + timedelta(seconds=61))
    assert caught.value.reason == "expired"


def test_wrong_secret_unknown_key_and_scope() -> None:
    request = _signed()
    with pytest.raises(SignatureError, match="mismatch"):
        verify_sigv4(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            secret_for=lambda key: "not-the-secret",
            now=NOW,
        )
    with pytest.raises(SignatureError, match="unknown_key"):
        verify_sigv4(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            secret_for=lambda key: None,
            now=NOW,
        )
    with pytest.raises(SignatureError, match="scope"):
        verify(request, region="us-east-1")
    with pytest.raises(SignatureError, match="scope"):
        verify(request, service="s3")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda h: h.pop("authorization"), "missing"),
        (lambda h: h.__setitem__("authorization", "Bearer x"), "malformed"),
        (lambda h: h.pop("x-amz-date"), "malformed"),
        (lambda h: h.__setitem__("x-amz-date", "yesterday"), "malformed"),
        (lambda h: h.__setitem__("x-amz-meta-unsigned", "1"), "unsigned_header"),
        (
            lambda h: h.__setitem__(
                "authorization", h["authorization"].replace("x-amz-target", "x-amz-zzz")
            ),
            "unsigned_header",
        ),
    ],
)
def test_malformed_requests_say_why(edit: Any, reason: str) -> None:
    request = _signed()
    headers = dict(request.headers)
    edit(headers)
    with pytest.raises(SignatureError) as caught:
        verify(httpx.Request(request.method, request.url, headers=headers, content=request.content))
    assert caught.value.reason == reason
    assert KEYS["AKIDEXAMPLE"] not in str(caught.value)
