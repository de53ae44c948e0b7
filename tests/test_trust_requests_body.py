"""requests bodies: the signer hashes, and ``VerifyingAdapter`` reads, the bytes urllib3 sends.

Both use ``credsign.adapters.requests_body``. The wire test compares its
bytes with what a real server on 127.0.0.1 receives from requests, for text
(non-Latin-1 included), bytes, files and chunked iterables; the harness test
signs the same bodies with AWS4 and HMAC records and expects 200.
"""

from __future__ import annotations

import array
import contextlib
import io
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign import CredsignError, RequestsAuth, parse_record
from credsign.adapters.requests_body import body_bytes, body_digest
from credsign.testing import VerifyingAdapter

BASE = "https://api.example.com"
#: requests warns that text-mode files are deprecated: they are still a body it takes.
pytestmark = pytest.mark.filterwarnings("ignore::requests.exceptions.FileModeWarning")
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[bytes]

    def do_POST(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip(), 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).bodies.append(body)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def wire() -> Iterator[tuple[str, list[bytes]]]:
    """A real HTTP server on 127.0.0.1 that keeps every request body it receives."""
    handler = type("Recorder", (_Recorder,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", handler.bodies
    server.shutdown()
    server.server_close()


def text_file(text: str) -> Any:
    """A real file opened in text mode (UTF-8), at its start: urllib3 encodes what it reads."""
    file = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115 - see body
    file.write(text)
    file.seek(0)
    return file


#: Each kind of body requests takes, built anew from its content for every use.
KINDS: dict[str, Callable[[str], Any]] = {
    "text": lambda text: text,
    "bytes": lambda text: text.encode(),
    "bytearray": lambda text: bytearray(text.encode()),
    "array": lambda text: array.array("B", text.encode()),
    "binary file": lambda text: io.BytesIO(text.encode()),
    "text file": lambda text: text_file(text),
}
ITERABLES: dict[str, Callable[[str], Any]] = {
    "text chunks": lambda text: iter([text, "", text[:3]]),
    "bytes chunks": lambda text: (part.encode() for part in [text, "|", text]),
}


@contextlib.contextmanager
def body(kind: str, text: str) -> Iterator[Any]:
    """A new body of ``kind`` holding ``text``, closed afterwards if it is a file."""
    made = (KINDS | ITERABLES)[kind](text)
    try:
        yield made
    finally:
        if isinstance(made, io.IOBase):
            made.close()


@settings(max_examples=60, deadline=None)
@given(text=TEXT, kind=st.sampled_from(sorted(KINDS | ITERABLES)))
@example(text="é", kind="text").via("the issue: data='é'")
@example(text="€ 中文 😀", kind="text").via("text outside Latin-1")
@example(text="é€", kind="text chunks")
def test_the_bytes_are_the_bytes_requests_sends(
    wire: tuple[str, list[bytes]], text: str, kind: str
) -> None:
    url, received = wire
    received.clear()
    with body(kind, text) as sent:
        requests.post(url, data=sent, timeout=5)
    with body(kind, text) as read:
        assert received == [body_bytes(read)]


def test_a_real_file_is_hashed_in_place_and_read_by_the_wire(
    wire: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"skip|" + "é€".encode() * 40_000)  # several blocks
    url, received = wire
    received.clear()
    with path.open("rb") as file:
        file.seek(5)
        digest = body_digest(file, "sha256")
        assert file.tell() == 5
        requests.post(url, data=file, timeout=5)
    with path.open("rb") as file:
        file.seek(5)
        assert received == [body_bytes(file)]
        assert file.read() == b""  # the wire uses a file up
    assert digest == body_digest(received[0], "sha256")


def test_bodies_that_cannot_be_read_twice_are_refused_by_the_signer() -> None:
    with pytest.raises(CredsignError, match="payload 'unsigned'"):
        body_digest(iter([b"a"]), "sha256")
    with pytest.raises(CredsignError, match="lone surrogate") as raised:
        body_digest("a\udcff", "sha256")
    assert raised.value.__context__ is None  # the UnicodeEncodeError holds the whole body


AWS4 = {
    "authType": "AWS4",
    "accessKey": "AKIDEXAMPLE",
    "secretKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "region": "eu-west-1",
    "service": "execute-api",
}
HMAC = {"authType": "HMAC_SHA256", "clientId": "client-7", "clientSecret": "hmac-s3cret"}


@settings(max_examples=60, deadline=None)
@given(
    text=TEXT,
    kind=st.sampled_from(sorted(KINDS)),
    fields=st.sampled_from([AWS4, HMAC, {**HMAC, "digest": "sha-512"}]),
)
@example(text="é", kind="text", fields=AWS4).via("the issue: data='é', AWS4")
@example(text="é", kind="text", fields=HMAC).via("the issue: data='é', HMAC")
@example(text="€", kind="binary file", fields=HMAC)
def test_verifying_adapter_accepts_every_correctly_signed_body(
    text: str, kind: str, fields: dict[str, Any]
) -> None:
    record = parse_record({**fields, "baseUrl": BASE})
    adapter = VerifyingAdapter(record)
    with requests.Session() as session, body(kind, text) as data:
        session.mount("https://", adapter)
        response = session.post(f"{BASE}/items", data=data, auth=RequestsAuth(record))
    assert response.status_code == 200, response.json()
    assert adapter.seen[0].body == text.encode()
