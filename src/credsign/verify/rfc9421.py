"""Check a received RFC 9421 HTTP Message Signature made with ``hmac-sha256``.

For services that receive credsign's HMAC_SHA256 requests (or any RFC 9421
``hmac-sha256`` signer's), and for credsign's own tests.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol
from urllib.parse import urlsplit

from credsign.errors import SignatureError
from credsign.scope import Target, host_header
from credsign.signing.base import HASHES
from credsign.signing.hmac_key import HmacSha256Key
from credsign.signing.rfc9421_rules import (
    DIGESTS,
    Component,
    ComponentError,
    Message,
    signature_base,
    signature_params,
)
from credsign.signing.structured_fields import (
    Bare,
    StructuredFieldError,
    dictionary_members,
    is_integer,
    is_string,
    parse_inner_list,
    parse_item,
)
from credsign.verify.received import body_bytes, header_lines, key_bytes, moment, text

ALGORITHM = "hmac-sha256"
_CONTENT_DIGEST = Component("content-digest")
#: SignatureError reasons: missing, malformed, label, algorithm, unknown_key, bad_key,
#: too_old, future, expired, missing_component, content_digest, replay, mismatch.

#: What the verifier requires by default: no part of the target may change unsigned.
DEFAULT_REQUIRED = ("@method", "@authority", "@path", "@query")
#: Components whose value contains others' (RFC 9421 section 2.2): covering one covers those.
_CONTAINS = {
    Component("@target-uri"): (
        Component("@scheme"),
        Component("@authority"),
        Component("@path"),
        Component("@query"),
    ),
    Component("@request-target"): (Component("@path"), Component("@query")),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_END_OF_TIME = datetime.max.replace(tzinfo=timezone.utc)


class NonceStore(Protocol):
    """Remembers nonces so a signed request cannot be replayed inside its window."""

    def remember(self, keyid: str, nonce: str, until: datetime, now: datetime) -> bool:
        """Record the nonce until ``until``; False if it is still remembered (a replay).

        ``until`` is the last instant the signature is accepted, so a nonce is
        remembered while ``now <= until``: at that very instant it is still a replay.
        ``now`` is the verifier's clock, the one every expiry is measured against.
        """
        ...


class InMemoryNonceStore:
    """A process-local, thread-safe nonce store; entries are dropped once they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], datetime] = {}

    def remember(self, keyid: str, nonce: str, until: datetime, now: datetime) -> bool:
        with self._lock:
            if len(self._seen) > 1024:
                self._seen = {k: v for k, v in self._seen.items() if v >= now}
            previous = self._seen.get((keyid, nonce))
            if previous is not None and previous >= now:
                return False
            self._seen[(keyid, nonce)] = until
            return True


@dataclass(frozen=True, slots=True)
class Rfc9421Verification:
    """What a valid signature vouches for."""

    label: str
    keyid: str
    components: tuple[str, ...]
    created: datetime
    expires: datetime | None
    nonce: str | None


@dataclass
class Rfc9421Verifier:
    """Verify ``hmac-sha256`` message signatures under one policy.

    ``key_for`` maps a keyid to its key bytes (None: unknown; anything else is
    ``bad_key``; an exception it raises propagates). The message's
    ``alg`` is never trusted: if present it must be ``hmac-sha256``, and the
    signature is always checked with HMAC-SHA256. ``required`` components must
    be covered (``@target-uri`` also covers ``@scheme @authority @path @query``,
    ``@request-target`` covers ``@path @query``); a request with a body must
    cover ``content-digest`` (``require_digest``), and any Content-Digest is
    recomputed from the body. The signature is accepted until
    ``min(created + max_age, expires) + clock_skew`` inclusive, and its nonce is
    remembered exactly as long.
    """

    key_for: Callable[[str], bytes | None]
    required: Sequence[str] = DEFAULT_REQUIRED
    max_age: timedelta = timedelta(minutes=5)
    clock_skew: timedelta = timedelta(minutes=1)
    require_digest: bool = True
    nonce_store: NonceStore = field(default_factory=InMemoryNonceStore)

    def verify(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | Iterable[tuple[str, str]],
        body: bytes | None,
        *,
        label: str | None = None,
        now: datetime | None = None,
    ) -> Rfc9421Verification:
        """Verify the signature ``label`` (default: the only one) of a received request.

        ``method``, ``url`` and the header lines are str, ``body`` the bytes received
        (or None); anything else is a SignatureError. ``now`` (timezone-aware) and
        ``label`` are the caller's own settings: a wrong type is a TypeError.
        """
        now = moment(now)
        if label is not None and not isinstance(label, str):
            raise TypeError("label must be str or None")
        method = text(method, "the method")
        url = text(url, "the URL")
        lines = header_lines(headers)
        body = body_bytes(body)
        label, inner_list, proof = _signature(lines, label)
        try:
            items, raw_params = parse_inner_list(inner_list)
            components = [Component.of(name, params) for name, params in items]
        except (StructuredFieldError, ComponentError) as error:
            raise SignatureError("malformed", f"Signature-Input {label}: {error}") from None
        covered = set(components)
        if len(covered) != len(components):  # RFC 9421 section 2.5
            raise SignatureError("malformed", f"Signature-Input {label} repeats a component")
        keyid, created, expires, nonce = _parameters(dict(raw_params))
        last = _last_instant(now, created, expires, self.max_age, self.clock_skew)
        covered.update(*(_CONTAINS.get(c, ()) for c in components))
        missing = [name for name in self.required if Component.parse(name) not in covered]
        if body and self.require_digest and _CONTENT_DIGEST not in covered:
            missing.append("content-digest")
        if missing:
            raise SignatureError("missing_component", f"the signature does not cover {missing}")
        if body is not None:
            _check_digest(lines, body)
        key = key_bytes(self.key_for(keyid), keyid)

        message = _message(method, url, lines)
        try:
            base = signature_base(message, components, signature_params(components, raw_params))
            expected = HmacSha256Key(key).digest(base.encode())
        except ComponentError as error:
            raise SignatureError("missing_component", str(error)) from None
        if not hmac.compare_digest(expected, proof):
            raise SignatureError("mismatch", "the signature does not match the request")
        if nonce is not None and not self.nonce_store.remember(keyid, nonce, last, now):
            raise SignatureError("replay", "this nonce was already used")
        return Rfc9421Verification(
            label, keyid, tuple(c.identifier for c in components), created, expires, nonce
        )


