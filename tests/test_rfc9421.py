"""HMAC_SHA256 (RFC 9421 ``hmac-sha256`` + RFC 9530 Content-Digest): signer against verifier.

The RFC's own HMAC example (Appendix B.2.5) byte for byte, a property-based round trip
through both adapters with every single mutation refused for the right reason, the
signer's and the verifier's policies, and interop with ``http-message-signatures``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import requests
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)
from http_message_signatures.digests import ContentDigest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from credsign import CredsignError, HttpxAuth, RequestsAuth, parse_record
from credsign.signing.structured_fields import dictionary_members, parse_inner_list
from credsign.verify import InMemoryNonceStore, Rfc9421Verifier, SignatureError

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
CREATED = int(NOW.timestamp())
MAX_AGE, SKEW = timedelta(minutes=5), timedelta(minutes=1)  # the verifier's defaults
CLIENT_ID = "client-7"
SECRET = "S3cr3t-do-not-leak!"  # utf-8 secret: the key is its bytes
KEYS = {CLIENT_ID: SECRET.encode()}


def clock() -> datetime:
    return NOW


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


def hmac_record(**fields: Any) -> Any:
    return parse_record(
        {"authType": "HMAC_SHA256", "clientId": CLIENT_ID, "clientSecret": SECRET, **fields}
    )


def verifier(keys: dict[str, bytes] | None = None, **options: Any) -> Rfc9421Verifier:
    return Rfc9421Verifier(key_for=(KEYS if keys is None else keys).get, **options)


def sign_httpx(record: Any, request: httpx.Request, at: Callable[[], datetime] = clock) -> Any:
    next(HttpxAuth(record, clock=at).sync_auth_flow(request))
    return request


def sign_requests(
    record: Any, prepared: requests.PreparedRequest, at: Callable[[], datetime] = clock
) -> Any:
    return RequestsAuth(record, clock=at)(prepared)


@dataclass(frozen=True)
class Wire:
    """A request as the receiving server sees it."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None

    @classmethod
    def of_httpx(cls, request: httpx.Request) -> Wire:
        return cls(
            request.method, str(request.url), tuple(request.headers.multi_items()), request.content
        )

    @classmethod
    def of_requests(cls, prepared: requests.PreparedRequest) -> Wire:
        body = prepared.body
        assert body is None or isinstance(body, bytes)
        return cls(prepared.method or "", prepared.url or "", tuple(prepared.headers.items()), body)

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name]
        return ", ".join(values) if values else None

    def with_header(self, name: str, value: str | None) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name)
        return replace(self, headers=kept if value is None else (*kept, (name, value)))

    def with_url(self, **parts: str) -> Wire:
        return replace(self, url=urlunsplit(urlsplit(self.url)._replace(**parts)))


def check(wire: Wire, v: Rfc9421Verifier | None = None, **options: Any) -> Any:
    options.setdefault("now", NOW)
    return (v or verifier()).verify(wire.method, wire.url, wire.headers, wire.body, **options)


def refused(wire: Wire, reason: str, v: Rfc9421Verifier | None = None, **options: Any) -> str:
    """Assert ``wire`` is refused for ``reason``; the message never holds a secret."""
    with pytest.raises(SignatureError) as caught:
        check(wire, v, **options)
    assert caught.value.reason == reason, str(caught.value)
    assert_no_secret(caught.value)
    return str(caught.value)


def assert_no_secret(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(error.args)):
        for secret in (SECRET, B25_SECRET, base64.b64encode(SECRET.encode()).decode()):
            assert secret not in text


def signature_input(wire: Wire, label: str = "sig1") -> tuple[list[str], dict[str, Any]]:
    """The covered component identifiers (unquoted names) and parameters of ``label``."""
    members = dict(dictionary_members(wire.header("signature-input") or ""))
    items, params = parse_inner_list(members[label])
    return [str(name) for name, _ in items], dict(params)


def forge(
    wire: Wire, lines: list[tuple[str, str]], params: str, key: bytes, label: str = "sig1"
) -> Wire:
    """Sign by hand, from an explicit signature base (RFC 9421 section 2.5)."""
    inner = "(" + " ".join(identifier for identifier, _ in lines) + ")" + params
    base = "\n".join([*(f"{i}: {v}" for i, v in lines), f'"@signature-params": {inner}'])
    proof = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    wire = wire.with_header("signature-input", f"{label}={inner}")
    return wire.with_header("signature", f"{label}=:{proof}:")


def b64digest(algorithm: str, body: bytes) -> str:
    return base64.b64encode(hashlib.new(algorithm, body).digest()).decode()


# --- 1. RFC 9421 Appendix B.2.5: hmac-sha256 over date, @authority, content-type ----------

B25_SECRET = (
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)
B25_RECORD = {
    "authType": "HMAC_SHA256",
    "clientId": "test-shared-secret",
    "clientSecret": B25_SECRET,
    "secretEncoding": "base64",
    "signatureLabel": "sig-b25",
    "includeAlg": False,
    "components": ["date", "@authority", "content-type"],
}
B25_URL = "https://example.com/foo?param=Value&Pet=dog"
B25_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    # As in the RFC's test request (B.2); not covered by sig-b25, so left untouched.
    "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BN"
    "NyealdVLvRwEmTHWXvJwew==:",
}
B25_BODY = b'{"hello": "world"}'
B25_CREATED = datetime.fromtimestamp(1618884473, timezone.utc)
B25_INPUT = (
    'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
)
B25_SIGNATURE = "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:"


def b25_verifier() -> Rfc9421Verifier:
    key = base64.b64decode(B25_SECRET)
    return Rfc9421Verifier(
        key_for={"test-shared-secret": key}.get, required=("@authority",), require_digest=False
    )


