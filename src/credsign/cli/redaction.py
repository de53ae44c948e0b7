"""What ``credsign sign`` hides: every credential, in every place of the printed request.

Two kinds of value are hidden. The record's secrets come from the record's own
definition (``secret_values``: every secret field, organization entries
included), so a new secret field is hidden without being listed here. The
credentials a signer derives (an ``Authorization`` value after its scheme, a
``Signature`` byte sequence, a SigV4 signature or session token) are read from
where the signer puts them. Each value is then masked wherever it shows: the
request line, any header and the body, raw or percent-encoded (either case of
hex digits, ``+`` for a space).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote_plus

from credsign.record_fields import secret_values
from credsign.records import Record

MASK = "****"

#: Headers whose value is a credential after its first word (the scheme is kept).
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
#: Headers and query parameters a signer fills with a credential.
_SECRET_HEADERS = frozenset({"x-amz-security-token"})
_SECRET_PARAMS = frozenset({"x-amz-signature", "x-amz-security-token"})
_SIGNATURE_BYTES = re.compile(r":([^:]*):")  # RFC 8941 byte sequences in a Signature header


def _derived_in_headers(header_lines: Iterable[tuple[str, str]]) -> Iterator[str]:
    for name, value in header_lines:
        lower = name.lower()
        if lower in _SCHEME_HEADERS:
            yield value.partition(" ")[2] or value
        elif lower == "signature":
            yield from _SIGNATURE_BYTES.findall(value)
        elif lower in _SECRET_HEADERS:
            yield value


def _derived_in_url(url: str) -> Iterator[str]:
    query = url.partition("?")[2].partition("#")[0]
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name).lower() in _SECRET_PARAMS:
            yield value
            yield unquote_plus(value)


def _char_pattern(char: str) -> str:
    """``char`` as it may be written: itself, percent-encoded (any hex case), ``+`` for space."""
    encoded = "".join(
        "%" + "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{byte:02X}")
        for byte in char.encode("utf-8", "surrogatepass")
    )
    spellings = [re.escape(char), encoded] + (["[+]"] if char == " " else [])
    return f"(?:{'|'.join(spellings)})"


def _pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    # Longest first: where one secret contains another, the whole of it is masked.
    distinct = sorted({value for value in values if value}, key=len, reverse=True)
    if not distinct:
        return None
    return re.compile("|".join("".join(map(_char_pattern, value)) for value in distinct))


def redact(
    record: Record, request_line: str, header_lines: list[tuple[str, str]], text: str
) -> str:
    """``text`` (the printed request) with every credential of ``record`` replaced by ``****``.

    ``request_line`` and ``header_lines`` are the signed request's, where the
    signer's derived credentials are found.
    """
    pattern = _pattern(
        [
            *secret_values(record),
            *_derived_in_headers(header_lines),
            *_derived_in_url(request_line),
        ]
    )
    return text if pattern is None else pattern.sub(MASK, text)
