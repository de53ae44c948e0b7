"""SigV4 over bytes: percent-escapes that are not UTF-8 are signed and sent as they are.

A query or path may carry any bytes (``?bin=%FF``, a truncated ``%C3``, half of a
three-byte character ``%E6%97``). They are percent-decoded to bytes and encoded
again from bytes, never through text: decoding them as UTF-8 would put
``U+FFFD`` (``%EF%BF%BD``) in the canonical request and on the wire.

Reference: botocore's header signers (``SigV4Auth``, ``S3SigV4Auth``) copy the
query as sent into the canonical request, so on queries in the canonical
encoding (upper-case escapes, unreserved characters raw) they sign the bytes.
botocore's query signers (``SigV4QueryAuth``) decode the query as UTF-8 text
themselves (``parse_qs``), so presigned URLs are checked against the verifier
and the wire instead.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign.signing.query import remove_params, set_param
from credsign.signing.sigv4 import SIGNING_PARAMS
from credsign.signing.sigv4_rules import canonical_component, recode_component
from credsign.verify import verify_sigv4
from tests.test_sigv4_botocore import (
    Case,
    botocore_signed,
    plain_case,
    sign_httpx,
    sign_requests,
)

EXAMPLES = settings(max_examples=200, deadline=None)
NOT_UTF8 = ("%FF", "%C3", "%E6%97", "%ED%A0%80", "%C0%AF", "%80")


def encoded(data: bytes) -> str:
    """A query component or path segment in AWS's encoding (what botocore's serializer sends)."""
    return quote(data, safe="")


components = st.one_of(
    st.binary(max_size=6).map(encoded),
    st.sampled_from(NOT_UTF8),
    st.text(max_size=4).map(lambda text: quote(text.encode("utf-8", "surrogatepass"), safe="")),
)


@st.composite
def byte_queries(draw: st.DrawFn, *, unique: bool) -> str:
    """A query of encoded byte names and values; unless ``unique``, names repeat."""
    names = st.one_of(components.filter(bool), st.sampled_from(["bin", "a", "Z"]))
    chosen = draw(st.lists(names, min_size=1, max_size=4, unique=unique))
    if not unique:
        chosen += draw(st.lists(st.sampled_from(chosen), max_size=3))
    parts = [f"{name}={draw(components)}" for name in chosen if name not in SIGNING_PARAMS]
    return "&".join(parts)


def utf8(query: str) -> bool:
    try:
        unquote(query, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


def path_of(segments: list[bytes]) -> str:
    return "/" + "/".join(encoded(segment) for segment in segments)


@st.composite
def byte_cases(draw: st.DrawFn, *, presign: bool) -> Case:
    service = draw(st.sampled_from(["execute-api", "s3"]))
    segments = st.binary(min_size=1, max_size=4).filter(lambda s: s not in (b".", b".."))
    path = path_of(draw(st.lists(segments | st.sampled_from([b"\xff", b"\xc3"]), max_size=3)))
    query = draw(byte_queries(unique=presign))
    return dataclasses.replace(
        plain_case(f"https://example.amazonaws.com{path}?{query}"),
        method=draw(st.sampled_from(["GET", "PUT"])),
        service=service,
        token=draw(st.none() | st.just("token/with+chars")),
        presign=presign,
    )


ISSUE = plain_case("https://example.amazonaws.com/%FF/x?bin=%FF&half=%C3&cut=%E6%97&%FF=%FE")
S3_ISSUE = dataclasses.replace(ISSUE, service="s3")


def verify(case: Case, url: str, headers: Any) -> None:
    verify_sigv4(
        case.method,
        url,
        list(headers),
        case.body,
        secret_for={case.access_key: case.secret_key}.get,
        now=case.moment,
    )


@EXAMPLES
@given(byte_cases(presign=False))
@example(ISSUE)
@example(S3_ISSUE)
@example(plain_case("https://example.amazonaws.com/p?"))  # an empty query: "?" stays on the wire
@example(plain_case("https://example.amazonaws.com/p?%FF=1&%FF=%FE&%EF%BF%BD=1&a=%C3&a=%C3"))
def test_header_signature_over_bytes_equals_botocore(case: Case) -> None:
    """httpx and requests: botocore's Authorization, the query sent as given, and both verify."""
    query = urlsplit(case.url).query
    signed, expected = sign_httpx(case)
    assert signed.headers["Authorization"] == expected.headers["Authorization"]
    assert signed.url.raw_path.decode("ascii") == urlsplit(case.url).path + "?" + query
    verify(case, str(signed.url), signed.headers.multi_items())
    verify(case, expected.url, expected.headers.items())  # botocore's signature is accepted

    prepared, expected = sign_requests(case)
    assert prepared.headers["Authorization"] == expected.headers["Authorization"]
    assert urlsplit(prepared.url or "").query == query
    verify(case, prepared.url or "", prepared.headers.items())