def b25_signed(adapter: str) -> Wire:
    record = parse_record(B25_RECORD)
    if adapter == "httpx":
        request = httpx.Request("POST", B25_URL, headers=B25_HEADERS, content=B25_BODY)
        return Wire.of_httpx(sign_httpx(record, request, lambda: B25_CREATED))
    prepared = requests.Request("POST", B25_URL, headers=B25_HEADERS, data=B25_BODY).prepare()
    return Wire.of_requests(sign_requests(record, prepared, lambda: B25_CREATED))


@pytest.mark.parametrize("adapter", ["httpx", "requests"])
def test_rfc9421_b25_byte_for_byte(adapter: str) -> None:
    wire = b25_signed(adapter)
    assert wire.header("signature-input") == B25_INPUT
    assert wire.header("signature") == B25_SIGNATURE
    assert wire.header("content-digest") == B25_HEADERS["Content-Digest"]  # not covered: kept
    assert wire.header("content-length") == "18"

    result = check(wire, b25_verifier(), now=B25_CREATED)
    assert result.label == "sig-b25"
    assert result.keyid == "test-shared-secret"
    assert result.components == ('"date"', '"@authority"', '"content-type"')
    assert (result.created, result.expires, result.nonce) == (B25_CREATED, None, None)


def _one_character_changes(value: str) -> Iterator[str]:
    for index, char in enumerate(value):
        # Lower-case letters only: the authority is compared case-insensitively.
        yield value[:index] + ("x" if char != "x" else "y") + value[index + 1 :]


@pytest.mark.parametrize("adapter", ["httpx", "requests"])
@pytest.mark.parametrize("field", ["date", "host", "content-type"])
def test_rfc9421_b25_any_one_character_change_is_refused(adapter: str, field: str) -> None:
    wire = b25_signed(adapter)
    value = wire.header(field)
    assert value is not None
    changes = list(_one_character_changes(value))
    assert len(changes) == len(value)
    for changed in changes:
        refused(wire.with_header(field, changed), "mismatch", b25_verifier(), now=B25_CREATED)


def test_rfc9421_b25_authority_from_the_url_when_no_host_header() -> None:
    wire = b25_signed("requests").with_header("host", None)
    check(wire, b25_verifier(), now=B25_CREATED)
    for host in _one_character_changes("example.com"):
        refused(wire.with_url(netloc=host), "mismatch", b25_verifier(), now=B25_CREATED)


def test_rfc9421_b25_wrong_key_is_a_mismatch() -> None:
    wire = b25_signed("httpx")
    wrong = Rfc9421Verifier(
        key_for=lambda keyid: b"another key", required=("@authority",), require_digest=False
    )
    refused(wire, "mismatch", wrong, now=B25_CREATED)


# --- 2. Property: whatever either adapter signs verifies; any single mutation is refused ----

DERIVED = ["@method", "@target-uri", "@authority", "@scheme", "@request-target", "@path", "@query"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
HOSTS = ["api.example.com", "API.Example.com:8443", "127.0.0.1:8080", "[::1]:9000"]
HEADER_NAMES = ["content-type", "accept", "x-custom", "date"]

path_segments = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/?#%"),
    min_size=1,
    max_size=8,
)
paths = st.lists(path_segments, max_size=3).map(lambda parts: "/" + "/".join(parts))
queries = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "x y", "é", "k&=", "p/?:@", "Pet", "+", "%41"]),
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=6),
    ),
    max_size=4,
)  # keys repeat often: few distinct ones
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)


@dataclass(frozen=True)
class Case:
    method: str
    host: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    repeated: list[str]  # values of an extra, repeated x-repeat field (httpx only)
    body: bytes
    record: dict[str, Any]
    key: bytes

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"

    def httpx_request(self) -> httpx.Request:
        lines = [*self.headers.items(), *(("x-repeat", value) for value in self.repeated)]
        url = httpx.URL(self.url, params=self.query)
        return httpx.Request(self.method, url, headers=lines, content=self.body)

    def prepared(self) -> requests.PreparedRequest:
        headers = {name: value.strip(" ") for name, value in self.headers.items()}
        return requests.Request(
            self.method, self.url, params=self.query, headers=headers, data=self.body
        ).prepare()


@st.composite
def cases(draw: st.DrawFn, repeated_headers: bool = True) -> Case:
    headers = draw(st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4))
    repeated = draw(st.lists(header_values, max_size=2)) if repeated_headers else []
    present = sorted(headers) + (["x-repeat"] if repeated else [])
    record: dict[str, Any] = {
        "authType": "HMAC_SHA256",
        "clientId": draw(st.sampled_from(["client-7", 'kid "quoted" \\ spaced', "k"])),
        "digest": draw(st.sampled_from(["sha-256", "sha-512"])),
        "nonce": draw(st.booleans()),
        "includeAlg": draw(st.booleans()),
    }
    if draw(st.booleans()):
        record["expiresIn"] = draw(st.integers(1, 86400))
    if draw(st.booleans()):
        record["signatureLabel"] = draw(st.sampled_from(["sig1", "sig-b25", "a*b.c_d-e"]))
    if draw(st.booleans()):
        record["components"] = draw(
            st.lists(
                st.sampled_from([*DERIVED, *present, "content-digest"]),
                min_size=1,
                max_size=8,
                unique=True,
            )
        )
    if draw(st.booleans()):
        key = draw(st.binary(min_size=1, max_size=80))
        record |= {"secretEncoding": "base64", "clientSecret": base64.b64encode(key).decode()}
    else:
        secret = draw(
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80)
        )
        record |= {"secretEncoding": "utf-8", "clientSecret": secret}
        key = secret.encode()
    return Case(
        method=draw(st.sampled_from(METHODS)),
        host=draw(st.sampled_from(HOSTS)),
        path=draw(paths),
        query=draw(queries),
        headers=headers,
        repeated=repeated,
        body=draw(st.sampled_from([b""]) | st.binary(min_size=1, max_size=64)),
        record=record,
        key=key,
    )


