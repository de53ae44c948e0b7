"""verify_sigv4 given garbage raises SignatureError with a reason, and nothing else.

A server written as the README shows turns SignatureError into a 401; any other
exception would be a 500 before anything was authenticated. The fuzzer starts
from a valid signed request and breaks one part of it at a time (method, URL,
header names and values, Authorization fragments, presign parameters, huge
numbers, non-ASCII and non-str values), type-level garbage (None, numbers, bytes,
objects, nested containers) in every argument position, plus fully random inputs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign import HttpxAuth, parse_record
from credsign.verify import SignatureError, verify_sigv4
from tests.garbage import GARBAGE, POSITIONS, replaced
from tests.leaks import assert_no_secret

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
KEYS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
FUZZ = settings(max_examples=300, deadline=None)
REASONS = {
    "missing",
    "malformed",
    "unknown_key",
    "bad_key",
    "scope",
    "skew",
    "expired",
    "unsigned_header",
    "body_hash",
    "mismatch",
}


def signed(location: str, url: str = "https://example.amazonaws.com/p?a=1") -> httpx.Request:
    record = parse_record(
        {
            "authType": "AWS4",
            "accessKey": "AKIDEXAMPLE",
            "secretKey": KEYS["AKIDEXAMPLE"],
            "sessionToken": "token",
            "region": "eu-west-1",
            "service": "execute-api",
            "signatureLocation": location,
        }
    )
    request = httpx.Request("POST", url, content=b"body", headers={"X-Amz-Target": "t"})
    next(HttpxAuth(record, clock=lambda: NOW).sync_auth_flow(request))
    return request


HEADER_REQUEST = signed("header")
QUERY_REQUEST = signed("query")


def check(method: Any, url: Any, headers: Any, body: Any = b"body", **options: Any) -> None:
    """Verify; any outcome but success or a SignatureError with a known reason fails."""
    options.setdefault("now", NOW)
    try:
        verify_sigv4(method, url, headers, body, secret_for=KEYS.get, **options)
    except SignatureError as error:
        assert error.reason in REASONS
        assert_no_secret(error, KEYS["AKIDEXAMPLE"])


def test_the_requests_verify() -> None:
    for request in (HEADER_REQUEST, QUERY_REQUEST):
        verify_sigv4(
            "POST", str(request.url), request.headers.multi_items(), b"body",
            secret_for=KEYS.get, now=NOW,
        )  # fmt: skip


def lines(request: httpx.Request) -> list[tuple[str, str]]:
    return list(request.headers.multi_items())


HUGE = st.sampled_from(["9" * 30, "9" * 5000, "-1", "0", "+5", " 5", "1_0", "\u0661\u0662", "1e9"])
garbage_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec="latin-1"), max_size=20),
    st.sampled_from(["é", "\ud800", "\x00", "\r\n", " ", "", ";", ",", "=", "/", "%FF", "%"]),
    HUGE,
)
bad_hosts = st.sampled_from(
    ["a..b", "h:99999", "[::1", "[::1]:x", "h:-1", "h:", "\u2028", "x" * 64 + ".com", "é..x", ":80"]
)
AUTH_FIELDS = ("Credential=", "SignedHeaders=", "Signature=", "/", ";", ", ", "AWS4-HMAC-SHA256 ")


@st.composite
def header_mutations(draw: st.DrawFn) -> list[Any]:
    """The valid header-signed request's lines with one or more parts replaced."""
    result: list[Any] = lines(HEADER_REQUEST)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(result)))
        name = draw(
            st.sampled_from(
                ["authorization", "x-amz-date", "x-amz-content-sha256", "host", "x-amz-target"]
            )
            | garbage_text
        )
        value: Any = draw(garbage_text | HUGE)
        if name == "authorization" and draw(st.booleans()):
            fragments = st.sampled_from(AUTH_FIELDS) | garbage_text
            value = "".join(draw(st.lists(fragments, max_size=8)))
        if draw(st.integers(0, 9)) == 0:
            value = value.encode("utf-8", "surrogatepass")  # bytes where str is expected
        if index < len(result) and draw(st.booleans()):
            result[index] = (result[index][0], value)
        else:
            result.insert(index, (name, value))
    return result


