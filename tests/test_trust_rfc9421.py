"""Issue 10, item 11: whatever it is given, the RFC 9421 verifier raises only SignatureError.

Explicit cases for each crash the review found, a Hypothesis fuzzer over the whole
verifier (structured-field fragments, random bytes, huge numbers, odd URLs), one with
type-level garbage in every argument position, and one over the structured-field
parser alone. Items 13-14 (queries) and 15 (the window)
are in test_trust_rfc9421_query.py and test_trust_rfc9421_window.py.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from credsign.signing.structured_fields import (
    StructuredFieldError,
    dictionary_members,
    parse_inner_list,
    parse_item,
)
from credsign.verify import SignatureError
from tests.garbage import GARBAGE, POSITIONS, replaced
from tests.leaks import assert_no_secret
from tests.test_rfc9421 import (
    CLIENT_ID,
    CREATED,
    KEYS,
    MAX_AGE,
    NOW,
    SECRET,
    SKEW,
    Wire,
    b64digest,
    check,
    forge,
    hmac_record,
    refused,
    sign_httpx,
    verifier,
)

KEY = KEYS[CLIENT_ID]
PARAMS = f';created={CREATED};keyid="{CLIENT_ID}"'


def plain(
    url: str = "https://api.example.com/orders", host: str | None = "api.example.com"
) -> Wire:
    headers = () if host is None else (("host", host),)
    return Wire("GET", url, headers, b"")


def base_lines(
    path: str = "/orders", query: str = "?", authority: str = "api.example.com"
) -> list[tuple[str, str]]:
    return [
        ('"@method"', "GET"),
        ('"@authority"', authority),
        ('"@path"', path),
        ('"@query"', query),
    ]


# --- Item 11: every malformed, oversized or out-of-range input is a SignatureError ------


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("sig1=:abc:", "mismatch"),  # unpadded base64 is allowed (RFC 8941 section 4.2.7)
        ("sig1=:a:", "malformed"),
        ("sig1=:A=AA:", "malformed"),
        ("sig1=:====:", "malformed"),
        ("sig1=:AAAA:, sig2=:a:", "malformed"),
    ],
)
def test_a_signature_that_is_not_base64_is_malformed(signature: str, reason: str) -> None:
    wire = forge(plain(), base_lines(), PARAMS, KEY).with_header("signature", signature)
    refused(wire, reason)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        (f';created=999999999999999;keyid="{CLIENT_ID}"', "malformed"),
        (f';created=-999999999999999;keyid="{CLIENT_ID}"', "malformed"),
        (f';created={CREATED};keyid="{CLIENT_ID}";expires=999999999999999', "malformed"),
        (f';created={CREATED};keyid="{CLIENT_ID}";expires=253402300800', "malformed"),
        (f';created={CREATED};keyid="{CLIENT_ID}";expires=-999999999999999', "malformed"),
        (f';created=-62135596800;keyid="{CLIENT_ID}"', "too_old"),  # 0001-01-01
        (f';created=253402300799;keyid="{CLIENT_ID}"', "future"),  # 9999-12-31
    ],
)
def test_timestamps_out_of_range_are_refused(params: str, reason: str) -> None:
    refused(forge(plain(), base_lines(), params, KEY), reason)


def test_an_expiry_at_the_end_of_the_calendar_verifies() -> None:
    params = f"{PARAMS};expires=253402300799"
    result = check(forge(plain(), base_lines(), params, KEY))
    assert result.expires == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    huge = verifier(max_age=timedelta.max, clock_skew=timedelta.max)
    assert check(forge(plain(), base_lines(), params, KEY), huge).keyid == CLIENT_ID


@pytest.mark.parametrize(
    "digest",
    [
        "sha-256",
        'sha-256=("a")',
        "sha-256=:abc:",
        "sha-256=?1",
        "sha-256=1",
        "sha-256=:AAAA:;x=(",
        "sha-512=",
        "sha-256=:AAAA:, sha-256",
    ],
)
def test_a_malformed_content_digest_is_refused(digest: str) -> None:
    body = b"payload"
    wire = Wire("POST", "https://api.example.com/orders", (("host", "api.example.com"),), body)
    wire = wire.with_header("content-digest", digest)
    lines = [*base_lines(), ('"content-digest"', digest)]
    refused(forge(wire, lines, PARAMS, KEY), "content_digest")


@pytest.mark.parametrize(
    "url",
    [
        "https://a..b/orders",
        "https://h:99999/orders",
        "https://h:-1/orders",
        "https://h:x/orders",
        "https://[::1/orders",
        "https://[::1]x/orders",
        "https://" + "a" * 64 + ".example/orders",
        "https://\u2028.example/orders",
        "https://\udc80.example/orders",
        "https:///orders",
    ],
)
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(SignatureError) as caught:
        check(forge(plain(url, None), base_lines(), PARAMS, KEY))
    assert caught.value.reason in {"malformed", "mismatch"}
    try:  # with a Host header the URL's authority is not used: the rest must still parse
        check(forge(plain(url), base_lines(), PARAMS, KEY))
    except SignatureError as error:
        assert error.reason == "malformed"


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("a..b", "mismatch"),
        ("h:99999", "mismatch"),
        ("[::1", "mismatch"),
        ("é", "mismatch"),
        ("\udc80", "malformed"),
        (" ", "malformed"),
    ],
)
def test_a_strange_host_header_is_refused(host: str, reason: str) -> None:
    refused(forge(plain(host=host), base_lines(), PARAMS, KEY), reason)


@pytest.mark.parametrize(
    "inner",
    [
        '("@method" "@method")',  # RFC 9421 section 2.5: each component once
        "(@method)",
        "(method)",  # a token, not a string
        '("@query-param";name="a" "@query-param";name="a")',
        '("@query-param";name=a)',
        '("@query-param")',
        '("date";sf)',
        '("@method";x)',
        "(:AAAA:)",
        "(1)",
        "(?1)",
        '("é")',
    ],
)
def test_odd_covered_components_are_malformed(inner: str) -> None:
    wire = plain().with_header("signature-input", f"sig1={inner}{PARAMS}")
    refused(wire.with_header("signature", "sig1=:AAAA:"), "malformed", verifier(required=()))


def test_surrogates_in_covered_header_values_are_refused() -> None:
    wire = plain().with_header("x-a", "\udc80").with_header("signature", "sig1=:AAAA:")
    wire = wire.with_header("signature-input", f'sig1=("x-a"){PARAMS}')
    refused(wire, "malformed", verifier(required=()))


@pytest.mark.parametrize(
    "text",
    [
        "(" + '"@method"' + "".join(f";k{i}=1" for i in range(12000)) + ")",
        '("@method")' + "".join(f";k{i}=1" for i in range(12000)),
        ", ".join(f"k{i}=1" for i in range(12000)),
        ", ".join(f"k{i}=(a;p{i})" for i in range(6000)),
    ],
)
def test_oversized_fields_are_parsed_in_linear_time(text: str) -> None:
    """About 100 KB of distinct keys: once quadratic (8 s), now a few milliseconds."""
    started = time.perf_counter()
    wire = plain().with_header("signature-input", f"sig1={text}")
    wire = wire.with_header("signature", "sig1=:AAAA:").with_header("content-digest", text)
    with pytest.raises(SignatureError):
        check(wire)
    for parse in (parse_inner_list, parse_item, dictionary_members):
        with contextlib.suppress(StructuredFieldError):
            parse(text)
    assert time.perf_counter() - started < 2.0


# The fuzzer: fragments of structured fields, odd numbers and URLs, random bytes.

FRAGMENTS = [
    *("sig1", "sig2", "a*b", "=", "(", ")", " ", ",", ";", ":", '"', "\\", "?0", "?1", "*"),
    *('"@method"', '"@authority"', '"@path"', '"@query"', '"@target-uri"', '"@scheme"'),
    *('"@request-target"', '"@query-param";name="a"', '"@query-param"', '"@status"'),
    *('"content-digest"', '"content-type"', '"host"', '"Host"', "tok", "(a b)"),
    *("created=", "expires=", "keyid=", "alg=", "nonce=", "name=", ";created=", ";expires="),
    *('"client-7"', '"hmac-sha256"', "hmac-sha256", '"n-1"', "sha-256=", "sha-512="),
    *("999999999999999", "-999999999999999", "253402300799", "253402300800", "0", "-1"),
    *("1.5", "-0.001", "1234567890123456", "1e3", str(CREATED), str(CREATED + 60)),
    *(":abc:", ":AAAA:", ":====:", ":A=AA:", "::", "é", "\x00", "\t", "\r\n", "\udc80", "%FF"),
]
fragment_text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=14).map("".join)
huge = st.integers(-(10**20), 10**20) | st.sampled_from([0, -1, 253402300799, 253402300800])


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` seven times in eight, else ``odd``: most examples get deep into the checks."""
    return st.sampled_from([usual] * 7 + [odd]).flatmap(lambda strategy: strategy)