def expected_components(case: Case, wire: Wire) -> list[str]:
    explicit = case.record.get("components")
    if explicit is not None:
        return list(explicit)
    covered = ["@method", "@authority", "@path", "@query"]  # @query even when absent
    if wire.body:
        covered += ["content-type"] if wire.header("content-type") is not None else []
        covered.append("content-digest")
    return covered


def mutations(wire: Wire, covered: set[str]) -> Iterator[tuple[str, Wire, str]]:
    """Every single change to a covered part of ``wire``, with the reason it must fail for."""
    parts = urlsplit(wire.url)
    if "@method" in covered:
        yield "method", replace(wire, method="OPTIONS"), "mismatch"
    if covered & {"@path", "@target-uri", "@request-target"}:
        yield "path", wire.with_url(path=(parts.path or "/") + "x"), "mismatch"
    if covered & {"@query", "@target-uri", "@request-target"}:
        query = f"{parts.query}&zz=1" if parts.query else "zz=1"
        yield "query", wire.with_url(query=query), "mismatch"
        if parts.query:
            yield "query dropped", wire.with_url(query=""), "mismatch"
    if covered & {"@target-uri", "@request-target"}:  # "/p?" is not "/p"
        base, mark, query = wire.url.partition("?")
        flipped = base if mark and not query else None if mark else base + "?"
        if flipped is not None:
            yield "query mark", replace(wire, url=flipped), "mismatch"
    if covered & {"@authority", "@target-uri"}:
        moved = wire.with_url(netloc="mutated.example")
        if wire.header("host") is not None:
            moved = moved.with_header("host", "mutated.example")
        yield "authority", moved, "mismatch"
    if covered & {"@scheme", "@target-uri"}:
        yield "scheme", wire.with_url(scheme="http"), "mismatch"
    for name in sorted(covered - {"content-digest"}):
        if not name.startswith("@"):
            value = wire.header(name) or ""
            yield f"header {name}", wire.with_header(name, value.strip(" ") + "x"), "mismatch"
    if wire.header("content-digest") is not None:
        yield "body", replace(wire, body=(wire.body or b"") + b"!"), "content_digest"


def round_trip(case: Case, wire: Wire) -> None:
    record = case.record
    keys = {record["clientId"]: case.key}
    explicit = "components" in record

    def fresh() -> Rfc9421Verifier:  # one per check: a nonce may be accepted once only
        return verifier(keys) if not explicit else verifier(keys, required=(), require_digest=False)

    components = expected_components(case, wire)
    label = record.get("signatureLabel", "sig1")
    result = check(wire, fresh())
    assert result.label == label
    assert result.keyid == record["clientId"]
    assert [name.strip('"') for name in result.components] == components
    assert result.created == NOW
    expires_in = record.get("expiresIn")
    assert result.expires == (None if expires_in is None else NOW + timedelta(seconds=expires_in))
    assert (result.nonce is not None) == record["nonce"]
    names, params = signature_input(wire, label)
    assert ("alg" in params) == record["includeAlg"]
    if "content-digest" in components:
        algorithm = record["digest"]
        digest = b64digest(algorithm.replace("-", ""), wire.body or b"")
        assert wire.header("content-digest") == f"{algorithm}=:{digest}:"
    else:
        assert wire.header("content-digest") is None

    event("components: " + ("explicit" if explicit else "default"))
    for what, mutated, reason in mutations(wire, set(names)):
        event(f"mutation: {what.split(' ')[0]}")
        note(f"mutation: {what}")
        refused(mutated, reason, fresh())
    check(wire.with_header("x-uncovered", "anything"), fresh())  # not covered: fine

    # The clock: just inside the window passes, just outside fails for the right reason.
    window = MAX_AGE if expires_in is None else min(MAX_AGE, timedelta(seconds=expires_in))
    check(wire, fresh(), now=NOW + window + SKEW)
    check(wire, fresh(), now=NOW - SKEW)
    refused(wire, "future", fresh(), now=NOW - SKEW - timedelta(seconds=1))
    refused(wire, "too_old", fresh(), now=NOW + MAX_AGE + SKEW + timedelta(seconds=1))
    if expires_in is not None and timedelta(seconds=expires_in) < MAX_AGE:
        event("clock: expired")
        late = NOW + timedelta(seconds=expires_in) + SKEW + timedelta(seconds=1)
        refused(wire, "expired", fresh(), now=late)


@settings(max_examples=500, deadline=None)
@given(case=cases())
def test_whatever_httpx_signs_verifies_and_any_mutation_is_refused(case: Case) -> None:
    request = sign_httpx(parse_record(case.record), case.httpx_request())
    round_trip(case, Wire.of_httpx(request))


@settings(max_examples=300, deadline=None)
@given(case=cases(repeated_headers=False))
def test_whatever_requests_signs_verifies_and_any_mutation_is_refused(case: Case) -> None:
    prepared = sign_requests(parse_record(case.record), case.prepared())
    round_trip(case, Wire.of_requests(prepared))


# --- 3. The signer ----------------------------------------------------------------------