@st.composite
def query_mutations(draw: st.DrawFn) -> str:
    """The presigned URL with a parameter replaced, added or cut."""
    base, _, query = str(QUERY_REQUEST.url).partition("?")
    parts = query.split("&")
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(parts) - 1))
        name = parts[index].partition("=")[0]
        value = draw(garbage_text | HUGE)
        action = draw(st.sampled_from(["replace", "raw", "repeat", "cut"]))
        if action == "replace":
            parts[index] = f"{name}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
        elif action == "raw":
            parts[index] = f"{name}={value}"
        elif action == "repeat":
            parts.append(parts[index])
        elif len(parts) > 1:
            del parts[index]
    return base + "?" + "&".join(parts)


@FUZZ
@given(header_mutations())
@example([("x-amz-content-sha256", "é"), *lines(HEADER_REQUEST)])
@example([*lines(HEADER_REQUEST)[:-1], ("x-amz-date", "99991231T235959Z")])
@example([(b"authorization", b"AWS4-HMAC-SHA256")])
@example([("authorization", "AWS4-HMAC-SHA256 Credential=\ud800/1/2/3/aws4_request")])
def test_header_garbage(headers: list[Any]) -> None:
    check("POST", str(HEADER_REQUEST.url), headers)


@FUZZ
@given(query_mutations())
@example(str(QUERY_REQUEST.url).replace("X-Amz-Expires=", "X-Amz-Expires=9" + "9" * 5000))
@example(str(QUERY_REQUEST.url).replace("X-Amz-Date=2026", "X-Amz-Date=9999"))
@example(str(QUERY_REQUEST.url).replace("X-Amz-Credential=", "X-Amz-Credential=%FF"))
def test_presigned_garbage(url: str) -> None:
    check("POST", url, lines(QUERY_REQUEST))


@FUZZ
@given(garbage_text, st.integers(0, 200), st.sampled_from([HEADER_REQUEST, QUERY_REQUEST]))
@example("\ud800", 30, HEADER_REQUEST)
@example("%FF%", 40, QUERY_REQUEST)
@example("#", 8, HEADER_REQUEST)
def test_url_garbage(text: str, position: int, request: httpx.Request) -> None:
    url = str(request.url)
    check("POST", url[:position] + text + url[position:], lines(request))


@FUZZ
@given(bad_hosts | garbage_text, st.sampled_from([HEADER_REQUEST, QUERY_REQUEST]))
@example("a..b", HEADER_REQUEST)
@example("h:99999", HEADER_REQUEST)
@example("[::1", QUERY_REQUEST)
def test_host_garbage(host: str, request: httpx.Request) -> None:
    url = str(request.url).replace("example.amazonaws.com", host, 1)
    check("POST", url, lines(request))
    check("POST", str(request.url), [(n, host if n == "host" else v) for n, v in lines(request)])


@FUZZ
@given(
    st.one_of(st.text(max_size=10), st.binary(max_size=5), st.none(), st.integers()),
    st.one_of(st.text(max_size=40), st.binary(max_size=10), st.none()),
    st.one_of(
        st.lists(st.tuples(garbage_text, garbage_text), max_size=4),
        st.dictionaries(garbage_text, garbage_text, max_size=3),
        st.lists(st.tuples(st.binary(max_size=5), st.binary(max_size=5)), max_size=2),
    ),
    st.one_of(st.binary(max_size=8), st.none(), st.text(max_size=8), GARBAGE),
)
def test_random_inputs(method: Any, url: Any, headers: Any, body: Any) -> None:
    check(method, url, headers, body)