times = mostly(st.sampled_from([CREATED, CREATED - 30, CREATED + 30, CREATED - 400]), huge)
numbers = mostly(times.map(str), fragment_text)


@st.composite
def params_text(draw: st.DrawFn) -> str:
    pairs = [
        ("created", draw(numbers)),
        ("keyid", draw(mostly(st.just(f'"{CLIENT_ID}"'), st.sampled_from(['"x"', "tok", "1"])))),
    ]
    if draw(st.booleans()):
        pairs.append(("expires", draw(numbers)))
    if draw(st.booleans()):
        pairs.append(("nonce", draw(mostly(st.just('"n-1"'), st.just("1") | fragment_text))))
    if draw(st.booleans()):
        pairs.append(("alg", draw(mostly(st.just('"hmac-sha256"'), st.just("hmac-sha256")))))
    pairs += draw(
        mostly(st.just([]), st.lists(st.tuples(fragment_text, fragment_text), max_size=2))
    )
    pairs = draw(st.permutations(pairs))
    return "".join(f";{key}" if value == "" else f";{key}={value}" for key, value in pairs)


IDENTIFIERS = ['"@method"', '"@authority"', '"@path"', '"@query"', '"content-digest"']
HOSTS = ["a..b", "h:99999", "[::1", "[::1]:8443", "é.example", "", "H:443", "\udc80"]


