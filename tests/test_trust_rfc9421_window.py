"""Issue 10, item 15: the time check and the nonce store end a signature's window at the
same instant, ``min(created + max_age, expires) + clock_skew``, inclusive.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from credsign.verify import InMemoryNonceStore
from tests.test_rfc9421 import (
    MAX_AGE,
    NOW,
    SKEW,
    Wire,
    check,
    hmac_record,
    refused,
    sign_httpx,
    verifier,
)

US = timedelta(microseconds=1)


# --- Item 15: the nonce store and the time check end the window at the same instant -----


@pytest.mark.parametrize("expires_in", [None, 30, 600])
def test_the_window_ends_once_for_the_time_check_and_the_nonce_store(
    expires_in: int | None,
) -> None:
    fields: dict[str, Any] = {"nonce": True}
    if expires_in is not None:
        fields["expiresIn"] = expires_in
    wire = Wire.of_httpx(sign_httpx(hmac_record(**fields), httpx.Request("GET", "https://a.b/")))
    lifetime = MAX_AGE if expires_in is None else min(MAX_AGE, timedelta(seconds=expires_in))
    end = NOW + lifetime + SKEW
    late = "expired" if expires_in == 30 else "too_old"
    for at in (end - US, end):
        v = verifier()
        check(wire, v, now=at)
        refused(wire, "replay", v, now=at)
        refused(wire, "replay", v, now=end)
        refused(wire, late, v, now=end + US)
    refused(wire, late, verifier(), now=end + US)


def test_the_in_memory_store_remembers_through_its_until() -> None:
    store = InMemoryNonceStore()
    assert store.remember("k", "n", NOW, NOW - US)
    assert not store.remember("k", "n", NOW, NOW)  # the last instant: still a replay
    assert store.remember("k", "n", NOW + US, NOW + US)  # forgotten once past


def test_the_in_memory_store_prunes_nothing_it_still_needs() -> None:
    store = InMemoryNonceStore()
    assert store.remember("k", "kept", NOW, NOW - US)
    for index in range(1100):  # past the pruning threshold
        assert store.remember("k", f"n{index}", NOW - US, NOW - US)
    assert store.remember("k", "trigger", NOW, NOW)
    assert not store.remember("k", "kept", NOW, NOW)


@given(offset=st.integers(-3, 3))
@settings(max_examples=50, deadline=None)
@example(offset=0)
def test_the_verifier_and_the_store_agree_around_the_boundary(offset: int) -> None:
    wire = Wire.of_httpx(
        sign_httpx(hmac_record(nonce=True, expiresIn=30), httpx.Request("GET", "https://a.b/"))
    )
    end = NOW + timedelta(seconds=30) + SKEW
    at = end + offset * US
    v = verifier()
    if at > end:
        refused(wire, "expired", v, now=at)
        return
    check(wire, v, now=at)
    for later in range(0, 4):
        moment = min(at + later * US, end)
        refused(wire, "replay", v, now=moment)
