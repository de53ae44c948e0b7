"""The canonical forms of AWS Signature Version 4, shared by the signer and the verifier.

Each function has a fast path for input that is already canonical (returned as
is) and a slow path that re-encodes. Reference: the AWS SigV4 documentation, the
official aws-c-auth test suite, and botocore's ``auth.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from urllib.parse import quote

from credsign.signing.hmac_key import HmacSha256Key
from credsign.signing.query import decode_component

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

#: Headers proxies and HTTP stacks add or change on the way: never signed (botocore's list).
UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
#: Services whose paths are neither normalised nor encoded a second time.
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3express"})

_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~/]*")
_PLAIN_COMPONENT = re.compile(r"[A-Za-z0-9\-._~]*")
_ESCAPE_OR_UNSAFE = re.compile(r"%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~/]")


def uri_encode(text: str | bytes, safe: str = "~") -> str:
    """AWS's UriEncode: UTF-8, every byte but unreserved ones as upper-case ``%XY``."""
    return quote(text, safe=safe)


def remove_dot_segments(path: str) -> str:
    """Resolve ``.`` and ``..`` and collapse ``//``, as AWS services (not S3) expect."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment and segment != ".":
            output.append(segment)
    trailing = "/" if path.endswith("/") and output else ""
    return "/" + "/".join(output) + trailing


def canonical_uri(path: str, *, normalize: bool, double_encode: bool) -> str:
    """The CanonicalURI of a path as sent on the wire (percent-encoded).

    Non-S3 services: dot segments and ``//`` resolved, then the wire path encoded
    again (``%`` becomes ``%25``). S3: the wire path kept as it is, escapes and
    all, with anything not yet encoded encoded once.
    """
    path = path or "/"
    if normalize and ("//" in path or "/." in path or not path.startswith("/")):
        path = remove_dot_segments(path)
    if _PLAIN_PATH.fullmatch(path):
        return path
    if double_encode:
        return uri_encode(path, safe="/~")
    return _ESCAPE_OR_UNSAFE.sub(_keep_escape, path)


def _keep_escape(match: re.Match[str]) -> str:
    text = match.group()
    return text.upper() if text.startswith("%") else uri_encode(text)


def canonical_component(raw: str) -> str:
    """A query name or value as sent, in AWS's encoding (``+`` read as a space).

    Fast path: a component of unreserved characters only is already canonical.
    """
    if _PLAIN_COMPONENT.fullmatch(raw):
        return raw
    return recode_component(raw)


def recode_component(raw: str) -> str:
    """The general path: percent-decoded to bytes, then encoded from those bytes.

    Never through text: ``%FF`` stays ``%FF`` (decoding it as UTF-8 would sign
    and send ``%EF%BF%BD``).
    """
    return uri_encode(decode_component(raw))


def query_pairs(query: str) -> list[tuple[str, str]]:
    """The canonically encoded (name, value) pairs of a raw query, in their order."""
    pairs = []
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((canonical_component(name), canonical_component(value)))
    return pairs


def join_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join([f"{name}={value}" for name, value in pairs])


def canonical_headers(
    lines: Iterable[tuple[str, str]],
    host: Callable[[], str],
    replaced: frozenset[str] = frozenset(),
    added: Iterable[tuple[str, str]] = (),
) -> tuple[str, str, list[str]]:
    """(CanonicalHeaders, SignedHeaders, names left out) of lower-cased header lines.

    Values are trimmed with inner runs of whitespace collapsed; repeated headers
    are joined with ``,`` in order; ``host()`` fills in a missing Host header.
    Lines named in ``replaced`` (the signer sets them anew) are left out and their
    names returned; ``added`` lines are the signer's own (never repeated).
    """
    grouped: dict[str, str] = {}
    left_out = []
    unsigned, join = UNSIGNED_HEADERS, " ".join  # locals: this loop is the hot path
    for name, value in lines:
        if name in replaced:
            left_out.append(name)
        elif name not in unsigned:
            value = join(value.split())
            grouped[name] = f"{grouped[name]},{value}" if name in grouped else value
    for name, value in added:  # the signer's own, never repeated (a token may hold a tab)
        grouped[name] = join(value.split())
    if "host" not in grouped:
        grouped["host"] = host()
    names = sorted(grouped)
    canonical = "".join([f"{name}:{grouped[name]}\n" for name in names])
    return canonical, ";".join(names), left_out


class SigningKey:
    """kSigning: the HMAC chain over date, region, service and ``aws4_request``."""

    __slots__ = ("_key",)

    def __init__(self, secret: str, date: str, region: str, service: str) -> None:
        key = ("AWS4" + secret).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.digest(key, part.encode(), "sha256")
        self._key = HmacSha256Key(key)

    def sign(self, string_to_sign: str) -> str:
        """HMAC-SHA256(kSigning, string_to_sign), hex."""
        return self._key.hexdigest(string_to_sign.encode())


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"
