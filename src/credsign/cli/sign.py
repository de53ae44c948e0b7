"""``credsign sign``: build a request, sign it with a stored record, print it unsent."""

from __future__ import annotations

import argparse
import os
import re
import sys

import httpx

from credsign.adapters.httpx import HttpxAuth
from credsign.cli.common import EXIT_OK, EXIT_USAGE, CliError, open_store, read_input
from credsign.cli.redaction import redact
from credsign.debugging import Sigv4Explanation, explain, explainable
from credsign.records import Record
from credsign.signing import Signer, compile_signer
from credsign.signing.sign_log import title

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110: methods, header names
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")  # visible ASCII, space and tab


def _parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    name, value = name.strip(), value.strip(" \t")
    if not colon or not _TOKEN.fullmatch(name):
        raise CliError(f"invalid header {text!r}: expected 'Name: value'", EXIT_USAGE)
    if not _FIELD_VALUE.fullmatch(value):
        raise CliError(
            f"invalid header {name!r}: the value must be visible ASCII (no CR, LF or other "
            "control characters)",
            EXIT_USAGE,
        )
    return name, value


def method(text: str) -> str:
    if not _TOKEN.fullmatch(text):
        raise argparse.ArgumentTypeError(f"invalid method {text!r}")
    return text.upper()


def _target_url(text: str) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise CliError(f"invalid URL {text!r}: {error}", EXIT_USAGE) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise CliError(f"invalid URL {text!r}: expected an absolute http(s) URL", EXIT_USAGE)
    return url


def sign(args: argparse.Namespace) -> int:
    headers = [_parse_header(text) for text in args.header]
    body: bytes | None = None
    if args.data is not None:
        body = os.fsencode(args.data)  # as given, even bytes that are not UTF-8
    elif args.data_file is not None:
        body = read_input(args.data_file, "data file")
    url = _target_url(args.url)
    request = httpx.Request(args.method, url, headers=headers, content=body)
    with open_store(args) as store:
        record = store.record(args.integration, args.auth_id)
    signer = compile_signer(record)
    if args.explain:
        return _explain(record, signer, request, reveal=args.reveal)
    flow = HttpxAuth(signer).sync_auth_flow(request)
    signed = next(flow)  # signs in place; nothing is sent
    flow.close()

    encoding = signed.headers.encoding
    header_lines = [
        (name.decode(encoding), value.decode(encoding)) for name, value in signed.headers.raw
    ]
    content = signed.content
    try:
        body_text = content.decode()
    except UnicodeDecodeError:
        body_text = f"[{len(content)} bytes of binary data]"
    request_line = f"{signed.method} {signed.url}"
    lines = [request_line, *(f"{name}: {value}" for name, value in header_lines), ""]
    if content:
        lines.append(body_text if body_text.endswith("\n") else body_text + "\n")
    output = "\n".join(lines)
    if not args.reveal:
        output = redact(record, request_line, header_lines, output)
    sys.stdout.write(output if content else output + "\n")
    return EXIT_OK


def _explain(record: Record, signer: Signer, request: httpx.Request, *, reveal: bool) -> int:
    """Print what the signature covers (``--explain``), as the debug log shows it."""
    if not explainable(signer):
        raise CliError(
            f"--explain shows AWS4 and HMAC_SHA256 signatures; a {record.auth_type} record "
            "signs nothing: drop --explain to see the headers it sets",
            EXIT_USAGE,
        )
    explanation = explain(signer, request)
    output = f"{title(record)}:\n{explanation.describe(reveal=reveal)}\n"
    if not reveal:  # the explanation masks; the printed request's rules apply on top
        query = explanation.query if isinstance(explanation, Sigv4Explanation) else None
        output = redact(record, f"?{query or ''}", list(explanation.headers), output)
    sys.stdout.write(output)
    return EXIT_OK
