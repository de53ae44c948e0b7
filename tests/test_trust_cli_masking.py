"""``credsign sign`` hides every secret of the record wherever it appears in the output.

The oracle is independent of the CLI: a record's secrets are the values its
masked JSON hides (``to_dict()`` against ``to_dict(reveal_secrets=True)``),
organization entries included. Each generated secret is echoed into the
path, the query, another header and the body, raw and percent-encoded.
"""

from __future__ import annotations

import contextlib
import io
import itertools
from urllib.parse import quote, quote_plus, unquote_plus

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from credsign.cli import main
from credsign.records import Record, parse_record
from credsign.testing import records

pytest.importorskip("cryptography")

from credsign.store import CredentialStore
from tests.leaks import revealed_secrets

BASE = "https://api.example.com"
MASK = "****"
_ids = itertools.count()


def visible(output: str, secret: str) -> bool:
    """Whether ``secret`` shows between the masks, raw or percent-encoded in any form."""
    return any(
        secret in piece or secret in unquote_plus(piece, errors="surrogateescape")
        for piece in output.split(MASK)
    )


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return "sqlite://" + str(tmp_path_factory.mktemp("masking") / "credentials.db")


def run(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def stored(store_url: str, record: Record) -> tuple[str, str]:
    integration = f"int{next(_ids)}"
    with CredentialStore.open(store_url) as store:
        view = store.create(integration, record.to_json(reveal_secrets=True))
    return integration, view["authId"]


def lower_hex(secret: str) -> str:
    """``secret`` percent-encoded with lower-case hex digits (``%2f``)."""
    return "".join(
        part[:3].lower() + part[3:] if part.startswith("%") else part
        for part in quote(secret, safe="").replace("%", "\0%").split("\0")
    )


def header_safe(secret: str) -> bool:
    return secret.isascii() and secret.isprintable() and secret == secret.strip()


def sign_echoing(store_url: str, record: Record, secret: str, *extra: str) -> tuple[int, str]:
    integration, auth_id = stored(store_url, record)
    headers = ["-H", f"X-Echo: {secret}"] if header_safe(secret) else []
    url = f"{BASE}/v1/{quote(secret, safe='')}/{lower_hex(secret)}?echo={quote_plus(secret)}"
    body = f"raw={secret}&form={quote_plus(secret)}&lower={lower_hex(secret)}"
    return run(
        "--store",
        store_url,
        "sign",
        integration,
        auth_id,
        "POST",
        url,
        *headers,
        "-d",
        body,
        *extra,
    )


def signable(record: Record) -> bool:
    return bool(revealed_secrets(record)) and record.has_credentials()


def api_key(placements: list[tuple[str, str]]) -> Record:
    return parse_record(
        {
            "authType": "API_KEY",
            "baseUrl": BASE,
            "apiKeys": [
                {"key": key, "value": f"key-{index}-SECRET/+ {extra}", "position": position}
                for index, (position, key) in enumerate(placements)
                for extra in ["x" if position == "header" else "é"]
            ],
        }
    )


ISSUE_RECORD = api_key([("header", "X-Api-Key"), ("query", "k")])
ORG_RECORD = parse_record(
    {
        "authType": "BEARER_TOKEN",
        "baseUrl": BASE,
        "token": "own-SECRET",
        "organizations": [{"orgId": "acme", "token": "acme-org-SECRET"}],
    }
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=records(base_url=BASE, organizations=True).filter(signable), data=st.data())
@example(record=ISSUE_RECORD, data=None).via("the issue: apiKeys[1] echoed in path and body")
@example(record=ORG_RECORD, data=None).via("an organization entry's secret")
def test_no_secret_of_the_record_is_printed_anywhere(
    store_url: str, record: Record, data: st.DataObject | None
) -> None:
    secrets = revealed_secrets(record)
    for secret in secrets if data is None else [data.draw(st.sampled_from(secrets))]:
        code, output = sign_echoing(store_url, record, secret)
        assert code == 0, output
        for each in secrets:
            assert not visible(output, each), (each, output)


@settings(max_examples=20, deadline=None)
@given(record=records(base_url=BASE).filter(signable))
def test_reveal_prints_the_secrets(store_url: str, record: Record) -> None:
    secret = revealed_secrets(record)[0]
    code, output = sign_echoing(store_url, record, secret, "--reveal")
    assert code == 0, output
    assert f"raw={secret}&" in output


def test_derived_credentials_are_hidden_wherever_they_appear(store_url: str) -> None:
    """What the signer derived (a Basic pair, a signature) is hidden in every place too."""
    record = parse_record(
        {"authType": "BASIC_AUTH", "baseUrl": BASE, "username": "u", "password": "p-SECRET"}
    )
    integration, auth_id = stored(store_url, record)
    pair = "dTpwLVNFQ1JFVA=="  # base64 of u:p-SECRET
    code, output = run(
        "--store", store_url, "sign", integration, auth_id, "POST", f"{BASE}/x",
        "-H", f"X-Copy: Basic {pair}", "-d", f"copy={quote_plus(pair)}",
    )  # fmt: skip
    assert code == 0, output
    assert "Authorization: Basic ****" in output
    assert "X-Copy: Basic ****" in output
    assert pair not in output and quote_plus(pair) not in output
