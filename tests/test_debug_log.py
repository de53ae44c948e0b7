"""Issue 11, item 5: the ``credsign`` logger, silent by default, shows each signature at DEBUG.

At DEBUG every SigV4 or RFC 9421 signature logs one record: the auth type, the record's
label, and the canonical request and string to sign (or the signature base), masked. The
logged text is the one signed: the tests recompute the signature from it. Nothing is
logged at INFO, and with DEBUG off the signers build no explanation at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign import HttpxAuth, RequestsAuth, parse_record
from credsign.records import Aws4Record, HmacSha256Record, Record
from credsign.signing import HmacSigner, Sigv4Signer, sign_log
from tests.leaks import revealed_secrets

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "session/token+with  spaces=="


def clock() -> datetime:
    return NOW


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Iterator[Capture]:
    logger = logging.getLogger("credsign")
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def aws(**fields: Any) -> Record:
    data = {"authType": "AWS4", "accessKey": AKID, "secretKey": SECRET, "region": "us-east-1"}
    return parse_record({**data, "service": "execute-api", **fields})


def hmac_record(**fields: Any) -> Record:
    data = {"authType": "HMAC_SHA256", "clientId": "client-1", "clientSecret": "hmac-secret-1"}
    return parse_record({**data, **fields})


RECORDS = {
    "aws-header": aws(label="Billing API"),
    "aws-token": aws(sessionToken=TOKEN, headers=[{"key": "X-Static", "value": "a  b"}]),
    "aws-presigned": aws(sessionToken=TOKEN, service="s3", signatureLocation="query"),
    "aws-unsigned": aws(payload="unsigned", label="uploads"),
    "hmac": hmac_record(label="Partner"),
    "hmac-covers-auth": hmac_record(components=["@method", "@path", "authorization"], nonce=True),
}


def send(record: Record, client: str, body: bytes) -> Any:
    """Sign one request the way each client does (nothing is sent)."""
    url = "https://api.example.com/prod/items?b=2&a=1"
    headers = {"Authorization": "Bearer app-credential-7", "X-One": "1"}
    if client == "requests":
        prepared = requests.Request("POST", url, headers=headers, data=body).prepare()
        return RequestsAuth(record, clock=clock)(prepared)
    request = httpx.Request("POST", url, headers=headers, content=body)
    flow = HttpxAuth(record, clock=clock).sync_auth_flow(request)
    signed = next(flow)
    flow.close()
    return signed


def signature_of(signed: Any) -> str:
    authorization = str(signed.headers.get("Authorization", ""))
    if authorization.startswith("AWS4"):
        return authorization.rpartition("Signature=")[2]
    if "Signature" in signed.headers:
        return str(signed.headers["Signature"]).split("=:", 1)[1].rstrip(":")
    return str(signed.url).rpartition("X-Amz-Signature=")[2]


def section(message: str, title: str) -> str:
    return message.split(f"== {title} ==\n", 1)[1].split("\n== ", 1)[0]


def unmasked(message: str) -> str:
    """The logged text with the masked credentials of these requests put back."""
    for masked, value in (
        ("x-amz-security-token:**********", "x-amz-security-token:" + " ".join(TOKEN.split())),
        ("X-Amz-Security-Token=**********", "X-Amz-Security-Token=" + quote(TOKEN, safe="~")),
        ('"authorization": **********', '"authorization": Bearer app-credential-7'),
    ):
        message = message.replace(masked, value)
    return message


def recomputed(record: Record, message: str) -> str:
    """The signature of the logged text, computed from it alone."""
    if isinstance(record, HmacSha256Record):
        base = section(message, "signature base").encode()
        digest = hmac.new(record.secret_bytes(), base, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()
    assert isinstance(record, Aws4Record)
    to_sign = section(message, "string to sign")
    canonical = section(message, "canonical request").encode()
    assert to_sign.split("\n")[3] == hashlib.sha256(canonical).hexdigest()
    key = ("AWS4" + SECRET).encode()
    for part in ("20261122", "us-east-1", record.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_logger_is_silent_by_default() -> None:
    root = logging.getLogger("credsign")
    assert any(isinstance(handler, logging.NullHandler) for handler in root.handlers)
    assert sign_log.LOGGER.name.startswith("credsign")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(sorted(RECORDS)), st.sampled_from(["httpx", "requests"]), st.binary())
@example("aws-token", "httpx", b"")
@example("hmac-covers-auth", "requests", b"x")
def test_one_masked_record_per_signature_at_debug(
    capture: Capture, name: str, client: str, body: bytes
) -> None:
    logging.getLogger("credsign").setLevel(logging.DEBUG)
    capture.records.clear()
    record = RECORDS[name]
    signed = send(record, client, body)

    assert len(capture.records) == 1
    entry = capture.records[0]
    assert entry.levelno == logging.DEBUG and entry.name.startswith("credsign")
    message = entry.getMessage()
    assert message.startswith(f"{record.auth_type} signature")
    assert repr(record.label) in message if record.label else "(no label)" in message
    proof = signature_of(signed)
    secrets = [proof, TOKEN, " ".join(TOKEN.split()), "app-credential-7", SECRET]
    secrets += revealed_secrets(record)
    for where in (message, repr(entry.args), repr(entry.msg), repr(vars(entry))):
        for secret in secrets:
            assert secret not in where
    if record.auth_type == "AWS4":
        canonical = section(message, "canonical request")
        assert canonical.startswith("POST\n/prod/items\n") and "a=1&b=2" in canonical
        assert "== string to sign ==\nAWS4-HMAC-SHA256\n20261122T120000Z\n" in message
    else:
        assert '"@method": POST\n' in message and "== signature base ==\n" in message
    assert recomputed(record, unmasked(message)) == proof  # what is logged is what was signed


def test_nothing_at_info_and_no_work_without_debug(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any) -> None:
        raise AssertionError("an explanation was built")

    for signer in (Sigv4Signer, HmacSigner):
        monkeypatch.setattr(signer, "_explanation", refuse)
    logging.getLogger("credsign").setLevel(logging.INFO)
    for record in RECORDS.values():
        for client in ("httpx", "requests"):
            send(record, client, b"body")
    assert capture.records == []
    logging.getLogger("credsign").setLevel(logging.DEBUG)  # the patch is where DEBUG reaches
    with pytest.raises(AssertionError, match="explanation was built"):
        send(RECORDS["hmac"], "httpx", b"")


def test_other_auth_types_log_nothing(capture: Capture) -> None:
    logging.getLogger("credsign").setLevel(logging.DEBUG)
    bearer = parse_record({"authType": "BEARER_TOKEN", "token": "bearer-secret-1"})
    send(bearer, "httpx", b"")
    assert capture.records == []