@st.composite
def requests_to_verify(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]], bytes | None]:
    host = draw(mostly(st.just("api.example.com"), st.sampled_from(HOSTS) | fragment_text))
    path = draw(mostly(st.just("/orders"), st.sampled_from(["", "/a%2Fb", "/é"]) | fragment_text))
    query = draw(mostly(st.sampled_from(["", "?", "?admin=true"]), fragment_text))
    scheme = draw(mostly(st.just("https"), st.sampled_from(["http", "ftp", ""])))
    url = f"{scheme}://{host}{path}{query}"
    method = draw(mostly(st.sampled_from(["GET", "POST"]), st.sampled_from(["", "g e t"])))
    body = draw(st.none() | st.binary(max_size=32))
    headers: list[tuple[str, str]] = []
    if draw(st.booleans()):
        headers.append(("host", draw(mostly(st.just(host), st.sampled_from(HOSTS)))))
    good = f"sha-256=:{b64digest('sha256', body or b'')}:"
    digest = draw(
        mostly(st.just(good), st.sampled_from(["sha-256", 'sha-256=("a")']) | fragment_text)
    )
    if draw(st.booleans()):
        headers.append(("content-digest", digest))
    headers += draw(
        st.lists(st.tuples(st.sampled_from(["x-a", "date"]), fragment_text), max_size=2)
    )

    label = draw(mostly(st.just("sig1"), fragment_text))
    names = draw(
        mostly(
            st.lists(st.sampled_from(IDENTIFIERS), unique=True, max_size=5),
            st.lists(st.sampled_from(IDENTIFIERS) | fragment_text, max_size=6),
        )
    )
    inner = "(" + " ".join(names) + ")" + draw(params_text())
    if draw(mostly(st.just(True), st.just(False))):  # keyed by hand over the raw parts
        values = {
            '"@method"': method,
            '"@authority"': dict(headers).get("host", host).lower(),
            '"@path"': path or "/",
            '"@query"': "?" + query.lstrip("?"),
            '"content-digest"': dict(headers).get("content-digest", ""),
        }
        base = "\n".join(
            [*(f"{n}: {values.get(n, '')}" for n in names), f'"@signature-params": {inner}']
        )
        mac = hmac.new(KEY, base.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        proof = f":{base64.b64encode(mac).decode()}:"
    else:
        proof = draw(st.sampled_from([":AAAA:", ":abc:", ""]) | fragment_text)
    headers.append(("signature-input", draw(mostly(st.just(f"{label}={inner}"), st.just(inner)))))
    headers.append(("signature", draw(mostly(st.just(f"{label}={proof}"), st.just(proof)))))
    if not draw(mostly(st.just(True), st.just(False))):
        headers = [(name, draw(st.binary(max_size=40)).decode("latin-1")) for name, _ in headers]
    return method, url, draw(st.permutations(headers)), body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    request=requests_to_verify(),
    at=st.sampled_from([NOW, NOW + MAX_AGE + SKEW]),
    required=st.sampled_from([(), ("@method", "@authority", "@path", "@query")]),
)
@example(
    request=(
        "GET",
        "https://h/",
        [("signature-input", "sig1=()"), ("signature", "sig1=:abc:")],
        None,
    ),
    at=NOW,
    required=(),
)
def test_the_verifier_only_ever_raises_signature_error(
    request: tuple[str, str, list[tuple[str, str]], bytes | None],
    at: datetime,
    required: tuple[str, ...],
) -> None:
    method, url, headers, body = request
    v = verifier(required=required)
    for _ in range(2):  # the second time, a remembered nonce: a replay or the same refusal
        started = time.perf_counter()
        try:
            result = v.verify(method, url, headers, body, now=at)
        except SignatureError as error:
            assert error.reason in REASONS
            event(f"refused: {error.reason}")
        else:
            assert result.keyid == CLIENT_ID
            event("verified")
        assert time.perf_counter() - started < 2.0


