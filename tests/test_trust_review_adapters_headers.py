"""requests accepts bytes header values; signers see them as the text http.client sends.

http.client writes a bytes value as it is and a str value encoded as Latin-1, so the
head view reads a bytes value as Latin-1: signing it equals signing the same text
given as str. Checked on a raw socket, and through ``VerifyingAdapter`` for the
signers that cover headers (AWS4, HMAC).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign import RequestsAuth, parse_record
from credsign.testing import VerifyingAdapter

RECORDS = {
    "aws4": {
        "authType": "AWS4",
        "accessKey": "AKIDHEADERS",
        "secretKey": "sk",
        "region": "us-east-1",
        "service": "execute-api",
    },
    "hmac": {"authType": "HMAC_SHA256", "clientId": "c", "clientSecret": "s"},
}
BASE = "https://api.example.com"

# What requests lets through as a header value: no CR/LF/NUL, no leading whitespace (for a
# str value, Unicode whitespace: U+00A0 and U+0085 too).
VALUE_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
values = st.text(VALUE_CHARS, min_size=1, max_size=12).filter(lambda v: not v[0].isspace())


def _wire(headers: dict[str, Any]) -> bytes:
    """The bytes http.client put on the wire for ``headers``, read by a raw socket."""
    server = socket.create_server(("127.0.0.1", 0))
    received = bytearray()

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            while b"\r\n\r\n" not in received:
                received.extend(connection.recv(65536))
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = server.getsockname()[1]
    requests.get(f"http://127.0.0.1:{port}/", headers=headers, timeout=10)
    thread.join(10)
    server.close()
    return bytes(received)


def test_http_client_sends_bytes_as_they_are_and_text_as_latin_1() -> None:
    assert b"\r\nX-A: caf\xe9\r\n" in _wire({"X-A": b"caf\xe9"})
    assert b"\r\nX-A: caf\xe9\r\n" in _wire({"X-A": "café"})


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(list(RECORDS)),
    st.dictionaries(st.sampled_from(["Content-Type", "X-A", "X-Amz-Meta-B"]), values, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
@example("aws4", {"Content-Type": "text/plain"}, [True, True, True])  # the review's case
@example("hmac", {"Content-Type": "text/plain", "X-A": "v"}, [True, True, True])
@example("aws4", {"X-A": "café"}, [True, True, True])
@example("hmac", {"X-A": "\xa0v", "Content-Type": "a\xa0b"}, [True, False, True])
def test_bytes_and_text_header_values_sign_alike(
    kind: str, headers: dict[str, str], as_bytes: list[bool]
) -> None:
    record = parse_record({**RECORDS[kind], "baseUrl": BASE})
    given_headers = {
        name: value.encode("latin-1") if raw else value
        for (name, value), raw in zip(headers.items(), as_bytes, strict=False)
    }
    with requests.Session() as session:
        session.mount("https://", VerifyingAdapter(record))
        session.auth = RequestsAuth(record)
        response = session.post(f"{BASE}/x", data=b"x", headers=given_headers)
    assert response.status_code == 200, response.text
