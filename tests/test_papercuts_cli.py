"""Command-line papercuts (issue 11), driven end to end in subprocesses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.test_cli import BASIC, BEARER, Cli, Result, assert_no_secret, cmd, random_key

pytest.importorskip("cryptography")


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def updated_at(cli: Cli, auth_id: str) -> datetime:
    view = json.loads(cli.ok("auth", "get", "crm", auth_id))
    moment = datetime.strptime(view["updatedAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.replace(tzinfo=timezone.utc)


def update(cli: Cli, auth_id: str, if_updated_at: str) -> Result:
    return cli(
        "auth", "update", "crm", auth_id, "--json", "-", "--if-updated-at", if_updated_at,
        stdin='{"label": "x"}',
    )  # fmt: skip


@pytest.mark.parametrize("hours", [0, -5, 9])
def test_if_updated_at_takes_any_spelling_of_the_instant(cli: Cli, hours: int) -> None:
    [auth_id] = cli.create(BEARER)
    spelling = updated_at(cli, auth_id).astimezone(timezone(timedelta(hours=hours))).isoformat()
    assert update(cli, auth_id, spelling).code == 0  # e.g. +00:00 for the Z the store printed
    stale = update(cli, auth_id, spelling)
    assert stale.code == 4, stale
    assert stale.err.startswith("credsign: conflict: ")


@pytest.mark.parametrize("value", ["yesterday", "2026-12-01T19:00:00", "", "2026-02-30T00:00Z"])
def test_if_updated_at_garbage_or_naive_exits_2_and_changes_nothing(cli: Cli, value: str) -> None:
    [auth_id] = cli.create(BEARER)
    before = cli.ok("auth", "get", "crm", auth_id)
    result = update(cli, auth_id, value)
    assert result.code == 2, result
    assert result.err.startswith("credsign: --if-updated-at ")
    assert "ISO 8601" in result.err or "offset" in result.err
    assert cli.ok("auth", "get", "crm", auth_id) == before


def test_a_store_made_by_the_cli_from_a_bare_path_opens_in_the_library(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from credsign.store import CredentialStore

    [auth_id] = cli.create(BEARER)  # CREDSIGN_STORE is a bare path here
    monkeypatch.delenv("CREDSIGN_MASTER_KEY", raising=False)
    with CredentialStore.open(cli.env["CREDSIGN_STORE"]) as store:  # the key file beside it
        assert store.get("crm", auth_id)["authId"] == auth_id


# -- integrations, export and import ------------------------------------------------------


def test_auth_list_without_integration_lists_the_integrations(cli: Cli) -> None:
    assert json.loads(cli.ok("auth", "list")) == []
    cli.create(BEARER, integration="crm")
    cli.create(BASIC, integration="billing")
    assert json.loads(cli.ok("auth", "list")) == ["billing", "crm"]


def test_export_reveal_then_import_into_another_store_round_trips(cli: Cli, tmp_path: Path) -> None:
    [auth_id] = cli.create(BEARER)
    masked, revealed = cli.all(
        cmd("auth", "export", "crm", auth_id), cmd("auth", "export", "crm", auth_id, "--reveal")
    )
    assert masked.code == revealed.code == 0
    assert_no_secret(masked.out)
    assert "--reveal" in masked.err  # says why it will not import
    backup = json.loads(revealed.out)
    assert backup["token"] == BEARER["token"]
    assert (backup["authId"], backup["integrationId"]) == (auth_id, "crm")
    other = ("--store", str(tmp_path / "other" / "credentials.db"))
    imported = cli.ok("auth", "import", "--json", "-", *other, stdin=revealed.out)
    assert_no_secret(imported)
    assert json.loads(imported) == json.loads(cli.ok("auth", "get", "crm", auth_id))
    again = cli("auth", "import", "--json", "-", *other, stdin=revealed.out)
    assert again.code == 4, again
    assert "--replace" in again.err
    assert cli("auth", "import", "--json", "-", "--replace", *other, stdin=revealed.out).code == 0
    exported = cli.ok("auth", "export", "crm", auth_id, "--reveal", *other)
    assert json.loads(exported)["token"] == BEARER["token"]

    refused = cli("auth", "import", "--json", "-", *other, stdin=masked.out)
    assert refused.code == 2, refused
    assert "masked" in refused.err
    assert "Traceback" not in refused.err


# -- dropping retired keys ----------------------------------------------------------------


def test_keys_drop_retired_after_rotations(cli: Cli) -> None:
    [auth_id] = cli.create(BEARER)
    key_file = cli.directory / "credentials.db.key"
    cli.ok("keys", "rotate")
    cli.ok("keys", "rotate")
    assert len(key_file.read_text().split()) == 3
    out = cli.ok("keys", "drop-retired")
    assert out.startswith("dropped 2 retired master keys")
    assert len(key_file.read_text().split()) == 1
    assert cli.ok("keys", "drop-retired").startswith("dropped 0 retired master keys")
    signed = cli.ok("sign", "crm", auth_id, "GET", "https://api.example.com/v1/x", "--reveal")
    assert f"Bearer {BEARER['token']}" in signed


def test_keys_drop_retired_is_refused_with_exit_4_while_a_record_uses_one(
    cli: Cli, tmp_path: Path
) -> None:
    old, new = random_key(), random_key()
    env = {"CREDSIGN_MASTER_KEY": old}
    cli.ok("auth", "create", "crm", "--json", "-", stdin=json.dumps(BEARER), env=env)
    cli.ok("keys", "rotate", "--new-key-env", "NEW", env=env | {"NEW": new})
    # a process still holding the old key writes with it
    cli.ok("auth", "create", "crm", "--json", "-", stdin=json.dumps(BASIC), env=env)
    refused = cli("keys", "drop-retired", env={"CREDSIGN_MASTER_KEY": new})
    assert refused.code == 4, refused
    assert "1 record is still sealed" in refused.err