REASONS = {
    *("missing", "malformed", "label", "algorithm", "unknown_key", "bad_key", "too_old"),
    *("future",),
    *("expired", "missing_component", "content_digest", "replay", "mismatch"),
}


SIGNED_POST = Wire.of_httpx(
    sign_httpx(hmac_record(), httpx.Request("POST", "https://api.example.com/p?x=1", content=b"x"))
)


@settings(max_examples=300, deadline=None)
@given(
    position=st.sampled_from(POSITIONS),
    garbage=GARBAGE,
    index=st.integers(0, 20),
    wire=st.sampled_from([SIGNED_POST, forge(plain(), base_lines(), PARAMS, KEY)]),
)
@example(position="body", garbage="x", index=0, wire=SIGNED_POST)  # a framework's text body
@example(position="url", garbage=None, index=0, wire=SIGNED_POST)
@example(position="name", garbage=1, index=0, wire=SIGNED_POST)
@example(position="headers", garbage=None, index=0, wire=SIGNED_POST)
@example(position="line", garbage=("a", "b", "c"), index=0, wire=SIGNED_POST)
def test_type_garbage_in_any_position_is_a_signature_error(
    position: str, garbage: Any, index: int, wire: Wire
) -> None:
    """A valid request with None, a number, bytes, an object or a container in one place."""
    request = (wire.method, wire.url, wire.headers, wire.body)
    try:
        verifier().verify(*replaced(request, position, garbage, index), now=NOW)
    except SignatureError as error:
        assert error.reason in REASONS
        assert_no_secret(error, SECRET)


@settings(max_examples=300, deadline=None)
@given(text=fragment_text | st.binary(max_size=64).map(lambda b: b.decode("latin-1")))
@example(":abc:")
@example('sha-256=("a")')
@example("a=:A=AA:;b")
def test_structured_field_parsing_only_raises_structured_field_error(text: str) -> None:
    for parse in (parse_item, parse_inner_list, dictionary_members):
        with contextlib.suppress(StructuredFieldError):
            parse(text)


def test_repeated_parameters_keep_their_first_place() -> None:
    """RFC 8941 section 4.2.3.2: a repeated key overwrites the value, in its first place."""
    assert parse_item("a;x=1;y=2;x=3") == ("a", [("x", 3), ("y", 2)])
    assert dictionary_members("a=1, b=2, a=3") == [("a", "3"), ("b", "2")]
    wire = forge(plain(), base_lines(), PARAMS, KEY)
    inner = '("@method" "@authority" "@path" "@query")'
    check(wire.with_header("signature-input", f"sig1={inner};created=1{PARAMS}"))