def signed_httpx(
    method: str = "GET",
    url: str = "https://api.example.com/v1/items",
    headers: Any = None,
    body: bytes = b"",
    **fields: Any,
) -> Wire:
    request = httpx.Request(method, url, headers=headers, content=body)
    return Wire.of_httpx(sign_httpx(hmac_record(**fields), request))


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "components"),
    [
        (
            "GET",
            "https://api.example.com/v1/items",
            {},
            b"",
            ["@method", "@authority", "@path", "@query"],
        ),
        (
            "GET",
            "https://api.example.com/v1/items?page=2&q=a+b",
            {"content-type": "text/plain"},  # no body: content-type is not covered
            b"",
            ["@method", "@authority", "@path", "@query"],
        ),
        (
            "GET",
            "https://api.example.com/v1/items?",
            {},
            b"",
            ["@method", "@authority", "@path", "@query"],
        ),
        (
            "POST",
            "https://api.example.com/v1/items",
            {},
            b"raw",
            ["@method", "@authority", "@path", "@query", "content-digest"],
        ),
        (
            "PUT",
            "https://api.example.com/v1/items?id=1",
            {"content-type": "application/json"},
            b'{"a": 1}',
            ["@method", "@authority", "@path", "@query", "content-type", "content-digest"],
        ),
    ],
)
def test_default_components_adapt_to_the_request(
    method: str, url: str, headers: dict[str, str], body: bytes, components: list[str]
) -> None:
    wire = signed_httpx(method, url, headers, body)
    names, params = signature_input(wire)
    assert names == components
    assert params["alg"] == "hmac-sha256"
    assert (wire.header("content-digest") is None) == (not body)
    check(wire)


@pytest.mark.parametrize("algorithm", ["sha-256", "sha-512"])
def test_content_digest_is_computed_from_the_exact_bytes(algorithm: str) -> None:
    body = bytes(range(256)) * 3
    expected = f"{algorithm}=:{b64digest(algorithm.replace('-', ''), body)}:"
    wire = signed_httpx("POST", body=body, digest=algorithm)
    assert wire.header("content-digest") == expected
    check(wire)

    # requests: bytes, a str (urllib3 sends it as UTF-8) and a seekable file, left where it was.
    for data, sent in [(body, body), ("café", "café".encode())]:
        prepared = requests.Request("POST", "https://api.example.com/v1", data=data).prepare()
        sign_requests(hmac_record(digest=algorithm), prepared)
        digest = b64digest(algorithm.replace("-", ""), sent)
        assert prepared.headers["Content-Digest"] == f"{algorithm}=:{digest}:"
        headers = tuple(prepared.headers.items())
        check(Wire(prepared.method or "", prepared.url or "", headers, sent))
    stream = io.BytesIO(b"skipped|" + body)
    stream.seek(8)
    prepared = requests.Request("PUT", "https://api.example.com/v1", data=stream).prepare()
    sign_requests(hmac_record(digest=algorithm), prepared)
    assert stream.tell() == 8
    assert prepared.headers["Content-Digest"] == expected


def test_an_existing_content_digest_is_replaced_by_the_computed_one() -> None:
    wire = signed_httpx("POST", headers={"Content-Digest": "sha-256=:AAAA:"}, body=b"x")
    assert wire.header("content-digest") == f"sha-256=:{b64digest('sha256', b'x')}:"
    check(wire)


def test_other_signatures_are_kept_and_ours_is_replaced_when_signing_again() -> None:
    other_input = 'other=("@method");created=1;keyid="someone-else"'
    other_signature = "other=:AAAA:"
    request = httpx.Request(
        "GET",
        "https://api.example.com/v1",
        headers={"Signature-Input": other_input, "Signature": other_signature},
    )
    record = hmac_record()
    sign_httpx(record, request)
    first = Wire.of_httpx(request)
    sign_httpx(record, request, lambda: NOW + timedelta(seconds=30))
    wire = Wire.of_httpx(request)
    for field, theirs in (("signature-input", other_input), ("signature", other_signature)):
        members = dictionary_members(wire.header(field) or "")
        assert [key for key, _ in members] == ["other", "sig1"]
        assert members[0][1] == theirs.removeprefix("other=")
        assert sum(name == field for name, _ in request.headers.multi_items()) == 1
    assert wire.header("signature") != first.header("signature")
    refused(wire, "label")  # two signatures: which one?
    result = check(wire, label="sig1", now=NOW + timedelta(seconds=30))
    assert result.created == NOW + timedelta(seconds=30)

    # Same through requests, and a second record's label joins instead of replacing.
    prepared = requests.Request(
        "GET",
        "https://api.example.com/v1",
        headers={"Signature-Input": other_input, "Signature": other_signature},
    ).prepare()
    sign_requests(record, prepared)
    sign_requests(record, prepared)
    sign_requests(hmac_record(signatureLabel="sig2"), prepared)
    wire = Wire.of_requests(prepared)
    labels = [key for key, _ in dictionary_members(wire.header("signature") or "")]
    assert labels == ["other", "sig1", "sig2"]
    check(wire, label="sig1")
    check(wire, label="sig2")


def test_malformed_existing_signature_header_is_an_error() -> None:
    request = httpx.Request("GET", "https://api.example.com/", headers={"Signature": "(((("})
    with pytest.raises(CredsignError, match="malformed") as caught:
        sign_httpx(hmac_record(), request)
    assert_no_secret(caught.value)


@pytest.mark.parametrize(
    "components",
    [["@method", "x-missing"], ["x-missing", "content-digest"], ['@query-param;name="nope"']],
)
def test_a_missing_covered_component_raises_before_the_request_is_changed(
    components: list[str],
) -> None:
    record = hmac_record(
        components=components, headers=[{"key": "X-Static", "value": "1"}], contentType="json"
    )
    request = httpx.Request("POST", "https://api.example.com/v1?a=1", content=b"body")
    before = request.headers.multi_items()
    with pytest.raises(CredsignError) as caught:
        sign_httpx(record, request)
    assert_no_secret(caught.value)
    assert request.headers.multi_items() == before
    assert str(request.url) == "https://api.example.com/v1?a=1"

    prepared = requests.Request("POST", "https://api.example.com/v1?a=1", data=b"body").prepare()
    before_requests = dict(prepared.headers)
    with pytest.raises(CredsignError):
        sign_requests(record, prepared)
    assert dict(prepared.headers) == before_requests


