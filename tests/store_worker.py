"""A separate process using a credential store, for the store's cross-process tests.

Run as ``python tests/store_worker.py MODE URL ...``; the master key comes from
``$CREDSIGN_MASTER_KEY``. Every line goes out flushed at once, so the parent can
act on each (and kill this process at any point).

Modes:

``watch URL INTEGRATION AUTH_ID``
    Build ``store.httpx_auth(...)`` once, then every ~50 ms sign a request through an
    ``httpx.Client`` with a ``MockTransport`` and print the ``Authorization`` it got
    (``deleted`` once the record is gone). Prints ``ready`` first; stops after 60 s.
``update URL INTEGRATION AUTH_ID FIELD ROUNDS``
    Print ``ready``, wait for a line on stdin (so that all workers start together),
    update one field ``ROUNDS`` times (``patch_for``), then print ``done``.
``burst URL INTEGRATION COUNT``
    Create ``COUNT`` BEARER_TOKEN records, printing each returned ``authId``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx

from credsign import NotFoundError
from credsign.store import CredentialStore


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def patch_for(field: str, round_: int) -> dict[str, Any]:
    """The patch that sets ``field`` to its value of round ``round_`` (see the tests)."""
    if field == "label":
        return {"label": f"label-{round_}"}
    if field == "baseUrl":
        return {"baseUrl": f"https://api{round_}.example.com"}
    if field == "headers":
        return {"headers": [{"key": "X-Round", "value": f"headers-{round_}"}]}
    if field == "token":
        return {"token": f"token-{round_}"}
    if field == "contentType":
        return {"contentType": ("json", "xml", "form-urlencoded")[round_ % 3]}
    if field == "environment":
        return {"environment": ("production", "test")[round_ % 2]}
    raise SystemExit(f"unknown field {field!r}")


def watch(store: CredentialStore, integration_id: str, auth_id: str) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization", "-"))
        return httpx.Response(200)

    auth = store.httpx_auth(integration_id, auth_id)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        say("ready")
        stop = time.monotonic() + 60
        while time.monotonic() < stop:
            try:
                client.get("https://api.example.com/ping")
            except NotFoundError:
                say("deleted")
            else:
                say(seen[-1])
            time.sleep(0.05)


def update(
    store: CredentialStore, integration_id: str, auth_id: str, field: str, rounds: int
) -> None:
    say("ready")
    sys.stdin.readline()
    for round_ in range(rounds):
        store.update(integration_id, auth_id, patch_for(field, round_))
    say("done")


def burst(store: CredentialStore, integration_id: str, count: int) -> None:
    for index in range(count):
        view = store.create(integration_id, {"authType": "BEARER_TOKEN", "token": f"burst-{index}"})
        say(view["authId"])


def main(argv: list[str]) -> None:
    mode, url, *rest = argv
    store = CredentialStore.open(url)
    if mode == "watch":
        watch(store, rest[0], rest[1])
    elif mode == "update":
        update(store, rest[0], rest[1], rest[2], int(rest[3]))
    elif mode == "burst":
        burst(store, rest[0], int(rest[1]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
