"""Issue 10, review of item 11: the verifiers raise only SignatureError, whatever the types.

A server passes what its framework hands it, and the key lookups are its own code: a
``str`` body, ``None`` or an ``int`` where text is expected, a header line of three
items, a lookup answering ``str`` for ``bytes``, or a secret with a lone surrogate
must each be a SignatureError with a reason (a 401), never a TypeError or an
AttributeError (a 500), and no exception may hold the secret. Only the caller's own
settings (``now``) and the lookups' own exceptions are the caller's to get right.
"""

from __future__ import annotations

from array import array
from datetime import timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign.verify import Rfc9421Verifier, SignatureError, verify_sigv4
from tests import test_trust_rfc9421 as rfc9421_fuzz
from tests import test_trust_sigv4_verify as sigv4_fuzz
from tests.garbage import GARBAGE, replaced
from tests.leaks import assert_no_secret
from tests.test_rfc9421 import CLIENT_ID, KEYS, NOW, SECRET, Wire

FUZZ = settings(max_examples=300, deadline=None)
SIGV4_SECRET = sigv4_fuzz.KEYS["AKIDEXAMPLE"]


HMAC_WIRE = rfc9421_fuzz.SIGNED_POST
SIGV4_WIRE = Wire.of_httpx(sigv4_fuzz.HEADER_REQUEST)
PRESIGNED_WIRE = Wire.of_httpx(sigv4_fuzz.QUERY_REQUEST)


def args(wire: Wire) -> tuple[str, str, Any, bytes | None]:
    return wire.method, wire.url, wire.headers, wire.body


def rfc9421_verify(method: Any, url: Any, headers: Any, body: Any, key: Any = None) -> str:
    """Verify; the outcome as a word. Anything but a SignatureError with a reason fails."""
    lookup = KEYS.get if key is None else lambda keyid: key
    try:
        Rfc9421Verifier(key_for=lookup).verify(method, url, headers, body, now=NOW)
    except SignatureError as error:
        assert error.reason in rfc9421_fuzz.REASONS, error.reason
        assert_no_secret(error, SECRET)
        return error.reason
    return "verified"


def sigv4_verify(method: Any, url: Any, headers: Any, body: Any, secret: Any = None) -> str:
    lookup = sigv4_fuzz.KEYS.get if secret is None else lambda key: secret
    try:
        verify_sigv4(method, url, headers, body, secret_for=lookup, now=sigv4_fuzz.NOW)
    except SignatureError as error:
        assert error.reason in sigv4_fuzz.REASONS, error.reason
        assert_no_secret(error, SIGV4_SECRET)
        return error.reason
    return "verified"


def test_the_unchanged_requests_verify() -> None:
    assert rfc9421_verify(*replaced(args(HMAC_WIRE), "body", b"x", 0)) == "verified"
    for wire in (SIGV4_WIRE, PRESIGNED_WIRE):
        assert sigv4_verify(*replaced(args(wire), "body", b"body", 0)) == "verified"


# --- The cases the review found ----------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "garbage"),
    [
        ("body", "x"),  # a framework's text body
        ("url", None),
        ("name", 1),
        ("headers", None),
        ("line", ("a", "b", "c")),
        ("method", None),
        ("value", b"x"),
        ("headers", "signature: x"),
        ("body", 5),
    ],
)
def test_review_cases_are_signature_errors(position: str, garbage: Any) -> None:
    assert rfc9421_verify(*replaced(args(HMAC_WIRE), position, garbage, 0)) == "malformed"
    assert sigv4_verify(*replaced(args(SIGV4_WIRE), position, garbage, 0)) == "malformed"


@pytest.mark.parametrize("body", ["x", "body"])
def test_a_text_body_is_refused_with_a_reason_that_says_bytes(body: str) -> None:
    """A body is the bytes received: text has lost them (which charset, which newlines?)."""
    with pytest.raises(SignatureError, match="bytes") as caught:
        Rfc9421Verifier(key_for=KEYS.get).verify(
            HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, body, now=NOW
        )
    assert caught.value.reason == "malformed"
    with pytest.raises(SignatureError, match="bytes") as caught:
        verify_sigv4(
            SIGV4_WIRE.method, SIGV4_WIRE.url, SIGV4_WIRE.headers, body,
            secret_for=sigv4_fuzz.KEYS.get, now=sigv4_fuzz.NOW,
        )  # fmt: skip
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize("kind", [bytearray, memoryview, lambda b: memoryview(array("B", b))])
def test_byte_buffers_are_bodies(kind: Any) -> None:
    """bytearray and memoryview hold bytes as received: they verify like bytes."""
    assert rfc9421_verify(*replaced(args(HMAC_WIRE), "body", kind(b"x"), 0)) == "verified"
    assert sigv4_verify(*replaced(args(SIGV4_WIRE), "body", kind(b"body"), 0)) == "verified"


# --- The application's key lookups -------------------------------------------------------


