"""Shared fixtures: real httpbin, moto and RFC 9421 verifying servers, and a throwaway
PostgreSQL server, on 127.0.0.1 (``examples/local_servers.py``)."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import settings

from credsign.store import CredentialStore, MasterKey

# CI runs the same examples every time: a red CI then always means a real change.
# Local runs stay random, to keep finding new cases.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

EXAMPLES = str(Path(__file__).resolve().parent.parent / "examples")
if EXAMPLES not in sys.path:
    sys.path.insert(0, EXAMPLES)

from local_servers import (  # noqa: E402
    PostgresUnavailable,
    httpbin_server,
    moto_server,
    postgres_server,
    probe_server,
    verifying_server,
)


@pytest.fixture(scope="session")
def httpbin_url() -> Iterator[str]:
    """Base URL of an httpbin server, e.g. ``http://127.0.0.1:PORT``."""
    with httpbin_server() as url:
        yield url


@pytest.fixture(scope="session")
def second_httpbin_url() -> Iterator[str]:
    """Base URL of another httpbin server: a different origin (port) from ``httpbin_url``."""
    with httpbin_server() as url:
        yield url


class VerifyingServer(NamedTuple):
    """A server checking every request's RFC 9421 ``hmac-sha256`` signature, and its keys."""

    url: str
    keys: dict[str, bytes]  # keyid -> key bytes


@pytest.fixture(scope="session")
def hmac_server() -> Iterator[VerifyingServer]:
    """``examples/verifying_server.py`` under gunicorn: 200 + JSON if verified, else 401.

    Keys: ``e2e-client`` (the text secret ``e2e-secret``) and ``e2e-binary`` (32
    bytes that are not UTF-8, for records with ``secretEncoding: base64``).
    """
    keys = {"e2e-client": b"e2e-secret", "e2e-binary": bytes(range(256 - 32, 256))}
    with verifying_server(keys) as url:
        yield VerifyingServer(url, keys)


@pytest.fixture(scope="session")
def probe_url() -> Iterator[str]:
    """A stand-in API provider (``examples/probe_server.py``): the first path segment picks
    the answer: ``/ok`` 200, ``/unauthorized`` 401, ``/forbidden`` 403, ``/broken`` 500,
    ``/hang`` 200 after 3 s (use a shorter client timeout)."""
    with probe_server(hang_seconds=3.0) as url:
        yield url


class MotoAccount(NamedTuple):
    """A moto server that checks every SigV4 signature, and an IAM key allowed to do anything."""

    url: str
    access_key: str
    secret_key: str


@pytest.fixture(scope="session")
def moto_account() -> Iterator[MotoAccount]:
    """A dedicated moto server with signature checking on, and a valid access key for it.

    The IAM user, its allow-all policy and its key are created while moto still
    accepts any signature; ``POST /moto-api/reset-auth`` with ``0`` then makes every
    later AWS call (not ``/moto-api``) need a valid signature: the switch is
    server-wide, so no other test may share this server.
    """
    import botocore.session
    import httpx

    with moto_server() as url:
        iam = botocore.session.get_session().create_client(
            "iam",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        user = "credsign-interop"
        iam.create_user(UserName=user)
        iam.put_user_policy(
            UserName=user,
            PolicyName="allow-all",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName=user)["AccessKey"]
        iam.close()
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
        yield MotoAccount(url, key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL server: ``postgresql://credsign@127.0.0.1:PORT/postgres``.

    ``credsign`` is its superuser, no password. Started once per session (about half
    a second); skips the tests that need it when the server binaries are missing.
    Tests that create tables should use ``fresh_postgres_url`` instead.
    """
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailable:
            if os.environ.get("CREDSIGN_REQUIRE_POSTGRES"):
                raise  # CI installed PostgreSQL: its absence is a failure, not a skip
            pytest.skip(
                "PostgreSQL server binaries not found (Debian package 'postgresql'); "
                ".ci/run installs them"
            )
        yield url


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """URL of a new, empty database (``test_<uuid>``) on ``postgres_url``'s server.

    Dropped afterwards, ``WITH (FORCE)``: connections the test left open are ended.
    """
    import psycopg
    from psycopg import sql

    name = f"test_{uuid.uuid4().hex}"
    base = postgres_url.rsplit("/", 1)[0]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a store lives: a SQLite file, or an empty PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite://{(tmp_path / 'store' / 'credentials.db').resolve()}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


@pytest.fixture
def master_key(monkeypatch: pytest.MonkeyPatch) -> MasterKey:
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    return MasterKey.generate()


@pytest.fixture
def store(store_url: str, master_key: MasterKey) -> Iterator[CredentialStore]:
    with CredentialStore.open(store_url, master_key=master_key.encoded()) as opened:
        yield opened