def _message(method: str, url: str, lines: list[tuple[str, str]]) -> Message:
    """The received request's parts; ``@authority`` from Host, or from the URL without one."""
    try:
        parts = urlsplit(url)
        host = next((value for name, value in lines if name == "host"), None)
        authority = host_header(Target.from_url(url)) if host is None else host
    except ValueError:  # a bracket left open, a port out of range
        raise SignatureError("malformed", "the request URL cannot be parsed") from None
    authority = authority.strip().lower()
    if not authority:
        raise SignatureError("malformed", "the request names no authority")
    # "/p?" and "/p" are different targets (httpx sends the first): keep them apart.
    query = parts.query if parts.query or "?" in url.partition("#")[0] else None
    return Message(method, parts.scheme.lower(), authority, parts.path, query, lines)


def _dictionary(lines: list[tuple[str, str]], name: str) -> dict[str, str]:
    text = ", ".join(value for n, value in lines if n == name)
    try:
        return dict(dictionary_members(text))
    except StructuredFieldError as error:
        raise SignatureError("malformed", f"{name}: {error}") from None


def _signature(lines: list[tuple[str, str]], label: str | None) -> tuple[str, str, bytes]:
    inputs = _dictionary(lines, "signature-input")
    signatures = _dictionary(lines, "signature")
    if not inputs or not signatures:
        raise SignatureError("missing", "no Signature-Input or Signature header")
    if label is None:
        if len(inputs) != 1:
            raise SignatureError("label", f"several signatures {sorted(inputs)}: name the label")
        label = next(iter(inputs))
    if label not in inputs or label not in signatures:
        raise SignatureError("label", f"no signature labelled {label!r}")
    try:
        proof, _ = parse_item(signatures[label])
    except StructuredFieldError:
        proof = None
    if not isinstance(proof, bytes):
        raise SignatureError("malformed", f"Signature {label} is not a byte sequence")
    return label, inputs[label], proof


def _parameters(params: dict[str, Bare]) -> tuple[str, datetime, datetime | None, str | None]:
    alg = params.get("alg")
    if alg is not None and (alg != ALGORITHM or not is_string(alg)):
        raise SignatureError("algorithm", f"alg must be {ALGORITHM!r} for this key")
    keyid, created = params.get("keyid"), params.get("created")
    expires, nonce = params.get("expires"), params.get("nonce")
    if not is_string(keyid):
        raise SignatureError("malformed", "keyid is required and must be a string")
    if not is_integer(created):
        raise SignatureError("malformed", "created is required and must be an integer")
    if expires is not None and not is_integer(expires):
        raise SignatureError("malformed", "expires must be an integer")
    if nonce is not None and not is_string(nonce):
        raise SignatureError("malformed", "nonce must be a string")
    expires_at = None if expires is None else _instant(expires, "expires")
    return keyid, _instant(created, "created"), expires_at, nonce


def _instant(seconds: int, name: str) -> datetime:
    """A UNIX time as a UTC datetime; one outside years 1 to 9999 is refused."""
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise SignatureError("malformed", f"{name} is out of range") from None


def _later(moment: datetime, *spans: timedelta) -> datetime:
    """``moment`` plus ``spans``; past the end of the calendar, its last instant."""
    try:
        return moment + sum(spans, timedelta())
    except OverflowError:
        return _END_OF_TIME


def _last_instant(
    now: datetime,
    created: datetime,
    expires: datetime | None,
    max_age: timedelta,
    clock_skew: timedelta,
) -> datetime:
    """The last instant the signature is accepted; its nonce is remembered as long."""
    if created - now > clock_skew:
        raise SignatureError("future", "created is in the future beyond the allowed clock skew")
    last = _later(created, max_age, clock_skew)
    if now > last:
        raise SignatureError("too_old", "the signature is older than the allowed age")
    if expires is not None:
        expiry = _later(expires, clock_skew)
        if now > expiry:
            raise SignatureError("expired", "the signature has expired")
        last = min(last, expiry)
    return last


def _check_digest(lines: list[tuple[str, str]], body: bytes) -> None:
    """Every known digest in Content-Digest must match the body (RFC 9530)."""
    text = ", ".join(value for name, value in lines if name == "content-digest")
    if not text:
        return
    try:
        members = dictionary_members(text)
    except StructuredFieldError as error:
        raise SignatureError("content_digest", f"Content-Digest is malformed ({error})") from None
    checked = 0
    for algorithm, value in members:
        if algorithm not in DIGESTS:
            continue
        try:
            digest, _ = parse_item(value)
        except StructuredFieldError:
            digest = None
        expected = HASHES[DIGESTS[algorithm]](body).digest()
        if not isinstance(digest, bytes) or not hmac.compare_digest(digest, expected):
            raise SignatureError("content_digest", f"the body does not match its {algorithm}")
        checked += 1
    if not checked:
        raise SignatureError("content_digest", "Content-Digest has no sha-256 or sha-512")
