"""Check a received AWS SigV4 request (Authorization header or presigned URL).

For services that receive SigV4-signed requests, and for credsign's own tests.
Everything is recomputed from the request as received; the signature is
compared in constant time; failures say why without echoing any secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import SplitResult, unquote, urlsplit

from credsign.errors import SignatureError
from credsign.scope import Target, host_header
from credsign.signing.sigv4_rules import (
    ALGORITHM,
    S3_SERVICES,
    UNSIGNED_PAYLOAD,
    SigningKey,
    canonical_uri,
    join_pairs,
    query_pairs,
    string_to_sign,
)
from credsign.verify.received import body_bytes, header_lines, moment, secret_text, text

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<credential>[^,\s]+),\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_HEX64 = re.compile("[0-9a-f]{64}")
MAX_PRESIGN_SECONDS = 604800


@dataclass(frozen=True, slots=True)
class Sigv4Verification:
    """What a valid signature vouches for."""

    access_key: str
    region: str
    service: str
    signed_at: datetime
    signed_headers: tuple[str, ...]
    presigned: bool


@dataclass(frozen=True, slots=True)
class _Claim:
    """The signature parameters a request carries, before anything is trusted."""

    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    expires: int | None


#: SignatureError reasons: missing, malformed, unknown_key, bad_key, scope, skew, expired,
#: unsigned_header, body_hash, mismatch.


def verify_sigv4(
    method: str,
    url: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes | None,
    *,
    secret_for: Callable[[str], str | None],
    region: str | None = None,
    service: str | None = None,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=5),
) -> Sigv4Verification:
    """Verify a received request; return what it proves or raise :class:`SignatureError`.

    ``url`` is the request URL as received (percent-encoded path and query);
    ``headers`` the received header lines (repeats allowed); ``body`` the exact
    body bytes, or None to trust a ``x-amz-content-sha256`` header without
    checking it (bytes, not the text a framework decoded). ``secret_for`` maps an
    access key to its secret str (None: unknown; anything else is ``bad_key``; an
    exception it raises is the application's and propagates). ``region``/``service``,
    when given, must match the signature's scope; ``now`` must be timezone-aware.
    """
    now = moment(now)
    method = text(method, "the method")
    lines = header_lines(headers)
    body = body_bytes(body)
    parts, host = _split(text(url, "the URL"))
    pairs = query_pairs(parts.query)
    claim = _claim(lines, pairs)
    signed_at = _check_time(claim, now, max_skew)
    _check_scope(claim, region, service)
    secret = secret_text(secret_for(claim.access_key), claim.access_key)

    s3 = claim.service in S3_SERVICES
    payload = _payload(lines, body, presigned=claim.expires is not None, s3=s3)
    canonical_query = join_pairs(sorted(p for p in pairs if p[0] != "X-Amz-Signature"))
    uri = canonical_uri(parts.path, normalize=not s3, double_encode=not s3)
    canonical_headers = _signed_header_block(lines, claim.signed_headers, host)
    signed = ";".join(claim.signed_headers)
    request = (
        f"{method.upper()}\n{uri}\n{canonical_query}\n{canonical_headers}\n{signed}\n{payload}"
    )
    scope = f"{claim.date}/{claim.region}/{claim.service}/aws4_request"
    key = SigningKey(secret, claim.date, claim.region, claim.service)
    expected = key.sign(string_to_sign(claim.amz_date, scope, request))
    if not hmac.compare_digest(expected, claim.signature):
        raise SignatureError("mismatch", "the signature does not match the request")
    return Sigv4Verification(
        claim.access_key,
        claim.region,
        claim.service,
        signed_at,
        claim.signed_headers,
        presigned=claim.expires is not None,
    )


def _split(url: str) -> tuple[SplitResult, str]:
    """The URL's parts and the Host header its authority implies."""
    try:
        return urlsplit(url), host_header(Target.from_url(url))
    except ValueError:  # UnicodeError included: a bad port, IPv6 literal or IDNA label
        raise SignatureError("malformed", "the URL's host or port is invalid") from None


def _param(query: dict[str, list[str]], name: str) -> str:
    """The one value of a presign parameter."""
    values = query.get(name, [])
    if len(values) != 1:
        raise SignatureError("malformed", f"{name} must appear exactly once")
    return values[0]


def _decoded(value: str, name: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise SignatureError("malformed", f"{name} is not UTF-8") from None


def _claim(lines: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> _Claim:
    authorizations = [value for name, value in lines if name == "authorization"]
    query: dict[str, list[str]] = {}
    for name, value in pairs:
        query.setdefault(name, []).append(value)
    if authorizations:
        if len(authorizations) > 1:
            raise SignatureError("malformed", "more than one Authorization header")
        match = _AUTHORIZATION.fullmatch(authorizations[0].strip())
        if match is None:
            raise SignatureError("malformed", "Authorization is not an AWS4-HMAC-SHA256 header")
        credential, signed, proof = match["credential"], match["signed"], match["signature"]
        amz_dates = [value for name, value in lines if name == "x-amz-date"]
        if len(amz_dates) != 1:
            raise SignatureError("malformed", "exactly one X-Amz-Date header is required")
        amz_date, expires = amz_dates[0].strip(), None
    elif "X-Amz-Algorithm" in query:
        if _param(query, "X-Amz-Algorithm") != ALGORITHM:
            raise SignatureError("malformed", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        credential = _decoded(_param(query, "X-Amz-Credential"), "X-Amz-Credential")
        signed = _decoded(_param(query, "X-Amz-SignedHeaders"), "X-Amz-SignedHeaders")
        proof = _param(query, "X-Amz-Signature")
        amz_date = _param(query, "X-Amz-Date")
        seconds = _param(query, "X-Amz-Expires")
        if not (seconds.isascii() and seconds.isdigit() and len(seconds) <= 6):
            raise SignatureError("malformed", "X-Amz-Expires is not a number of seconds")
        expires = int(seconds)
        if not 1 <= expires <= MAX_PRESIGN_SECONDS or not _HEX64.fullmatch(proof):
            raise SignatureError("malformed", "X-Amz-Expires or X-Amz-Signature is invalid")
    else:
        raise SignatureError("missing", "no Authorization header and no presigned parameters")
    fields = credential.split("/")
    if len(fields) != 5 or fields[4] != "aws4_request" or not all(fields):
        raise SignatureError("malformed", "Credential is not KEY/DATE/REGION/SERVICE/aws4_request")
    names = tuple(signed.split(";"))
    if list(names) != sorted(set(names)) or names != tuple(n.lower() for n in names):
        raise SignatureError("malformed", "SignedHeaders must be sorted, lower-case and distinct")
    return _Claim(fields[0], fields[1], fields[2], fields[3], names, proof, amz_date, expires)


def _check_scope(claim: _Claim, region: str | None, service: str | None) -> None:
    if claim.amz_date[:8] != claim.date:
        raise SignatureError("scope", "the credential date is not the date of X-Amz-Date")
    if region is not None and claim.region != region:
        raise SignatureError("scope", f"signed for region {claim.region!r}, not {region!r}")
    if service is not None and claim.service != service:
        raise SignatureError("scope", f"signed for service {claim.service!r}, not {service!r}")


def _check_time(claim: _Claim, now: datetime, max_skew: timedelta) -> datetime:
    value = claim.amz_date
    digits = value[:8] + value[9:15]
    try:
        if len(value) != 16 or not (digits.isascii() and digits.isdigit()):
            raise ValueError  # strptime alone takes "2026112T12000Z" and non-ASCII digits
        signed_at = datetime.strptime(value, _AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError("malformed", "X-Amz-Date is not YYYYMMDDTHHMMSSZ") from None
    if signed_at - now > max_skew:
        raise SignatureError("skew", "signed in the future beyond the allowed clock skew")
    if claim.expires is None:
        if now - signed_at > max_skew:
            raise SignatureError("skew", "signed too long ago (clock skew over the limit)")
    elif now - signed_at > timedelta(seconds=claim.expires):  # no overflow near year 9999
        raise SignatureError("expired", "the presigned URL has expired")
    return signed_at


def _payload(lines: list[tuple[str, str]], body: bytes | None, *, presigned: bool, s3: bool) -> str:
    declared = [value.strip() for name, value in lines if name == "x-amz-content-sha256"]
    if len(declared) > 1 or (declared and not declared[0].isascii()):
        raise SignatureError("malformed", "x-amz-content-sha256 must be one ASCII value")
    if declared:
        if declared[0] == UNSIGNED_PAYLOAD or body is None:
            return declared[0]
        if not hmac.compare_digest(declared[0], hashlib.sha256(body).hexdigest()):
            raise SignatureError("body_hash", "the body does not match x-amz-content-sha256")
        return declared[0]
    if presigned and s3:
        return UNSIGNED_PAYLOAD
    return hashlib.sha256(body or b"").hexdigest()


def _signed_header_block(lines: list[tuple[str, str]], names: tuple[str, ...], host: str) -> str:
    if "host" not in names:
        raise SignatureError("unsigned_header", "the Host header must be signed")
    grouped: dict[str, list[str]] = {}
    for name, value in lines:
        if name in names:
            grouped.setdefault(name, []).append(" ".join(value.split()))
    grouped.setdefault("host", [host])
    missing = [name for name in names if name not in grouped]
    if missing:
        raise SignatureError(
            "unsigned_header", f"signed headers missing from the request: {missing}"
        )
    unsigned_amz = sorted({n for n, _ in lines if n.startswith("x-amz-")} - set(names))
    if unsigned_amz:
        raise SignatureError("unsigned_header", f"x-amz-* headers must be signed: {unsigned_amz}")
    return "".join(f"{name}:{','.join(grouped[name])}\n" for name in names)
