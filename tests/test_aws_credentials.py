"""Credential sources: refresh once under concurrency, never sign with expired keys."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from botocore.credentials import RefreshableCredentials

from credsign import CredsignError, HttpxAuth, compile_signer, parse_record
from credsign.aws import (
    AwsCredentials,
    CredentialsExpiredError,
    RefreshingCredentials,
    Sigv4Signer,
    from_botocore,
)
from credsign.verify import verify_sigv4

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
RECORD = parse_record({"authType": "AWS4", "region": "us-east-1", "service": "sts"})


def keys(
    n: int, expires_in: timedelta | None = timedelta(hours=1), now: datetime = NOW
) -> AwsCredentials:
    expiry = None if expires_in is None else now + expires_in
    return AwsCredentials(f"AKID{n}", f"secret-{n}", f"token-{n}", expiry)


class Loader:
    """Hands out key set 1, 2, 3... slowly, counting calls; each valid for ``expires_in``."""

    def __init__(
        self,
        expires_in: timedelta = timedelta(hours=1),
        delay: float = 0.05,
        clock: Any = lambda: NOW,
    ) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.delay = delay
        self.clock = clock
        self.lock = threading.Lock()

    def __call__(self) -> AwsCredentials:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.delay)
        return keys(n, self.expires_in, self.clock())


def test_record_without_keys_needs_a_source() -> None:
    with pytest.raises(CredsignError, match="credential source"):
        compile_signer(RECORD)


def test_threads_refresh_once() -> None:
    source = RefreshingCredentials(Loader())
    barrier = threading.Barrier(16)
    seen: list[str] = []

    def worker() -> None:
        barrier.wait()
        seen.append(source.credentials(NOW).access_key)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == ["AKID1"] * 16


def test_refresh_before_expiry_and_not_earlier() -> None:
    loader = Loader(delay=0)
    source = RefreshingCredentials(loader, refresh_before=timedelta(minutes=5))
    assert source.credentials(NOW).access_key == "AKID1"
    assert source.credentials(NOW + timedelta(minutes=54)).access_key == "AKID1"
    assert source.credentials(NOW + timedelta(minutes=56)).access_key == "AKID2"
    assert loader.calls == 2


def test_failed_refresh_uses_still_valid_keys_but_never_expired_ones() -> None:
    current = keys(1, timedelta(minutes=3))
    calls = iter([current])

    def load() -> AwsCredentials:
        value = next(calls, None)
        if value is None:
            raise OSError("metadata service down")
        return value

    source = RefreshingCredentials(load)
    assert source.credentials(NOW) is current  # due for refresh, refresh fails: still valid
    assert source.credentials(NOW + timedelta(minutes=2)) is current
    with pytest.raises(OSError, match="metadata"):
        source.credentials(NOW + timedelta(minutes=3))


def test_expired_keys_from_the_source_are_refused_and_nothing_is_signed() -> None:
    source = RefreshingCredentials(lambda: keys(1, timedelta(seconds=-1)))
    auth = HttpxAuth(Sigv4Signer(RECORD, credentials=source), clock=lambda: NOW)
    request = httpx.Request("GET", "https://sts.amazonaws.com/")
    before = list(request.headers.multi_items())
    with pytest.raises(CredentialsExpiredError):
        next(auth.sync_auth_flow(request))
    assert list(request.headers.multi_items()) == before


def test_presigned_url_never_outlives_its_credentials() -> None:
    record = parse_record(
        {
            "authType": "AWS4",
            "region": "us-east-1",
            "service": "s3",
            "signatureLocation": "query",
            "expiresIn": 3600,
        }
    )
    source = RefreshingCredentials(
        lambda: keys(1, timedelta(minutes=10)), refresh_before=timedelta(0)
    )
    request = httpx.Request("GET", "https://bucket.s3.amazonaws.com/key")
    next(
        HttpxAuth(Sigv4Signer(record, credentials=source), clock=lambda: NOW).sync_auth_flow(
            request
        )
    )
    query = parse_qs(request.url.query.decode())
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-Security-Token"] == ["token-1"]


async def test_asyncio_tasks_refresh_once_and_sign_with_fresh_keys() -> None:
    moment = {"now": NOW}
    loader = Loader(expires_in=timedelta(minutes=30), delay=0.01, clock=lambda: moment["now"])
    source = RefreshingCredentials(loader)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        result = verify_sigv4(
            request.method,
            str(request.url),
            request.headers.multi_items(),
            request.content,
            secret_for=lambda key: "secret-" + key.removeprefix("AKID"),
            now=moment["now"],
        )
        seen.append(result.access_key)
        return httpx.Response(200)

    auth = HttpxAuth(Sigv4Signer(RECORD, credentials=source), clock=lambda: moment["now"])
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await asyncio.gather(
            *(client.post("https://sts.amazonaws.com/", content=b"x") for _ in range(20))
        )
        moment["now"] = NOW + timedelta(minutes=27)  # inside the refresh window
        await asyncio.gather(
            *(client.post("https://sts.amazonaws.com/", content=b"x") for _ in range(20))
        )
    assert seen == ["AKID1"] * 20 + ["AKID2"] * 20
    assert loader.calls == 2


def test_botocore_refreshable_credentials() -> None:
    counter = {"n": 0}

    def metadata(valid_for: timedelta) -> dict[str, Any]:
        counter["n"] += 1
        return {
            "access_key": f"AKIDBOTO{counter['n']}",
            "secret_key": "boto-secret",
            "token": "boto-token",
            "expiry_time": (datetime.now(timezone.utc) + valid_for).isoformat(),
        }

    # Expiring in 2 minutes: botocore's mandatory refresh (10 minutes) kicks in.
    credentials = RefreshableCredentials.create_from_metadata(
        metadata(timedelta(minutes=2)), lambda: metadata(timedelta(hours=1)), "test"
    )
    source = from_botocore(credentials)
    now = datetime.now(timezone.utc)
    fresh = source.credentials(now)
    assert (fresh.access_key, fresh.session_token) == ("AKIDBOTO2", "boto-token")
    assert fresh.expires_at is not None
    assert fresh.expires_at - now > timedelta(minutes=55)
    assert source.credentials(now) is fresh
