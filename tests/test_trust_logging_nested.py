"""Issue 10, item 5 (review): a credential nested in another parameter's value is masked.

An in-scope API that sends the caller to a login page passes the URL it was asked for
along, percent-encoded: ``/login?return_to=http%3A%2F%2Fa%2Fv1%3Fapi_key%3DSECRET``.
httpx logs that URL at INFO, urllib3 at DEBUG, and httpcore the response's Location
(Refresh, Set-Cookie, Content-Location) header lines: a value that, decoded up to
``NESTING`` times, holds a registered name and ``=`` is masked whole. The same through
real clients and servers is in test_trust_logging.py.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign.log_redaction import MASK, NESTING, QueryRedactor
from credsign.signing.query import encode_component
from tests.test_trust_logging_redactor import TEXT, names, spellings

#: Names the formats below use as parameters themselves (``url=``, ``return_value=``).
outer_names = names.filter(lambda name: name.lower() not in {"url", "return_value"})

#: Ways a server percent-encodes a URL into a parameter: fully, form-style, lower-case
#: hex, or leaving ``:/`` (and ``?``, even ``=``) raw as many frameworks do.
ENCODINGS = {
    "quote": lambda url: quote(url, safe=""),
    "quote_plus": lambda url: quote_plus(url, safe=""),
    "lower hex": lambda url: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(url, "")),
    "keep :/": lambda url: quote(url, safe=":/"),
    "keep :/?=": lambda url: quote(url, safe=":/?="),
}
#: Where a client logs the outer URL (httpx, urllib3, httpcore's response headers, the
#: header lines that carry a URL): the line, and the same masked. The outermost value
#: that nests the key is masked: ``return_to``, or ``url`` in a Refresh header.
_LOCATION = "receive_response_headers.complete return_value=(b'HTTP/1.1', 302, b'Found', "
FORMATS = (
    (
        'HTTP Request: GET https://b.example{url} "HTTP/1.1 200 OK"',
        f'HTTP Request: GET https://b.example/login?return_to={MASK} "HTTP/1.1 200 OK"',
    ),
    (
        'https://b.example:443 "GET {url} HTTP/1.1" 200 0',
        f'https://b.example:443 "GET /login?return_to={MASK} HTTP/1.1" 200 0',
    ),
    (
        _LOCATION + "[(b'Location', b'https://b.example{url}'), (b'Content-Length', b'0')])",
        _LOCATION + f"[(b'Location', b'https://b.example/login?return_to={MASK}'), "
        "(b'Content-Length', b'0')])",
    ),
    (
        "[(b'Content-Location', b'{url}#top')]",
        f"[(b'Content-Location', b'/login?return_to={MASK}#top')]",
    ),
    ("[(b'Refresh', b'0; url=https://b.example{url}')]", f"[(b'Refresh', b'0; url={MASK}')]"),
)


def nested(inner: str, depth: int, encodings: list[str]) -> str:
    """``inner`` wrapped ``depth`` times in a login URL's ``return_to`` parameter."""
    url = inner
    for level in range(depth):
        url = f"https://b.example/login?return_to={ENCODINGS[encodings[level]](url)}"
    return url.removeprefix("https://b.example")


@settings(max_examples=300, deadline=None)
@given(
    name=outer_names,
    value=st.text(TEXT, min_size=1),
    depth=st.integers(1, NESTING),
    encodings=st.lists(st.sampled_from(sorted(ENCODINGS)), min_size=NESTING, max_size=NESTING),
    fmt=st.sampled_from(FORMATS),
    data=st.data(),
)
@example(
    name="api_key", value="SECRETKEY123", depth=1, encodings=["quote"] * NESTING,
    fmt=FORMATS[0], data=None,
)  # fmt: skip
@example(
    name="api_key", value="SECRETKEY123", depth=3, encodings=["quote_plus"] * NESTING,
    fmt=FORMATS[2], data=None,
)  # fmt: skip
@example(
    name="application key", value="s3cr3t v", depth=NESTING, encodings=["lower hex"] * NESTING,
    fmt=FORMATS[4], data=None,
)  # fmt: skip
def test_a_nested_credential_masks_the_value_holding_it(
    name: str,
    value: str,
    depth: int,
    encodings: list[str],
    fmt: tuple[str, str],
    data: st.DataObject | None,
) -> None:
    spelled = data.draw(spellings(name)) if data else encode_component(name)
    inner = f"https://a.example/v1/orders?page=2&{spelled}={encode_component(value)}"
    line = fmt[0].format(url=nested(inner, depth, encodings))
    assert QueryRedactor([name]).redact(line) == fmt[1]


@settings(max_examples=100, deadline=None)
@given(
    depth=st.integers(1, NESTING),
    encodings=st.lists(st.sampled_from(sorted(ENCODINGS)), min_size=NESTING, max_size=NESTING),
    fmt=st.sampled_from([line for line, _ in FORMATS]),
)
def test_a_nested_url_without_credentials_stays_readable(
    depth: int, encodings: list[str], fmt: str
) -> None:
    """Nothing is masked by the nesting alone: only a registered name followed by ``=``."""
    inner = "https://a.example/v1/orders?page=2&api_key_hint=none&key=x#api_key"
    line = fmt.format(url=nested(inner, depth, encodings))
    assert QueryRedactor(["api_key"]).redact(line) == line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/login?return_to=/x?api_key=SECRET", f"/login?return_to={MASK}"),
        ("[(b'Refresh', b'0; url=/x?api_key=SECRET')]", f"[(b'Refresh', b'0; url={MASK}')]"),
        (
            "[(b'Set-Cookie', b'back=%2Fx%3Fapi_key%3DSECRET; Path=/')]",
            f"[(b'Set-Cookie', b'back={MASK} Path=/')]",
        ),
        ("/p?next=%2Fq%3Fa%3D1%26API%255FKEY%3DSECRET", f"/p?next={MASK}"),
    ],
)
def test_named_shapes(line: str, expected: str) -> None:
    assert QueryRedactor(["api_key"]).redact(line) == expected


def test_nested_decoding_stays_linear() -> None:
    """Each level is one pass: values of 300 KB full of escapes and ``=`` stay fast
    (a quadratic scan would take hours)."""
    redactor = QueryRedactor(["api_key"])
    texts = [
        "/p?r=" + "%25" * 100_000 + "3D",
        "/p?r=" + "a%3D" * 75_000,
        "/p?r=" + "%3D" * 100_000 + "&r=" + "=" * 300_000,
        "/p?" + "r=a%3D&" * 40_000,
    ]
    started = time.process_time()
    for text in texts:
        assert redactor.redact(text) == text
    assert time.process_time() - started < 2.0
    masked = redactor.redact("/p?r=" + "x%3D" * 75_000 + "%26api_key%3DSECRET")
    assert masked == f"/p?r={MASK}"