# RFC 9421 section 2.2.8, both examples: the values are decoded, then re-encoded.
QUERY_PARAM_CASES = [
    ("/path?param=value&foo=bar&baz=batman&qux=", "baz", "batman"),
    ("/path?param=value&foo=bar&baz=batman&qux=", "qux", ""),
    (
        "/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace"
        "&fa%C3%A7ade%22%3A%20=something",
        "var",
        "this%20is%20a%20big%0Avalue",
    ),
    (
        "/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace"
        "&fa%C3%A7ade%22%3A%20=something",
        "bar",
        "with%20plus%20whitespace",
    ),
    (
        "/parameters?var=this%20is%20a%20big%0Avalue&bar=with+plus+whitespace"
        "&fa%C3%A7ade%22%3A%20=something",
        "fa%C3%A7ade%22%3A%20",
        "something",
    ),
]


@pytest.mark.parametrize(("target", "name", "value"), QUERY_PARAM_CASES)
@pytest.mark.parametrize("adapter", ["httpx", "requests"])
def test_query_param_component_matches_rfc_9421_section_2_2_8(
    adapter: str, target: str, name: str, value: str
) -> None:
    url = "https://example.com" + target
    component = f'@query-param;name="{name}"'
    record = hmac_record(components=["@method", component], includeAlg=False)
    if adapter == "httpx":
        wire = Wire.of_httpx(sign_httpx(record, httpx.Request("GET", url)))
    else:
        wire = Wire.of_requests(sign_requests(record, requests.Request("GET", url).prepare()))
    assert wire.url == url  # sent as written
    identifier = f'"@query-param";name="{name}"'
    expected = forge(
        wire,
        [('"@method"', "GET"), (identifier, value)],
        f';created={CREATED};keyid="{CLIENT_ID}"',
        SECRET.encode(),
    )
    assert wire.header("signature-input") == expected.header("signature-input")
    assert wire.header("signature") == expected.header("signature")

    v = verifier(required=())
    check(wire, v)
    query = urlsplit(url).query
    other = next(part.split("=")[0] for part in query.split("&") if part.split("=")[0] != name)
    check(wire.with_url(query=query.replace(f"{other}=", f"{other}=z")), v)  # not covered
    refused(wire.with_url(query=query.replace(f"{name}=", f"{name}=z")), "mismatch", v)
    refused(wire.with_url(query=query + f"&{name}=again"), "missing_component", v)


def test_query_param_occurring_twice_cannot_be_signed() -> None:
    record = hmac_record(components=['@query-param;name="x"'])
    request = httpx.Request("GET", "https://api.example.com/?x=1&y=2&x=3")
    with pytest.raises(CredsignError, match="more than once"):
        sign_httpx(record, request)
    assert "signature" not in request.headers
    wire = Wire.of_httpx(sign_httpx(record, httpx.Request("GET", "https://api.example.com/?x=1")))
    check(wire, verifier(required=()))


def test_keyid_nonce_and_expires_parameters() -> None:
    record = hmac_record(nonce=True, expiresIn=90)
    nonces = set()
    for _ in range(20):
        wire = Wire.of_httpx(sign_httpx(record, httpx.Request("GET", "https://api.example.com/")))
        _, params = signature_input(wire)
        assert params["keyid"] == CLIENT_ID
        assert params["created"] == CREATED
        assert params["expires"] == CREATED + 90
        assert params["alg"] == "hmac-sha256"
        assert isinstance(params["nonce"], str) and len(params["nonce"]) >= 16
        nonces.add(params["nonce"])
        result = check(wire)
        assert result.expires == NOW + timedelta(seconds=90)
    assert len(nonces) == 20

    _, params = signature_input(signed_httpx(includeAlg=False))
    assert set(params) == {"created", "keyid"}  # no nonce, expires or alg unless asked


def _streamed_body(served: list[bytes]) -> Iterator[bytes]:
    for chunk in (b"part-1;", b"part-2;", b"", b"part-3"):
        served.append(chunk)
        yield chunk


def test_streaming_httpx_body_is_read_once_and_digested() -> None:
    served: list[bytes] = []
    received: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        content = request.read()
        received["content"] = content
        received["result"] = check(Wire.of_httpx(request))
        return httpx.Response(204)

    auth = HttpxAuth(hmac_record(digest="sha-512"), clock=clock)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        response = client.post("https://api.example.com/upload", content=_streamed_body(served))
    assert response.status_code == 204
    assert served == [b"part-1;", b"part-2;", b"", b"part-3"]  # iterated exactly once
    assert received["content"] == b"part-1;part-2;part-3"
    assert '"content-digest"' in received["result"].components
    digest = b64digest("sha512", b"part-1;part-2;part-3")
    assert response.request.headers["content-digest"] == f"sha-512=:{digest}:"