def _answers(allowed: type) -> st.SearchStrategy[Any]:
    """What a lookup may wrongly answer: garbage of any type but ``allowed``, and text
    with a lone surrogate before the real secret."""
    return st.one_of(
        GARBAGE.filter(lambda value: value is not None and not isinstance(value, allowed)),
        st.text(max_size=6).map(lambda text: text + "\ud800" + SIGV4_SECRET),
    )


@FUZZ
@given(key=_answers(bytes))
@example(key=SECRET)  # str where bytes are expected: UTF-8 or base64 is the record's to say
@example(key=SECRET + "\ud800")
@example(key=12)
def test_a_key_for_answer_that_is_not_bytes_is_bad_key(key: Any) -> None:
    assert rfc9421_verify(*replaced(args(HMAC_WIRE), "body", b"x", 0), key=key) == "bad_key"


@FUZZ
@given(secret=_answers(str))
@example(secret="s\ud800")
@example(secret=SIGV4_SECRET.encode())  # bytes where str is expected
@example(secret="\udfff" + SIGV4_SECRET)
def test_a_secret_for_answer_that_is_not_encodable_text_is_bad_key(secret: Any) -> None:
    for wire in (SIGV4_WIRE, PRESIGNED_WIRE):
        assert sigv4_verify(*replaced(args(wire), "body", b"body", 0), secret=secret) == "bad_key"


def test_no_exception_holds_an_unencodable_secret() -> None:
    """A UnicodeEncodeError's ``.object`` would be ``'AWS4' + secret``: none is raised."""
    secret = "s\ud800" + SIGV4_SECRET
    with pytest.raises(SignatureError) as caught:
        verify_sigv4(
            SIGV4_WIRE.method, SIGV4_WIRE.url, SIGV4_WIRE.headers, b"body",
            secret_for=lambda key: secret, now=sigv4_fuzz.NOW,
        )  # fmt: skip
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert_no_secret(caught.value, secret, SIGV4_SECRET)
    with pytest.raises(SignatureError) as caught:
        Rfc9421Verifier(key_for=lambda keyid: SECRET).verify(  # type: ignore[arg-type,return-value]
            HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, b"x", now=NOW
        )
    assert_no_secret(caught.value, SECRET)


def test_unknown_keys_stay_unknown_key() -> None:
    assert rfc9421_verify(*replaced(args(HMAC_WIRE), "body", b"x", 0), key=False) == "bad_key"
    lookup: dict[str, bytes] = {}
    with pytest.raises(SignatureError) as caught:
        Rfc9421Verifier(key_for=lookup.get).verify(
            HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, b"x", now=NOW
        )
    assert caught.value.reason == "unknown_key" and CLIENT_ID in str(caught.value)


class LookupFailed(Exception):
    """The application's own failure, e.g. its key database is down."""


def test_a_lookup_that_raises_propagates_unchanged() -> None:
    """Not attacker input but the application's code: its exception reaches it as is."""

    def down(_: str) -> Any:
        raise LookupFailed("key database unreachable")

    with pytest.raises(LookupFailed):
        Rfc9421Verifier(key_for=down).verify(
            HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, b"x", now=NOW
        )
    with pytest.raises(LookupFailed):
        verify_sigv4(
            SIGV4_WIRE.method, SIGV4_WIRE.url, SIGV4_WIRE.headers, b"body",
            secret_for=down, now=sigv4_fuzz.NOW,
        )  # fmt: skip


# --- The caller's own clock ---------------------------------------------------------------


@pytest.mark.parametrize("now", [NOW.replace(tzinfo=None), 1764590400, "2026-11-22T12:00:00Z"])
def test_a_naive_or_foreign_now_is_a_type_error_naming_it(now: Any) -> None:
    """A naive time means a zone the caller did not name: refused before any parsing."""
    with pytest.raises(TypeError, match="now must be a timezone-aware datetime"):
        Rfc9421Verifier(key_for=KEYS.get).verify(
            HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, b"x", now=now
        )
    with pytest.raises(TypeError, match="now must be a timezone-aware datetime"):
        verify_sigv4(
            SIGV4_WIRE.method, SIGV4_WIRE.url, SIGV4_WIRE.headers, b"body",
            secret_for=sigv4_fuzz.KEYS.get, now=now,
        )  # fmt: skip


def test_an_aware_now_in_any_zone_is_the_same_instant() -> None:
    east = timezone(timedelta(hours=9))
    Rfc9421Verifier(key_for=KEYS.get).verify(
        HMAC_WIRE.method, HMAC_WIRE.url, HMAC_WIRE.headers, b"x", now=NOW.astimezone(east)
    )
    verify_sigv4(
        SIGV4_WIRE.method, SIGV4_WIRE.url, SIGV4_WIRE.headers, b"body",
        secret_for=sigv4_fuzz.KEYS.get, now=sigv4_fuzz.NOW.astimezone(east),
    )  # fmt: skip


@pytest.mark.parametrize("label", [1, b"sig1", ["sig1"]])
def test_a_label_that_is_not_str_is_a_type_error(label: Any) -> None:
    with pytest.raises(TypeError, match="label must be str or None"):
        Rfc9421Verifier(key_for=KEYS.get).verify(*args(HMAC_WIRE), label=label, now=NOW)
