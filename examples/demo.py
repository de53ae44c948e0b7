"""End-to-end demo: sign real requests to a local httpbin with every static auth type.

Run with `make demo`. Starts httpbin under gunicorn on 127.0.0.1, sends requests
through httpx (sync and async) and requests, and prints what the server received,
with secrets masked. Then shows the scope guard and a cross-origin redirect.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import requests

sys.path.insert(0, str(Path(__file__).parent))

from local_servers import httpbin_server, verifying_server

import credsign

SECRETS = ("s3cretP@ssword", "eyJhbGciOiJIUzI1NiJ9.demo", "k3y-d3mo-value")


def mask(text: str) -> str:
    for secret in (*SECRETS, "YXBpX3VzZXJAZXhhbXBsZS5jb206czNjcmV0UEBzc3dvcmQ="):
        text = text.replace(secret, secret[:3] + "…")
    return text


def records(base: str) -> dict[str, dict[str, Any]]:
    common = {"baseUrl": base, "headers": [{"key": "X-Request-Source", "value": "sigmamind"}]}
    return {
        "BASIC_AUTH": {
            "authType": "BASIC_AUTH",
            "username": "api_user@example.com",
            "password": SECRETS[0],
            **common,
        },
        "BEARER_TOKEN": {"authType": "BEARER_TOKEN", "token": SECRETS[1], **common},
        "API_KEY header": {
            "authType": "API_KEY",
            "apiKey": {"key": "X-API-KEY", "value": SECRETS[2], "position": "header"},
            **common,
        },
        "API_KEY query": {
            "authType": "API_KEY",
            "apiKey": {"key": "api_key", "value": SECRETS[2], "position": "query"},
            **common,
        },
        "NO_AUTH": {"authType": "NO_AUTH", "contentType": "json", **common},
    }


def seen(answer: dict[str, Any]) -> str:
    headers = answer["headers"]
    shown = {
        k: headers[k] for k in ("Authorization", "X-Api-Key", "X-Request-Source") if k in headers
    }
    return mask(f"headers={shown} args={answer['args']}")


async def via_async(record: credsign.Record, url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(auth=credsign.HttpxAuth(record)) as client:
        answer: dict[str, Any] = (await client.get(url)).json()
        return answer


def main() -> None:
    with httpbin_server() as base, httpbin_server() as other:
        print(f"httpbin on {base} (and a second origin on {other})\n")
        for name, data in records(base).items():
            record = credsign.parse_record(data)
            print(f"{name}: {record.to_json()}")
            url = f"{base}/anything/orders?page=2"
            with httpx.Client(auth=credsign.HttpxAuth(record)) as client:
                print("  httpx        ", seen(client.get(url).json()))
            print("  httpx async  ", seen(asyncio.run(via_async(record, url))))
            print(
                "  requests     ",
                seen(requests.get(url, auth=credsign.RequestsAuth(record), timeout=10).json()),
            )
        record = credsign.parse_record(records(base)["BEARER_TOKEN"])

        print("\nscope: the record's baseUrl is", base)
        with httpx.Client(auth=credsign.HttpxAuth(record)) as client:
            try:
                client.get(f"{other}/anything")
            except credsign.ScopeError as error:
                print("  ScopeError:", error)

        print("\nredirect from our origin to another one (credentials must not follow):")
        hop = f"{base}/redirect-to?url={quote(other + '/anything', safe='')}&status_code=302"
        with httpx.Client(auth=credsign.HttpxAuth(record, follow_redirects=True)) as client:
            final = client.get(hop)
        print("  httpx   ", final.url, seen(final.json()))
        final_r = requests.get(hop, auth=credsign.RequestsAuth(record), timeout=10)
        print("  requests", final_r.url, seen(final_r.json()))
        leaked = [
            name
            for answer in (final.json(), final_r.json())
            for name in ("Authorization", "X-Request-Source")
            if name in answer["headers"]
        ]
        print(f"\nLEAK: {leaked}" if leaked else "\nOK: no credential crossed origins")
        if leaked:
            raise SystemExit(1)
    hmac_demo()
    store_demo()


def store_demo() -> None:
    """The embedded default store (SQLite + key file), feeding a live adapter."""
    with tempfile.TemporaryDirectory() as scratch, httpbin_server() as base:
        os.environ.setdefault("CREDSIGN_STORE", str(Path(scratch) / "credentials.db"))
        store = credsign.CredentialStore.open()  # the embedded default: SQLite, key file beside
        print(f"\ncredential store: {os.environ['CREDSIGN_STORE']} (key file beside it)")
        view = store.create("demo", {"authType": "BEARER_TOKEN", "token": "first-token"})
        print("  created (the view has no secret):", view)
        with httpx.Client(auth=store.httpx_auth("demo", view["authId"])) as client:
            print("  httpx sends:", client.get(f"{base}/bearer").json())
            store.update("demo", view["authId"], {"token": "rotated-token"})
            print("  after update, the same client sends:", client.get(f"{base}/bearer").json())
        store.close()


def hmac_demo() -> None:
    """RFC 9421 HMAC signatures, checked by a server that runs credsign's verifier."""
    with verifying_server({"demo-client": b"demo-shared-secret"}) as base:
        print(f"\nHMAC_SHA256 (RFC 9421) against a verifying server on {base}")
        for secret in ("demo-shared-secret", "wrong-secret"):
            record = credsign.parse_record(
                {"authType": "HMAC_SHA256", "clientId": "demo-client", "clientSecret": secret}
            )
            with httpx.Client(auth=credsign.HttpxAuth(record)) as client:
                answer = client.post(f"{base}/orders?page=2", json={"item": "book"})
            print(f"  secret {secret[:4]}…: {answer.status_code} {answer.json()}")
            if (answer.status_code == 200) != (secret == "demo-shared-secret"):
                raise SystemExit(1)


if __name__ == "__main__":
    main()