async def test_streaming_async_httpx_body_is_read_once_and_digested() -> None:
    served: list[bytes] = []

    async def body() -> Any:
        for chunk in (b"a" * 1000, b"b" * 10):
            served.append(chunk)
            yield chunk

    async def handler(request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        check(Wire.of_httpx(request))
        return httpx.Response(200, content=content)

    auth = HttpxAuth(hmac_record(), clock=clock)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        response = await client.put("https://api.example.com/upload", content=body())
    assert response.content == b"a" * 1000 + b"b" * 10
    assert len(served) == 2


def test_requests_iterator_body_is_refused_not_consumed() -> None:
    chunks = iter([b"a", b"b"])
    prepared = requests.Request("POST", "https://api.example.com/", data=chunks).prepare()
    with pytest.raises(CredsignError, match="iterator"):
        sign_requests(hmac_record(), prepared)
    assert next(chunks) == b"a"
    assert "Signature" not in prepared.headers


# --- 4. The verifier's policy -------------------------------------------------------------


def _plain_wire() -> Wire:
    return Wire("GET", "https://api.example.com/v1", (("host", "api.example.com"),), b"")


def _plain_lines() -> list[tuple[str, str]]:
    return [
        ('"@method"', "GET"),
        ('"@authority"', "api.example.com"),
        ('"@path"', "/v1"),
        ('"@query"', "?"),
    ]


def test_forge_agrees_with_the_signer() -> None:
    wire = signed_httpx(url="https://api.example.com/v1", includeAlg=False)
    assert signature_input(wire)[0] == [name.strip('"') for name, _ in _plain_lines()]
    forged = forge(wire, _plain_lines(), f';created={CREATED};keyid="{CLIENT_ID}"', KEYS[CLIENT_ID])
    assert forged.header("signature") == wire.header("signature")


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (f';created={CREATED};keyid="{CLIENT_ID}";alg="hmac-sha512"', "algorithm"),
        (f';created={CREATED};keyid="{CLIENT_ID}";alg="ed25519"', "algorithm"),
        (f';keyid="{CLIENT_ID}"', "malformed"),  # no created
        (f';created="{CREATED}";keyid="{CLIENT_ID}"', "malformed"),
        (f";created={CREATED}", "malformed"),  # no keyid
        (f';created={CREATED};keyid="{CLIENT_ID}";expires="x"', "malformed"),
        (f';created={CREATED};keyid="{CLIENT_ID}";nonce=1', "malformed"),
        (f';created={CREATED};keyid="nobody"', "unknown_key"),
        (f';created={CREATED};keyid="{CLIENT_ID}";expires={CREATED - 61}', "expired"),
    ],
)
def test_signature_parameters_are_checked(params: str, reason: str) -> None:
    # Correctly signed by hand, so each refusal is the policy's, not a mismatch.
    refused(forge(_plain_wire(), _plain_lines(), params, KEYS[CLIENT_ID]), reason)


def test_alg_as_a_token_is_refused() -> None:
    # RFC 9421 section 2.3: alg is a String; the token hmac-sha256 is not "hmac-sha256".
    params = f';created={CREATED};keyid="{CLIENT_ID}";alg=hmac-sha256'
    with pytest.raises(SignatureError) as caught:
        check(forge(_plain_wire(), _plain_lines(), params, KEYS[CLIENT_ID]))
    assert caught.value.reason in {"algorithm", "malformed", "mismatch"}


@pytest.mark.parametrize("extra", ['tag="app"', "flag", "bytes=:AAAA:", "n=-12"])
def test_correct_forged_signature_with_extra_parameters_verifies(extra: str) -> None:
    params = f';created={CREATED};keyid="{CLIENT_ID}";alg="hmac-sha256";{extra}'
    result = check(forge(_plain_wire(), _plain_lines(), params, KEYS[CLIENT_ID]))
    assert result.keyid == CLIENT_ID


@pytest.mark.parametrize("extra", ["app=tok", "d=1.5"])
def test_token_and_decimal_parameters_survive_the_signature_base(extra: str) -> None:
    params = f';created={CREATED};keyid="{CLIENT_ID}";{extra}'
    check(forge(_plain_wire(), _plain_lines(), params, KEYS[CLIENT_ID]))


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda w: w.with_header("signature", None), "missing"),
        (lambda w: w.with_header("signature-input", None), "missing"),
        (lambda w: w.with_header("signature", "sig1=AAAA"), "malformed"),  # not bytes
        (lambda w: w.with_header("signature", "sig1=:AAAA"), "malformed"),
        (lambda w: w.with_header("signature-input", "sig1=(@method)"), "malformed"),
        (lambda w: w.with_header("signature-input", 'sig1=("@nope");created=1'), "malformed"),
        (lambda w: w.with_header("signature-input", 'sig1=("Date");created=1'), "malformed"),
        (lambda w: w.with_header("signature", "sig2=:AAAA:"), "label"),
    ],
)
def test_malformed_signature_fields_say_why(edit: Callable[[Wire], Wire], reason: str) -> None:
    refused(edit(signed_httpx()), reason)


def test_several_labels_need_a_label() -> None:
    request = httpx.Request("GET", "https://api.example.com/v1")
    sign_httpx(hmac_record(), request)
    sign_httpx(hmac_record(signatureLabel="second"), request)
    wire = Wire.of_httpx(request)
    refused(wire, "label")
    assert check(wire, label="sig1").label == "sig1"
    assert check(wire, label="second").label == "second"
    refused(wire, "label", label="third")
    refused(signed_httpx(), "label", label="other")


def test_required_components_are_enforced() -> None:
    wire = signed_httpx(components=["@method", "@path"])
    message = refused(wire, "missing_component")  # default requires @authority too
    assert "@authority" in message
    check(wire, verifier(required=("@method", "@path")))
    refused(wire, "missing_component", verifier(required=('@query-param;name="a"',)))
    check(signed_httpx(components=["@target-uri"]), verifier(required=("@target-uri",)))


def test_a_body_needs_content_digest_coverage_unless_waived() -> None:
    covered = ["@method", "@authority", "@path", "@query"]
    wire = signed_httpx("POST", body=b"payload", components=covered)
    assert wire.header("content-digest") is None
    assert "content-digest" in refused(wire, "missing_component")
    check(wire, verifier(require_digest=False))
    # An empty body needs no digest.
    check(signed_httpx("POST", components=covered))
    # A Content-Digest, even uncovered, must still match the body.
    lying = wire.with_header("content-digest", f"sha-256=:{b64digest('sha256', b'other')}:")
    refused(lying, "content_digest", verifier(require_digest=False))
    refused(
        lying.with_header("content-digest", "md5=:AAAA:"),
        "content_digest",
        verifier(require_digest=False),
    )
    refused(
        lying.with_header("content-digest", "sha-256=AAAA"),
        "content_digest",
        verifier(require_digest=False),
    )


