"""Issue 10, item 5: the log filter itself, on generated names, encodings and records."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign import log_redaction, parse_record
from credsign.log_redaction import MASK, MAX_NAMES, QueryRedactor
from credsign.signing import compile_signer
from credsign.signing.query import encode_component

UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
TEXT = st.characters(codec="utf-8")  # no lone surrogates: no URL carries them
names = st.text(TEXT, min_size=1, max_size=20).filter(
    lambda name: name.lower() not in {"page", "x-amz-date"}
)
#: The shapes the clients log a URL in: httpx, urllib3, a bytes repr (httpcore), an error.
FORMATS = (
    'HTTP Request: GET https://h.example/p?page=2&{pair}&x-amz-date=1 "HTTP/1.1 200 OK"',
    'https://h.example:443 "GET /p?page=2&{pair}&x-amz-date=1 HTTP/1.1" 200 12',
    "[(b'Location', b'/p?{pair}&page=2#x-amz-date=1')]",
    "Client error '404 NOT FOUND' for url 'https://h.example/p?{pair}'\nFor more information",
    "Redirecting /p?{pair}&page=2 -> /q",
)


@st.composite
def spellings(draw: st.DrawFn, name: str) -> str:
    """``name`` as a URL may carry it: any character percent-encoded (hex of either case),
    ASCII letters of either case, a space as ``+`` or ``%20``."""
    out = []
    for char in name:
        raw = char in UNRESERVED and draw(st.booleans())
        if raw:
            out.append(char.swapcase() if char.isascii() and draw(st.booleans()) else char)
        elif char == " " and draw(st.booleans()):
            out.append("+")
        else:
            escaped = encode_component(char) if char not in UNRESERVED else f"%{ord(char):02X}"
            out.append(escaped.lower() if draw(st.booleans()) else escaped)
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(name=names, value=st.text(TEXT, min_size=1), fmt=st.sampled_from(FORMATS), data=st.data())
@example(name="api_key", value="s3cr3t", fmt=FORMATS[0], data=None)
def test_a_registered_name_is_masked_in_any_spelling(
    name: str, value: str, fmt: str, data: st.DataObject | None
) -> None:
    spelled = data.draw(spellings(name)) if data else "api%5Fkey"
    redactor = QueryRedactor([name])
    pair = f"{spelled}={encode_component(value)}"
    assert redactor.redact(fmt.format(pair=pair)) == fmt.format(pair=f"{spelled}={MASK}")


@settings(max_examples=100, deadline=None)
@given(name=names, other=names, value=st.text(TEXT, min_size=1).filter(lambda v: "=" not in v))
def test_other_parameters_stay_readable(name: str, other: str, value: str) -> None:
    """(A value holding ``name=`` nests the name: test_trust_logging_nested.py.)"""
    redactor = QueryRedactor([name])
    pair = f"{encode_component(other)}={encode_component(value)}"
    text = f"GET /p?{pair} HTTP/1.1"
    expected = f"GET /p?{encode_component(other)}={MASK} HTTP/1.1"
    assert redactor.redact(text) == (expected if other.lower() == name.lower() else text)


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("httpx", logging.INFO, "/x.py", 7, msg, args, None)


def test_the_filter_rewrites_lazy_records_only_when_it_masks() -> None:
    redactor = QueryRedactor(["api_key"])
    url = httpx.URL("https://h.example/p?api_key=SECRET1&page=2")
    record = _record('HTTP Request: %s %s "%s %d %s"', "GET", url, "HTTP/1.1", 200, "OK")
    record.custom = "kept"
    fields = {k: v for k, v in vars(record).items() if k not in {"msg", "args"}}
    assert redactor.filter(record) is True
    message = record.getMessage()
    assert (
        message == f'HTTP Request: GET https://h.example/p?api_key={MASK}&page=2 "HTTP/1.1 200 OK"'
    )
    assert record.args == ()
    assert {k: v for k, v in vars(record).items() if k not in {"msg", "args"}} == fields

    plain = _record("%s %s", "GET", httpx.URL("https://h.example/p?page=2"))
    template, args = plain.msg, plain.args
    assert redactor.filter(plain) is True
    assert plain.msg is template and plain.args is args  # structured handlers keep both


def test_a_broken_logging_call_does_not_raise_in_the_filter() -> None:
    record = _record("%d items", "not a number")
    assert QueryRedactor(["api_key"]).filter(record) is True


def test_past_the_bound_every_query_value_is_masked() -> None:
    redactor = QueryRedactor(f"name{i}" for i in range(MAX_NAMES))
    assert redactor.redact("/p?name1=a&other=b") == f"/p?name1={MASK}&other=b"
    redactor.add(["one_more"])
    text = "connect_tcp.started host='h' port=443 url='/p?page=2&x=%41'"
    assert (
        redactor.redact(text)
        == f"connect_tcp.started host='h' port=443 url='/p?page={MASK}&x={MASK}'"
    )


def test_names_registered_from_threads_are_all_kept() -> None:
    redactor = QueryRedactor()
    threads = [
        threading.Thread(target=redactor.add, args=([f"t{i}-{j}" for j in range(50)],))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = "&".join(f"t{i}-{j}=v" for i in range(8) for j in range(50))
    assert "=v" not in redactor.redact(text)


def test_compiling_a_signer_filters_every_client_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Filters on a logger skip records propagated from its children: each one needs it."""
    late = logging.getLogger("urllib3.some_new_module")  # created after earlier compiles
    compile_signer(parse_record({"authType": "BEARER_TOKEN", "token": "t0k3n-value"}))
    compile_signer(
        parse_record(
            {
                "authType": "API_KEY",
                "apiKey": {"key": "late_key", "value": "late-secret", "position": "query"},
            }
        )
    )
    for name in (
        "httpx",
        "httpcore.http11",
        "httpcore.connection",
        "urllib3",
        "urllib3.connectionpool",
        "urllib3.util.retry",
        "requests",
        late.name,
    ):
        filters = logging.getLogger(name).filters
        assert any(isinstance(f, QueryRedactor) for f in filters), name
    with caplog.at_level(logging.DEBUG):
        late.warning("GET /p?late_key=late-secret")
    assert caplog.messages == [f"GET /p?late_key={MASK}"]


def test_redact_serves_messages_of_ones_own(httpbin_url: str) -> None:
    """httpx's ``raise_for_status()`` message holds the URL: ``redact`` masks it."""
    record = parse_record(
        {
            "authType": "API_KEY",
            "apiKey": {"key": "api_key", "value": "own-secret-1", "position": "query"},
        }
    )
    from credsign import HttpxAuth

    with httpx.Client(auth=HttpxAuth(record)) as client:
        response = client.get(f"{httpbin_url}/status/404")
    with pytest.raises(httpx.HTTPStatusError) as caught:
        response.raise_for_status()
    assert "own-secret-1" in str(caught.value)
    assert "own-secret-1" not in log_redaction.redact(str(caught.value))
    assert f"api_key={MASK}" in log_redaction.redact(str(caught.value))


def test_masking_is_linear_in_the_message_length() -> None:
    """A long token in a logged header (a cookie, say) must not make logging quadratic."""
    text = "Q" * 65536 + " /p?api_key=SECRET1 " + "b'" + "Z" * 65536 + "'"
    started = time.process_time()
    masked = QueryRedactor(["api_key"]).redact(text)
    assert time.process_time() - started < 1.0  # milliseconds; a backtracking scan: minutes
    assert "SECRET1" not in masked
