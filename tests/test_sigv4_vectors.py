"""Every v4 case of the official AWS signing test suite (aws-c-auth, Apache-2.0).

The suite lives in tests/vectors/aws-signing-test-suite with its LICENSE and
NOTICE. Each case is signed twice, in the Authorization header and as a
presigned URL, honouring its context.json; the canonical request, string to
sign, signature and signed request must all match byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from credsign import parse_record
from credsign.scope import Target
from credsign.signing import Sigv4Signer
from credsign.signing.base import HeaderSet

SUITE = Path(__file__).parent / "vectors" / "aws-signing-test-suite" / "v4"
CASES = sorted(path.name for path in SUITE.iterdir() if path.is_dir())


class Lines(MutableMapping[str, str]):
    """Header lines as a raw request has them: repeats kept, names case-insensitive."""

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = lines

    def __getitem__(self, name: str) -> str:
        values = [v for n, v in self.lines if n.lower() == name.lower()]
        if not values:
            raise KeyError(name)
        return ",".join(values)

    def __setitem__(self, name: str, value: str) -> None:
        self.pop(name, None)
        self.lines.append((name, value))

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self.lines[:] = [(n, v) for n, v in self.lines if n.lower() != name.lower()]

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(n.lower() for n, _ in self.lines))

    def __len__(self) -> int:
        return len(list(iter(self)))


@dataclass
class RawHead:
    """A request exactly as request.txt writes it, seen as a RequestHead."""

    method: str
    path: str
    query: str
    headers: Lines
    body: bytes
    presets: list[str] = field(default_factory=list)

    def set_headers(self, header_set: HeaderSet) -> None:
        for name, value in header_set.pairs:
            self.headers[name] = value

    def fill_headers(self, header_set: HeaderSet) -> None:
        for name, value in header_set.pairs:
            self.headers.setdefault(name, value)

    def target(self) -> Target:
        return Target("https", "example.amazonaws.com", 443, self.path)

    def host(self) -> str:
        return self.headers["host"]

    def header_lines(self) -> list[tuple[str, str]]:
        return [(name.lower(), value) for name, value in self.headers.lines]

    def body_digest(self, algorithm: str) -> bytes:
        return hashlib.new(algorithm, self.body).digest()

    def set_query(self, query: str) -> None:
        self.query = query

    def request_text(self) -> str:
        target = self.path + (f"?{self.query}" if self.query else "")
        head = [f"{self.method} {target} HTTP/1.1"]
        head += [f"{name}:{value}" for name, value in self.headers.lines]
        return "\n".join(head) + "\n\n" + self.body.decode()


def parse_request(text: str) -> RawHead:
    head, _, body = text.partition("\n\n")
    request_line, *header_text = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target = rest.rsplit(" ", 1)[0]
    path, _, query = target.partition("?")
    lines: list[tuple[str, str]] = []
    for line in filter(None, header_text):
        if line[:1] in (" ", "\t"):  # obs-fold: continues the previous value
            name, value = lines[-1]
            lines[-1] = (name, f"{value}\n{line}")
        else:
            name, _, value = line.partition(":")
            lines.append((name, value))
    return RawHead(method, path, query, Lines(lines), body.encode())


def load(case: str) -> tuple[dict[str, Any], RawHead]:
    context = json.loads((SUITE / case / "context.json").read_text())
    return context, parse_request((SUITE / case / "request.txt").read_text())


def expected(case: str, name: str) -> str:
    return (SUITE / case / name).read_text()


def signer_for(context: dict[str, Any], location: str) -> Sigv4Signer:
    credentials = context["credentials"]
    record = {
        "authType": "AWS4",
        "accessKey": credentials["access_key_id"],
        "secretKey": credentials["secret_access_key"],
        "region": context["region"],
        "service": context["service"],
        "signatureLocation": location,
        "expiresIn": context["expiration_in_seconds"],
    }
    if "token" in credentials:
        record["sessionToken"] = credentials["token"]
    return Sigv4Signer(
        parse_record(record),  # type: ignore[arg-type]
        normalize_path=context["normalize"],
        content_sha256_header=context["sign_body"],
        sign_session_token=not context.get("omit_session_token", False),
    )


def clock_of(context: dict[str, Any]) -> Any:
    moment = datetime.fromisoformat(context["timestamp"].replace("Z", "+00:00"))
    return lambda: moment


def canonical_text(text: str) -> list[Any]:
    """A signed request, with header names (case-insensitive) and query params compared."""
    head, _, body = text.partition("\n\n")
    request_line, *headers = head.split("\n")
    method, _, rest = request_line.partition(" ")
    path, _, query = rest.rsplit(" ", 1)[0].partition("?")
    params = [tuple(map(unquote, p.partition("=")[::2])) for p in query.split("&") if p]
    folded: list[tuple[str, str]] = []
    for line in filter(None, headers):
        if line[:1] in (" ", "\t"):
            folded[-1] = (folded[-1][0], folded[-1][1] + "\n" + line)
        else:
            name, _, value = line.partition(":")
            folded.append((name.lower(), value))
    return [method, path, sorted(params), sorted(folded), body.strip()]


@pytest.mark.parametrize("location", ["header", "query"])
@pytest.mark.parametrize("case", CASES)
def test_official_case(case: str, location: str) -> None:
    context, head = load(case)
    signer = signer_for(context, location)
    clock = clock_of(context)

    explanation = signer.explain(head, clock)
    assert explanation.canonical_request == expected(case, f"{location}-canonical-request.txt")
    assert explanation.string_to_sign == expected(case, f"{location}-string-to-sign.txt")
    assert explanation.signature == expected(case, f"{location}-signature.txt").strip()

    signer.sign(head, clock)
    assert canonical_text(head.request_text()) == canonical_text(
        expected(case, f"{location}-signed-request.txt")
    )


def test_the_suite_is_complete_and_licensed() -> None:
    assert len(CASES) == 38
    root = SUITE.parent
    assert "Apache License" in (root / "LICENSE").read_text()
    assert "AWS C Auth" in (root / "NOTICE").read_text()