def test_content_digest_with_both_algorithms_checks_each() -> None:
    wire = signed_httpx("POST", body=b"payload")
    both = f"{wire.header('content-digest')}, sha-512=:{b64digest('sha512', b'payload')}:"
    # Content-Digest is covered, so adding a member is a mismatch once digests match.
    refused(wire.with_header("content-digest", both), "mismatch")
    wrong = f"{wire.header('content-digest')}, sha-512=:{b64digest('sha512', b'nope')}:"
    refused(wire.with_header("content-digest", wrong), "content_digest")


def test_nonce_replay_is_refused() -> None:
    record = hmac_record(nonce=True)
    now = wall_clock().replace(microsecond=0)
    request = httpx.Request("GET", "https://api.example.com/v1")
    wire = Wire.of_httpx(sign_httpx(record, request, lambda: now))
    v = verifier()
    assert isinstance(v.nonce_store, InMemoryNonceStore)
    check(wire, v, now=now)
    refused(wire, "replay", v, now=now)
    refused(wire, "replay", v, now=now + timedelta(seconds=10))
    # Another signature (its own nonce) of the same request is fine.
    check(Wire.of_httpx(sign_httpx(record, request, lambda: now)), v, now=now)


def test_a_refused_signature_does_not_use_up_its_nonce() -> None:
    now = wall_clock().replace(microsecond=0)
    wire = Wire.of_httpx(
        sign_httpx(hmac_record(nonce=True), httpx.Request("GET", "https://a.example/"), lambda: now)
    )
    v = verifier()
    refused(replace(wire, method="POST"), "mismatch", v, now=now)
    refused(wire, "unknown_key", verifier({}), now=now)
    check(wire, v, now=now)


class RecordingStore:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, datetime]] = []

    def remember(self, keyid: str, nonce: str, until: datetime, now: datetime) -> bool:
        self.calls.append((keyid, nonce, until))
        return self.answer


@pytest.mark.parametrize("expires_in", [None, 30])
def test_the_nonce_store_is_pluggable(expires_in: int | None) -> None:
    fields = {"nonce": True} | ({} if expires_in is None else {"expiresIn": expires_in})
    wire = signed_httpx(**fields)
    _, params = signature_input(wire)
    until = NOW + (MAX_AGE if expires_in is None else timedelta(seconds=expires_in)) + SKEW

    accepting = RecordingStore(True)
    assert check(wire, verifier(nonce_store=accepting)).nonce == params["nonce"]
    assert check(wire, verifier(nonce_store=accepting)).nonce == params["nonce"]
    assert accepting.calls == [(CLIENT_ID, params["nonce"], until)] * 2

    rejecting = RecordingStore(False)
    refused(wire, "replay", verifier(nonce_store=rejecting))
    assert len(rejecting.calls) == 1

    untouched = RecordingStore(False)
    check(signed_httpx(), verifier(nonce_store=untouched))  # no nonce: store not asked
    refused(replace(wire, method="PUT"), "mismatch", verifier(nonce_store=untouched))
    assert untouched.calls == []


def test_replay_is_refused_with_an_injected_clock() -> None:
    now = wall_clock().replace(microsecond=0) - timedelta(hours=1)  # a trusted, older clock
    wire = Wire.of_httpx(
        sign_httpx(hmac_record(nonce=True), httpx.Request("GET", "https://a.example/"), lambda: now)
    )
    v = verifier()
    check(wire, v, now=now)
    refused(wire, "replay", v, now=now)


def test_unknown_keyid_and_wrong_key() -> None:
    wire = signed_httpx()
    refused(wire, "unknown_key", verifier({}))
    refused(wire, "unknown_key", verifier({"someone-else": b"k"}))
    refused(wire, "mismatch", verifier({CLIENT_ID: b"not the secret"}))


def test_errors_never_contain_the_secret() -> None:
    wire = signed_httpx("POST", body=b"secret-free body", nonce=True)
    messages = [
        refused(replace(wire, body=b"tampered"), "content_digest"),
        refused(replace(wire, method="PUT"), "mismatch"),
        refused(wire, "unknown_key", verifier({})),
        refused(wire, "too_old", now=NOW + timedelta(hours=1)),
        refused(wire.with_header("signature", f"sig1=:{SECRET}:"), "malformed"),
        refused(wire, "replay", verifier(nonce_store=RecordingStore(False))),
    ]
    for message in messages:
        assert SECRET not in message
    record = hmac_record()
    assert SECRET not in repr(record) and SECRET not in str(HttpxAuth(record).signer)
    with pytest.raises(CredsignError) as caught:
        sign_httpx(hmac_record(components=["x-absent"]), httpx.Request("GET", "https://a.b/"))
    assert_no_secret(caught.value)


# --- 5. Interop with http-message-signatures ----------------------------------------------

HMS_KEYS = MappingKeyResolver(public_keys=KEYS, private_keys=KEYS)
INTEROP_URL = "https://example.com/foo/b%C3%A4r?param=Value&Pet=dog%20x+y&empty="
ALL_COMPONENTS = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
    '@query-param;name="Pet"',
    '@query-param;name="empty"',
    "content-type",
    "date",
    "content-digest",
]


def _interop_request(method: str = "POST", url: str = INTEROP_URL) -> requests.PreparedRequest:
    body = b'{"hello": "world"}' if method != "GET" else None
    headers = {"Content-Type": "application/json", "Date": "Tue, 20 Apr 2021 02:07:55 GMT"}
    return requests.Request(method, url, headers=headers, data=body).prepare()