@EXAMPLES
@given(byte_cases(presign=True))
@example(dataclasses.replace(ISSUE, presign=True))
@example(dataclasses.replace(S3_ISSUE, presign=True))
@example(
    dataclasses.replace(plain_case("https://example.amazonaws.com/p?a=%C3%A9&b="), presign=True)
)
def test_presigned_url_keeps_the_bytes(case: Case) -> None:
    """The operation's parameters are sent byte for byte, and the URL verifies."""
    query = urlsplit(case.url).query
    signed, expected = sign_httpx(case)
    if utf8(query):  # botocore's query signers decode the query as UTF-8 text first
        verify(case, expected.url, expected.headers.items())
    sent = signed.url.query.decode("ascii")
    own = [part for part in sent.split("&") if part.partition("=")[0] not in SIGNING_PARAMS]
    assert "&".join(own) == query
    verify(case, str(signed.url), signed.headers.multi_items())
    prepared, _ = sign_requests(case)
    assert (prepared.url or "").partition("?")[2] == sent


def test_botocore_reference_for_the_issue_bytes() -> None:
    """The canonical query botocore signs for the issue's URL holds the raw escapes."""
    expected = botocore_signed(ISSUE, ISSUE.url, [], b"")
    assert "%EF%BF%BD" not in expected.url
    signed, _ = sign_httpx(ISSUE)
    assert "%EF%BF%BD" not in str(signed.url)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=12) | st.text("%+AZaz09-._~Ff", max_size=12))
@example("abc-._~")
@example("%FF")
@example("%ff")
@example("a+b")
@example("%")
@example("%G0")
def test_fast_path_equals_general_path(raw: str) -> None:
    """The shortcut for canonical ASCII components gives what re-encoding gives."""
    assert canonical_component(raw) == recode_component(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=3), st.binary(min_size=1, max_size=4))
@example("\ufffd", b"\xff")
@example("\ufffd", b"\xc3")
@example("\ufffd", "\ufffd".encode())
@example("k", b"k")
def test_query_names_compare_as_bytes(name: str, other: bytes) -> None:
    """``set_param``/``remove_params`` match a name by its bytes: ``%FF`` is not ``%EF%BF%BD``."""
    part = f"{encoded(other)}=1"
    same = other == name.encode("utf-8", "surrogatepass")
    assert set_param(part, name, "new=1") == ("new=1" if same else f"{part}&new=1")
    assert remove_params(part, {name}) == ("" if same else part)


def model_name(part: str) -> bytes:
    """The reference: a parameter's name as bytes, ``+`` a space, escapes decoded."""
    return unquote_to_bytes(part.partition("=")[0].replace("+", " "))


raw_parts = st.one_of(
    st.text("ak=+%", max_size=4),
    components.map(lambda name: f"{name}=1"),
    st.sampled_from(["k", "k=", "%6B=1", "%6b", "k+", "%FF=1", "%EF%BF%BD=1", ""]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_parts, max_size=5).map("&".join), st.sampled_from(["k", "k ", "\ufffd", "a"]))
@example("k=1&a=2&k", "k")
@example("a=1&&b", "k")
@example("%FF=1&%EF%BF%BD=2", "\ufffd")
def test_query_edits_equal_the_byte_model(query: str, name: str) -> None:
    """Fast and general paths of set_param/remove_params both match names by their bytes."""
    wanted = name.encode()
    matched = any(model_name(part) == wanted for part in query.split("&") if part)
    kept = [part for part in query.split("&") if part and model_name(part) != wanted]
    rest = "&".join(kept) if matched else query  # nothing matched: the query as written
    assert remove_params(query, {name}) == rest
    assert set_param(query, name, "new=1") == (f"{rest}&new=1" if rest else "new=1")