@FUZZ
@given(
    position=st.sampled_from(POSITIONS),
    garbage=GARBAGE,
    index=st.integers(0, 20),
    request=st.sampled_from([HEADER_REQUEST, QUERY_REQUEST]),
)
@example(position="body", garbage="body", index=0, request=HEADER_REQUEST)  # a text body
@example(position="headers", garbage=None, index=0, request=QUERY_REQUEST)
@example(position="headers", garbage={b"host": b"x"}, index=0, request=HEADER_REQUEST)
@example(position="line", garbage=("a", "b", "c"), index=0, request=HEADER_REQUEST)
@example(position="name", garbage=1, index=0, request=QUERY_REQUEST)
def test_type_garbage_in_any_position(
    position: str, garbage: Any, index: int, request: httpx.Request
) -> None:
    """A valid request with None, a number, bytes, an object or a container in one place."""
    check(*replaced(("POST", str(request.url), lines(request), b"body"), position, garbage, index))


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-amz-content-sha256", "é"),
        ("x-amz-date", "2026112\uff12T120000Z"),  # a full-width digit strptime would accept
        ("x-amz-date", "2026112T12000Z"),
    ],
)
def test_named_cases_are_malformed(header: str, value: str) -> None:
    headers = [(n, v) for n, v in lines(HEADER_REQUEST) if n != header] + [(header, value)]
    with pytest.raises(SignatureError) as raised:
        verify_sigv4(
            "POST", str(HEADER_REQUEST.url), headers, b"body", secret_for=KEYS.get, now=NOW
        )
    assert raised.value.reason == "malformed"


def test_credential_date_must_be_the_day_of_x_amz_date() -> None:
    """A scope date that only prefixes X-Amz-Date (``2026``) is refused before any HMAC."""
    headers = [
        (n, v.replace("/20261122/", "/2026/") if n == "authorization" else v)
        for n, v in lines(HEADER_REQUEST)
    ]
    with pytest.raises(SignatureError) as raised:
        verify_sigv4(
            "POST", str(HEADER_REQUEST.url), headers, b"body", secret_for=KEYS.get, now=NOW
        )
    assert raised.value.reason == "scope"


def test_expiry_near_the_end_of_time() -> None:
    """A presigned URL dated 9999-12-31 is checked without a datetime overflow."""
    url = str(QUERY_REQUEST.url).replace("20261122", "99991231").replace("T120000Z", "T235959Z")
    with pytest.raises(SignatureError) as raised:
        verify_sigv4(
            "POST", url, lines(QUERY_REQUEST), b"body", secret_for=KEYS.get,
            now=datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc),
        )  # fmt: skip
    assert raised.value.reason == "mismatch"


@pytest.mark.parametrize("param", ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date"])
def test_repeated_presign_parameter_is_malformed(param: str) -> None:
    base, _, query = str(QUERY_REQUEST.url).partition("?")
    again = next(part for part in query.split("&") if part.startswith(param + "="))
    with pytest.raises(SignatureError) as raised:
        verify_sigv4(
            "POST", f"{base}?{query}&{again}", lines(QUERY_REQUEST), b"body",
            secret_for=KEYS.get, now=NOW,
        )  # fmt: skip
    assert raised.value.reason == "malformed"


def test_oversized_inputs() -> None:
    """Megabyte-sized fields are refused (or checked) in linear time, with a reason."""
    big = "a" * 1_000_000
    many = ";".join(f"h{i:06d}" for i in range(100_000))
    authorization = next(v for n, v in lines(HEADER_REQUEST) if n == "authorization")
    head, _, rest = authorization.partition("SignedHeaders=")
    for value in (f"{head}SignedHeaders={many},{rest.partition(',')[2]}", authorization + big):
        headers = [(n, value if n == "authorization" else v) for n, v in lines(HEADER_REQUEST)]
        for url in (str(HEADER_REQUEST.url), f"{HEADER_REQUEST.url}&{big}"):
            with pytest.raises(SignatureError):
                verify_sigv4(
                    "POST", url, [*headers, ("x-amz-target", big)], b"body",
                    secret_for=KEYS.get, now=NOW,
                )  # fmt: skip