@pytest.mark.parametrize(
    ("method", "fields"),
    [
        ("POST", {}),
        ("GET", {}),
        ("POST", {"components": ALL_COMPONENTS}),
        ("PUT", {"digest": "sha-512", "includeAlg": False}),
        ("POST", {"nonce": True, "expiresIn": 60, "signatureLabel": "credsign"}),
        (
            "PATCH",
            {
                "secretEncoding": "base64",
                "clientSecret": base64.b64encode(SECRET.encode()).decode(),
                "components": ["@target-uri", "content-digest", "content-type"],
            },
        ),
    ],
)
def test_http_message_signatures_verifies_what_credsign_signs(
    method: str, fields: dict[str, Any]
) -> None:
    prepared = sign_requests(hmac_record(**fields), _interop_request(method), wall_clock)
    body = prepared.body
    assert body is None or isinstance(body, bytes)
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    (result,) = hms.verify(prepared, max_age=timedelta(minutes=5))
    assert result.label == fields.get("signatureLabel", "sig1")
    assert result.parameters["keyid"] == CLIENT_ID
    names, _ = signature_input(Wire.of_requests(prepared), result.label)
    assert [key.split(";")[0].strip('"') for key in result.covered_components][:-1] == names
    if body is not None:
        (checked,) = hms.verify_body(prepared, [result], body)
        assert checked.body == body
        with pytest.raises(Exception, match="Content-Digest does not match"):
            hms.verify_body(prepared, [result], body + b" ")
    # And our own verifier agrees.
    check(Wire.of_requests(prepared), verifier(required=()), now=None)


def test_default_port_in_the_url_target_uri_is_what_the_server_sees() -> None:
    """``@target-uri`` is the target URI the server reconstructs: no default port.

    A client's URL may spell ``:443``; http.client then sends ``Host: example.com`` and the
    server reconstructs ``https://example.com/...``. credsign signs that normalized form
    (RFC 9110 section 4.2.3). http-message-signatures derives ``@target-uri`` from the URL
    spelling verbatim, so it verifies the request as received (URL without the port), but
    not the client-side object with ``:443`` in its URL.
    """
    url = "https://example.com:443/foo?Pet=dog"
    record = hmac_record(components=["@method", "@target-uri", "@authority"])
    prepared = sign_requests(record, _interop_request("GET", url), wall_clock)
    assert prepared.url == url
    received = requests.Request(
        "GET", "https://example.com/foo?Pet=dog", headers=dict(prepared.headers)
    ).prepare()
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    hms.verify(received)
    check(Wire.of_requests(received), verifier(required=()), now=None)
    check(Wire.of_requests(prepared), verifier(required=()), now=None)


class Sha512Digest(ContentDigest):
    algorithm = "sha-512"


class Sha512Signer(HTTPMessageSigner):
    content_digest_class = Sha512Digest


@pytest.mark.parametrize(
    ("signer_class", "options", "required"),
    [
        (HTTPMessageSigner, {}, ("@method", "@authority", "@target-uri")),
        (
            HTTPMessageSigner,
            {
                "covered_component_ids": (
                    "@method",
                    "@authority",
                    "@path",
                    "@query",
                    '"@query-param";name="Pet"',
                    '"@query-param";name="empty"',
                    "@request-target",
                    "@scheme",
                    "content-type",
                    "date",
                ),
                "label": "sig1",
                "nonce": "n-0001",
                "tag": "app",
            },
            ("@method", "@authority", "@path"),
        ),
        (
            Sha512Signer,
            {"covered_component_ids": ("@method", "@authority", "@path"), "include_alg": False},
            ("@method", "@authority", "@path"),
        ),
    ],
)
def test_credsign_verifies_what_http_message_signatures_signs(
    signer_class: type[HTTPMessageSigner], options: dict[str, Any], required: tuple[str, ...]
) -> None:
    prepared = _interop_request()
    body = prepared.body
    assert isinstance(body, bytes)
    now = wall_clock().replace(microsecond=0)
    signer_class(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS).sign(
        prepared,
        key_id=CLIENT_ID,
        created=now,
        expires=now + timedelta(minutes=2),
        body=body,
        **options,
    )
    wire = Wire.of_requests(prepared)
    digest = wire.header("content-digest") or ""
    assert digest.startswith(signer_class.content_digest_class.algorithm + "=:")
    result = check(wire, verifier(required=required), now=now)
    assert result.label == options.get("label", "pyhms")
    assert '"content-digest"' in result.components
    assert result.nonce == options.get("nonce")
    assert result.expires == now + timedelta(minutes=2)
    refused(replace(wire, body=body + b" "), "content_digest", verifier(required=required), now=now)
    refused(replace(wire, method="PUT"), "mismatch", verifier(required=required), now=now)


def test_both_signatures_side_by_side() -> None:
    prepared = sign_requests(hmac_record(), _interop_request(), wall_clock)
    assert isinstance(prepared.body, bytes)
    HTTPMessageSigner(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS).sign(
        prepared,
        key_id=CLIENT_ID,
        label="theirs",
        tag="app",
        body=prepared.body,
        use_existing_digest=True,
        append_if_signature_exists=True,
    )
    wire = Wire.of_requests(prepared)
    assert [k for k, _ in dictionary_members(wire.header("signature") or "")] == ["sig1", "theirs"]
    refused(wire, "label", now=None)
    check(wire, label="sig1", now=None)
    check(wire, verifier(required=("@method", "@authority")), label="theirs", now=None)
    hms = HTTPMessageVerifier(signature_algorithm=algorithms.HMAC_SHA256, key_resolver=HMS_KEYS)
    (theirs,) = hms.verify(prepared, expect_tag="app", body=prepared.body)
    assert theirs.label == "theirs"
    # Re-signing with credsign replaces only its own entry.
    sign_requests(hmac_record(), prepared, wall_clock)
    wire = Wire.of_requests(prepared)
    assert [k for k, _ in dictionary_members(wire.header("signature") or "")] == ["theirs", "sig1"]
    check(wire, label="sig1", now=None)
    hms.verify(prepared, expect_tag="app", body=prepared.body)
