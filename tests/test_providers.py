"""The provider catalog and ``store_credentials``: placements, probes, ids, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from credsign import HttpxAuth, StoreError, StoreValidationError
from credsign.providers import (
    CredentialValidationError,
    build_record,
    get_provider,
    list_providers,
    new_credential_id,
    register_provider,
    store_credentials,
    unregister_provider,
)

pytest.importorskip("cryptography")

from credsign.store import CredentialStore

CROCKFORD_ID = re.compile(r"^crd_[0-9A-HJKMNP-TV-Z]{26}$")

# What each provider's own documentation says a request must carry, written out by hand
# (not derived from the catalog): credentials -> headers (and query parameters) expected.
DOCUMENTED: dict[str, dict[str, Any]] = {
    "datadog": {
        "credentials": {"api_key": "dd-api-1", "application_key": "dd-app-2"},
        "headers": {"DD-API-KEY": "dd-api-1", "DD-APPLICATION-KEY": "dd-app-2"},
        "base": "https://api.datadoghq.com",
        "probe": ("GET", "/api/v1/validate"),
    },
    "github": {
        "credentials": {"token": "ghp_abc123"},
        "headers": {"Authorization": "Bearer ghp_abc123", "Accept": "application/vnd.github+json"},
        "base": "https://api.github.com",
        "probe": ("GET", "/user"),
    },
    "gitlab": {
        "credentials": {"token": "glpat-xyz"},
        "headers": {"PRIVATE-TOKEN": "glpat-xyz"},
        "base": "https://gitlab.com/api/v4",
        "probe": ("GET", "/user"),
    },
    "stripe": {
        "credentials": {"secret_key": "sk_test_123"},
        "headers": {"Authorization": "Bearer sk_test_123"},
        "base": "https://api.stripe.com",
        "probe": ("GET", "/v1/balance"),
    },
    "openai": {
        "credentials": {"api_key": "sk-proj-abc"},
        "headers": {"Authorization": "Bearer sk-proj-abc"},
        "base": "https://api.openai.com/v1",
        "probe": ("GET", "/models"),
    },
    "anthropic": {
        "credentials": {"api_key": "sk-ant-api03-abc"},
        "headers": {"x-api-key": "sk-ant-api03-abc", "anthropic-version": "2023-06-01"},
        "base": "https://api.anthropic.com",
        "probe": ("GET", "/v1/models"),
    },
    "sendgrid": {
        "credentials": {"api_key": "SG.abc.def"},
        "headers": {"Authorization": "Bearer SG.abc.def"},
        "base": "https://api.sendgrid.com",
        "probe": ("GET", "/v3/scopes"),
    },
    "pagerduty": {
        "credentials": {"api_key": "u+pdkey"},
        "headers": {
            "Authorization": "Token token=u+pdkey",
            "Accept": "application/vnd.pagerduty+json;version=2",
        },
        "base": "https://api.pagerduty.com",
        "probe": ("GET", "/abilities"),
    },
    "slack": {
        "credentials": {"token": "xoxb-1-2-abc"},
        "headers": {"Authorization": "Bearer xoxb-1-2-abc"},
        "base": "https://slack.com/api",
        "probe": ("POST", "/auth.test"),
    },
    "linear": {
        "credentials": {"api_key": "lin_api_abc"},
        "headers": {"Authorization": "lin_api_abc"},
        "base": "https://api.linear.app",
        "probe": ("POST", "/graphql"),
    },
}
BUILTIN = sorted(provider.name for provider in list_providers())


def signed(record: Any, method: str, url: str) -> httpx.Request:
    """``request`` as credsign signs it, without sending it."""
    request = httpx.Request(method, url)
    flow = HttpxAuth(record).sync_auth_flow(request)
    result = next(flow)
    flow.close()
    return result


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CredentialStore]:
    with CredentialStore.open(f"sqlite://{tmp_path / 'store.db'}") as opened:
        yield opened


# -- the catalog ---------------------------------------------------------------------------


def test_catalog_has_every_documented_provider() -> None:
    assert set(DOCUMENTED) <= set(BUILTIN)
    for provider in list_providers():
        assert provider.docs.startswith("https://")
        assert provider.auth_type == "api_key"


@pytest.mark.parametrize("name", BUILTIN)
def test_placements_produce_the_documented_request(name: str) -> None:
    expected = DOCUMENTED[name]  # a new catalog entry needs its documented headers here
    provider = get_provider(name)
    record = build_record(name, expected["credentials"], label=f"{name} test")
    method, path = expected["probe"]
    assert provider.base_url == expected["base"]
    assert provider.probe is not None
    assert (provider.probe.method, provider.probe.path) == (method, path)
    request = signed(record, method, expected["base"] + path)
    for header, value in expected["headers"].items():
        assert request.headers.get_list(header) == [value], header
    assert request.url.query == b""
    assert record.label == f"{name} test"


def test_slack_and_linear_entries_state_their_limitations() -> None:
    slack = get_provider("slack").notes or ""
    assert "200" in slack
    assert "ok" in slack
    linear = get_provider("linear")
    assert linear.probe is not None
    assert linear.probe.body == {"query": "{ viewer { id } }"}


def test_catalog_json_is_package_data() -> None:
    from importlib import resources

    text = resources.files("credsign.providers").joinpath("catalog.json").read_text("utf-8")
    assert {entry["name"] for entry in json.loads(text)["providers"]} == set(BUILTIN)


def test_unknown_provider() -> None:
    with pytest.raises(StoreValidationError, match="unknown provider 'nope'") as caught:
        get_provider("nope")
    assert caught.value.code == "validation_error"


# -- custom providers ------------------------------------------------------------------------

CUSTOM = {
    "name": "acme",
    "title": "Acme",
    "authType": "api_key",
    "requiredFields": ["key", "tenant"],
    "placements": [
        {"field": "key", "position": "header", "name": "X-Acme-Key", "template": "Key {value}"},
        {"field": "tenant", "position": "query", "name": "tenant"},
    ],
    "headers": [{"key": "X-Client", "value": "credsign"}],
    "baseUrl": "https://api.acme.test/v2",
    "probe": {"method": "GET", "path": "/me"},
    "docs": "https://docs.acme.test/auth",
}


@pytest.fixture
def acme() -> Iterator[None]:
    register_provider(CUSTOM)
    yield
    unregister_provider("acme")


@pytest.mark.usefixtures("acme")
def test_register_provider_custom(store: CredentialStore) -> None:
    assert "acme" in [provider.name for provider in list_providers()]
    record = build_record("acme", {"key": "k 1", "tenant": "t&2"})
    request = signed(record, "GET", "https://api.acme.test/v2/me")
    assert request.headers["X-Acme-Key"] == "Key k 1"
    assert request.headers["X-Client"] == "credsign"
    assert request.url.params["tenant"] == "t&2"
    result = store_credentials(store, "acme", {"key": "k", "tenant": "t"}, validate=False)
    assert store.get("acme", result["credentialId"])["integrationId"] == "acme"
    with pytest.raises(StoreValidationError, match="exists already"):
        register_provider(CUSTOM)
    register_provider(CUSTOM | {"title": "Acme 2"}, replace=True)
    assert get_provider("acme").title == "Acme 2"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"requiredFields": ["key"]}, "not in requiredFields"),
        ({"requiredFields": ["key", "tenant", "extra"]}, "not placed anywhere"),
        ({"placements": [{"field": "key", "name": "X-K", "template": "no placeholder"}]}, "value"),
        ({"baseUrl": "ftp://acme.test"}, "baseUrl"),
        ({"docs": "not a url"}, "docs"),
        ({"headers": [{"key": "X-Acme-Key", "value": "clash"}]}, "clashes"),
        ({"probe": {"method": "GET", "path": "no-slash"}}, "probe.path"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_register_provider_rejects_invalid_entries(change: dict[str, Any], message: str) -> None:
    with pytest.raises(StoreValidationError, match=message) as caught:
        register_provider(CUSTOM | change)
    assert caught.value.code == "validation_error"
    assert "acme" not in [provider.name for provider in list_providers()]


def test_non_api_key_provider_is_refused(store: CredentialStore) -> None:
    register_provider(
        {
            "name": "oauthy",
            "authType": "oauth2",
            "requiredFields": [],
            "baseUrl": "https://oauthy.test",
            "docs": "https://oauthy.test/docs",
        }
    )
    try:
        with pytest.raises(StoreValidationError, match="authType 'oauth2'"):
            store_credentials(store, "oauthy", {}, validate=False)
    finally:
        unregister_provider("oauthy")


# -- store_credentials ------------------------------------------------------------------------


def test_credential_id_and_store_operations(store: CredentialStore, httpbin_url: str) -> None:
    result = store_credentials(
        store, "github", {"token": "ghp_live"}, "ci bot", validate=False, base_url=httpbin_url
    )
    credential_id = result["credentialId"]
    assert CROCKFORD_ID.fullmatch(credential_id)
    assert result == {
        "credentialId": credential_id,
        "provider": "github",
        "label": "ci bot",
        "status": "unverified",
        "createdAt": result["createdAt"],
        "reason": "validation skipped",
    }
    view = store.get("github", credential_id)
    assert view["authId"] == credential_id
    assert view["createdAt"] == result["createdAt"]
    assert view["label"] == "ci bot"
    assert "ghp_live" not in json.dumps(view)
    with httpx.Client(auth=store.httpx_auth("github", credential_id)) as client:
        del client.headers["Accept"]  # else httpx's Accept: */* wins over the static header
        echoed = client.get(f"{httpbin_url}/headers").json()["headers"]
    assert echoed["Authorization"] == "Bearer ghp_live"
    assert echoed["Accept"] == "application/vnd.github+json"
    store.update("github", credential_id, {"label": "renamed"})
    assert store.get("github", credential_id)["label"] == "renamed"
    store.delete("github", credential_id)
    assert store.list("github") == []


def test_credential_ids_are_ulids() -> None:
    ids = [new_credential_id() for _ in range(200)]
    assert len(set(ids)) == len(ids)
    assert all(CROCKFORD_ID.fullmatch(value) for value in ids)
    assert ids[0][4] in "01234567"  # 130 bits in 26 characters: the first carries 3 bits


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ({"api_key": "a"}, r"missing credential fields \['application_key'\]"),
        (
            {"api_key": "a", "application_key": "b", "site": "eu"},
            r"unknown credential fields \['site'\]",
        ),
        ({"api_key": "a", "application_key": 3}, r"\['application_key'\] must be strings"),
        ({"api_key": "a", "application_key": ""}, "credential field 'application_key'"),
        ({"api_key": "a\nb", "application_key": "b"}, "credential field 'api_key'"),
    ],
)
def test_bad_fields_are_refused(
    store: CredentialStore, credentials: dict[str, Any], message: str
) -> None:
    with pytest.raises(StoreValidationError, match=message) as caught:
        store_credentials(store, "datadog", credentials, validate=False)
    assert caught.value.code == "validation_error"
    assert "a\nb" not in str(caught.value)
    assert store.list("datadog") == []


def test_unknown_provider_is_refused(store: CredentialStore) -> None:
    with pytest.raises(StoreValidationError, match="unknown provider"):
        store_credentials(store, "nope", {"token": "x"})


def test_bad_base_url_is_refused(store: CredentialStore) -> None:
    with pytest.raises(StoreValidationError, match="base_url"):
        store_credentials(store, "github", {"token": "x"}, base_url="ftp://x", validate=False)


def test_probe_ok_is_validated(store: CredentialStore, probe_url: str) -> None:
    result = store_credentials(
        store, "datadog", DOCUMENTED["datadog"]["credentials"], base_url=f"{probe_url}/ok"
    )
    assert result["status"] == "validated"
    assert "reason" not in result
    assert store.get("datadog", result["credentialId"])["baseUrl"] == f"{probe_url}/ok"


def test_probe_sends_the_signed_request(
    store: CredentialStore, probe_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[httpx.Response] = []

    class Recording(httpx.Client):
        def request(self, *args: Any, **kwargs: Any) -> httpx.Response:
            answer = super().request(*args, **kwargs)
            answers.append(answer)
            return answer

    monkeypatch.setattr(httpx, "Client", Recording)
    for name in ("pagerduty", "linear"):
        expected = DOCUMENTED[name]
        base = f"{probe_url}/ok/{name}"
        result = store_credentials(store, name, expected["credentials"], base_url=base)
        assert result["status"] == "validated"
        echo = answers[-1].json()
        method, path = expected["probe"]
        assert (echo["method"], echo["path"]) == (method, f"/ok/{name}{path}")
        for header, value in expected["headers"].items():
            assert echo["headers"][header.lower()] == value
    assert answers[-1].request.content == b'{"query":"{ viewer { id } }"}'
    assert echo["headers"]["content-type"] == "application/json"


def test_probe_with_a_body(store: CredentialStore, probe_url: str) -> None:
    result = store_credentials(store, "linear", {"api_key": "k"}, base_url=f"{probe_url}/ok/")
    assert result["status"] == "validated"


@pytest.mark.parametrize(("path", "status"), [("unauthorized", 401), ("forbidden", 403)])
def test_probe_refused_stores_nothing(
    store: CredentialStore, probe_url: str, path: str, status: int
) -> None:
    with pytest.raises(CredentialValidationError, match=f"HTTP {status}") as caught:
        store_credentials(store, "github", {"token": "bad"}, base_url=f"{probe_url}/{path}")
    assert isinstance(caught.value, StoreError)
    assert caught.value.code == "credential_validation_failed"
    assert caught.value.status_code == status
    assert "bad" not in str(caught.value)
    assert store.list("github") == []


@pytest.mark.parametrize(
    ("path", "reason"),
    [("broken", "answered HTTP 500"), ("hang", "timed out after 0.5 s"), ("elsewhere", "HTTP 404")],
)
def test_probe_inconclusive_is_unverified(
    store: CredentialStore, probe_url: str, path: str, reason: str
) -> None:
    result = store_credentials(
        store, "stripe", {"secret_key": "sk"}, base_url=f"{probe_url}/{path}", timeout=0.5
    )
    assert result["status"] == "unverified"
    assert reason in result["reason"]
    assert store.get("stripe", result["credentialId"])["authType"] == "API_KEY"


def test_unreachable_provider_is_unverified(store: CredentialStore) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        result = store_credentials(
            store, "openai", {"api_key": "sk"}, base_url=f"http://127.0.0.1:{port}/v1", timeout=2
        )
    assert result["status"] == "unverified"
    assert "could not reach" in result["reason"]


def test_provider_without_probe_is_unverified(store: CredentialStore) -> None:
    register_provider(CUSTOM | {"name": "noprobe", "probe": None})
    try:
        result = store_credentials(store, "noprobe", {"key": "k", "tenant": "t"})
    finally:
        unregister_provider("noprobe")
    assert result["status"] == "unverified"
    assert "no probe" in result["reason"]


# -- the command line -------------------------------------------------------------------------


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CREDSIGN_")}
    environment["CREDSIGN_STORE"] = str(tmp_path / "cli.db")
    environment |= env or {}
    done = subprocess.run(
        [sys.executable, "-m", "credsign.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_cli_providers(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "providers", "list")
    assert code == 0
    listed = json.loads(out)
    assert [entry["name"] for entry in listed] == BUILTIN
    assert all(set(entry) >= {"name", "requiredFields", "baseUrl", "docs"} for entry in listed)
    code, out, _ = run(tmp_path, "providers", "show", "pagerduty")
    assert code == 0
    assert json.loads(out) == get_provider("pagerduty").to_dict()
    code, _, err = run(tmp_path, "providers", "show", "nope")
    assert code == 3
    assert "unknown provider" in err


def test_cli_credentials_store(tmp_path: Path, probe_url: str) -> None:
    code, out, err = run(
        tmp_path,
        "credentials",
        "store",
        "datadog",
        "--field",
        "api_key=DDSECRET1",
        "--field-env",
        "application_key=APP_KEY",
        "--label",
        "prod",
        "--no-validate",
        env={"APP_KEY": "DDSECRET2"},
    )
    assert code == 0, err
    result = json.loads(out)
    assert CROCKFORD_ID.fullmatch(result["credentialId"])
    assert (result["provider"], result["label"], result["status"]) == (
        "datadog",
        "prod",
        "unverified",
    )
    code, out, _ = run(tmp_path, "auth", "get", "datadog", result["credentialId"])
    assert code == 0
    assert json.loads(out)["label"] == "prod"
    code, out, _ = run(
        tmp_path,
        "sign",
        "datadog",
        result["credentialId"],
        "GET",
        "https://api.datadoghq.com/api/v1/validate",
    )
    assert code == 0
    assert "DD-API-KEY: ****" in out
    assert "DDSECRET" not in out

    base = ("credentials", "store", "github", "--field", "token=GHSECRET", "--timeout", "5")
    code, out, err = run(tmp_path, *base, "--base-url", f"{probe_url}/ok")
    assert code == 0, err
    assert json.loads(out)["status"] == "validated"
    code, out, err = run(tmp_path, *base, "--base-url", f"{probe_url}/unauthorized")
    assert code == 6
    assert "HTTP 401" in err
    assert out == ""
    code, out, err = run(tmp_path, "credentials", "store", "github", "--field", "tok=x")
    assert code == 2
    assert "missing credential fields ['token']" in err
    code, _, err = run(tmp_path, "credentials", "store", "nope", "--field", "a=b")
    assert code == 2
    assert "unknown provider" in err
    code, _, err = run(tmp_path, "credentials", "store", "github", "--field", "token")
    assert code == 2
    code, out, _ = run(tmp_path, "auth", "list", "github")
    assert len(json.loads(out)) == 1  # only the validated one
    assert "GHSECRET" not in out


def test_the_store_method_is_the_same_entry_point(store: CredentialStore, probe_url: str) -> None:
    result = store.store_credentials(
        "datadog", DOCUMENTED["datadog"]["credentials"], "prod", base_url=f"{probe_url}/ok"
    )
    assert result["status"] == "validated"
    assert result["label"] == "prod"
    assert store.get("datadog", result["credentialId"])["label"] == "prod"
